/* Console user management (admins only, by the role table): list, create, update (role, email,
 * password, disabled), delete and unlock. Passwords are hashed before a connection is taken.
 * Nobody demotes, disables or deletes their own user, and the last enabled admin stays: the
 * admin rows are locked (PostgreSQL) or the writer is alone (SQLite) while that is checked. */
#include "console_internal.h"
#include "app.h"
#include "auth_api.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_COLS "id, username, email, role, failed_attempts, locked_until, disable_time, " \
                  "create_time, update_time, last_signin_time"
#define LIST_MAX 1000

static cJSON *user_json(tv_db_stmt_t *st)
{
    cJSON *o = cJSON_CreateObject();
    tv_json_add_str(o, "id", tv_db_column_text(st, 0));
    tv_json_add_str(o, "username", tv_db_column_text(st, 1));
    tv_json_add_str(o, "email", tv_db_column_text(st, 2));
    tv_json_add_str(o, "role", tv_db_column_text(st, 3));
    tv_json_add_int(o, "failed_attempts", tv_db_column_int64(st, 4));
    int64_t locked = tv_db_column_int64(st, 5);
    if (locked > tv_now_s())
        tv_json_add_time(o, "locked_until", locked);
    tv_json_add_bool(o, "disabled", tv_db_column_int64(st, 6) != 0);
    tv_json_add_time(o, "create_time", tv_db_column_int64(st, 7));
    tv_json_add_time(o, "update_time", tv_db_column_int64(st, 8));
    tv_json_add_time(o, "last_signin_time", tv_db_column_int64(st, 9));
    return o;
}

/* The user named username as JSON into *out (NULL when there is none). */
static int read_user(tv_db_conn_t *c, const char *username, cJSON **out)
{
    tv_db_stmt_t *st;
    *out = NULL;
    int rc = tv_db_prepare(c, "SELECT " USER_COLS " FROM console_user WHERE username = $1", &st);
    if (rc)
        return rc;
    if ((rc = tv_db_bind_text(st, 1, username)) == TV_OK)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        *out = user_json(st);
        rc = TV_OK;
    }
    tv_db_reset(st);
    return rc < 0 ? rc : TV_OK;
}

