/* Exports the info struct but no tavern_module_init: refused. */
#include <tavern/module.h>

TV_MODULE("no_init", "1");
