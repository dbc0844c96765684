/* The console's Accounts routes: search (by id, username prefix, email, device or custom id,
 * newest first or by username, signed cursors), the full view with counts, edits, ban and
 * unban (refused at once through the session cache, sockets closed) and deletion (the
 * player's own deletion, then the sockets). */
#include "console_accounts.h"
#include "account.h"
#include "app.h"
#include "auth_api.h"
#include "cursor.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "rt.h"
#include "session_cache.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 20
#define CURSOR_LABEL "tavern-console-accounts"

/* The {user_id} path parameter when it is a UUID (lower-cased into out); else answers 400. */
static int path_user(tv_http_req_t *req, char out[TV_UUID_LEN + 1])
{
    const char *uid = tv_http_param(req, 0);
    if (!uid || !tv_uuid_valid(uid)) {
        tv_http_error(req, TV_EINVAL, "Invalid user id: not a UUID.");
        return -1;
    }
    memcpy(out, uid, TV_UUID_LEN + 1);
    tv_uuid_lower(out);
    return 0;
}

int tv_console_close_sockets(tv_app_t *app, const char *uid)
{
    if (!app->rt)
        return 0;
    int n = tv_rt_user_sessions(app->rt, uid, NULL, 0);
    if (n <= 0)
        return 0;
    int cap = n + 8; /* sockets opened meanwhile; a later one is refused by the cache anyway */
    tv_rt_identity_t *who = calloc((size_t)cap, sizeof *who);
    if (!who)
        return 0;
    n = tv_rt_user_sessions(app->rt, uid, who, cap);
    if (n > cap)
        n = cap;
    int closed = 0;
    for (int i = 0; i < n; i++)
        closed += tv_rt_disconnect(app->rt, who[i].session_id) == TV_OK;
    free(who);
    return closed;
}

/* --- search --- */

typedef enum { ORDER_NEWEST, ORDER_USERNAME } order_t;

/* The cursor body: the last row's sort key. */
typedef struct {
    int64_t create_time;
    char id[TV_UUID_LEN + 1];
    char username[TV_USERNAME_MAX + 1];
} after_t;

#define LIST_COLS TV_ACCOUNT_USER_COLS ", u.email, u.custom_id, u.disable_time"
/* $1 1 when filtered; $2 the filter as a user id (NULL when no UUID), $3 as an email (NULL
 * when no email), $4 as a device or custom id, $5/$6 the username prefix in characters. */
#define LIST_MATCH                                                                           \
    "(CAST($1 AS INTEGER) = 0 OR u.id = $2 OR u.email = $3 OR u.custom_id = $4 OR EXISTS "   \
    "(SELECT 1 FROM user_device d WHERE d.id = $4 AND d.user_id = u.id) OR "                 \
    "substr(u.username, 1, CAST($5 AS INTEGER)) = $6)"

static const char *const list_sql[] = {
    [ORDER_NEWEST] = "SELECT " LIST_COLS " FROM users u WHERE " LIST_MATCH " AND (u.create_time "
                     "< CAST($7 AS BIGINT) OR (u.create_time = CAST($7 AS BIGINT) AND u.id < $8)) "
                     "ORDER BY u.create_time DESC, u.id DESC LIMIT $9",
    [ORDER_USERNAME] = "SELECT " LIST_COLS " FROM users u WHERE " LIST_MATCH " AND u.username "
                       "> $7 ORDER BY u.username LIMIT $8",
};

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Reads ?order: TV_OK or answers 400. */
static int read_order(tv_http_req_t *req, order_t *out)
{
    const char *o = tv_http_query(req, "order", NULL);
    *out = ORDER_NEWEST;
    if (!o || !*o || strcmp(o, "newest") == 0)
        return TV_OK;
    if (strcmp(o, "username") == 0) {
        *out = ORDER_USERNAME;
        return TV_OK;
    }
    tv_http_error(req, TV_EINVAL, "Invalid order: newest or username.");
    return TV_EINVAL;
}

/* Opens ?cursor into *a for this order and filter; answers 400 on a bad one. */
static int read_cursor(tv_http_req_t *req, const unsigned char key[TV_CURSOR_KEY],
                       const char *scope, order_t order, after_t *a)
{
    const char *text = tv_http_query(req, "cursor", NULL);
    memset(a, 0, sizeof *a);
    a->create_time = INT64_MAX;
    snprintf(a->id, sizeof a->id, "ffffffff-ffff-ffff-ffff-ffffffffffff");
    if (!text || !*text)
        return TV_OK;
    unsigned char body[8 + TV_USERNAME_MAX];
    size_t len = 0;
    int ok = tv_cursor_open(key, scope, text, body, sizeof body, &len) == TV_OK;
    if (ok && order == ORDER_NEWEST) {
        ok = len == 8 + TV_UUID_LEN;
        if (ok) {
            uint64_t t = 0;
            for (int i = 0; i < 8; i++)
                t = t << 8 | body[i];
            a->create_time = (int64_t)t;
            memcpy(a->id, body + 8, TV_UUID_LEN);
            a->id[TV_UUID_LEN] = 0;
            ok = tv_uuid_valid(a->id);
        }
    } else if (ok) {
        ok = len > 0 && len <= TV_USERNAME_MAX;
        if (ok) {
            memcpy(a->username, body, len);
            a->username[len] = 0;
        }
    }
    if (!ok) {
        tv_http_error(req, TV_EINVAL, "Invalid cursor.");
        return TV_EINVAL;
    }
    return TV_OK;
}

