/* The console's economy routes (registered in server/core/server.c, console port, console
 * token). */
#ifndef TV_ECONOMY_ADMIN_API_H
#define TV_ECONOMY_ADMIN_API_H

#include "http.h"

void tv_econ_console_view(tv_http_req_t *req, void *app);     /* GET .../economy/{user_id} */
void tv_econ_console_ledger(tv_http_req_t *req, void *app);   /* GET .../{user_id}/ledger */
void tv_econ_console_receipts(tv_http_req_t *req, void *app); /* GET .../{user_id}/receipts */
void tv_econ_console_grant(tv_http_req_t *req, void *app);    /* POST .../{user_id}/grant */
void tv_econ_console_revoke(tv_http_req_t *req, void *app);   /* POST .../{user_id}/revoke */
void tv_econ_console_refund(tv_http_req_t *req, void *app);   /* POST .../receipt/{id}/refund */

#endif
