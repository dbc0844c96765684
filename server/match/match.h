/* Matches as clients see them: the registry of relayed matches (ids "<uuid>.") and their
 * presences, the realtime messages that create, join, leave and feed them, and the listing of
 * GET /v2/match. Authoritative matches ("<uuid>.<node>") plug in through
 * tv_match_authoritative_t; the tick scheduler that runs them is scheduler.h. */
#ifndef TV_MATCH_MATCH_H
#define TV_MATCH_MATCH_H

#include "http.h"
#include "rt.h"

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct tv_match tv_match_t;

/* Makes the registry and registers match_create, match_join, match_leave and match_data_send
 * with rt, plus a close listener that takes a closed session out of its matches. Call before
 * the first socket arrives. *out is owned by the caller: tv_match_free after tv_rt_stop.
 * TV_OK, TV_ENOMEM, or rt's registration error. */
int tv_match_new(tv_rt_t *rt, tv_match_t **out);
void tv_match_free(tv_match_t *m);

/* Relayed matches open right now. */
int tv_match_count(tv_match_t *m);

/* ---- listing ------------------------------------------------------------------------- */

/* GET /v2/match's query, checked: what was not given is -1 / NULL. */
typedef struct tv_match_filter {
    int limit;           /* 1-100, default 10 */
    int authoritative;   /* -1 not given, 0 false, 1 true */
    const char *label;   /* exact label; NULL when not given */
    const char *query;   /* a query over the label JSON; NULL when not given */
    int min_size;        /* -1 when not given */
    int max_size;        /* -1 when not given */
} tv_match_filter_t;

/* Appends up to limit - (matches already in out) relayed matches that pass f to out, a JSON
 * array, as API Match objects {match_id, size}. Relayed matches pass only when f has no label,
 * no query and authoritative is not true. Returns how many were added, or TV_ENOMEM. */
int tv_match_list_relayed(tv_match_t *m, const tv_match_filter_t *f, cJSON *out);

/* Appends the authoritative matches that pass f, through the hook's list (0 when there is no
 * hook, or when f asks for relayed matches only). Returns how many were added or a TV_E*. */
int tv_match_list_authoritative(tv_match_t *m, const tv_match_filter_t *f, cJSON *out);

/* The GET /v2/match handler (session auth), for the route table: authoritative matches first
 * (through the hook, when one is set), then relayed ones. Answers 400 for a bad query. */
void tv_match_list_http(tv_http_req_t *req, tv_match_t *m);

/* ---- the console ----------------------------------------------------------------------- */

/* Appends relayed matches as the console shows them, {match_id, size, presences: [{user_id,
 * session_id, username}], create_time}, until out holds limit items. Returns how many were
 * added, or TV_ENOMEM. Holds one stripe at a time, briefly. */
int tv_match_console_relayed(tv_match_t *m, int limit, cJSON *out);
/* The relayed match uuid (lower-case, without the "."): TV_OK with *out (owned by the
 * caller), TV_ENOTFOUND, TV_ENOMEM. */
int tv_match_console_relayed_get(tv_match_t *m, const char *uuid, cJSON **out);
/* Ends the relayed match uuid: every member gets one match_presence_event whose leaves are all
 * the members (itself included), and the match is gone. TV_OK or TV_ENOTFOUND. */
int tv_match_console_relayed_stop(tv_match_t *m, const char *uuid);

/* ---- plug-ins: authoritative matches and match tokens --------------------------------- */

/* What the authoritative match room provides; every member may be NULL. Set once, before the
 * first socket arrives (read without locks afterwards). The handlers run on the session's
 * service thread and must not block. */
typedef struct tv_match_authoritative {
    size_t size; /* sizeof(tv_match_authoritative_t) as the caller knows it */
    void *ud;
    /* match_join on "<uuid>.<node>": answers the request itself (`match`, or error 4 / 5
     * through tv_rt_reply_error). Returns as a tv_rt_handler_fn does. */
    int (*join)(void *ud, const tv_rt_msg_t *msg, const char *match_id, const cJSON *metadata);
    /* match_leave: drops the presence if it is there; the registry answers {cid} itself. */
    void (*leave)(void *ud, const tv_rt_identity_t *who, const char *match_id);
    /* match_data_send from who: data decoded (borrowed for the call), targets = session ids
     * the sender listed (n == 0: everyone). Dropping data from non-members is the hook's job. */
    void (*data)(void *ud, const tv_rt_identity_t *who, const char *match_id, int64_t op_code,
                 const unsigned char *data, size_t len, const char *const *targets, size_t n,
                 int reliable);
    /* GET /v2/match: appends matches passing f to out (a JSON array of API Match objects), at
     * most f->limit in all. Returns how many were added or a TV_E* error. */
    int (*list)(void *ud, const tv_match_filter_t *f, cJSON *out);
} tv_match_authoritative_t;

/* Installs the hooks (copied, up to a->size). TV_OK or TV_EINVAL for a bad size. */
int tv_match_set_authoritative(tv_match_t *m, const tv_match_authoritative_t *a);

/* Checks a match token (match_join{token}, from the matchmaker) and writes the match id it
 * names ("<uuid>." or "<uuid>.<node>") into match_id. Returns TV_OK or a TV_E* error. */
typedef int (*tv_match_token_fn)(void *ud, const char *token, char *match_id, size_t size);

/* Installs the token check; same timing rule as tv_match_set_authoritative. Without it every
 * token is refused with error 3 "Invalid match token". A relayed match joined by token is made
 * when it does not exist yet (Nakama's rule for matchmade matches). */
void tv_match_set_token_check(tv_match_t *m, tv_match_token_fn fn, void *ud);

/* UUIDv5 (RFC 4122, SHA-1) of name in the DNS namespace, as lower-case text: the id of a
 * relayed match created with a name. TV_OK or TV_ENOMEM. */
int tv_match_uuid_v5_dns(const char *name, char out[37]);

#endif
