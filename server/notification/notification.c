/* Notifications: validation, storage, the realtime push and the REST list/delete (see
 * notification.h). The push reaches every open socket of the user on this node; other nodes'
 * sockets will be reached through PostgreSQL LISTEN/NOTIFY when nodes share a database. */
#include "notification.h"
#include "app.h"
#include "db.h"
#include "error.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "rt.h"
#include "util.h"

#include <errno.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 1
#define CURSOR_MAX 64

struct tv_notify {
    tv_db_t *db;
    _Atomic(tv_rt_t *) rt;
};

tv_notify_t *tv_notify_new(tv_db_t *db)
{
    tv_notify_t *n = calloc(1, sizeof *n);
    if (n)
        n->db = db;
    return n;
}

void tv_notify_set_rt(tv_notify_t *n, tv_rt_t *rt)
{
    if (n)
        atomic_store(&n->rt, rt);
}

void tv_notify_free(tv_notify_t *n)
{
    free(n);
}

/* ---- the message --------------------------------------------------------------------------- */

static const char *check(const tv_notify_msg_t *m)
{
    if (!m->user_id || !tv_uuid_valid(m->user_id))
        return "Invalid user ID: must be a UUID.";
    if (!m->subject || !*m->subject || strlen(m->subject) > TV_NOTIFY_SUBJECT_MAX)
        return "Notification subject must be 1-255 bytes.";
    if (m->code <= 0 && !m->system)
        return "Notification code must be greater than 0 (0 and below are system codes).";
    if (m->sender_id && *m->sender_id && !tv_uuid_valid(m->sender_id))
        return "Invalid sender ID: must be a UUID.";
    if (m->content) {
        if (strlen(m->content) > TV_NOTIFY_CONTENT_MAX)
            return "Notification content must be at most 16384 bytes.";
        cJSON *c = cJSON_Parse(m->content);
        int object = cJSON_IsObject(c);
        cJSON_Delete(c);
        if (!object)
            return "Notification content must be a JSON object.";
    }
    return NULL;
}

/* The Notification JSON clients see. */
static cJSON *notification_json(const char *id, const char *subject, const char *content,
                                int64_t code, const char *sender_id, int64_t create_time,
                                int persistent)
{
    cJSON *o = cJSON_CreateObject();
    tv_json_add_str(o, "id", id);
    tv_json_add_str(o, "subject", subject);
    tv_json_add_str(o, "content", content);
    tv_json_add_int(o, "code", code);
    tv_json_add_str(o, "sender_id", sender_id);
    tv_json_add_time(o, "create_time", create_time);
    tv_json_add_bool(o, "persistent", persistent);
    return o;
}

static int store(tv_notify_t *n, const tv_notify_msg_t *m, const char *id, const char *content,
                 int64_t now)
{
    tv_db_conn_t *c;
    int rc = tv_db_acquire(n->db, &c);
    if (rc)
        return rc;
    char code[24], t[24];
    tv_i64_str(code, m->code);
    tv_i64_str(t, now);
    /* only for an account that exists: the row would otherwise outlive nobody */
    const char *args[] = {id, m->user_id, m->subject, content, code,
                          m->sender_id ? m->sender_id : "", t};
    int64_t added = 0;
    rc = tv_db_execp(c, "INSERT INTO notification (id, user_id, subject, content, code, sender_id, "
                        "create_time) SELECT $1, $2, $3, $4, CAST($5 AS INTEGER), $6, "
                        "CAST($7 AS BIGINT) WHERE EXISTS (SELECT 1 FROM users WHERE id = $2)",
                     7, args, &added);
    tv_db_release(n->db, c);
    if (rc == TV_DB_DONE && !added)
        return TV_ENOTFOUND;
    return rc;
}

static void push(tv_notify_t *n, const tv_notify_msg_t *m, const char *id, const char *content,
                 int64_t now)
{
    tv_rt_t *rt = atomic_load(&n->rt);
    if (!rt)
        return;
    cJSON *body = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(body, "notifications");
    cJSON_AddItemToArray(list, notification_json(id, m->subject, content, m->code, m->sender_id,
                                                 now, m->persistent));
    char *text = tv_rt_envelope_text(NULL, "notifications", body);
    if (text)
        tv_rt_send_user(rt, m->user_id, text, strlen(text));
    else
        tv_log_warn("notification", "out of memory: notification %s was not pushed", id);
    cJSON_free(text);
}

int tv_notify_send(tv_notify_t *n, const tv_notify_msg_t *m, char id_out[37], const char **why)
{
    *why = check(m);
    if (*why)
        return TV_EINVAL;
    char id[37];
    tv_uuid_v4(id);
    const char *content = m->content ? m->content : "{}";
    int64_t now = tv_now_s();
    if (m->persistent) {
        int rc = store(n, m, id, content, now);
        if (rc == TV_ENOTFOUND)
            *why = "No such user.";
        if (rc)
            return rc;
    }
    push(n, m, id, content, now);
    if (id_out)
        memcpy(id_out, id, sizeof id);
    return TV_OK;
}

