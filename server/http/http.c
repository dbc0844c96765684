/* libmicrohttpd daemons and the request life cycle: read the body (bounded), copy what the
 * handler needs, suspend the connection, run auth + handler on a worker, resume and answer.
 * CORS preflights, unknown routes, static files and oversized bodies are answered on the I/O
 * thread. */
#include "http_internal.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONN_TIMEOUT_S 30
#define CONN_MEMORY (64 * 1024) /* per connection: bounds the request head */
#define MAX_CONNECTIONS 16384

/* Statuses with a cached series per route; others are looked up (under the registry's lock)
 * each time they occur, which only odd answers pay. */
static const int common_status[] = {200, 400, 401, 403, 404, 409, 429, 500, 501, 503};
#define NSTATUS (sizeof common_status / sizeof common_status[0])

/* A route's series (the last slot of the array is every request no route matched): the label
 * is the route's pattern, never the raw path, so the label set is the route table. */
typedef struct {
    const char *method, *route;
    _Atomic(tv_metric_t *) duration;           /* made on first use: routes never called */
    _Atomic(tv_metric_t *) by_status[NSTATUS]; /* show no series */
} route_metrics_t;

struct tv_http {
    tv_http_opts_t o;
    struct MHD_Daemon *d;
    tv_http_static_t files;
    route_metrics_t *rm;   /* nroutes + 1 */
    size_t nroutes;
};

static const double latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25, 0.5, 1, 2.5, 5, 10};
static tv_metric_family_t *requests_family(void)
{
    return tv_metrics_family(TV_METRIC_COUNTER, "tavern_http_requests_total",
                             "HTTP requests answered, by server (api, console), method, route "
                             "pattern and status.", "server,method,route,status", NULL, 0);
}

static tv_metric_family_t *duration_family(void)
{
    return tv_metrics_family(
        TV_METRIC_HISTOGRAM, "tavern_http_request_duration_seconds",
        "Time from an HTTP request's head to its answer, by server, method and route pattern.",
        "server,method,route", latency_bounds, sizeof latency_bounds / sizeof latency_bounds[0]);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int metrics_init(tv_http_t *h)
{
    for (const tv_http_route_t *r = h->o.routes; r->method; r++)
        h->nroutes++;
    if (!(h->rm = calloc(h->nroutes + 1, sizeof *h->rm)))
        return TV_ENOMEM;
    duration_family();
    requests_family();
    for (size_t i = 0; i <= h->nroutes; i++) {
        route_metrics_t *m = &h->rm[i];
        m->method = i < h->nroutes ? h->o.routes[i].method : "other";
        m->route = i < h->nroutes ? h->o.routes[i].pattern : "unmatched";
    }
    return TV_OK;
}

static tv_metric_t *duration_series(tv_http_t *h, route_metrics_t *m)
{
    tv_metric_t *s = atomic_load_explicit(&m->duration, memory_order_acquire);
    if (!s) { /* two threads may both look it up: the registry gives both the same one */
        const char *v[] = {h->o.name, m->method, m->route};
        s = tv_metrics_series(duration_family(), v);
        atomic_store_explicit(&m->duration, s, memory_order_release);
    }
    return s;
}

static tv_metric_t *status_series(tv_http_t *h, route_metrics_t *m, int status)
{
    char code[16];
    snprintf(code, sizeof code, "%d", status);
    const char *v[] = {h->o.name, m->method, m->route, code};
    for (size_t i = 0; i < NSTATUS; i++) {
        if (common_status[i] != status)
            continue;
        tv_metric_t *s = atomic_load_explicit(&m->by_status[i], memory_order_acquire);
        if (!s) { /* two threads may both look it up: the registry gives both the same one */
            s = tv_metrics_series(requests_family(), v);
            atomic_store_explicit(&m->by_status[i], s, memory_order_release);
        }
        return s;
    }
    return tv_metrics_series(requests_family(), v);
}

/* The answer is queued: count it, time it, and log it when slow. */
static void observe(tv_http_t *h, tv_http_req_t *req)
{
    if (!h->rm || !req->start_ns)
        return;
    size_t idx = req->route ? (size_t)(req->route - h->o.routes) : h->nroutes;
    route_metrics_t *m = &h->rm[idx < h->nroutes ? idx : h->nroutes];
    int64_t dur = mono_ns() - req->start_ns;
    if (dur < 0)
        dur = 0;
    tv_metric_observe_ns(duration_series(h, m), (uint64_t)dur);
    tv_metric_inc(status_series(h, m, req->status));
    int slow = h->o.slow_ms > 0 && dur >= (int64_t)h->o.slow_ms * 1000000;
    if (slow || tv_log_enabled(TV_LOG_DEBUG)) {
        tv_log_set_request(req->request_id);
        tv_log(slow ? TV_LOG_WARN : TV_LOG_DEBUG, "http",
               "%s: server=%s method=%s route=%s status=%d duration_ms=%.3f",
               slow ? "slow request" : "request", h->o.name, req->method, m->route, req->status,
               (double)dur / 1e6);
        tv_log_set_request(NULL);
    }
}

/* X-Request-Id when it is 1-64 bytes of [A-Za-z0-9._:-], else a fresh UUID. */
static void request_id_set(tv_http_req_t *req, const char *given)
{
    size_t n = given ? strlen(given) : 0;
    int ok = n > 0 && n <= TV_HTTP_REQUEST_ID_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = given[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == ':' || c == '-';
    }
    if (ok)
        memcpy(req->request_id, given, n + 1);
    else
        tv_uuid_v4(req->request_id);
}

static void req_free(tv_http_req_t *req)
{
    free(req->method);
    free(req->path);
    free(req->authorization);
    for (int i = 0; i < req->nquery; i++) {
        free(req->query[i].key);
        free(req->query[i].value);
    }
    for (int i = 0; i < TV_HTTP_MAX_PARAMS; i++)
        free(req->params[i]);
    free(req->body);
    cJSON_Delete(req->json);
    tv_token_claims_free(&req->claims);
    free(req->resp);
    free(req->www_auth);
    free(req);
}

static void add_common_headers(struct MHD_Response *r, const char *content_type)
{
    MHD_add_response_header(r, "Content-Type", content_type ? content_type : "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store, no-cache, must-revalidate");
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
}

static enum MHD_Result send_answer(struct MHD_Connection *c, tv_http_req_t *req)
{
    char *body = req->resp;
    req->resp = NULL;
    size_t len = body ? strlen(body) : 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    add_common_headers(r, req->content_type);
    if (req->request_id[0])
        MHD_add_response_header(r, "X-Request-Id", req->request_id);
    if (req->status == 401 && req->www_auth)
        MHD_add_response_header(r, "WWW-Authenticate", req->www_auth);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)req->status, r);
    MHD_destroy_response(r);
    observe(req->http, req);
    return rc;
}

