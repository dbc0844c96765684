/* The tick scheduler: a min-heap of next-tick deadlines shared by a pool of threads. A task is
 * in the heap only while no tick of it runs, which makes its ticks serial without a lock of
 * its own. Deadlines advance by whole periods (fixed rate); a task that falls more than a
 * period behind skips ahead instead of bursting to catch up. */
#include "scheduler.h"
#include "error.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HIST_BUCKETS 96 /* log2 of microseconds, 4 steps per power of two */

struct tv_sched_task {
    tv_sched_tick_fn fn;
    tv_sched_done_fn done;
    void *ud;
    int64_t period_ns, deadline_ns, tick;
    int64_t overruns;
    size_t heap_idx;
    int in_heap, running, stop_requested;
};

struct tv_sched {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tv_sched_task_t **heap;
    size_t n, cap;
    int stopping;
    int nthreads;
    pthread_t *threads;
    int64_t tasks, ticks, overruns, late, max_us;
    int64_t hist[HIST_BUCKETS];
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- the heap, ordered by deadline --- */

static void heap_set(tv_sched_t *s, size_t i, tv_sched_task_t *t)
{
    s->heap[i] = t;
    t->heap_idx = i;
}

static void sift_up(tv_sched_t *s, size_t i)
{
    tv_sched_task_t *t = s->heap[i];
    while (i > 0 && s->heap[(i - 1) / 2]->deadline_ns > t->deadline_ns) {
        heap_set(s, i, s->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(s, i, t);
}

static void sift_down(tv_sched_t *s, size_t i)
{
    tv_sched_task_t *t = s->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->n)
            break;
        if (c + 1 < s->n && s->heap[c + 1]->deadline_ns < s->heap[c]->deadline_ns)
            c++;
        if (s->heap[c]->deadline_ns >= t->deadline_ns)
            break;
        heap_set(s, i, s->heap[c]);
        i = c;
    }
    heap_set(s, i, t);
}

static int heap_push(tv_sched_t *s, tv_sched_task_t *t)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        tv_sched_task_t **h = realloc(s->heap, cap * sizeof *h);
        if (!h)
            return TV_ENOMEM;
        s->heap = h;
        s->cap = cap;
    }
    s->n++;
    heap_set(s, s->n - 1, t);
    sift_up(s, s->n - 1);
    t->in_heap = 1;
    return TV_OK;
}

static void heap_remove(tv_sched_t *s, tv_sched_task_t *t)
{
    size_t i = t->heap_idx;
    t->in_heap = 0;
    s->n--;
    if (i == s->n)
        return;
    heap_set(s, i, s->heap[s->n]);
    sift_down(s, i);
    sift_up(s, s->heap[i]->heap_idx);
}

/* --- statistics --- */

