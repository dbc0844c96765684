/* Tests for server/core/util.c's ids: UUIDv4 and time-ordered UUIDv7 text. */
#include "check.h"
#include "util.h"

#include <string.h>

int main(void)
{
    char a[TV_UUID_LEN + 1], b[TV_UUID_LEN + 1];
    tv_uuid_v4(a);
    CHECK_AS(tv_uuid_valid(a) && a[14] == '4', "a v4 id is a UUID of version 4");

    int64_t ms = 1764000000123; /* 2025-11-24 */
    tv_uuid_v7(ms, a);
    CHECK_AS(tv_uuid_valid(a) && a[14] == '7' && strchr("89ab", a[19]), "a v7 id is a UUID of version 7");
    CHECK_AS(strncmp(a, "019ab", 5) == 0, "its first 48 bits are the milliseconds");
    int ordered = 1;
    for (int i = 0; i < 4000; i++) { /* one millisecond, many ids: each sorts after the last */
        tv_uuid_v7(ms, b);
        ordered &= strcmp(a, b) < 0;
        memcpy(a, b, sizeof a);
    }
    CHECK_AS(ordered, "ids of one millisecond sort in the order they were made");
    tv_uuid_v7(ms + 1, b);
    tv_uuid_v7(ms, a);
    CHECK_AS(strcmp(a, b) < 0, "a later millisecond sorts after, whatever the counter");
    return check_summary();
}
