/* Leaderboards and tournaments: the registry of boards (loaded from the database at start-up),
 * each with an in-memory rank cache of its current reset period, and the record operations the
 * REST API and modules share. Thread-safe: every function may be called from any worker.
 *
 * The rank cache is kept in step by exactly two functions, tv_lb_cache_apply and
 * tv_lb_cache_remove, called after each committed change with (board, period, owner, score,
 * subscore). When nodes share one PostgreSQL, the same two calls are what a LISTEN/NOTIFY
 * listener would make for changes written by other nodes. */
#ifndef TV_LEADERBOARD_LEADERBOARD_H
#define TV_LEADERBOARD_LEADERBOARD_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct tv_db;

#define TV_LB_ID_MAX 128
#define TV_LB_METADATA_MAX 16384
#define TV_LB_LIST_MAX 1000   /* records per list page (Nakama's bound) */
#define TV_LB_AROUND_MAX 100
#define TV_LB_OWNERS_MAX 100  /* owner_ids per list */
#define TV_LB_TEXT_MAX 255    /* title, description */

/* The request enum; boards store 1-4 (0 = use the board's). */
enum { TV_LB_OP_NONE, TV_LB_OP_BEST, TV_LB_OP_SET, TV_LB_OP_INCR, TV_LB_OP_DECR };

/* What creates a board. Strings borrowed; NULL reads as "" (metadata as "{}"). */
typedef struct tv_lb_def {
    const char *id;
    int authoritative;
    int descending;          /* 1: higher is better (Nakama's default) */
    int op;                  /* TV_LB_OP_BEST..DECR */
    const char *reset;       /* 5-field cron, "" = never */
    const char *metadata;    /* a JSON object text */
    /* tournaments only */
    int tournament;
    int category;            /* 0-127 */
    const char *title, *description;
    int64_t start_time;      /* unix s; 0 = from now */
    int64_t end_time;        /* unix s; 0 = never */
    int64_t duration;        /* seconds active after start / each reset; > 0 */
    int64_t max_size;        /* 0 = no limit */
    int64_t max_num_score;   /* attempts per period; 0 = no limit */
    int join_required;
} tv_lb_def_t;

typedef struct tv_lb tv_lb_t;
typedef struct tv_lb_board tv_lb_board_t;

/* An error with the message for the client (Nakama's wording where it has one). */
typedef struct tv_lb_err {
    int code;                /* TV_E* */
    char msg[160];
} tv_lb_err_t;

/* Loads every board and the rank cache of its current period (on the caller's thread: call it
 * before the HTTP daemons start). *out is owned by the caller (tv_lb_free). TV_E* on a
 * database failure. */
int tv_lb_new(struct tv_db *db, tv_lb_t **out);
/* Stops the reset thread and frees everything; no call may be running. NULL is fine. */
void tv_lb_free(tv_lb_t *lb);

/* Called (on the reset thread) when a board's period ends: id, the reset time and whether it
 * is a tournament. May be slow; must not call tv_lb_free. */
typedef void (*tv_lb_reset_fn)(void *ud, const char *id, int tournament, int64_t reset_time);
/* Starts the thread that clears caches at each reset and calls fn. TV_E* when it cannot. */
int tv_lb_start_resets(tv_lb_t *lb, tv_lb_reset_fn fn, void *ud);

/* Creates a board. TV_OK; TV_ECONFLICT when id exists (nothing changes); TV_EINVAL with
 * err->msg for a bad definition; a database error. */
int tv_lb_create(tv_lb_t *lb, const tv_lb_def_t *def, tv_lb_err_t *err);
/* Deletes a board and its records: TV_OK, TV_ENOTFOUND, a database error. */
int tv_lb_delete(tv_lb_t *lb, const char *id);
/* {leaderboards:[...]} of every board (the console's list), sorted by id. Owned by caller. */
cJSON *tv_lb_list_boards(tv_lb_t *lb, int64_t now);
/* One board as the console lists it (owned by the caller), or NULL when there is no such
 * board; *tournament (when not NULL) says whether it is a tournament. */
cJSON *tv_lb_board_json(tv_lb_t *lb, const char *id, int64_t now, int *tournament);
/* Records of board id in every period (the console's figure): TV_OK with *count,
 * or a database error. */
int tv_lb_record_total(tv_lb_t *lb, const char *id, int64_t *count);

