/* Console sign-in and the check of every console request. Sign-in verifies the argon2id hash
 * (on the worker, within --hash-concurrency, no pooled connection held meanwhile), counts
 * failures in one UPDATE and locks the user at --console-max-failures for --console-lockout
 * seconds; it answers a token of --console-token-ttl seconds naming the user's id, name and
 * role. Each request then re-checks that user through a short-lived in-memory cache. */
#include "console_internal.h"
#include "app.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tv_console_t *tv_console_of(void *app)
{
    return ((tv_app_t *)app)->console;
}

int tv_console_new(struct tv_db *db, struct tv_password *pw, const struct tv_config *cfg,
                   const char *token_key, const char *secret, tv_console_t **out)
{
    tv_console_t *con = calloc(1, sizeof *con);
    if (!con)
        return TV_ENOMEM;
    con->db = db;
    con->pw = pw;
    con->cfg = cfg;
    if (!(con->token_key = strdup(token_key)) || pthread_mutex_init(&con->mu, NULL) != 0) {
        free(con->token_key);
        free(con);
        return TV_ENOMEM;
    }
    tv_cursor_key(secret, "tavern-console-audit-cursor", con->cursor_key);
    *out = con;
    return TV_OK;
}

void tv_console_free(tv_console_t *con)
{
    if (!con)
        return;
    pthread_mutex_destroy(&con->mu);
    sodium_memzero(con->token_key, strlen(con->token_key));
    free(con->token_key);
    free(con);
}

const char *tv_console_check_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > TV_CONSOLE_NAME_MAX)
        return "Invalid console username: 1-128 characters of A-Z a-z 0-9 _ . @ -.";
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_.@-", *p)))
            return "Invalid console username: 1-128 characters of A-Z a-z 0-9 _ . @ -.";
    return NULL;
}

const char *tv_console_check_password(const char *pw)
{
    size_t n = pw ? strlen(pw) : 0;
    if (n < TV_CONSOLE_PASSWORD_MIN)
        return "Console password must be at least 8 characters long.";
    if (n > TV_CONSOLE_PASSWORD_MAX || !tv_utf8_valid(pw))
        return "Console password must be at most 256 bytes of UTF-8.";
    return NULL;
}

int tv_console_token_role(const tv_token_claims_t *c)
{
    cJSON *v = c->vrs ? cJSON_Parse(c->vrs) : NULL;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(v, "role");
    tv_con_role_t role;
    int out = cJSON_IsString(r) && tv_con_role_parse(r->valuestring, &role) == TV_OK ? (int)role
                                                                                     : -1;
    cJSON_Delete(v);
    return out;
}

/* --- the user cache --- */

void tv_console_cache_clear(tv_console_t *con)
{
    pthread_mutex_lock(&con->mu);
    con->ncache = 0;
    pthread_mutex_unlock(&con->mu);
}

static int cache_get(tv_console_t *con, const char *id, int64_t now, con_cached_t *out)
{
    int hit = 0;
    pthread_mutex_lock(&con->mu);
    for (int i = 0; i < con->ncache; i++) {
        if (strcmp(con->cache[i].id, id) != 0)
            continue;
        if (now - con->cache[i].loaded_ms < TV_CONSOLE_CACHE_TTL_MS) {
            *out = con->cache[i];
            hit = 1;
        }
        break;
    }
    pthread_mutex_unlock(&con->mu);
    return hit;
}

static void cache_put(tv_console_t *con, const con_cached_t *e)
{
    pthread_mutex_lock(&con->mu);
    int slot = -1, oldest = 0;
    for (int i = 0; i < con->ncache && slot < 0; i++)
        if (strcmp(con->cache[i].id, e->id) == 0)
            slot = i;
    for (int i = 1; i < con->ncache; i++)
        if (con->cache[i].loaded_ms < con->cache[oldest].loaded_ms)
            oldest = i;
    if (slot < 0)
        slot = con->ncache < TV_CONSOLE_CACHE_MAX ? con->ncache++ : oldest;
    con->cache[slot] = *e;
    pthread_mutex_unlock(&con->mu);
}