void tv_console_user_list(tv_http_req_t *req, void *app)
{
    tv_console_t *con = tv_console_of(app);
    tv_db_conn_t *c;
    tv_db_stmt_t *st;
    int rc = tv_db_acquire(con->db, &c);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *list = cJSON_CreateArray();
    rc = tv_db_prepare(c, "SELECT " USER_COLS " FROM console_user ORDER BY username LIMIT 1000",
                       &st);
    while (rc == TV_OK && (rc = tv_db_step(st)) == TV_DB_ROW) {
        cJSON_AddItemToArray(list, user_json(st));
        rc = TV_OK;
    }
    if (rc >= 0)
        tv_db_reset(st);
    tv_db_release(con->db, c);
    if (rc < 0) {
        cJSON_Delete(list);
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    tv_json_add_list(o, "users", list);
    tv_http_reply_json(req, o);
}

/* Reads role, email and password members (any may be absent) and checks them. *why is the
 * 400 message on failure. */
typedef struct {
    int has_role;
    tv_con_role_t role;
    int has_email;
    char email[TV_EMAIL_MAX + 1];
    const char *password;
    int has_disabled, disabled;
} fields_t;

static const char *read_fields(const cJSON *body, fields_t *f)
{
    const char *role, *email;
    memset(f, 0, sizeof *f);
    if (tv_json_get_str(body, "role", NULL, &role) ||
        tv_json_get_str(body, "email", NULL, &email) ||
        tv_json_get_str(body, "password", NULL, &f->password))
        return "Invalid console user: role, email and password must be strings.";
    if (role) {
        if (tv_con_role_parse(role, &f->role) != TV_OK)
            return "Invalid role: admin, developer, maintainer or readonly.";
        f->has_role = 1;
    }
    if (email) {
        f->has_email = 1;
        const char *why = *email ? tv_auth_check_email(email, f->email) : NULL;
        if (why)
            return why;
    }
    if (f->password) {
        const char *why = tv_console_check_password(f->password);
        if (why)
            return why;
    }
    if (tv_json_get_bool(body, "disabled", NULL, &f->disabled, &f->has_disabled))
        return "Invalid disabled: must be a boolean.";
    return NULL;
}

/* Hashes f->password, if any, into hash (""); answers 429/500 itself on failure. */
static int hash_password(tv_http_req_t *req, tv_console_t *con, const fields_t *f,
                         char hash[TV_PASSWORD_HASH_MAX])
{
    hash[0] = 0;
    if (!f->password)
        return TV_OK;
    int rc = tv_password_hash(con->pw, f->password, hash);
    if (rc == TV_EBUSY)
        tv_http_error(req, TV_EBUSY, "Server busy, try again.");
    else if (rc)
        tv_http_error(req, TV_EINTERNAL, "Internal server error.");
    return rc;
}

void tv_console_user_create(tv_http_req_t *req, void *app)
{
    tv_console_t *con = tv_console_of(app);
    cJSON *body = tv_http_body_json(req);
    if (!body)
        return;
    const char *username, *why;
    fields_t f;
    if (tv_json_get_str(body, "username", NULL, &username) ||
        (why = tv_console_check_name(username)) != NULL) {
        tv_http_error(req, TV_EINVAL, "Invalid console username: 1-128 characters of A-Z a-z "
                                      "0-9 _ . @ -.");
        return;
    }
    if ((why = read_fields(body, &f)) != NULL) {
        tv_http_error(req, TV_EINVAL, why);
        return;
    }
    if (!f.has_role || !f.password || f.has_disabled) {
        tv_http_error(req, TV_EINVAL, f.has_disabled
                                          ? "A new console user cannot be disabled."
                                          : "A console user needs a role and a password.");
        return;
    }
    char hash[TV_PASSWORD_HASH_MAX], id[37], t[24];
    if (hash_password(req, con, &f, hash))
        return;
    tv_uuid_v4(id);
    tv_i64_str(t, tv_now_s());
    tv_db_conn_t *c;
    int rc = tv_db_acquire(con->db, &c);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    const char *args[] = {id, username, f.email, tv_con_role_name(f.role), hash, t};
    rc = tv_db_execp(c, "INSERT INTO console_user (id, username, email, role, password, "
                        "create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                     6, args, NULL);
    cJSON *out = NULL;
    if (rc == TV_OK)
        rc = read_user(c, username, &out);
    tv_db_release(con->db, c);
    if (rc == TV_ECONFLICT)
        tv_http_error(req, TV_ECONFLICT, "Console username is in use.");
    else if (rc || !out)
        tv_http_db_error(req, rc ? rc : TV_EINTERNAL);
    else {
        tv_log_info("console", "console user %s (%s) created by %s", username,
                    tv_con_role_name(f.role), tv_http_claims(req)->usn);
        tv_http_reply_json(req, out);
    }
}

/* --- changes that may remove an admin --- */

typedef struct {
    const char *username; /* the path's */
    const char *caller_id;
    const fields_t *f;    /* NULL for a delete */
    const char *hash;     /* "" when the password stays */
    int64_t now;
    int pg;               /* PostgreSQL: lock the admin rows */
    const char *why;      /* the refusal's message */
    cJSON *out;           /* the user after an update */
} change_t;

/* On PostgreSQL, locks every admin row until the transaction ends, so two changes that each
 * leave "another" admin cannot both pass. SQLite's writer is alone already. */
static int lock_admins(tv_db_conn_t *c, int pg)
{
    if (!pg)
        return TV_OK;
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, "SELECT id FROM console_user WHERE role = 'admin' FOR UPDATE", &st);
    while (rc == TV_OK && (rc = tv_db_step(st)) == TV_DB_ROW)
        rc = TV_OK;
    if (rc >= 0)
        tv_db_reset(st);
    return rc < 0 ? rc : TV_OK;
}

typedef struct {
    int found;
    char id[37];
    tv_con_role_t role;
    int disabled;
} target_t;

static int read_target(tv_db_conn_t *c, const char *username, target_t *t)
{
    tv_db_stmt_t *st;
    memset(t, 0, sizeof *t);
    int rc = tv_db_prepare(c, "SELECT id, role, disable_time FROM console_user WHERE username = $1",
                           &st);
    if (rc)
        return rc;
    if ((rc = tv_db_bind_text(st, 1, username)) == TV_OK)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        const char *v = tv_db_column_text(st, 0);
        t->found = 1;
        snprintf(t->id, sizeof t->id, "%s", v ? v : "");
        if (tv_con_role_parse(tv_db_column_text(st, 1), &t->role) != TV_OK)
            t->role = TV_CON_READONLY;
        t->disabled = tv_db_column_int64(st, 2) != 0;
        rc = TV_OK;
    }
    tv_db_reset(st);
    return rc < 0 ? rc : TV_OK;
}

