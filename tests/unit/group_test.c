/* Tests for server/social/group_rules.c: the permission table of add, kick, promote, demote
 * and ban for every caller and target state, the member count, the name filter of a listing,
 * and the signed list cursors. */
#include "check.h"
#include "error.h"
#include "group.h"

#include <stdio.h>
#include <string.h>

enum { N = TV_GROUP_NONE, S = TV_GROUP_SUPERADMIN, A = TV_GROUP_ADMIN, M = TV_GROUP_MEMBER,
       R = TV_GROUP_JOIN_REQUEST, B = TV_GROUP_BANNED, X = -100 /* refused */ };

/* Expected outcome by op, caller (S, A) and target (N, S, A, M, R, B). */
static const int want[5][2][6] = {
    /* add:     N  S  A  M  R  B      (an add leaves a ban alone, as Nakama's) */
    {{M, S, A, M, M, B}, {M, S, A, M, M, B}},
    /* kick     (a kick lifts a ban, as Nakama's) */
    {{N, N, N, N, N, N}, {N, X, X, N, N, N}},
    /* promote */
    {{N, S, S, A, M, B}, {N, S, X, A, M, B}},
    /* demote */
    {{N, A, M, M, R, B}, {N, X, X, M, R, B}},
    /* ban */
    {{B, B, B, B, B, B}, {B, X, X, B, B, B}},
};

static void rules(void)
{
    static const char *const ops[] = {"add", "kick", "promote", "demote", "ban"};
    static const int targets[] = {N, S, A, M, R, B};
    char what[96];
    for (int op = 0; op < 5; op++)
        for (int c = 0; c < 2; c++)
            for (int t = 0; t < 6; t++) {
                int to = 99, rc = tv_group_rule((tv_group_op_t)op, c ? A : S, targets[t], &to);
                int expect = want[op][c][t];
                snprintf(what, sizeof what, "%s by %s of state %d", ops[op],
                         c ? "an admin" : "a superadmin", targets[t]);
                CHECK_AS(expect == X ? rc == TV_EPERM : rc == TV_OK && to == expect, what);
            }
    /* members, requests, banned users and outsiders may do none of them */
    for (int op = 0; op < 5; op++) {
        int to, callers[] = {M, R, B, N}, refused = 0;
        for (int i = 0; i < 4; i++)
            refused += tv_group_rule((tv_group_op_t)op, callers[i], M, &to) == TV_EPERM;
        snprintf(what, sizeof what, "%s is refused to non-admins", ops[op]);
        CHECK_AS(refused == 4, what);
    }
    CHECK(tv_group_counts(S) && tv_group_counts(A) && tv_group_counts(M));
    CHECK(!tv_group_counts(R) && !tv_group_counts(B) && !tv_group_counts(N));
}

static void name_filters(void)
{
    size_t bytes, chars;
    char name[TV_GROUP_NAME_MAX + 3];
    CHECK(tv_group_name_filter("heroes", &bytes, &chars) == TV_OK && chars == 0);
    CHECK(tv_group_name_filter("heroes%", &bytes, &chars) == TV_OK && bytes == 6 && chars == 6);
    CHECK_AS(tv_group_name_filter("h\xc3\xa9ros%", &bytes, &chars) == TV_OK && bytes == 6 &&
                 chars == 5, "a prefix's length is counted in characters");
    CHECK_AS(tv_group_name_filter("%heroes", &bytes, &chars) == TV_EINVAL,
             "only a trailing % is taken");
    CHECK(tv_group_name_filter("he%roes%", &bytes, &chars) == TV_EINVAL);
    CHECK(tv_group_name_filter("%", &bytes, &chars) == TV_EINVAL);
    CHECK(tv_group_name_filter("", &bytes, &chars) == TV_EINVAL);
    CHECK(tv_group_name_filter("bad \xff", &bytes, &chars) == TV_EINVAL);
    memset(name, 'x', sizeof name);
    name[TV_GROUP_NAME_MAX] = 0;
    CHECK_AS(tv_group_name_filter(name, &bytes, &chars) == TV_OK, "a 128-byte name");
    name[TV_GROUP_NAME_MAX] = '%';
    name[TV_GROUP_NAME_MAX + 1] = 0;
    CHECK_AS(tv_group_name_filter(name, &bytes, &chars) == TV_OK && chars == 128,
             "a 128-byte prefix and its %");
    name[TV_GROUP_NAME_MAX] = 'x';
    CHECK_AS(tv_group_name_filter(name, &bytes, &chars) == TV_EINVAL, "129 bytes are refused");
}

static void cursors(void)
{
    unsigned char key[32], other[32];
    char text[TV_GROUP_CURSOR_TEXT], out[TV_GROUP_CURSOR_PAYLOAD + 1];
    tv_group_cursor_key("secret-one-secret-one-secret-one", key);
    tv_group_cursor_key("secret-two-secret-two-secret-two", other);
    tv_group_cursor_encode(key, "scope", "2:17:abc", text);
    CHECK(tv_group_cursor_decode(key, "scope", text, out) == TV_OK && strcmp(out, "2:17:abc") == 0);
    CHECK_AS(tv_group_cursor_decode(key, "another", text, out) == TV_EINVAL,
             "a cursor is good for its listing only");
    CHECK_AS(tv_group_cursor_decode(other, "scope", text, out) == TV_EINVAL,
             "another key refuses it");
    text[3] = text[3] == 'A' ? 'B' : 'A';
    CHECK_AS(tv_group_cursor_decode(key, "scope", text, out) == TV_EINVAL, "tampered");
    CHECK(tv_group_cursor_decode(key, "scope", "", out) == TV_EINVAL);
    CHECK(tv_group_cursor_decode(key, "scope", "!!!", out) == TV_EINVAL);
    char big[TV_GROUP_CURSOR_PAYLOAD + 1];
    memset(big, 'n', sizeof big - 1);
    big[sizeof big - 1] = 0;
    tv_group_cursor_encode(key, "s", big, text);
    CHECK_AS(tv_group_cursor_decode(key, "s", text, out) == TV_OK && strcmp(out, big) == 0,
             "the longest payload round-trips");
}

int main(void)
{
    rules();
    name_filters();
    cursors();
    return check_summary();
}
