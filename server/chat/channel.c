/* Channel ids and what they name (Nakama's "<mode>.<subject>.<subcontext>.<label>"), the checks
 * of room names and message contents, and the signed history cursors. No I/O and no state:
 * unit-tested alone in tests/unit/chat_test.c. */
#include "chat_internal.h"
#include "cursor.h"
#include "error.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define CURSOR_FORMAT 1
/* format byte, flags byte, create time (8 bytes, big-endian), message id text */
#define CURSOR_BODY (2 + 8 + 36)
_Static_assert(TV_CHAT_CURSOR_KEY == TV_CURSOR_KEY &&
                   TV_CURSOR_TEXT_LEN(CURSOR_BODY) <= TV_CHAT_CURSOR_TEXT,
               "a chat cursor is a core cursor and its text fits TV_CHAT_CURSOR_TEXT");

/* POSIX [[:cntrl:]], what Nakama refuses in room names. */
static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

int tv_chat_ref_room(const char *name, tv_chat_ref_t *out, const char **why)
{
    size_t n = name ? strlen(name) : 0;
    memset(out, 0, sizeof *out);
    if (n < 1 || n > TV_CHAT_ROOM_NAME_MAX) {
        *why = "Channel name is required and must be 1-64 bytes";
        return TV_EINVAL;
    }
    if (has_control(name)) {
        *why = "Channel name must not contain control chars";
        return TV_EINVAL;
    }
    if (!tv_utf8_valid(name)) {
        *why = "Channel name must only contain valid UTF-8 bytes";
        return TV_EINVAL;
    }
    out->kind = TV_CHAT_ROOM;
    memcpy(out->room, name, n + 1);
    snprintf(out->id, sizeof out->id, "2...%s", name);
    return TV_OK;
}

void tv_chat_ref_dm(const char *a, const char *b, tv_chat_ref_t *out)
{
    char x[37], y[37];
    memset(out, 0, sizeof *out);
    memcpy(x, a, sizeof x);
    memcpy(y, b, sizeof y);
    tv_uuid_lower(x);
    tv_uuid_lower(y);
    int swap = strcmp(x, y) > 0; /* the lower id first, whoever joins */
    memcpy(out->one, swap ? y : x, sizeof out->one);
    memcpy(out->two, swap ? x : y, sizeof out->two);
    out->kind = TV_CHAT_DM;
    snprintf(out->id, sizeof out->id, "4.%s.%s.", out->one, out->two);
}

void tv_chat_ref_group(const char *gid, tv_chat_ref_t *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->one, gid, sizeof out->one);
    tv_uuid_lower(out->one);
    out->kind = TV_CHAT_GROUP;
    snprintf(out->id, sizeof out->id, "3.%s..", out->one);
}

/* Copies the 36-character UUID at s into out, lower-cased. TV_OK or TV_EINVAL. */
static int uuid_at(const char *s, size_t len, char out[37])
{
    if (len != 36)
        return TV_EINVAL;
    memcpy(out, s, 36);
    out[36] = 0;
    if (!tv_uuid_valid(out))
        return TV_EINVAL;
    tv_uuid_lower(out);
    return TV_OK;
}

int tv_chat_ref_parse(const char *id, tv_chat_ref_t *out)
{
    const char *why, *d1, *d2, *d3;
    memset(out, 0, sizeof *out);
    if (!id || strlen(id) >= TV_CHAT_ID_MAX || !(d1 = strchr(id, '.')) ||
        !(d2 = strchr(d1 + 1, '.')) || !(d3 = strchr(d2 + 1, '.')) || d1 - id != 1)
        return TV_EINVAL;
    size_t nsub = (size_t)(d2 - d1 - 1), nctx = (size_t)(d3 - d2 - 1);
    const char *label = d3 + 1; /* the rest: a room name may hold dots */
    switch (id[0]) {
    case '2':
        if (nsub || nctx)
            return TV_EINVAL;
        return tv_chat_ref_room(label, out, &why);
    case '3': {
        char g[37];
        if (nctx || *label || uuid_at(d1 + 1, nsub, g))
            return TV_EINVAL;
        tv_chat_ref_group(g, out);
        return TV_OK;
    }
    case '4': {
        char a[37], b[37];
        if (*label || uuid_at(d1 + 1, nsub, a) || uuid_at(d2 + 1, nctx, b) ||
            strcmp(a, b) >= 0)
            return TV_EINVAL;
        tv_chat_ref_dm(a, b, out);
        return TV_OK;
    }
    default:
        return TV_EINVAL;
    }
}

void tv_chat_ref_json(cJSON *o, const tv_chat_ref_t *r)
{
    switch (r->kind) {
    case TV_CHAT_ROOM:
        cJSON_AddStringToObject(o, "room_name", r->room);
        break;
    case TV_CHAT_GROUP:
        cJSON_AddStringToObject(o, "group_id", r->one);
        break;
    case TV_CHAT_DM:
        cJSON_AddStringToObject(o, "user_id_one", r->one);
        cJSON_AddStringToObject(o, "user_id_two", r->two);
        break;
    case TV_CHAT_STREAM: /* streams' messages carry the stream object instead */
        break;
    }
}

