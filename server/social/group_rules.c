/* The pure part of groups (see group.h): what each admin operation does to a member, the name
 * filter of a listing and the signed list cursors. No I/O and no state: unit-tested alone in
 * tests/unit/group_test.c. */
#include "group.h"
#include "cursor.h"
#include "error.h"
#include "json.h"

#include <string.h>

_Static_assert(TV_CURSOR_TEXT_LEN(TV_GROUP_CURSOR_PAYLOAD) <= TV_GROUP_CURSOR_TEXT,
               "a group cursor's text fits TV_GROUP_CURSOR_TEXT");

int tv_group_counts(int state)
{
    return state >= TV_GROUP_SUPERADMIN && state <= TV_GROUP_MEMBER;
}

/* A caller acts on those ranked below it; superadmins also on each other. */
static int outranks(int caller, int target)
{
    if (caller == TV_GROUP_SUPERADMIN)
        return 1;
    return target == TV_GROUP_NONE || target > caller;
}

int tv_group_rule(tv_group_op_t op, int caller, int target, int *to)
{
    *to = target;
    if (caller != TV_GROUP_SUPERADMIN && caller != TV_GROUP_ADMIN)
        return TV_EPERM;
    switch (op) {
    case TV_GROUP_OP_ADD: /* an outsider or a request becomes a member; a ban stays (Nakama) */
        if (target == TV_GROUP_NONE || target == TV_GROUP_JOIN_REQUEST)
            *to = TV_GROUP_MEMBER;
        return TV_OK;
    case TV_GROUP_OP_KICK: /* a kicked request is a declined request, a kicked ban a lifted one
                            * (Nakama's kick deletes the row whatever its state) */
        if (target == TV_GROUP_NONE)
            return TV_OK;
        if (!outranks(caller, target))
            return TV_EPERM;
        *to = TV_GROUP_NONE;
        return TV_OK;
    case TV_GROUP_OP_PROMOTE: /* request -> member -> admin -> superadmin */
        if (target == TV_GROUP_NONE || target == TV_GROUP_BANNED ||
            target == TV_GROUP_SUPERADMIN)
            return TV_OK;
        if (target == TV_GROUP_ADMIN && caller != TV_GROUP_SUPERADMIN)
            return TV_EPERM;
        *to = target - 1;
        return TV_OK;
    case TV_GROUP_OP_DEMOTE: /* superadmin -> admin -> member; members, requests, bans stay */
        if (target != TV_GROUP_SUPERADMIN && target != TV_GROUP_ADMIN)
            return TV_OK;
        if (!outranks(caller, target))
            return TV_EPERM;
        *to = target + 1;
        return TV_OK;
    case TV_GROUP_OP_BAN:
        if (!outranks(caller, target))
            return TV_EPERM;
        *to = TV_GROUP_BANNED;
        return TV_OK;
    }
    return TV_EINVAL;
}

int tv_group_name_filter(const char *name, size_t *prefix_bytes, size_t *prefix_chars)
{
    size_t n = strlen(name);
    *prefix_bytes = *prefix_chars = 0;
    if (n < 1 || n > TV_GROUP_NAME_MAX + 1 || !tv_utf8_valid(name))
        return TV_EINVAL;
    const char *pct = strchr(name, '%');
    if (!pct)
        return n > TV_GROUP_NAME_MAX ? TV_EINVAL : TV_OK;
    if (pct != name + n - 1 || n < 2)
        return TV_EINVAL; /* only one trailing %, after at least one byte */
    *prefix_bytes = n - 1;
    for (size_t i = 0; i < n - 1; i++)
        *prefix_chars += ((unsigned char)name[i] & 0xC0) != 0x80;
    return TV_OK;
}

void tv_group_cursor_key(const char *secret, unsigned char key[32])
{
    tv_cursor_key(secret, "tavern-group-cursor", key);
}

void tv_group_cursor_encode(const unsigned char key[32], const char *scope, const char *payload,
                            char out[TV_GROUP_CURSOR_TEXT])
{
    size_t n = strlen(payload);
    if (n > TV_GROUP_CURSOR_PAYLOAD)
        n = TV_GROUP_CURSOR_PAYLOAD; /* callers stay below; a cut one reads back cut */
    /* cannot fail: the body is bounded and its text fits (asserted above) */
    (void)tv_cursor_seal(key, scope, payload, n, out, TV_GROUP_CURSOR_TEXT);
}

int tv_group_cursor_decode(const unsigned char key[32], const char *scope, const char *text,
                           char out[TV_GROUP_CURSOR_PAYLOAD + 1])
{
    size_t len = 0;
    if (tv_cursor_open(key, scope, text, out, TV_GROUP_CURSOR_PAYLOAD, &len) != TV_OK ||
        len == 0 || memchr(out, 0, len))
        return TV_EINVAL;
    out[len] = 0;
    return TV_OK;
}
