/* An info symbol with the wrong magic: refused. */
#include <tavern/module.h>

TV_MOD_EXPORT const tv_module_info_t tavern_module_info = {
    0x12345678u, TV_ABI_MAJOR, TV_ABI_MINOR, sizeof(tv_module_info_t), "bad_magic", "1"};

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    (void)api;
    (void)mod;
    return 0;
}
