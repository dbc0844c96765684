/* Authentication over REST: device, custom and email sign-in (creating the account when asked),
 * session refresh and logout, and the credential check every route goes through. Password work
 * runs before a database connection is taken, so no pooled connection waits on argon2id. */
#include "auth_api.h"
#include "app.h"
#include "console.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "password.h"
#include "session_cache.h"
#include "token.h"
#include "util.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RANDOM_USERNAME_LEN 10
#define CREATE_TRIES 4

typedef enum { ID_DEVICE, ID_CUSTOM, ID_EMAIL, ID_USERNAME } id_kind_t;

typedef struct {
    int found;
    char id[37];
    char username[TV_USERNAME_MAX + 1];
    int64_t disable_time;
    char password[TV_PASSWORD_HASH_MAX + 64]; /* argon2id or an imported bcrypt hash */
} user_row_t;

static const char *const lookup_sql[] = {
    [ID_DEVICE] = "SELECT u.id, u.username, u.disable_time, u.password FROM user_device d "
                  "JOIN users u ON u.id = d.user_id WHERE d.id = $1",
    [ID_CUSTOM] = "SELECT id, username, disable_time, password FROM users WHERE custom_id = $1",
    [ID_EMAIL] = "SELECT id, username, disable_time, password FROM users WHERE email = $1",
    [ID_USERNAME] = "SELECT id, username, disable_time, password FROM users WHERE username = $1",
};

/* --- identifier rules (Nakama's limits) --- */

const char *tv_auth_check_device_id(const char *id)
{
    if (!id || !*id)
        return "Device ID is required.";
    size_t n = strlen(id);
    if (n < 10 || n > 128 || tv_has_space_or_ctl(id) || !tv_utf8_valid(id))
        return "Device ID invalid, must be 10-128 bytes.";
    return NULL;
}

const char *tv_auth_check_custom_id(const char *id)
{
    if (!id || !*id)
        return "Custom ID is required.";
    size_t n = strlen(id);
    if (n < 6 || n > 128 || tv_has_space_or_ctl(id) || !tv_utf8_valid(id))
        return "Custom ID invalid, must be 6-128 bytes.";
    return NULL;
}

/* Nakama's pattern .+@.+\..+ : something, '@', something, '.', something. */
static int email_shape_ok(const char *e)
{
    const char *at = strchr(e, '@');
    if (!at || at == e || !at[1])
        return 0;
    const char *dot = strrchr(at + 2, '.');
    return dot && dot[1];
}

const char *tv_auth_check_email(const char *email, char out[TV_EMAIL_MAX + 1])
{
    if (!email || !*email)
        return "Email address is required.";
    size_t n = strlen(email);
    if (n < 10 || n > TV_EMAIL_MAX || !tv_utf8_valid(email))
        return "Invalid email address, must be 10-255 bytes.";
    if (!email_shape_ok(email) || tv_has_space_or_ctl(email))
        return "Invalid email address format.";
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)email[i]);
    return NULL;
}

const char *tv_auth_check_password(const char *password)
{
    if (!password || strlen(password) < 8)
        return "Password must be at least 8 characters long.";
    if (strlen(password) > 4096)
        return "Password must be at most 4096 bytes.";
    return NULL;
}

