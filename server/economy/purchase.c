/* Shop purchases: one transaction takes the buyer's row lock, returns the receipt of a
 * repeated idempotency key unchanged, else checks sale window and per-user limit, takes
 * one from the stock, charges and credits the wallet (tv_wallet_change_tx), adds the
 * granted items and writes the receipt. */
#include "economy.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *uid, *key;
    const tv_shop_item_t *it;
    const char *price, *grants;     /* JSON texts stored in the receipt */
    const tv_wallet_delta_t *deltas;/* -price + granted currencies, one per currency */
    size_t ndeltas;
    cJSON *receipt;                 /* rebuilt on every try */
    char *wallet;                   /* rebuilt on every try */
    int replayed;                   /* the key's receipt existed: nothing was charged */
    tv_wallet_err_t *err;
} purchase_t;

static int refuse(tv_wallet_err_t *err, int rc, int why, const char *msg)
{
    err->why = why;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return rc;
}

/* A stored JSON object column under key, left out when empty or unreadable. */
static void add_obj(cJSON *o, const char *key, const char *text)
{
    cJSON *v = cJSON_Parse(text ? text : "{}");
    if (cJSON_IsObject(v) && v->child && cJSON_AddItemToObject(o, key, v))
        return;
    cJSON_Delete(v);
}

cJSON *tv_shop_receipt_row(tv_db_stmt_t *st)
{
    cJSON *r = cJSON_CreateObject();
    if (!r)
        return NULL;
    const char *keys[] = {"id", "user_id", "item_id", "idempotency_key"};
    for (int i = 0; i < 4; i++)
        tv_json_add_str(r, keys[i], tv_db_column_text(st, i));
    add_obj(r, "price", tv_db_column_text(st, 4));
    add_obj(r, "grants", tv_db_column_text(st, 5));
    tv_json_add_time(r, "create_time", tv_db_column_int64(st, 6) / 1000);
    if (!tv_db_column_is_null(st, 7)) {
        tv_json_add_time(r, "refund_time", tv_db_column_int64(st, 7) / 1000);
        tv_json_add_str(r, "refund_reason", tv_db_column_text(st, 8));
        tv_json_add_str(r, "refund_ledger_id", tv_db_column_text(st, 9));
    }
    /* an add fails only when memory runs out: check the members every receipt has */
    if (!cJSON_GetObjectItemCaseSensitive(r, "id") ||
        !cJSON_GetObjectItemCaseSensitive(r, "create_time")) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

/* Reads a text column into *out (malloc'd); TV_ENOTFOUND when there is no row. */
static int query_text(tv_db_conn_t *conn, const char *sql, const char *a, char **out)
{
    tv_db_stmt_t *st;
    *out = NULL;
    int rc = tv_db_prepare(conn, sql, &st);
    if (rc)
        return rc;
    if ((rc = tv_db_bind_text(st, 1, a)) == TV_OK)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        *out = tv_strdup(tv_db_column_text(st, 0) ? tv_db_column_text(st, 0) : "{}");
        rc = *out ? TV_OK : TV_ENOMEM;
    } else if (rc == TV_DB_DONE) {
        rc = TV_ENOTFOUND;
    }
    tv_db_reset(st);
    return rc;
}

/* The receipt of (user, key) into p->receipt: 1 found, 0 none, or an error. */
static int find_receipt(tv_db_conn_t *conn, purchase_t *p)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, "SELECT " TV_SHOP_RECEIPT_COLS " FROM purchase_receipt "
                           "WHERE user_id = $1 AND idempotency_key = $2", &st);
    if (rc)
        return rc;
    rc = tv_db_bind_text(st, 1, p->uid);
    if (!rc)
        rc = tv_db_bind_text(st, 2, p->key);
    if (!rc)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        p->receipt = tv_shop_receipt_row(st);
        rc = p->receipt ? 1 : TV_ENOMEM;
    }
    tv_db_reset(st);
    return rc;
}

