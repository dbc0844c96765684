/* Calling into modules: the context a callback sees, RPC calls and hook calls. Each call holds
 * a reference on its generation, so the module's code stays loaded until the call returns even
 * when a reload replaces it meanwhile. */
#include "internal.h"
#include "error.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tv_mod_ctx_t ctx;
    cJSON *vars_json;   /* owns the strings vars point at */
    tv_mod_kv_t *vars;
} call_ctx_t;

static const char *str(const char *s)
{
    return s ? s : "";
}

/* The session vars (a JSON object of strings) as key/value pairs; others are skipped. */
static int read_vars(call_ctx_t *c, const char *json)
{
    if (!json || !*json)
        return TV_OK;
    c->vars_json = cJSON_Parse(json);
    int n = cJSON_GetArraySize(c->vars_json);
    if (n <= 0)
        return TV_OK;
    if (!(c->vars = calloc((size_t)n, sizeof *c->vars)))
        return TV_ENOMEM;
    for (const cJSON *v = c->vars_json->child; v; v = v->next)
        if (cJSON_IsString(v) && v->string)
            c->vars[c->ctx.nvars++] = (tv_mod_kv_t){v->string, v->valuestring};
    c->ctx.vars = c->vars;
    return TV_OK;
}

static int ctx_init(call_ctx_t *c, tv_module_t *mod, const char *rpc_id, const char *api,
                    const tv_mod_caller_t *who)
{
    static const tv_mod_caller_t nobody;
    who = who ? who : &nobody;
    memset(c, 0, sizeof *c);
    c->ctx.size = sizeof c->ctx;
    c->ctx.module = mod;
    c->ctx.rpc_id = str(rpc_id);
    c->ctx.api = str(api);
    c->ctx.user_id = str(who->user_id);
    c->ctx.username = str(who->username);
    c->ctx.expiry = who->expiry;
    c->ctx.session_id = str(who->session_id);
    c->ctx.query = who->query;
    c->ctx.nquery = who->query ? who->nquery : 0;
    return read_vars(c, who->vars_json);
}

static void ctx_free(call_ctx_t *c)
{
    cJSON_Delete(c->vars_json);
    free(c->vars);
}

/* 1-16 stay; anything else is 13, as Nakama does for errors without a valid code. */
int tv_mod_grpc_code(int code)
{
    return code >= 1 && code <= 16 ? code : TV_GRPC_INTERNAL;
}

void tv_mod_reply_clear(tv_mod_reply_t *r)
{
    free(r->data);
    free(r->message);
    memset(r, 0, sizeof *r);
    r->size = sizeof *r;
}

/* Makes r->data a NUL-terminated block of r->len bytes owned by the server (a module may
 * have allocated exactly len bytes). */
static int terminate_data(tv_mod_reply_t *r)
{
    char *d = realloc(r->data, r->len + 1);
    if (!d)
        return TV_ENOMEM;
    d[r->len] = 0;
    r->data = d;
    return TV_OK;
}

int tv_mod_call_hook(const mod_entry_t *e, const char *api, const tv_mod_caller_t *who,
                     const char *in, size_t in_len, const char *result, size_t result_len,
                     tv_mod_reply_t *rep)
{
    call_ctx_t c;
    tv_mod_reply_clear(rep);
    int code = ctx_init(&c, e->mod, "", api, who);
    if (code == TV_OK && e->kind == KIND_BEFORE)
        code = e->fn.before(&c.ctx, in, in_len, rep);
    else if (code == TV_OK)
        code = e->fn.after(&c.ctx, result, result_len, in, in_len, rep);
    else
        code = TV_GRPC_INTERNAL;
    ctx_free(&c);
    if (code == 0 && rep->data && terminate_data(rep) != TV_OK)
        code = TV_GRPC_INTERNAL;
    return code ? tv_mod_grpc_code(code) : 0;
}

