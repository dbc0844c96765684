/* The console's data export of one user: the account and every table that holds the user's
 * data, as one JSON document. Each section is read with its own cap (one row more tells that
 * it was cut), so the document stays bounded; a cut section is named in `truncated`. */
#include "console_accounts.h"
#include "account.h"
#include "app.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

typedef enum {
    COL_STR,     /* text, left out when empty */
    COL_INT,     /* a small integer (JSON number), left out when 0 */
    COL_I64,     /* int64 as a string, left out when 0 */
    COL_TIME_S,  /* unix seconds as RFC 3339 */
    COL_TIME_MS, /* unix milliseconds as RFC 3339 */
} col_kind_t;

typedef struct {
    const char *name;
    col_kind_t kind;
} col_t;

#define MAX_COLS 12

typedef struct {
    const char *name; /* the member of the document */
    int cap;          /* rows at most */
    const char *sql;  /* $1 the user id, $2 cap + 1; columns in the order of cols */
    col_t cols[MAX_COLS];
} section_t;

/* The caps are documented in api/openapi.yaml (ConsoleAccountExport). Storage values are up
 * to 64 KiB each, so that section is the smallest. */
static const section_t sections[] = {
    {"storage_objects", 100,
     "SELECT collection, key, value, version, read, write, create_time, update_time FROM storage "
     "WHERE user_id = $1 ORDER BY collection, key LIMIT $2",
     {{"collection", COL_STR}, {"key", COL_STR}, {"value", COL_STR}, {"version", COL_STR},
      {"permission_read", COL_INT}, {"permission_write", COL_INT},
      {"create_time", COL_TIME_S}, {"update_time", COL_TIME_S}}},
    {"wallet_ledger", 1000,
     "SELECT id, changeset, metadata, create_time FROM wallet_ledger WHERE user_id = $1 "
     "ORDER BY create_time DESC, id DESC LIMIT $2",
     {{"id", COL_STR}, {"changeset", COL_STR}, {"metadata", COL_STR},
      {"create_time", COL_TIME_MS}}},
    {"inventory", 1000,
     "SELECT item_id, count, properties, update_time FROM inventory WHERE user_id = $1 "
     "ORDER BY item_id LIMIT $2",
     {{"item_id", COL_STR}, {"count", COL_I64}, {"properties", COL_STR},
      {"update_time", COL_TIME_MS}}},
    {"purchase_receipts", 1000,
     "SELECT id, item_id, idempotency_key, price, grants, create_time, refund_time, "
     "refund_reason FROM purchase_receipt WHERE user_id = $1 ORDER BY create_time DESC, id DESC "
     "LIMIT $2",
     {{"id", COL_STR}, {"item_id", COL_STR}, {"idempotency_key", COL_STR}, {"price", COL_STR},
      {"grants", COL_STR}, {"create_time", COL_TIME_MS}, {"refund_time", COL_TIME_MS},
      {"refund_reason", COL_STR}}},
    {"friends", 1000,
     "SELECT e.destination_id, u.username, e.state, e.update_time FROM user_edge e LEFT JOIN "
     "users u ON u.id = e.destination_id WHERE e.source_id = $1 ORDER BY e.state, e.position, "
     "e.destination_id LIMIT $2",
     {{"user_id", COL_STR}, {"username", COL_STR}, {"state", COL_INT},
      {"update_time", COL_TIME_S}}},
    {"groups", 1000,
     "SELECT m.group_id, g.name, m.state, m.update_time FROM group_member m JOIN user_group g "
     "ON g.id = m.group_id WHERE m.user_id = $1 ORDER BY m.state, m.position, m.group_id "
     "LIMIT $2",
     {{"group_id", COL_STR}, {"name", COL_STR}, {"state", COL_INT},
      {"update_time", COL_TIME_S}}},
    {"notifications", 1000,
     "SELECT id, subject, content, code, sender_id, create_time FROM notification WHERE "
     "user_id = $1 ORDER BY seq DESC LIMIT $2",
     {{"id", COL_STR}, {"subject", COL_STR}, {"content", COL_STR}, {"code", COL_INT},
      {"sender_id", COL_STR}, {"create_time", COL_TIME_S}}},
    {"leaderboard_records", 1000,
     "SELECT leaderboard_id, score, subscore, num_score, metadata, create_time, update_time, "
     "expiry_time FROM leaderboard_record WHERE owner_id = $1 ORDER BY leaderboard_id, "
     "expiry_time LIMIT $2",
     {{"leaderboard_id", COL_STR}, {"score", COL_I64}, {"subscore", COL_I64},
      {"num_score", COL_INT}, {"metadata", COL_STR}, {"create_time", COL_TIME_S},
      {"update_time", COL_TIME_S}, {"expiry_time", COL_TIME_S}}},
    {"chat_messages", 1000,
     "SELECT id, channel_id, code, content, create_time, update_time FROM channel_message "
     "WHERE sender_id = $1 ORDER BY create_time DESC, id DESC LIMIT $2",
     {{"message_id", COL_STR}, {"channel_id", COL_STR}, {"code", COL_INT},
      {"content", COL_STR}, {"create_time", COL_TIME_MS}, {"update_time", COL_TIME_MS}}},
};
#define NSECTIONS (sizeof sections / sizeof sections[0])

