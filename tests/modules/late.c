/* Keeps its module handle and tries to register from an RPC, after init: the server must
 * refuse (TV_GRPC_FAILED_PRECONDITION). The RPC answers the code it got. */
#include <tavern/module.h>

#include <stdio.h>

static const tv_host_api_t *host;
static tv_module_t *self;

static int noop(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)ctx;
    (void)payload;
    (void)len;
    (void)out;
    return 0;
}

static int late_register(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                         tv_mod_reply_t *out)
{
    (void)ctx;
    (void)payload;
    (void)len;
    char s[16];
    int n = snprintf(s, sizeof s, "%d", host->register_rpc(self, "too_late", noop));
    return host->reply(out, s, (size_t)n);
}

TV_MODULE("late", "1");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    self = mod;
    return api->register_rpc(mod, "late_register", late_register);
}
