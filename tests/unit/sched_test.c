/* Unit tests of the tick scheduler: rates, serial ticks, stopping from inside and outside,
 * rate changes, overrun counting, many tasks sharing few threads, shutdown. Time bounds are
 * deliberately loose: they check behaviour, not speed. */
#include "check.h"
#include "error.h"
#include "scheduler.h"
#include "util.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    atomic_int ticks, inside, overlap, done;
    int64_t last_tick;
    int ordered;
    int stop_at;     /* return STOP at this tick (-1: never) */
    int sleep_us;    /* work per tick */
} probe_t;

static int tick_fn(void *ud, int64_t tick)
{
    probe_t *p = ud;
    if (atomic_fetch_add(&p->inside, 1) != 0)
        atomic_store(&p->overlap, 1);
    if (tick != p->last_tick + 1)
        p->ordered = 0;
    p->last_tick = tick;
    if (p->sleep_us)
        usleep((useconds_t)p->sleep_us);
    atomic_fetch_add(&p->ticks, 1);
    atomic_fetch_sub(&p->inside, 1);
    return p->stop_at >= 0 && tick >= p->stop_at ? TV_SCHED_STOP : TV_SCHED_CONTINUE;
}

static void done_fn(void *ud)
{
    atomic_fetch_add(&((probe_t *)ud)->done, 1);
}

static void probe_init(probe_t *p)
{
    atomic_init(&p->ticks, 0);
    atomic_init(&p->inside, 0);
    atomic_init(&p->overlap, 0);
    atomic_init(&p->done, 0);
    p->last_tick = -1;
    p->ordered = 1;
    p->stop_at = -1;
    p->sleep_us = 0;
}

static void test_rate_and_order(void)
{
    tv_sched_t *s = tv_sched_new(2);
    probe_t p;
    probe_init(&p);
    CHECK(tv_sched_add(s, 0, tick_fn, done_fn, &p) == NULL);
    CHECK(tv_sched_add(s, 121, tick_fn, done_fn, &p) == NULL);
    int64_t t0 = tv_mono_ms();
    tv_sched_task_t *t = tv_sched_add(s, 100, tick_fn, done_fn, &p);
    CHECK(t != NULL);
    /* waits for ticks rather than sleeping a fixed time: a loaded machine only slows it */
    while (atomic_load(&p.ticks) < 20 && tv_mono_ms() - t0 < 10000)
        usleep(1000);
    int n = atomic_load(&p.ticks);
    int64_t elapsed = tv_mono_ms() - t0;
    CHECK(n >= 20);
    CHECK(n <= elapsed / 10 + 2); /* never faster than 100 Hz */
    CHECK(p.ordered);          /* tick numbers 0, 1, 2 ... */
    CHECK(!atomic_load(&p.overlap));
    tv_sched_stop(s, t);
    CHECK(atomic_load(&p.done) == 1);
    int after = atomic_load(&p.ticks);
    usleep(50000);
    CHECK(atomic_load(&p.ticks) == after); /* no tick after stop returned */
    tv_sched_free(s);
    CHECK(atomic_load(&p.done) == 1);      /* done ran once only */
}

static void test_stop_from_tick(void)
{
    tv_sched_t *s = tv_sched_new(2);
    probe_t p;
    probe_init(&p);
    p.stop_at = 4;
    tv_sched_add(s, 120, tick_fn, done_fn, &p);
    for (int i = 0; i < 2000 && !atomic_load(&p.done); i++)
        usleep(5000);
    CHECK(atomic_load(&p.done) == 1);
    CHECK(atomic_load(&p.ticks) == 5); /* ticks 0..4, then STOP */
    tv_sched_stats_t st;
    tv_sched_stats(s, &st);
    CHECK(st.tasks == 0 && st.ticks == 5);
    tv_sched_free(s);
}

static void test_rate_change_and_overruns(void)
{
    tv_sched_t *s = tv_sched_new(2);
    probe_t p;
    probe_init(&p);
    tv_sched_task_t *t = tv_sched_add(s, 1, tick_fn, done_fn, &p);
    CHECK(tv_sched_set_rate(s, t, 0) == TV_EINVAL);
    CHECK(tv_sched_set_rate(s, t, 100) == TV_OK); /* takes effect after the first tick */
    int64_t t0 = tv_mono_ms();
    while (atomic_load(&p.ticks) < 10 && tv_mono_ms() - t0 < 10000)
        usleep(1000);
    CHECK(atomic_load(&p.ticks) >= 10);
    p.sleep_us = 15000; /* 15 ms of work in a 10 ms budget */
    tv_sched_stats_t st;
    t0 = tv_mono_ms();
    do {
        usleep(10000);
        tv_sched_stats(s, &st);
    } while (st.overruns < 3 && tv_mono_ms() - t0 < 10000);
    CHECK(st.overruns >= 3);
    CHECK(st.max_us >= 15000 && st.p99_us >= 8000);
    CHECK(!atomic_load(&p.overlap)); /* an overrunning task still never runs twice at once */
    tv_sched_free(s);
    CHECK(atomic_load(&p.done) == 1); /* shutdown finishes running tasks */
}

static void test_many_tasks(void)
{
    enum { N = 1000 };
    tv_sched_t *s = tv_sched_new(2);
    probe_t *p = calloc(N, sizeof *p);
    int added = 0;
    for (int i = 0; i < N; i++) {
        probe_init(&p[i]);
        added += tv_sched_add(s, 20, tick_fn, done_fn, &p[i]) != NULL;
    }
    CHECK(added == N);
    int min = 0, overlap = 0, ordered = 1;
    int64_t t0 = tv_mono_ms();
    while (min < 5 && tv_mono_ms() - t0 < 10000) { /* ~20 ticks a second each */
        usleep(10000);
        min = 1 << 30;
        for (int i = 0; i < N; i++) {
            int n = atomic_load(&p[i].ticks);
            min = n < min ? n : min;
        }
    }
    for (int i = 0; i < N; i++) {
        overlap |= atomic_load(&p[i].overlap);
        ordered &= p[i].ordered;
    }
    CHECK(min >= 5);  /* every one of 1,000 tasks ticks */
    CHECK(!overlap && ordered);
    tv_sched_stats_t st;
    tv_sched_stats(s, &st);
    CHECK(st.tasks == N);
    tv_sched_free(s);
    int done = 0;
    for (int i = 0; i < N; i++)
        done += atomic_load(&p[i].done);
    CHECK(done == N);
    free(p);
}

int main(void)
{
    test_rate_and_order();
    test_stop_from_tick();
    test_rate_change_and_overruns();
    test_many_tasks();
    return check_summary();
}
