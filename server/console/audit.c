/* The console's audit log: one console_audit row for every console request that is not a
 * read, written from the console daemon's done hook (http.c calls it on the worker once the
 * answer is known, auth refusals included), so no handler writes its own. Body summaries are
 * bounded JSON with secrets replaced; a body that is not JSON is never stored. */
#include "console_internal.h"
#include "app.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_MAX 1024    /* bytes of body summary kept */
#define SUMMARY_STRING 128  /* bytes of one string value kept */
#define TARGET_MAX 512
#define AUDIT_LIST_MAX 100
#define AUDIT_LIST_DEFAULT 50

/* 1 when a member named key may hold a secret: its value is never stored. */
static int secret_key(const char *key)
{
    static const char *const words[] = {"password", "secret", "token", "credential"};
    char low[64];
    size_t n = 0;
    for (; key[n] && n + 1 < sizeof low; n++)
        low[n] = (char)tolower((unsigned char)key[n]);
    low[n] = 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(low, words[i]))
            return 1;
    return 0;
}

/* Puts the string text in m's place (same key; m is freed). Never by key: a JSON object may
 * repeat a key, and every copy must go. */
static void replace(cJSON *parent, cJSON *m, const char *text)
{
    cJSON *r = cJSON_CreateString(text);
    if (r && m->string && !(r->string = strdup(m->string))) {
        cJSON_Delete(r);
        r = NULL;
    }
    if (!r) {
        cJSON_Delete(cJSON_DetachItemViaPointer(parent, m));
        return;
    }
    cJSON_ReplaceItemViaPointer(parent, m, r);
}

/* Replaces secrets and shortens long strings, in place, depth-first. */
static void scrub(cJSON *v, int depth)
{
    cJSON *m = v ? v->child : NULL;
    while (m) {
        cJSON *next = m->next; /* m may be replaced (freed) below */
        if (m->string && secret_key(m->string)) {
            replace(v, m, "[redacted]");
        } else if (cJSON_IsString(m) && strlen(m->valuestring) > SUMMARY_STRING) {
            size_t cut = SUMMARY_STRING - 3;
            while (cut > 0 && ((unsigned char)m->valuestring[cut] & 0xC0) == 0x80)
                cut--; /* never inside a UTF-8 sequence */
            memcpy(m->valuestring + cut, "...", 4);
        } else if (depth < 16) {
            scrub(m, depth + 1);
        } else if (m->child) { /* deeper than we look: not kept */
            replace(v, m, "...");
        }
        m = next;
    }
}

/* The stored summary of the request body: "" when empty, the scrubbed JSON cut at
 * SUMMARY_MAX bytes, or a note when it is not JSON. Owned by the caller. */
