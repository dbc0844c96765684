/* The matchmaker: tickets (matchmaker_add / matchmaker_remove on /ws), the pure pass that
 * groups them (mutual queries, rating windows that widen with each interval waited, expiry),
 * and the service that runs the pass on its own thread and pushes matchmaker_matched. */
#ifndef TV_MATCHMAKER_MATCHMAKER_H
#define TV_MATCHMAKER_MATCHMAKER_H

#include "query.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Every limit of a ticket, checked when it is added. */
#define TV_MM_QUERY_MAX 1024     /* bytes of query text */
#define TV_MM_PROPS_MAX 32       /* string + numeric properties */
#define TV_MM_PROP_KEY_MAX 64    /* bytes of a property name */
#define TV_MM_PROP_VALUE_MAX 256 /* bytes of a string property */
#define TV_MM_COUNT_MAX 256      /* largest max_count */
#define TV_MM_SCAN_MAX 512       /* candidates one ticket examines per pass (bounds a pass) */
#define TV_MM_HISTORY_MAX 256    /* matched groups and expired tickets the console keeps */
#define TV_MM_PARTY_ID_MAX 64    /* bytes of a party id, NUL included ("<uuid>.<node>") */

typedef struct tv_mm_params {
    int max_intervals;           /* passes a ticket may wait unmatched before it expires (>= 1) */
    double rating_step;          /* rating window half-width per interval waited (> 0) */
    const char *rating_property; /* borrowed: the numeric property holding the rating */
    int max_per_session;         /* tickets a session may hold; 0 = no limit */
} tv_mm_params_t;

/* One player a ticket brings. */
typedef struct tv_mm_member {
    char session_id[37], user_id[37], username[129];
} tv_mm_member_t;

/* A ticket brings one player (a session's own matchmaker_add) or a whole party
 * (party_matchmaker_add): count players, all of them in the group it joins. */
typedef struct tv_mm_ticket {
    char id[37];
    char session_id[37], user_id[37], username[129]; /* the owner: the party's leader */
    char party_id[TV_MM_PARTY_ID_MAX]; /* "" for a session's own ticket */
    tv_mm_member_t *members;   /* owned: a party ticket's players (NULL for a solo ticket,
                                  whose one player is the owner) */
    int count;                 /* players: 1, or the party's size */
    int min_count, max_count, count_multiple;
    tv_query_t query;          /* owned */
    char *query_text;          /* owned: the query as sent ("*" for an empty one) */
    int64_t create_ms;         /* unix milliseconds when the ticket was built */
    cJSON *strings, *numerics; /* owned: the properties as sent (objects) */
    cJSON *props;              /* owned: both merged, what the other side's query reads */
    int rated;                 /* has the rating property */
    double rating;
    int intervals;             /* passes waited so far */
    uint64_t seq;              /* order of arrival (set by the pool) */
    size_t pos;                /* scratch of a pass: index in its sorted array */
    int taken;                 /* scratch of a pass: grouped or expired */
} tv_mm_ticket_t;

/* Builds a ticket from a matchmaker_add body for the given session. On success *out is owned
 * by the caller (tv_mm_ticket_free) and has a fresh id. TV_EINVAL with *why set to a static
 * message fit for the client, or TV_ENOMEM. */
int tv_mm_ticket_from_json(const cJSON *body, const char *session_id, const char *user_id,
                           const char *username, const char *rating_property,
                           tv_mm_ticket_t **out, const char **why);
void tv_mm_ticket_free(tv_mm_ticket_t *t);
/* Makes t a party ticket bringing the n members (copied; n >= 1, the first the leader, who
 * also becomes the owner). TV_OK, TV_EINVAL (n out of 1..max_count, an id too long),
 * TV_ENOMEM. */
int tv_mm_ticket_set_party(tv_mm_ticket_t *t, const char *party_id,
                           const tv_mm_member_t *members, size_t n);
