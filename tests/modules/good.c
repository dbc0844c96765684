/* The well-behaved test module: RPCs that echo, fail with a chosen code, answer nothing or
 * odd bytes, or describe their caller; before/after hooks on AuthenticateCustom and
 * GetAccount; and a match handler. tests/unit/modules_test.c and tests/integration/
 * rpc.test.mjs drive it. */
#include <tavern/module.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tv_host_api_t *host;
static atomic_int after_custom, after_account;
static char last_user[64];

/* --- a tiny JSON writer for whoami (test values need little escaping) --- */

typedef struct {
    char b[8192];
    size_t n;
} buf_t;

static void put(buf_t *b, const char *s)
{
    size_t n = strlen(s);
    if (b->n + n < sizeof b->b) {
        memcpy(b->b + b->n, s, n);
        b->n += n;
    }
}

static void put_str(buf_t *b, const char *s)
{
    put(b, "\"");
    for (; *s; s++) {
        char c[3] = {*s, 0, 0};
        if (*s == '"' || *s == '\\') {
            c[0] = '\\';
            c[1] = *s;
        }
        put(b, c);
    }
    put(b, "\"");
}

static void put_kv(buf_t *b, const char *name, const tv_mod_kv_t *kv, size_t n)
{
    put(b, ",\"");
    put(b, name);
    put(b, "\":[");
    for (size_t i = 0; i < n; i++) {
        put(b, i ? ",[" : "[");
        put_str(b, kv[i].key);
        put(b, ",");
        put_str(b, kv[i].value);
        put(b, "]");
    }
    put(b, "]");
}

static int whoami(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    buf_t b = {.n = 0};
    char exp[32];
    snprintf(exp, sizeof exp, "%lld", (long long)ctx->expiry);
    put(&b, "{\"rpc_id\":");
    put_str(&b, ctx->rpc_id);
    put(&b, ",\"user_id\":");
    put_str(&b, ctx->user_id);
    put(&b, ",\"username\":");
    put_str(&b, ctx->username);
    put(&b, ",\"expiry\":");
    put(&b, exp);
    put(&b, ",\"payload\":");
    put_str(&b, len == strlen(payload) ? payload : "<binary>");
    put_kv(&b, "vars", ctx->vars, ctx->nvars);
    put_kv(&b, "query", ctx->query, ctx->nquery);
    put(&b, "}");
    return host->reply(out, b.b, b.n);
}

static int echo(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)ctx;
    return host->reply(out, payload, len);
}

/* Fails with the code given as the payload. */
static int fail(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)ctx;
    (void)len;
    int code = atoi(payload);
    return host->fail(out, code, "failed with %d as asked", code);
}

static int empty(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)ctx;
    (void)payload;
    (void)len;
    (void)out;
    return 0;
}

/* Bytes that need escaping: a NUL, HTML characters, an invalid UTF-8 byte, a quote. */
static int binary(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)ctx;
    (void)payload;
    (void)len;
    static const char bytes[] = "a\0b<>&\xff\"\xc3\xa9";
    /* allocated directly, without a NUL: the server must cope */
    out->data = host->alloc(sizeof bytes - 1);
    if (!out->data)
        return TV_GRPC_INTERNAL;
    memcpy(out->data, bytes, sizeof bytes - 1);
    out->len = sizeof bytes - 1;
    return 0;
}

static int hook_stats(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                      tv_mod_reply_t *out)
{
    (void)ctx;
    (void)payload;
    (void)len;
    char s[256];
    int n = snprintf(s, sizeof s, "{\"after_custom\":%d,\"after_account\":%d,\"last_user\":\"%s\"}",
                     atomic_load(&after_custom), atomic_load(&after_account), last_user);
    return host->reply(out, s, (size_t)n);
}

/* --- hooks --- */

/* Refuses custom ids starting "blocked-"; turns "rewrite-" into "rewrote-" (same length). */
static int before_custom(const tv_mod_ctx_t *ctx, const char *in, size_t len,
                         tv_mod_reply_t *out)
{
    (void)ctx;
    if (strstr(in, "\"blocked-"))
        return host->fail(out, TV_GRPC_PERMISSION_DENIED, "custom id blocked by module");
    char *p = strstr(in, "\"rewrite-");
    if (!p)
        return 0;
    int rc = host->reply(out, in, len);
    if (rc == 0)
        memcpy(out->data + (p - in), "\"rewrote-", 9);
    return rc;
}

