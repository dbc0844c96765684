/* A module built twice (reload_v1.so, reload_v2.so) from this file with RELOAD_VERSION set:
 * the tests put one, then the other, under the same file name and reload, to see new calls
 * reach the new code while a call or a match reference in flight keeps the old code. */
#include <tavern/module.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef RELOAD_VERSION
#define RELOAD_VERSION "v0"
#endif

static const tv_host_api_t *host;

static int version(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)ctx;
    (void)payload;
    (void)len;
    return host->reply(out, RELOAD_VERSION, strlen(RELOAD_VERSION));
}

/* Sleeps the payload's number of milliseconds, then answers the version. */
static int slow(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    long ms = atol(payload);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return version(ctx, payload, len, out);
}

static void *m_init(const tv_mod_match_ctx_t *ctx, const char *params, size_t len,
                    tv_mod_match_init_t *out)
{
    (void)ctx;
    (void)params;
    (void)len;
    out->label = RELOAD_VERSION;
    return (void *)host; /* any non-NULL state */
}

static void *m_loop(const tv_mod_match_ctx_t *ctx, void *state,
                    const tv_mod_match_message_t *const *msgs, size_t n)
{
    (void)ctx;
    (void)msgs;
    (void)n;
    return state;
}

static const tv_mod_match_handler_t match = {
    .size = sizeof match,
    .init = m_init,
    .loop = m_loop,
};

TV_MODULE("reload", RELOAD_VERSION);

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    int rc = api->register_rpc(mod, "reload_version", version);
    rc = rc ? rc : api->register_rpc(mod, "reload_slow", slow);
    return rc ? rc : api->register_match(mod, "reload_match", &match);
}
