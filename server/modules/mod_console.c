/* The console's module list and reload: reads the current generation (a reference, never
 * the load lock) and reloads through tv_mod_load_dir, as SIGHUP does. */
#include "mod_console.h"
#include "app.h"
#include "error.h"
#include "internal.h"
#include "json.h"

#include <stdio.h>

void tv_mod_dir(const tv_config_t *cfg, char *out, size_t size)
{
    if (cfg->module_path)
        snprintf(out, size, "%s", cfg->module_path);
    else
        snprintf(out, size, "%s/modules", cfg->data_dir);
}

static const char *const kind_key[KIND_COUNT] = {"rpcs", "before_hooks", "after_hooks",
                                                 "match_handlers", NULL, NULL};

static cJSON *module_json(const tv_module_t *m)
{
    cJSON *o = cJSON_CreateObject();
    char abi[24];
    tv_json_add_str(o, "name", m->name);
    tv_json_add_str(o, "version", m->version);
    tv_json_add_str(o, "file", m->file);
    snprintf(abi, sizeof abi, "%u.%u", m->abi_major, m->abi_minor);
    tv_json_add_str(o, "abi_version", abi);
    for (int k = 0; k < KIND_COUNT; k++) {
        if (!kind_key[k])
            continue;
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < m->nentries; i++)
            if ((int)m->entries[i]->kind == k)
                cJSON_AddItemToArray(arr, cJSON_CreateString(m->entries[i]->name));
        tv_json_add_list(o, kind_key[k], arr);
    }
    for (size_t i = 0; i < m->nentries; i++) {
        if (m->entries[i]->kind == KIND_LB_RESET)
            tv_json_add_bool(o, "leaderboard_reset", 1);
        else if (m->entries[i]->kind == KIND_MM_MATCHED)
            tv_json_add_bool(o, "matchmaker_matched", 1);
        else if (m->entries[i]->kind == KIND_EVENT)
            tv_json_add_bool(o, "event", 1);
    }
    return o;
}

cJSON *tv_mod_console_json(tv_mod_registry_t *r)
{
    cJSON *o = cJSON_CreateObject();
    tv_mod_gen_t *g = tv_mod_acquire(r);
    if (g) {
        tv_json_add_int(o, "generation", (int64_t)g->id);
        tv_json_add_str(o, "dir", g->dir);
        cJSON *mods = cJSON_CreateArray();
        for (size_t i = 0; i < g->nmods; i++)
            cJSON_AddItemToArray(mods, module_json(g->mods[i]));
        tv_json_add_list(o, "modules", mods);
        cJSON *refused = cJSON_CreateArray();
        for (size_t i = 0; i < g->nrefused; i++) {
            cJSON *e = cJSON_CreateObject();
            tv_json_add_str(e, "file", g->refused[i].file);
            tv_json_add_str(e, "reason", g->refused[i].why);
            cJSON_AddItemToArray(refused, e);
        }
        tv_json_add_list(o, "refused", refused);
    }
    tv_mod_release(g);
    tv_json_add_int(o, "mapped", tv_mod_live());
    return o;
}

void tv_mod_console_list(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    tv_http_reply_json(req, tv_mod_console_json(app->modules));
}

void tv_mod_console_reload(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    char dir[4096];
    tv_mod_dir(app->cfg, dir, sizeof dir);
    int rc = tv_mod_load_dir(app->modules, dir);
    if (rc == TV_EUNAVAIL) {
        tv_http_error(req, TV_EUNAVAIL, "Cannot read the module folder: the loaded modules stay.");
        return;
    }
    if (rc < 0) {
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
        return;
    }
    tv_http_reply_json(req, tv_mod_console_json(app->modules));
}