/* The console user id as it is now: from the cache, else one SELECT (on a worker). */
static int user_state(tv_console_t *con, const char *id, con_cached_t *out)
{
    int64_t now = tv_mono_ms();
    if (cache_get(con, id, now, out))
        return TV_OK;
    con_cached_t e = {0};
    snprintf(e.id, sizeof e.id, "%s", id);
    e.loaded_ms = now;
    tv_db_conn_t *c;
    tv_db_stmt_t *st;
    int rc = tv_db_acquire(con->db, &c);
    if (rc)
        return rc;
    rc = tv_db_prepare(c, "SELECT username, role, disable_time FROM console_user WHERE id = $1",
                       &st);
    if (rc == TV_OK && (rc = tv_db_bind_text(st, 1, id)) == TV_OK)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        const char *u = tv_db_column_text(st, 0);
        snprintf(e.username, sizeof e.username, "%s", u ? u : "");
        e.exists = tv_con_role_parse(tv_db_column_text(st, 1), &e.role) == TV_OK;
        e.disabled = tv_db_column_int64(st, 2) != 0;
        rc = TV_OK;
    }
    if (st && rc >= 0)
        tv_db_reset(st);
    tv_db_release(con->db, c);
    if (rc < 0)
        return rc;
    cache_put(con, &e);
    *out = e;
    return TV_OK;
}

/* --- the check of every console request --- */

int tv_console_check(struct tv_app *app, tv_http_req_t *req, const char **msg)
{
    /* the refusal names the route: per thread, read by the caller before this thread's next
     * request */
    static _Thread_local char text[512];
    tv_console_t *con = app->console;
    const char *h = tv_http_authorization(req);
    *msg = "Auth token required";
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return TV_EUNAUTH;
    *msg = "Auth token invalid";
    tv_token_claims_t *c = tv_http_claims_mut(req);
    if (tv_token_decode(con->token_key, h + 7, tv_now_s(), c) != TV_OK || !tv_uuid_valid(c->uid))
        return TV_EUNAUTH;
    int role = tv_console_token_role(c);
    if (role < 0)
        return TV_EUNAUTH;
    con_cached_t u;
    int rc = user_state(con, c->uid, &u);
    if (rc) {
        *msg = "Database unavailable, try again.";
        return TV_EUNAVAIL;
    }
    if (!u.exists || u.disabled) {
        *msg = "Console user removed or disabled: sign in again.";
        return TV_EUNAUTH;
    }
    if ((int)u.role != role || strcmp(u.username, c->usn) != 0) {
        *msg = "Console user changed since sign-in: sign in again.";
        return TV_EUNAUTH;
    }
    const tv_http_route_t *r = tv_http_route(req);
    tv_con_role_t need = tv_con_role_required(tv_http_method(req), r->pattern);
    if ((tv_con_role_t)role < need) {
        snprintf(text, sizeof text, "Console role %s may not call %s %s: it needs %s or above.",
                 tv_con_role_name((tv_con_role_t)role), r->method, r->pattern,
                 tv_con_role_name(need));
        *msg = text;
        return TV_EPERM;
    }
    return TV_OK;
}

/* --- sign-in --- */

typedef struct {
    int found;
    char id[37];
    char username[TV_CONSOLE_NAME_MAX + 1];
    char role[16];
    char hash[TV_PASSWORD_HASH_MAX + 64];
    int64_t locked_until, disable_time;
} signin_row_t;

static int read_signin(tv_db_t *db, const char *username, signin_row_t *r)
{
    memset(r, 0, sizeof *r);
    tv_db_conn_t *c;
    tv_db_stmt_t *st = NULL;
    int rc = tv_db_acquire(db, &c);
    if (rc)
        return rc;
    rc = tv_db_prepare(c, "SELECT id, username, role, password, locked_until, disable_time "
                          "FROM console_user WHERE username = $1", &st);
    if (rc == TV_OK && (rc = tv_db_bind_text(st, 1, username)) == TV_OK)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        const char *v;
        r->found = 1;
        snprintf(r->id, sizeof r->id, "%s", (v = tv_db_column_text(st, 0)) ? v : "");
        snprintf(r->username, sizeof r->username, "%s", (v = tv_db_column_text(st, 1)) ? v : "");
        snprintf(r->role, sizeof r->role, "%s", (v = tv_db_column_text(st, 2)) ? v : "");
        snprintf(r->hash, sizeof r->hash, "%s", (v = tv_db_column_text(st, 3)) ? v : "");
        r->locked_until = tv_db_column_int64(st, 4);
        r->disable_time = tv_db_column_int64(st, 5);
        rc = TV_OK;
    }
    if (st && rc >= 0)
        tv_db_reset(st);
    tv_db_release(db, c);
    return rc < 0 ? rc : TV_OK;
}

