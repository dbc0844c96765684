/* The signed-in user's account: read, update, delete, link and unlink identifiers, and user
 * look-ups by id or username. JSON follows Nakama's User and Account messages. */
#include "account.h"
#include "app.h"
#include "auth_api.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "leaderboard.h"
#include "log.h"
#include "password.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS_MAX 100

#define USER_COLS TV_ACCOUNT_USER_COLS
#define USER_NCOLS TV_ACCOUNT_USER_NCOLS

cJSON *tv_account_user_json(tv_db_stmt_t *st)
{
    cJSON *u = cJSON_CreateObject();
    static const char *const names[] = {"id", "username", "display_name", "avatar_url",
                                        "lang_tag", "location", "timezone", "metadata"};
    for (int i = 0; i < 8; i++)
        tv_json_add_str(u, names[i], tv_db_column_text(st, i));
    tv_json_add_int(u, "edge_count", tv_db_column_int64(st, 8));
    tv_json_add_time(u, "create_time", tv_db_column_int64(st, 9));
    tv_json_add_time(u, "update_time", tv_db_column_int64(st, 10));
    return u;
}

static int add_devices(tv_db_conn_t *conn, const char *uid, cJSON *account)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, "SELECT id FROM user_device WHERE user_id = $1 ORDER BY id", &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, uid);
    cJSON *list = NULL;
    while ((rc = tv_db_step(st)) == TV_DB_ROW) {
        if (!list)
            list = cJSON_AddArrayToObject(account, "devices");
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "id", tv_db_column_text(st, 0));
        cJSON_AddItemToArray(list, d);
    }
    tv_db_reset(st);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

int tv_account_read(tv_db_conn_t *conn, const char *uid, cJSON **out)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, "SELECT " USER_COLS ", u.wallet, u.email, u.custom_id, "
                                 "u.verify_time, u.disable_time FROM users u WHERE u.id = $1", &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, uid);
    rc = tv_db_step(st);
    if (rc != TV_DB_ROW) {
        tv_db_reset(st);
        return rc == TV_DB_DONE ? TV_ENOTFOUND : rc;
    }
    cJSON *a = cJSON_CreateObject();
    cJSON_AddItemToObject(a, "user", tv_account_user_json(st));
    tv_json_add_str(a, "wallet", tv_db_column_text(st, USER_NCOLS));
    tv_json_add_str(a, "email", tv_db_column_text(st, USER_NCOLS + 1));
    tv_json_add_str(a, "custom_id", tv_db_column_text(st, USER_NCOLS + 2));
    tv_json_add_time(a, "verify_time", tv_db_column_int64(st, USER_NCOLS + 3));
    tv_json_add_time(a, "disable_time", tv_db_column_int64(st, USER_NCOLS + 4));
    tv_db_reset(st);
    rc = add_devices(conn, uid, a);
    if (rc) {
        cJSON_Delete(a);
        return rc;
    }
    *out = a;
    return TV_OK;
}

void tv_account_get(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *a = NULL;
    rc = tv_account_read(conn, tv_http_claims(req)->uid, &a);
    tv_db_release(app->db, conn);
    if (rc == TV_ENOTFOUND)
        tv_http_error(req, TV_ENOTFOUND, "Account not found.");
    else if (rc)
        tv_http_db_error(req, rc);
    else
        tv_http_reply_json(req, a);
}

/* --- update --- */

typedef struct {
    const char *snake, *camel;
    size_t max;
} field_t;

static const field_t update_fields[] = {
    {"username", NULL, 128}, {"display_name", "displayName", 255},
    {"avatar_url", "avatarUrl", 512}, {"lang_tag", "langTag", 18},
    {"location", NULL, 255}, {"timezone", NULL, 255},
};
#define NFIELDS (sizeof update_fields / sizeof update_fields[0])
_Static_assert(NFIELDS == TV_ACCOUNT_UPDATE_NFIELDS, "account.h names the update fields");

