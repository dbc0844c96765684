/* The economy's HTTP handlers. Console: list the catalog (disabled items too), create or
 * replace an item (PUT), take one off sale. Clients: the items on sale now, their own wallet
 * ledger, purchases and their inventory. Run on the worker pool like every handler. */
#include "shop_api.h"
#include "economy.h"
#include "app.h"
#include "error.h"
#include "json.h"
#include "util.h"
#include "tavern/module.h"

#include <stdlib.h>
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

/* GET /v2/shop: what a player can buy now: enabled items inside their sale window. */
void tv_shop_http_catalog(tv_http_req_t *req, void *app)
{
    cJSON *list;
    if (tv_shop_on_sale(shop_of(app), tv_now_s(), &list))
        tv_http_error(req, TV_ENOMEM, "Internal server error.");
    else
        tv_http_reply_json(req, list);
}

/* GET /v2/wallet/ledger: the caller's own ledger, newest first. */
void tv_wallet_http_ledger(tv_http_req_t *req, void *app)
{
    int limit;
    if (tv_http_query_limit(req, 10, TV_WALLET_LEDGER_LIST_MAX, &limit))
        return;
    cJSON *out = NULL;
    tv_wallet_err_t err;
    int rc = tv_wallet_ledger_list(((tv_app_t *)app)->db, tv_http_claims(req)->uid, limit,
                                   tv_http_query(req, "cursor", NULL), &out, &err);
    if (rc == TV_EINVAL)
        tv_http_error(req, rc, "Invalid cursor.");
    else if (rc)
        tv_http_db_error(req, rc);
    else
        tv_http_reply_json(req, out);
}

void tv_econ_http_error(tv_http_req_t *req, int rc, const tv_wallet_err_t *err)
{
    if (rc != TV_EINVAL && rc != TV_ENOTFOUND && rc != TV_ECONFLICT) {
        tv_http_db_error(req, rc);
        return;
    }
    const char *msg = err->msg[0] ? err->msg : "Invalid request.";
    int code = tv_econ_grpc(rc, err);
    if (code == tv_error_grpc(rc)) {
        tv_http_error(req, rc, msg);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "code", code);
    cJSON_AddStringToObject(o, "message", msg);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (s)
        tv_http_reply_raw(req, tv_error_http(rc), s);
    else
        tv_http_error(req, TV_ENOMEM, "Internal server error.");
    cJSON_free(s);
}

/* POST /v2/shop/purchase {item_id, idempotency_key}. */
void tv_shop_http_purchase(tv_http_req_t *req, void *app)
{
    cJSON *b = tv_http_body_json(req), *out = NULL;
    if (!b)
        return;
    tv_wallet_err_t err;
    int rc = tv_shop_purchase_req(shop_of(app), tv_http_claims(req)->uid, b, &out, &err);
    if (rc)
        tv_econ_http_error(req, rc, &err);
    else
        tv_http_reply_json(req, out);
}

/* GET /v2/inventory: the caller's items. */
void tv_inv_http_list(tv_http_req_t *req, void *app)
{
    cJSON *out = NULL;
    int rc = tv_inv_list(((tv_app_t *)app)->db, tv_http_claims(req)->uid, &out);
    if (rc)
        tv_http_db_error(req, rc);
    else
        tv_http_reply_json(req, out);
}

/* POST /v2/inventory/consume {item_id, count}: answers {item_id, count left}. */
void tv_inv_http_consume(tv_http_req_t *req, void *app)
{
    cJSON *b = tv_http_body_json(req), *out = NULL;
    if (!b)
        return;
    tv_wallet_err_t err;
    int rc = tv_inv_consume_req(((tv_app_t *)app)->db, tv_http_claims(req)->uid, b, &out, &err);
    if (rc)
        tv_econ_http_error(req, rc, &err);
    else
        tv_http_reply_json(req, out);
}
