/* The stream test module (ABI 1.8 entries): RPCs that join, leave, send, list, count and close
 * streams through the host table, and an event hook that keeps the last events. Driven by
 * tests/integration/stream.test.mjs and tests/compat/stream.test.mjs.
 * Arguments are k=v pairs joined by '&' (no escaping): the HTTP query parameters, else the
 * payload (a socket's rpc). mode (default 100), subject, subcontext, label name the stream;
 * session_id (default: the calling socket's), user_id, hidden, persistence for joins; data,
 * to (session ids joined by ','), sender (a session id: its presence is the sender), reliable
 * for sends.
 * - stream_join → {"is_new": 0|1, "session_id"}; stream_leave, stream_send, stream_close → {}
 * - stream_list (hidden=1/visible=1, default both) → {"presences": [...], "count": n}
 * - events_seen → the events received so far, a JSON array (oldest first, at most 32)
 * Every failure answers the entry's gRPC code with "<entry>: <code>". */
#include <tavern/module.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tv_host_api_t *host;

typedef struct {
    char buf[4096];
    const char *k[32], *v[32];
    int n;
} args_t;

static void args_read(const tv_mod_ctx_t *ctx, const char *payload, args_t *a)
{
    a->n = 0;
    if (ctx->nquery > 1 || (ctx->nquery == 1 && strcmp(ctx->query[0].key, "unwrap") != 0)) {
        for (size_t i = 0; i < ctx->nquery && a->n < 32; i++, a->n++) {
            a->k[a->n] = ctx->query[i].key;
            a->v[a->n] = ctx->query[i].value;
        }
        return;
    }
    snprintf(a->buf, sizeof a->buf, "%s", payload ? payload : "");
    for (char *save = NULL, *p = strtok_r(a->buf, "&", &save); p && a->n < 32;
         p = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(p, '=');
        if (eq)
            *eq++ = 0;
        a->k[a->n] = p;
        a->v[a->n++] = eq ? eq : "";
    }
}

static const char *arg(const args_t *a, const char *key, const char *dflt)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->k[i], key) == 0)
            return a->v[i];
    return dflt;
}

static tv_mod_stream_t stream_of(const args_t *a)
{
    tv_mod_stream_t s = {sizeof s, atoi(arg(a, "mode", "100")), arg(a, "subject", NULL),
                         arg(a, "subcontext", NULL), arg(a, "label", NULL)};
    return s;
}

static int done(tv_mod_reply_t *out, const char *what, int rc)
{
    if (rc)
        return host->fail(out, rc, "%s: %d", what, rc);
    return host->reply(out, "{}", 2);
}

static int s_join(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)len;
    args_t a;
    args_read(ctx, payload, &a);
    tv_mod_stream_t s = stream_of(&a);
    int is_new = -1;
    int rc = host->stream_user_join(ctx->module, &s, arg(&a, "user_id", NULL),
                                    arg(&a, "session_id", ctx->session_id),
                                    atoi(arg(&a, "hidden", "0")),
                                    atoi(arg(&a, "persistence", "0")), &is_new);
    if (rc)
        return done(out, "stream_user_join", rc);
    char buf[96];
    int n = snprintf(buf, sizeof buf, "{\"is_new\":%d,\"session_id\":\"%.36s\"}", is_new,
                     arg(&a, "session_id", ctx->session_id));
    return host->reply(out, buf, (size_t)n);
}

static int s_leave(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)len;
    args_t a;
    args_read(ctx, payload, &a);
    tv_mod_stream_t s = stream_of(&a);
    return done(out, "stream_user_leave",
                host->stream_user_leave(ctx->module, &s, arg(&a, "user_id", NULL),
                                        arg(&a, "session_id", ctx->session_id)));
}