/* Player i (0 <= i < t->count) of t: the owner for a solo ticket. Borrowed from t. */
const tv_mm_member_t *tv_mm_ticket_member(const tv_mm_ticket_t *t, int i,
                                          tv_mm_member_t *scratch);
/* The ticket as listings show it: {ticket, session_id, user_id, username, create_time
 * (RFC 3339), intervals, min_count, max_count, count_multiple, query, string_properties,
 * numeric_properties}. Owned by the caller; NULL on no memory. */
cJSON *tv_mm_ticket_json(const tv_mm_ticket_t *t);

/* The waiting tickets. Not thread-safe: one thread (the matcher) owns a pool. */
typedef struct tv_mm_pool {
    tv_mm_ticket_t **t; /* owned, in order of arrival */
    size_t n, cap;
    tv_mm_params_t p;
    uint64_t seq;
} tv_mm_pool_t;

typedef struct tv_mm_group {
    tv_mm_ticket_t **t; /* owned tickets, the first one the ticket that found the others */
    size_t n;           /* tickets; the players are the sum of their counts */
} tv_mm_group_t;

/* What one pass took out of the pool: matched groups and expired tickets, all owned by the
 * result (tv_mm_result_free). */
typedef struct tv_mm_result {
    tv_mm_group_t *groups;
    size_t ngroups;
    tv_mm_ticket_t **expired;
    size_t nexpired;
} tv_mm_result_t;

void tv_mm_pool_init(tv_mm_pool_t *pool, const tv_mm_params_t *p);
/* Frees every ticket left. */
void tv_mm_pool_clear(tv_mm_pool_t *pool);
/* Adds t (taken on TV_OK). TV_EBUSY when its session (for a party ticket: its party) holds
 * max_per_session tickets already, TV_ENOMEM. */
int tv_mm_pool_add(tv_mm_pool_t *pool, tv_mm_ticket_t *t);
/* Removes and frees the session's own ticket (any ticket, a party's too, when session_id is
 * NULL). TV_OK or TV_ENOTFOUND (no such ticket, another session's, or a party's). */
int tv_mm_pool_remove(tv_mm_pool_t *pool, const char *session_id, const char *ticket_id);
/* Removes and frees every ticket of a session: its own and every party ticket bringing it;
 * returns how many. */
size_t tv_mm_pool_remove_session(tv_mm_pool_t *pool, const char *session_id);
/* Removes and frees the party's ticket ticket_id, or all its tickets when ticket_id is NULL.
 * Returns how many went (0: none, e.g. an unknown or another party's ticket). */
size_t tv_mm_pool_remove_party(tv_mm_pool_t *pool, const char *party_id, const char *ticket_id);
/* Tickets a session holds of its own (party tickets are counted per party). */
size_t tv_mm_pool_session_count(const tv_mm_pool_t *pool, const char *session_id);
/* The waiting tickets of user_id and of session_id (NULL or "" = any), oldest first, at most
 * limit of them (0 = all), each as tv_mm_ticket_json. *total (may be NULL) counts every
 * ticket that fits the filter. Owned by the caller; NULL on no memory. */
cJSON *tv_mm_pool_list(const tv_mm_pool_t *pool, const char *user_id, const char *session_id,
                       size_t limit, size_t *total);

/* One pass: every waiting ticket, oldest first, takes the closest-rated tickets that it and
 * they accept (queries both ways, same min/max/count_multiple, no session in both, ratings
 * within both tickets' windows of rating_step * (intervals + 1)) while their players fit in
 * max_count; a group of at least two tickets forms when its players, cut to a multiple of
 * count_multiple, reach min_count. The cut drops the farthest tickets first; with party
 * tickets (count > 1) it keeps the largest player total that is a multiple, dropping the
 * farthest tickets that make it so (a small subset sum over at most max_count tickets).
 * Tickets left unmatched wait one more interval; those that have waited max_intervals
 * expire. *out is filled (free with tv_mm_result_free, also after an error). TV_OK or
 * TV_ENOMEM (the pool is then whole). */
