/* The console's Configuration view: every flag with its effective value and where it came
 * from. Secrets are never sent: their values are replaced by a mask, and the database URL
 * loses its password. */
#include "console_accounts.h"
#include "app.h"
#include "config.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

#define MASK "********"

static void add_item(void *ud, const tv_config_item_t *it)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", it->flag);
    if (it->value && *it->value) {
        if (it->secret) {
            cJSON_AddStringToObject(o, "value", MASK);
        } else if (strcmp(it->flag, "db") == 0) {
            size_t n = strlen(it->value) + 64; /* room for the mask */
            char *masked = malloc(n);
            if (masked)
                cJSON_AddStringToObject(o, "value", tv_config_mask_url(it->value, MASK, masked, n));
            free(masked);
        } else {
            cJSON_AddStringToObject(o, "value", it->value);
        }
    }
    cJSON_AddStringToObject(o, "source", tv_config_source_name(it->source));
    tv_json_add_bool(o, "secret", it->secret);
    cJSON_AddItemToArray(ud, o);
}

void tv_console_config(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    cJSON *out = cJSON_CreateObject(), *flags = cJSON_CreateArray();
    tv_config_each(app->cfg, add_item, flags);
    tv_json_add_list(out, "flags", flags);
    tv_http_reply_json(req, out);
}
