/* The tick scheduler: runs each task's tick at its own fixed rate (1-120 Hz) on a pool of
 * threads, never two ticks of one task at once, and keeps tick-duration and overrun figures.
 * Authoritative matches are its tasks; it knows nothing about matches. */
#ifndef TV_MATCH_SCHEDULER_H
#define TV_MATCH_SCHEDULER_H

#include <stdint.h>

#define TV_SCHED_MIN_HZ 1
#define TV_SCHED_MAX_HZ 120

typedef struct tv_sched tv_sched_t;
typedef struct tv_sched_task tv_sched_task_t;

/* What a tick returns: keep ticking, or stop (the task is then finished: its done callback
 * runs once, on the thread that ran the last tick, and the handle must not be used again). */
enum { TV_SCHED_CONTINUE = 0, TV_SCHED_STOP = 1 };

typedef int (*tv_sched_tick_fn)(void *ud, int64_t tick);
typedef void (*tv_sched_done_fn)(void *ud);

typedef struct tv_sched_stats {
    int64_t tasks;         /* tasks scheduled now */
    int64_t ticks;         /* ticks run since start */
    int64_t overruns;      /* ticks that ran past their budget (1/hz) */
    int64_t late;          /* ticks started more than a whole period late (skipped ahead) */
    int64_t p50_us, p99_us, max_us; /* tick duration, from a log-scale histogram */
} tv_sched_stats_t;

/* Starts threads that run ticks. NULL on failure. */
tv_sched_t *tv_sched_new(int threads);
/* Stops every task (each done callback runs), joins the threads, frees s. */
void tv_sched_free(tv_sched_t *s);

/* Adds a task ticking hz times a second, first tick one period from now. fn and done run on
 * scheduler threads; ud is borrowed until done. Returns NULL for a bad rate or no memory. */
tv_sched_task_t *tv_sched_add(tv_sched_t *s, int hz, tv_sched_tick_fn fn, tv_sched_done_fn done,
                              void *ud);
/* Changes the rate from the next tick on. TV_EINVAL outside 1-120. Safe from a tick. */
int tv_sched_set_rate(tv_sched_t *s, tv_sched_task_t *t, int hz);
/* Asks a task to stop: no tick starts after this returns (one already running finishes),
 * then done runs. Safe from any thread, including from the task's own tick. */
void tv_sched_stop(tv_sched_t *s, tv_sched_task_t *t);

void tv_sched_stats(tv_sched_t *s, tv_sched_stats_t *out);

#endif
