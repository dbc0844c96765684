/* The console's economy operations on the database: a user's wallet and inventory read
 * together; grants, revokes and refunds, each one transaction that takes the user's row lock
 * first, changes the wallet through tv_wallet_change_tx (one ledger entry with the reason and
 * the admin) and the inventory; and a user's receipts listed newest first. */
#include "admin.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(tv_wallet_err_t *err, int rc, int why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->why = why;
    return rc;
}

/* Checks and lower-cases a UUID argument into out. */
static int uuid_arg(const char *in, char out[TV_UUID_LEN + 1], const char *what,
                    tv_wallet_err_t *err)
{
    if (!in || !tv_uuid_valid(in))
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "%s is not a UUID", what);
    memcpy(out, in, TV_UUID_LEN + 1);
    tv_uuid_lower(out);
    return TV_OK;
}

/* --- the view ----------------------------------------------------------------------------- */

/* user_id's view inside conn's transaction (or on a plain connection): *out owned by the
 * caller. TV_ENOTFOUND, database errors, TV_ENOMEM. */
static int view_tx(tv_db_conn_t *conn, const char *uid, cJSON **out)
{
    tv_db_stmt_t *st;
    *out = NULL;
    int rc = tv_db_prepare(conn, "SELECT username, wallet FROM users WHERE id = $1", &st);
    if (rc)
        return rc;
    if ((rc = tv_db_bind_text(st, 1, uid)) == TV_OK)
        rc = tv_db_step(st);
    cJSON *v = rc == TV_DB_ROW ? cJSON_CreateObject() : NULL;
    cJSON *w = rc == TV_DB_ROW ? tv_econ_wallet_json(tv_db_column_text(st, 1)) : NULL;
    int ok = v && w && cJSON_AddStringToObject(v, "user_id", uid);
    if (ok)
        tv_json_add_str(v, "username", tv_db_column_text(st, 0));
    tv_db_reset(st);
    if (rc != TV_DB_ROW || !ok) {
        cJSON_Delete(v);
        cJSON_Delete(w);
        return rc == TV_DB_DONE ? TV_ENOTFOUND : rc != TV_DB_ROW ? rc : TV_ENOMEM;
    }
    if (w->child)
        cJSON_AddItemToObject(v, "wallet", w);
    else
        cJSON_Delete(w); /* protojson leaves an empty map out */
    cJSON *items = cJSON_CreateArray();
    rc = items ? tv_inv_list_tx(conn, uid, items) : TV_ENOMEM;
    if (rc) {
        cJSON_Delete(items);
        cJSON_Delete(v);
        return rc;
    }
    tv_json_add_list(v, "items", items);
    *out = v;
    return TV_OK;
}

int tv_econ_view(tv_db_t *db, const char *user_id, cJSON **out, tv_wallet_err_t *err)
{
    char uid[TV_UUID_LEN + 1];
    *out = NULL;
    memset(err, 0, sizeof *err);
    int rc = uuid_arg(user_id, uid, "user id", err);
    tv_db_conn_t *conn;
    if (rc || (rc = tv_db_acquire(db, &conn)))
        return rc;
    rc = view_tx(conn, uid, out);
    tv_db_release(db, conn);
    if (rc == TV_ENOTFOUND)
        return refuse(err, rc, TV_WALLET_ENOUSER, "User not found.");
    return rc;
}

int tv_econ_user_exists(tv_db_t *db, const char *user_id)
{
    char uid[TV_UUID_LEN + 1];
    tv_wallet_err_t err;
    tv_db_conn_t *conn;
    tv_db_stmt_t *st;
    if (uuid_arg(user_id, uid, "user id", &err))
        return 0;
    int rc = tv_db_acquire(db, &conn);
    if (rc)
        return rc;
    if ((rc = tv_db_prepare(conn, "SELECT 1 FROM users WHERE id = $1", &st)) == TV_OK) {
        if ((rc = tv_db_bind_text(st, 1, uid)) == TV_OK)
            rc = tv_db_step(st);
        tv_db_reset(st);
    }
    tv_db_release(db, conn);
    return rc == TV_DB_ROW ? 1 : rc; /* TV_DB_DONE is 0: no such user */
}

/* Adds the ledger entry id to a view (consumed on failure). NULL when out of memory. */
static cJSON *with_ledger(cJSON *view, const char *ledger_id)
{
    if (view && cJSON_AddStringToObject(view, "ledger_id", ledger_id))
        return view;
    cJSON_Delete(view);
    return NULL;
}

