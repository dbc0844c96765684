/* Registers "testecho", which good.so (loaded first: names sort before zz_) already holds.
 * It ignores the ALREADY_EXISTS answer, as careless modules do; the loader still refuses the
 * whole module. */
#include <tavern/module.h>

static int mine(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)ctx;
    (void)payload;
    (void)len;
    (void)out;
    return 0;
}

TV_MODULE("zz_dup", "1");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    api->register_rpc(mod, "zz_dup_own", mine);
    api->register_rpc(mod, "TESTECHO", mine);
    return 0;
}
