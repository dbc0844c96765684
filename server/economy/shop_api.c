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

#include <errno.h>
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
    cJSON *list = tv_shop_list(shop_of(app), 0);
    if (!list) {
        tv_http_error(req, TV_ENOMEM, "Internal server error.");
        return;
    }
    /* the window moves with the clock: filter here, not in the cache */
    cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    cJSON *it = items ? items->child : NULL;
    int64_t now = tv_now_s();
    while (it) {
        cJSON *next = it->next;
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "start_time");
        const cJSON *en = cJSON_GetObjectItemCaseSensitive(it, "end_time");
        int64_t start = cJSON_IsString(st) ? strtoll(st->valuestring, NULL, 10) : 0;
        int64_t end = cJSON_IsString(en) ? strtoll(en->valuestring, NULL, 10) : 0;
        if ((start && now < start) || (end && now >= end))
            cJSON_Delete(cJSON_DetachItemViaPointer(items, it));
        it = next;
    }
    if (items && !items->child) /* protojson leaves an empty list out */
        cJSON_DeleteItemFromObjectCaseSensitive(list, "items");
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

/* The answer for a refused purchase or consume: 400 with gRPC 9 (FAILED_PRECONDITION) for
 * insufficient funds, as the wallet's; 404 for an unknown item; else the code's own. */
static void economy_error(tv_http_req_t *req, int rc, const tv_wallet_err_t *err)
{
    if (rc == TV_EINVAL && err->why == TV_WALLET_EFUNDS) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "code", TV_GRPC_FAILED_PRECONDITION);
        cJSON_AddStringToObject(o, "message", err->msg);
        char *s = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (s)
            tv_http_reply_raw(req, 400, s);
        else
            tv_http_error(req, TV_ENOMEM, "Internal server error.");
        cJSON_free(s);
    } else if (rc == TV_EINVAL || rc == TV_ENOTFOUND) {
        tv_http_error(req, rc, err->msg[0] ? err->msg : "Invalid request.");
    } else {
        tv_http_db_error(req, rc);
    }
}

/* A string member by snake_case or lowerCamel name; NULL when absent or not a string. */
static const char *body_str(const cJSON *b, const char *snake, const char *camel)
{
    const cJSON *v = tv_json_get(b, snake, camel);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* POST /v2/shop/purchase {item_id, idempotency_key}. */
void tv_shop_http_purchase(tv_http_req_t *req, void *app)
{
    cJSON *b = tv_http_body_json(req);
    if (!b)
        return;
    const char *item = body_str(b, "item_id", "itemId");
    const char *key = body_str(b, "idempotency_key", "idempotencyKey");
    if (!cJSON_IsObject(b) || !item || !key) {
        tv_http_error(req, TV_EINVAL, "item_id and idempotency_key are required strings.");
        return;
    }
    tv_wallet_err_t err;
    cJSON *out = NULL;
    int rc = tv_shop_purchase(shop_of(app), tv_http_claims(req)->uid, item, key, &out, &err);
    if (rc)
        economy_error(req, rc, &err);
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
    cJSON *b = tv_http_body_json(req);
    if (!b)
        return;
    const char *item = body_str(b, "item_id", "itemId");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(b, "count");
    double d = cJSON_IsNumber(c) ? c->valuedouble : 0;
    if (cJSON_IsString(c)) { /* protojson's int64 form */
        char *end;
        errno = 0;
        long long ll = strtoll(c->valuestring, &end, 10);
        d = *c->valuestring && !*end && !errno ? (double)ll : 0;
    }
    if (!item || !(d >= 1 && d <= TV_INV_CONSUME_MAX) || (double)(int64_t)d != d) {
        tv_http_error(req, TV_EINVAL, "item_id is required and count must be 1-1000000.");
        return;
    }
    tv_wallet_err_t err;
    int64_t left = 0;
    int rc = tv_inv_consume(((tv_app_t *)app)->db, tv_http_claims(req)->uid, item, (int64_t)d,
                            &left, &err);
    if (rc) {
        economy_error(req, rc, &err);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "item_id", item);
    tv_json_add_int64(out, "count", left);
    tv_http_reply_json(req, out);
}
