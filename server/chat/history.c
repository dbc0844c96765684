/* The stored history of chat channels (table channel_message, migration 0009): the writes of a
 * channel's queued messages, one transaction a batch, a group's event messages (written in the
 * group change's own transaction), and GET /v2/channel/{channel_id} with
 * Nakama's paging (next / previous cursors both ways, and a cacheable cursor that later
 * yields only newer messages). Order is (create_time, id), ids being time-ordered UUIDv7. */
#include "chat_internal.h"
#include "app.h"
#include "db.h"
#include "error.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define LIST_DEFAULT 1 /* Nakama's default page */

/* ---- writes ------------------------------------------------------------------------------- */

typedef struct {
    const tv_chat_ref_t *ref;
    chat_op_t **ops;
    size_t n;
} batch_t;

static int insert(tv_db_conn_t *conn, const tv_chat_ref_t *ref, const chat_op_t *op)
{
    char t[24];
    int dm = ref->kind == TV_CHAT_DM;
    tv_i64_str(t, op->create_ms);
    const char *args[] = {op->message_id, ref->id, op->sender_id, op->username, op->content, t,
                          dm ? ref->one : NULL, dm ? ref->two : NULL};
    int rc = tv_db_execp(conn, "INSERT INTO channel_message (id, channel_id, code, sender_id, "
                               "username, content, create_time, update_time, dm_user_one, "
                               "dm_user_two) VALUES ($1, $2, 0, $3, $4, $5, CAST($6 AS BIGINT), "
                               "CAST($6 AS BIGINT), $7, $8)", 8, args, NULL);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

/* An update or remove of the sender's own message of this channel: found and its create time
 * when it was there. */
static int change(tv_db_conn_t *conn, const tv_chat_ref_t *ref, chat_op_t *op)
{
    tv_db_stmt_t *st;
    int rc, i = 1;
    if (op->kind == CHAT_OP_UPDATE) {
        rc = tv_db_prepare(conn, "UPDATE channel_message SET content = $1, username = $2, "
                                 "update_time = $3 WHERE id = $4 AND channel_id = $5 AND "
                                 "sender_id = $6 RETURNING create_time", &st);
        if (rc)
            return rc;
        tv_db_bind_text(st, i++, op->content);
        tv_db_bind_text(st, i++, op->username);
        tv_db_bind_int64(st, i++, op->update_ms);
    } else {
        rc = tv_db_prepare(conn, "DELETE FROM channel_message WHERE id = $1 AND channel_id = $2 "
                                 "AND sender_id = $3 RETURNING create_time", &st);
        if (rc)
            return rc;
    }
    tv_db_bind_text(st, i++, op->message_id);
    tv_db_bind_text(st, i++, ref->id);
    tv_db_bind_text(st, i, op->sender_id);
    rc = tv_db_step(st);
    op->found = rc == TV_DB_ROW;
    if (op->found)
        op->create_ms = tv_db_column_int64(st, 0);
    tv_db_reset(st);
    return rc == TV_DB_ROW || rc == TV_DB_DONE ? TV_OK : rc;
}

static int batch_tx(tv_db_conn_t *conn, void *ctx)
{
    batch_t *b = ctx;
    int rc = TV_OK;
    for (size_t i = 0; !rc && i < b->n; i++) {
        chat_op_t *op = b->ops[i];
        op->found = 0; /* a retry starts afresh */
        if (!op->store)
            continue;
        rc = op->kind == CHAT_OP_SEND ? insert(conn, b->ref, op) : change(conn, b->ref, op);
    }
    return rc;
}

int tv_chat_history_write(tv_db_t *db, const tv_chat_ref_t *ref, chat_op_t **ops, size_t n)
{
    batch_t b = {ref, ops, n};
    return tv_db_tx(db, batch_tx, &b);
}

int tv_chat_group_event_write(tv_db_conn_t *conn, tv_chat_group_event_t *ev)
{
    tv_chat_ref_t ref;
    tv_db_stmt_t *st;
    char code[8], t[24];
    int rc = tv_db_prepare(conn, "SELECT username FROM users WHERE id = $1", &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, ev->user_id);
    rc = tv_db_step(st);
    snprintf(ev->username, sizeof ev->username, "%s",
             rc == TV_DB_ROW ? tv_db_column_text(st, 0) : "");
    tv_db_reset(st);
    if (rc != TV_DB_ROW && rc != TV_DB_DONE)
        return rc;
    tv_chat_ref_group(ev->group_id, &ref);
    ev->create_ms = tv_now_ms();
    tv_uuid_v7(ev->create_ms, ev->message_id);
    snprintf(code, sizeof code, "%d", ev->code);
    tv_i64_str(t, ev->create_ms);
    const char *args[] = {ev->message_id, ref.id, code, ev->user_id, ev->username, t};
    rc = tv_db_execp(conn, "INSERT INTO channel_message (id, channel_id, code, sender_id, "
                           "username, content, create_time, update_time) VALUES ($1, $2, "
                           "CAST($3 AS INTEGER), $4, $5, '{}', CAST($6 AS BIGINT), CAST($6 AS "
                           "BIGINT))", 6, args, NULL);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

int tv_chat_group_member(tv_db_t *db, const char *gid, const char *uid, int *member)
{
    tv_db_conn_t *conn;
    tv_db_stmt_t *st;
    int rc = tv_db_acquire(db, &conn);
    *member = 0;
    if (rc)
        return rc;
    rc = tv_db_prepare(conn, "SELECT state FROM group_member WHERE group_id = $1 AND "
                             "user_id = $2", &st);
    if (!rc) {
        tv_db_bind_text(st, 1, gid);
        tv_db_bind_text(st, 2, uid);
        rc = tv_db_step(st);
        if (rc == TV_DB_ROW) {
            int64_t state = tv_db_column_int64(st, 0);
            *member = state >= 0 && state <= 2; /* not a join request, not a ban */
        }
        rc = rc == TV_DB_ROW || rc == TV_DB_DONE ? TV_OK : rc;
        tv_db_reset(st);
    }
    tv_db_release(db, conn);
    return rc;
}

/* ---- GET /v2/channel/{channel_id} --------------------------------------------------------- */

#define LIST_COLS "SELECT id, code, sender_id, username, content, create_time, update_time " \
                  "FROM channel_message WHERE channel_id = $1"
#define ASC " ORDER BY create_time, id LIMIT $2"
#define DESC " ORDER BY create_time DESC, id DESC LIMIT $2"

typedef struct list_req {
    tv_chat_ref_t ref;
    int limit, forward;
    int has_cursor;
    tv_chat_cursor_t cursor;
    unsigned char key[TV_CHAT_CURSOR_KEY];
} list_req_t;

/* Reads the request; answers 400 itself and returns -1 when it cannot be served. */
static int list_args(tv_http_req_t *req, tv_app_t *app, list_req_t *l)
{
    const char *id = tv_http_param(req, 0), *fwd = tv_http_query(req, "forward", NULL);
    const char *cur = tv_http_query(req, "cursor", NULL), *uid = tv_http_claims(req)->uid;
    memset(l, 0, sizeof *l);
    l->forward = 1;
    if (tv_chat_ref_parse(id, &l->ref) != TV_OK) {
        tv_http_error(req, TV_EINVAL, "Invalid channel ID.");
        return -1;
    }
    /* a group's history is for its members only (this handler runs on a worker) */
    if (l->ref.kind == TV_CHAT_GROUP) {
        int member, rc = tv_chat_group_member(app->db, l->ref.one, uid, &member);
        if (rc) {
            tv_http_db_error(req, rc);
            return -1;
        }
        if (!member) {
            tv_http_error(req, TV_EPERM, "Not a member of this group.");
            return -1;
        }
    }
    /* a direct message is for its two users only; Nakama answers the others like a bad id */
    if (l->ref.kind == TV_CHAT_DM && strcmp(uid, l->ref.one) != 0 && strcmp(uid, l->ref.two) != 0) {
        tv_http_error(req, TV_EINVAL, "Invalid channel ID.");
        return -1;
    }
    if (tv_http_query_limit(req, LIST_DEFAULT, TV_CHAT_LIST_MAX, &l->limit))
        return -1;
    if (fwd && *fwd && tv_parse_bool(fwd, &l->forward) != TV_OK) {
        tv_http_error(req, TV_EINVAL, "Invalid forward value: true or false.");
        return -1;
    }
    tv_chat_cursor_key(app->session_key, l->key);
    if (cur && *cur) {
        if (tv_chat_cursor_decode(l->key, l->ref.id, cur, &l->cursor) != TV_OK ||
            l->cursor.forward != l->forward) {
            tv_http_error(req, TV_EINVAL, "Cursor is invalid or expired.");
            return -1;
        }
        l->has_cursor = 1;
    }
    return 0;
}

/* Newer than the cursor, oldest first (forward next page, backward previous page), or older,
 * newest first (the other two). */
static const char *list_sql(const list_req_t *l)
{
    if (!l->has_cursor)
        return l->forward ? LIST_COLS ASC : LIST_COLS DESC;
    if (l->forward == l->cursor.is_next)
        return LIST_COLS " AND (create_time, id) > ($3, $4)" ASC;
    return LIST_COLS " AND (create_time, id) < ($3, $4)" DESC;
}

static cJSON *message_json(const tv_chat_ref_t *ref, tv_db_stmt_t *st)
{
    char t[32];
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "channel_id", ref->id);
    cJSON_AddStringToObject(m, "message_id", tv_db_column_text(st, 0));
    cJSON_AddNumberToObject(m, "code", (double)tv_db_column_int64(st, 1)); /* an Int32Value */
    cJSON_AddStringToObject(m, "sender_id", tv_db_column_text(st, 2));
    cJSON_AddStringToObject(m, "username", tv_db_column_text(st, 3));
    cJSON_AddStringToObject(m, "content", tv_db_column_text(st, 4));
    tv_time_rfc3339(tv_db_column_int64(st, 5) / 1000, t);
    cJSON_AddStringToObject(m, "create_time", t);
    tv_time_rfc3339(tv_db_column_int64(st, 6) / 1000, t);
    cJSON_AddStringToObject(m, "update_time", t);
    cJSON_AddTrueToObject(m, "persistent");
    tv_chat_ref_json(m, ref);
    return m;
}

/* A page as Nakama makes it: the rows in the listing's order, with their positions. */
typedef struct page {
    cJSON *messages;
    size_t n;
    int64_t ms[TV_CHAT_LIST_MAX];
    char ids[TV_CHAT_LIST_MAX][37];
    int has_next, has_prev;
    tv_chat_cursor_t next, prev;
} page_t;

/* A cursor at row i of the page. */
static tv_chat_cursor_t at_row(const list_req_t *l, const page_t *p, size_t i, int is_next)
{
    tv_chat_cursor_t c = {l->forward, is_next, p->ms[i], ""};
    memcpy(c.id, p->ids[i], sizeof c.id);
    return c;
}

static int read_page(tv_db_conn_t *conn, const list_req_t *l, page_t *p)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, list_sql(l), &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, l->ref.id);
    tv_db_bind_int64(st, 2, l->limit + 1); /* one more: is there another page? */
    if (l->has_cursor) {
        tv_db_bind_int64(st, 3, l->cursor.create_ms);
        tv_db_bind_text(st, 4, l->cursor.id);
    }
    while ((rc = tv_db_step(st)) == TV_DB_ROW) {
        if (p->n == (size_t)l->limit) { /* the next page starts after the last one listed */
            p->next = at_row(l, p, p->n - 1, 1);
            p->has_next = 1;
            rc = TV_DB_DONE;
            break;
        }
        cJSON_AddItemToArray(p->messages, message_json(&l->ref, st));
        p->ms[p->n] = tv_db_column_int64(st, 5);
        snprintf(p->ids[p->n], sizeof p->ids[0], "%s", tv_db_column_text(st, 0));
        p->n++;
    }
    tv_db_reset(st);
    if (p->n && l->has_cursor) { /* only a paged listing has a previous page */
        p->prev = at_row(l, p, 0, 0);
        p->has_prev = 1;
    }
    return rc;
}