static int bucket_of(int64_t us)
{
    if (us < 1)
        return 0;
    int log2 = 63 - __builtin_clzll((unsigned long long)us);
    int frac = log2 >= 2 ? (int)((us >> (log2 - 2)) & 3) : 0;
    int b = log2 * 4 + frac;
    return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

/* The upper bound in microseconds of a bucket. */
static int64_t bucket_top(int b)
{
    int log2 = b / 4, frac = b % 4;
    if (log2 < 2)
        return (int64_t)1 << (log2 + 1);
    return ((int64_t)(4 + frac + 1)) << (log2 - 2);
}

static void record(tv_sched_t *s, tv_sched_task_t *t, int64_t dur_ns)
{
    int64_t us = dur_ns / 1000;
    s->ticks++;
    s->hist[bucket_of(us)]++;
    if (us > s->max_us)
        s->max_us = us;
    if (dur_ns <= t->period_ns)
        return;
    s->overruns++;
    t->overruns++;
    /* 1st, 2nd, 4th, 8th...: no log flood. Debug only: the task's owner knows what it is
     * and says so (authoritative.c logs an overrun with its match and handler). */
    if ((t->overruns & (t->overruns - 1)) == 0)
        tv_log_debug("match", "tick %lld took %lld us, over its %lld us budget (%lld overruns)",
                    (long long)t->tick, (long long)us, (long long)(t->period_ns / 1000),
                    (long long)t->overruns);
}

/* --- running ticks --- */

static void finish(tv_sched_t *s, tv_sched_task_t *t)
{
    s->tasks--;
    pthread_mutex_unlock(&s->mu);
    if (t->done)
        t->done(t->ud);
    free(t);
    pthread_mutex_lock(&s->mu);
}

static void reschedule(tv_sched_t *s, tv_sched_task_t *t, int64_t now)
{
    t->deadline_ns += t->period_ns;
    if (t->deadline_ns <= now) {
        s->late++;
        t->deadline_ns = now + t->period_ns;
    }
    if (heap_push(s, t) != TV_OK) {
        tv_log_error("match", "out of memory: a task stops");
        finish(s, t);
        return;
    }
    pthread_cond_signal(&s->cv);
}

static void run_one(tv_sched_t *s, tv_sched_task_t *t)
{
    heap_remove(s, t);
    t->running = 1;
    pthread_mutex_unlock(&s->mu);
    int64_t start = now_ns();
    int rc = t->fn(t->ud, t->tick);
    int64_t end = now_ns();
    pthread_mutex_lock(&s->mu);
    t->running = 0;
    record(s, t, end - start);
    t->tick++;
    if (rc == TV_SCHED_STOP || t->stop_requested || s->stopping)
        finish(s, t);
    else
        reschedule(s, t, end);
}

static void wait_until(tv_sched_t *s, int64_t deadline_ns)
{
    struct timespec ts = {deadline_ns / 1000000000, deadline_ns % 1000000000};
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

static void *worker(void *p)
{
    tv_sched_t *s = p;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        if (s->n == 0) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        tv_sched_task_t *t = s->heap[0];
        if (t->deadline_ns > now_ns()) {
            wait_until(s, t->deadline_ns);
            continue;
        }
        run_one(s, t);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

tv_sched_t *tv_sched_new(int threads)
{
    tv_sched_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    tv_cond_init_monotonic(&s->cv);
    pthread_mutex_init(&s->mu, NULL);
    s->threads = calloc((size_t)(threads > 0 ? threads : 1), sizeof *s->threads);
    if (!s->threads)
        goto fail;
    for (; s->nthreads < (threads > 0 ? threads : 1); s->nthreads++)
        if (pthread_create(&s->threads[s->nthreads], NULL, worker, s) != 0)
            goto fail;
    return s;
fail:
    tv_sched_free(s);
    return NULL;
}

void tv_sched_free(tv_sched_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i], NULL);
    pthread_mutex_lock(&s->mu);
    while (s->n) {
        tv_sched_task_t *t = s->heap[0];
        heap_remove(s, t);
        finish(s, t);
    }
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->heap);
    free(s->threads);
    free(s);
}

static int64_t period_of(int hz)
{
    return 1000000000LL / hz;
}

tv_sched_task_t *tv_sched_add(tv_sched_t *s, int hz, tv_sched_tick_fn fn, tv_sched_done_fn done,
                              void *ud)
{
    if (hz < TV_SCHED_MIN_HZ || hz > TV_SCHED_MAX_HZ || !fn)
        return NULL;
    tv_sched_task_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->fn = fn;
    t->done = done;
    t->ud = ud;
    t->period_ns = period_of(hz);
    pthread_mutex_lock(&s->mu);
    t->deadline_ns = now_ns() + t->period_ns;
    int rc = s->stopping ? TV_EUNAVAIL : heap_push(s, t);
    if (rc == TV_OK) {
        s->tasks++;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        free(t);
        return NULL;
    }
    return t;
}

int tv_sched_set_rate(tv_sched_t *s, tv_sched_task_t *t, int hz)
{
    if (hz < TV_SCHED_MIN_HZ || hz > TV_SCHED_MAX_HZ)
        return TV_EINVAL;
    pthread_mutex_lock(&s->mu);
    t->period_ns = period_of(hz);
    pthread_mutex_unlock(&s->mu);
    return TV_OK;
}

void tv_sched_stop(tv_sched_t *s, tv_sched_task_t *t)
{
    pthread_mutex_lock(&s->mu);
    if (t->running) {
        t->stop_requested = 1; /* its thread finishes it when the tick returns */
    } else if (t->in_heap) {
        heap_remove(s, t);
        finish(s, t);
    }
    pthread_mutex_unlock(&s->mu);
}

static int64_t percentile(const tv_sched_t *s, double q)
{
    int64_t want = (int64_t)((double)s->ticks * q + 0.5), seen = 0;
    for (int b = 0; b < HIST_BUCKETS; b++) {
        seen += s->hist[b];
        if (seen >= want && seen > 0)
            return bucket_top(b);
    }
    return 0;
}

void tv_sched_stats(tv_sched_t *s, tv_sched_stats_t *out)
{
    pthread_mutex_lock(&s->mu);
    out->tasks = s->tasks;
    out->ticks = s->ticks;
    out->overruns = s->overruns;
    out->late = s->late;
    out->p50_us = percentile(s, 0.50);
    out->p99_us = percentile(s, 0.99);
    out->max_us = s->max_us;
    pthread_mutex_unlock(&s->mu);
}