/* How many of this item the buyer has bought (receipts; a refunded one no longer counts). */
static int count_bought(tv_db_conn_t *conn, purchase_t *p, int64_t *n)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, "SELECT COUNT(*) FROM purchase_receipt WHERE user_id = $1 "
                           "AND item_id = $2 AND refund_time IS NULL", &st);
    if (rc)
        return rc;
    rc = tv_db_bind_text(st, 1, p->uid);
    if (!rc)
        rc = tv_db_bind_text(st, 2, p->it->id);
    if (!rc)
        rc = tv_db_step(st);
    *n = rc == TV_DB_ROW ? tv_db_column_int64(st, 0) : 0;
    tv_db_reset(st);
    return rc == TV_DB_ROW ? TV_OK : rc ? rc : TV_EINTERNAL;
}

/* One from the stock when it is limited. The UPDATE matches only limited rows, so that buyers
 * of an unlimited item never queue on its row lock (on PostgreSQL that lock halved the purchase
 * rate); an unlimited item is then told apart from a sold-out one by a plain read. */
static int take_stock(tv_db_conn_t *conn, purchase_t *p)
{
    int64_t changed = 0;
    const char *args[] = {p->it->id};
    int rc = tv_db_execp(conn, "UPDATE shop_item SET stock = stock - 1 WHERE id = $1 AND "
                         "stock > 0", 1, args, &changed);
    if (rc || changed)
        return rc;
    tv_db_stmt_t *st;
    if ((rc = tv_db_prepare(conn, "SELECT stock FROM shop_item WHERE id = $1", &st)))
        return rc;
    if ((rc = tv_db_bind_text(st, 1, p->it->id)) == TV_OK)
        rc = tv_db_step(st);
    int unlimited = rc == TV_DB_ROW && tv_db_column_int64(st, 0) < 0;
    tv_db_reset(st);
    if (rc != TV_DB_ROW && rc != TV_DB_DONE)
        return rc;
    return unlimited ? TV_OK : refuse(p->err, TV_EINVAL, TV_SHOP_ESOLDOUT, "Item is sold out.");
}

/* Wallet, items and receipt of a new purchase. */
static int buy(tv_db_conn_t *conn, purchase_t *p)
{
    char rid[TV_UUID_LEN + 1], ledger_id[TV_UUID_LEN + 1], meta[160], now[24];
    tv_uuid_v4(rid);
    snprintf(meta, sizeof meta, "{\"receipt\":\"%s\",\"item\":\"%s\"}", rid, p->it->id);
    tv_wallet_change_t ch = {p->uid, p->deltas, p->ndeltas, meta};
    int rc = tv_wallet_change_tx(conn, &ch, 0, ledger_id, NULL, &p->wallet, p->err);
    for (size_t i = 0; rc == TV_OK && i < p->it->ngrant_items; i++)
        rc = tv_inv_grant_tx(conn, p->uid, p->it->grant_items[i].item_id,
                             p->it->grant_items[i].count, p->err);
    if (rc)
        return rc;
    int64_t ms = tv_now_ms();
    snprintf(now, sizeof now, "%" PRId64, ms);
    const char *ins[] = {rid, p->uid, p->it->id, p->key, p->price, p->grants, now};
    rc = tv_db_execp(conn, "INSERT INTO purchase_receipt (id, user_id, item_id, "
                     "idempotency_key, price, grants, create_time) VALUES ($1, $2, $3, $4, "
                     "$5, $6, $7)", 7, ins, NULL);
    if (rc == TV_ECONFLICT)
        return TV_ERETRY; /* the same key committed meanwhile: the retry returns its receipt */
    if (rc)
        return rc;
    /* read back: a new receipt and a replayed one come from the same row, in the same form */
    rc = find_receipt(conn, p);
    return rc == 1 ? TV_OK : rc ? rc : TV_EINTERNAL;
}

