/* An info struct that claims to be smaller than ABI 1.0's: refused. */
#include <tavern/module.h>

TV_MOD_EXPORT const tv_module_info_t tavern_module_info = {
    TV_MOD_MAGIC, TV_ABI_MAJOR, TV_ABI_MINOR, 8, "small_info", "1"};

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    (void)api;
    (void)mod;
    return 0;
}