int tv_mm_pool_pass(tv_mm_pool_t *pool, tv_mm_result_t *out);
void tv_mm_result_free(tv_mm_result_t *r);

/* ---- the history: the last matched groups and expired tickets, for the console ----------- */

/* A ring of JSON entries, oldest overwritten when full. Thread-safe (its own mutex). */
typedef struct tv_mm_history {
    cJSON **e;       /* owned, cap slots */
    size_t cap, first, n;
    uint64_t pushed; /* entries ever pushed */
    pthread_mutex_t mu;
} tv_mm_history_t;

/* TV_OK, TV_EINVAL for cap 0, TV_ENOMEM. */
int tv_mm_history_init(tv_mm_history_t *h, size_t cap);
void tv_mm_history_free(tv_mm_history_t *h);
/* Appends entry (taken; NULL is ignored), dropping the oldest when the ring is full. */
void tv_mm_history_push(tv_mm_history_t *h, cJSON *entry);
/* Copies of the newest limit entries (0 = all), newest first, as a JSON array owned by the
 * caller; NULL on no memory. */
cJSON *tv_mm_history_list(tv_mm_history_t *h, size_t limit);
uint64_t tv_mm_history_pushed(tv_mm_history_t *h);

/* ---- the service: /ws messages, the matcher thread, the pushes ----------------------------- */

struct tv_rt;
typedef struct tv_rt_later tv_rt_later_t;
typedef struct tv_mm tv_mm_t;

/* A module's matchmaker_matched hook: entries is the JSON array of the group's users (as in
 * the push). Returns TV_OK with *match_id set (malloc'ed, owned by the caller) to send the
 * group that authoritative match, or with *match_id NULL to send a relayed-match token; an
 * error also falls back to the token. Runs on the matcher thread. */
typedef int (*tv_mm_matched_fn)(void *ud, const char *entries, char **match_id);

typedef struct tv_mm_opts {
    int interval_ms;             /* between passes (>= 10) */
    tv_mm_params_t params;       /* rating_property borrowed for the service's life */
    const char *token_key;       /* borrowed: the session key, signs match tokens */
    tv_mm_matched_fn matched;    /* may be NULL */
    void *matched_ud;
} tv_mm_opts_t;

typedef struct tv_mm_stats {
    int64_t tickets;            /* waiting now */
    int64_t added, removed;     /* since start */
    int64_t groups, matched;    /* groups formed, tickets in them */
    int64_t expired;            /* tickets that ran out of intervals */
    int64_t passes, last_pass_us;
} tv_mm_stats_t;

/* Registers matchmaker_add / matchmaker_remove and a close listener on rt (so: before the
 * first socket) and starts the matcher thread. *out is owned by the caller. TV_OK, TV_EINVAL
 * for bad options, TV_ENOMEM, or tv_rt_register's errors. */
int tv_mm_new(struct tv_rt *rt, const tv_mm_opts_t *o, tv_mm_t **out);
/* Stops the matcher thread (no push after it returns): call before tv_rt_stop. Idempotent. */
void tv_mm_stop(tv_mm_t *mm);
/* Frees mm: after tv_rt_stop, whose close listeners may still queue work until then. */
void tv_mm_free(tv_mm_t *mm);
/* The figures of the console route. mm may be NULL (all zero). */
void tv_mm_stats(tv_mm_t *mm, tv_mm_stats_t *out);

/* ---- party tickets (server/party): queued like a socket's, never waiting -------------------- */

/* Queues a party ticket (t, made a party ticket by tv_mm_ticket_set_party; taken in every
 * case) for the matcher, which answers later (taken) with party_matchmaker_ticket {party_id,
 * ticket} and pushes the same to the party's other members, or with error 3 when the party
 * holds its tickets already. Tickets of a party queued before a tv_mm_party_drop of it go
 * with the drop. TV_OK, or TV_EUNAVAIL (stopping or full: later was answered). */