static int purchase_tx(tv_db_conn_t *conn, void *arg)
{
    purchase_t *p = arg;
    cJSON_Delete(p->receipt);
    free(p->wallet);
    p->receipt = NULL;
    p->wallet = NULL;
    p->replayed = 0;
    memset(p->err, 0, sizeof *p->err);
    /* the buyer's row lock serializes one user's purchases (limit and key checks) */
    int64_t changed = 0;
    const char *lock[] = {p->uid};
    int rc = tv_db_execp(conn, "UPDATE users SET wallet = wallet WHERE id = $1", 1, lock,
                         &changed);
    if (rc == TV_OK && changed == 0)
        return refuse(p->err, TV_ENOTFOUND, TV_WALLET_ENOUSER, "User not found.");
    if (rc || (rc = find_receipt(conn, p)) < 0)
        return rc;
    if ((p->replayed = rc == 1))
        return query_text(conn, "SELECT wallet FROM users WHERE id = $1", p->uid, &p->wallet);
    int64_t bought;
    if ((rc = count_bought(conn, p, &bought)) ||
        (rc = tv_shop_can_buy(p->it, tv_now_s(), bought, p->err)) ||
        (rc = take_stock(conn, p)))
        return rc;
    return buy(conn, p);
}

/* The cached item's price and grants as JSON text (owned by the caller). */
static char *member_text(const cJSON *item, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);
    cJSON *empty = v ? NULL : cJSON_CreateObject();
    char *s = v || empty ? cJSON_PrintUnformatted(v ? v : empty) : NULL;
    cJSON_Delete(empty);
    return s;
}

static int check_input(const char *user_id, const char *item_id, const char *key,
                       tv_wallet_err_t *err)
{
    if (!user_id || !tv_uuid_valid(user_id))
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "user id is not a UUID");
    if (!item_id || !tv_wallet_currency_valid(item_id))
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD,
                      "item_id must be 1-64 bytes of A-Z a-z 0-9 _ . : -");
    if (!key || !*key || strlen(key) > TV_SHOP_KEY_MAX || !tv_utf8_valid(key))
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD,
                      "idempotency_key must be 1-64 bytes of UTF-8");
    return TV_OK;
}

int tv_shop_purchase(tv_shop_t *shop, const char *user_id, const char *item_id,
                     const char *key, cJSON **out, tv_wallet_err_t *err)
{
    *out = NULL;
    memset(err, 0, sizeof *err);
    int rc = check_input(user_id, item_id, key, err);
    if (rc)
        return rc;
    cJSON *cached = tv_shop_get(shop, item_id);
    if (!cached)
        return refuse(err, TV_ENOTFOUND, TV_SHOP_ENOITEM, "Item not found.");
    char uid[TV_UUID_LEN + 1];
    memcpy(uid, user_id, sizeof uid);
    tv_uuid_lower(uid);
    tv_shop_item_t it;
    tv_wallet_delta_t deltas[2 * TV_SHOP_CURRENCIES_MAX];
    char *price = member_text(cached, "price"), *grants = member_text(cached, "grants");
    rc = price && grants ? tv_shop_item_parse(cached, &it, err) : TV_ENOMEM;
    if (rc == TV_OK) {
        purchase_t p = {uid, key, &it, price, grants, deltas, tv_shop_item_deltas(&it, deltas),
                        NULL, NULL, 0, err};
        rc = tv_db_tx(tv_shop_db(shop), purchase_tx, &p);
        cJSON *res = rc == TV_OK ? cJSON_CreateObject() : NULL;
        if (res && cJSON_AddItemToObject(res, "receipt", p.receipt))
            p.receipt = NULL;
        if (res && (p.receipt || !cJSON_AddStringToObject(res, "wallet", p.wallet) ||
                    (p.replayed && !cJSON_AddTrueToObject(res, "replayed")))) {
            cJSON_Delete(res);
            res = NULL;
        }
        if (rc == TV_OK && !res)
            rc = TV_ENOMEM;
        *out = res;
        cJSON_Delete(p.receipt);
        free(p.wallet);
        if (rc == TV_OK && it.stock != -1)
            tv_shop_refresh(shop); /* the cache shows the stock left */
    }
    cJSON_free(price);
    cJSON_free(grants);
    cJSON_Delete(cached);
    return rc;
}