static int s_send(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)len;
    args_t a;
    args_read(ctx, payload, &a);
    tv_mod_stream_t s = stream_of(&a);
    tv_mod_presence_t ps[16], sender = {sizeof sender, "", "", "", "", 0};
    const tv_mod_presence_t *to[16];
    char list[1024];
    size_t nto = 0;
    const char *t = arg(&a, "to", NULL), *snd = arg(&a, "sender", NULL);
    if (t) {
        snprintf(list, sizeof list, "%s", t);
        for (char *save = NULL, *p = strtok_r(list, ",", &save); p && nto < 16;
             p = strtok_r(NULL, ",", &save)) {
            ps[nto] = (tv_mod_presence_t){sizeof ps[0], "", p, "", "", 0};
            to[nto] = &ps[nto];
            nto++;
        }
    }
    if (snd) {
        sender.session_id = snd;
        sender.user_id = ctx->user_id;
        sender.username = ctx->username;
    }
    const char *data = arg(&a, "data", "");
    size_t dlen = strlen(data);
    const char *size = arg(&a, "size", NULL); /* a data of that many 'x' (limit tests) */
    char *big = NULL;
    if (size) {
        dlen = (size_t)atoi(size);
        if (!(big = malloc(dlen + 1)))
            return TV_GRPC_INTERNAL;
        memset(big, 'x', dlen);
        big[dlen] = 0;
        data = big;
    }
    int rc = host->stream_send(ctx->module, &s, data, dlen, t ? to : NULL, nto,
                               snd ? &sender : NULL, atoi(arg(&a, "reliable", "0")));
    free(big);
    return done(out, "stream_send", rc);
}

static int s_list(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)len;
    args_t a;
    args_read(ctx, payload, &a);
    tv_mod_stream_t s = stream_of(&a);
    const char *h = arg(&a, "hidden", NULL), *v = arg(&a, "visible", NULL);
    int hidden = h ? atoi(h) : !v, visible = v ? atoi(v) : !h;
    char *json = NULL;
    int64_t count = -1;
    int rc = host->stream_user_list(ctx->module, &s, hidden, visible, &json);
    if (!rc)
        rc = host->stream_count(ctx->module, &s, &count);
    if (rc) {
        host->free(json);
        return done(out, "stream_user_list", rc);
    }
    size_t cap = strlen(json) + 64;
    char *buf = host->alloc(cap);
    if (!buf) {
        host->free(json);
        return TV_GRPC_INTERNAL;
    }
    int n = snprintf(buf, cap, "{\"presences\":%s,\"count\":%lld}", json, (long long)count);
    host->free(json);
    rc = host->reply(out, buf, (size_t)n);
    host->free(buf);
    return rc;
}

static int s_close(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)len;
    args_t a;
    args_read(ctx, payload, &a);
    tv_mod_stream_t s = stream_of(&a);
    return done(out, "stream_close", host->stream_close(ctx->module, &s));
}

/* --- events ------------------------------------------------------------------------------- */

/* fixed storage: nothing to free when the module unloads */
static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static char events[32][2048];
static size_t nevents;

static int on_event(const tv_mod_ctx_t *ctx, const char *json, size_t len)
{
    if (len > 1900)
        return TV_GRPC_INVALID_ARGUMENT; /* too big to keep: logged by the server */
    pthread_mutex_lock(&ev_mu);
    if (nevents == 32) {
        memmove(events, events + 1, 31 * sizeof *events);
        nevents--;
    }
    /* {"user_id": ..., "event": <the event>} */
    snprintf(events[nevents++], sizeof events[0], "{\"user_id\":\"%s\",\"event\":%s}",
             ctx->user_id, json);
    pthread_mutex_unlock(&ev_mu);
    return 0;
}

static int events_seen(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                       tv_mod_reply_t *out)
{
    (void)ctx, (void)payload, (void)len;
    static char buf[32 * 2049 + 3];
    pthread_mutex_lock(&ev_mu);
    char *p = buf;
    *p++ = '[';
    for (size_t i = 0; i < nevents; i++) {
        if (i)
            *p++ = ',';
        size_t n = strlen(events[i]);
        memcpy(p, events[i], n);
        p += n;
    }
    *p++ = ']';
    int rc = host->reply(out, buf, (size_t)(p - buf));
    pthread_mutex_unlock(&ev_mu);
    return rc;
}

TV_MODULE("streams_mod", "1.0.0");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    if (!TV_HOST_HAS(api, register_event))
        return 1;
    int rc = api->register_rpc(mod, "stream_join", s_join);
    rc = rc ? rc : api->register_rpc(mod, "stream_leave", s_leave);
    rc = rc ? rc : api->register_rpc(mod, "stream_send", s_send);
    rc = rc ? rc : api->register_rpc(mod, "stream_list", s_list);
    rc = rc ? rc : api->register_rpc(mod, "stream_close", s_close);
    rc = rc ? rc : api->register_rpc(mod, "events_seen", events_seen);
    return rc ? rc : api->register_event(mod, on_event);
}
