/* The console's shop routes: list the catalog (disabled items too), create or replace an item
 * (PUT), take one off sale. Run on the worker pool like every handler. */
#include "shop_api.h"
#include "economy.h"
#include "app.h"
#include "error.h"

#include <string.h>

static tv_shop_t *shop_of(void *app)
{
    return ((tv_app_t *)app)->shop;
}

void tv_shop_console_list(tv_http_req_t *req, void *app)
{
    cJSON *list = tv_shop_list(shop_of(app), 1);
    if (!list)
        tv_http_error(req, TV_ENOMEM, "Internal server error.");
    else
        tv_http_reply_json(req, list);
}

void tv_shop_console_put(tv_http_req_t *req, void *app)
{
    cJSON *b = tv_http_body_json(req);
    if (!b)
        return;
    const char *id = tv_http_param(req, 0);
    const cJSON *bid = cJSON_GetObjectItemCaseSensitive(b, "id");
    if (bid && !(cJSON_IsString(bid) && strcmp(bid->valuestring, id) == 0)) {
        tv_http_error(req, TV_EINVAL, "Invalid item: the body's id differs from the path's.");
        return;
    }
    if (!bid && !cJSON_AddStringToObject(b, "id", id)) {
        tv_http_error(req, TV_ENOMEM, "Internal server error.");
        return;
    }
    tv_wallet_err_t err;
    cJSON *item = NULL;
    int rc = tv_shop_put(shop_of(app), b, &item, &err);
    if (rc == TV_EINVAL || rc == TV_EBUSY)
        tv_http_error(req, rc, err.msg);
    else if (rc)
        tv_http_db_error(req, rc);
    else
        tv_http_reply_json(req, item);
}

void tv_shop_console_disable(tv_http_req_t *req, void *app)
{
    int rc = tv_shop_disable(shop_of(app), tv_http_param(req, 0));
    if (rc == TV_ENOTFOUND)
        tv_http_error(req, TV_ENOTFOUND, "Item not found.");
    else if (rc)
        tv_http_db_error(req, rc);
    else
        tv_http_reply_json(req, NULL);
}