static enum MHD_Result send_preflight(struct MHD_Connection *c)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    add_common_headers(r, NULL);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE");
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, User-Agent, X-Request-Id");
    MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* Decodes %HH like libmicrohttpd's own, but turns a decoded NUL into the byte 0xFF: a NUL
 * would end the C string early ("/healthcheck%00.php" reading as "/healthcheck"), whereas
 * 0xFF is never valid UTF-8, so such a path matches no route and such a query is refused. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    size_t n = MHD_http_unescape(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] == 0)
            s[i] = (char)0xff;
    return n;
}

static enum MHD_Result copy_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    tv_http_req_t *req = cls;
    if (!tv_utf8_valid(key) || (value && !tv_utf8_valid(value))) {
        req->bad_query = 1;
        return MHD_NO;
    }
    if (req->nquery == TV_HTTP_MAX_QUERY) {
        req->bad_query = 1;
        return MHD_NO;
    }
    kv_t *kv = &req->query[req->nquery];
    kv->key = strdup(key);
    kv->value = strdup(value ? value : "");
    if (!kv->key || !kv->value) {
        free(kv->key);
        free(kv->value);
        return MHD_NO;
    }
    req->nquery++;
    return MHD_YES;
}

static void run_request(void *arg)
{
    tv_http_req_t *req = arg;
    tv_http_t *h = req->http;
    const char *msg = "Auth token invalid";
    tv_log_set_request(req->request_id);
    int rc = req->route->auth == TV_HTTP_AUTH_NONE
                 ? TV_OK
                 : h->o.auth(h->o.app, req->route->auth, req, &msg);
    if (rc != TV_OK)
        tv_http_error(req, rc == TV_EPERM || rc == TV_EUNAVAIL ? rc : TV_EUNAUTH, msg);
    else
        req->route->fn(req, h->o.app);
    if (req->state != REQ_ANSWERED) {
        tv_log_error("http", "%s %s: handler gave no answer", req->method, req->path);
        tv_http_error(req, TV_EINTERNAL, "Internal server error.");
    }
    if (h->o.done)
        h->o.done(h->o.app, req);
    tv_log_set_request(NULL);
    MHD_resume_connection(req->conn);
}

static int append_body(tv_http_req_t *req, const char *data, size_t n, size_t max)
{
    if (req->body_too_large || req->body_len + n > max) {
        req->body_too_large = 1;
        return TV_OK; /* keep reading so the client gets a clean answer */
    }
    if (req->body_len + n + 1 > req->body_cap) {
        size_t cap = (req->body_len + n + 1) * 2;
        cap = cap > max + 1 ? max + 1 : cap;
        char *b = realloc(req->body, cap);
        if (!b)
            return TV_ENOMEM;
        req->body = b;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, n);
    req->body_len += n;
    req->body[req->body_len] = 0;
    return TV_OK;
}

static enum MHD_Result answer_now(struct MHD_Connection *c, tv_http_req_t *req, int err,
                                  const char *msg)
{
    tv_http_error(req, err, msg);
    return send_answer(c, req);
}

