/* The console's Accounts, API explorer and Configuration routes (/v2/console/account...,
 * /v2/console/explorer/..., /v2/console/config). Handlers run on the worker pool; app is a
 * tv_app_t. Roles and the audit are applied around every console route by the router, not
 * here. */
#ifndef TV_CONSOLE_ACCOUNTS_H
#define TV_CONSOLE_ACCOUNTS_H

#include "http.h"

#include <stddef.h>

#define TV_CONSOLE_ACCOUNT_LIST_MAX 100      /* ?limit of the account search */
#define TV_CONSOLE_ACCOUNT_FILTER_MAX 255    /* bytes of ?filter */
#define TV_CONSOLE_ACCOUNT_METADATA_MAX 16384 /* bytes of an account's metadata (compact JSON) */
#define TV_CONSOLE_EXPLORER_TTL 600          /* seconds an API explorer token lives */

/* accounts.c */
void tv_console_account_list(tv_http_req_t *req, void *app);   /* GET /v2/console/account */
void tv_console_account_get(tv_http_req_t *req, void *app);    /* GET    .../account/{user_id} */
void tv_console_account_update(tv_http_req_t *req, void *app); /* PUT   .../account/{user_id} */
void tv_console_account_delete(tv_http_req_t *req, void *app); /* DELETE .../account/{user_id} */
void tv_console_account_ban(tv_http_req_t *req, void *app);    /* POST .../{user_id}/ban */
void tv_console_account_unban(tv_http_req_t *req, void *app);  /* POST .../{user_id}/unban */

/* Closes every open socket of uid (a ban, a deletion). Returns how many were asked to close. */
struct tv_app;
int tv_console_close_sockets(struct tv_app *app, const char *uid);

/* export.c: GET /v2/console/account/{user_id}/export */
void tv_console_account_export(tv_http_req_t *req, void *app);

/* explorer.c */
void tv_console_explorer_token(tv_http_req_t *req, void *app);     /* POST .../explorer/token */
void tv_console_explorer_endpoints(tv_http_req_t *req, void *app); /* GET .../explorer/endpoints */

/* config_view.c: GET /v2/console/config */
void tv_console_config(tv_http_req_t *req, void *app);

#endif
