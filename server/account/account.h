/* REST handlers for the signed-in user's account (/v2/account, link and unlink) and for
 * looking users up (/v2/user). */
#ifndef TV_ACCOUNT_ACCOUNT_H
#define TV_ACCOUNT_ACCOUNT_H

#include "http.h"

#include <cjson/cJSON.h>

struct tv_db_stmt;
struct tv_db_conn;
struct tv_app;

/* The columns of users (aliased u) that tv_account_user_json reads, in order from column 0. */
#define TV_ACCOUNT_USER_COLS                                                                 \
    "u.id, u.username, u.display_name, u.avatar_url, u.lang_tag, u.location, u.timezone, "  \
    "u.metadata, u.edge_count, u.create_time, u.update_time"
#define TV_ACCOUNT_USER_NCOLS 11
/* Nakama's User JSON from a row whose first columns are TV_ACCOUNT_USER_COLS. */
cJSON *tv_account_user_json(struct tv_db_stmt *st);

/* Nakama's Account JSON of uid (user, wallet, email, custom_id, verify and disable times,
 * devices) into *out (owned by the caller). TV_OK, TV_ENOTFOUND, or a database error. */
int tv_account_read(struct tv_db_conn *conn, const char *uid, cJSON **out);

/* The editable profile fields of an update, in this order: username, display_name,
 * avatar_url, lang_tag, location, timezone. */
#define TV_ACCOUNT_UPDATE_NFIELDS 6
/* Reads and checks those fields of body into vals (borrowed from body; NULL = absent, left
 * unchanged). Answers 400 itself and returns non-zero on bad input. */
int tv_account_read_update(tv_http_req_t *req, const cJSON *body,
                           const char *vals[TV_ACCOUNT_UPDATE_NFIELDS]);

/* Deletes the account uid as the player's own deletion does: the row (the triggers take its
 * data), every token refused from now on, its leaderboard ranks forgotten. *deleted (may be
 * NULL) says whether the account existed. TV_OK or a database error. */
int tv_account_delete_user(struct tv_app *app, const char *uid, int *deleted);

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

/* providers.c: the routes of outside providers tavern does not use, each answering Nakama's
 * "not configured" refusal (400, gRPC 9): authenticate, link and unlink of Apple, Facebook,
 * Facebook Instant Games, Game Center, Google and Steam; Facebook and Steam friend imports;
 * purchase and subscription validation. POST /v2/iap/subscription lists none ({}); GET
 * /v2/iap/subscription/{product_id} is 404 "Subscription not found.". */
void tv_provider_apple(tv_http_req_t *req, void *app);
void tv_provider_facebook(tv_http_req_t *req, void *app);
void tv_provider_facebook_instant(tv_http_req_t *req, void *app);
void tv_provider_gamecenter(tv_http_req_t *req, void *app);
void tv_provider_google(tv_http_req_t *req, void *app);
void tv_provider_steam(tv_http_req_t *req, void *app);
void tv_iap_apple(tv_http_req_t *req, void *app);
void tv_iap_google(tv_http_req_t *req, void *app);
void tv_iap_huawei(tv_http_req_t *req, void *app);
void tv_iap_facebook_instant(tv_http_req_t *req, void *app);
void tv_iap_subscription_list(tv_http_req_t *req, void *app);
void tv_iap_subscription_get(tv_http_req_t *req, void *app);

#endif