static int other_admins(tv_db_conn_t *c, const char *id, int64_t *n)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, "SELECT COUNT(*) FROM console_user WHERE role = 'admin' AND "
                              "disable_time = 0 AND id <> $1", &st);
    if (rc)
        return rc;
    if ((rc = tv_db_bind_text(st, 1, id)) == TV_OK)
        rc = tv_db_step(st);
    *n = rc == TV_DB_ROW ? tv_db_column_int64(st, 0) : 0;
    tv_db_reset(st);
    return rc < 0 ? rc : TV_OK;
}

/* Refuses (TV_EINVAL / TV_ECONFLICT with ch->why) a change that would take the caller's own
 * admin rights or the last enabled admin's. */
static int guard(tv_db_conn_t *c, change_t *ch, const target_t *t, int removes_admin)
{
    if (!removes_admin)
        return TV_OK;
    if (strcmp(t->id, ch->caller_id) == 0) {
        ch->why = "You cannot delete, disable or demote your own console user.";
        return TV_EINVAL;
    }
    if (t->role != TV_CON_ADMIN || t->disabled)
        return TV_OK;
    int64_t n;
    int rc = other_admins(c, t->id, &n);
    if (rc == TV_OK && n == 0) {
        ch->why = "The last enabled admin cannot be deleted, disabled or demoted.";
        return TV_ECONFLICT;
    }
    return rc;
}

static int update_tx(tv_db_conn_t *c, void *ctx)
{
    change_t *ch = ctx;
    const fields_t *f = ch->f;
    target_t t;
    cJSON_Delete(ch->out);
    ch->out = NULL;
    int rc = lock_admins(c, ch->pg);
    if (rc == TV_OK)
        rc = read_target(c, ch->username, &t);
    if (rc)
        return rc;
    if (!t.found) {
        ch->why = "Console user not found.";
        return TV_ENOTFOUND;
    }
    int removes = (f->has_role && f->role != TV_CON_ADMIN) || (f->has_disabled && f->disabled);
    if ((rc = guard(c, ch, &t, removes)) != TV_OK)
        return rc;
    /* one statement with the members given; numbered parameters after $1 (id), $2 (now) */
    char sql[512], now[24], dis[24];
    const char *args[8] = {t.id, now};
    int n = 2;
    tv_i64_str(now, ch->now);
    size_t len = (size_t)snprintf(sql, sizeof sql, "UPDATE console_user SET update_time = $2");
    if (f->has_role) {
        args[n++] = tv_con_role_name(f->role);
        len += (size_t)snprintf(sql + len, sizeof sql - len, ", role = $%d", n);
    }
    if (f->has_email) {
        args[n++] = f->email;
        len += (size_t)snprintf(sql + len, sizeof sql - len, ", email = $%d", n);
    }
    if (ch->hash[0]) {
        args[n++] = ch->hash;
        len += (size_t)snprintf(sql + len, sizeof sql - len,
                                ", password = $%d, failed_attempts = 0, locked_until = 0", n);
    }
    if (f->has_disabled && f->disabled != t.disabled) {
        args[n++] = tv_i64_str(dis, f->disabled ? ch->now : 0);
        len += (size_t)snprintf(sql + len, sizeof sql - len, ", disable_time = $%d", n);
    }
    snprintf(sql + len, sizeof sql - len, " WHERE id = $1");
    rc = tv_db_execp(c, sql, n, args, NULL);
    if (rc == TV_OK)
        rc = read_user(c, ch->username, &ch->out);
    return rc;
}