static int after_custom_fn(const tv_mod_ctx_t *ctx, const char *result, size_t rlen,
                           const char *in, size_t ilen, tv_mod_reply_t *err)
{
    (void)ctx;
    (void)ilen;
    (void)in;
    if (rlen && strstr(result, "\"token\""))
        atomic_fetch_add(&after_custom, 1);
    /* an error here is only logged by the server */
    return strstr(in, "after-fails") ? host->fail(err, TV_GRPC_INTERNAL, "after hook failed") : 0;
}

static int before_account(const tv_mod_ctx_t *ctx, const char *in, size_t len,
                          tv_mod_reply_t *out)
{
    (void)in;
    (void)len;
    for (size_t i = 0; i < ctx->nvars; i++)
        if (strcmp(ctx->vars[i].key, "deny") == 0)
            return host->fail(out, TV_GRPC_PERMISSION_DENIED, "denied by module");
    return 0;
}

static int after_account_fn(const tv_mod_ctx_t *ctx, const char *result, size_t rlen,
                            const char *in, size_t ilen, tv_mod_reply_t *err)
{
    (void)result;
    (void)rlen;
    (void)in;
    (void)ilen;
    (void)err;
    snprintf(last_user, sizeof last_user, "%s", ctx->user_id);
    atomic_fetch_add(&after_account, 1);
    return 0;
}

/* --- a match: the state counts loops; init labels it "good" --- */

typedef struct {
    int loops;
} match_state_t;

static void *m_init(const tv_mod_match_ctx_t *ctx, const char *params, size_t len,
                    tv_mod_match_init_t *out)
{
    (void)ctx;
    (void)params;
    (void)len;
    out->tick_rate = 5;
    out->label = "good";
    return calloc(1, sizeof(match_state_t));
}

static void *m_loop(const tv_mod_match_ctx_t *ctx, void *state,
                    const tv_mod_match_message_t *const *msgs, size_t n)
{
    (void)ctx;
    (void)msgs;
    (void)n;
    match_state_t *s = state;
    if (++s->loops < 3)
        return s;
    free(s); /* NULL ends the match: the state is ours to free */
    return NULL;
}

static const tv_mod_match_handler_t match = {
    .size = sizeof match,
    .init = m_init,
    .loop = m_loop,
};

TV_MODULE("good", "1.2.3");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    if (!TV_HOST_HAS(api, fail))
        return 1;
    int rc = api->register_rpc(mod, "TestEcho", echo);
    rc = rc ? rc : api->register_rpc(mod, "whoami", whoami);
    rc = rc ? rc : api->register_rpc(mod, "fail", fail);
    rc = rc ? rc : api->register_rpc(mod, "empty", empty);
    rc = rc ? rc : api->register_rpc(mod, "binary", binary);
    rc = rc ? rc : api->register_rpc(mod, "hook_stats", hook_stats);
    rc = rc ? rc : api->register_before(mod, "AuthenticateCustom", before_custom);
    rc = rc ? rc : api->register_after(mod, "AuthenticateCustom", after_custom_fn);
    rc = rc ? rc : api->register_before(mod, "GetAccount", before_account);
    rc = rc ? rc : api->register_after(mod, "GetAccount", after_account_fn);
    /* the same refusal on two more APIs: every route goes through the same hook path */
    rc = rc ? rc : api->register_before(mod, "UpdateAccount", before_account);
    rc = rc ? rc : api->register_before(mod, "ListMatches", before_account);
    rc = rc ? rc : api->register_match(mod, "good_match", &match);
    /* registering a name twice is refused and changes nothing */
    if (rc == 0 && api->register_rpc(mod, "testecho", echo) != TV_GRPC_ALREADY_EXISTS)
        return 2;
    if (rc == 0 && api->register_rpc(mod, "", echo) != TV_GRPC_INVALID_ARGUMENT)
        return 3;
    api->log(mod, TV_MOD_LOG_INFO, "good module ready");
    return rc;
}
