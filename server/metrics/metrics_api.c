/* GET /metrics and the Status page's API: gauges read from their owners at scrape time, a
 * sampler thread keeping raw snapshots of the counters in a ring (rates and tick percentiles
 * come from the difference of two snapshots), and the three handlers. */
#include "metrics_api.h"
#include "app.h"
#include "auth_api.h"
#include "authoritative.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "match.h"
#include "matchmaker.h"
#include "metrics.h"
#include "rt.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef TV_VERSION
#define TV_VERSION "dev"
#endif

#define EXPOSITION_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TICK_BUCKETS (TV_METRICS_MAX_BUCKETS + 1)

/* The counters at one moment. */
typedef struct {
    int64_t mono_ms, unix_ms;
    int64_t ccu, opened, closed, relayed, authoritative;
    int64_t msgs_in, msgs_out, bytes_in, bytes_out;
    int64_t overruns;
    uint64_t tick[TICK_BUCKETS]; /* every handler's tick histogram, summed */
    int ntick;
    int db_in_use, db_open, db_max;
    int64_t mm_tickets, mm_matched, mm_expired;
} raw_t;

struct tv_metrics_svc {
    tv_metrics_sources_t src;
    int64_t start_unix_ms, start_mono_ms;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;            /* guards what follows */
    pthread_cond_t cv;
    int stop;
    raw_t ring[TV_METRICS_HISTORY + 1]; /* raw snapshots: n of them give n - 1 samples */
    int head, n;                   /* head: the next slot to write */
    /* gauges set at scrape time */
    tv_metric_t *g_relayed, *g_pool_in_use, *g_pool_open, *g_pool_max, *g_mm_tickets,
        *c_mm_matched, *c_mm_expired, *g_start, *g_uptime, *g_info;
};

static int64_t mono_ms(void) { return tv_mono_ms(); }

/* ---- reading the figures --------------------------------------------------------------- */

typedef struct {
    int64_t in, out;
} dir_sum_t;

static void sum_dir(const tv_metric_t *m, void *ud)
{
    dir_sum_t *d = ud;
    if (strcmp(m->labels[0], "in") == 0)
        d->in += tv_metric_get(m);
    else
        d->out += tv_metric_get(m);
}

static void sum_value(const tv_metric_t *m, void *ud)
{
    *(int64_t *)ud += tv_metric_get(m);
}

static void sum_hist(const tv_metric_t *m, void *ud)
{
    raw_t *r = ud;
    uint64_t c[TICK_BUCKETS];
    int n = tv_metric_hist_read(m, c, TICK_BUCKETS, NULL);
    r->ntick = n;
    for (int i = 0; i < n; i++)
        r->tick[i] += c[i];
}

static int64_t one_value(const char *family)
{
    int64_t v = 0;
    tv_metrics_each(tv_metrics_find(family), sum_value, &v);
    return v;
}

static void take(tv_metrics_svc_t *s, raw_t *r)
{
    memset(r, 0, sizeof *r);
    r->mono_ms = mono_ms();
    r->unix_ms = tv_now_ms();
    r->ccu = tv_rt_session_count(s->src.rt);
    r->opened = one_value("tavern_rt_sessions_opened_total");
    r->closed = one_value("tavern_rt_sessions_closed_total");
    r->relayed = s->src.matches ? tv_match_count(s->src.matches) : 0;
    tv_amatch_stats_t as;
    tv_amatch_stats(s->src.amatch, &as);
    r->authoritative = as.matches;
    dir_sum_t d = {0, 0};
    tv_metrics_each(tv_metrics_find("tavern_rt_messages_total"), sum_dir, &d);
    r->msgs_in = d.in;
    r->msgs_out = d.out;
    d = (dir_sum_t){0, 0};
    tv_metrics_each(tv_metrics_find("tavern_rt_message_bytes_total"), sum_dir, &d);
    r->bytes_in = d.in;
    r->bytes_out = d.out;
    r->overruns = one_value("tavern_amatch_tick_overruns_total");
    tv_metrics_each(tv_metrics_find("tavern_amatch_tick_duration_seconds"), sum_hist, r);
    if (s->src.db)
        tv_db_pool_stats(s->src.db, &r->db_in_use, &r->db_open, &r->db_max);
    tv_mm_stats_t ms;
    tv_mm_stats(s->src.mm, &ms);
    r->mm_tickets = ms.tickets;
    r->mm_matched = ms.matched;
    r->mm_expired = ms.expired;
}

