/* What the console room's files (console.c, users.c, audit.c) share: the console state, the
 * console user cache and the rules for names and passwords. */
#ifndef TV_CONSOLE_INTERNAL_H
#define TV_CONSOLE_INTERNAL_H

#include "console.h"
#include "cursor.h"
#include "password.h"
#include "roles.h"
#include "token.h"

#include <pthread.h>
#include <stdint.h>

/* How long a console user's row (exists, disabled, role) is trusted in memory. A change made
 * on this node is seen at once (the cache is cleared); one made on another node sharing the
 * database within this time. */
#define TV_CONSOLE_CACHE_TTL_MS 5000
#define TV_CONSOLE_CACHE_MAX 256
#define TV_CONSOLE_NAME_MAX 128
#define TV_CONSOLE_PASSWORD_MIN 8
#define TV_CONSOLE_PASSWORD_MAX 256

typedef struct {
    char id[37];
    char username[TV_CONSOLE_NAME_MAX + 1];
    tv_con_role_t role;
    int exists, disabled;
    int64_t loaded_ms; /* monotonic */
} con_cached_t;

struct tv_console {
    struct tv_db *db;
    struct tv_password *pw;
    const struct tv_config *cfg;
    char *token_key;
    unsigned char cursor_key[TV_CURSOR_KEY];
    char dummy_hash[TV_PASSWORD_HASH_MAX + 64]; /* verified for unknown names: equal timing */
    pthread_mutex_t mu;                    /* guards the cache */
    con_cached_t cache[TV_CONSOLE_CACHE_MAX];
    int ncache;
};

tv_console_t *tv_console_of(void *app);

/* Forgets every cached console user: call after any change to console_user. */
void tv_console_cache_clear(tv_console_t *con);

/* NULL when name is a valid console user name (1-128 bytes of A-Z a-z 0-9 _ . @ -), else the
 * message for a 400. */
const char *tv_console_check_name(const char *name);
/* NULL when pw is an acceptable console password (8-256 bytes of UTF-8), else the message. */
const char *tv_console_check_password(const char *pw);

/* The role the console token's vrs names, or -1. */
int tv_console_token_role(const tv_token_claims_t *c);

#endif
