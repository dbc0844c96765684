/* Tests for server/chat/channel.c: channel ids built and parsed (rooms, direct messages,
 * groups), room name and content checks with their limits, and signed history cursors. */
#include "check.h"
#include "chat_internal.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

static const char A[] = "0a1b2c3d-0000-4000-8000-000000000001";
static const char B[] = "ffffffff-0000-4000-8000-000000000002";

static void rooms(void)
{
    tv_chat_ref_t r;
    const char *why = NULL;
    char name[TV_CHAT_ROOM_NAME_MAX + 2];
    CHECK(tv_chat_ref_room("lobby", &r, &why) == TV_OK && strcmp(r.id, "2...lobby") == 0 &&
          r.kind == TV_CHAT_ROOM && strcmp(r.room, "lobby") == 0);
    memset(name, 'x', sizeof name - 1);
    name[TV_CHAT_ROOM_NAME_MAX] = 0;
    CHECK_AS(tv_chat_ref_room(name, &r, &why) == TV_OK, "a room name of 64 bytes is taken");
    name[TV_CHAT_ROOM_NAME_MAX] = 'x';
    name[TV_CHAT_ROOM_NAME_MAX + 1] = 0;
    CHECK_AS(tv_chat_ref_room(name, &r, &why) == TV_EINVAL && strstr(why, "1-64 bytes"),
             "65 bytes are refused");
    CHECK_AS(tv_chat_ref_room("", &r, &why) == TV_EINVAL, "an empty name is refused");
    CHECK_AS(tv_chat_ref_room("a\tb", &r, &why) == TV_EINVAL && strstr(why, "control"),
             "control characters are refused");
    CHECK_AS(tv_chat_ref_room("bad \xff utf8", &r, &why) == TV_EINVAL && strstr(why, "UTF-8"),
             "invalid UTF-8 is refused");
    CHECK_AS(tv_chat_ref_room("caf\xc3\xa9 v1.2", &r, &why) == TV_OK,
             "UTF-8, spaces and dots are fine");
    CHECK_AS(tv_chat_ref_parse("2...caf\xc3\xa9 v1.2", &r) == TV_OK &&
                 strcmp(r.room, "caf\xc3\xa9 v1.2") == 0,
             "a room id parses back, dots in the name included");
    CHECK_AS(tv_chat_ref_parse("2..x.lobby", &r) == TV_EINVAL, "a room id has no subject");
    CHECK_AS(tv_chat_ref_parse("2...", &r) == TV_EINVAL, "a room id needs a name");
}

static void direct_messages(void)
{
    tv_chat_ref_t r, p;
    char upper[37], id[TV_CHAT_ID_MAX];
    tv_chat_ref_dm(B, A, &r);
    CHECK_AS(r.kind == TV_CHAT_DM && strcmp(r.one, A) == 0 && strcmp(r.two, B) == 0,
             "a DM names the lower user id first, whoever joins");
    snprintf(id, sizeof id, "4.%s.%s.", A, B);
    CHECK(strcmp(r.id, id) == 0);
    CHECK(tv_chat_ref_parse(id, &p) == TV_OK && strcmp(p.id, r.id) == 0);
    memcpy(upper, A, sizeof upper);
    for (char *s = upper; *s; s++)
        if (*s >= 'a' && *s <= 'f')
            *s = (char)(*s - 32);
    snprintf(id, sizeof id, "4.%s.%s.", upper, B);
    CHECK_AS(tv_chat_ref_parse(id, &p) == TV_OK && strcmp(p.id, r.id) == 0,
             "upper-case ids parse to the canonical id");
    snprintf(id, sizeof id, "4.%s.%s.", B, A);
    CHECK_AS(tv_chat_ref_parse(id, &p) == TV_EINVAL, "the higher id first is not a DM id");
    snprintf(id, sizeof id, "4.%s.%s.", A, A);
    CHECK_AS(tv_chat_ref_parse(id, &p) == TV_EINVAL, "a DM of one user is not a DM id");
    snprintf(id, sizeof id, "4.%s.%s.x", A, B);
    CHECK_AS(tv_chat_ref_parse(id, &p) == TV_EINVAL, "a DM id has no label");
    snprintf(id, sizeof id, "4.%s.not-a-uuid.", A);
    CHECK(tv_chat_ref_parse(id, &p) == TV_EINVAL);
    snprintf(id, sizeof id, "3.%s..", A);
    CHECK_AS(tv_chat_ref_parse(id, &p) == TV_OK && p.kind == TV_CHAT_GROUP &&
                 strcmp(p.one, A) == 0 && strcmp(p.id, id) == 0,
             "a group id parses, its group id kept");
    CHECK(tv_chat_ref_parse("5...x", &p) == TV_EINVAL);
    CHECK(tv_chat_ref_parse("lobby", &p) == TV_EINVAL);
    CHECK(tv_chat_ref_parse(NULL, &p) == TV_EINVAL);
}

