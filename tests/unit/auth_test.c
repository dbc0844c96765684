/* Unit tests of password hashing (argon2id, imported bcrypt) and the session deny-list. */
#include "check.h"
#include "error.h"
#include "password.h"
#include "session_cache.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

static void test_argon2(tv_password_t *pw)
{
    char hash[TV_PASSWORD_HASH_MAX];
    CHECK(tv_password_hash(pw, "correct horse", hash) == TV_OK);
    CHECK(strncmp(hash, "$argon2id$", 10) == 0);
    CHECK(tv_password_verify(pw, hash, "correct horse") == TV_OK);
    CHECK(tv_password_verify(pw, hash, "correct horsf") == TV_EUNAUTH);
    CHECK(tv_password_verify(pw, NULL, "x") == TV_EUNAUTH);
    CHECK(tv_password_verify(pw, "plaintext", "plaintext") == TV_EUNAUTH);
}

static void test_bcrypt(tv_password_t *pw)
{
    /* a hash as Nakama stores them, made here with libxcrypt at a low cost */
    char salt[64];
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    CHECK(crypt_gensalt_rn("$2a$", 4, NULL, 0, salt, sizeof salt) != NULL);
    const char *h = crypt_rn("password1", salt, &cd, sizeof cd);
    CHECK(h && strncmp(h, "$2a$04$", 7) == 0);
    char hash[128];
    strcpy(hash, h);
    CHECK(tv_password_verify(pw, hash, "password1") == TV_OK);
    CHECK(tv_password_verify(pw, hash, "password2") == TV_EUNAUTH);
    hash[strlen(hash) - 1] ^= 1; /* a damaged hash never verifies */
    CHECK(tv_password_verify(pw, hash, "password1") == TV_EUNAUTH);
}

static tv_token_claims_t claims(const char *tid, const char *uid, int64_t iat)
{
    tv_token_claims_t c = {0};
    strcpy(c.tid, tid);
    strcpy(c.uid, uid);
    c.iat = iat;
    c.exp = iat + 100;
    return c;
}

static void test_session_cache(void)
{
    tv_session_cache_t *c = tv_session_cache_new();
    const char *u1 = "0f8e3c52-1d1b-4a8e-8c1e-5f2a9b7c6d5e", *u2 = "1f8e3c52-1d1b-4a8e-8c1e-5f2a9b7c6d5e";
    tv_token_claims_t a = claims("6c1e2d7a-6f7a-4a44-9d35-1c1e1a2b3c4d", u1, 1000);
    tv_token_claims_t b = claims("7c1e2d7a-6f7a-4a44-9d35-1c1e1a2b3c4d", u1, 1000);
    tv_token_claims_t other = claims("8c1e2d7a-6f7a-4a44-9d35-1c1e1a2b3c4d", u2, 1000);
    CHECK(tv_session_cache_allows(c, &a));
    CHECK(tv_session_cache_revoke(c, a.tid, 5000) == TV_OK);
    CHECK(!tv_session_cache_allows(c, &a));
    CHECK(tv_session_cache_allows(c, &b));
    CHECK(tv_session_cache_logout_all(c, u1, 1001) == TV_OK);
    CHECK(!tv_session_cache_allows(c, &b));            /* issued before the logout */
    tv_token_claims_t later = claims("9c1e2d7a-6f7a-4a44-9d35-1c1e1a2b3c4d", u1, 1001);
    CHECK(tv_session_cache_allows(c, &later));         /* a sign-in in the logout's second */
    CHECK(tv_session_cache_allows(c, &other));
    CHECK(tv_session_cache_logout_all(c, u1, 900) == TV_OK); /* an older time never wins */
    CHECK(!tv_session_cache_allows(c, &b));
    /* many revocations: the table grows and keeps them all */
    char tid[37];
    int all = 1;
    for (int i = 0; i < 5000; i++) {
        snprintf(tid, sizeof tid, "00000000-0000-4000-8000-%012d", i);
        all &= tv_session_cache_revoke(c, tid, i < 2500 ? 10 : 100000) == TV_OK;
    }
    CHECK(all);
    tv_token_claims_t t = claims("00000000-0000-4000-8000-000000004999", u2, 1);
    CHECK(!tv_session_cache_allows(c, &t));
    tv_session_cache_prune(c, 50); /* drops the ones that expired at 10 */
    strcpy(t.tid, "00000000-0000-4000-8000-000000000001");
    CHECK(tv_session_cache_allows(c, &t));
    strcpy(t.tid, "00000000-0000-4000-8000-000000002501");
    CHECK(!tv_session_cache_allows(c, &t));
    CHECK(!tv_session_cache_allows(c, &a));            /* revoked until 5000 */
    tv_session_cache_free(c);
}

/* The banned-user set: every token of the user, whenever issued, until the unban. */
static void test_banned(void)
{
    tv_session_cache_t *c = tv_session_cache_new();
    const char *u1 = "2f8e3c52-1d1b-4a8e-8c1e-5f2a9b7c6d5e", *u2 = "3f8e3c52-1d1b-4a8e-8c1e-5f2a9b7c6d5e";
    tv_token_claims_t old = claims("ac1e2d7a-6f7a-4a44-9d35-1c1e1a2b3c4d", u1, 10);
    tv_token_claims_t future = claims("bc1e2d7a-6f7a-4a44-9d35-1c1e1a2b3c4d", u1, 1 << 30);
    tv_token_claims_t other = claims("cc1e2d7a-6f7a-4a44-9d35-1c1e1a2b3c4d", u2, 10);
    CHECK(tv_session_cache_set_banned(c, u1, 0) == TV_OK); /* an unban of nobody: a no-op */
    CHECK(!tv_session_cache_is_banned(c, u1) && tv_session_cache_allows(c, &old));
    CHECK(tv_session_cache_set_banned(c, u1, 1) == TV_OK);
    CHECK(tv_session_cache_is_banned(c, u1));
    CHECK(!tv_session_cache_allows(c, &old) && !tv_session_cache_allows(c, &future));
    CHECK(tv_session_cache_allows(c, &other));
    CHECK(tv_session_cache_set_banned(c, u1, 0) == TV_OK);
    CHECK(tv_session_cache_allows(c, &old) && tv_session_cache_allows(c, &future));
    /* many users banned, most unbanned again; a prune keeps only the banned ones */
    char uid[37];
    int all = 1;
    for (int i = 0; i < 3000; i++) {
        snprintf(uid, sizeof uid, "00000000-0000-4000-9000-%012d", i);
        all &= tv_session_cache_set_banned(c, uid, 1) == TV_OK;
        if (i % 3)
            all &= tv_session_cache_set_banned(c, uid, 0) == TV_OK;
    }
    CHECK(all);
    tv_session_cache_prune(c, 0);
    tv_token_claims_t t = claims("dc1e2d7a-6f7a-4a44-9d35-1c1e1a2b3c4d", "00000000-0000-4000-9000-000000000003", 1);
    CHECK(!tv_session_cache_allows(c, &t));
    strcpy(t.uid, "00000000-0000-4000-9000-000000000004");
    CHECK(tv_session_cache_allows(c, &t));
    CHECK(tv_session_cache_allows(c, &old));
    tv_session_cache_free(c);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    tv_password_t *pw = tv_password_new(2);
    test_argon2(pw);
    test_bcrypt(pw);
    tv_password_free(pw);
    test_session_cache();
    test_banned();
    return check_summary();
}