int tv_account_read_update(tv_http_req_t *req, const cJSON *body,
                           const char *vals[TV_ACCOUNT_UPDATE_NFIELDS])
{
    for (size_t i = 0; i < NFIELDS; i++) {
        const field_t *f = &update_fields[i];
        char msg[128];
        if (tv_json_get_str(body, f->snake, f->camel, &vals[i]) != TV_OK) {
            snprintf(msg, sizeof msg, "Invalid %s: must be a string.", f->snake);
            tv_http_error(req, TV_EINVAL, msg);
            return -1;
        }
        if (vals[i] && strlen(vals[i]) > f->max) {
            snprintf(msg, sizeof msg, "Invalid %s: at most %zu bytes.", f->snake, f->max);
            tv_http_error(req, TV_EINVAL, msg);
            return -1;
        }
    }
    const char *msg = vals[0] ? tv_auth_check_username(vals[0]) : NULL;
    if (msg) {
        tv_http_error(req, TV_EINVAL, msg);
        return -1;
    }
    return 0;
}

void tv_account_update(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    cJSON *body = tv_http_body_json(req);
    const char *vals[NFIELDS];
    if (!body || tv_account_read_update(req, body, vals))
        return;
    char now[24];
    tv_i64_str(now, tv_now_s());
    const char *args[] = {tv_http_claims(req)->uid, vals[0], vals[1], vals[2], vals[3], vals[4],
                          vals[5], now};
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    int64_t changed = 0;
    rc = tv_db_execp(conn,
        "UPDATE users SET username = COALESCE($2, username), "
        "display_name = COALESCE($3, display_name), avatar_url = COALESCE($4, avatar_url), "
        "lang_tag = COALESCE($5, lang_tag), location = COALESCE($6, location), "
        "timezone = COALESCE($7, timezone), update_time = $8 WHERE id = $1", 8, args, &changed);
    tv_db_release(app->db, conn);
    if (rc == TV_ECONFLICT)
        tv_http_error(req, TV_ECONFLICT, "Username is already in use.");
    else if (rc != TV_DB_DONE)
        tv_http_db_error(req, rc);
    else if (!changed)
        tv_http_error(req, TV_ENOTFOUND, "Account not found.");
    else
        tv_http_reply_json(req, NULL);
}

int tv_account_delete_user(tv_app_t *app, const char *uid, int *deleted)
{
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc)
        return rc;
    const char *args[] = {uid};
    int64_t changed = 0;
    rc = tv_db_execp(conn, "DELETE FROM users WHERE id = $1", 1, args, &changed);
    tv_db_release(app->db, conn);
    if (rc == TV_DB_DONE)
        rc = tv_auth_revoke_all(app, uid);
    if (rc)
        return rc;
    tv_lb_forget_owner(app->leaderboards, uid); /* its records went with it (a trigger) */
    if (changed)
        tv_log_info("account", "account %s deleted", uid);
    if (deleted)
        *deleted = changed > 0;
    return TV_OK;
}

void tv_account_delete(tv_http_req_t *req, void *p)
{
    int rc = tv_account_delete_user(p, tv_http_claims(req)->uid, NULL);
    if (rc)
        tv_http_db_error(req, rc);
    else
        tv_http_reply_json(req, NULL);
}

/* --- user look-ups --- */

typedef struct {
    tv_db_conn_t *conn;
    const char *sql;
    cJSON *users;
    int count;
    int bad;     /* an id that is no UUID */
    int rc;
} users_ctx_t;

static int already_listed(cJSON *users, const char *id)
{
    cJSON *u;
    cJSON_ArrayForEach(u, users) {
        cJSON *uid = cJSON_GetObjectItemCaseSensitive(u, "id");
        if (cJSON_IsString(uid) && strcmp(uid->valuestring, id) == 0)
            return 1;
    }
    return 0;
}

static int add_user(const char *key, void *p)
{
    users_ctx_t *c = p;
    if (++c->count > USERS_MAX)
        return 1;
    tv_db_stmt_t *st;
    c->rc = tv_db_prepare(c->conn, c->sql, &st);
    if (c->rc)
        return 1;
    tv_db_bind_text(st, 1, key);
    c->rc = tv_db_step(st);
    if (c->rc == TV_DB_ROW && !already_listed(c->users, tv_db_column_text(st, 0)))
        cJSON_AddItemToArray(c->users, tv_account_user_json(st));
    tv_db_reset(st);
    if (c->rc < 0)
        return 1;
    c->rc = TV_OK;
    return 0;
}

/* Tavern links no Facebook accounts: a facebook id finds nobody, but counts toward the limit. */
static int count_only(const char *key, void *p)
{
    users_ctx_t *c = p;
    (void)key;
    return ++c->count > USERS_MAX;
}

static int check_id(const char *id, void *p)
{
    users_ctx_t *c = p;
    c->bad = !tv_uuid_valid(id);
    return c->bad;
}