static void contents(void)
{
    char *big = malloc(TV_CHAT_CONTENT_MAX + 2);
    CHECK(tv_chat_content_check("{\"text\":\"hi\"}") == NULL);
    CHECK(tv_chat_content_check("  {}  ") == NULL);
    CHECK_AS(tv_chat_content_check("[1]") != NULL, "an array is not an object");
    CHECK_AS(tv_chat_content_check("\"hi\"") != NULL, "a string is not an object");
    CHECK_AS(tv_chat_content_check("{\"a\":1} x") != NULL, "trailing text is refused");
    CHECK_AS(tv_chat_content_check("{") != NULL, "broken JSON is refused");
    CHECK(tv_chat_content_check(NULL) != NULL);
    memset(big, ' ', TV_CHAT_CONTENT_MAX + 1);
    big[0] = '{';
    big[TV_CHAT_CONTENT_MAX - 1] = '}';
    big[TV_CHAT_CONTENT_MAX] = 0;
    CHECK_AS(tv_chat_content_check(big) == NULL, "4096 bytes are taken");
    big[TV_CHAT_CONTENT_MAX - 1] = ' ';
    big[TV_CHAT_CONTENT_MAX] = '}';
    big[TV_CHAT_CONTENT_MAX + 1] = 0;
    const char *why = tv_chat_content_check(big);
    CHECK_AS(why && strstr(why, "4096"), "4097 bytes are refused, saying the limit");
    free(big);
}

static void cursors(void)
{
    unsigned char key[TV_CHAT_CURSOR_KEY], other[TV_CHAT_CURSOR_KEY];
    char text[TV_CHAT_CURSOR_TEXT];
    tv_chat_cursor_t c = {0, 1, 1764000000123, "01a23820-a9e3-7000-aeee-0dbb16cccf9a"}, d;
    tv_chat_cursor_key("secret-one-0123456789abcdef0123456789", key);
    tv_chat_cursor_key("secret-two-0123456789abcdef0123456789", other);
    tv_chat_cursor_encode(key, "2...lobby", &c, text);
    CHECK(tv_chat_cursor_decode(key, "2...lobby", text, &d) == TV_OK && d.forward == 0 &&
          d.is_next == 1 && d.create_ms == c.create_ms && strcmp(d.id, c.id) == 0);
    CHECK_AS(tv_chat_cursor_decode(key, "2...lobby2", text, &d) == TV_EINVAL,
             "a cursor is good for its channel only");
    CHECK_AS(tv_chat_cursor_decode(other, "2...lobby", text, &d) == TV_EINVAL,
             "a cursor made under another secret is refused");
    text[5] = text[5] == 'A' ? 'B' : 'A';
    CHECK_AS(tv_chat_cursor_decode(key, "2...lobby", text, &d) == TV_EINVAL,
             "an altered cursor is refused");
    CHECK(tv_chat_cursor_decode(key, "2...lobby", "", &d) == TV_EINVAL);
    CHECK(tv_chat_cursor_decode(key, "2...lobby", "%%%", &d) == TV_EINVAL);
}

int main(void)
{
    rooms();
    direct_messages();
    contents();
    cursors();
    return check_summary();
}
