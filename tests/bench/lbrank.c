/* In-process bench of the leaderboard rank structure (server/leaderboard/rank.c): loads N
 * records (default 1,000,000) with random scores, then times rank-of-owner lookups, entry-at-
 * rank lookups and score moves. Run by hand (tests/bench/leaderboard.sh runs it too):
 *   build/tests/bench/lbrank [N] */
#include "rank.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void owner(char out[TV_LB_OWNER_MAX + 1], long i)
{
    snprintf(out, TV_LB_OWNER_MAX + 1, "%08lx-0000-4000-8000-%012lx", (unsigned long)i & 0xffffffffu,
             (unsigned long)i * 2654435761ul & 0xffffffffffffu);
}

static void report(const char *what, long n, double secs)
{
    printf("%-28s %10ld ops %8.3f s %12.0f ops/s %8.3f us/op\n", what, n, secs, n / secs,
           secs * 1e6 / n);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n < 1)
        return fprintf(stderr, "usage: lbrank [records]\n"), 2;
    tv_lb_rank_t *r = tv_lb_rank_new(1);
    char id[TV_LB_OWNER_MAX + 1];
    double t = now_s();
    for (long i = 0; i < n; i++) {
        owner(id, i);
        if (tv_lb_rank_set(r, id, (int64_t)(next() % 1000000), (int64_t)(next() % 100)))
            return fprintf(stderr, "out of memory at %ld\n", i), 1;
    }
    report("load (insert)", n, now_s() - t);
    long q = n, sink = 0;
    t = now_s();
    for (long i = 0; i < q; i++) {
        owner(id, (long)(next() % (uint64_t)n));
        sink += tv_lb_rank_of(r, id) > 0;
    }
    report("rank of owner", q, now_s() - t);
    tv_lb_rank_entry_t e;
    t = now_s();
    for (long i = 0; i < q; i++)
        sink += tv_lb_rank_at(r, (int64_t)(next() % (uint64_t)n) + 1, &e);
    report("entry at rank", q, now_s() - t);
    t = now_s();
    for (long i = 0; i < q; i++) {
        owner(id, (long)(next() % (uint64_t)n));
        sink += tv_lb_rank_set(r, id, (int64_t)(next() % 1000000), 0) == 0;
    }
    report("move (score update)", q, now_s() - t);
    if (sink != 3 * q)
        return fprintf(stderr, "lookups failed: %ld of %ld\n", sink, 3 * q), 1;
    tv_lb_rank_free(r);
    return 0;
}