const char *tv_auth_check_username(const char *username)
{
    if (!username || !*username)
        return "Username is required.";
    if (strlen(username) > TV_USERNAME_MAX || !tv_utf8_valid(username))
        return "Username invalid, must be 1-128 bytes.";
    for (const unsigned char *p = (const unsigned char *)username; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return "Username invalid, no control characters allowed.";
    return NULL;
}

/* --- the credential check --- */

static int basic_user_is(const char *h, const char *key);

static int check_server_key(tv_app_t *app, const char *h, const char **msg)
{
    *msg = "Server key required";
    if (!h || strncmp(h, "Basic ", 6) != 0)
        return TV_EUNAUTH;
    *msg = "Server key invalid";
    return basic_user_is(h, app->cfg->server_key) ? TV_OK : TV_EUNAUTH;
}

/* 1 when the Basic credentials' user name is key (Go's BasicAuth: "user:password"). */
static int basic_user_is(const char *h, const char *key)
{
    if (!h || strncmp(h, "Basic ", 6) != 0)
        return 0;
    unsigned char buf[512];
    size_t n = 0;
    if (sodium_base642bin(buf, sizeof buf - 1, h + 6, strlen(h + 6), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return 0;
    buf[n] = 0;
    char *colon = strchr((char *)buf, ':');
    if (!colon)
        return 0;
    *colon = 0;
    size_t kl = strlen(key);
    return strlen((char *)buf) == kl && sodium_memcmp(buf, key, kl) == 0;
}

static int same_key(const char *given, const char *key)
{
    size_t kl = strlen(key);
    return given && strlen(given) == kl && sodium_memcmp(given, key, kl) == 0;
}

static int check_bearer(tv_app_t *app, const char *key, tv_http_req_t *req, const char **msg)
{
    const char *h = tv_http_authorization(req);
    *msg = "Auth token required";
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return TV_EUNAUTH;
    *msg = "Auth token invalid";
    tv_token_claims_t *c = tv_http_claims_mut(req);
    if (tv_token_decode(key, h + 7, tv_now_s(), c) != TV_OK)
        return TV_EUNAUTH;
    return tv_uuid_valid(c->uid) && tv_session_cache_allows(app->sessions, c) ? TV_OK
                                                                              : TV_EUNAUTH;
}

int tv_auth_check(void *p, tv_http_auth_t kind, tv_http_req_t *req, const char **msg)
{
    tv_app_t *app = p;
    switch (kind) {
    case TV_HTTP_AUTH_NONE:
        return TV_OK;
    case TV_HTTP_AUTH_SERVER_KEY:
        return check_server_key(app, tv_http_authorization(req), msg);
    case TV_HTTP_AUTH_SESSION:
        return check_bearer(app, app->session_key, req, msg);
    case TV_HTTP_AUTH_CONSOLE:
        return tv_console_check(app, req, msg);
    case TV_HTTP_AUTH_RPC:
        /* Nakama's order: the http_key query parameter, Basic, then a session token */
        if (same_key(tv_http_query(req, "http_key", NULL), app->cfg->http_key) ||
            basic_user_is(tv_http_authorization(req), app->cfg->http_key))
            return TV_OK;
        if (tv_http_authorization(req) && strncmp(tv_http_authorization(req), "Bearer ", 7) == 0)
            return check_bearer(app, app->session_key, req, msg);
        *msg = "Auth token or HTTP key required";
        return TV_EUNAUTH;
    }
    return TV_EUNAUTH;
}

/* --- sessions --- */

static int issue_pair(tv_app_t *app, tv_token_claims_t *c, int64_t now, char **token,
                      char **refresh)
{
    c->exp = now + app->cfg->session_ttl;
    int rc = tv_token_encode(app->session_key, c, token);
    if (rc)
        return rc;
    c->exp = now + app->cfg->refresh_ttl;
    rc = tv_token_encode(app->refresh_key, c, refresh);
    if (rc) {
        free(*token);
        *token = NULL;
    }
    return rc;
}

static void reply_pair(tv_http_req_t *req, tv_app_t *app, tv_token_claims_t *c, int created)
{
    char *token = NULL, *refresh = NULL;
    int rc = issue_pair(app, c, tv_now_s(), &token, &refresh);
    if (rc) {
        tv_http_error(req, rc, rc == TV_EINVAL ? "Invalid session vars." : "Internal error.");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    tv_json_add_bool(o, "created", created);
    cJSON_AddStringToObject(o, "token", token);
    cJSON_AddStringToObject(o, "refresh_token", refresh);
    free(token);
    free(refresh);
    tv_http_reply_json(req, o);
}

/* A new token pair for a fresh sign-in: new tid, iat now. vars is borrowed. */
static void reply_new_session(tv_http_req_t *req, tv_app_t *app, const user_row_t *u,
                              const cJSON *vars, int created)
{
    tv_token_claims_t c = {0};
    tv_uuid_v4(c.tid);
    memcpy(c.uid, u->id, sizeof c.uid);
    memcpy(c.usn, u->username, sizeof c.usn);
    c.vrs = vars && vars->child ? cJSON_PrintUnformatted(vars) : NULL;
    c.iat = tv_now_s();
    reply_pair(req, app, &c, created);
    tv_token_claims_free(&c);
}

/* --- looking users up and creating them --- */

static void copy_col(tv_db_stmt_t *st, int col, char *dst, size_t cap)
{
    const char *v = tv_db_column_text(st, col);
    snprintf(dst, cap, "%s", v ? v : "");
}

static int read_user(tv_db_conn_t *conn, const char *sql, const char *key, user_row_t *u)
{
    tv_db_stmt_t *st;
    memset(u, 0, sizeof *u);
    int rc = tv_db_prepare(conn, sql, &st);
    if (rc)
        return rc;
    rc = tv_db_bind_text(st, 1, key);
    if (rc == TV_OK)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        u->found = 1;
        copy_col(st, 0, u->id, sizeof u->id);
        copy_col(st, 1, u->username, sizeof u->username);
        u->disable_time = tv_db_column_int64(st, 2);
        copy_col(st, 3, u->password, sizeof u->password);
    }
    tv_db_reset(st);
    return rc < 0 ? rc : TV_OK;
}

static int lookup(tv_app_t *app, const char *sql, const char *key, user_row_t *u)
{
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc)
        return rc;
    rc = read_user(conn, sql, key, u);
    tv_db_release(app->db, conn);
    return rc;
}

typedef struct {
    id_kind_t kind;
    const char *ident;
    const char *username;   /* asked for, or NULL */
    const char *pwhash;     /* email sign-up */
    user_row_t *out;
} create_t;

static int create_tx(tv_db_conn_t *conn, void *p)
{
    create_t *c = p;
    user_row_t *u = c->out;
    tv_uuid_v4(u->id);
    if (c->username)
        snprintf(u->username, sizeof u->username, "%s", c->username);
    else
        tv_random_letters(u->username, RANDOM_USERNAME_LEN + 1);
    char now[24];
    tv_i64_str(now, tv_now_s());
    const char *args[] = {u->id, u->username, c->kind == ID_CUSTOM ? c->ident : NULL,
                          c->kind == ID_EMAIL ? c->ident : NULL, c->pwhash, now};
    int rc = tv_db_execp(conn, "INSERT INTO users (id, username, custom_id, email, password, "
                               "create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                         6, args, NULL);
    if (rc == TV_DB_DONE && c->kind == ID_DEVICE) {
        const char *dargs[] = {c->ident, u->id};
        rc = tv_db_execp(conn, "INSERT INTO user_device (id, user_id) VALUES ($1, $2)", 2,
                         dargs, NULL);
    }
    return rc == TV_DB_DONE ? TV_OK : rc;
}

typedef struct {
    id_kind_t kind;
    const char *ident;
    const char *password; /* email only */
    const char *username;
    int create;
    const cJSON *vars;
} signin_t;

/* An existing account: banned or wrong password refuses, otherwise a session. */
static void sign_in_existing(tv_http_req_t *req, tv_app_t *app, const signin_t *s,
                             const user_row_t *u)
{
    if (u->disable_time) {
        tv_http_error(req, TV_EPERM, "User account banned.");
        return;
    }
    if (s->kind == ID_EMAIL || s->kind == ID_USERNAME) {
        int rc = tv_password_verify(app->pw, u->password, s->password);
        if (rc == TV_EBUSY) {
            tv_http_error(req, TV_EBUSY, "Too many sign-ins at once, try again.");
            return;
        }
        if (rc) {
            tv_http_error(req, TV_EUNAUTH, "Invalid credentials.");
            return;
        }
    }
    reply_new_session(req, app, u, s->vars, 0);
}

static void sign_in(tv_http_req_t *req, tv_app_t *app, const signin_t *s)
{
    user_row_t u;
    int rc = lookup(app, lookup_sql[s->kind], s->ident, &u);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    if (u.found) {
        sign_in_existing(req, app, s, &u);
        return;
    }
    if (!s->create || s->kind == ID_USERNAME) {
        tv_http_error(req, TV_ENOTFOUND, "User account not found.");
        return;
    }
    char hash[TV_PASSWORD_HASH_MAX] = "";
    if (s->kind == ID_EMAIL && (rc = tv_password_hash(app->pw, s->password, hash)) != TV_OK) {
        tv_http_error(req, rc, rc == TV_EBUSY ? "Too many sign-ins at once, try again."
                                              : "Internal server error.");
        return;
    }
    create_t c = {s->kind, s->ident, s->username, hash[0] ? hash : NULL, &u};
    for (int i = 0; i < CREATE_TRIES; i++) {
        rc = tv_db_tx(app->db, create_tx, &c);
        if (rc == TV_OK) {
            tv_log_info("auth", "account %s created (%s)", u.id,
                        s->kind == ID_DEVICE ? "device" : s->kind == ID_CUSTOM ? "custom" : "email");
            reply_new_session(req, app, &u, s->vars, 1);
            return;
        }
        if (rc != TV_ECONFLICT)
            break;
        /* Someone may have created this identifier meanwhile: then it is a sign-in. */
        user_row_t again;
        rc = lookup(app, lookup_sql[s->kind], s->ident, &again);
        if (rc == TV_OK && again.found) {
            sign_in_existing(req, app, s, &again);
            return;
        }
        if (rc == TV_OK && s->username) {
            tv_http_error(req, TV_ECONFLICT, "Username is already in use.");
            return;
        }
    }
    tv_http_db_error(req, rc);
}

/* Reads ?create (default true) and ?username; answers 400 itself and returns non-zero on bad
 * values. */
static int read_query(tv_http_req_t *req, signin_t *s)
{
    const char *create = tv_http_query(req, "create", NULL);
    s->create = 1;
    if (create && tv_parse_bool(create, &s->create) != TV_OK) {
        tv_http_error(req, TV_EINVAL, "Invalid value for create: must be true or false.");
        return -1;
    }
    const char *username = tv_http_query(req, "username", NULL);
    s->username = username && *username ? username : NULL;
    const char *msg = s->username ? tv_auth_check_username(s->username) : NULL;
    if (msg) {
        tv_http_error(req, TV_EINVAL, msg);
        return -1;
    }
    return 0;
}

/* Common to all sign-ins: the JSON body, vars and the query. */
static cJSON *read_signin(tv_http_req_t *req, signin_t *s)
{
    cJSON *body = tv_http_body_json(req);
    if (!body)
        return NULL;
    if (tv_json_get_str_map(body, "vars", NULL, &s->vars) != TV_OK) {
        tv_http_error(req, TV_EINVAL, "Invalid vars: must be an object of strings.");
        return NULL;
    }
    if (read_query(req, s))
        return NULL;
    return body;
}

static void auth_by_id(tv_http_req_t *req, tv_app_t *app, id_kind_t kind)
{
    signin_t s = {.kind = kind};
    cJSON *body = read_signin(req, &s);
    if (!body)
        return;
    if (tv_json_get_str(body, "id", NULL, &s.ident) != TV_OK) {
        tv_http_error(req, TV_EINVAL, "Invalid id: must be a string.");
        return;
    }
    const char *msg = kind == ID_DEVICE ? tv_auth_check_device_id(s.ident)
                                        : tv_auth_check_custom_id(s.ident);
    if (msg) {
        tv_http_error(req, TV_EINVAL, msg);
        return;
    }
    sign_in(req, app, &s);
}

void tv_auth_device(tv_http_req_t *req, void *app) { auth_by_id(req, app, ID_DEVICE); }
void tv_auth_custom(tv_http_req_t *req, void *app) { auth_by_id(req, app, ID_CUSTOM); }

void tv_auth_email(tv_http_req_t *req, void *app)
{
    signin_t s = {.kind = ID_EMAIL};
    cJSON *body = read_signin(req, &s);
    if (!body)
        return;
    const char *email, *password;
    if (tv_json_get_str(body, "email", NULL, &email) || tv_json_get_str(body, "password", NULL,
                                                                        &password)) {
        tv_http_error(req, TV_EINVAL, "Invalid email or password: must be strings.");
        return;
    }
    const char *msg = tv_auth_check_password(password);
    if (!msg && (!email || !*email) && !s.username)
        msg = "Email address is required.";
    if (msg) {
        tv_http_error(req, TV_EINVAL, msg);
        return;
    }
    char lowered[TV_EMAIL_MAX + 1];
    s.password = password;
    if (!email || !*email) { /* no email: sign in by username, never creates */
        s.kind = ID_USERNAME;
        s.ident = s.username;
        sign_in(req, app, &s);
        return;
    }
    if ((msg = tv_auth_check_email(email, lowered))) {
        tv_http_error(req, TV_EINVAL, msg);
        return;
    }
    s.ident = lowered;
    sign_in(req, app, &s);
}

/* --- refresh and logout --- */

void tv_auth_refresh(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    cJSON *body = tv_http_body_json(req);
    if (!body)
        return;
    const char *token;
    const cJSON *vars;
    if (tv_json_get_str(body, "token", NULL, &token) ||
        tv_json_get_str_map(body, "vars", NULL, &vars)) {
        tv_http_error(req, TV_EINVAL, "Invalid token or vars.");
        return;
    }
    if (!token || !*token) {
        tv_http_error(req, TV_EINVAL, "Refresh token is required.");
        return;
    }
    tv_token_claims_t c;
    if (tv_token_decode(app->refresh_key, token, tv_now_s(), &c) != TV_OK ||
        !tv_uuid_valid(c.uid) || !tv_session_cache_allows(app->sessions, &c)) {
        tv_token_claims_free(&c);
        tv_http_error(req, TV_EUNAUTH, "Refresh token invalid or expired.");
        return;
    }
    user_row_t u;
    int rc = lookup(app, "SELECT id, username, disable_time, password FROM users WHERE id = $1",
                    c.uid, &u);
    if (rc)
        tv_http_db_error(req, rc);
    else if (!u.found)
        tv_http_error(req, TV_ENOTFOUND, "User account not found.");
    else if (u.disable_time)
        tv_http_error(req, TV_EPERM, "User account banned.");
    if (rc || !u.found || u.disable_time) {
        tv_token_claims_free(&c);
        return;
    }
    memcpy(c.usn, u.username, sizeof c.usn);
    if (vars && vars->child) { /* {} counts as not sent, as through Nakama's gateway */
        free(c.vrs);
        c.vrs = cJSON_PrintUnformatted(vars);
    }
    reply_pair(req, app, &c, 0);
    tv_token_claims_free(&c);
}

static int store_revocation(tv_app_t *app, const tv_token_claims_t *c)
{
    /* Every token of a pair dies by iat + refresh_ttl at the latest: keep the row that long. */
    int64_t until = c->iat + app->cfg->refresh_ttl;
    if (c->exp > until)
        until = c->exp;
    char exp[24];
    tv_i64_str(exp, until);
    const char *args[] = {c->tid, c->uid, exp};
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc)
        return rc;
    rc = tv_db_execp(conn, "INSERT INTO session_revoked (token_id, user_id, expires_at) "
                           "VALUES ($1, $2, $3) ON CONFLICT (token_id) DO NOTHING", 3, args, NULL);
    tv_db_release(app->db, conn);
    if (rc != TV_DB_DONE)
        return rc;
    return tv_session_cache_revoke(app->sessions, c->tid, until);
}

static int store_logout_all(tv_app_t *app, const char *uid)
{
    int64_t now = tv_now_s();
    char t[24];
    tv_i64_str(t, now);
    const char *args[] = {uid, t};
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc)
        return rc;
    rc = tv_db_execp(conn, "INSERT INTO session_logout_all (user_id, logout_time) VALUES ($1, $2) "
                           "ON CONFLICT (user_id) DO UPDATE SET logout_time = excluded.logout_time",
                     2, args, NULL);
    tv_db_release(app->db, conn);
    if (rc != TV_DB_DONE)
        return rc;
    return tv_session_cache_logout_all(app->sessions, uid, now);
}

int tv_auth_revoke_all(tv_app_t *app, const char *uid)
{
    return store_logout_all(app, uid);
}

/* Revokes one token given at logout. A token that no longer verifies is already useless and
 * is skipped; one of another user is refused. */
static int revoke_given(tv_http_req_t *req, tv_app_t *app, const char *key, const char *token)
{
    if (!token || !*token)
        return TV_OK;
    tv_token_claims_t c;
    if (tv_token_decode(key, token, tv_now_s(), &c) != TV_OK || !tv_uuid_valid(c.tid)) {
        tv_token_claims_free(&c);
        return TV_OK;
    }
    int rc = TV_OK;
    if (strcmp(c.uid, tv_http_claims(req)->uid) != 0) {
        tv_http_error(req, TV_EINVAL, "Token does not belong to this user.");
        rc = TV_EINVAL;
    } else if ((rc = store_revocation(app, &c)) != TV_OK) {
        tv_http_db_error(req, rc);
    }
    tv_token_claims_free(&c);
    return rc;
}

void tv_auth_logout(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    cJSON *body = tv_http_body_json(req);
    if (!body)
        return;
    const char *token, *refresh;
    if (tv_json_get_str(body, "token", NULL, &token) ||
        tv_json_get_str(body, "refresh_token", "refreshToken", &refresh)) {
        tv_http_error(req, TV_EINVAL, "Invalid token or refresh_token.");
        return;
    }
    if ((!token || !*token) && (!refresh || !*refresh)) {
        int rc = store_logout_all(app, tv_http_claims(req)->uid);
        if (rc)
            tv_http_db_error(req, rc);
        else
            tv_http_reply_json(req, NULL);
        return;
    }
    if (revoke_given(req, app, app->session_key, token) ||
        revoke_given(req, app, app->refresh_key, refresh))
        return;
    tv_http_reply_json(req, NULL);
}
