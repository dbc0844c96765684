/* The metrics registry: families and series under one lock (taken only to make or find a series
 * and to render), values in relaxed atomics, and the Prometheus text exposition format. */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tv_metric_family {
    tv_metric_type_t type;
    const char *name, *help;
    char *labels[TV_METRICS_MAX_LABELS]; /* owned label names */
    int nlabels;
    const double *bounds;                /* borrowed, seconds */
    uint64_t bounds_ns[TV_METRICS_MAX_BUCKETS];
    int nbounds;
    tv_metric_t **series;                /* under mu */
    int nseries, capseries;
    tv_metric_t *overflow;               /* made on the first label set past the cap */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static tv_metric_family_t *families[TV_METRICS_MAX_FAMILIES];
static int nfamilies;

static int name_ok(const char *s, int colon)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (colon && *s == ':')))
            return 0;
    return 1;
}

static void family_free(tv_metric_family_t *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->nseries; i++) {
        for (int j = 0; j < f->nlabels; j++)
            free((char *)f->series[i]->labels[j]);
        free(f->series[i]);
    }
    if (f->overflow)
        for (int j = 0; j < f->nlabels; j++)
            free((char *)f->overflow->labels[j]);
    free(f->overflow);
    for (int j = 0; j < f->nlabels; j++)
        free(f->labels[j]);
    free(f->series);
    free(f);
}

/* Splits "a,b,c" into f->labels. 0, or -1 on a bad name, too many, or no memory. */
static int split_labels(tv_metric_family_t *f, const char *labels)
{
    while (labels && *labels) {
        const char *end = strchr(labels, ',');
        size_t n = end ? (size_t)(end - labels) : strlen(labels);
        if (f->nlabels == TV_METRICS_MAX_LABELS || n == 0 || n > 63)
            return -1;
        char *l = strndup(labels, n);
        if (!l)
            return -1;
        f->labels[f->nlabels++] = l;
        if (!name_ok(l, 0) || strcmp(l, "le") == 0)
            return -1;
        labels = end ? end + 1 : labels + n;
    }
    return 0;
}

static int same_shape(const tv_metric_family_t *f, tv_metric_type_t type, const char *labels)
{
    char joined[TV_METRICS_MAX_LABELS * 64 + TV_METRICS_MAX_LABELS] = "";
    for (int i = 0; i < f->nlabels; i++) {
        if (i)
            strcat(joined, ",");
        strcat(joined, f->labels[i]);
    }
    return f->type == type && strcmp(joined, labels ? labels : "") == 0;
}

tv_metric_family_t *tv_metrics_family(tv_metric_type_t type, const char *name, const char *help,
                                      const char *labels, const double *bounds, int nbounds)
{
    if (!name_ok(name, 1) || !help ||
        (type == TV_METRIC_HISTOGRAM &&
         (!bounds || nbounds < 1 || nbounds > TV_METRICS_MAX_BUCKETS)))
        return NULL;
    pthread_mutex_lock(&mu);
    tv_metric_family_t *f = NULL;
    for (int i = 0; i < nfamilies; i++)
        if (strcmp(families[i]->name, name) == 0) {
            f = same_shape(families[i], type, labels) ? families[i] : NULL;
            goto out;
        }
    if (nfamilies == TV_METRICS_MAX_FAMILIES || !(f = calloc(1, sizeof *f)))
        goto fail;
    f->type = type;
    f->name = name;
    f->help = help;
    if (split_labels(f, labels) != 0)
        goto fail;
    if (type == TV_METRIC_HISTOGRAM) {
        f->bounds = bounds;
        f->nbounds = nbounds;
        for (int i = 0; i < nbounds; i++) {
            if (!(bounds[i] > 0) || (i && bounds[i] <= bounds[i - 1]))
                goto fail;
            f->bounds_ns[i] = (uint64_t)(bounds[i] * 1e9 + 0.5);
        }
    }
    families[nfamilies++] = f;
out:
    pthread_mutex_unlock(&mu);
    return f;
fail:
    pthread_mutex_unlock(&mu);
    family_free(f);
    return NULL;
}

