/* Signed list cursors: a body of bytes sealed for one listing (scope) under a key derived
 * from the server secret, as URL-safe unpadded base64 text of body + a 16-byte keyed BLAKE2b
 * MAC over scope, its NUL and body. A room keeps its own body layout and field checks. */
#ifndef TV_CORE_CURSOR_H
#define TV_CORE_CURSOR_H

#include <stddef.h>

#define TV_CURSOR_KEY 32       /* bytes of a cursor key */
#define TV_CURSOR_MAC 16       /* bytes of MAC after the body */
#define TV_CURSOR_BODY_MAX 512 /* the longest body tv_cursor_seal/open take */
/* The text size (NUL included) of a cursor whose body is n bytes. */
#define TV_CURSOR_TEXT_LEN(n) ((((n) + TV_CURSOR_MAC) * 4 + 2) / 3 + 1)

/* Derives a cursor key into key: HMAC-SHA256(secret, label). secret and label are borrowed
 * NUL-terminated strings; a distinct label per room keeps one room's cursors out of another's
 * and a cursor MAC from doubling as a token signature. */
void tv_cursor_key(const char *secret, const char *label, unsigned char key[TV_CURSOR_KEY]);

/* Seals len bytes of body (at most TV_CURSOR_BODY_MAX; NULL when len is 0) for scope into out,
 * NUL-terminated, out_size bytes at most (TV_CURSOR_TEXT_LEN(len) is enough). TV_OK, or
 * TV_EINVAL when the body is too long or the text does not fit (out then holds "" when
 * out_size > 0). */
int tv_cursor_seal(const unsigned char key[TV_CURSOR_KEY], const char *scope, const void *body,
                   size_t len, char *out, size_t out_size);

/* Opens text sealed for scope: TV_OK with the body in body[0..*len) (body_max bytes at most,
 * not NUL-terminated), or TV_EINVAL when text is not canonical base64 of body + MAC, its body
 * would exceed body_max (or TV_CURSOR_BODY_MAX), or the MAC is not the one key gives for scope.
 * body is untouched on failure. */
int tv_cursor_open(const unsigned char key[TV_CURSOR_KEY], const char *scope, const char *text,
                   void *body, size_t body_max, size_t *len);

#endif
