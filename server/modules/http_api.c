/* The HTTP side of modules: POST/GET /v2/rpc/{id} as Nakama's RpcFuncHttp answers it, and the
 * before/after hooks around API handlers. Hooks need what http.h does not offer (replacing the
 * request body, reading the answer), so this file alone reads the request record itself. */
#include "internal.h"
#include "app.h"
#include "error.h"
#include "http_internal.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nakama sends this one text for every body that is not a JSON string. */
#define BAD_JSON "json: cannot unmarshal object into Go value of type string"

typedef struct {
    tv_mod_caller_t who;
    tv_mod_kv_t *query; /* owned array; the strings are the request's */
} req_caller_t;

/* Who calls, from the request's verified claims (empty with an HTTP key or the server key)
 * and its query parameters, http_key left out as Nakama does. */
static int caller_init(req_caller_t *c, const tv_http_req_t *req)
{
    const tv_token_claims_t *cl = tv_http_claims(req);
    memset(c, 0, sizeof *c);
    c->who.user_id = cl->uid;
    c->who.username = cl->usn;
    c->who.vars_json = cl->vrs;
    c->who.expiry = cl->uid[0] ? cl->exp : 0;
    if (req->nquery && !(c->query = calloc((size_t)req->nquery, sizeof *c->query)))
        return TV_ENOMEM;
    for (int i = 0; i < req->nquery; i++)
        if (strcmp(req->query[i].key, "http_key") != 0)
            c->query[c->who.nquery++] = (tv_mod_kv_t){req->query[i].key, req->query[i].value};
    c->who.query = c->query;
    return TV_OK;
}

static void caller_free(req_caller_t *c)
{
    free(c->query);
}

static void reply_obj(tv_http_req_t *req, int status, cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (s)
        tv_http_reply_raw(req, status, s);
    else
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
    free(s);
}

/* /v2/rpc's own error shape: {"error":m,"message":m,"code":N}. */
static void rpc_error(tv_http_req_t *req, int code, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddNumberToObject(o, "code", code);
    reply_obj(req, tv_error_grpc_to_http(code), o);
}

/* The usual API error shape for a module's gRPC code. */
static void grpc_error(tv_http_req_t *req, int code, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "code", code);
    cJSON_AddStringToObject(o, "message", msg);
    if (code == TV_GRPC_UNAUTHENTICATED && !req->www_auth)
        req->www_auth = strdup(msg);
    reply_obj(req, tv_error_grpc_to_http(code), o);
}

/* --- RPC ---------------------------------------------------------------------------------- */

/* POST: the body, decoded from a JSON string unless ?unwrap; GET: empty (Nakama's quirk: a
 * GET's payload parameter reaches the function only among the query parameters). */
static int read_payload(tv_http_req_t *req, int unwrap, char **payload, size_t *len)
{
    size_t n = 0;
    const char *body = strcmp(tv_http_method(req), "POST") == 0 ? tv_http_body(req, &n) : "";
    if (n > 0 && !unwrap)
        return tv_mod_json_unquote(body, n, payload, len);
    if (!(*payload = malloc(n + 1)))
        return TV_ENOMEM;
    memcpy(*payload, body, n);
    (*payload)[n] = 0;
    *len = n;
    return TV_OK;
}

/* {"payload":"..."} without an id; {} when empty (nakama-js reads both the same). ?unwrap
 * answers the bytes as they are. */
static void reply_payload(tv_http_req_t *req, const char *out, size_t len, int unwrap)
{
    if (unwrap) {
        tv_http_reply_raw(req, 200, out); /* text up to a NUL: the reply is a C string */
        return;
    }
    if (len == 0) {
        tv_http_reply_raw(req, 200, "{}");
        return;
    }
    size_t qlen;
    char *q = tv_mod_json_quote(out, len, &qlen);
    char *body = q ? malloc(qlen + 13) : NULL;
    if (body) {
        snprintf(body, qlen + 13, "{\"payload\":%s}", q);
        tv_http_reply_raw(req, 200, body);
    } else {
        rpc_error(req, TV_GRPC_INTERNAL, "Internal Server Error");
    }
    free(q);
    free(body);
}