tv_metric_family_t *tv_metrics_find(const char *name)
{
    tv_metric_family_t *f = NULL;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nfamilies && !f; i++)
        if (strcmp(families[i]->name, name) == 0)
            f = families[i];
    pthread_mutex_unlock(&mu);
    return f;
}

static tv_metric_t *series_new(tv_metric_family_t *f, const char *const *values)
{
    size_t nb = f->type == TV_METRIC_HISTOGRAM ? (size_t)f->nbounds + 1 : 0;
    tv_metric_t *m = calloc(1, sizeof *m + nb * sizeof m->buckets[0]);
    if (!m)
        return NULL;
    m->family = f;
    for (int i = 0; i < f->nlabels; i++) {
        const char *v = values && values[i] ? values[i] : "";
        if (!(m->labels[i] = strndup(v, TV_METRICS_LABEL_MAX - 1))) {
            for (int j = 0; j < i; j++)
                free((char *)m->labels[j]);
            free(m);
            return NULL;
        }
    }
    return m;
}

static int labels_equal(const tv_metric_family_t *f, const tv_metric_t *m,
                        const char *const *values)
{
    for (int i = 0; i < f->nlabels; i++) {
        const char *v = values && values[i] ? values[i] : "";
        if (strncmp(m->labels[i], v, TV_METRICS_LABEL_MAX - 1) != 0)
            return 0;
    }
    return 1;
}

tv_metric_t *tv_metrics_series(tv_metric_family_t *f, const char *const *values)
{
    if (!f)
        return NULL;
    tv_metric_t *m = NULL;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < f->nseries; i++)
        if (labels_equal(f, f->series[i], values)) {
            m = f->series[i];
            goto out;
        }
    if (f->nseries == TV_METRICS_MAX_SERIES) {
        if (!f->overflow) {
            const char *over[TV_METRICS_MAX_LABELS] = {"_overflow", "_overflow", "_overflow",
                                                       "_overflow"};
            f->overflow = series_new(f, over);
        }
        m = f->overflow;
        goto out;
    }
    if (f->nseries == f->capseries) {
        int cap = f->capseries ? f->capseries * 2 : 8;
        tv_metric_t **s = realloc(f->series, (size_t)cap * sizeof *s);
        if (!s)
            goto out;
        f->series = s;
        f->capseries = cap;
    }
    if ((m = series_new(f, values)))
        f->series[f->nseries++] = m;
out:
    pthread_mutex_unlock(&mu);
    return m;
}

tv_metric_t *tv_metrics_one(tv_metric_family_t *f)
{
    return tv_metrics_series(f, NULL);
}

void tv_metric_observe_ns(tv_metric_t *m, uint64_t ns)
{
    if (!m)
        return;
    const tv_metric_family_t *f = m->family;
    int b = 0;
    while (b < f->nbounds && ns > f->bounds_ns[b])
        b++;
    atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_ns, ns, memory_order_relaxed);
}

int tv_metric_hist_read(const tv_metric_t *m, uint64_t *counts, int max, uint64_t *sum_ns)
{
    if (!m || m->family->type != TV_METRIC_HISTOGRAM)
        return 0;
    int n = m->family->nbounds + 1;
    tv_metric_t *w = (tv_metric_t *)m; /* atomic loads take non-const pointers */
    for (int i = 0; i < n && i < max; i++)
        counts[i] = atomic_load_explicit(&w->buckets[i], memory_order_relaxed);
    if (sum_ns)
        *sum_ns = atomic_load_explicit(&w->sum_ns, memory_order_relaxed);
    return n < max ? n : max;
}

const double *tv_metrics_bounds(const tv_metric_family_t *f, int *n)
{
    *n = f ? f->nbounds : 0;
    return f ? f->bounds : NULL;
}

void tv_metrics_each(tv_metric_family_t *f, void (*fn)(const tv_metric_t *m, void *ud), void *ud)
{
    if (!f)
        return;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < f->nseries; i++)
        fn(f->series[i], ud);
    if (f->overflow)
        fn(f->overflow, ud);
    pthread_mutex_unlock(&mu);
}