static void answer_change(tv_http_req_t *req, int rc, const change_t *ch)
{
    if (rc == TV_ENOTFOUND || ((rc == TV_EINVAL || rc == TV_ECONFLICT) && ch->why))
        tv_http_error(req, rc, ch->why);
    else
        tv_http_db_error(req, rc);
}

void tv_console_user_update(tv_http_req_t *req, void *app)
{
    tv_console_t *con = tv_console_of(app);
    cJSON *body = tv_http_body_json(req);
    if (!body)
        return;
    fields_t f;
    const char *why = read_fields(body, &f);
    if (why) {
        tv_http_error(req, TV_EINVAL, why);
        return;
    }
    char hash[TV_PASSWORD_HASH_MAX];
    if (hash_password(req, con, &f, hash))
        return;
    change_t ch = {.username = tv_http_param(req, 0), .caller_id = tv_http_claims(req)->uid,
                   .f = &f, .hash = hash, .now = tv_now_s(),
                   .pg = strcmp(tv_db_engine(con->db), "postgres") == 0};
    int rc = tv_db_tx(con->db, update_tx, &ch);
    tv_console_cache_clear(con);
    if (rc == TV_OK && !ch.out)
        rc = TV_EINTERNAL;
    if (rc) {
        cJSON_Delete(ch.out);
        answer_change(req, rc, &ch);
        return;
    }
    tv_log_info("console", "console user %s changed by %s", ch.username,
                tv_http_claims(req)->usn);
    tv_http_reply_json(req, ch.out);
}

static int delete_tx(tv_db_conn_t *c, void *ctx)
{
    change_t *ch = ctx;
    target_t t;
    int rc = lock_admins(c, ch->pg);
    if (rc == TV_OK)
        rc = read_target(c, ch->username, &t);
    if (rc)
        return rc;
    if (!t.found) {
        ch->why = "Console user not found.";
        return TV_ENOTFOUND;
    }
    if ((rc = guard(c, ch, &t, 1)) != TV_OK)
        return rc;
    const char *args[] = {t.id};
    return tv_db_execp(c, "DELETE FROM console_user WHERE id = $1", 1, args, NULL);
}

void tv_console_user_delete(tv_http_req_t *req, void *app)
{
    tv_console_t *con = tv_console_of(app);
    change_t ch = {.username = tv_http_param(req, 0), .caller_id = tv_http_claims(req)->uid,
                   .pg = strcmp(tv_db_engine(con->db), "postgres") == 0};
    int rc = tv_db_tx(con->db, delete_tx, &ch);
    tv_console_cache_clear(con);
    if (rc) {
        answer_change(req, rc, &ch);
        return;
    }
    tv_log_info("console", "console user %s deleted by %s", ch.username,
                tv_http_claims(req)->usn);
    tv_http_reply_json(req, NULL);
}

void tv_console_user_unlock(tv_http_req_t *req, void *app)
{
    tv_console_t *con = tv_console_of(app);
    const char *username = tv_http_param(req, 0);
    char t[24];
    tv_i64_str(t, tv_now_s());
    tv_db_conn_t *c;
    int rc = tv_db_acquire(con->db, &c);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    int64_t changes = 0;
    const char *args[] = {username, t};
    rc = tv_db_execp(c, "UPDATE console_user SET failed_attempts = 0, locked_until = 0, "
                        "update_time = $2 WHERE username = $1", 2, args, &changes);
    cJSON *out = NULL;
    if (rc == TV_OK && changes)
        rc = read_user(c, username, &out);
    tv_db_release(con->db, c);
    if (rc)
        tv_http_db_error(req, rc);
    else if (!out)
        tv_http_error(req, TV_ENOTFOUND, "Console user not found.");
    else {
        tv_log_info("console", "console user %s unlocked by %s", username,
                    tv_http_claims(req)->usn);
        tv_http_reply_json(req, out);
    }
}
