/* Unit tests for server/core/metrics.c: families and their rules, series lookup and the label
 * cap, histogram buckets, concurrent updates, and the exposition text byte for byte. */
#include "check.h"
#include "metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const double bounds[] = {0.001, 0.01, 0.1};

static void test_families(void)
{
    tv_metrics_reset();
    CHECK(tv_metrics_family(TV_METRIC_COUNTER, "t_ok_total", "h", NULL, NULL, 0) != NULL);
    CHECK(tv_metrics_family(TV_METRIC_COUNTER, "t_ok_total", "other help", NULL, NULL, 0) ==
          tv_metrics_family(TV_METRIC_COUNTER, "t_ok_total", "h", "", NULL, 0));
    CHECK_AS(!tv_metrics_family(TV_METRIC_GAUGE, "t_ok_total", "h", NULL, NULL, 0),
             "same name, other type: refused");
    CHECK_AS(!tv_metrics_family(TV_METRIC_COUNTER, "t_ok_total", "h", "a", NULL, 0),
             "same name, other labels: refused");
    CHECK_AS(!tv_metrics_family(TV_METRIC_COUNTER, "9bad", "h", NULL, NULL, 0), "bad name");
    CHECK_AS(!tv_metrics_family(TV_METRIC_COUNTER, "t-bad", "h", NULL, NULL, 0), "bad name -");
    CHECK_AS(!tv_metrics_family(TV_METRIC_COUNTER, "t_l", "h", "a,b-c", NULL, 0), "bad label");
    CHECK_AS(!tv_metrics_family(TV_METRIC_COUNTER, "t_le", "h", "le", NULL, 0), "le reserved");
    CHECK_AS(!tv_metrics_family(TV_METRIC_COUNTER, "t_5", "h", "a,b,c,d,e", NULL, 0),
             "five labels");
    static const double unsorted[] = {0.1, 0.01};
    CHECK_AS(!tv_metrics_family(TV_METRIC_HISTOGRAM, "t_h", "h", NULL, unsorted, 2),
             "unsorted bounds");
    CHECK_AS(!tv_metrics_family(TV_METRIC_HISTOGRAM, "t_h", "h", NULL, NULL, 0), "no bounds");
    CHECK(tv_metrics_find("t_ok_total") != NULL);
    CHECK(tv_metrics_find("t_h") == NULL);
}

static void test_series_cap(void)
{
    tv_metrics_reset();
    tv_metric_family_t *f = tv_metrics_family(TV_METRIC_COUNTER, "t_cap_total", "h", "k", NULL, 0);
    char v[32];
    tv_metric_t *first = NULL, *last = NULL;
    for (int i = 0; i < TV_METRICS_MAX_SERIES; i++) {
        snprintf(v, sizeof v, "v%d", i);
        tv_metric_t *m = tv_metrics_series(f, (const char *const[]){v});
        if (i == 0)
            first = m;
        last = m;
    }
    CHECK(first && last && first != last);
    CHECK_AS(tv_metrics_series(f, (const char *const[]){"v0"}) == first, "lookup finds it");
    tv_metric_t *o1 = tv_metrics_series(f, (const char *const[]){"past-1"});
    tv_metric_t *o2 = tv_metrics_series(f, (const char *const[]){"past-2"});
    CHECK_AS(o1 && o1 == o2, "past the cap: one overflow series");
    CHECK(strcmp(o1->labels[0], "_overflow") == 0);
    tv_metric_inc(o1);
    tv_metric_inc(o2);
    CHECK(tv_metric_get(o1) == 2);
    size_t len;
    char *text = tv_metrics_render(&len);
    CHECK(text && strstr(text, "t_cap_total{k=\"_overflow\"} 2\n"));
    free(text);
    tv_metric_inc(NULL); /* NULL-safe */
    tv_metric_observe_ns(NULL, 5);
}

static void test_histogram(void)
{
    tv_metrics_reset();
    tv_metric_family_t *f =
        tv_metrics_family(TV_METRIC_HISTOGRAM, "t_lat_seconds", "Latency.", NULL, bounds, 3);
    tv_metric_t *m = tv_metrics_one(f);
    tv_metric_observe_ns(m, 1000000);   /* exactly 1 ms: le="0.001" (upper bounds include) */
    tv_metric_observe_ns(m, 1000001);   /* just over: le="0.01" */
    tv_metric_observe_ns(m, 50000000);  /* 50 ms: le="0.1" */
    tv_metric_observe_ns(m, 2000000000); /* 2 s: +Inf */
    uint64_t c[8], sum;
    CHECK(tv_metric_hist_read(m, c, 8, &sum) == 4);
    CHECK(c[0] == 1 && c[1] == 1 && c[2] == 1 && c[3] == 1);
    CHECK(sum == 1000000 + 1000001 + 50000000 + 2000000000ULL);
}

