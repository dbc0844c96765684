/* libmicrohttpd daemons and the request life cycle: read the body (bounded), copy what the
 * handler needs, suspend the connection, run auth + handler on a worker, resume and answer.
 * CORS preflights, unknown routes, static files and oversized bodies are answered on the I/O
 * thread. */
#include "http_internal.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONN_TIMEOUT_S 30
#define CONN_MEMORY (64 * 1024) /* per connection: bounds the request head */
#define MAX_CONNECTIONS 16384

struct tv_http {
    tv_http_opts_t o;
    struct MHD_Daemon *d;
    tv_http_static_t files;
};

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

static void add_common_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Type", "application/json");
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
    add_common_headers(r);
    if (req->status == 401 && req->www_auth)
        MHD_add_response_header(r, "WWW-Authenticate", req->www_auth);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)req->status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_preflight(struct MHD_Connection *c)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    add_common_headers(r);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE");
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, User-Agent");
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
    tv_log_warn("http", "worker queue full: %s %s refused", req->method, req->path);
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
    if (tv_http_static_init(&h->files, opts->files) != TV_OK) {
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
    free(h);
}