static int seal_cursor(const unsigned char key[TV_CURSOR_KEY], const char *scope,
                       order_t order, const after_t *a, char *out, size_t size)
{
    unsigned char body[8 + TV_USERNAME_MAX];
    size_t len;
    if (order == ORDER_NEWEST) {
        uint64_t t = (uint64_t)a->create_time;
        for (int i = 7; i >= 0; i--, t >>= 8)
            body[i] = (unsigned char)(t & 0xff);
        memcpy(body + 8, a->id, TV_UUID_LEN);
        len = 8 + TV_UUID_LEN;
    } else {
        len = strlen(a->username);
        memcpy(body, a->username, len);
    }
    return tv_cursor_seal(key, scope, body, len, out, size);
}

static cJSON *list_item(tv_db_stmt_t *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "user", tv_account_user_json(st));
    tv_json_add_str(o, "email", tv_db_column_text(st, TV_ACCOUNT_USER_NCOLS));
    tv_json_add_str(o, "custom_id", tv_db_column_text(st, TV_ACCOUNT_USER_NCOLS + 1));
    tv_json_add_time(o, "disable_time", tv_db_column_int64(st, TV_ACCOUNT_USER_NCOLS + 2));
    return o;
}

void tv_console_account_list(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    int limit;
    order_t order;
    if (tv_http_query_limit(req, LIST_DEFAULT, TV_CONSOLE_ACCOUNT_LIST_MAX, &limit) ||
        read_order(req, &order))
        return;
    const char *filter = tv_http_query(req, "filter", NULL);
    if (!filter)
        filter = "";
    if (strlen(filter) > TV_CONSOLE_ACCOUNT_FILTER_MAX || !tv_utf8_valid(filter)) {
        tv_http_error(req, TV_EINVAL, "Invalid filter: at most 255 bytes of UTF-8.");
        return;
    }
    char scope[TV_CONSOLE_ACCOUNT_FILTER_MAX + 64];
    snprintf(scope, sizeof scope, "accounts\n%d\n%s", (int)order, filter);
    unsigned char key[TV_CURSOR_KEY];
    tv_cursor_key(app->session_key, CURSOR_LABEL, key);
    after_t after;
    if (read_cursor(req, key, scope, order, &after))
        return;

    char uid[TV_UUID_LEN + 1], email[TV_EMAIL_MAX + 1];
    int is_uid = tv_uuid_valid(filter);
    if (is_uid) {
        memcpy(uid, filter, sizeof uid);
        tv_uuid_lower(uid);
    }
    int is_email = *filter && tv_auth_check_email(filter, email) == NULL;

    tv_db_conn_t *conn;
    tv_db_stmt_t *st;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    after_t last = {0};
    int n = 0, more = 0;
    rc = tv_db_prepare(conn, list_sql[order], &st);
    if (rc == TV_OK) {
        tv_db_bind_int64(st, 1, *filter != 0);
        if (is_uid)
            tv_db_bind_text(st, 2, uid);
        else
            tv_db_bind_null(st, 2);
        if (is_email)
            tv_db_bind_text(st, 3, email);
        else
            tv_db_bind_null(st, 3);
        tv_db_bind_text(st, 4, filter);
        tv_db_bind_int64(st, 5, (int64_t)utf8_chars(filter));
        tv_db_bind_text(st, 6, filter);
        if (order == ORDER_NEWEST) {
            tv_db_bind_int64(st, 7, after.create_time);
            tv_db_bind_text(st, 8, after.id);
            tv_db_bind_int64(st, 9, limit + 1);
        } else {
            tv_db_bind_text(st, 7, after.username);
            tv_db_bind_int64(st, 8, limit + 1);
        }
        while ((rc = tv_db_step(st)) == TV_DB_ROW) {
            if (n++ == limit) {
                more = 1;
                continue;
            }
            cJSON_AddItemToArray(items, list_item(st));
            last.create_time = tv_db_column_int64(st, 9);
            snprintf(last.id, sizeof last.id, "%s", tv_db_column_text(st, 0));
            snprintf(last.username, sizeof last.username, "%s", tv_db_column_text(st, 1));
        }
        tv_db_reset(st);
    }
    tv_db_release(app->db, conn);
    if (rc != TV_DB_DONE) {
        cJSON_Delete(items);
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    tv_json_add_list(out, "accounts", items);
    if (more) {
        char text[TV_CURSOR_TEXT_LEN(8 + TV_USERNAME_MAX)];
        if (seal_cursor(key, scope, order, &last, text, sizeof text) == TV_OK)
            tv_json_add_str(out, "cursor", text);
    }
    tv_http_reply_json(req, out);
}

/* --- view --- */

static int add_counts(tv_db_conn_t *conn, const char *uid, cJSON *out)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn,
        "SELECT (SELECT COUNT(*) FROM storage WHERE user_id = $1), "
        "(SELECT COUNT(*) FROM user_edge WHERE source_id = $1 AND state = 0), "
        "(SELECT COUNT(*) FROM group_member WHERE user_id = $1 AND state <= 2), "
        "(SELECT COUNT(*) FROM leaderboard_record WHERE owner_id = $1)", &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, uid);
    rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        static const char *const names[] = {"storage_objects", "friends", "groups",
                                            "leaderboard_records"};
        cJSON *c = cJSON_CreateObject();
        for (int i = 0; i < 4; i++)
            tv_json_add_int64(c, names[i], tv_db_column_int64(st, i));
        if (c->child)
            cJSON_AddItemToObject(out, "counts", c);
        else
            cJSON_Delete(c);
        rc = TV_OK;
    }
    tv_db_reset(st);
    return rc;
}

