/* REST handlers for authentication and sessions (Nakama's /v2/account/authenticate/{device,custom,email},
 * /v2/account/session/refresh, /v2/session/logout) and the credential check of every route. */
#ifndef TV_AUTH_AUTH_API_H
#define TV_AUTH_AUTH_API_H

#include "http.h"

/* tv_http_auth_fn for the API and console daemons; app is a tv_app_t. */
int tv_auth_check(void *app, tv_http_auth_t kind, tv_http_req_t *req, const char **message);

void tv_auth_device(tv_http_req_t *req, void *app);
void tv_auth_custom(tv_http_req_t *req, void *app);
void tv_auth_email(tv_http_req_t *req, void *app);
void tv_auth_refresh(tv_http_req_t *req, void *app);
void tv_auth_logout(tv_http_req_t *req, void *app);

/* Refuses every token of uid issued until now (logout everywhere, account deletion). */
struct tv_app;
int tv_auth_revoke_all(struct tv_app *app, const char *uid);

/* Identifier rules shared with linking (account.c). Each returns NULL when valid, or the
 * message to send with a 400. */
const char *tv_auth_check_device_id(const char *id);
const char *tv_auth_check_custom_id(const char *id);
/* Checks email and writes its lower-case form into out. */
#define TV_EMAIL_MAX 255
const char *tv_auth_check_email(const char *email, char out[TV_EMAIL_MAX + 1]);
const char *tv_auth_check_password(const char *password);
const char *tv_auth_check_username(const char *username);

#endif