void tv_account_users(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    users_ctx_t c = {0};
    if (tv_http_query_each(req, "ids", NULL, check_id, &c)) {
        tv_http_error(req, TV_EINVAL, "Invalid user ID: must be a UUID.");
        return;
    }
    int rc = tv_db_acquire(app->db, &c.conn);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    c.users = cJSON_CreateArray();
    c.sql = "SELECT " USER_COLS " FROM users u WHERE u.id = $1";
    int stop = tv_http_query_each(req, "ids", NULL, add_user, &c);
    c.sql = "SELECT " USER_COLS " FROM users u WHERE u.username = $1";
    if (!stop)
        stop = tv_http_query_each(req, "usernames", NULL, add_user, &c);
    if (!stop)
        tv_http_query_each(req, "facebook_ids", "facebookIds", count_only, &c);
    tv_db_release(app->db, c.conn);
    if (c.count > USERS_MAX || c.rc) {
        cJSON_Delete(c.users);
        if (c.count > USERS_MAX)
            tv_http_error(req, TV_EINVAL, "Too many users requested: at most 100.");
        else
            tv_http_db_error(req, c.rc);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    tv_json_add_list(o, "users", c.users);
    tv_http_reply_json(req, o);
}

/* --- link and unlink --- */

/* Runs one write for the signed-in user with args[0] = user id; returns the step result. */
static int write_for_user(tv_app_t *app, const char *sql, int nargs, const char *const *args,
                          int64_t *changed)
{
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc)
        return rc;
    rc = tv_db_execp(conn, sql, nargs, args, changed);
    tv_db_release(app->db, conn);
    return rc;
}

/* Reads the "id" member and checks it with rule; answers 400 itself and returns NULL. */
static const char *read_id(tv_http_req_t *req, const char *(*rule)(const char *))
{
    cJSON *body = tv_http_body_json(req);
    const char *id = NULL;
    if (!body)
        return NULL;
    if (tv_json_get_str(body, "id", NULL, &id) != TV_OK) {
        tv_http_error(req, TV_EINVAL, "Invalid id: must be a string.");
        return NULL;
    }
    const char *msg = rule(id);
    if (msg) {
        tv_http_error(req, TV_EINVAL, msg);
        return NULL;
    }
    return id;
}

/* Ends a link. A unique violation means another account holds the identifier; no row
 * changed means the same for a device (the upsert's WHERE refused), and for custom and email
 * that the account itself is gone, as does a foreign-key refusal (TV_EINVAL). */
static void finish_link(tv_http_req_t *req, int rc, int64_t changed, const char *in_use,
                        int unchanged_is_conflict)
{
    if (rc == TV_ECONFLICT || (rc == TV_DB_DONE && !changed && unchanged_is_conflict))
        tv_http_error(req, TV_ECONFLICT, in_use);
    else if (rc == TV_EINVAL || (rc == TV_DB_DONE && !changed))
        tv_http_error(req, TV_ENOTFOUND, "Account not found.");
    else if (rc != TV_DB_DONE)
        tv_http_db_error(req, rc);
    else
        tv_http_reply_json(req, NULL);
}

void tv_account_link_device(tv_http_req_t *req, void *p)
{
    const char *id = read_id(req, tv_auth_check_device_id);
    if (!id)
        return;
    const char *args[] = {tv_http_claims(req)->uid, id};
    int64_t changed = 0;
    /* Linking a device this user already has is a no-op success, as in Nakama. */
    int rc = write_for_user(p, "INSERT INTO user_device (id, user_id) VALUES ($2, $1) "
                               "ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id "
                               "WHERE user_device.user_id = excluded.user_id", 2, args, &changed);
    finish_link(req, rc, changed, "Device ID already in use.", 1);
}

void tv_account_link_custom(tv_http_req_t *req, void *p)
{
    const char *id = read_id(req, tv_auth_check_custom_id);
    if (!id)
        return;
    char now[24];
    tv_i64_str(now, tv_now_s());
    const char *args[] = {tv_http_claims(req)->uid, id, now};
    int64_t changed = 0;
    int rc = write_for_user(p, "UPDATE users SET custom_id = $2, update_time = $3 WHERE id = $1",
                            3, args, &changed);
    finish_link(req, rc, changed, "Custom ID already in use.", 0);
}

