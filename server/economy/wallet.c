/* Wallets on the database: a changeset for one or many users applied in one transaction
 * (balance in users.wallet, one wallet_ledger row per change), and the ledger listing. */
#include "economy.h"
#include "admin.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const tv_wallet_change_t *ch;
    size_t n;
    const size_t *order;            /* indexes of ch, by user id */
    char (*ids)[TV_UUID_LEN + 1];   /* lower-cased user ids, per change */
    int allow_negative;
    cJSON *results;                 /* rebuilt on every try */
    tv_wallet_err_t *err;
} update_t;

static int fail_msg(tv_wallet_err_t *err, int rc, int why, const char *msg)
{
    err->why = why;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return rc;
}

static cJSON *parse_obj(const char *text)
{
    cJSON *o = cJSON_Parse(text && *text ? text : "{}");
    if (cJSON_IsObject(o))
        return o;
    cJSON_Delete(o);
    return cJSON_CreateObject();
}

/* The changeset as JSON text with exact integers. */
static char *changeset_text(const tv_wallet_change_t *c)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < c->n; i++) {
        char num[24];
        snprintf(num, sizeof num, "%" PRId64, c->deltas[i].delta);
        if (!cJSON_AddRawToObject(o, c->deltas[i].currency, num)) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static int read_wallet(tv_db_conn_t *conn, const char *uid, char **out)
{
    tv_db_stmt_t *st;
    *out = NULL;
    int rc = tv_db_prepare(conn, "SELECT wallet FROM users WHERE id = $1", &st);
    if (rc)
        return rc;
    if ((rc = tv_db_bind_text(st, 1, uid)) == TV_OK)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        const char *w = tv_db_column_text(st, 0);
        *out = strdup(w ? w : "{}");
        rc = *out ? TV_OK : TV_ENOMEM;
    } else if (rc == TV_DB_DONE) {
        rc = TV_ENOTFOUND;
    }
    tv_db_reset(st);
    return rc;
}

int tv_wallet_lock_tx(tv_db_conn_t *conn, const char *uid)
{
    /* a no-op write takes the row lock on PostgreSQL; SQLite's one writer holds it already */
    int64_t changed = 0;
    const char *args[] = {uid};
    int rc = tv_db_execp(conn, "UPDATE users SET wallet = wallet WHERE id = $1", 1, args,
                         &changed);
    return rc == TV_OK && changed == 0 ? TV_ENOTFOUND : rc;
}

/* Records one result, {user_id, ledger_id, previous, updated}, at index k of results (which
 * holds a null there until then). */
static int add_result(cJSON *results, size_t k, const char *uid, const char *ledger_id,
                      const char *prev, const char *next)
{
    cJSON *r = cJSON_CreateObject();
    if (!r)
        return TV_ENOMEM;
    cJSON_AddStringToObject(r, "user_id", uid);
    cJSON_AddStringToObject(r, "ledger_id", ledger_id);
    cJSON_AddItemToObject(r, "previous", parse_obj(prev));
    cJSON_AddItemToObject(r, "updated", parse_obj(next));
    if (!cJSON_ReplaceItemInArray(results, (int)k, r)) {
        cJSON_Delete(r);
        return TV_ENOMEM;
    }
    return TV_OK;
}

