/* The console's API explorer: a short-lived session token minted for a user, so the console
 * can call any REST route, RPC or the socket as that user, and the list of what there is to
 * call (the API port's route table and the RPC ids of the loaded modules and the server). */
#include "console_accounts.h"
#include "app.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "modules.h"
#include "token.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The session var that marks an explorer session (its value is the console user's name), so
 * module code and logs can tell one from a sign-in of the player. */
#define EXPLORER_VAR "tavern_console_explorer"

typedef struct {
    int found;
    int banned;
    char username[TV_USERNAME_MAX + 1];
} who_t;

static int find_user(tv_app_t *app, const char *uid, who_t *w)
{
    tv_db_conn_t *conn;
    tv_db_stmt_t *st;
    memset(w, 0, sizeof *w);
    int rc = tv_db_acquire(app->db, &conn);
    if (rc)
        return rc;
    rc = tv_db_prepare(conn, "SELECT username, disable_time FROM users WHERE id = $1", &st);
    if (rc == TV_OK) {
        tv_db_bind_text(st, 1, uid);
        rc = tv_db_step(st);
        if (rc == TV_DB_ROW) {
            w->found = 1;
            snprintf(w->username, sizeof w->username, "%s", tv_db_column_text(st, 0));
            w->banned = tv_db_column_int64(st, 1) != 0;
        }
        tv_db_reset(st);
    }
    tv_db_release(app->db, conn);
    return rc < 0 ? rc : TV_OK;
}

void tv_console_explorer_token(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    cJSON *body = tv_http_body_json(req);
    const char *uid_in = NULL;
    if (!body)
        return;
    if (tv_json_get_str(body, "user_id", "userId", &uid_in) || !uid_in || !tv_uuid_valid(uid_in)) {
        tv_http_error(req, TV_EINVAL, "Invalid user_id: a UUID is required.");
        return;
    }
    char uid[TV_UUID_LEN + 1];
    memcpy(uid, uid_in, sizeof uid);
    tv_uuid_lower(uid);
    who_t w;
    int rc = find_user(app, uid, &w);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    if (!w.found) {
        tv_http_error(req, TV_ENOTFOUND, "Account not found.");
        return;
    }
    if (w.banned) { /* the token would be refused anyway */
        tv_http_error(req, TV_EPERM, "User account banned.");
        return;
    }
    tv_token_claims_t c = {0};
    tv_uuid_v4(c.tid);
    memcpy(c.uid, uid, sizeof c.uid);
    memcpy(c.usn, w.username, sizeof c.usn);
    c.iat = tv_now_s();
    int64_t ttl = TV_CONSOLE_EXPLORER_TTL;
    if (app->cfg->session_ttl < ttl)
        ttl = app->cfg->session_ttl;
    c.exp = c.iat + ttl;
    cJSON *vars = cJSON_CreateObject();
    cJSON_AddStringToObject(vars, EXPLORER_VAR, tv_http_claims(req)->usn);
    c.vrs = cJSON_PrintUnformatted(vars);
    cJSON_Delete(vars);
    char *token = NULL;
    rc = c.vrs ? tv_token_encode(app->session_key, &c, &token) : TV_ENOMEM;
    int64_t exp = c.exp;
    tv_token_claims_free(&c);
    if (rc) {
        tv_http_error(req, TV_EINTERNAL, "Internal server error.");
        return;
    }
    tv_log_info("console", "API explorer token for user %s minted by %s", uid,
                tv_http_claims(req)->usn);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "token", token);
    free(token);
    cJSON_AddStringToObject(out, "user_id", uid);
    tv_json_add_str(out, "username", w.username);
    tv_json_add_time(out, "expire_time", exp);
    tv_http_reply_json(req, out);
}

static const char *auth_name(tv_http_auth_t a)
{
    switch (a) {
    case TV_HTTP_AUTH_NONE: return "none";
    case TV_HTTP_AUTH_SERVER_KEY: return "server_key";
    case TV_HTTP_AUTH_SESSION: return "session";
    case TV_HTTP_AUTH_CONSOLE: return "console";
    case TV_HTTP_AUTH_RPC: return "rpc";
    }
    return "none";
}

static void add_rpc(void *ud, const char *id, const char *module)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    tv_json_add_str(o, "module", module);
    cJSON_AddItemToArray(ud, o);
}

void tv_console_explorer_endpoints(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    cJSON *out = cJSON_CreateObject(), *list = cJSON_CreateArray(), *rpcs = cJSON_CreateArray();
    for (const tv_http_route_t *r = app->api_routes; r && r->method; r++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "method", r->method);
        cJSON_AddStringToObject(o, "path", r->pattern);
        cJSON_AddStringToObject(o, "auth", auth_name(r->auth));
        cJSON_AddItemToArray(list, o);
    }
    tv_mod_rpc_list(app->modules, add_rpc, rpcs);
    tv_json_add_list(out, "endpoints", list);
    tv_json_add_list(out, "rpcs", rpcs);
    tv_http_reply_json(req, out);
}