/* --- grants and revokes ------------------------------------------------------------------- */

typedef struct {
    const char *uid;
    const tv_econ_change_t *c;
    const char *meta;
    cJSON *out;              /* rebuilt on every try */
    tv_wallet_err_t *err;
} apply_t;

static int apply_tx(tv_db_conn_t *conn, void *p)
{
    apply_t *a = p;
    char ledger_id[TV_UUID_LEN + 1];
    cJSON_Delete(a->out);
    a->out = NULL;
    memset(a->err, 0, sizeof *a->err);
    int rc = tv_wallet_lock_tx(conn, a->uid);
    if (rc == TV_ENOTFOUND)
        return refuse(a->err, rc, TV_WALLET_ENOUSER, "User not found.");
    /* an entry even when only items change: the ledger is the admin's audit trail */
    tv_wallet_change_t ch = {a->uid, a->c->currencies, a->c->ncurrencies, a->meta};
    if (rc || (rc = tv_wallet_change_tx(conn, &ch, 0, ledger_id, NULL, NULL, a->err)))
        return rc;
    for (size_t i = 0; rc == TV_OK && i < a->c->nitems; i++) {
        const tv_shop_grant_t *g = &a->c->items[i];
        rc = a->c->revoke ? tv_inv_take_tx(conn, a->uid, g->item_id, g->count, NULL, a->err)
                          : tv_inv_grant_tx(conn, a->uid, g->item_id, g->count, a->err);
    }
    if (rc || (rc = view_tx(conn, a->uid, &a->out)))
        return rc;
    return (a->out = with_ledger(a->out, ledger_id)) ? TV_OK : TV_ENOMEM;
}

int tv_econ_apply(tv_db_t *db, const char *user_id, const tv_econ_change_t *c,
                  const char *admin, cJSON **out, tv_wallet_err_t *err)
{
    char uid[TV_UUID_LEN + 1];
    *out = NULL;
    memset(err, 0, sizeof *err);
    int rc = uuid_arg(user_id, uid, "user id", err);
    if (rc)
        return rc;
    tv_shop_grant_t items[TV_ECON_ITEMS_MAX];
    for (size_t i = 0; i < c->nitems; i++) /* the metadata shows each item's signed change */
        items[i] = (tv_shop_grant_t){c->items[i].item_id,
                                     c->revoke ? -c->items[i].count : c->items[i].count};
    tv_econ_meta_t m = {.op = c->revoke ? "revoke" : "grant", .reason = c->reason,
                        .admin = admin, .items = items, .nitems = c->nitems};
    char *meta = tv_econ_meta_text(&m);
    if (!meta)
        return TV_ENOMEM;
    apply_t a = {uid, c, meta, NULL, err};
    rc = tv_db_tx(db, apply_tx, &a);
    if (rc == TV_OK)
        *out = a.out;
    else
        cJSON_Delete(a.out);
    cJSON_free(meta);
    return rc;
}

/* --- receipts ----------------------------------------------------------------------------- */


/* A cursor is "<create_time ms>:<id>" of the last receipt of the previous page. */
static int cursor_parse(const char *cursor, int64_t *ms, char id[TV_UUID_LEN + 1])
{
    int used = 0;
    if (strlen(cursor) > 24 + TV_UUID_LEN ||
        sscanf(cursor, "%" SCNd64 ":%36s%n", ms, id, &used) != 2 || cursor[used] != 0 ||
        *ms < 0 || !tv_uuid_valid(id))
        return TV_EINVAL;
    tv_uuid_lower(id);
    return TV_OK;
}

