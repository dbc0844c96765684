/* The session deny-list, in memory so that checking a token never touches SQL: revoked token
 * pairs (by tid, until they expire), per-user "logged out everywhere" times and banned users.
 * The database holds the same facts (session_revoked, session_logout_all, users.disable_time),
 * so a restart — and later another node, through LISTEN/NOTIFY — can rebuild it. */
#ifndef TV_AUTH_SESSION_CACHE_H
#define TV_AUTH_SESSION_CACHE_H

#include <stdint.h>

#include "db.h"
#include "token.h"

typedef struct tv_session_cache tv_session_cache_t;

tv_session_cache_t *tv_session_cache_new(void);
void tv_session_cache_free(tv_session_cache_t *c);

/* Refuses the token pair tid until exp. TV_ENOMEM on allocation failure. */
int tv_session_cache_revoke(tv_session_cache_t *c, const char *tid, int64_t exp);
/* Refuses every token of uid issued before t (unix seconds). Tokens carry whole seconds, so
 * one issued in the very second of the logout, before it, stays valid: Nakama's rule, which
 * keeps a sign-in right after the logout working. */
int tv_session_cache_logout_all(tv_session_cache_t *c, const char *uid, int64_t t);
/* Marks uid banned (banned != 0) or no longer banned: every token of a banned user is refused,
 * whenever it was issued. The one place a ban or unban reaches the cache, so a change heard
 * from another node applies the same way. TV_ENOMEM on allocation failure. */
int tv_session_cache_set_banned(tv_session_cache_t *c, const char *uid, int banned);
/* 1 while uid is banned. */
int tv_session_cache_is_banned(tv_session_cache_t *c, const char *uid);
/* 1 when no rule refuses these claims. */
int tv_session_cache_allows(tv_session_cache_t *c, const tv_token_claims_t *cl);
/* Forgets revocations that expired before now. */
void tv_session_cache_prune(tv_session_cache_t *c, int64_t now);
/* Loads the rows still in force from the database, banned users (disable_time set) too. */
int tv_session_cache_load(tv_session_cache_t *c, tv_db_t *db, int64_t now);

#endif
