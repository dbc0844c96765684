/* Friends (see friend.h). Each change of a pair runs in one transaction; on PostgreSQL both
 * users' rows are locked first, in id order, so two users adding each other at once (READ
 * COMMITTED) become friends instead of racing to insert the same edge. */
#include "friend.h"
#include "account.h"
#include "app.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "notification.h"
#include "util.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NO_EDGE (-1)

/* ---- targets: ?ids= and ?usernames= resolved to existing users --------------------------- */

typedef struct {
    tv_db_conn_t *conn;
    const char *self;
    char ids[TV_FRIEND_TARGETS_MAX][37];
    size_t n;
    int asked;
    const char *bad;   /* a 400 message */
    int rc;            /* a database error */
} targets_t;

/* Adds the user that sql finds for key (nothing when there is none). */
static int target_add(targets_t *t, const char *sql, const char *key)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(t->conn, sql, &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, key);
    rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        const char *id = tv_db_column_text(st, 0);
        int dup = 0;
        for (size_t i = 0; i < t->n; i++)
            dup |= strcmp(t->ids[i], id) == 0;
        if (strcmp(id, t->self) == 0)
            t->bad = "Cannot add, remove or block yourself.";
        else if (!dup)
            snprintf(t->ids[t->n++], 37, "%s", id);
        rc = TV_OK;
    }
    tv_db_reset(st);
    return rc;
}

static int by_id(const char *v, void *ud)
{
    targets_t *t = ud;
    if (++t->asked > TV_FRIEND_TARGETS_MAX) {
        t->bad = "Too many users: at most 100 ids and usernames.";
        return 1;
    }
    if (!tv_uuid_valid(v)) {
        t->bad = "Invalid user ID: must be a UUID.";
        return 1;
    }
    t->rc = target_add(t, "SELECT id FROM users WHERE id = $1", v);
    return t->rc || t->bad;
}

static int by_name(const char *v, void *ud)
{
    targets_t *t = ud;
    if (++t->asked > TV_FRIEND_TARGETS_MAX) {
        t->bad = "Too many users: at most 100 ids and usernames.";
        return 1;
    }
    if (!*v || strlen(v) > 128) {
        t->bad = "Invalid username.";
        return 1;
    }
    t->rc = target_add(t, "SELECT id FROM users WHERE username = $1", v);
    return t->rc || t->bad;
}

/* Fills t from the query. Answers the request itself (400 or a database error) and returns
 * non-zero when it cannot go on. */
static int targets_read(tv_http_req_t *req, tv_app_t *app, targets_t *t)
{
    memset(t, 0, sizeof *t);
    t->self = tv_http_claims(req)->uid;
    int rc = tv_db_acquire(app->db, &t->conn);
    if (rc) {
        tv_http_db_error(req, rc);
        return -1;
    }
    if (!tv_http_query_each(req, "ids", NULL, by_id, t))
        tv_http_query_each(req, "usernames", NULL, by_name, t);
    tv_db_release(app->db, t->conn);
    t->conn = NULL;
    if (!t->bad && !t->asked)
        t->bad = "Specify at least one ID or username.";
    if (t->bad)
        tv_http_error(req, TV_EINVAL, t->bad);
    else if (t->rc)
        tv_http_db_error(req, t->rc);
    return t->bad || t->rc ? -1 : 0;
}

/* ---- edges (inside a transaction) ---------------------------------------------------------- */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The edge src -> dst's state into *state (NO_EDGE when absent). */
static int edge_state(tv_db_conn_t *c, const char *src, const char *dst, int *state)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, "SELECT state FROM user_edge WHERE source_id = $1 AND "
                              "destination_id = $2", &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, src);
    tv_db_bind_text(st, 2, dst);
    rc = tv_db_step(st);
    *state = rc == TV_DB_ROW ? (int)tv_db_column_int64(st, 0) : NO_EDGE;
    tv_db_reset(st);
    return rc == TV_DB_ROW ? TV_OK : rc;
}

static int counts(int state)
{
    return state >= 0 && state < TV_FRIEND_BLOCKED;
}

/* Moves the edge src -> dst from state from to state to (NO_EDGE: none), keeping src's
 * edge_count. */
