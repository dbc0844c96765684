/* Reading requests and writing answers: query and body access, Nakama's error shape. */
#include "http_internal.h"
#include "error.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tv_http_method(const tv_http_req_t *req) { return req->method; }
const char *tv_http_path(const tv_http_req_t *req) { return req->path; }
const char *tv_http_authorization(const tv_http_req_t *req) { return req->authorization; }
const tv_http_route_t *tv_http_route(const tv_http_req_t *req) { return req->route; }
int tv_http_status(const tv_http_req_t *req)
{
    return req->state == REQ_ANSWERED ? req->status : 0;
}

void tv_http_peer(const tv_http_req_t *req, char *out, size_t size)
{
    if (!size)
        return;
    out[0] = 0;
    /* the address libmicrohttpd keeps for the connection's life: read-only here */
    const union MHD_ConnectionInfo *ci =
        req->conn ? MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)size);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)size);
}

const char *tv_http_request_id(const tv_http_req_t *req) { return req->request_id; }
const tv_token_claims_t *tv_http_claims(const tv_http_req_t *req) { return &req->claims; }
tv_token_claims_t *tv_http_claims_mut(tv_http_req_t *req) { return &req->claims; }

const char *tv_http_param(const tv_http_req_t *req, int idx)
{
    return idx >= 0 && idx < TV_HTTP_MAX_PARAMS ? req->params[idx] : NULL;
}

static int is_name(const kv_t *kv, const char *name, const char *alt)
{
    return strcmp(kv->key, name) == 0 || (alt && strcmp(kv->key, alt) == 0);
}

const char *tv_http_query(const tv_http_req_t *req, const char *name, const char *alt)
{
    for (int i = 0; i < req->nquery; i++)
        if (is_name(&req->query[i], name, alt))
            return req->query[i].value;
    return NULL;
}

int tv_http_query_each(const tv_http_req_t *req, const char *name, const char *alt,
                       int (*fn)(const char *value, void *ud), void *ud)
{
    for (int i = 0; i < req->nquery; i++) {
        if (!is_name(&req->query[i], name, alt))
            continue;
        int rc = fn(req->query[i].value, ud);
        if (rc)
            return rc;
    }
    return 0;
}

const char *tv_http_body(const tv_http_req_t *req, size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body ? req->body : "";
}

/* 1 when the body holds a NUL, raw or as a \u0000 escape: cJSON's C strings would end there,
 * so "id\u0000tail" would silently read as "id". */
static int has_nul(const char *body, size_t len)
{
    if (memchr(body, 0, len))
        return 1;
    for (size_t i = 0; i + 1 < len; i++) {
        if (body[i] != '\\')
            continue;
        if (body[i + 1] == 'u' && i + 5 < len && memcmp(body + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* skip the escaped character, so "\\u0000" stays plain text */
    }
    return 0;
}

cJSON *tv_http_body_json(tv_http_req_t *req)
{
    if (req->json)
        return req->json;
    if (req->body_len == 0) {
        req->json = cJSON_CreateObject();
        return req->json;
    }
    if (has_nul(req->body, req->body_len)) {
        tv_http_error(req, TV_EINVAL, "Invalid JSON: NUL characters are not allowed.");
        return NULL;
    }
    /* require_null_terminated: anything but white space after the value is an error */
    req->json = cJSON_ParseWithLengthOpts(req->body, req->body_len + 1, NULL, 1);
    if (!cJSON_IsObject(req->json)) {
        cJSON_Delete(req->json);
        req->json = NULL;
        tv_http_error(req, TV_EINVAL, "Invalid JSON: the request body must be a JSON object.");
    }
    return req->json;
}

static void set_answer(tv_http_req_t *req, int status, char *owned_json)
{
    if (req->state == REQ_ANSWERED) { /* a handler answered twice: keep the first */
        free(owned_json);
        return;
    }
    req->status = status;
    req->resp = owned_json;
    req->state = REQ_ANSWERED;
}

void tv_http_reply_json(tv_http_req_t *req, cJSON *body)
{
    char *s = body ? cJSON_PrintUnformatted(body) : strdup("{}");
    cJSON_Delete(body);
    if (!s) {
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
        return;
    }
    set_answer(req, 200, s);
}

void tv_http_reply_text(tv_http_req_t *req, int status, const char *content_type, char *body)
{
    if (!body) {
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
        return;
    }
    if (req->state != REQ_ANSWERED)
        req->content_type = content_type;
    set_answer(req, status, body);
}

void tv_http_reply_raw(tv_http_req_t *req, int status, const char *json)
{
    set_answer(req, status, strdup(json));
}

void tv_http_db_error(tv_http_req_t *req, int err)
{
    tv_log_error("http", "%s %s: database error %s", req->method, req->path, tv_error_name(err));
    if (err == TV_EUNAVAIL || err == TV_ERETRY)
        tv_http_error(req, TV_EUNAVAIL, "Database unavailable, try again.");
    else
        tv_http_error(req, TV_EINTERNAL, "Internal server error.");
}

void tv_http_error(tv_http_req_t *req, int err, const char *msg)
{
    int grpc = tv_error_grpc(err);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "code", grpc);
    cJSON_AddStringToObject(o, "message", msg);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (err == TV_EUNAUTH && !req->www_auth)
        req->www_auth = strdup(msg);
    set_answer(req, tv_error_http(err), s);
}

int tv_http_query_limit(tv_http_req_t *req, int dflt, int max, int *out)
{
    const char *v = tv_http_query(req, "limit", NULL);
    *out = dflt;
    if (!v)
        return TV_OK;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *v == ' ' || *end || errno || n < 1 || n > max) {
        char msg[80];
        snprintf(msg, sizeof msg, "Invalid limit - limit must be between 1 and %d.", max);
        tv_http_error(req, TV_EINVAL, msg);
        return TV_EINVAL;
    }
    *out = (int)n;
    return TV_OK;
}