/* One failed sign-in, counted in one statement (concurrent failures all count): the one
 * reaching max locks the user until now + lockout and restarts the count. *locked is set when
 * the user is locked after it. */
static int count_failure(tv_console_t *con, const char *id, int64_t now, int *locked)
{
    *locked = 0;
    tv_db_conn_t *c;
    tv_db_stmt_t *st = NULL;
    int rc = tv_db_acquire(con->db, &c);
    if (rc)
        return rc;
    /* numbers bound as numbers: SQLite never converts a text parameter compared with an
     * expression such as failed_attempts + 1 */
    rc = tv_db_prepare(c,
        "UPDATE console_user SET "
        "locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until END, "
        "failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 "
        "ELSE failed_attempts + 1 END "
        "WHERE id = $1 AND locked_until <= $4 RETURNING locked_until", &st);
    if (rc == TV_OK)
        rc = tv_db_bind_text(st, 1, id);
    if (rc == TV_OK)
        rc = tv_db_bind_int64(st, 2, con->cfg->console_max_failures);
    if (rc == TV_OK)
        rc = tv_db_bind_int64(st, 3, now + con->cfg->console_lockout);
    if (rc == TV_OK)
        rc = tv_db_bind_int64(st, 4, now);
    if (rc == TV_OK)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        *locked = tv_db_column_int64(st, 0) > now;
        rc = tv_db_step(st);
    }
    if (st && rc >= 0)
        tv_db_reset(st);
    tv_db_release(con->db, c);
    return rc < 0 ? rc : TV_OK;
}

static int signed_in(tv_console_t *con, const char *id, int64_t now)
{
    tv_db_conn_t *c;
    int rc = tv_db_acquire(con->db, &c);
    if (rc)
        return rc;
    char t[24];
    tv_i64_str(t, now);
    const char *args[] = {id, t};
    rc = tv_db_execp(c, "UPDATE console_user SET failed_attempts = 0, locked_until = 0, "
                        "last_signin_time = $2 WHERE id = $1", 2, args, NULL);
    tv_db_release(con->db, c);
    return rc;
}

static void reply_token(tv_http_req_t *req, tv_console_t *con, const signin_row_t *r,
                        int64_t now)
{
    tv_token_claims_t c = {0};
    tv_uuid_v4(c.tid);
    snprintf(c.uid, sizeof c.uid, "%s", r->id);
    snprintf(c.usn, sizeof c.usn, "%s", r->username);
    cJSON *vrs = cJSON_CreateObject();
    cJSON_AddStringToObject(vrs, "role", r->role);
    c.vrs = cJSON_PrintUnformatted(vrs);
    cJSON_Delete(vrs);
    c.iat = now;
    c.exp = now + con->cfg->console_token_ttl;
    char *token = NULL;
    if (!c.vrs || tv_token_encode(con->token_key, &c, &token) != TV_OK) {
        tv_token_claims_free(&c);
        tv_http_error(req, TV_EINTERNAL, "Internal server error.");
        return;
    }
    tv_token_claims_free(&c);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "token", token);
    free(token);
    tv_http_reply_json(req, o);
}

void tv_console_authenticate(tv_http_req_t *req, void *app)
{
    tv_console_t *con = tv_console_of(app);
    char peer[64];
    cJSON *body = tv_http_body_json(req);
    if (!body)
        return;
    const char *user, *password;
    if (tv_json_get_str(body, "username", NULL, &user) ||
        tv_json_get_str(body, "password", NULL, &password)) {
        tv_http_error(req, TV_EINVAL, "Invalid username or password: must be strings.");
        return;
    }
    tv_http_peer(req, peer, sizeof peer);
    int bad_shape = tv_console_check_name(user) != NULL || !password ||
                    strlen(password) > TV_CONSOLE_PASSWORD_MAX;
    signin_row_t r = {0};
    int rc = bad_shape ? TV_OK : read_signin(con->db, user, &r);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    int64_t now = tv_now_s();
    if (r.found && r.locked_until > now) {
        tv_log_warn("console", "sign-in of locked console user %s from %s refused", r.username,
                    peer);
        char msg[160];
        snprintf(msg, sizeof msg, "Console user locked after repeated failed sign-ins: try again "
                 "in %lld s or ask an admin to unlock it.", (long long)(r.locked_until - now));
        tv_http_error(req, TV_EBUSY, msg);
        return;
    }
    /* an unknown name costs a hash too, so timing does not tell which names exist */
    rc = tv_password_verify(con->pw, r.found ? r.hash : con->dummy_hash,
                            password ? password : "");
    if (rc == TV_EBUSY) {
        tv_http_error(req, TV_EBUSY, "Server busy, try again.");
        return;
    }
    if (rc != TV_OK || !r.found) {
        int locked = 0;
        /* the lock runs from now, after the slow hash, not from the request's start */
        if (r.found && (rc = count_failure(con, r.id, tv_now_s(), &locked)) != TV_OK) {
            tv_http_db_error(req, rc);
            return;
        }
        tv_log_warn("console", "failed console sign-in as '%.128s' from %s%s",
                    bad_shape ? "(invalid name)" : user, peer,
                    locked ? ": user locked" : "");
        tv_http_error(req, TV_EUNAUTH, "Invalid credentials.");
        return;
    }
    if (r.disable_time) {
        tv_log_warn("console", "sign-in of disabled console user %s from %s", r.username, peer);
        tv_http_error(req, TV_EPERM, "Console user is disabled.");
        return;
    }
    if ((rc = signed_in(con, r.id, now)) != TV_OK) {
        tv_http_db_error(req, rc);
        return;
    }
    tv_log_info("console", "console user %s (%s) signed in from %s", r.username, r.role, peer);
    reply_token(req, con, &r, now);
}