/* ---- REST ---------------------------------------------------------------------------------- */

/* The cacheable cursor: base64url of "n<seq>", the last notification listed. */
static void cursor_make(int64_t seq, char *out, size_t cap)
{
    char raw[24];
    int len = snprintf(raw, sizeof raw, "n%lld", (long long)seq);
    sodium_bin2base64(out, cap, (const unsigned char *)raw, (size_t)len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* 0 and *seq, or -1 for a cursor this server did not make. */
static int cursor_read(const char *cur, int64_t *seq)
{
    unsigned char raw[24];
    size_t len = 0;
    if (strlen(cur) > CURSOR_MAX ||
        sodium_base642bin(raw, sizeof raw - 1, cur, strlen(cur), NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        len < 2 || raw[0] != 'n')
        return -1;
    raw[len] = 0;
    char *end;
    errno = 0;
    long long v = strtoll((const char *)raw + 1, &end, 10);
    if (errno || *end || v < 0)
        return -1;
    *seq = v;
    return 0;
}

/* Reads limit (absent = 1, else 1..100) and the cursor. Answers 400 itself and returns -1. */
static int list_args(tv_http_req_t *req, int *limit, int64_t *after)
{
    const char *cur = tv_http_query(req, "cacheable_cursor", "cacheableCursor");
    *after = 0;
    if (tv_http_query_limit(req, LIST_DEFAULT, TV_NOTIFY_LIST_MAX, limit))
        return -1;
    if (cur && *cur && cursor_read(cur, after) != 0) {
        tv_http_error(req, TV_EINVAL, "Malformed cursor was used.");
        return -1;
    }
    return 0;
}

void tv_notify_api_list(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    int limit;
    int64_t after;
    if (list_args(req, &limit, &after))
        return;
    tv_db_conn_t *c;
    tv_db_stmt_t *st;
    int rc = tv_db_acquire(app->db, &c);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    rc = tv_db_prepare(c, "SELECT seq, id, subject, content, code, sender_id, create_time "
                          "FROM notification WHERE user_id = $1 AND seq > $2 ORDER BY seq "
                          "LIMIT $3", &st);
    cJSON *list = cJSON_CreateArray();
    int64_t last = after;
    if (!rc) {
        tv_db_bind_text(st, 1, tv_http_claims(req)->uid);
        tv_db_bind_int64(st, 2, after);
        tv_db_bind_int64(st, 3, limit);
        while ((rc = tv_db_step(st)) == TV_DB_ROW) {
            last = tv_db_column_int64(st, 0);
            cJSON_AddItemToArray(list, notification_json(
                tv_db_column_text(st, 1), tv_db_column_text(st, 2), tv_db_column_text(st, 3),
                tv_db_column_int64(st, 4), tv_db_column_text(st, 5), tv_db_column_int64(st, 6),
                1));
        }
        tv_db_reset(st);
    }
    tv_db_release(app->db, c);
    if (rc != TV_DB_DONE) {
        cJSON_Delete(list);
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    tv_json_add_list(o, "notifications", list);
    char cur[64];
    cursor_make(last, cur, sizeof cur); /* nothing new: the same position again */
    tv_json_add_str(o, "cacheable_cursor", cur);
    tv_http_reply_json(req, o);
}

typedef struct {
    const char **ids;
    size_t n;
    int bad;
} ids_t;

static int collect_id(const char *v, void *ud)
{
    ids_t *x = ud;
    if (x->n == TV_NOTIFY_DELETE_MAX || !tv_uuid_valid(v)) {
        x->bad = 1;
        return 1;
    }
    x->ids[x->n++] = v;
    return 0;
}

void tv_notify_api_delete(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    const char *ids[TV_NOTIFY_DELETE_MAX];
    ids_t x = {ids, 0, 0};
    tv_http_query_each(req, "ids", NULL, collect_id, &x);
    if (x.bad) {
        tv_http_error(req, TV_EINVAL, "Invalid notification ID: at most 100 UUIDs.");
        return;
    }
    tv_db_conn_t *c;
    int rc = tv_db_acquire(app->db, &c);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    for (size_t i = 0; !rc && i < x.n; i++) {
        const char *args[] = {ids[i], tv_http_claims(req)->uid};
        rc = tv_db_execp(c, "DELETE FROM notification WHERE id = $1 AND user_id = $2", 2, args,
                         NULL);
    }
    tv_db_release(app->db, c);
    if (rc != TV_DB_DONE)
        tv_http_db_error(req, rc);
    else
        tv_http_reply_json(req, NULL);
}
