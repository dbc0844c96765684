/* The admin console (port 7351): named console users with roles, short-lived console tokens,
 * lockout after failed sign-ins, the role check of every console route, the audit log of every
 * console write, and its web UI's files. Data pages add their endpoints behind it. */
#ifndef TV_CONSOLE_CONSOLE_H
#define TV_CONSOLE_CONSOLE_H

#include "embedded.h"
#include "http.h"

/* The web console's files (web-console/, compiled in by tools/embed.c), {NULL}-terminated:
 * served by the console port at their paths, "/" being index.html. */
extern const tv_embedded_t tv_web_console[];

struct tv_app;
struct tv_db;
struct tv_password;
struct tv_config;
typedef struct tv_console tv_console_t;

/* The console's state (user cache, cursor key). db, pw and cfg are borrowed for its life;
 * token_key and secret are copied. TV_OK and *out (tv_console_free), or TV_ENOMEM. */
int tv_console_new(struct tv_db *db, struct tv_password *pw, const struct tv_config *cfg,
                   const char *token_key, const char *secret, tv_console_t **out);
void tv_console_free(tv_console_t *con);

/* The bootstrap admin: makes cfg's --console-user an enabled, unlocked admin whose hash is
 * that of --console-password (creating it, or updating what differs). Hashes: call at start-up
 * before the daemons run, never on an I/O thread. TV_OK, TV_EINVAL for a user name the
 * console refuses, or a database / hashing error (logged). */
int tv_console_bootstrap(tv_console_t *con);

/* The TV_HTTP_AUTH_CONSOLE check (a tv_http_auth_fn case; app is a tv_app_t): a valid
 * console token of a user that still exists, is enabled and holds the token's role (read
 * through a cache of TV_CONSOLE_CACHE_TTL_MS), and that role may call the route
 * (roles.h). TV_OK, TV_EUNAUTH, TV_EPERM or TV_EUNAVAIL with *msg. */
int tv_console_check(struct tv_app *app, tv_http_req_t *req, const char **msg);

/* tv_http_opts_t.done of the console daemon: writes one console_audit row for every request
 * that is not a GET (or HEAD), whatever its answer. Runs SQL: on a worker only. */
void tv_console_audit_done(void *app, tv_http_req_t *req);

/* POST /v2/console/authenticate {username, password} -> {token} */
void tv_console_authenticate(tv_http_req_t *req, void *app);
/* Console users (admin only, by the role table): GET and POST /v2/console/user, PUT and
 * DELETE /v2/console/user/{username}, POST /v2/console/user/{username}/unlock. */
void tv_console_user_list(tv_http_req_t *req, void *app);
void tv_console_user_create(tv_http_req_t *req, void *app);
void tv_console_user_update(tv_http_req_t *req, void *app);
void tv_console_user_delete(tv_http_req_t *req, void *app);
void tv_console_user_unlock(tv_http_req_t *req, void *app);
/* GET /v2/console/audit?limit=&cursor=&user=&action= (admin): newest first. */
void tv_console_audit_list(tv_http_req_t *req, void *app);

#endif