static cJSON *row_json(tv_db_stmt_t *st, const section_t *s)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < MAX_COLS && s->cols[i].name; i++) {
        const col_t *c = &s->cols[i];
        int64_t v = c->kind == COL_STR ? 0 : tv_db_column_int64(st, i);
        switch (c->kind) {
        case COL_STR: tv_json_add_str(o, c->name, tv_db_column_text(st, i)); break;
        case COL_INT: tv_json_add_int(o, c->name, v); break;
        case COL_I64: tv_json_add_int64(o, c->name, v); break;
        case COL_TIME_S: tv_json_add_time(o, c->name, v); break;
        case COL_TIME_MS: tv_json_add_time(o, c->name, v / 1000); break;
        }
    }
    return o;
}

/* Adds one section's rows to doc (and its name to truncated when cut). */
static int add_section(tv_db_conn_t *conn, const char *uid, const section_t *s, cJSON *doc,
                       cJSON *truncated)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, s->sql, &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, uid);
    tv_db_bind_int64(st, 2, s->cap + 1);
    cJSON *list = cJSON_CreateArray();
    int n = 0;
    while ((rc = tv_db_step(st)) == TV_DB_ROW)
        if (n++ < s->cap)
            cJSON_AddItemToArray(list, row_json(st, s));
    tv_db_reset(st);
    if (rc != TV_DB_DONE) {
        cJSON_Delete(list);
        return rc;
    }
    tv_json_add_list(doc, s->name, list);
    if (n > s->cap)
        cJSON_AddItemToArray(truncated, cJSON_CreateString(s->name));
    return TV_OK;
}

void tv_console_account_export(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    const char *param = tv_http_param(req, 0);
    if (!param || !tv_uuid_valid(param)) {
        tv_http_error(req, TV_EINVAL, "Invalid user id: not a UUID.");
        return;
    }
    char uid[TV_UUID_LEN + 1];
    memcpy(uid, param, sizeof uid);
    tv_uuid_lower(uid);
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *doc = cJSON_CreateObject(), *account = NULL, *truncated = cJSON_CreateArray();
    char t[32];
    tv_time_rfc3339(tv_now_s(), t);
    cJSON_AddStringToObject(doc, "export_time", t);
    rc = tv_account_read(conn, uid, &account);
    if (rc == TV_OK)
        cJSON_AddItemToObject(doc, "account", account);
    for (size_t i = 0; rc == TV_OK && i < NSECTIONS; i++)
        rc = add_section(conn, uid, &sections[i], doc, truncated);
    tv_db_release(app->db, conn);
    if (rc) {
        cJSON_Delete(doc);
        cJSON_Delete(truncated);
        if (rc == TV_ENOTFOUND)
            tv_http_error(req, TV_ENOTFOUND, "Account not found.");
        else
            tv_http_db_error(req, rc);
        return;
    }
    tv_json_add_list(doc, "truncated", truncated);
    tv_http_reply_json(req, doc);
}
