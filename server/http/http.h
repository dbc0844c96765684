/* The REST side: libmicrohttpd daemons (the public API behind the acceptor, the console on its
 * own port), a route table, and requests handed to a worker pool so the I/O threads never wait
 * on SQL or password hashing. Handlers read a tv_http_req_t and answer with tv_http_reply_*. */
#ifndef TV_HTTP_HTTP_H
#define TV_HTTP_HTTP_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/socket.h>

#include "embedded.h"
#include "token.h"
#include "workers.h"

typedef struct tv_http tv_http_t;
typedef struct tv_http_req tv_http_req_t;

typedef enum {
    TV_HTTP_AUTH_NONE,       /* no credentials */
    TV_HTTP_AUTH_SERVER_KEY, /* Basic base64("<server key>:") */
    TV_HTTP_AUTH_SESSION,    /* Bearer session token */
    TV_HTTP_AUTH_CONSOLE,    /* Bearer console token */
    TV_HTTP_AUTH_RPC,        /* ?http_key=, Basic base64("<http key>:") or a Bearer session
                                token; with a key the claims stay empty (no user) */
} tv_http_auth_t;

/* Runs on a worker thread; must answer with exactly one tv_http_reply_* / tv_http_error. */
typedef void (*tv_http_handler_fn)(tv_http_req_t *req, void *app);

typedef struct tv_http_route {
    const char *method;  /* "GET", "POST", "PUT", "DELETE" */
    const char *pattern; /* "/v2/account", "/v2/user/{id}/group": {x} is one path segment */
    tv_http_auth_t auth;
    tv_http_handler_fn fn;
} tv_http_route_t;

/* Checks the credentials a route asks for; fills req's claims for session/console tokens.
 * Returns TV_OK, or with the message to send (Nakama's wording; borrowed, read at once):
 * TV_EUNAUTH (401), TV_EPERM (403: the credentials are good but may not call this route) or
 * TV_EUNAVAIL (503: the check needed the database and it failed). */
typedef int (*tv_http_auth_fn)(void *app, tv_http_auth_t kind, tv_http_req_t *req,
                               const char **message);

typedef struct tv_http_opts {
    const char *name;              /* "api" / "console", for logs */
    const char *address;           /* listen address, when port > 0 */
    int port;                      /* >= 0: listen here (0 = a free port); -1: sockets come
                                      only through tv_http_add_connection */
    int threads;                   /* I/O threads */
    size_t max_body;               /* larger bodies get 400 */
    const tv_http_route_t *routes; /* ends with a {NULL} entry; borrowed for the daemon's life */
    tv_http_auth_fn auth;
    void *app;                     /* passed to handlers */
    tv_workers_t *workers;         /* borrowed */
    const tv_embedded_t *files;    /* optional static files (borrowed, {NULL}-terminated):
                                      GET/HEAD of a path outside /v2/ that no route takes
                                      answers the file of that name ("/" is index.html) */
    /* When set: runs on the worker after every routed request has its answer (the auth
     * refusals included), before the answer is sent; may read req, never answer it. */
    void (*done)(void *app, tv_http_req_t *req);
    int slow_ms;                   /* requests answered after this many ms get a warn line
                                      (0: never); at debug level every request gets one */
} tv_http_opts_t;

/* Starts a daemon. *out is owned by the caller (tv_http_stop). TV_EINTERNAL with a logged
 * reason when libmicrohttpd cannot start (e.g. the port is taken). */
int tv_http_start(const tv_http_opts_t *opts, tv_http_t **out);
/* Hands an accepted socket to a daemon started with port 0. Takes ownership of fd. */
int tv_http_add_connection(tv_http_t *h, int fd, const struct sockaddr *sa, socklen_t salen);
/* The port a listening daemon bound (0 for one without a listen socket). */
int tv_http_port(const tv_http_t *h);
void tv_http_stop(tv_http_t *h);

/* --- reading a request (all borrowed for the handler's duration) --- */
const char *tv_http_method(const tv_http_req_t *req);
const char *tv_http_path(const tv_http_req_t *req);
/* The idx-th {param} of the route pattern (0-based), URL-decoded; NULL when absent. */
const char *tv_http_param(const tv_http_req_t *req, int idx);
/* The first query value of name (or of alt, the lowerCamel spelling; may be NULL). */
const char *tv_http_query(const tv_http_req_t *req, const char *name, const char *alt);
/* Calls fn for every query value of name or alt, in order; stops early when fn returns
 * non-zero and returns that. */
int tv_http_query_each(const tv_http_req_t *req, const char *name, const char *alt,
                       int (*fn)(const char *value, void *ud), void *ud);
/* The `limit` query value: dflt when absent, else a decimal in 1..max. TV_OK and *out, or
 * TV_EINVAL after answering 400 "Invalid limit - limit must be between 1 and <max>.". */
int tv_http_query_limit(tv_http_req_t *req, int dflt, int max, int *out);
/* The route the request matched (borrowed from the route table). */
const tv_http_route_t *tv_http_route(const tv_http_req_t *req);
/* The status of the answer given so far (0 before one). */
int tv_http_status(const tv_http_req_t *req);
/* The client's address as text ("127.0.0.1", "::1"; "" when unknown) into out[size]. */
void tv_http_peer(const tv_http_req_t *req, char *out, size_t size);
/* The request's id: its X-Request-Id header when sane (1-64 of [A-Za-z0-9._:-]), else a
 * fresh UUID; echoed in the answer's X-Request-Id and carried by every log line logged while
 * the handler runs. */
const char *tv_http_request_id(const tv_http_req_t *req);
/* The Authorization header, or NULL. */
const char *tv_http_authorization(const tv_http_req_t *req);
const char *tv_http_body(const tv_http_req_t *req, size_t *len);
/* Parses the body as JSON; an empty body reads as {}. Returns NULL and answers 400 itself
 * when the body is not JSON or not an object. The result is owned by the request. */
cJSON *tv_http_body_json(tv_http_req_t *req);
/* The verified token claims of a session or console route. */
const tv_token_claims_t *tv_http_claims(const tv_http_req_t *req);
tv_token_claims_t *tv_http_claims_mut(tv_http_req_t *req);

/* --- answering (exactly one per request) --- */
/* 200 with body (consumed; NULL means {}). */
void tv_http_reply_json(tv_http_req_t *req, cJSON *body);
/* Any status with a raw JSON text (copied). */
void tv_http_reply_raw(tv_http_req_t *req, int status, const char *json);
/* Any status with a text body (consumed) of the given type (static text, e.g.
 * "text/plain; version=0.0.4; charset=utf-8"). */
void tv_http_reply_text(tv_http_req_t *req, int status, const char *content_type, char *body);
/* Nakama's error shape {"code":grpc,"message":msg} with the status for err (a TV_E* code);
 * a 401 also carries WWW-Authenticate. */
void tv_http_error(tv_http_req_t *req, int err, const char *msg);

/* The answer for a failed database call: 503 when it may work on a retry (pool exhausted,
 * connection lost, contention), 500 otherwise. The cause is logged, never sent. */
void tv_http_db_error(tv_http_req_t *req, int err);

#endif