void tv_mod_rpc_http(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    const char *id = tv_http_param(req, 0);
    if (!tv_mod_rpc_exists(app->modules, id)) { /* before the body, as Nakama */
        rpc_error(req, TV_GRPC_NOT_FOUND, "RPC function not found");
        return;
    }
    int unwrap = tv_http_query(req, "unwrap", NULL) != NULL, code = 0;
    char *payload = NULL, *out = NULL, *msg = NULL;
    size_t plen = 0, olen = 0;
    req_caller_t c = {0};
    int rc = read_payload(req, unwrap, &payload, &plen);
    if (rc == TV_OK)
        rc = caller_init(&c, req);
    if (rc == TV_OK)
        rc = tv_mod_rpc_call(app->modules, id, payload, plen, &c.who, &out, &olen, &code, &msg);
    if (rc == TV_EINVAL)
        rpc_error(req, TV_GRPC_INVALID_ARGUMENT, BAD_JSON);
    else if (rc == TV_ENOTFOUND) /* unloaded by a reload since the check above */
        rpc_error(req, TV_GRPC_NOT_FOUND, "RPC function not found");
    else if (rc != TV_OK)
        rpc_error(req, TV_GRPC_INTERNAL, "Internal Server Error");
    else if (code)
        rpc_error(req, code, msg);
    else
        reply_payload(req, out, olen, unwrap);
    caller_free(&c);
    free(payload);
    free(out);
    free(msg);
}

/* --- hooks -------------------------------------------------------------------------------- */

/* The hook's answer becomes the request body the handler reads. */
static void replace_body(tv_http_req_t *req, tv_mod_reply_t *rep)
{
    free(req->body);
    req->body = rep->data;
    req->body_len = rep->len;
    req->body_cap = rep->len + 1;
    rep->data = NULL;
    cJSON_Delete(req->json); /* parsed from the old body */
    req->json = NULL;
}

/* Returns TV_OK to go on to the handler, or an error after answering the request. */
static int run_before(tv_http_req_t *req, const mod_entry_t *e, const char *api)
{
    req_caller_t c;
    tv_mod_reply_t rep = {0};
    int rc = caller_init(&c, req);
    if (rc == TV_OK) {
        size_t len;
        const char *in = tv_http_body(req, &len);
        int code = tv_mod_call_hook(e, api, &c.who, in, len, NULL, 0, &rep);
        if (code) {
            tv_log_debug("modules", "%s: before hook %s refused the call (%d)", e->mod->name,
                         api, code);
            grpc_error(req, code, rep.message ? rep.message : "Refused by a before hook.");
            rc = TV_EPERM;
        } else if (rep.data) {
            replace_body(req, &rep);
        }
    } else {
        grpc_error(req, TV_GRPC_INTERNAL, "Internal server error.");
    }
    caller_free(&c);
    tv_mod_reply_clear(&rep);
    return rc;
}

static void run_after(tv_http_req_t *req, const mod_entry_t *e, const char *api)
{
    req_caller_t c;
    tv_mod_reply_t rep = {0};
    if (caller_init(&c, req) == TV_OK) {
        size_t len;
        const char *in = tv_http_body(req, &len);
        const char *result = req->resp ? req->resp : "{}";
        int code = tv_mod_call_hook(e, api, &c.who, in, len, result, strlen(result), &rep);
        if (code)
            tv_log_warn("modules", "%s: after hook %s failed (%d): %s", e->mod->name, api, code,
                        rep.message ? rep.message : "no message");
    }
    caller_free(&c);
    tv_mod_reply_clear(&rep);
}

/* Lower-cases api into key; 0 when it does not fit (no hook can match then). */
static int lower_into(char *key, size_t cap, const char *api)
{
    size_t n = strlen(api);
    if (n >= cap)
        return 0;
    for (size_t i = 0; i <= n; i++)
        key[i] = (char)tolower((unsigned char)api[i]);
    return 1;
}

void tv_mod_hooked(tv_http_req_t *req, void *p, const char *api, tv_http_handler_fn fn)
{
    tv_app_t *app = p;
    tv_mod_gen_t *g = tv_mod_acquire(app->modules);
    const mod_entry_t *before = NULL, *after = NULL;
    char key[128];
    if (g && (g->ntab[KIND_BEFORE] || g->ntab[KIND_AFTER]) && lower_into(key, sizeof key, api)) {
        before = tv_mod_gen_find(g, KIND_BEFORE, key);
        after = tv_mod_gen_find(g, KIND_AFTER, key);
    }
    if (!before || run_before(req, before, api) == TV_OK)
        fn(req, app);
    if (after && req->state == REQ_ANSWERED && req->status == 200)
        run_after(req, after, api);
    tv_mod_release(g); /* only now: the hooks' code must stay loaded while they run */
}
