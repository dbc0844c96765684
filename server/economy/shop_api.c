/* The economy's HTTP handlers. Console: list the catalog (disabled items too), create or
 * replace an item (PUT), take one off sale. Clients: the items on sale now, their own wallet
 * ledger. Run on the worker pool like every handler. */
#include "shop_api.h"
#include "economy.h"
#include "app.h"
#include "error.h"
#include "util.h"

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

/* The limit query parameter: absent = 10, else a decimal 1..100. Answers 400 itself. */
static int read_limit(tv_http_req_t *req, int *limit)
{
    const char *v = tv_http_query(req, "limit", NULL);
    *limit = 10;
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *v == ' ' || *end || errno || n < 1 || n > TV_WALLET_LEDGER_LIST_MAX) {
        tv_http_error(req, TV_EINVAL, "Invalid limit - limit must be between 1 and 100.");
        return -1;
    }
    *limit = (int)n;
    return 0;
}

/* GET /v2/wallet/ledger: the caller's own ledger, newest first. */
void tv_wallet_http_ledger(tv_http_req_t *req, void *app)
{
    int limit;
    if (read_limit(req, &limit))
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