/* One write. Strings borrowed. */
typedef struct tv_lb_write {
    const char *owner;       /* a UUID */
    const char *username;    /* NULL = keep the stored one */
    int64_t score, subscore;
    const char *metadata;    /* a JSON object text; NULL = keep */
    int op;                  /* TV_LB_OP_NONE = the board's */
} tv_lb_write_t;

/* Flags of the record calls. */
enum {
    TV_LB_CLIENT = 1,        /* a client call: authoritative boards refuse writes/deletes */
    TV_LB_TOURNAMENT = 2,    /* the tournament API: the id must name a tournament */
    TV_LB_MUST_EXIST = 4,    /* delete: no record is TV_ENOTFOUND (the console's 404) */
};

/* Writes a record with the operator applied atomically in the database; *record (owned by the
 * caller) is Nakama's LeaderboardRecord with its rank. TV_ENOTFOUND no board; TV_EPERM
 * authoritative; TV_EINVAL bad input or a tournament that is not open to this write; a
 * database error. err always gets the message. */
int tv_lb_write_record(tv_lb_t *lb, const char *id, const tv_lb_write_t *w, int flags,
                       int64_t now, cJSON **record, tv_lb_err_t *err);
/* Deletes owner's record of the current period (no record is fine). */
int tv_lb_delete_record(tv_lb_t *lb, const char *id, const char *owner, int flags, int64_t now,
                        tv_lb_err_t *err);

/* A list request. */
typedef struct tv_lb_query {
    const char *const *owners; /* owner_ids, nowners of them (UUIDs) */
    size_t nowners;
    int limit;               /* 0 = unset (Nakama's defaults), else 1..TV_LB_LIST_MAX */
    const char *cursor;      /* NULL/"" = from the top */
    int64_t expiry;          /* 0 = the current period */
} tv_lb_query_t;

/* Nakama's LeaderboardRecordList of the top (paged by cursor) and the owners' records. */
int tv_lb_list_records(tv_lb_t *lb, const char *id, const tv_lb_query_t *q, int flags,
                       int64_t now, cJSON **out, tv_lb_err_t *err);
/* The records around owner's (limit 1..TV_LB_AROUND_MAX, 0 = 1). */
int tv_lb_list_around(tv_lb_t *lb, const char *id, const char *owner, int limit, int flags,
                      int64_t now, cJSON **out, tv_lb_err_t *err);
/* owner's rank in the current period: TV_OK with *rank (0 = no record), or TV_ENOTFOUND. */
int tv_lb_rank(tv_lb_t *lb, const char *id, const char *owner, int64_t now, int64_t *rank,
               int64_t *count);

/* Tournaments: {tournaments:[...], cursor} (categories, start/end filters, limit, cursor). */
typedef struct tv_tourn_query {
    int category_start, category_end; /* 0..127 */
    int64_t start_time, end_time;     /* -1 = unset */
    int limit;                        /* 1..100 */
    const char *cursor;
} tv_tourn_query_t;
int tv_tourn_list(tv_lb_t *lb, const tv_tourn_query_t *q, int64_t now, cJSON **out,
                  tv_lb_err_t *err);
/* Joins owner to tournament id (idempotent). TV_ENOTFOUND, TV_EINVAL (not active / full). */
int tv_tourn_join(tv_lb_t *lb, const char *id, const char *owner, const char *username,
                  int64_t now, tv_lb_err_t *err);

/* --- the cache hooks (see the top of this file) ------------------------------------------ */
/* Records owner's (score, subscore) in period expiry of board id; a period that is not the
 * cached one is ignored. Returns TV_OK or TV_ENOMEM (the cache then drops the owner). */
int tv_lb_cache_apply(tv_lb_t *lb, const char *id, int64_t expiry, const char *owner,
                      int64_t score, int64_t subscore);
void tv_lb_cache_remove(tv_lb_t *lb, const char *id, int64_t expiry, const char *owner);
/* Drops owner from the current period of every board's rank cache: its rows went with its
 * account (a trigger on users). lb may be NULL. */
void tv_lb_forget_owner(tv_lb_t *lb, const char *owner);

/* Parses "asc"/"desc"/"0"/"1" and "best"/"set"/"incr"/"increment"/"decr"/"decrement"/"1".."4"
 * (TV_EINVAL otherwise). */
int tv_lb_parse_sort(const char *s, int *descending);
int tv_lb_parse_op(const char *s, int *op);

#endif
