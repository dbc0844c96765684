/* Unit tests for server/core/cursor.c: sealing and opening signed list cursors, their wire
 * format (pinned by cursors the rooms made before they shared this code) and every way a
 * cursor text can be wrong. */
#include "check.h"
#include "cursor.h"
#include "error.h"

#include <sodium.h>
#include <string.h>

static unsigned char key[TV_CURSOR_KEY], other[TV_CURSOR_KEY];

/* Opens text into a buffer with a canary after body_max: TV_OK/TV_EINVAL, and -100 when open
 * wrote past body_max or touched body on failure. */
static int open_checked(const unsigned char *k, const char *scope, const char *text,
                        size_t body_max, unsigned char *body, size_t *len)
{
    unsigned char buf[TV_CURSOR_BODY_MAX + 8];
    memset(buf, 0xA5, sizeof buf);
    size_t n = 12345;
    int rc = tv_cursor_open(k, scope, text, buf, body_max, &n);
    for (size_t i = rc == TV_OK ? n : 0; i < sizeof buf; i++)
        if (buf[i] != 0xA5)
            return -100;
    if (rc == TV_OK) {
        memcpy(body, buf, n);
        *len = n;
    }
    return rc;
}

static void test_vectors(void)
{
    /* Made by tv_group_cursor_encode and tv_chat_cursor_encode before this file existed:
     * cursors handed out then must still open. */
    unsigned char gk[TV_CURSOR_KEY], ck[TV_CURSOR_KEY], body[64];
    char text[128];
    size_t len = 0;
    tv_cursor_key("secret", "tavern-group-cursor", gk);
    CHECK(tv_cursor_seal(gk, "scope", "2:17:abc", 8, text, sizeof text) == TV_OK &&
          strcmp(text, "MjoxNzphYmMIAXRUdnRM5zrZJOfqzSAX") == 0);
    CHECK(tv_cursor_seal(gk, "", "x", 1, text, sizeof text) == TV_OK &&
          strcmp(text, "eBd9bX6Dq1fmA-vq4b-umW4") == 0);
    tv_cursor_key("secret", "tavern-chat-cursor", ck);
    const char *chat = "AQMAAAGatpfoezAxYTIzODIwLWE5ZTMtNzAwMC1hZWVlLTBkYmIxNmNjY2Y5YZzQFy0A6Tjq7pXShHM_fdU";
    CHECK_AS(tv_cursor_open(ck, "2...lobby", chat, body, sizeof body, &len) == TV_OK &&
                 len == 46 && body[0] == 1 && body[1] == 3 &&
                 memcmp(body + 10, "01a23820-a9e3-7000-aeee-0dbb16cccf9a", 36) == 0,
             "a chat cursor made before opens");
    CHECK_AS(tv_cursor_open(gk, "2...lobby", chat, body, sizeof body, &len) == TV_EINVAL,
             "labels give distinct keys");

    /* The construction spelled out with libsodium: HMAC-SHA256(secret, label) as the key,
     * a 16-byte keyed BLAKE2b over scope, NUL and body, then URL-safe unpadded base64. */
    unsigned char k2[TV_CURSOR_KEY], raw[3 + TV_CURSOR_MAC];
    crypto_auth_hmacsha256_state h;
    crypto_auth_hmacsha256_init(&h, (const unsigned char *)"s3", 2);
    crypto_auth_hmacsha256_update(&h, (const unsigned char *)"lbl", 3);
    crypto_auth_hmacsha256_final(&h, k2);
    tv_cursor_key("s3", "lbl", gk);
    CHECK_AS(memcmp(gk, k2, sizeof k2) == 0, "key = HMAC-SHA256(secret, label)");
    crypto_generichash_state g;
    memcpy(raw, "\x00\x01\xff", 3);
    crypto_generichash_init(&g, k2, sizeof k2, TV_CURSOR_MAC);
    crypto_generichash_update(&g, (const unsigned char *)"sc", 3);
    crypto_generichash_update(&g, raw, 3);
    crypto_generichash_final(&g, raw + 3, TV_CURSOR_MAC);
    char want[TV_CURSOR_TEXT_LEN(3)];
    sodium_bin2base64(want, sizeof want, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    CHECK(tv_cursor_seal(gk, "sc", "\x00\x01\xff", 3, text, sizeof text) == TV_OK &&
          strcmp(text, want) == 0);
}

static void test_round_trip(void)
{
    unsigned char body[TV_CURSOR_BODY_MAX], back[TV_CURSOR_BODY_MAX];
    char text[TV_CURSOR_TEXT_LEN(TV_CURSOR_BODY_MAX)];
    size_t len = 0;
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (unsigned char)(i * 7 + 3); /* NULs and high bytes included */
    int ok = 1;
    for (size_t n = 0; n <= TV_CURSOR_BODY_MAX; n++) {
        if (tv_cursor_seal(key, "scope", body, n, text, sizeof text) != TV_OK ||
            strlen(text) + 1 != TV_CURSOR_TEXT_LEN(n) ||
            open_checked(key, "scope", text, n, back, &len) != TV_OK || len != n ||
            memcmp(back, body, n) != 0 ||
            open_checked(key, "scope", text, TV_CURSOR_BODY_MAX, back, &len) != TV_OK ||
            len != n) {
            ok = 0;
            printf("# round trip failed at %zu bytes\n", n);
            break;
        }
        for (const char *c = text; *c; c++)
            if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *c))
                ok = 0;
    }
    CHECK_AS(ok, "every body length 0..TV_CURSOR_BODY_MAX round-trips as URL-safe text");

    /* empty body: NULL is fine, the text is the MAC alone */
    CHECK(tv_cursor_seal(key, "scope", NULL, 0, text, sizeof text) == TV_OK &&
          strlen(text) == TV_CURSOR_TEXT_LEN(0) - 1);
    CHECK(open_checked(key, "scope", text, 0, back, &len) == TV_OK && len == 0);
    CHECK(tv_cursor_open(key, "scope", text, NULL, 0, &len) == TV_OK && len == 0);
    CHECK(open_checked(key, "scope2", text, 0, back, &len) == TV_EINVAL);
}