/* A previous-page listing is read the other way round: back to the listing's order, with the
 * cursors swapped. */
static void flip(page_t *p)
{
    tv_chat_cursor_t c = p->next;
    int had = p->has_next;
    p->next = p->prev;
    p->has_next = p->has_prev;
    p->prev = c;
    p->has_prev = had;
    p->next.is_next = 1;
    p->prev.is_next = 0;
    cJSON *rev = cJSON_CreateArray(), *m;
    while ((m = cJSON_DetachItemFromArray(p->messages, 0)))
        cJSON_InsertItemInArray(rev, 0, m);
    cJSON_Delete(p->messages);
    p->messages = rev;
    for (size_t i = 0, j = p->n ? p->n - 1 : 0; i < j; i++, j--) {
        int64_t t = p->ms[i];
        char id[37];
        p->ms[i] = p->ms[j];
        p->ms[j] = t;
        memcpy(id, p->ids[i], sizeof id);
        memcpy(p->ids[i], p->ids[j], sizeof id);
        memcpy(p->ids[j], id, sizeof id);
    }
}

static void add_cursor(cJSON *o, const char *key, const list_req_t *l, const tv_chat_cursor_t *c)
{
    char text[TV_CHAT_CURSOR_TEXT];
    tv_chat_cursor_encode(l->key, l->ref.id, c, text);
    cJSON_AddStringToObject(o, key, text);
}