/* The q-quantile in ms of the ticks between a and b (linear within a bucket, as Prometheus'
 * histogram_quantile); -1 when no tick ran. */
static double tick_quantile(const raw_t *a, const raw_t *b, double q)
{
    int nb;
    const double *bounds = tv_metrics_bounds(tv_metrics_find("tavern_amatch_tick_duration_seconds"),
                                             &nb);
    if (!bounds || b->ntick != nb + 1)
        return -1;
    uint64_t d[TICK_BUCKETS], total = 0;
    for (int i = 0; i <= nb; i++) {
        d[i] = b->tick[i] - (a->ntick == b->ntick ? a->tick[i] : 0);
        total += d[i];
    }
    if (!total)
        return -1;
    double want = q * (double)total, seen = 0;
    for (int i = 0; i <= nb; i++) {
        if (seen + (double)d[i] >= want && d[i]) {
            if (i == nb)
                return bounds[nb - 1] * 1000; /* in +Inf: the highest bound known */
            double lo = i ? bounds[i - 1] : 0, hi = bounds[i];
            return (lo + (hi - lo) * (want - seen) / (double)d[i]) * 1000;
        }
        seen += (double)d[i];
    }
    return bounds[nb - 1] * 1000;
}

static double rate(int64_t from, int64_t to, double secs)
{
    return secs > 0 && to >= from ? (double)(to - from) / secs : 0;
}

/* A figure, left out when zero (or negative: unknown), as protojson leaves defaults out. */
static void num(cJSON *o, const char *name, double v)
{
    if (v > 0)
        cJSON_AddNumberToObject(o, name, v);
}

/* One sample: the state at b, the rates and tick figures between a and b. */
static cJSON *sample_json(const raw_t *a, const raw_t *b)
{
    double secs = (double)(b->mono_ms - a->mono_ms) / 1000.0;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    num(o, "time_ms", (double)b->unix_ms);
    num(o, "window_s", secs);
    num(o, "ccu", (double)b->ccu);
    num(o, "sessions_opened", (double)(b->opened - a->opened));
    num(o, "sessions_closed", (double)(b->closed - a->closed));
    num(o, "matches_relayed", (double)b->relayed);
    num(o, "matches_authoritative", (double)b->authoritative);
    num(o, "msgs_in_per_s", rate(a->msgs_in, b->msgs_in, secs));
    num(o, "msgs_out_per_s", rate(a->msgs_out, b->msgs_out, secs));
    num(o, "bytes_in_per_s", rate(a->bytes_in, b->bytes_in, secs));
    num(o, "bytes_out_per_s", rate(a->bytes_out, b->bytes_out, secs));
    num(o, "tick_p50_ms", tick_quantile(a, b, 0.50));
    num(o, "tick_p99_ms", tick_quantile(a, b, 0.99));
    num(o, "tick_overruns", (double)(b->overruns - a->overruns));
    num(o, "db_in_use", b->db_in_use);
    num(o, "db_open", b->db_open);
    num(o, "db_max", b->db_max);
    num(o, "matchmaker_tickets", (double)b->mm_tickets);
    num(o, "matchmaker_matched", (double)(b->mm_matched - a->mm_matched));
    return o;
}

/* ---- the sampler ----------------------------------------------------------------------- */

static void ring_put(tv_metrics_svc_t *s, const raw_t *r)
{
    s->ring[s->head] = *r;
    s->head = (s->head + 1) % (TV_METRICS_HISTORY + 1);
    if (s->n < TV_METRICS_HISTORY + 1)
        s->n++;
}

/* The i-th snapshot, oldest first. Caller holds mu. */
static const raw_t *ring_at(const tv_metrics_svc_t *s, int i)
{
    int cap = TV_METRICS_HISTORY + 1;
    return &s->ring[(s->head - s->n + i + cap) % cap];
}

