/* The economy's HTTP handlers (registered in server/core/server.c). */
#ifndef TV_ECONOMY_SHOP_API_H
#define TV_ECONOMY_SHOP_API_H

#include "http.h"

struct tv_wallet_err;

void tv_shop_console_list(tv_http_req_t *req, void *app);    /* GET /v2/console/shop */
void tv_shop_console_put(tv_http_req_t *req, void *app);     /* PUT /v2/console/shop/{id} */
void tv_shop_console_disable(tv_http_req_t *req, void *app); /* POST .../{id}/disable */

void tv_shop_http_catalog(tv_http_req_t *req, void *app);    /* GET /v2/shop */
void tv_wallet_http_ledger(tv_http_req_t *req, void *app);   /* GET /v2/wallet/ledger */

void tv_shop_http_purchase(tv_http_req_t *req, void *app);   /* POST /v2/shop/purchase */
void tv_inv_http_list(tv_http_req_t *req, void *app);        /* GET /v2/inventory */
void tv_inv_http_consume(tv_http_req_t *req, void *app);     /* POST /v2/inventory/consume */

/* The answer for a refused economy call (rc, err from the economy's functions): bad input
 * 400, unknown 404, conflict 409, with err's message and gRPC code (tv_econ_grpc: 9 for
 * insufficient funds); a database failure 503 or 500, its cause logged. */
void tv_econ_http_error(tv_http_req_t *req, int rc, const struct tv_wallet_err *err);

#endif