static void test_wrong_scope_and_key(void)
{
    unsigned char back[64];
    char text[TV_CURSOR_TEXT_LEN(16)];
    size_t len = 0;
    CHECK(tv_cursor_seal(key, "ab", "cdef", 4, text, sizeof text) == TV_OK);
    CHECK(open_checked(key, "ab", text, sizeof back, back, &len) == TV_OK && len == 4);
    CHECK_AS(open_checked(key, "abc", text, sizeof back, back, &len) == TV_EINVAL,
             "another scope");
    CHECK_AS(open_checked(key, "a", text, sizeof back, back, &len) == TV_EINVAL,
             "a prefix of the scope");
    CHECK_AS(open_checked(key, "", text, sizeof back, back, &len) == TV_EINVAL, "empty scope");
    CHECK_AS(open_checked(other, "ab", text, sizeof back, back, &len) == TV_EINVAL,
             "another key");
    /* The NUL after scope keeps where scope ends signed: ("ab", "cdef") is not ("abc", "def"). */
    char moved[TV_CURSOR_TEXT_LEN(16)];
    CHECK(tv_cursor_seal(key, "abc", "def", 3, moved, sizeof moved) == TV_OK &&
          strcmp(moved, text) != 0);
}

static void test_tampering(void)
{
    unsigned char body[40], back[64], raw[40 + TV_CURSOR_MAC];
    char text[TV_CURSOR_TEXT_LEN(40)], bad[TV_CURSOR_TEXT_LEN(40) + 4];
    size_t len = 0, rawlen = 0;
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (unsigned char)i;
    CHECK(tv_cursor_seal(key, "s", body, sizeof body, text, sizeof text) == TV_OK);
    CHECK(sodium_base642bin(raw, sizeof raw, text, strlen(text), NULL, &rawlen, NULL,
                            sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
          rawlen == sizeof raw);

    /* one flipped bit anywhere in body or MAC */
    int all = 1;
    for (size_t bit = 0; bit < 8 * sizeof raw; bit++) {
        raw[bit / 8] ^= (unsigned char)(1u << bit % 8);
        sodium_bin2base64(bad, sizeof bad, raw, sizeof raw,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        raw[bit / 8] ^= (unsigned char)(1u << bit % 8);
        if (open_checked(key, "s", bad, sizeof back, back, &len) != TV_EINVAL) {
            all = 0;
            printf("# bit %zu flipped still opens\n", bit);
        }
    }
    CHECK_AS(all, "every flipped bit of body and MAC is refused");

    /* one changed character anywhere in the text (non-canonical final characters too) */
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    all = 1;
    for (size_t i = 0; text[i]; i++)
        for (const char *a = alphabet; *a; a++) {
            if (*a == text[i])
                continue;
            strcpy(bad, text);
            bad[i] = *a;
            if (open_checked(key, "s", bad, sizeof back, back, &len) != TV_EINVAL)
                all = 0;
        }
    CHECK_AS(all, "every changed character is refused");

    /* every truncation, and junk */
    all = 1;
    for (size_t n = 0; n < strlen(text); n++) {
        snprintf(bad, sizeof bad, "%.*s", (int)n, text);
        if (open_checked(key, "s", bad, sizeof back, back, &len) != TV_EINVAL)
            all = 0;
    }
    CHECK_AS(all, "every truncated text is refused");
    const char *junk[] = {"", "A", "AA", "!!!!", "====", "AAAA====", " AAAA", "a+b/", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++)
        CHECK_AS(open_checked(key, "s", junk[i], sizeof back, back, &len) == TV_EINVAL, junk[i]);
    snprintf(bad, sizeof bad, "%s=", text);
    CHECK_AS(open_checked(key, "s", bad, sizeof back, back, &len) == TV_EINVAL, "padding added");
    snprintf(bad, sizeof bad, "%sA", text);
    CHECK_AS(open_checked(key, "s", bad, sizeof back, back, &len) == TV_EINVAL,
             "a character appended");
    snprintf(bad, sizeof bad, "%sAAAA", text);
    CHECK_AS(open_checked(key, "s", bad, sizeof back, back, &len) == TV_EINVAL,
             "three zero bytes appended");
}

static void test_bounds(void)
{
    static unsigned char body[TV_CURSOR_BODY_MAX + 1];
    unsigned char back[TV_CURSOR_BODY_MAX];
    static char text[TV_CURSOR_TEXT_LEN(TV_CURSOR_BODY_MAX + 1) + 8];
    size_t len = 0;

    /* a body longer than the reader's buffer: refused, and nothing written (open_checked) */
    CHECK(tv_cursor_seal(key, "s", body, 10, text, sizeof text) == TV_OK);
    CHECK(open_checked(key, "s", text, 10, back, &len) == TV_OK && len == 10);
    CHECK_AS(open_checked(key, "s", text, 9, back, &len) == TV_EINVAL, "body over body_max");
    CHECK_AS(open_checked(key, "s", text, 0, back, &len) == TV_EINVAL, "body over body_max 0");

    /* the longest body; one byte more does not seal */
    CHECK(tv_cursor_seal(key, "s", body, TV_CURSOR_BODY_MAX, text, sizeof text) == TV_OK);
    CHECK(open_checked(key, "s", text, TV_CURSOR_BODY_MAX, back, &len) == TV_OK &&
          len == TV_CURSOR_BODY_MAX);
    CHECK(tv_cursor_seal(key, "s", body, TV_CURSOR_BODY_MAX + 1, text, sizeof text) ==
          TV_EINVAL && text[0] == 0);

    /* over-long text: a whole base64 body past TV_CURSOR_BODY_MAX, or any megabyte of text */
    unsigned char rawbig[TV_CURSOR_BODY_MAX + 3 + TV_CURSOR_MAC] = {0};
    static char longtext[TV_CURSOR_TEXT_LEN(TV_CURSOR_BODY_MAX + 3) + 8];
    sodium_bin2base64(longtext, sizeof longtext, rawbig, sizeof rawbig,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    CHECK_AS(open_checked(key, "s", longtext, TV_CURSOR_BODY_MAX + 100, back, &len) ==
                 TV_EINVAL,
             "text over TV_CURSOR_BODY_MAX, however big body_max");
    static char huge[1 << 20];
    memset(huge, 'A', sizeof huge - 1);
    CHECK_AS(open_checked(key, "s", huge, TV_CURSOR_BODY_MAX, back, &len) == TV_EINVAL,
             "a megabyte of text");

    /* output that does not fit: refused with "" in out, never written past out_size */
    char out[TV_CURSOR_TEXT_LEN(5) + 4];
    memset(out, 'Z', sizeof out);
    CHECK(tv_cursor_seal(key, "s", "hello", 5, out, TV_CURSOR_TEXT_LEN(5) - 1) == TV_EINVAL &&
          out[0] == 0 && out[TV_CURSOR_TEXT_LEN(5) - 1] == 'Z');
    memset(out, 'Z', sizeof out);
    CHECK(tv_cursor_seal(key, "s", "hello", 5, out, 0) == TV_EINVAL && out[0] == 'Z');
    CHECK(tv_cursor_seal(key, "s", "hello", 5, out, TV_CURSOR_TEXT_LEN(5)) == TV_OK &&
          strlen(out) == TV_CURSOR_TEXT_LEN(5) - 1 && out[TV_CURSOR_TEXT_LEN(5)] == 'Z');
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    tv_cursor_key("secret-one-secret-one-secret-one", "tavern-test-cursor", key);
    tv_cursor_key("secret-two-secret-two-secret-two", "tavern-test-cursor", other);
    test_vectors();
    test_round_trip();
    test_wrong_scope_and_key();
    test_tampering();
    test_bounds();
    return check_summary();
}
