/* REST handlers for the signed-in user's account (/v2/account, link and unlink) and for
 * looking users up (/v2/user). */
#ifndef TV_ACCOUNT_ACCOUNT_H
#define TV_ACCOUNT_ACCOUNT_H

#include "http.h"

void tv_account_get(tv_http_req_t *req, void *app);
void tv_account_update(tv_http_req_t *req, void *app);
void tv_account_delete(tv_http_req_t *req, void *app);
void tv_account_users(tv_http_req_t *req, void *app);
void tv_account_link_device(tv_http_req_t *req, void *app);
void tv_account_link_custom(tv_http_req_t *req, void *app);
void tv_account_link_email(tv_http_req_t *req, void *app);
void tv_account_unlink_device(tv_http_req_t *req, void *app);
void tv_account_unlink_custom(tv_http_req_t *req, void *app);
void tv_account_unlink_email(tv_http_req_t *req, void *app);

#endif
