/* Signed list cursors (see cursor.h): the key derivation, the MAC, and the base64 framing
 * that storage, chat and group listings share. */
#include "cursor.h"
#include "error.h"

#include <sodium.h>
#include <string.h>

#define VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

_Static_assert(TV_CURSOR_TEXT_LEN(0) == sodium_base64_ENCODED_LEN(TV_CURSOR_MAC, VARIANT) &&
                   TV_CURSOR_TEXT_LEN(1) == sodium_base64_ENCODED_LEN(TV_CURSOR_MAC + 1, VARIANT) &&
                   TV_CURSOR_TEXT_LEN(2) == sodium_base64_ENCODED_LEN(TV_CURSOR_MAC + 2, VARIANT),
               "TV_CURSOR_TEXT_LEN agrees with libsodium");

void tv_cursor_key(const char *secret, const char *label, unsigned char key[TV_CURSOR_KEY])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, strlen(label));
    crypto_auth_hmacsha256_final(&st, key);
    sodium_memzero(&st, sizeof st);
}

static void mac(const unsigned char key[TV_CURSOR_KEY], const char *scope,
                const unsigned char *body, size_t len, unsigned char out[TV_CURSOR_MAC])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, TV_CURSOR_KEY, TV_CURSOR_MAC);
    crypto_generichash_update(&st, (const unsigned char *)scope, strlen(scope) + 1); /* + NUL */
    crypto_generichash_update(&st, body, len);
    crypto_generichash_final(&st, out, TV_CURSOR_MAC);
}

int tv_cursor_seal(const unsigned char key[TV_CURSOR_KEY], const char *scope, const void *body,
                   size_t len, char *out, size_t out_size)
{
    unsigned char raw[TV_CURSOR_BODY_MAX + TV_CURSOR_MAC];
    if (out_size > 0)
        out[0] = 0;
    if (len > TV_CURSOR_BODY_MAX || out_size < TV_CURSOR_TEXT_LEN(len))
        return TV_EINVAL;
    if (len)
        memcpy(raw, body, len);
    mac(key, scope, raw, len, raw + len);
    sodium_bin2base64(out, out_size, raw, len + TV_CURSOR_MAC, VARIANT);
    return TV_OK;
}

int tv_cursor_open(const unsigned char key[TV_CURSOR_KEY], const char *scope, const char *text,
                   void *body, size_t body_max, size_t *len)
{
    unsigned char raw[TV_CURSOR_BODY_MAX + TV_CURSOR_MAC], want[TV_CURSOR_MAC];
    if (body_max > TV_CURSOR_BODY_MAX)
        body_max = TV_CURSOR_BODY_MAX;
    /* strnlen: an over-long text is refused without reading all of it */
    size_t n = strnlen(text, TV_CURSOR_TEXT_LEN(body_max)), got = 0;
    if (n >= TV_CURSOR_TEXT_LEN(body_max) ||
        sodium_base642bin(raw, body_max + TV_CURSOR_MAC, text, n, NULL, &got, NULL, VARIANT) != 0 ||
        got < TV_CURSOR_MAC)
        return TV_EINVAL;
    got -= TV_CURSOR_MAC;
    mac(key, scope, raw, got, want);
    if (sodium_memcmp(want, raw + got, TV_CURSOR_MAC) != 0)
        return TV_EINVAL;
    if (got)
        memcpy(body, raw, got);
    *len = got;
    return TV_OK;
}
