/* What the leaderboard room's files share: a board (definition and rank cache), the registry,
 * reset windows and record JSON. Not for other rooms: they use leaderboard.h. */
#ifndef TV_LEADERBOARD_INTERNAL_H
#define TV_LEADERBOARD_INTERNAL_H

#include "cron.h"
#include "leaderboard.h"
#include "rank.h"

#include <pthread.h>
#include <stdatomic.h>

struct tv_db_conn;
struct tv_db_stmt;

typedef struct tv_lb_board {
    atomic_int refs;              /* the registry's and each caller's (acquire/release) */
    char id[TV_LB_ID_MAX + 1];
    int authoritative, desc, op;
    char *reset;                  /* "" = never */
    tv_lb_cron_t cron;
    int has_reset;
    char *metadata;
    int64_t create_time;
    int tournament, category, join_required;
    char *title, *description;
    int64_t start_time, end_time, duration, max_size, max_num_score;
    /* the rank cache: rank holds the records whose expiry_time is period */
    pthread_rwlock_t lock;
    tv_lb_rank_t *rank;
    int64_t period;
    int64_t last_ended;           /* the period the cache last moved out of (0 = none) */
    int64_t fired;                /* the last period whose end the reset hook was told */
    pthread_mutex_t join_mu;      /* serialises new entries into a tournament with max_size */
} lb_board_t;

struct tv_lb {
    struct tv_db *db;
    pthread_mutex_t mu;           /* guards boards, n, cap and the reset thread's state */
    pthread_cond_t cv;            /* wakes the reset thread (board added, stop) */
    pthread_mutex_t create_mu;
    lb_board_t **boards;
    size_t n, cap;
    pthread_t reset_thread;
    int reset_running, stopping;
    tv_lb_reset_fn reset_fn;
    void *reset_ud;
};

/* A board's times around now: the active window (tournaments), the period's expiry (0 = no
 * end) and the resets either side (0 = none). */
typedef struct {
    int64_t start_active, end_active, expiry, prev_reset, next_reset;
} lb_window_t;

lb_board_t *tv_lb_board_acquire(tv_lb_t *lb, const char *id);
void tv_lb_board_release(lb_board_t *b);
lb_board_t **tv_lb_snapshot(tv_lb_t *lb, size_t *n);
void tv_lb_snapshot_free(lb_board_t **all, size_t n);
void tv_lb_window(const lb_board_t *b, int64_t now, lb_window_t *w);
int64_t tv_lb_window_expiry(const lb_board_t *b, int64_t now);
int64_t tv_lb_sync_period(lb_board_t *b, int64_t now);
/* owner's rank (0 = none) in period expiry, and the cache's size then. */
int64_t tv_lb_cached_rank(lb_board_t *b, int64_t expiry, const char *owner, int64_t *count);
/* The cache hooks on a board already held. */
int tv_lb_cache_apply_board(lb_board_t *b, int64_t expiry, const char *owner, int64_t score,
                            int64_t subscore);
void tv_lb_cache_remove_board(lb_board_t *b, int64_t expiry, const char *owner);
int tv_lb_metadata_ok(const char *s);
void tv_lb_stop_resets(tv_lb_t *lb);

#endif