/* Appends up to limit receipts to arr; 1 when more follow (next is then the cursor). */
static int receipts_query(tv_db_conn_t *conn, const char *uid, int limit, const int64_t *cms,
                          const char *cid, cJSON *arr, char *next, size_t nextlen)
{
    static const char *first = "SELECT " TV_SHOP_RECEIPT_COLS " FROM purchase_receipt WHERE "
        "user_id = $1 ORDER BY create_time DESC, id DESC LIMIT $2";
    static const char *after = "SELECT " TV_SHOP_RECEIPT_COLS " FROM purchase_receipt WHERE "
        "user_id = $1 AND (create_time < $3 OR (create_time = $3 AND id < $4)) "
        "ORDER BY create_time DESC, id DESC LIMIT $2";
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, cms ? after : first, &st);
    if (rc)
        return rc;
    rc = tv_db_bind_text(st, 1, uid);
    if (!rc)
        rc = tv_db_bind_int64(st, 2, limit + 1); /* one more tells whether a page follows */
    if (!rc && cms)
        rc = tv_db_bind_int64(st, 3, *cms);
    if (!rc && cms)
        rc = tv_db_bind_text(st, 4, cid);
    int got = 0, more = 0;
    while (rc == TV_OK && (rc = tv_db_step(st)) == TV_DB_ROW) {
        if (got == limit) {
            more = 1;
            rc = TV_OK;
            break;
        }
        cJSON *r = tv_shop_receipt_row(st);
        rc = r && cJSON_AddItemToArray(arr, r) ? TV_OK : (cJSON_Delete(r), TV_ENOMEM);
        snprintf(next, nextlen, "%" PRId64 ":%s", tv_db_column_int64(st, 6),
                 tv_db_column_text(st, 0));
        got++;
    }
    tv_db_reset(st);
    return rc < 0 ? rc : more;
}

int tv_econ_receipts(tv_db_t *db, const char *user_id, int limit, const char *cursor,
                     cJSON **out, tv_wallet_err_t *err)
{
    char uid[TV_UUID_LEN + 1], cid[TV_UUID_LEN + 1], next[24 + TV_UUID_LEN + 2] = "";
    int64_t cms = 0;
    *out = NULL;
    memset(err, 0, sizeof *err);
    int rc = uuid_arg(user_id, uid, "user id", err);
    if (rc)
        return rc;
    if (limit < 1 || limit > TV_ECON_RECEIPT_LIST_MAX)
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "limit must be 1-%d",
                      TV_ECON_RECEIPT_LIST_MAX);
    int has_cursor = cursor && *cursor;
    if (has_cursor && cursor_parse(cursor, &cms, cid))
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "Invalid cursor.");
    cJSON *res = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    tv_db_conn_t *conn = NULL;
    rc = res && arr ? tv_db_acquire(db, &conn) : TV_ENOMEM;
    if (rc == TV_OK) {
        rc = receipts_query(conn, uid, limit, has_cursor ? &cms : NULL, cid, arr, next,
                            sizeof next);
        tv_db_release(db, conn);
    }
    if (rc < 0) {
        cJSON_Delete(res);
        cJSON_Delete(arr);
        return rc;
    }
    tv_json_add_list(res, "receipts", arr);
    if (rc == 1)
        cJSON_AddStringToObject(res, "cursor", next);
    *out = res;
    return TV_OK;
}

/* --- refunds ------------------------------------------------------------------------------ */

typedef struct {
    const char *rid, *reason, *admin;
    int force;
    char uid[TV_UUID_LEN + 1], item[TV_SHOP_ID_MAX + 1];
    char *price, *grants;     /* the receipt's, read on every try */
    int stock_back;           /* a limited stock got its one back: refresh the cache */
    cJSON *out;               /* rebuilt on every try */
    tv_wallet_err_t *err;
} refund_t;

/* Reads the receipt into r (user, item, price, grants): TV_ENOTFOUND, TV_ECONFLICT when it
 * was refunded already, database errors. */
static int load_receipt(tv_db_conn_t *conn, refund_t *r)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, "SELECT user_id, item_id, price, grants, refund_time FROM "
                           "purchase_receipt WHERE id = $1", &st);
    if (rc)
        return rc;
    if ((rc = tv_db_bind_text(st, 1, r->rid)) == TV_OK)
        rc = tv_db_step(st);
    int refunded = rc == TV_DB_ROW && !tv_db_column_is_null(st, 4);
    if (rc == TV_DB_ROW) {
        snprintf(r->uid, sizeof r->uid, "%s", tv_db_column_text(st, 0));
        snprintf(r->item, sizeof r->item, "%s", tv_db_column_text(st, 1));
        r->price = tv_strdup(tv_db_column_text(st, 2) ? tv_db_column_text(st, 2) : "{}");
        r->grants = tv_strdup(tv_db_column_text(st, 3) ? tv_db_column_text(st, 3) : "{}");
    }
    tv_db_reset(st);
    if (rc == TV_DB_DONE)
        return refuse(r->err, TV_ENOTFOUND, TV_ECON_ENORECEIPT, "Receipt not found.");
    if (rc != TV_DB_ROW)
        return rc;
    if (!r->price || !r->grants)
        return TV_ENOMEM;
    tv_uuid_lower(r->uid); /* PostgreSQL prints UUIDs lower-case, SQLite as stored */
    if (refunded)
        return refuse(r->err, TV_ECONFLICT, TV_ECON_EREFUNDED, "Receipt already refunded.");
    return TV_OK;
}

