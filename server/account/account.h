/* REST handlers for the signed-in user's account (/v2/account, link and unlink) and for
 * looking users up (/v2/user). */
#ifndef TV_ACCOUNT_ACCOUNT_H
#define TV_ACCOUNT_ACCOUNT_H

#include "http.h"

#include <cjson/cJSON.h>

struct tv_db_stmt;

/* The columns of users (aliased u) that tv_account_user_json reads, in order from column 0. */
#define TV_ACCOUNT_USER_COLS                                                                 \
    "u.id, u.username, u.display_name, u.avatar_url, u.lang_tag, u.location, u.timezone, "  \
    "u.metadata, u.edge_count, u.create_time, u.update_time"
#define TV_ACCOUNT_USER_NCOLS 11
/* Nakama's User JSON from a row whose first columns are TV_ACCOUNT_USER_COLS. */
cJSON *tv_account_user_json(struct tv_db_stmt *st);

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
