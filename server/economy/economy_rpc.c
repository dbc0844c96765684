/* The economy's built-in RPCs: shop_catalog, shop_purchase, inventory_list,
 * inventory_consume and wallet_ledger answer what GET /v2/shop, POST /v2/shop/purchase,
 * GET /v2/inventory, POST /v2/inventory/consume and GET /v2/wallet/ledger answer, from a
 * payload that is the REST body (the ledger's is {limit, cursor}), so every Nakama client
 * reaches the shop through client.rpc or the socket's rpc without a new SDK. */
#include "economy_rpc.h"
#include "economy.h"
#include "error.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One operation on the caller's behalf: TV_OK with *out (owned by the caller), or a TV_E*
 * code with err telling the client why. */
typedef int (*op_fn)(tv_shop_t *shop, const char *uid, const cJSON *req, cJSON **out,
                     tv_wallet_err_t *err);

/* The RPC's answer from an operation's: its JSON text, or a gRPC code and message. */
static int answer(int rc, cJSON *res, const tv_wallet_err_t *err, char **out, char **message)
{
    if (rc == TV_OK) {
        *out = cJSON_PrintUnformatted(res);
        cJSON_Delete(res);
        return *out ? 0 : TV_GRPC_INTERNAL;
    }
    if (rc == TV_EINVAL || rc == TV_ENOTFOUND) {
        *message = strdup(err->msg[0] ? err->msg : "Invalid request.");
        return tv_econ_grpc(rc, err);
    }
    tv_log_error("economy", "built-in RPC failed: %s%s%s", tv_error_name(rc),
                 err->msg[0] ? ": " : "", err->msg);
    *message = strdup(rc == TV_EUNAVAIL ? "Server busy, try again." : "Internal server error.");
    return tv_error_grpc(rc);
}

static int run(void *shop, const tv_mod_caller_t *who, const char *payload, size_t len,
               op_fn op, char **out, char **message)
{
    if (!who || !who->user_id || !*who->user_id) {
        *message = strdup("This RPC acts for a user: call it with a session token.");
        return TV_GRPC_UNAUTHENTICATED;
    }
    cJSON *req = len ? cJSON_ParseWithLength(payload, len) : cJSON_CreateObject();
    if (!cJSON_IsObject(req)) {
        cJSON_Delete(req);
        *message = strdup("The payload must be a JSON object.");
        return TV_GRPC_INVALID_ARGUMENT;
    }
    tv_wallet_err_t err = {0};
    cJSON *res = NULL;
    int rc = op(shop, who->user_id, req, &res, &err);
    cJSON_Delete(req);
    return answer(rc, res, &err, out, message);
}

static int op_catalog(tv_shop_t *shop, const char *uid, const cJSON *req, cJSON **out,
                      tv_wallet_err_t *err)
{
    (void)uid, (void)req, (void)err;
    return tv_shop_on_sale(shop, tv_now_s(), out);
}

static int op_inventory(tv_shop_t *shop, const char *uid, const cJSON *req, cJSON **out,
                        tv_wallet_err_t *err)
{
    (void)req, (void)err;
    return tv_inv_list(tv_shop_db(shop), uid, out);
}

static int op_consume(tv_shop_t *shop, const char *uid, const cJSON *req, cJSON **out,
                      tv_wallet_err_t *err)
{
    return tv_inv_consume_req(tv_shop_db(shop), uid, req, out, err);
}

/* {limit 1-100 (default 10, as GET /v2/wallet/ledger), cursor}. */
static int op_ledger(tv_shop_t *shop, const char *uid, const cJSON *req, cJSON **out,
                     tv_wallet_err_t *err)
{
    int64_t limit;
    int rc = tv_econ_json_int(req, "limit", NULL, 1, TV_WALLET_LEDGER_LIST_MAX, 10, &limit, err);
    const cJSON *cursor = cJSON_GetObjectItemCaseSensitive(req, "cursor");
    if (rc == TV_OK && cursor && !cJSON_IsString(cursor) && !cJSON_IsNull(cursor)) {
        snprintf(err->msg, sizeof err->msg, "cursor must be a string");
        rc = TV_EINVAL;
    }
    if (rc)
        return rc;
    return tv_wallet_ledger_list(tv_shop_db(shop), uid, (int)limit,
                                 cJSON_IsString(cursor) ? cursor->valuestring : NULL, out, err);
}

static int rpc_catalog(void *ud, const tv_mod_caller_t *who, const char *p, size_t n,
                       char **out, char **message)
{
    return run(ud, who, p, n, op_catalog, out, message);
}

static int rpc_purchase(void *ud, const tv_mod_caller_t *who, const char *p, size_t n,
                        char **out, char **message)
{
    return run(ud, who, p, n, tv_shop_purchase_req, out, message);
}

static int rpc_inventory(void *ud, const tv_mod_caller_t *who, const char *p, size_t n,
                         char **out, char **message)
{
    return run(ud, who, p, n, op_inventory, out, message);
}

static int rpc_consume(void *ud, const tv_mod_caller_t *who, const char *p, size_t n,
                       char **out, char **message)
{
    return run(ud, who, p, n, op_consume, out, message);
}

static int rpc_ledger(void *ud, const tv_mod_caller_t *who, const char *p, size_t n,
                      char **out, char **message)
{
    return run(ud, who, p, n, op_ledger, out, message);
}

/* The hook names are the REST calls' (server/core/server.c), so one hook covers both forms. */
const tv_econ_rpc_t tv_econ_rpcs[] = {
    {"shop_catalog", "ListShopItems", rpc_catalog},
    {"shop_purchase", "ShopPurchase", rpc_purchase},
    {"inventory_list", "ListInventory", rpc_inventory},
    {"inventory_consume", "ConsumeInventory", rpc_consume},
    {"wallet_ledger", "ListWalletLedger", rpc_ledger},
    {NULL, NULL, NULL},
};
