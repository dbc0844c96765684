/* Registers an RPC, then fails its init: refused, and the RPC must not appear. */
#include <tavern/module.h>

static int never(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)ctx;
    (void)payload;
    (void)len;
    (void)out;
    return 0;
}

TV_MODULE("init_fails", "1");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    api->register_rpc(mod, "init_fails_rpc", never);
    return 5;
}