static void test_render_exact(void)
{
    tv_metrics_reset();
    tv_metric_t *c = tv_metrics_series(
        tv_metrics_family(TV_METRIC_COUNTER, "t_req_total", "Requests\nby \\route.", "route,code",
                          NULL, 0),
        (const char *const[]){"/a/\"q\"\\\n", "200"});
    tv_metric_add(c, 3);
    tv_metric_t *g = tv_metrics_one(
        tv_metrics_family(TV_METRIC_GAUGE, "t_open", "Open.", NULL, NULL, 0));
    tv_metric_set(g, -2);
    tv_metric_t *h = tv_metrics_series(
        tv_metrics_family(TV_METRIC_HISTOGRAM, "t_d_seconds", "D.", "x", bounds, 3),
        (const char *const[]){"y"});
    tv_metric_observe_ns(h, 500000);
    tv_metric_observe_ns(h, 20000000);
    tv_metrics_family(TV_METRIC_COUNTER, "t_empty_total", "None yet.", "a", NULL, 0);
    size_t len = 0;
    char *text = tv_metrics_render(&len);
    const char *want =
        "# HELP t_req_total Requests\\nby \\\\route.\n"
        "# TYPE t_req_total counter\n"
        "t_req_total{route=\"/a/\\\"q\\\"\\\\\\n\",code=\"200\"} 3\n"
        "# HELP t_open Open.\n"
        "# TYPE t_open gauge\n"
        "t_open -2\n"
        "# HELP t_d_seconds D.\n"
        "# TYPE t_d_seconds histogram\n"
        "t_d_seconds_bucket{x=\"y\",le=\"0.001\"} 1\n"
        "t_d_seconds_bucket{x=\"y\",le=\"0.01\"} 1\n"
        "t_d_seconds_bucket{x=\"y\",le=\"0.1\"} 2\n"
        "t_d_seconds_bucket{x=\"y\",le=\"+Inf\"} 2\n"
        "t_d_seconds_sum{x=\"y\"} 0.020500000\n"
        "t_d_seconds_count{x=\"y\"} 2\n"
        "# HELP t_empty_total None yet.\n"
        "# TYPE t_empty_total counter\n";
    CHECK(text && strcmp(text, want) == 0);
    CHECK(text && len == strlen(want));
    if (text && strcmp(text, want) != 0)
        printf("--- got:\n%s--- want:\n%s", text, want);
    free(text);
    char esc[8];
    CHECK(tv_metrics_escape_label(esc, sizeof esc, "a\"b\"cdef") == 7 &&
          strcmp(esc, "a\\\"b\\\"c") == 0);
}

#define THREADS 4
#define PER_THREAD 100000
static tv_metric_t *shared_c, *shared_h;

static void *hammer(void *p)
{
    (void)p;
    for (int i = 0; i < PER_THREAD; i++) {
        tv_metric_inc(shared_c);
        tv_metric_observe_ns(shared_h, (uint64_t)(i % 3) * 5000000);
    }
    return NULL;
}

static void test_concurrent(void)
{
    tv_metrics_reset();
    shared_c =
        tv_metrics_one(tv_metrics_family(TV_METRIC_COUNTER, "t_c_total", "c", NULL, NULL, 0));
    shared_h = tv_metrics_one(
        tv_metrics_family(TV_METRIC_HISTOGRAM, "t_h_seconds", "h", NULL, bounds, 3));
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK(tv_metric_get(shared_c) == THREADS * PER_THREAD);
    uint64_t c[4], sum, total = 0;
    int n = tv_metric_hist_read(shared_h, c, 4, &sum);
    for (int i = 0; i < n; i++)
        total += c[i];
    CHECK_AS(total == THREADS * PER_THREAD, "no observation lost");
}

int main(void)
{
    test_families();
    test_series_cap();
    test_histogram();
    test_render_exact();
    test_concurrent();
    tv_metrics_reset();
    return check_summary();
}