int tv_wallet_change_tx(tv_db_conn_t *conn, const tv_wallet_change_t *c, int allow_negative,
                        char ledger_id[TV_UUID_LEN + 1], char **prev_out, char **next_out,
                        tv_wallet_err_t *err)
{
    const char *uid = c->user_id;
    char *prev = NULL, *next = NULL, *cs = NULL;
    char now[24];
    int rc = read_wallet(conn, uid, &prev);
    if (rc == TV_ENOTFOUND) {
        snprintf(err->msg, sizeof err->msg, "no user %s", uid);
        err->why = TV_WALLET_ENOUSER;
        goto done;
    }
    if (rc || (rc = tv_wallet_apply(prev, c->deltas, c->n, allow_negative, &next, err)))
        goto done;
    int64_t changed = 0;
    const char *up[] = {uid, next, prev};
    rc = tv_db_execp(conn, "UPDATE users SET wallet = $2 WHERE id = $1 AND wallet = $3", 3, up,
                     &changed);
    if (rc == TV_OK && changed == 0)
        rc = TV_ERETRY; /* another writer got in between (READ COMMITTED): start again */
    if (rc)
        goto done;
    if (!(cs = changeset_text(c))) {
        rc = TV_ENOMEM;
        goto done;
    }
    /* time-ordered: one user's entries of one millisecond list newest first too */
    int64_t ms = tv_now_ms();
    tv_uuid_v7(ms, ledger_id);
    snprintf(now, sizeof now, "%" PRId64, ms);
    const char *ins[] = {ledger_id, uid, cs, c->metadata ? c->metadata : "{}", now};
    rc = tv_db_execp(conn, "INSERT INTO wallet_ledger (id, user_id, changeset, metadata, "
                     "create_time) VALUES ($1, $2, $3, $4, $5)", 5, ins, NULL);
done:
    if (rc == TV_OK && prev_out) {
        *prev_out = prev;
        prev = NULL;
    }
    if (rc == TV_OK && next_out) {
        *next_out = next;
        next = NULL;
    }
    free(prev);
    free(next);
    free(cs);
    return rc;
}

/* One change of an update, recorded in its results. */
static int apply_one(tv_db_conn_t *conn, update_t *u, size_t k)
{
    tv_wallet_change_t c = u->ch[k];
    char ledger_id[TV_UUID_LEN + 1], *prev = NULL, *next = NULL;
    c.user_id = u->ids[k];
    int rc = tv_wallet_change_tx(conn, &c, u->allow_negative, ledger_id, &prev, &next, u->err);
    if (rc == TV_OK)
        rc = add_result(u->results, k, c.user_id, ledger_id, prev, next);
    free(prev);
    free(next);
    return rc;
}

static int update_tx(tv_db_conn_t *conn, void *p)
{
    update_t *u = p;
    cJSON_Delete(u->results);
    u->results = cJSON_CreateArray();
    for (size_t i = 0; u->results && i < u->n; i++) {
        cJSON *slot = cJSON_CreateNull();
        if (!slot || !cJSON_AddItemToArray(u->results, slot)) {
            cJSON_Delete(slot);
            return TV_ENOMEM;
        }
    }
    if (!u->results)
        return TV_ENOMEM;
    for (size_t i = 0; i < u->n; i++) {
        size_t k = u->order[i];
        int rc = apply_one(conn, u, k);
        if (rc)
            return rc;
    }
    return TV_OK;
}

static int validate(const tv_wallet_change_t *ch, size_t n, char (*ids)[TV_UUID_LEN + 1],
                    tv_wallet_err_t *err)
{
    if (n == 0 || n > TV_WALLET_USERS_MAX)
        return fail_msg(err, TV_EINVAL, TV_WALLET_EBAD, "1-100 users in one wallet update");
    for (size_t i = 0; i < n; i++) {
        if (!ch[i].user_id || !tv_uuid_valid(ch[i].user_id))
            return fail_msg(err, TV_EINVAL, TV_WALLET_EBAD, "a user id is not a UUID");
        memcpy(ids[i], ch[i].user_id, TV_UUID_LEN + 1);
        tv_uuid_lower(ids[i]);
        if (ch[i].n > TV_WALLET_CHANGES_MAX || (ch[i].n && !ch[i].deltas))
            return fail_msg(err, TV_EINVAL, TV_WALLET_EBAD, "at most 32 currencies per change");
        for (size_t j = 0; j < ch[i].n; j++)
            if (!tv_wallet_currency_valid(ch[i].deltas[j].currency) ||
                ch[i].deltas[j].delta > TV_WALLET_AMOUNT_MAX ||
                ch[i].deltas[j].delta < -TV_WALLET_AMOUNT_MAX)
                return fail_msg(err, TV_EINVAL, TV_WALLET_EBAD, "a bad currency or amount");
        const char *m = ch[i].metadata;
        if (m && strlen(m) > TV_WALLET_METADATA_MAX)
            return fail_msg(err, TV_EINVAL, TV_WALLET_EBAD, "metadata is at most 4096 bytes");
        cJSON *mo = m ? cJSON_Parse(m) : NULL;
        int bad = m && (!cJSON_IsObject(mo) || !tv_utf8_valid(m));
        cJSON_Delete(mo);
        if (bad)
            return fail_msg(err, TV_EINVAL, TV_WALLET_EBAD, "metadata must be a JSON object");
    }
    return TV_OK;
}

