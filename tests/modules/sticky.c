/* Linked with -z nodelete, like a C++ module with unique symbols: dlclose leaves it mapped.
 * The loader must then never hand its /proc/self/fd name to another module. */
#include <tavern/module.h>

static int sticky(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)ctx;
    (void)payload;
    (void)len;
    (void)out;
    return 0;
}

TV_MODULE("sticky", "1");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    return api->register_rpc(mod, "sticky", sticky);
}