/* --- the bootstrap admin --- */

static int bootstrap_write(tv_console_t *con, const signin_row_t *r, const char *hash)
{
    const tv_config_t *cfg = con->cfg;
    char t[24], id[37];
    tv_i64_str(t, tv_now_s());
    tv_db_conn_t *c;
    int rc = tv_db_acquire(con->db, &c);
    if (rc)
        return rc;
    if (!r->found) {
        tv_uuid_v4(id);
        const char *args[] = {id, cfg->console_user, hash, t};
        rc = tv_db_execp(c, "INSERT INTO console_user (id, username, role, password, "
                            "create_time, update_time) VALUES ($1, $2, 'admin', $3, $4, $4)",
                         4, args, NULL);
    } else {
        const char *args[] = {r->id, hash, t};
        rc = tv_db_execp(c, "UPDATE console_user SET role = 'admin', password = $2, "
                            "disable_time = 0, failed_attempts = 0, locked_until = 0, "
                            "update_time = $3 WHERE id = $1", 3, args, NULL);
    }
    if (rc)
        tv_log_error("console", "bootstrap console user: %s", tv_db_errmsg(c));
    tv_db_release(con->db, c);
    return rc;
}

int tv_console_bootstrap(tv_console_t *con)
{
    const tv_config_t *cfg = con->cfg;
    const char *why = tv_console_check_name(cfg->console_user);
    if (why) {
        tv_log_error("console", "--console-user: %s", why);
        return TV_EINVAL;
    }
    if (!tv_utf8_valid(cfg->console_password) || strlen(cfg->console_password) > 4096) {
        tv_log_error("console", "--console-password must be UTF-8 of at most 4096 bytes");
        return TV_EINVAL;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        signin_row_t r;
        int rc = read_signin(con->db, cfg->console_user, &r);
        if (rc)
            return rc;
        int same = r.found && tv_password_verify(con->pw, r.hash, cfg->console_password) == TV_OK;
        char hash[TV_PASSWORD_HASH_MAX + 64]; /* a stored hash may be an imported, longer one */
        if (same) {
            snprintf(con->dummy_hash, sizeof con->dummy_hash, "%s", r.hash);
            if (!strcmp(r.role, "admin") && !r.disable_time && r.locked_until <= tv_now_s())
                return TV_OK;
            snprintf(hash, sizeof hash, "%s", r.hash);
        } else if ((rc = tv_password_hash(con->pw, cfg->console_password, hash)) != TV_OK) {
            tv_log_error("console", "hashing the bootstrap console password: %s",
                         tv_error_name(rc));
            return rc;
        }
        rc = bootstrap_write(con, &r, hash);
        if (rc == TV_ECONFLICT) /* another node made it meanwhile: read it again */
            continue;
        if (rc)
            return rc;
        snprintf(con->dummy_hash, sizeof con->dummy_hash, "%s", hash);
        tv_log_info("console", "bootstrap console admin %s %s", cfg->console_user,
                    !r.found ? "created" : same ? "restored to an enabled admin"
                                                : "restored with the flag password");
        tv_console_cache_clear(con);
        return TV_OK;
    }
    return TV_ECONFLICT;
}