/* Sorts change indexes by user id, stable (insertion sort: n <= 100), so locks are taken in
 * one order and a user's changes keep theirs. */
static void sort_order(size_t *order, char (*ids)[TV_UUID_LEN + 1], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t v = order[i] = i, j = i;
        while (j > 0 && strcmp(ids[order[j - 1]], ids[v]) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

int tv_wallet_update(tv_db_t *db, const tv_wallet_change_t *ch, size_t n, int allow_negative,
                     cJSON **results, tv_wallet_err_t *err)
{
    *results = NULL;
    memset(err, 0, sizeof *err);
    if (!ch && n)
        return fail_msg(err, TV_EINVAL, TV_WALLET_EBAD, "no changes");
    char (*ids)[TV_UUID_LEN + 1] = calloc(n ? n : 1, sizeof *ids);
    size_t *order = calloc(n ? n : 1, sizeof *order);
    int rc = ids && order ? validate(ch, n, ids, err) : TV_ENOMEM;
    if (rc == TV_OK) {
        sort_order(order, ids, n);
        update_t u = {ch, n, order, ids, allow_negative, NULL, err};
        rc = tv_db_tx(db, update_tx, &u);
        if (rc == TV_OK)
            *results = u.results;
        else
            cJSON_Delete(u.results);
    }
    if (rc && !err->msg[0])
        snprintf(err->msg, sizeof err->msg, "wallet update failed: %s", tv_error_name(rc));
    free(ids);
    free(order);
    return rc;
}

/* --- the ledger ---------------------------------------------------------------------------- */

static cJSON *ledger_item(tv_db_stmt_t *st)
{
    cJSON *it = cJSON_CreateObject();
    if (!it)
        return NULL;
    cJSON_AddStringToObject(it, "id", tv_db_column_text(st, 0));
    cJSON_AddStringToObject(it, "user_id", tv_db_column_text(st, 1));
    /* protojson leaves empty maps out, as every REST answer does */
    cJSON *cs = parse_obj(tv_db_column_text(st, 2)), *md = parse_obj(tv_db_column_text(st, 3));
    if (cs && cs->child)
        cJSON_AddItemToObject(it, "changeset", cs);
    else
        cJSON_Delete(cs);
    if (md && md->child)
        cJSON_AddItemToObject(it, "metadata", md);
    else
        cJSON_Delete(md);
    int64_t ms = tv_db_column_int64(st, 4);
    char t[32];
    tv_time_rfc3339(ms / 1000, t);
    cJSON_AddStringToObject(it, "create_time", t);
    return it;
}

/* A cursor is "<create_time ms>:<id>" of the last entry of the previous page. */
static int cursor_parse(const char *cursor, char ms[24], char id[TV_UUID_LEN + 1])
{
    int64_t t;
    int used = 0;
    if (strlen(cursor) > 24 + TV_UUID_LEN ||
        sscanf(cursor, "%" SCNd64 ":%36s%n", &t, id, &used) != 2 || cursor[used] != 0 ||
        t < 0 || !tv_uuid_valid(id))
        return TV_EINVAL;
    tv_uuid_lower(id);
    snprintf(ms, 24, "%" PRId64, t);
    return TV_OK;
}

static int ledger_query(tv_db_conn_t *conn, const char *uid, int limit, const char *cms,
                        const char *cid, cJSON *items, char *next, size_t nextlen)
{
    static const char *first = "SELECT id, user_id, changeset, metadata, create_time "
        "FROM wallet_ledger WHERE user_id = $1 ORDER BY create_time DESC, id DESC LIMIT $2";
    static const char *after = "SELECT id, user_id, changeset, metadata, create_time "
        "FROM wallet_ledger WHERE user_id = $1 AND (create_time < $3 OR (create_time = $3 "
        "AND id < $4)) ORDER BY create_time DESC, id DESC LIMIT $2";
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, cms ? after : first, &st);
    if (rc)
        return rc;
    rc = tv_db_bind_text(st, 1, uid);
    if (!rc)
        rc = tv_db_bind_int64(st, 2, limit + 1); /* one more tells whether a page follows */
    if (!rc && cms)
        rc = tv_db_bind_int64(st, 3, strtoll(cms, NULL, 10));
    if (!rc && cms)
        rc = tv_db_bind_text(st, 4, cid);
    int got = 0, more = 0;
    while (rc == TV_OK) {
        rc = tv_db_step(st);
        if (rc != TV_DB_ROW)
            break; /* TV_DB_DONE (0) or an error */
        if (got == limit) {
            more = 1; /* the extra row: the last one kept makes the cursor */
            rc = TV_OK;
            break;
        }
        cJSON *it = ledger_item(st);
        if (!it || !cJSON_AddItemToArray(items, it)) {
            cJSON_Delete(it);
            rc = TV_ENOMEM;
            break;
        }
        got++;
        rc = TV_OK;
        snprintf(next, nextlen, "%" PRId64 ":%s", tv_db_column_int64(st, 4),
                 tv_db_column_text(st, 0));
    }
    tv_db_reset(st);
    if (rc != TV_OK)
        return rc;
    return more ? 1 : 0;
}

int tv_wallet_ledger_list(tv_db_t *db, const char *user_id, int limit, const char *cursor,
                          cJSON **out, tv_wallet_err_t *err)
{
    char uid[TV_UUID_LEN + 1], cms[24], cid[TV_UUID_LEN + 1], next[24 + TV_UUID_LEN + 2] = "";
    *out = NULL;
    memset(err, 0, sizeof *err);
    if (!user_id || !tv_uuid_valid(user_id))
        return fail_msg(err, TV_EINVAL, TV_WALLET_EBAD, "user id is not a UUID");
    if (limit < 1 || limit > TV_WALLET_LEDGER_LIST_MAX)
        return fail_msg(err, TV_EINVAL, TV_WALLET_EBAD, "limit must be 1-100");
    int has_cursor = cursor && *cursor;
    if (has_cursor && cursor_parse(cursor, cms, cid))
        return fail_msg(err, TV_EINVAL, TV_WALLET_EBAD, "bad cursor");
    memcpy(uid, user_id, sizeof uid);
    tv_uuid_lower(uid);
    cJSON *res = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(res, "items");
    tv_db_conn_t *conn = NULL;
    int rc = items ? tv_db_acquire(db, &conn) : TV_ENOMEM;
    if (rc == TV_OK) {
        rc = ledger_query(conn, uid, limit, has_cursor ? cms : NULL,
                          has_cursor ? cid : NULL, items, next,
                          sizeof next);
        tv_db_release(db, conn);
    }
    if (rc == 1)
        cJSON_AddStringToObject(res, "cursor", next);
    if (rc >= 0 && cJSON_GetArraySize(items) == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(res, "items");
    if (rc < 0) {
        cJSON_Delete(res);
        snprintf(err->msg, sizeof err->msg, "ledger list failed: %s", tv_error_name(rc));
        return rc;
    }
    *out = res;
    return TV_OK;
}