/* Marks the receipt refunded unless another refund got there first (TV_ECONFLICT): the
 * conditional UPDATE is the claim, whatever the engine's isolation. */
static int claim_receipt(tv_db_conn_t *conn, refund_t *r)
{
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, tv_now_ms());
    const char *args[] = {r->rid, now, r->reason};
    int64_t changed = 0;
    int rc = tv_db_execp(conn, "UPDATE purchase_receipt SET refund_time = $2, refund_reason = "
                         "$3 WHERE id = $1 AND refund_time IS NULL", 3, args, &changed);
    if (rc == TV_OK && changed == 0)
        return refuse(r->err, TV_ECONFLICT, TV_ECON_EREFUNDED, "Receipt already refunded.");
    return rc;
}

/* Takes the granted items back: all of them, or with force what is left of each. taken gets
 * the signed changes, short what could not be taken. */
static int take_items(tv_db_conn_t *conn, refund_t *r, const tv_econ_refund_plan_t *plan,
                      tv_shop_grant_t *taken, size_t *ntaken, tv_shop_grant_t *miss,
                      size_t *nmiss)
{
    *ntaken = *nmiss = 0;
    for (size_t i = 0; i < plan->nitems; i++) {
        const tv_shop_grant_t *g = &plan->items[i];
        int64_t held;
        int rc = tv_inv_count_tx(conn, r->uid, g->item_id, &held);
        if (rc)
            return rc;
        int64_t take = held < g->count ? held : g->count;
        if (take < g->count && !r->force)
            return refuse(r->err, TV_EINVAL, TV_INV_ENOTENOUGH, "Cannot refund: the player holds "
                          "%" PRId64 " of %s, the receipt granted %" PRId64 " (force takes what "
                          "is left).", held, g->item_id, g->count);
        rc = take ? tv_inv_take_tx(conn, r->uid, g->item_id, take, NULL, r->err) : TV_OK;
        if (rc == TV_EINVAL && r->err->why == TV_INV_ENOTENOUGH)
            return TV_ERETRY; /* consumed since the count was read: read it again */
        if (rc)
            return rc;
        if (take)
            taken[(*ntaken)++] = (tv_shop_grant_t){g->item_id, -take};
        if (take < g->count)
            miss[(*nmiss)++] = (tv_shop_grant_t){g->item_id, g->count - take};
    }
    return TV_OK;
}

/* The wallet and the ledger entry: the plan's deltas, metadata saying what was taken. */
static int refund_wallet(tv_db_conn_t *conn, refund_t *r, const tv_econ_refund_plan_t *plan,
                         char ledger_id[TV_UUID_LEN + 1])
{
    tv_shop_grant_t taken[TV_SHOP_GRANTS_MAX], miss[TV_SHOP_GRANTS_MAX];
    size_t ntaken, nmiss;
    int rc = take_items(conn, r, plan, taken, &ntaken, miss, &nmiss);
    if (rc)
        return rc;
    tv_econ_meta_t m = {"refund", r->reason, r->admin, r->rid, r->item, taken, ntaken, miss,
                        nmiss, r->force};
    char *meta = tv_econ_meta_text(&m);
    if (!meta)
        return TV_ENOMEM;
    tv_wallet_change_t ch = {r->uid, plan->deltas, plan->ndeltas, meta};
    rc = tv_wallet_change_tx(conn, &ch, r->force, ledger_id, NULL, NULL, r->err);
    cJSON_free(meta);
    if (rc == TV_EINVAL && r->err->why == TV_WALLET_EFUNDS) {
        char why[sizeof r->err->msg];
        snprintf(why, sizeof why, "%s", r->err->msg);
        refuse(r->err, rc, TV_WALLET_EFUNDS, "Cannot refund: %s (force lets it go negative).",
               why);
    }
    return rc;
}