/* {account, counts} of uid, or answers 404 / a database error. */
static void reply_view(tv_http_req_t *req, tv_app_t *app, const char *uid)
{
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *account = NULL, *out = cJSON_CreateObject();
    rc = tv_account_read(conn, uid, &account);
    if (rc == TV_OK) {
        cJSON_AddItemToObject(out, "account", account);
        rc = add_counts(conn, uid, out);
    }
    tv_db_release(app->db, conn);
    if (rc == TV_OK) {
        tv_http_reply_json(req, out);
        return;
    }
    cJSON_Delete(out);
    if (rc == TV_ENOTFOUND)
        tv_http_error(req, TV_ENOTFOUND, "Account not found.");
    else
        tv_http_db_error(req, rc);
}

void tv_console_account_get(tv_http_req_t *req, void *app)
{
    char uid[TV_UUID_LEN + 1];
    if (path_user(req, uid) == 0)
        reply_view(req, app, uid);
}

/* --- edit --- */

/* The metadata member: a JSON object, or a string holding one (Nakama's console sends the
 * text). *out is a compact copy (owned by the caller; NULL when absent). Answers 400. */
static int read_metadata(tv_http_req_t *req, const cJSON *body, char **out)
{
    *out = NULL;
    const cJSON *m = tv_json_get(body, "metadata", NULL);
    if (!m)
        return TV_OK;
    cJSON *parsed = NULL;
    if (cJSON_IsString(m))
        m = parsed = cJSON_Parse(m->valuestring);
    if (cJSON_IsObject(m))
        *out = cJSON_PrintUnformatted(m);
    cJSON_Delete(parsed);
    if (*out && strlen(*out) <= TV_CONSOLE_ACCOUNT_METADATA_MAX)
        return TV_OK;
    free(*out);
    *out = NULL;
    tv_http_error(req, TV_EINVAL, "Invalid metadata: a JSON object of at most 16384 bytes.");
    return TV_EINVAL;
}

/* email and custom_id: absent, or valid (email lower-cased into email). Answers 400. */
static int read_ids(tv_http_req_t *req, const cJSON *body, char email[TV_EMAIL_MAX + 1],
                    const char **email_out, const char **custom)
{
    const char *e = NULL, *msg = NULL;
    *email_out = NULL;
    if (tv_json_get_str(body, "email", NULL, &e) ||
        tv_json_get_str(body, "custom_id", "customId", custom)) {
        tv_http_error(req, TV_EINVAL, "Invalid email or custom_id: must be strings.");
        return TV_EINVAL;
    }
    if (e && (msg = tv_auth_check_email(e, email)) == NULL)
        *email_out = email;
    if (!msg && *custom)
        msg = tv_auth_check_custom_id(*custom);
    if (msg) {
        tv_http_error(req, TV_EINVAL, msg);
        return TV_EINVAL;
    }
    return TV_OK;
}

