/* Password hashing: argon2id (libsodium) for new hashes; bcrypt hashes imported from Nakama
 * verify too. Each argon2id run costs ~64 MiB, so a limiter bounds how many run at once. */
#ifndef TV_AUTH_PASSWORD_H
#define TV_AUTH_PASSWORD_H

#include <sodium.h>

#define TV_PASSWORD_HASH_MAX crypto_pwhash_STRBYTES

typedef struct tv_password tv_password_t;

/* A limiter letting at most max_concurrent hashes run at once. NULL on failure. */
tv_password_t *tv_password_new(int max_concurrent);
void tv_password_free(tv_password_t *p);

/* Hashes pw into out (NUL-terminated). TV_EBUSY when no slot frees within 2 s. */
int tv_password_hash(tv_password_t *p, const char *pw, char out[TV_PASSWORD_HASH_MAX]);
/* TV_OK when pw matches hash (argon2id or bcrypt $2a$/$2b$/$2y$), TV_EUNAUTH when not or when
 * the hash is of an unknown kind, TV_EBUSY when no slot frees within 2 s. */
int tv_password_verify(tv_password_t *p, const char *hash, const char *pw);

#endif