/* One back to a limited stock (-1, unlimited, stays), within the stock's range. */
static int stock_back(tv_db_conn_t *conn, refund_t *r)
{
    const char *args[] = {r->item};
    int64_t changed = 0;
    int rc = tv_db_execp(conn, "UPDATE shop_item SET stock = stock + 1 WHERE id = $1 AND "
                         "stock >= 0 AND stock < 9007199254740991", 1, args, &changed);
    r->stock_back = rc == TV_OK && changed > 0;
    return rc;
}

/* The receipt as it is now, under "receipt" in r->out. */
static int add_receipt(tv_db_conn_t *conn, refund_t *r)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, "SELECT " TV_SHOP_RECEIPT_COLS " FROM purchase_receipt WHERE id = $1",
                           &st);
    if (rc)
        return rc;
    if ((rc = tv_db_bind_text(st, 1, r->rid)) == TV_OK)
        rc = tv_db_step(st);
    cJSON *rec = rc == TV_DB_ROW ? tv_shop_receipt_row(st) : NULL;
    tv_db_reset(st);
    if (rc != TV_DB_ROW)
        return rc ? rc : TV_EINTERNAL;
    if (!rec || !cJSON_AddItemToObject(r->out, "receipt", rec)) {
        cJSON_Delete(rec);
        return TV_ENOMEM;
    }
    return TV_OK;
}

static int refund_tx(tv_db_conn_t *conn, void *p)
{
    refund_t *r = p;
    char ledger_id[TV_UUID_LEN + 1];
    cJSON_Delete(r->out);
    free(r->price);
    free(r->grants);
    r->out = NULL;
    r->price = r->grants = NULL;
    r->stock_back = 0;
    memset(r->err, 0, sizeof *r->err);
    int rc = load_receipt(conn, r);
    if (rc)
        return rc;
    /* the buyer's lock first, as a purchase takes it: the two never deadlock */
    if ((rc = tv_wallet_lock_tx(conn, r->uid)) || (rc = claim_receipt(conn, r)))
        return rc == TV_ENOTFOUND ? refuse(r->err, rc, TV_WALLET_ENOUSER, "User not found.") : rc;
    cJSON *price = cJSON_Parse(r->price), *grants = cJSON_Parse(r->grants);
    tv_econ_refund_plan_t plan;
    rc = tv_econ_refund_plan(price, grants, &plan, r->err);
    if (rc == TV_OK)
        rc = refund_wallet(conn, r, &plan, ledger_id);
    cJSON_Delete(price);
    cJSON_Delete(grants);
    if (rc == TV_EINVAL && r->err->why == TV_WALLET_EBAD) {
        tv_log_error("economy", "receipt %s: %s", r->rid, r->err->msg);
        return TV_EINTERNAL; /* a receipt only purchases write: never guess at one */
    }
    const char *args[] = {r->rid, ledger_id};
    if (rc || (rc = stock_back(conn, r)) ||
        (rc = tv_db_execp(conn, "UPDATE purchase_receipt SET refund_ledger_id = $2 WHERE "
                          "id = $1", 2, args, NULL)) ||
        (rc = view_tx(conn, r->uid, &r->out)))
        return rc;
    if (!(r->out = with_ledger(r->out, ledger_id)))
        return TV_ENOMEM;
    return add_receipt(conn, r);
}

int tv_econ_refund(tv_shop_t *shop, const char *receipt_id, const char *reason,
                   const char *admin, int force, cJSON **out, tv_wallet_err_t *err)
{
    char rid[TV_UUID_LEN + 1];
    *out = NULL;
    memset(err, 0, sizeof *err);
    int rc = uuid_arg(receipt_id, rid, "receipt id", err);
    if (rc)
        return rc;
    if (!reason || !*reason || strlen(reason) > TV_ECON_REASON_MAX || !tv_utf8_valid(reason))
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "reason is required: 1-%d bytes of UTF-8",
                      TV_ECON_REASON_MAX);
    refund_t r = {.rid = rid, .reason = reason, .admin = admin, .force = force, .err = err};
    rc = tv_db_tx(tv_shop_db(shop), refund_tx, &r);
    if (rc == TV_OK && r.stock_back)
        tv_shop_refresh(shop); /* the cache shows the stock given back */
    if (rc == TV_OK)
        *out = r.out;
    else
        cJSON_Delete(r.out);
    free(r.price);
    free(r.grants);
    return rc;
}