/* The whole request is in: answer the cheap cases here, queue the rest on a worker. */
static enum MHD_Result dispatch(tv_http_t *h, struct MHD_Connection *c, tv_http_req_t *req)
{
    if (req->body_too_large)
        return answer_now(c, req, TV_EINVAL, "Request body too large.");
    if (!req->route && !req->method_mismatch) {
        enum MHD_Result res;
        int rc = tv_http_static_answer(&h->files, c, req, &res);
        if (rc == TV_OK)
            return res;
        if (rc == TV_EUNIMPL)
            req->method_mismatch = 1;
    }
    if (!req->route)
        return req->method_mismatch ? answer_now(c, req, TV_EUNIMPL, "Method Not Allowed")
                                    : answer_now(c, req, TV_ENOTFOUND, "Not Found");
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, copy_query, req);
    if (req->bad_query)
        return answer_now(c, req, TV_EINVAL, "Invalid query string: at most 128 parameters, "
                                             "UTF-8 text.");
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth && !(req->authorization = strdup(auth)))
        return MHD_NO;
    req->conn = c;
    req->state = REQ_QUEUED;
    MHD_suspend_connection(c);
    int rc = tv_workers_submit(h->o.workers, run_request, req);
    if (rc == TV_OK)
        return MHD_YES;
    MHD_resume_connection(c);
    req->state = REQ_READING;
    tv_log_set_request(req->request_id);
    tv_log_warn("http", "worker queue full: %s %s refused", req->method, req->path);
    tv_log_set_request(NULL);
    return answer_now(c, req, TV_EUNAVAIL, "Server busy, try again.");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    tv_http_t *h = cls;
    tv_http_req_t *req = *con_cls;
    if (!req) {
        if (strcmp(method, "OPTIONS") == 0)
            return send_preflight(c);
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        req->http = h;
        req->start_ns = mono_ns();
        request_id_set(req, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id"));
        req->method = strdup(strcmp(method, "HEAD") == 0 ? "GET" : method);
        req->path = strdup(url);
        if (!req->method || !req->path)
            return MHD_NO;
        req->route = tv_http_route_find(h->o.routes, req);
        return MHD_YES;
    }
    if (req->state == REQ_ANSWERED)
        return send_answer(c, req);
    if (*upload_size) {
        if (append_body(req, upload, *upload_size, h->o.max_body))
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->state == REQ_QUEUED) /* resumed without an answer cannot happen */
        return MHD_NO;
    return dispatch(h, c, req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    if (*con_cls)
        req_free(*con_cls);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    tv_log_debug("http", "%s: %s", ((tv_http_t *)cls)->o.name, msg);
}

int tv_http_start(const tv_http_opts_t *opts, tv_http_t **out)
{
    tv_http_t *h = calloc(1, sizeof *h);
    if (!h)
        return TV_ENOMEM;
    h->o = *opts;
    if (metrics_init(h) != TV_OK) {
        free(h);
        return TV_ENOMEM;
    }
    if (tv_http_static_init(&h->files, opts->files) != TV_OK) {
        free(h->rm);
        free(h);
        return TV_ENOMEM;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    struct sockaddr_storage ss;
    unsigned sslen;
    if (tv_sockaddr_parse(opts->address ? opts->address : "0.0.0.0", opts->port > 0 ? opts->port : 0,
                          &ss, &sslen) != TV_OK) {
        tv_log_error("http", "%s: bad listen address '%s'", opts->name, opts->address);
        tv_http_static_free(&h->files);
        free(h->rm);
        free(h);
        return TV_EINVAL;
    }
    if (opts->port < 0)
        flags |= MHD_USE_NO_LISTEN_SOCKET;
    else if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(flags, (uint16_t)(opts->port > 0 ? opts->port : 0), NULL, NULL,
        on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, h,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(opts->threads > 0 ? opts->threads : 1),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
        MHD_OPTION_SOCK_ADDR, opts->port >= 0 ? (struct sockaddr *)&ss : NULL,
        MHD_OPTION_END);
    if (!h->d) {
        tv_log_error("http", "%s: cannot start HTTP on %s:%d (port in use?)", opts->name,
                     opts->address ? opts->address : "0.0.0.0", opts->port);
        tv_http_static_free(&h->files);
        free(h->rm);
        free(h);
        return TV_EINTERNAL;
    }
    *out = h;
    return TV_OK;
}

int tv_http_add_connection(tv_http_t *h, int fd, const struct sockaddr *sa, socklen_t salen)
{
    /* libmicrohttpd closes fd itself when it cannot take it */
    return MHD_add_connection(h->d, fd, sa, salen) == MHD_YES ? TV_OK : TV_EUNAVAIL;
}

int tv_http_port(const tv_http_t *h)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void tv_http_stop(tv_http_t *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    tv_http_static_free(&h->files);
    free(h->rm);
    free(h);
}