/* ---- the exposition format ------------------------------------------------------------ */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} buf_t;

static void put(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf_t *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    if (!b->p) {
        if (!(b->p = malloc(4096))) {
            b->oom = 1;
            return;
        }
        b->cap = 4096;
    }
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

size_t tv_metrics_escape_label(char *out, size_t cap, const char *v)
{
    size_t n = 0;
    if (!cap)
        return 0;
    for (; *v; v++) {
        const char *rep = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
        size_t k = rep ? 2 : 1;
        if (n + k + 1 > cap)
            break;
        if (rep)
            memcpy(out + n, rep, 2);
        else
            out[n] = *v;
        n += k;
    }
    out[n] = 0;
    return n;
}

/* HELP text: \ and newline escaped. */
static void put_help(buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            put(b, "\\\\");
        else if (*s == '\n')
            put(b, "\\n");
        else
            put(b, "%c", *s);
    }
}

/* {a="x",b="y"[,le="..."]} or nothing. */
static void put_labels(buf_t *b, const tv_metric_family_t *f, const tv_metric_t *m,
                       const char *le)
{
    if (!f->nlabels && !le)
        return;
    char esc[2 * TV_METRICS_LABEL_MAX + 1];
    put(b, "{");
    for (int i = 0; i < f->nlabels; i++) {
        tv_metrics_escape_label(esc, sizeof esc, m->labels[i]);
        put(b, "%s%s=\"%s\"", i ? "," : "", f->labels[i], esc);
    }
    if (le)
        put(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    put(b, "}");
}

static void put_series(buf_t *b, const tv_metric_family_t *f, const tv_metric_t *m)
{
    tv_metric_t *w = (tv_metric_t *)m;
    if (f->type != TV_METRIC_HISTOGRAM) {
        put(b, "%s", f->name);
        put_labels(b, f, m, NULL);
        put(b, " %lld\n", (long long)atomic_load_explicit(&w->v, memory_order_relaxed));
        return;
    }
    uint64_t cum = 0;
    char le[32];
    for (int i = 0; i <= f->nbounds; i++) {
        cum += atomic_load_explicit(&w->buckets[i], memory_order_relaxed);
        if (i < f->nbounds) /* the shortest text that reads back as the bound */
            for (int prec = 6; prec <= 17; prec++) {
                snprintf(le, sizeof le, "%.*g", prec, f->bounds[i]);
                if (strtod(le, NULL) == f->bounds[i])
                    break;
            }
        else
            snprintf(le, sizeof le, "+Inf");
        put(b, "%s_bucket", f->name);
        put_labels(b, f, m, le);
        put(b, " %llu\n", (unsigned long long)cum);
    }
    /* the sum is read after the buckets: under load it may hold an observation the buckets
     * missed, never the count, which is the +Inf bucket itself */
    double sum = (double)atomic_load_explicit(&w->sum_ns, memory_order_relaxed) / 1e9;
    put(b, "%s_sum", f->name);
    put_labels(b, f, m, NULL);
    put(b, " %.9f\n", sum);
    put(b, "%s_count", f->name);
    put_labels(b, f, m, NULL);
    put(b, " %llu\n", (unsigned long long)cum);
}

char *tv_metrics_render(size_t *len)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    buf_t b = {0};
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nfamilies; i++) {
        const tv_metric_family_t *f = families[i];
        put(&b, "# HELP %s ", f->name);
        put_help(&b, f->help);
        put(&b, "\n# TYPE %s %s\n", f->name, types[f->type]);
        for (int j = 0; j < f->nseries; j++)
            put_series(&b, f, f->series[j]);
        if (f->overflow)
            put_series(&b, f, f->overflow);
    }
    pthread_mutex_unlock(&mu);
    if (!b.p && !b.oom)
        put(&b, "%s", "");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}

void tv_metrics_reset(void)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nfamilies; i++)
        family_free(families[i]);
    nfamilies = 0;
    pthread_mutex_unlock(&mu);
}