/* The cacheable cursor: at the last message listed, reading forward (kept, it later yields
 * only newer messages); with none listed, the request's own cursor turned forward. */
static void add_cacheable(cJSON *o, const list_req_t *l, const page_t *p)
{
    tv_chat_cursor_t c;
    if (p->n) {
        c = at_row(l, p, p->n - 1, 1);
        c.forward = 1;
    } else if (l->has_cursor) {
        c = l->cursor;
        if (!l->forward)
            c.forward = c.is_next = 1;
    } else {
        return;
    }
    add_cursor(o, "cacheable_cursor", l, &c);
}

void tv_chat_api_list(tv_http_req_t *req, void *a)
{
    tv_app_t *app = a;
    list_req_t l;
    if (list_args(req, app, &l))
        return;
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(app->db, &conn);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    page_t p = {.messages = cJSON_CreateArray()};
    rc = read_page(conn, &l, &p);
    tv_db_release(app->db, conn);
    if (rc != TV_DB_DONE) {
        cJSON_Delete(p.messages);
        tv_http_db_error(req, rc);
        return;
    }
    if (l.has_cursor && !l.cursor.is_next)
        flip(&p);
    cJSON *o = cJSON_CreateObject();
    if (p.has_next)
        add_cursor(o, "next_cursor", &l, &p.next);
    if (p.has_prev)
        add_cursor(o, "prev_cursor", &l, &p.prev);
    add_cacheable(o, &l, &p);
    tv_json_add_list(o, "messages", p.messages);
    tv_http_reply_json(req, o);
}
