/* The metrics registry: process-wide counters, gauges and histograms, grouped in families with
 * bounded label sets, rendered in Prometheus' text exposition format (0.0.4). Updates are
 * relaxed atomics on a series the caller looked up once and kept (no lock, no allocation per
 * event); only looking a series up takes the registry's lock. */
#ifndef TV_CORE_METRICS_H
#define TV_CORE_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Limits, all explicit: more families than this are refused (NULL); more label sets than
 * TV_METRICS_MAX_SERIES in one family all land in that family's single overflow series, whose
 * every label reads "_overflow", so a runaway label (a module registering handler after
 * handler) costs one series, never memory without bound. Label values are cut to
 * TV_METRICS_LABEL_MAX - 1 bytes. */
#define TV_METRICS_MAX_FAMILIES 128
#define TV_METRICS_MAX_SERIES 512
#define TV_METRICS_MAX_LABELS 4
#define TV_METRICS_MAX_BUCKETS 16
#define TV_METRICS_LABEL_MAX 128

typedef enum { TV_METRIC_COUNTER, TV_METRIC_GAUGE, TV_METRIC_HISTOGRAM } tv_metric_type_t;

typedef struct tv_metric_family tv_metric_family_t;

/* One series: a family plus one set of label values. Never freed while the process runs, so
 * a pointer to it stays valid. Counters and gauges use v; a histogram counts observations per
 * bucket (not cumulative: bucket i holds values <= bound i and > bound i-1, the last one the
 * +Inf rest) and sums them in nanoseconds. */
typedef struct tv_metric {
    const tv_metric_family_t *family;
    _Atomic int64_t v;
    _Atomic uint64_t sum_ns;
    const char *labels[TV_METRICS_MAX_LABELS]; /* owned by the registry */
    _Atomic uint64_t buckets[];                 /* histograms: nbounds + 1 */
} tv_metric_t;

/* Finds or makes a family. name follows Prometheus' rules ([a-zA-Z_:][a-zA-Z0-9_:]*); labels
 * is a comma-separated list of label names (NULL or "" for none, at most
 * TV_METRICS_MAX_LABELS); a histogram's bounds are ascending upper bounds in seconds (at most
 * TV_METRICS_MAX_BUCKETS; +Inf is implied). name, help and bounds are borrowed: pass static
 * text. The same name again returns the same family when its type and labels agree, NULL
 * otherwise (and NULL on a bad name, too many families, no memory). Thread-safe. */
tv_metric_family_t *tv_metrics_family(tv_metric_type_t type, const char *name, const char *help,
                                      const char *labels, const double *bounds, int nbounds);

/* The family called name, or NULL when nobody made it yet. */
tv_metric_family_t *tv_metrics_find(const char *name);

/* Finds or makes the series of f with these label values (as many as f has labels; NULL
 * reads as ""). Returns the overflow series past TV_METRICS_MAX_SERIES, NULL when f is NULL
 * or on no memory. Takes a lock: look a series up once and keep the pointer. */
tv_metric_t *tv_metrics_series(tv_metric_family_t *f, const char *const *values);
/* The series of a family without labels. */
tv_metric_t *tv_metrics_one(tv_metric_family_t *f);

/* Hot-path updates; every one accepts NULL (a series that could not be made) and does
 * nothing then. */
static inline void tv_metric_add(tv_metric_t *m, int64_t n)
{
    if (m)
        atomic_fetch_add_explicit(&m->v, n, memory_order_relaxed);
}
static inline void tv_metric_inc(tv_metric_t *m) { tv_metric_add(m, 1); }
static inline void tv_metric_set(tv_metric_t *m, int64_t v)
{
    if (m)
        atomic_store_explicit(&m->v, v, memory_order_relaxed);
}
static inline int64_t tv_metric_get(const tv_metric_t *m)
{
    return m ? atomic_load_explicit(&((tv_metric_t *)m)->v, memory_order_relaxed) : 0;
}
/* Records one observation of a histogram, in nanoseconds. */
void tv_metric_observe_ns(tv_metric_t *m, uint64_t ns);

/* Copies a histogram's non-cumulative bucket counts (up to max, the last being +Inf) and
 * returns how many there are; *sum_ns gets the sum (may be NULL). 0 for NULL. */
int tv_metric_hist_read(const tv_metric_t *m, uint64_t *counts, int max, uint64_t *sum_ns);
/* A family's histogram bounds (seconds) and their number. */
const double *tv_metrics_bounds(const tv_metric_family_t *f, int *n);
/* Calls fn for every series of f (under the registry's lock: fn must not look series up). */
void tv_metrics_each(tv_metric_family_t *f, void (*fn)(const tv_metric_t *m, void *ud),
                     void *ud);

/* The whole registry in the text exposition format, families in the order they were made,
 * series in the order they were made. Returns malloc'd text (caller frees), NULL on no
 * memory; *len gets its length. */
char *tv_metrics_render(size_t *len);

/* Appends a label value to out escaped for the exposition format (\ " and newline), cut to
 * fit. Exposed for tests. Returns the bytes written (out is NUL-terminated when cap > 0). */
size_t tv_metrics_escape_label(char *out, size_t cap, const char *value);

/* Forgets every family and series: tests only, with no other thread using the registry and
 * no series pointer kept. */
void tv_metrics_reset(void);

#endif