/* Runs the function; fills the outputs as tv_mod_rpc_call documents. */
static int run_rpc(const mod_entry_t *e, const char *payload, size_t len,
                   const tv_mod_caller_t *who, char **out, size_t *out_len, int *code,
                   char **message)
{
    call_ctx_t c;
    tv_mod_reply_t rep = {.size = sizeof rep};
    int rc = ctx_init(&c, e->mod, e->key, "", who);
    int fc = rc == TV_OK ? e->fn.rpc(&c.ctx, payload ? payload : "", payload ? len : 0, &rep)
                         : 0;
    ctx_free(&c);
    if (rc == TV_OK && fc == 0 && (rc = terminate_data(&rep)) == TV_OK) {
        *out = rep.data;
        *out_len = rep.len;
        rep.data = NULL;
    } else if (rc == TV_OK) {
        *code = tv_mod_grpc_code(fc);
        *message = rep.message ? rep.message : strdup("RPC function failed.");
        rep.message = NULL;
        if (!*message)
            rc = TV_ENOMEM;
    }
    tv_mod_reply_clear(&rep);
    return rc;
}

/* Runs the before hook of b's API, if any: 0 to go on (*payload and *len then point at the
 * hook's replacement, kept in rep, or stay), else the refusal's code with *message set. */
static int builtin_before(const tv_mod_gen_t *g, const mod_builtin_t *b,
                          const tv_mod_caller_t *who, const char **payload, size_t *len,
                          tv_mod_reply_t *rep, char **message)
{
    const mod_entry_t *e = b->hook_api ? tv_mod_gen_find(g, KIND_BEFORE, b->hook_key) : NULL;
    if (!e)
        return 0;
    int code = tv_mod_call_hook(e, b->hook_api, who, *payload, *len, NULL, 0, rep);
    if (code) {
        tv_log_debug("modules", "%s: before hook %s refused the call (%d)", e->mod->name,
                     b->hook_api, code);
        *message = rep->message ? rep->message : strdup("Refused by a before hook.");
        rep->message = NULL;
        return code;
    }
    if (rep->data) {
        *payload = rep->data;
        *len = rep->len;
    }
    return 0;
}

/* Runs the after hook of b's API on a successful answer; its failure is only logged, as
 * over REST: the call has happened. */
static void builtin_after(const tv_mod_gen_t *g, const mod_builtin_t *b,
                          const tv_mod_caller_t *who, const char *payload, size_t len,
                          const char *result)
{
    const mod_entry_t *e = b->hook_api ? tv_mod_gen_find(g, KIND_AFTER, b->hook_key) : NULL;
    if (!e)
        return;
    tv_mod_reply_t rep = {.size = sizeof rep};
    int code = tv_mod_call_hook(e, b->hook_api, who, payload, len, result, strlen(result), &rep);
    if (code)
        tv_log_warn("modules", "%s: after hook %s failed (%d): %s", e->mod->name, b->hook_api,
                    code, rep.message ? rep.message : "no message");
    tv_mod_reply_clear(&rep);
}

/* A built-in RPC inside the hooks of its API (g, held by the caller, keeps their code
 * loaded); fills the outputs as tv_mod_rpc_call documents. */
static int run_builtin(const tv_mod_gen_t *g, const mod_builtin_t *b, const char *payload,
                       size_t len, const tv_mod_caller_t *who, char **out, size_t *out_len,
                       int *code, char **message)
{
    tv_mod_reply_t rep = {.size = sizeof rep};
    if (!payload) {
        payload = "";
        len = 0;
    }
    int rc = TV_OK;
    *code = g ? builtin_before(g, b, who, &payload, &len, &rep, message) : 0;
    if (*code == 0) {
        *code = b->fn(b->ud, who, payload, len, out, message);
        if (*code == 0 && !*out && !(*out = strdup("")))
            rc = TV_ENOMEM;
    }
    if (rc == TV_OK && *code == 0) {
        *out_len = strlen(*out);
        if (g)
            builtin_after(g, b, who, payload, len, *out);
    } else if (rc == TV_OK) {
        *code = tv_mod_grpc_code(*code);
        free(*out);
        *out = NULL;
        if (!*message && !(*message = strdup("RPC function failed.")))
            rc = TV_ENOMEM;
    }
    tv_mod_reply_clear(&rep);
    return rc;
}