int tv_mm_party_add(tv_mm_t *mm, tv_mm_ticket_t *t, tv_rt_later_t *later);
/* Queues the removal of the party's ticket; later (taken) gets {cid}, or error 3 when the
 * party holds no such ticket. TV_OK or TV_EUNAVAIL (later answered). */
int tv_mm_party_remove(tv_mm_t *mm, const char *party_id, const char *ticket_id,
                       tv_rt_later_t *later);
/* Queues the removal of every ticket of the party (its members changed or it closed). Never
 * refused for a full queue. mm may be NULL. */
void tv_mm_party_drop(tv_mm_t *mm, const char *party_id);

/* ---- module calls and console listings: from workers, RPCs, hooks, the console; never from
 * a socket thread (add and remove wait for the matcher thread to apply them, at most one pass
 * and its module hook calls). mm may be NULL: TV_EUNAVAIL. -------------------------------- */

/* Adds a ticket for the open session session_id from a matchmaker_add body, checked as over
 * the socket (the same limits and the same per-session ticket count); the session's socket
 * gets matchmaker_matched as for its own tickets, and the ticket goes when it closes. On
 * TV_OK ticket_id holds the new id. Errors, with *why a static reason: TV_EINVAL bad input;
 * TV_ENOTFOUND no such open session; TV_EBUSY the session holds its tickets already;
 * TV_EUNAVAIL the matchmaker's queue is full or it is stopping; TV_ENOMEM. */
int tv_mm_add(tv_mm_t *mm, const char *session_id, const cJSON *body, char ticket_id[37],
              const char **why);
/* Removes a waiting ticket of any session. TV_OK, TV_EINVAL (not an id), TV_ENOTFOUND,
 * TV_EUNAVAIL. */
int tv_mm_remove_ticket(tv_mm_t *mm, const char *ticket_id);
/* The waiting tickets as tv_mm_pool_list gives them (filters NULL or "" = any; limit 0 =
 * all), read under the pool's read lock (a pass in progress finishes first). *out is owned
 * by the caller. TV_OK, TV_EUNAVAIL, TV_ENOMEM. */
int tv_mm_list(tv_mm_t *mm, const char *user_id, const char *session_id, size_t limit,
               cJSON **out, size_t *total);
/* The newest limit (0 = all) history entries, newest first: {time, kind: "matched" |
 * "expired", tickets: [id], users: [{ticket, user_id, session_id, username,
 * string_properties, numeric_properties}], and for a group match_id (the relayed match the
 * token names, or the module's) and authoritative}. *total (may be NULL) counts the entries
 * ever recorded. *out is owned by the caller. TV_OK, TV_EUNAVAIL, TV_ENOMEM. */
int tv_mm_history(tv_mm_t *mm, size_t limit, cJSON **out, uint64_t *total);

/* ---- the module host table's matchmaker entries (module.h, ABI 1.7) ----------------------- */

/* What server/modules/host.c forwards to; each returns a gRPC code (TV_GRPC_*). add's *why
 * is a static reason for the log, or NULL. */
typedef struct tv_mm_host_ops {
    int (*add)(const char *session_id, const char *ticket_json, char **ticket_id,
               const char **why);
    int (*remove)(const char *ticket_id);
    int (*list)(const char *user_id, const char *session_id, int limit, char **tickets_json);
} tv_mm_host_ops_t;

/* Points the host table's matchmaker entries at mm (borrowed until tv_mm_host_uninstall, which
 * must come before tv_mm_free, after the last module call that may reach it). */
void tv_mm_host_install(tv_mm_t *mm);
void tv_mm_host_uninstall(void);
/* Defined in server/modules/host.c: ops (static) or NULL (the entries answer UNAVAILABLE). */
void tv_mod_host_set_mm_ops(const tv_mm_host_ops_t *ops);

#endif
