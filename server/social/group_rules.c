/* The pure part of groups (see group.h): what each admin operation does to a member, the name
 * filter of a listing and the signed list cursors. No I/O and no state: unit-tested alone in
 * tests/unit/group_test.c. */
#include "group.h"
#include "error.h"
#include "json.h"

#include <sodium.h>
#include <string.h>

#define MAC_BYTES 16

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
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"tavern-group-cursor", 19);
    crypto_auth_hmacsha256_final(&st, key);
}

static void mac(const unsigned char key[32], const char *scope, const unsigned char *body,
                size_t len, unsigned char out[MAC_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, 32, MAC_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)scope, strlen(scope) + 1);
    crypto_generichash_update(&st, body, len);
    crypto_generichash_final(&st, out, MAC_BYTES);
}

void tv_group_cursor_encode(const unsigned char key[32], const char *scope, const char *payload,
                            char out[TV_GROUP_CURSOR_TEXT])
{
    unsigned char raw[TV_GROUP_CURSOR_PAYLOAD + MAC_BYTES];
    size_t n = strlen(payload);
    if (n > TV_GROUP_CURSOR_PAYLOAD)
        n = TV_GROUP_CURSOR_PAYLOAD; /* callers stay below; a cut one fails its MAC check */
    memcpy(raw, payload, n);
    mac(key, scope, raw, n, raw + n);
    sodium_bin2base64(out, TV_GROUP_CURSOR_TEXT, raw, n + MAC_BYTES,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int tv_group_cursor_decode(const unsigned char key[32], const char *scope, const char *text,
                           char out[TV_GROUP_CURSOR_PAYLOAD + 1])
{
    unsigned char raw[TV_GROUP_CURSOR_PAYLOAD + MAC_BYTES], want[MAC_BYTES];
    size_t len = 0, n = strlen(text);
    if (n >= TV_GROUP_CURSOR_TEXT ||
        sodium_base642bin(raw, sizeof raw, text, n, NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        len <= MAC_BYTES)
        return TV_EINVAL;
    len -= MAC_BYTES;
    mac(key, scope, raw, len, want);
    if (sodium_memcmp(want, raw + len, MAC_BYTES) != 0 || memchr(raw, 0, len))
        return TV_EINVAL;
    memcpy(out, raw, len);
    out[len] = 0;
    return TV_OK;
}