static void *sampler(void *p)
{
    tv_metrics_svc_t *s = p;
    pthread_mutex_lock(&s->mu);
    int64_t next = mono_ms() + s->src.sample_ms;
    while (!s->stop) {
        struct timespec ts = {next / 1000, (next % 1000) * 1000000};
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT && !s->stop &&
            mono_ms() < next)
            continue;
        if (s->stop)
            break;
        pthread_mutex_unlock(&s->mu);
        raw_t r;
        take(s, &r); /* without the lock: it takes other rooms' locks */
        pthread_mutex_lock(&s->mu);
        ring_put(s, &r);
        next += s->src.sample_ms;
        if (next <= mono_ms()) /* fell behind (a stopped process): start afresh */
            next = mono_ms() + s->src.sample_ms;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static tv_metric_t *gauge(tv_metric_type_t type, const char *name, const char *help)
{
    return tv_metrics_one(tv_metrics_family(type, name, help, NULL, NULL, 0));
}

int tv_metrics_svc_new(const tv_metrics_sources_t *src, tv_metrics_svc_t **out)
{
    tv_metrics_svc_t *s = calloc(1, sizeof *s);
    if (!s)
        return TV_ENOMEM;
    s->src = *src;
    if (s->src.sample_ms <= 0)
        s->src.sample_ms = 10000;
    s->start_unix_ms = tv_now_ms();
    s->start_mono_ms = mono_ms();
    pthread_mutex_init(&s->mu, NULL);
    tv_cond_init_monotonic(&s->cv);
    s->g_relayed = gauge(TV_METRIC_GAUGE, "tavern_relayed_matches", "Relayed matches open.");
    tv_metric_family_t *pool = tv_metrics_family(
        TV_METRIC_GAUGE, "tavern_db_pool_connections",
        "Database connections: lent out (in_use), open (lent and idle), and the pool's size "
        "(max, --db-pool).", "state", NULL, 0);
    s->g_pool_in_use = tv_metrics_series(pool, (const char *const[]){"in_use"});
    s->g_pool_open = tv_metrics_series(pool, (const char *const[]){"open"});
    s->g_pool_max = tv_metrics_series(pool, (const char *const[]){"max"});
    s->g_mm_tickets = gauge(TV_METRIC_GAUGE, "tavern_matchmaker_tickets",
                            "Matchmaker tickets waiting.");
    s->c_mm_matched = gauge(TV_METRIC_COUNTER, "tavern_matchmaker_matched_total",
                            "Matchmaker tickets matched into groups.");
    s->c_mm_expired = gauge(TV_METRIC_COUNTER, "tavern_matchmaker_expired_total",
                            "Matchmaker tickets that waited their intervals out unmatched.");
    s->g_start = gauge(TV_METRIC_GAUGE, "tavern_process_start_time_seconds",
                       "Start time of the process, unix seconds.");
    s->g_uptime = gauge(TV_METRIC_GAUGE, "tavern_process_uptime_seconds",
                        "Seconds since the process started.");
    s->g_info = tv_metrics_series(
        tv_metrics_family(TV_METRIC_GAUGE, "tavern_build_info",
                          "Always 1; the labels say which build and node this is.",
                          "version,node", NULL, 0),
        (const char *const[]){TV_VERSION, src->node ? src->node : ""});
    tv_metric_set(s->g_info, 1);
    tv_metric_set(s->g_start, s->start_unix_ms / 1000);
    raw_t r;
    take(s, &r);
    ring_put(s, &r);
    if (pthread_create(&s->thread, NULL, sampler, s) != 0) {
        tv_metrics_svc_free(s);
        return TV_EINTERNAL;
    }
    s->started = 1;
    *out = s;
    return TV_OK;
}

void tv_metrics_svc_free(tv_metrics_svc_t *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- handlers -------------------------------------------------------------------------- */

/* The gauges owned elsewhere, read now. */
static void collect(tv_metrics_svc_t *s)
{
    raw_t r;
    take(s, &r);
    tv_metric_set(s->g_relayed, r.relayed);
    tv_metric_set(s->g_pool_in_use, r.db_in_use);
    tv_metric_set(s->g_pool_open, r.db_open);
    tv_metric_set(s->g_pool_max, r.db_max);
    tv_metric_set(s->g_mm_tickets, r.mm_tickets);
    tv_metric_set(s->c_mm_matched, r.mm_matched);
    tv_metric_set(s->c_mm_expired, r.mm_expired);
    tv_metric_set(s->g_uptime, (mono_ms() - s->start_mono_ms) / 1000);
}

static int scrape_allowed(tv_app_t *app, tv_http_req_t *req, const char **msg)
{
    if (app->cfg->metrics_open)
        return 1;
    const char *h = tv_http_authorization(req), *tok = app->cfg->metrics_token;
    if (tok && h && strncmp(h, "Bearer ", 7) == 0 && strlen(h + 7) == strlen(tok) &&
        sodium_memcmp(h + 7, tok, strlen(tok)) == 0)
        return 1;
    return tv_auth_check(app, TV_HTTP_AUTH_CONSOLE, req, msg) == TV_OK;
}

void tv_metrics_http_scrape(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    const char *msg = "Auth token required";
    if (!scrape_allowed(app, req, &msg)) {
        tv_http_error(req, TV_EUNAUTH, msg);
        return;
    }
    if (!app->metrics) {
        tv_http_error(req, TV_EUNAVAIL, "Metrics unavailable.");
        return;
    }
    collect(app->metrics);
    size_t len;
    tv_http_reply_text(req, 200, EXPOSITION_TYPE, tv_metrics_render(&len));
}

void tv_metrics_http_status(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    tv_metrics_svc_t *s = app->metrics;
    if (!s) {
        tv_http_error(req, TV_EUNAVAIL, "Metrics unavailable.");
        return;
    }
    raw_t now, last;
    take(s, &now);
    pthread_mutex_lock(&s->mu);
    last = *ring_at(s, s->n - 1);
    /* just sampled: rates over under a second are noise, take the last whole window */
    if (now.mono_ms - last.mono_ms < 1000 && s->n >= 2) {
        last = *ring_at(s, s->n - 2);
    }
    pthread_mutex_unlock(&s->mu);
    cJSON *o = cJSON_CreateObject();
    cJSON *cur = sample_json(&last, &now);
    if (!o || !cur) {
        cJSON_Delete(o);
        cJSON_Delete(cur);
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
        return;
    }
    char start[32];
    tv_time_rfc3339(s->start_unix_ms / 1000, start);
    cJSON_AddStringToObject(o, "node", s->src.node ? s->src.node : "");
    cJSON_AddStringToObject(o, "version", TV_VERSION);
    cJSON_AddStringToObject(o, "start_time", start);
    num(o, "uptime_s", (double)((now.mono_ms - s->start_mono_ms) / 1000));
    cJSON_AddStringToObject(o, "db_engine", s->src.db ? tv_db_engine(s->src.db) : "");
    num(o, "sessions_opened_total", (double)now.opened);
    num(o, "sessions_closed_total", (double)now.closed);
    num(o, "tick_overruns_total", (double)now.overruns);
    num(o, "matchmaker_matched_total", (double)now.mm_matched);
    num(o, "matchmaker_expired_total", (double)now.mm_expired);
    cJSON_AddItemToObject(o, "current", cur);
    tv_http_reply_json(req, o);
}

void tv_metrics_http_history(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    tv_metrics_svc_t *s = app->metrics;
    if (!s) {
        tv_http_error(req, TV_EUNAVAIL, "Metrics unavailable.");
        return;
    }
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    if (!o || !arr) {
        cJSON_Delete(o);
        cJSON_Delete(arr);
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
        return;
    }
    cJSON_AddNumberToObject(o, "interval_ms", s->src.sample_ms);
    cJSON_AddNumberToObject(o, "capacity", TV_METRICS_HISTORY);
    pthread_mutex_lock(&s->mu);
    for (int i = 1; i < s->n; i++) {
        cJSON *e = sample_json(ring_at(s, i - 1), ring_at(s, i));
        if (e)
            cJSON_AddItemToArray(arr, e);
    }
    pthread_mutex_unlock(&s->mu);
    if (cJSON_GetArraySize(arr)) /* none yet (a fresh server): left out, as protojson does */
        cJSON_AddItemToObject(o, "samples", arr);
    else
        cJSON_Delete(arr);
    tv_http_reply_json(req, o);
}