static int edge_set(tv_db_conn_t *c, const char *src, const char *dst, int from, int to)
{
    if (from == to)
        return TV_OK;
    char state[24], t[24], pos[24];
    tv_i64_str(state, to);
    tv_i64_str(t, tv_now_s());
    tv_i64_str(pos, now_us());
    int rc;
    if (to == NO_EDGE) {
        const char *args[] = {src, dst};
        rc = tv_db_execp(c, "DELETE FROM user_edge WHERE source_id = $1 AND destination_id = $2",
                         2, args, NULL);
    } else {
        const char *args[] = {src, dst, state, pos, t};
        rc = tv_db_execp(c, "INSERT INTO user_edge (source_id, destination_id, state, position, "
                            "update_time) VALUES ($1, $2, CAST($3 AS SMALLINT), CAST($4 AS BIGINT), "
                            "CAST($5 AS BIGINT)) ON CONFLICT (source_id, destination_id) DO UPDATE "
                            "SET state = excluded.state, update_time = excluded.update_time",
                         5, args, NULL);
    }
    int delta = counts(to) - counts(from);
    if (rc == TV_DB_DONE && delta) {
        char d[24];
        tv_i64_str(d, delta);
        const char *args[] = {src, d};
        rc = tv_db_execp(c, "UPDATE users SET edge_count = edge_count + CAST($2 AS INTEGER) "
                            "WHERE id = $1", 2, args, NULL);
    }
    return rc;
}

typedef enum { OP_ADD, OP_DELETE, OP_BLOCK } op_t;

typedef struct {
    tv_db_t *db;
    op_t op;
    const char *me, *them;
    int event;   /* out: 0 none, -2 an invite sent to them, -3 their invite accepted */
} pair_t;

/* On PostgreSQL, locks both users' rows in id order: one change of a pair at a time. */
static int lock_pair(tv_db_conn_t *c, pair_t *p)
{
    if (strcmp(tv_db_engine(p->db), "postgres") != 0)
        return TV_OK; /* SQLite: BEGIN IMMEDIATE already lets one writer in */
    const char *first = strcmp(p->me, p->them) < 0 ? p->me : p->them;
    const char *second = first == p->me ? p->them : p->me;
    int rc = TV_OK;
    for (int i = 0; i < 2 && rc == TV_OK; i++) {
        tv_db_stmt_t *st;
        if ((rc = tv_db_prepare(c, "SELECT id FROM users WHERE id = $1 FOR UPDATE", &st)))
            return rc;
        tv_db_bind_text(st, 1, i ? second : first);
        rc = tv_db_step(st);
        rc = rc == TV_DB_ROW || rc == TV_DB_DONE ? TV_OK : rc;
        tv_db_reset(st);
    }
    return rc;
}

static int pair_tx(tv_db_conn_t *c, void *ctx)
{
    pair_t *p = ctx;
    int mine, theirs, rc;
    p->event = 0;
    if ((rc = lock_pair(c, p)) || (rc = edge_state(c, p->me, p->them, &mine)) ||
        (rc = edge_state(c, p->them, p->me, &theirs)))
        return rc;
    int keep_theirs = theirs == TV_FRIEND_BLOCKED; /* their block stands whatever we do */
    switch (p->op) {
    case OP_DELETE:
        rc = edge_set(c, p->me, p->them, mine, NO_EDGE);
        return rc || keep_theirs ? rc : edge_set(c, p->them, p->me, theirs, NO_EDGE);
    case OP_BLOCK:
        rc = edge_set(c, p->me, p->them, mine, TV_FRIEND_BLOCKED);
        return rc || keep_theirs ? rc : edge_set(c, p->them, p->me, theirs, NO_EDGE);
    case OP_ADD:
        break;
    }
    if (keep_theirs || mine == TV_FRIEND || mine == TV_FRIEND_INVITE_SENT)
        return TV_OK; /* blocked by them (silently, as Nakama), or nothing to do */
    if (mine == TV_FRIEND_INVITE_RECEIVED) {
        p->event = -3;
        rc = edge_set(c, p->me, p->them, mine, TV_FRIEND);
        return rc ? rc : edge_set(c, p->them, p->me, theirs, TV_FRIEND);
    }
    p->event = -2; /* a new invite (adding someone one blocked lifts the block) */
    rc = edge_set(c, p->me, p->them, mine, TV_FRIEND_INVITE_SENT);
    return rc ? rc : edge_set(c, p->them, p->me, theirs, TV_FRIEND_INVITE_RECEIVED);
}

/* Tells them of an invite or an accept, as Nakama's system notifications do. */
static void tell(tv_app_t *app, const pair_t *p, const tv_token_claims_t *me)
{
    if (!p->event || !app->notify)
        return;
    char subject[200], content[200];
    snprintf(subject, sizeof subject, p->event == -2 ? "%s wants to add you as a friend"
                                                    : "%s accepted your friend request",
             me->usn);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "username", me->usn);
    if (!cJSON_PrintPreallocated(c, content, sizeof content, 0))
        snprintf(content, sizeof content, "{}");
    cJSON_Delete(c);
    tv_notify_msg_t m = {p->them, subject, content, p->event, p->me, 1, 1};
    const char *why = NULL;
    int rc = tv_notify_send(app->notify, &m, NULL, &why);
    if (rc)
        tv_log_warn("friend", "notification to %s not sent: %s", p->them,
                    why ? why : tv_error_name(rc));
}