/* Reads and checks {email, password}; answers 400 itself and returns non-zero. */
static int read_email(tv_http_req_t *req, char email[TV_EMAIL_MAX + 1], const char **password)
{
    cJSON *body = tv_http_body_json(req);
    const char *e = NULL;
    if (!body)
        return -1;
    if (tv_json_get_str(body, "email", NULL, &e) || tv_json_get_str(body, "password", NULL,
                                                                     password)) {
        tv_http_error(req, TV_EINVAL, "Invalid email or password: must be strings.");
        return -1;
    }
    const char *msg = tv_auth_check_email(e, email);
    if (!msg && *password && **password) /* unlink sends it, but never checks it */
        msg = tv_auth_check_password(*password);
    if (msg) {
        tv_http_error(req, TV_EINVAL, msg);
        return -1;
    }
    return 0;
}

void tv_account_link_email(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    char email[TV_EMAIL_MAX + 1];
    const char *password = NULL;
    if (read_email(req, email, &password))
        return;
    const char *msg = tv_auth_check_password(password);
    if (msg) {
        tv_http_error(req, TV_EINVAL, msg);
        return;
    }
    char hash[TV_PASSWORD_HASH_MAX];
    int rc = tv_password_hash(app->pw, password, hash);
    if (rc) {
        tv_http_error(req, rc, rc == TV_EBUSY ? "Too many requests at once, try again."
                                              : "Internal server error.");
        return;
    }
    char now[24];
    tv_i64_str(now, tv_now_s());
    const char *args[] = {tv_http_claims(req)->uid, email, hash, now};
    int64_t changed = 0;
    rc = write_for_user(app, "UPDATE users SET email = $2, password = $3, update_time = $4 "
                             "WHERE id = $1", 4, args, &changed);
    finish_link(req, rc, changed, "Email already in use.", 0);
}

/* An identifier may go only while another one stays: the condition every unlink adds. */
#define OTHER_LINKS(devices, custom, email)                                               \
    "((SELECT COUNT(*) FROM user_device WHERE user_id = $1) > " devices                  \
    " OR EXISTS (SELECT 1 FROM users WHERE id = $1 AND (" custom " OR " email ")))"

static void finish_unlink(tv_http_req_t *req, int rc, int64_t changed)
{
    if (rc != TV_DB_DONE)
        tv_http_db_error(req, rc);
    else if (!changed)
        tv_http_error(req, TV_EPERM, "Cannot unlink last account identifier. Check profile "
                                     "exists and is not last link.");
    else
        tv_http_reply_json(req, NULL);
}

void tv_account_unlink_device(tv_http_req_t *req, void *p)
{
    const char *id = read_id(req, tv_auth_check_device_id);
    if (!id)
        return;
    const char *args[] = {tv_http_claims(req)->uid, id};
    int64_t changed = 0;
    int rc = write_for_user(p, "DELETE FROM user_device WHERE id = $2 AND user_id = $1 AND "
                            OTHER_LINKS("1", "custom_id IS NOT NULL", "email IS NOT NULL"),
                            2, args, &changed);
    finish_unlink(req, rc, changed);
}

void tv_account_unlink_custom(tv_http_req_t *req, void *p)
{
    const char *id = read_id(req, tv_auth_check_custom_id);
    if (!id)
        return;
    char now[24];
    tv_i64_str(now, tv_now_s());
    const char *args[] = {tv_http_claims(req)->uid, id, now};
    int64_t changed = 0;
    int rc = write_for_user(p, "UPDATE users SET custom_id = NULL, update_time = $3 "
                            "WHERE id = $1 AND custom_id = $2 AND "
                            OTHER_LINKS("0", "1 = 0", "email IS NOT NULL"), 3, args, &changed);
    finish_unlink(req, rc, changed);
}

void tv_account_unlink_email(tv_http_req_t *req, void *p)
{
    char email[TV_EMAIL_MAX + 1];
    const char *password = NULL;
    if (read_email(req, email, &password))
        return;
    char now[24];
    tv_i64_str(now, tv_now_s());
    const char *args[] = {tv_http_claims(req)->uid, email, now};
    int64_t changed = 0;
    int rc = write_for_user(p, "UPDATE users SET email = NULL, password = NULL, update_time = $3 "
                            "WHERE id = $1 AND email = $2 AND "
                            OTHER_LINKS("0", "custom_id IS NOT NULL", "1 = 0"), 3, args, &changed);
    finish_unlink(req, rc, changed);
}
