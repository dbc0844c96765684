/* The request record shared by the http room's files (http.c, router.c, reply.c). */
#ifndef TV_HTTP_INTERNAL_H
#define TV_HTTP_INTERNAL_H

#include "http.h"

#include <microhttpd.h>
#include <stdint.h>

#define TV_HTTP_MAX_PARAMS 4
#define TV_HTTP_MAX_QUERY 128 /* GET /v2/user takes up to 100 ids + usernames */
#define TV_HTTP_REQUEST_ID_MAX 64

typedef enum { REQ_READING, REQ_QUEUED, REQ_ANSWERED } req_state_t;

typedef struct {
    char *key, *value;
} kv_t;

struct tv_http_req {
    tv_http_t *http;
    struct MHD_Connection *conn;
    req_state_t state;
    char *method, *path;
    char *authorization;
    kv_t query[TV_HTTP_MAX_QUERY];
    int nquery;
    int bad_query;       /* a query value that is not UTF-8, or too many of them */
    char *params[TV_HTTP_MAX_PARAMS];
    const tv_http_route_t *route;
    int method_mismatch; /* the path exists with another method */
    char *body;
    size_t body_len, body_cap;
    int body_too_large;
    cJSON *json;
    tv_token_claims_t claims;
    /* the answer */
    int status;
    char *resp;          /* owned JSON text (or text of content_type) */
    char *www_auth;      /* owned, for 401 */
    const char *content_type; /* static; NULL = application/json */
    /* observability */
    int64_t start_ns;    /* monotonic, when the request head was in */
    char request_id[TV_HTTP_REQUEST_ID_MAX + 1];
};

/* router.c: finds the route for method + path, filling req->params (owned) and
 * req->method_mismatch. NULL when none. */
const tv_http_route_t *tv_http_route_find(const tv_http_route_t *routes, tv_http_req_t *req);

/* static.c: the embedded files of a daemon (tv_http_opts_t.files) with their ETags. */
typedef struct {
    const tv_embedded_t *files; /* borrowed; NULL when the daemon serves none */
    size_t n;
    char (*etags)[20];          /* owned: "\"<16 hex>\"" per file */
} tv_http_static_t;

/* Computes the ETags. TV_OK or TV_ENOMEM. */
int tv_http_static_init(tv_http_static_t *st, const tv_embedded_t *files);
void tv_http_static_free(tv_http_static_t *st);
/* Answers a request that matched no route from the files: TV_OK when it queued an answer
 * (*result is libmicrohttpd's), TV_ENOTFOUND when no file has that path (paths under /v2/
 * never do), TV_EUNIMPL for a file asked with a method other than GET or HEAD. */
int tv_http_static_answer(const tv_http_static_t *st, struct MHD_Connection *c,
                          const tv_http_req_t *req, enum MHD_Result *result);

#endif
