/* The economy's client requests as JSON objects, read and answered in one place so the REST
 * routes (shop_api.c) and the built-in RPCs (economy_rpc.c) accept the same bodies and give
 * the same answers and errors. */
#include "economy.h"
#include "error.h"
#include "json.h"
#include "tavern/module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tv_econ_grpc(int rc, const tv_wallet_err_t *err)
{
    if (rc == TV_EINVAL && err && err->why == TV_WALLET_EFUNDS)
        return TV_GRPC_FAILED_PRECONDITION;
    return tv_error_grpc(rc);
}

static int bad(tv_wallet_err_t *err, const char *msg)
{
    err->why = TV_WALLET_EBAD;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return TV_EINVAL;
}

/* A start_time / end_time member as the catalog prints it (an int64 string; absent = 0). */
static int64_t item_time(const cJSON *it, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, key);
    return cJSON_IsString(v) ? strtoll(v->valuestring, NULL, 10) : 0;
}

int tv_shop_on_sale(tv_shop_t *shop, int64_t now, cJSON **out)
{
    cJSON *list = tv_shop_list(shop, 0);
    *out = list;
    if (!list)
        return TV_ENOMEM;
    /* the window moves with the clock: filtered per request, not in the cache */
    cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    for (cJSON *it = items ? items->child : NULL, *next; it; it = next) {
        next = it->next;
        int64_t start = item_time(it, "start_time"), end = item_time(it, "end_time");
        if ((start && now < start) || (end && now >= end))
            cJSON_Delete(cJSON_DetachItemViaPointer(items, it));
    }
    if (items && !items->child) /* protojson leaves an empty list out */
        cJSON_DeleteItemFromObjectCaseSensitive(list, "items");
    return TV_OK;
}

/* A string member by snake_case or lowerCamel name; NULL when absent or not a string. */
static const char *str_member(const cJSON *b, const char *snake, const char *camel)
{
    const cJSON *v = tv_json_get(b, snake, camel);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int tv_shop_purchase_req(tv_shop_t *shop, const char *uid, const cJSON *req, cJSON **out,
                         tv_wallet_err_t *err)
{
    *out = NULL;
    memset(err, 0, sizeof *err);
    const char *item = str_member(req, "item_id", "itemId");
    const char *key = str_member(req, "idempotency_key", "idempotencyKey");
    if (!cJSON_IsObject(req) || !item || !key)
        return bad(err, "item_id and idempotency_key are required strings.");
    return tv_shop_purchase(shop, uid, item, key, out, err);
}

int tv_inv_consume_req(struct tv_db *db, const char *uid, const cJSON *req, cJSON **out,
                       tv_wallet_err_t *err)
{
    *out = NULL;
    memset(err, 0, sizeof *err);
    const char *item = str_member(req, "item_id", "itemId");
    int64_t n = 0;
    if (!cJSON_IsObject(req) || !item ||
        tv_econ_json_int(req, "count", NULL, 1, TV_INV_CONSUME_MAX, 0, &n, err) || n == 0)
        return bad(err, "item_id is required and count must be 1-1000000.");
    int64_t left = 0;
    int rc = tv_inv_consume(db, uid, item, n, &left, err);
    if (rc)
        return rc;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "item_id", item)) {
        cJSON_Delete(o);
        return TV_ENOMEM;
    }
    tv_json_add_int64(o, "count", left);
    *out = o;
    return TV_OK;
}