static char *summary(tv_http_req_t *req)
{
    size_t len;
    const char *body = tv_http_body(req, &len);
    if (!len)
        return strdup("");
    cJSON *v = memchr(body, 0, len) ? NULL : cJSON_ParseWithLength(body, len);
    char *out;
    if (!v) {
        char note[64];
        snprintf(note, sizeof note, "(not JSON, %zu bytes)", len);
        return strdup(note);
    }
    scrub(v, 0);
    out = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    if (out && strlen(out) > SUMMARY_MAX) {
        size_t cut = SUMMARY_MAX - 4;
        while (cut > 0 && ((unsigned char)out[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(out + cut, "...", 4);
    }
    return out;
}

/* The route's path parameters joined by '/', or for the sign-in the name it tried. */
static void target(tv_http_req_t *req, char *out, size_t size)
{
    out[0] = 0;
    size_t n = 0;
    for (int i = 0; tv_http_param(req, i) && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s%s", i ? "/" : "", tv_http_param(req, i));
    if (out[0] || strcmp(tv_http_route(req)->pattern, "/v2/console/authenticate") != 0)
        return;
    size_t len;
    const char *body = tv_http_body(req, &len);
    cJSON *v = len && !memchr(body, 0, len) ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(v, "username");
    if (cJSON_IsString(u))
        snprintf(out, size, "%.128s", u->valuestring);
    cJSON_Delete(v);
}

void tv_console_audit_done(void *app, tv_http_req_t *req)
{
    const char *method = tv_http_method(req);
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return;
    tv_console_t *con = tv_console_of(app);
    const tv_token_claims_t *c = tv_http_claims(req);
    const tv_http_route_t *r = tv_http_route(req);
    char id[37], t[24], status[24], action[300], tgt[TARGET_MAX + 1], peer[64];
    int role = c->uid[0] ? tv_console_token_role(c) : -1;
    tv_uuid_v7(tv_now_ms(), id);
    tv_i64_str(t, tv_now_ms());
    tv_i64_str(status, tv_http_status(req));
    snprintf(action, sizeof action, "%s %s", r->method, r->pattern);
    target(req, tgt, sizeof tgt);
    if (!tv_utf8_valid(tgt))
        snprintf(tgt, sizeof tgt, "(not UTF-8)");
    tv_http_peer(req, peer, sizeof peer);
    char *body = summary(req);
    const char *args[] = {id, t, tv_uuid_valid(c->uid) ? c->uid : "", c->usn,
                          role >= 0 ? tv_con_role_name((tv_con_role_t)role) : "", action,
                          tv_http_path(req), tgt, body ? body : "", status, peer};
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(con->db, &conn);
    if (rc == TV_OK) {
        rc = tv_db_execp(conn, "INSERT INTO console_audit (id, create_time, user_id, username, "
                               "role, action, path, target, body, status, client) VALUES ($1, "
                               "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                         11, args, NULL);
        if (rc)
            tv_log_error("console", "audit row for %s %s not written: %s", method,
                         tv_http_path(req), tv_db_errmsg(conn));
        tv_db_release(con->db, conn);
    } else {
        tv_log_error("console", "audit row for %s %s not written: %s", method, tv_http_path(req),
                     tv_error_name(rc));
    }
    free(body);
}

/* --- GET /v2/console/audit --- */

static void scope_of(char *out, size_t size, const char *user, const char *action)
{
    snprintf(out, size, "audit\n%s\n%s", user ? user : "", action ? action : "");
}

static cJSON *entry_json(tv_db_stmt_t *st)
{
    static const char *const cols[] = {"id", NULL, "user_id", "username", "role", "action",
                                       "path", "target", "body", NULL, "client"};
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < 11; i++)
        if (cols[i])
            tv_json_add_str(o, cols[i], tv_db_column_text(st, i));
    int64_t ms = tv_db_column_int64(st, 1);
    char ts[40];
    tv_time_rfc3339(ms / 1000, ts);
    size_t n = strlen(ts);
    if (n && ts[n - 1] == 'Z')
        snprintf(ts + n - 1, sizeof ts - (n - 1), ".%03dZ", (int)(ms % 1000));
    cJSON_AddStringToObject(o, "time", ts);
    cJSON_AddNumberToObject(o, "status", (double)tv_db_column_int64(st, 9));
    return o;
}

void tv_console_audit_list(tv_http_req_t *req, void *app)
{
    tv_console_t *con = tv_console_of(app);
    int limit;
    if (tv_http_query_limit(req, AUDIT_LIST_DEFAULT, AUDIT_LIST_MAX, &limit))
        return;
    const char *user = tv_http_query(req, "user", NULL);
    const char *action = tv_http_query(req, "action", NULL);
    const char *cursor = tv_http_query(req, "cursor", NULL);
    if ((user && strlen(user) > TV_CONSOLE_NAME_MAX) || (action && strlen(action) > 290)) {
        tv_http_error(req, TV_EINVAL, "Invalid user or action filter: too long.");
        return;
    }
    char scope[512], after[37] = "";
    scope_of(scope, sizeof scope, user, action);
    if (cursor && *cursor) {
        size_t len = 0;
        if (tv_cursor_open(con->cursor_key, scope, cursor, after, 36, &len) != TV_OK ||
            len != 36 || (after[36] = 0, !tv_uuid_valid(after))) {
            tv_http_error(req, TV_EINVAL, "Invalid cursor.");
            return;
        }
    }
    /* one statement per combination of filters (at most eight, each cached) */
    char sql[512], lim[24];
    const char *args[4];
    int n = 0;
    size_t len = (size_t)snprintf(sql, sizeof sql,
        "SELECT id, create_time, user_id, username, role, action, path, target, body, status, "
        "client FROM console_audit WHERE 1 = 1");
    if (after[0]) {
        args[n++] = after;
        len += (size_t)snprintf(sql + len, sizeof sql - len, " AND id < $%d", n);
    }
    if (user && *user) {
        args[n++] = user;
        len += (size_t)snprintf(sql + len, sizeof sql - len, " AND username = $%d", n);
    }
    if (action && *action) {
        args[n++] = action;
        len += (size_t)snprintf(sql + len, sizeof sql - len, " AND action = $%d", n);
    }
    args[n++] = tv_i64_str(lim, limit + 1);
    snprintf(sql + len, sizeof sql - len, " ORDER BY id DESC LIMIT $%d", n);

    tv_db_conn_t *c;
    tv_db_stmt_t *st;
    int rc = tv_db_acquire(con->db, &c);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *list = cJSON_CreateArray();
    char last[37] = "";
    int rows = 0, more = 0;
    rc = tv_db_prepare(c, sql, &st);
    for (int i = 0; rc == TV_OK && i < n; i++)
        rc = tv_db_bind_text(st, i + 1, args[i]);
    while (rc == TV_OK && (rc = tv_db_step(st)) == TV_DB_ROW) {
        rc = TV_OK;
        if (rows == limit) {
            more = 1;
            break;
        }
        const char *v = tv_db_column_text(st, 0);
        snprintf(last, sizeof last, "%s", v ? v : "");
        cJSON_AddItemToArray(list, entry_json(st));
        rows++;
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
    tv_json_add_list(o, "entries", list);
    if (more && last[0]) {
        char text[TV_CURSOR_TEXT_LEN(36)];
        tv_uuid_lower(last);
        if (tv_cursor_seal(con->cursor_key, scope, last, 36, text, sizeof text) == TV_OK)
            cJSON_AddStringToObject(o, "cursor", text);
    }
    tv_http_reply_json(req, o);
}