void tv_chat_ref_buf(tv_rt_buf_t *b, const tv_chat_ref_t *r)
{
    switch (r->kind) {
    case TV_CHAT_ROOM:
        tv_rt_buf_lit(b, ",\"room_name\":");
        tv_rt_buf_str(b, r->room);
        break;
    case TV_CHAT_GROUP:
        tv_rt_buf_lit(b, ",\"group_id\":");
        tv_rt_buf_str(b, r->one);
        break;
    case TV_CHAT_DM:
        tv_rt_buf_lit(b, ",\"user_id_one\":");
        tv_rt_buf_str(b, r->one);
        tv_rt_buf_lit(b, ",\"user_id_two\":");
        tv_rt_buf_str(b, r->two);
        break;
    case TV_CHAT_STREAM:
        break;
    }
}

int tv_chat_ref_stream(int mode, const char *subject, const char *subcontext, const char *label,
                       tv_chat_ref_t *out, const char **why)
{
    const char *parts[2] = {subject ? subject : "", subcontext ? subcontext : ""};
    char *dst[2] = {out->one, out->two};
    memset(out, 0, sizeof *out);
    label = label ? label : "";
    if (mode < 8 || mode > 255) {
        *why = "stream mode must be 8-255 (0-7 are the server's own)";
        return TV_EINVAL;
    }
    for (int i = 0; i < 2; i++) {
        if (*parts[i] && (strlen(parts[i]) != 36 || !tv_uuid_valid(parts[i]))) {
            *why = i ? "stream subcontext must be empty or a UUID"
                     : "stream subject must be empty or a UUID";
            return TV_EINVAL;
        }
        memcpy(dst[i], parts[i], strlen(parts[i]) + 1);
        if (*dst[i])
            tv_uuid_lower(dst[i]);
    }
    if (strlen(label) > TV_CHAT_ROOM_NAME_MAX || has_control(label) || !tv_utf8_valid(label)) {
        *why = "stream label must be at most 64 bytes of UTF-8 without control characters";
        return TV_EINVAL;
    }
    out->kind = TV_CHAT_STREAM;
    out->mode = mode;
    memcpy(out->room, label, strlen(label) + 1);
    snprintf(out->id, sizeof out->id, "%d.%s.%s.%s", mode, out->one, out->two, out->room);
    return TV_OK;
}

int tv_chat_id_is_stream(const char *id)
{
    return !((id[0] == '2' || id[0] == '3' || id[0] == '4') && id[1] == '.');
}

const char *tv_chat_content_check(const char *content)
{
    static const char not_object[] = "Message content must be a valid JSON object";
    if (!content)
        return not_object;
    if (strlen(content) > TV_CHAT_CONTENT_MAX)
        return "Message content must be at most 4096 bytes";
    if (!tv_utf8_valid(content))
        return not_object;
    cJSON *v = cJSON_ParseWithOpts(content, NULL, 1);
    int object = cJSON_IsObject(v);
    cJSON_Delete(v);
    return object ? NULL : not_object;
}

/* ---- cursors ------------------------------------------------------------------------------ */

void tv_chat_cursor_key(const char *secret, unsigned char key[TV_CHAT_CURSOR_KEY])
{
    tv_cursor_key(secret, "tavern-chat-cursor", key);
}

void tv_chat_cursor_encode(const unsigned char key[TV_CHAT_CURSOR_KEY], const char *channel_id,
                           const tv_chat_cursor_t *c, char out[TV_CHAT_CURSOR_TEXT])
{
    unsigned char raw[CURSOR_BODY];
    uint64_t t = (uint64_t)c->create_ms;
    raw[0] = CURSOR_FORMAT;
    raw[1] = (unsigned char)((c->forward ? 1 : 0) | (c->is_next ? 2 : 0));
    for (int i = 0; i < 8; i++)
        raw[2 + i] = (unsigned char)(t >> (56 - 8 * i));
    memcpy(raw + 10, c->id, 36);
    /* cannot fail: the body is fixed and its text fits (asserted above) */
    (void)tv_cursor_seal(key, channel_id, raw, sizeof raw, out, TV_CHAT_CURSOR_TEXT);
}

int tv_chat_cursor_decode(const unsigned char key[TV_CHAT_CURSOR_KEY], const char *channel_id,
                          const char *text, tv_chat_cursor_t *c)
{
    unsigned char raw[CURSOR_BODY];
    size_t len = 0;
    if (tv_cursor_open(key, channel_id, text, raw, sizeof raw, &len) != TV_OK ||
        len != sizeof raw || raw[0] != CURSOR_FORMAT || raw[1] > 3)
        return TV_EINVAL;
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = t << 8 | raw[2 + i];
    c->forward = raw[1] & 1;
    c->is_next = (raw[1] >> 1) & 1;
    c->create_ms = (int64_t)t;
    memcpy(c->id, raw + 10, 36);
    c->id[36] = 0;
    /* signed by us, so well-formed; checked anyway in case the key ever leaks */
    return c->create_ms >= 0 && tv_uuid_valid(c->id) ? TV_OK : TV_EINVAL;
}
