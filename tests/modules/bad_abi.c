/* Built for a future ABI major: must be refused before anything of it runs. */
#include <tavern/module.h>

TV_MOD_EXPORT const tv_module_info_t tavern_module_info = {
    TV_MOD_MAGIC, 99, 0, sizeof(tv_module_info_t), "bad_abi", "1"};

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    (void)api;
    (void)mod;
    return 0;
}
