/* The console's view of modules (console port, console token): the current generation's
 * modules with everything they registered and the files its load refused, and a reload of the
 * module folder (what SIGHUP does). app is a tv_app_t with modules and cfg set. */
#ifndef TV_MODULES_MOD_CONSOLE_H
#define TV_MODULES_MOD_CONSOLE_H

#include <cjson/cJSON.h>

#include "http.h"
#include "modules.h"

/* {generation, dir, modules: [{name, version, file, abi_version, rpcs, before_hooks,
 * after_hooks, match_handlers, leaderboard_reset, matchmaker_matched}], refused: [{file,
 * reason}], mapped} of the current generation, defaults left out. Owned by the caller; reads
 * a reference to the generation, never waits for a load. */
cJSON *tv_mod_console_json(tv_mod_registry_t *r);

/* GET /v2/console/module */
void tv_mod_console_list(tv_http_req_t *req, void *app);
/* POST /v2/console/module/reload: loads the module folder again on this worker (modules'
 * init runs here; one load at a time, so it waits for a SIGHUP load in progress), then
 * answers as GET does. Matches and calls in flight keep their old code until they end. */
void tv_mod_console_reload(tv_http_req_t *req, void *app);

#endif