void tv_console_account_update(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    char uid[TV_UUID_LEN + 1], email_buf[TV_EMAIL_MAX + 1];
    const char *vals[TV_ACCOUNT_UPDATE_NFIELDS], *email, *custom;
    char *metadata = NULL;
    cJSON *body = tv_http_body_json(req);
    if (!body || path_user(req, uid) || tv_account_read_update(req, body, vals) ||
        read_ids(req, body, email_buf, &email, &custom) || read_metadata(req, body, &metadata))
        return;
    char now[24];
    tv_i64_str(now, tv_now_s());
    const char *args[] = {uid, vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], metadata,
                          email, custom, now};
    tv_db_conn_t *conn;
    int64_t changed = 0;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc == TV_OK) {
        rc = tv_db_execp(conn,
            "UPDATE users SET username = COALESCE($2, username), "
            "display_name = COALESCE($3, display_name), avatar_url = COALESCE($4, avatar_url), "
            "lang_tag = COALESCE($5, lang_tag), location = COALESCE($6, location), "
            "timezone = COALESCE($7, timezone), metadata = COALESCE($8, metadata), "
            "email = COALESCE($9, email), custom_id = COALESCE($10, custom_id), "
            "update_time = $11 WHERE id = $1", 11, args, &changed);
        tv_db_release(app->db, conn);
    }
    free(metadata);
    if (rc == TV_ECONFLICT)
        tv_http_error(req, TV_ECONFLICT, "Username, email or custom ID is already in use.");
    else if (rc != TV_DB_DONE)
        tv_http_db_error(req, rc);
    else if (!changed)
        tv_http_error(req, TV_ENOTFOUND, "Account not found.");
    else
        reply_view(req, app, uid);
}

/* --- ban, unban, delete --- */

/* Sets or clears disable_time; TV_OK, TV_ENOTFOUND or a database error. A second ban keeps
 * the first ban's time. */
static int write_ban(tv_app_t *app, const char *uid, int ban)
{
    char now[24];
    tv_i64_str(now, tv_now_s());
    const char *args[] = {uid, now};
    tv_db_conn_t *conn;
    int64_t changed = 0;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc)
        return rc;
    rc = tv_db_execp(conn, ban ? "UPDATE users SET disable_time = CASE WHEN disable_time = 0 "
                                 "THEN CAST($2 AS BIGINT) ELSE disable_time END, update_time = "
                                 "CAST($2 AS BIGINT) WHERE id = $1"
                               : "UPDATE users SET disable_time = 0, update_time = "
                                 "CAST($2 AS BIGINT) WHERE id = $1", 2, args, &changed);
    tv_db_release(app->db, conn);
    if (rc != TV_DB_DONE)
        return rc;
    return changed ? TV_OK : TV_ENOTFOUND;
}

static void ban_or_unban(tv_http_req_t *req, tv_app_t *app, int ban)
{
    char uid[TV_UUID_LEN + 1];
    if (path_user(req, uid))
        return;
    int rc = write_ban(app, uid, ban);
    /* The database first (a restart reloads it), then this node's cache: from here on every
     * token of the user is refused without SQL. The revocation keeps tokens from before the
     * ban dead after an unban, and the sockets close last, so none reopens in between. */
    if (rc == TV_OK)
        rc = tv_session_cache_set_banned(app->sessions, uid, ban);
    if (rc == TV_OK && ban)
        rc = tv_auth_revoke_all(app, uid);
    if (rc == TV_ENOTFOUND) {
        tv_http_error(req, TV_ENOTFOUND, "Account not found.");
        return;
    }
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    int closed = ban ? tv_console_close_sockets(app, uid) : 0;
    tv_log_info("console", "account %s %s by %s (%d sockets closed)", uid,
                ban ? "banned" : "unbanned", tv_http_claims(req)->usn, closed);
    tv_http_reply_json(req, NULL);
}

void tv_console_account_ban(tv_http_req_t *req, void *app)
{
    ban_or_unban(req, app, 1);
}

void tv_console_account_unban(tv_http_req_t *req, void *app)
{
    ban_or_unban(req, app, 0);
}

void tv_console_account_delete(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    char uid[TV_UUID_LEN + 1];
    if (path_user(req, uid))
        return;
    int deleted = 0;
    int rc = tv_account_delete_user(app, uid, &deleted);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    if (!deleted) {
        tv_http_error(req, TV_ENOTFOUND, "Account not found.");
        return;
    }
    /* The deletion's logout spares tokens issued in its very second (Nakama's rule for a
     * sign-in right after a logout); the banned set refuses those too, until a restart, when
     * no row of the user is left to sign in with. */
    tv_session_cache_set_banned(app->sessions, uid, 1);
    int closed = tv_console_close_sockets(app, uid);
    tv_log_info("console", "account %s deleted by %s (%d sockets closed)", uid,
                tv_http_claims(req)->usn, closed);
    tv_http_reply_json(req, NULL);
}