int tv_mod_rpc_call(tv_mod_registry_t *r, const char *id, const char *payload, size_t len,
                    const tv_mod_caller_t *who, char **out, size_t *out_len, int *code,
                    char **message)
{
    *out = *message = NULL;
    *out_len = 0;
    *code = 0;
    char *key = tv_mod_lower(id ? id : "");
    if (!key)
        return TV_ENOMEM;
    tv_mod_gen_t *g = tv_mod_acquire(r);
    const mod_entry_t *e = g ? tv_mod_gen_find(g, KIND_RPC, key) : NULL;
    const mod_builtin_t *b = e ? NULL : tv_mod_builtin_find(r, key);
    int rc = e   ? run_rpc(e, payload, len, who, out, out_len, code, message)
             : b ? run_builtin(g, b, payload, len, who, out, out_len, code, message)
                 : TV_ENOTFOUND;
    tv_mod_release(g);
    free(key);
    return rc;
}

int tv_mod_rpc_exists(tv_mod_registry_t *r, const char *id)
{
    char *key = tv_mod_lower(id ? id : "");
    tv_mod_gen_t *g = tv_mod_acquire(r);
    int found = key && ((g && tv_mod_gen_find(g, KIND_RPC, key)) || tv_mod_builtin_find(r, key));
    tv_mod_release(g);
    free(key);
    return found;
}

int tv_mod_lb_reset_call(tv_mod_registry_t *r, const char *id, int tournament, int64_t reset_time)
{
    tv_mod_gen_t *g = tv_mod_acquire(r);
    const mod_entry_t *e = g ? tv_mod_gen_find(g, KIND_LB_RESET, LB_RESET_KEY) : NULL;
    int code = 0;
    if (e) {
        call_ctx_t c;
        code = ctx_init(&c, e->mod, "", "", NULL) == TV_OK
                   ? e->fn.lb_reset(&c.ctx, id, tournament, reset_time)
                   : TV_GRPC_INTERNAL;
        ctx_free(&c);
        if (code)
            tv_log_warn("modules", "%s: leaderboard reset hook for %s returned %d",
                        e->mod->name, id, code);
    }
    tv_mod_release(g);
    return e ? code : TV_ENOTFOUND;
}

int tv_mod_mm_matched_call(tv_mod_registry_t *r, const char *entries, char **match_id)
{
    *match_id = NULL;
    tv_mod_gen_t *g = tv_mod_acquire(r);
    const mod_entry_t *e = g ? tv_mod_gen_find(g, KIND_MM_MATCHED, MM_MATCHED_KEY) : NULL;
    int code = 0;
    if (e) {
        call_ctx_t c;
        code = ctx_init(&c, e->mod, "", "", NULL) == TV_OK
                   ? e->fn.mm_matched(&c.ctx, entries, match_id)
                   : TV_GRPC_INTERNAL;
        ctx_free(&c);
        if (code) {
            tv_log_warn("modules", "%s: matchmaker matched hook returned %d", e->mod->name, code);
            free(*match_id); /* host->alloc is malloc */
            *match_id = NULL;
        }
    }
    tv_mod_release(g);
    return e ? (code ? TV_EINTERNAL : TV_OK) : TV_ENOTFOUND;
}

int tv_mod_event_wanted(tv_mod_registry_t *r)
{
    tv_mod_gen_t *g = tv_mod_acquire(r);
    int wanted = g && g->ntab[KIND_EVENT] > 0;
    tv_mod_release(g);
    return wanted;
}

void tv_mod_event_call(tv_mod_registry_t *r, const tv_mod_caller_t *who, const char *json,
                       size_t len)
{
    tv_mod_gen_t *g = tv_mod_acquire(r);
    for (size_t i = 0; g && i < g->ntab[KIND_EVENT]; i++) {
        const mod_entry_t *e = g->tab[KIND_EVENT][i];
        call_ctx_t c;
        int code = ctx_init(&c, e->mod, "", "Event", who) == TV_OK
                       ? e->fn.event(&c.ctx, json, len)
                       : TV_GRPC_INTERNAL;
        ctx_free(&c);
        if (code)
            tv_log_warn("modules", "%s: event hook returned %d", e->mod->name, code);
    }
    tv_mod_release(g);
}
