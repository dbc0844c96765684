/* Session, refresh and console tokens: HS256 JWTs with Nakama's claims (tid, uid, usn, vrs,
 * exp, iat) that nakama-js can decode. */
#ifndef TV_AUTH_TOKEN_H
#define TV_AUTH_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TV_USERNAME_MAX 128

typedef struct tv_token_claims {
    char tid[37];                   /* token pair id (UUID), shared by session and refresh */
    char uid[37];                   /* user id; empty for console tokens */
    char usn[TV_USERNAME_MAX + 1];  /* username */
    char *vrs;                      /* owned JSON object text of string vars, or NULL */
    int64_t exp, iat;               /* unix seconds */
} tv_token_claims_t;

/* Signs claims with key into a new JWT; *out is owned by the caller (free()). Empty string
 * claims and a NULL/"{}" vrs are left out, as Nakama does. Characters that nakama-js 2.8's
 * atob would lose in base64url form are written as \u escapes. TV_EINVAL when vrs is not a
 * JSON object of strings. */
int tv_token_encode(const char *key, const tv_token_claims_t *c, char **out);

/* Verifies jwt with key: signature, algorithm HS256 only, exp present and after now.
 * Fills *out (free with tv_token_claims_free) and returns TV_OK, or TV_EUNAUTH. */
int tv_token_decode(const char *key, const char *jwt, int64_t now, tv_token_claims_t *out);

void tv_token_claims_free(tv_token_claims_t *c);

/* A matchmaker token: {"mid":match_id,"exp":exp} signed with key (the session key), as
 * Nakama. *out is owned by the caller (free()). TV_OK or TV_ENOMEM. */
int tv_token_match_encode(const char *key, const char *match_id, int64_t exp, char **out);
/* Verifies a matchmaker token (HS256, exp after now) and copies its match id into
 * match_id[size]. TV_OK or TV_EUNAUTH. */
int tv_token_match_decode(const char *key, const char *jwt, int64_t now, char *match_id,
                          size_t size);

#endif