static void change(tv_http_req_t *req, void *a, op_t op)
{
    tv_app_t *app = a;
    targets_t t;
    if (targets_read(req, app, &t))
        return;
    const tv_token_claims_t *me = tv_http_claims(req);
    for (size_t i = 0; i < t.n; i++) {
        pair_t p = {app->db, op, me->uid, t.ids[i], 0};
        int rc = tv_db_tx(app->db, pair_tx, &p);
        if (rc) {
            tv_http_db_error(req, rc);
            return;
        }
        tell(app, &p, me);
    }
    tv_http_reply_json(req, NULL);
}

void tv_friend_add(tv_http_req_t *req, void *app)
{
    change(req, app, OP_ADD);
}

void tv_friend_delete(tv_http_req_t *req, void *app)
{
    change(req, app, OP_DELETE);
}

void tv_friend_block(tv_http_req_t *req, void *app)
{
    change(req, app, OP_BLOCK);
}

/* ---- listing ------------------------------------------------------------------------------- */

typedef struct {
    int64_t state, position;
    char dst[37];
} cursor_t;

static void cursor_make(const cursor_t *c, char *out, size_t cap)
{
    char raw[96];
    int n = snprintf(raw, sizeof raw, "f%lld:%lld:%s", (long long)c->state,
                     (long long)c->position, c->dst);
    sodium_bin2base64(out, cap, (const unsigned char *)raw, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int cursor_read(const char *text, cursor_t *c)
{
    char raw[96];
    size_t len = 0;
    long long s, p;
    int used = 0;
    if (strlen(text) > 128 ||
        sodium_base642bin((unsigned char *)raw, sizeof raw - 1, text, strlen(text), NULL, &len,
                          NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    raw[len] = 0;
    if (sscanf(raw, "f%lld:%lld:%n", &s, &p, &used) != 2 || s < 0 || s > 3 || p < 0 ||
        !tv_uuid_valid(raw + used))
        return -1;
    c->state = s;
    c->position = p;
    snprintf(c->dst, sizeof c->dst, "%s", raw + used);
    return 0;
}

/* Reads a decimal query value in [lo, hi]; absent keeps *out. -1 when malformed. */
static int int_arg(tv_http_req_t *req, const char *name, long lo, long hi, int64_t *out)
{
    const char *v = tv_http_query(req, name, NULL);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

void tv_friend_list(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    int64_t state = -1;
    int limit;
    cursor_t from = {-1, -1, "00000000-0000-0000-0000-000000000000"};
    const char *cur = tv_http_query(req, "cursor", NULL);
    if (tv_http_query_limit(req, TV_FRIEND_LIST_MAX, TV_FRIEND_LIST_MAX, &limit))
        return;
    if (int_arg(req, "state", 0, 3, &state)) {
        tv_http_error(req, TV_EINVAL, "Invalid state - state must be between 0 and 3.");
        return;
    }
    if (cur && *cur && cursor_read(cur, &from)) {
        tv_http_error(req, TV_EINVAL, "Malformed cursor was used.");
        return;
    }
    tv_db_conn_t *c;
    tv_db_stmt_t *st;
    int rc = tv_db_acquire(app->db, &c);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    rc = tv_db_prepare(c, "SELECT " TV_ACCOUNT_USER_COLS ", e.state, e.update_time, e.position, "
                          "e.destination_id FROM user_edge e JOIN users u ON u.id = "
                          "e.destination_id WHERE e.source_id = $1 AND (CAST($2 AS INTEGER) < 0 "
                          "OR e.state = CAST($2 AS INTEGER)) AND (e.state > CAST($3 AS INTEGER) "
                          "OR (e.state = CAST($3 AS INTEGER) AND (e.position > CAST($4 AS BIGINT) "
                          "OR (e.position = CAST($4 AS BIGINT) AND e.destination_id > $5)))) "
                          "ORDER BY e.state, e.position, e.destination_id LIMIT $6", &st);
    cJSON *friends = cJSON_CreateArray();
    cursor_t last = from;
    int more = 0;
    if (!rc) {
        tv_db_bind_text(st, 1, tv_http_claims(req)->uid);
        tv_db_bind_int64(st, 2, state);
        tv_db_bind_int64(st, 3, from.state);
        tv_db_bind_int64(st, 4, from.position);
        tv_db_bind_text(st, 5, from.dst);
        tv_db_bind_int64(st, 6, limit + 1);
        int n = 0;
        while ((rc = tv_db_step(st)) == TV_DB_ROW) {
            if (n++ == limit) { /* one more than asked: another page follows */
                more = 1;
                continue;
            }
            const int k = TV_ACCOUNT_USER_NCOLS;
            cJSON *f = cJSON_CreateObject();
            cJSON_AddItemToObject(f, "user", tv_account_user_json(st));
            cJSON_AddNumberToObject(f, "state", (double)tv_db_column_int64(st, k));
            tv_json_add_time(f, "update_time", tv_db_column_int64(st, k + 1));
            cJSON_AddItemToArray(friends, f);
            last.state = tv_db_column_int64(st, k);
            last.position = tv_db_column_int64(st, k + 2);
            snprintf(last.dst, sizeof last.dst, "%s", tv_db_column_text(st, k + 3));
        }
        tv_db_reset(st);
    }
    tv_db_release(app->db, c);
    if (rc != TV_DB_DONE) {
        cJSON_Delete(friends);
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    tv_json_add_list(o, "friends", friends);
    if (more) {
        char text[160];
        cursor_make(&last, text, sizeof text);
        tv_json_add_str(o, "cursor", text);
    }
    tv_http_reply_json(req, o);
}

/* ---- friends of friends -------------------------------------------------------------------- */

/* A friends-of-friends cursor: the last (referrer, user) pair of the page. */
static void fof_cursor_make(const char *ref, const char *uid, char *out, size_t cap)
{
    char raw[96];
    int n = snprintf(raw, sizeof raw, "ff:%s:%s", ref, uid);
    sodium_bin2base64(out, cap, (const unsigned char *)raw, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int fof_cursor_read(const char *text, char ref[37], char uid[37])
{
    char raw[96];
    size_t len = 0;
    if (strlen(text) > 128 ||
        sodium_base642bin((unsigned char *)raw, sizeof raw - 1, text, strlen(text), NULL, &len,
                          NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    raw[len] = 0;
    if (len != 3 + 36 + 1 + 36 || strncmp(raw, "ff:", 3) != 0 || raw[39] != ':')
        return -1;
    memcpy(ref, raw + 3, 36);
    ref[36] = 0;
    memcpy(uid, raw + 40, 36);
    uid[36] = 0;
    return tv_uuid_valid(ref) && tv_uuid_valid(uid) ? 0 : -1;
}

void tv_friend_list_fof(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    int limit;
    char ref[37] = "00000000-0000-0000-0000-000000000000", uid[37] = "";
    const char *cur = tv_http_query(req, "cursor", NULL);
    const char *self = tv_http_claims(req)->uid;
    if (tv_http_query_limit(req, TV_FRIEND_FOF_DEFAULT, TV_FRIEND_FOF_MAX, &limit))
        return;
    if (cur && *cur && fof_cursor_read(cur, ref, uid)) {
        tv_http_error(req, TV_EINVAL, "Malformed cursor was used.");
        return;
    }
    tv_db_conn_t *c;
    tv_db_stmt_t *st;
    int rc = tv_db_acquire(app->db, &c);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    /* the caller's friends' friends, oneself left out, by (referrer, user) */
    rc = tv_db_prepare(c, "SELECT " TV_ACCOUNT_USER_COLS ", f.source_id FROM user_edge e "
                          "JOIN user_edge f ON f.source_id = e.destination_id "
                          "JOIN users u ON u.id = f.destination_id "
                          "WHERE e.source_id = $1 AND e.state = 0 AND f.state = 0 AND "
                          "f.destination_id <> $1 AND (f.source_id > $2 OR (f.source_id = $2 "
                          "AND f.destination_id > $3)) "
                          "ORDER BY f.source_id, f.destination_id LIMIT $4", &st);
    cJSON *list = cJSON_CreateArray();
    char last_ref[37] = "", last_uid[37] = "";
    int more = 0;
    if (!rc) {
        tv_db_bind_text(st, 1, self);
        tv_db_bind_text(st, 2, ref);
        tv_db_bind_text(st, 3, uid[0] ? uid : "00000000-0000-0000-0000-000000000000");
        tv_db_bind_int64(st, 4, limit + 1);
        int n = 0;
        while ((rc = tv_db_step(st)) == TV_DB_ROW) {
            if (n++ == limit) { /* one more than asked: another page follows */
                more = 1;
                continue;
            }
            cJSON *f = cJSON_CreateObject(), *u = tv_account_user_json(st);
            snprintf(last_ref, sizeof last_ref, "%s",
                     tv_db_column_text(st, TV_ACCOUNT_USER_NCOLS));
            snprintf(last_uid, sizeof last_uid, "%s", tv_db_column_text(st, 0));
            cJSON_AddStringToObject(f, "referrer", last_ref);
            cJSON_AddItemToObject(f, "user", u);
            cJSON_AddItemToArray(list, f);
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
    tv_json_add_list(o, "friends_of_friends", list);
    if (more) {
        char text[160];
        fof_cursor_make(last_ref, last_uid, text, sizeof text);
        tv_json_add_str(o, "cursor", text);
    }
    tv_http_reply_json(req, o);
}
