/* In-process bench of the matchmaker's pure pass (server/matchmaker/pool.c): N tickets
 * (default 100,000) with a rating (roughly normal around 1500) and two string properties
 * (region of 4, mode of 3), each requiring its own region and preferring its mode; 80% 1v1
 * (2-2), 20% 2-4 in twos. Times building the tickets, then each pass, with the share matched,
 * until the pool is empty or expired. Run by hand: build/tests/bench/mmbench [N] */
#include "error.h"
#include "matchmaker.h"

#include <malloc.h>
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

/* The sum of four uniforms: a cheap bell around 1500, spread about +-300. */
static int rating(void)
{
    int s = 0;
    for (int i = 0; i < 4; i++)
        s += (int)(next() % 601);
    return 1500 + s - 1200;
}

static tv_mm_ticket_t *make(long i, const tv_mm_params_t *p)
{
    static const char *regions[] = {"eu", "us", "asia", "sa"}, *modes[] = {"ctf", "tdm", "koth"};
    const char *region = regions[next() % 4], *mode = modes[next() % 3];
    int team = next() % 5 == 0;
    char json[512], sid[40];
    snprintf(json, sizeof json,
             "{\"min_count\":2,\"max_count\":%d,\"count_multiple\":%d,"
             "\"query\":\"+properties.region:%s properties.mode:%s\","
             "\"string_properties\":{\"region\":\"%s\",\"mode\":\"%s\"},"
             "\"numeric_properties\":{\"rating\":%d}}",
             team ? 4 : 2, team ? 2 : 1, region, mode, region, mode, rating());
    snprintf(sid, sizeof sid, "00000000-0000-4000-8000-%012ld", i % 1000000000000L);
    cJSON *body = cJSON_Parse(json);
    tv_mm_ticket_t *t = NULL;
    const char *why;
    if (tv_mm_ticket_from_json(body, sid, sid, "bench", p->rating_property, &t, &why) != TV_OK)
        fprintf(stderr, "ticket %ld refused: %s\n", i, why);
    cJSON_Delete(body);
    return t;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    /* no per-session limit: every ticket has its own session, and the limit's scan is the
     * add path's cost, not the pass's */
    tv_mm_params_t p = {.max_intervals = 10, .rating_step = 100, .rating_property = "rating"};
    tv_mm_pool_t pool;
    tv_mm_pool_init(&pool, &p);
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        tv_mm_ticket_t *t = make(i, &p);
        if (!t || tv_mm_pool_add(&pool, t) != TV_OK)
            return 1;
    }
    printf("built and added %ld tickets in %.3f s (%.2f us each)\n", n, now_s() - t0,
           (now_s() - t0) * 1e6 / (double)n);
    long total_matched = 0, total_expired = 0;
    for (int pass = 1; pool.n && pass <= p.max_intervals; pass++) {
        size_t before = pool.n;
        tv_mm_result_t r;
        double s = now_s();
        if (tv_mm_pool_pass(&pool, &r) != TV_OK)
            return 1;
        double el = now_s() - s;
        long matched = 0;
        for (size_t g = 0; g < r.ngroups; g++)
            matched += (long)r.groups[g].n;
        total_matched += matched;
        total_expired += (long)r.nexpired;
        /* freeing the matched tickets is timed apart, with glibc's consolidation of the freed
         * chunks (which would otherwise land in the next pass's first large malloc) */
        double f = now_s();
        size_t ngroups = r.ngroups, nexpired = r.nexpired;
        tv_mm_result_free(&r);
        malloc_trim(0);
        double fel = now_s() - f;
        printf("pass %2d: %7zu tickets, %7.1f ms (+%6.1f ms freeing), %6zu groups, %7ld matched "
               "(%5.1f%% of the pass, %5.1f%% of all), %zu expired\n", pass, before, el * 1e3,
               fel * 1e3, ngroups, matched, 100.0 * (double)matched / (double)before,
               100.0 * (double)total_matched / (double)n, nexpired);
    }
    printf("matched %ld of %ld (%.1f%%), expired %ld, left %zu\n", total_matched, n,
           100.0 * (double)total_matched / (double)n, total_expired, pool.n);
    tv_mm_pool_clear(&pool);
    return 0;
}
