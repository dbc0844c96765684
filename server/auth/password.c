/* Password hashing with a concurrency limit: argon2id at libsodium's interactive limits (about
 * 0.3 s and 64 MiB each here) and bcrypt verification through libxcrypt for imported hashes. */
#include "password.h"
#include "error.h"
#include "log.h"

#include <crypt.h>
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOT_WAIT_S 2

struct tv_password {
    sem_t slots;
};

tv_password_t *tv_password_new(int max_concurrent)
{
    tv_password_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (sem_init(&p->slots, 0, (unsigned)(max_concurrent > 0 ? max_concurrent : 1)) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void tv_password_free(tv_password_t *p)
{
    if (!p)
        return;
    sem_destroy(&p->slots);
    free(p);
}

static int take_slot(tv_password_t *p)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += SLOT_WAIT_S;
    while (sem_timedwait(&p->slots, &dl) != 0) {
        if (errno == EINTR)
            continue;
        tv_log_warn("auth", "password hashing saturated: request refused");
        return TV_EBUSY;
    }
    return TV_OK;
}

int tv_password_hash(tv_password_t *p, const char *pw, char out[TV_PASSWORD_HASH_MAX])
{
    int rc = take_slot(p);
    if (rc)
        return rc;
    if (crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        rc = TV_ENOMEM;
    sem_post(&p->slots);
    return rc;
}

static int bcrypt_verify(const char *hash, const char *pw)
{
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd)
        return TV_ENOMEM;
    const char *r = crypt_rn(pw, hash, cd, sizeof *cd);
    size_t n = strlen(hash);
    int ok = r && r[0] != '*' && strlen(r) == n && sodium_memcmp(r, hash, n) == 0;
    free(cd);
    return ok ? TV_OK : TV_EUNAUTH;
}

static int is_bcrypt(const char *h)
{
    return strncmp(h, "$2a$", 4) == 0 || strncmp(h, "$2b$", 4) == 0 ||
           strncmp(h, "$2y$", 4) == 0;
}

int tv_password_verify(tv_password_t *p, const char *hash, const char *pw)
{
    if (!hash || (!is_bcrypt(hash) && strncmp(hash, "$argon2id$", 10) != 0))
        return TV_EUNAUTH;
    int rc = take_slot(p);
    if (rc)
        return rc;
    if (is_bcrypt(hash))
        rc = bcrypt_verify(hash, pw);
    else
        rc = crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0 ? TV_OK : TV_EUNAUTH;
    sem_post(&p->slots);
    return rc;
}
