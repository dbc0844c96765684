/* Inventories on the database (inventory): items added by purchases, grants and modules
 * (with the row's properties), listed, and consumed or revoked with one conditional UPDATE
 * so a count never goes below zero; a row goes when its count reaches 0. */
#include "economy.h"
#include "admin.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static int refuse(tv_wallet_err_t *err, int rc, int why, const char *msg)
{
    err->why = why;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return rc;
}

/* Runs sql with two text parameters (user, item) and two integers; *changes the rows. */
static int exec_ui(tv_db_conn_t *conn, const char *sql, const char *uid, const char *item,
                   int64_t a, int64_t b, int64_t *changes)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, sql, &st);
    if (rc)
        return rc;
    rc = tv_db_bind_text(st, 1, uid);
    if (!rc)
        rc = tv_db_bind_text(st, 2, item);
    if (!rc)
        rc = tv_db_bind_int64(st, 3, a);
    if (!rc)
        rc = tv_db_bind_int64(st, 4, b);
    if (!rc)
        rc = tv_db_step(st);
    if (rc == TV_DB_DONE && changes)
        *changes = tv_db_changes(st);
    tv_db_reset(st);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

/* properties as stored: NULL stays NULL (keep), else the object printed compactly.
 * TV_EINVAL for a text that is not a JSON object of at most TV_INV_PROPERTIES_MAX bytes. */
static int properties_text(const char *in, char **out, tv_wallet_err_t *err)
{
    *out = NULL;
    if (!in)
        return TV_OK;
    cJSON *o = strlen(in) <= TV_INV_PROPERTIES_MAX && tv_utf8_valid(in) ? cJSON_Parse(in) : NULL;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "properties must be a JSON object of at "
                      "most " STR(TV_INV_PROPERTIES_MAX) " bytes");
    }
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *out ? TV_OK : TV_ENOMEM;
}

int tv_inv_grant_props_tx(tv_db_conn_t *conn, const char *user_id, const char *item_id,
                          int64_t n, const char *properties, tv_wallet_err_t *err)
{
    if (n < 1 || n > TV_SHOP_COUNT_MAX || !tv_wallet_currency_valid(item_id))
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "a bad item or count");
    char *props = NULL, num[24], now[24];
    int rc = properties_text(properties, &props, err);
    if (rc)
        return rc;
    snprintf(num, sizeof num, "%" PRId64, n);
    snprintf(now, sizeof now, "%" PRId64, tv_now_ms());
    /* $5 NULL keeps the row's properties ('{}' for a new row) */
    const char *args[] = {user_id, item_id, num, now, props};
    int64_t changed = 0;
    rc = tv_db_execp(conn, "INSERT INTO inventory (user_id, item_id, count, properties, "
                     "update_time) VALUES ($1, $2, $3, COALESCE($5, '{}'), $4) ON CONFLICT "
                     "(user_id, item_id) DO UPDATE SET count = inventory.count + "
                     "excluded.count, properties = COALESCE($5, inventory.properties), "
                     "update_time = excluded.update_time WHERE inventory.count + "
                     "excluded.count <= " STR(TV_INV_COUNT_MAX), 5, args, &changed);
    cJSON_free(props);
    if (rc == TV_OK && changed == 0)
        return refuse(err, TV_EINVAL, TV_INV_EFULL, "an inventory holds at most "
                      STR(TV_INV_COUNT_MAX) " of an item");
    return rc;
}

int tv_inv_grant_tx(tv_db_conn_t *conn, const char *user_id, const char *item_id, int64_t n,
                    tv_wallet_err_t *err)
{
    return tv_inv_grant_props_tx(conn, user_id, item_id, n, NULL, err);
}

static cJSON *inv_item(tv_db_stmt_t *st)
{
    cJSON *it = cJSON_CreateObject();
    if (!it)
        return NULL;
    char num[24], t[32];
    snprintf(num, sizeof num, "%" PRId64, tv_db_column_int64(st, 1));
    tv_time_rfc3339(tv_db_column_int64(st, 3) / 1000, t);
    cJSON *props = cJSON_Parse(tv_db_column_text(st, 2) ? tv_db_column_text(st, 2) : "{}");
    if (!cJSON_AddStringToObject(it, "item_id", tv_db_column_text(st, 0)) ||
        !cJSON_AddStringToObject(it, "count", num) || !cJSON_AddStringToObject(it, "update_time", t)) {
        cJSON_Delete(props);
        cJSON_Delete(it);
        return NULL;
    }
    if (cJSON_IsObject(props) && props->child) /* protojson leaves an empty map out */
        cJSON_AddItemToObject(it, "properties", props);
    else
        cJSON_Delete(props);
    return it;
}

int tv_inv_list_tx(tv_db_conn_t *conn, const char *uid, cJSON *items)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, "SELECT item_id, count, properties, update_time FROM inventory "
                           "WHERE user_id = $1 ORDER BY item_id LIMIT $2", &st);
    if (rc)
        return rc;
    rc = tv_db_bind_text(st, 1, uid);
    if (!rc)
        rc = tv_db_bind_int64(st, 2, TV_INV_LIST_MAX);
    while (rc == TV_OK && (rc = tv_db_step(st)) == TV_DB_ROW) {
        cJSON *it = inv_item(st);
        rc = it && cJSON_AddItemToArray(items, it) ? TV_OK : (cJSON_Delete(it), TV_ENOMEM);
    }
    tv_db_reset(st);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

int tv_inv_list(tv_db_t *db, const char *user_id, cJSON **out)
{
    *out = NULL;
    if (!user_id || !tv_uuid_valid(user_id))
        return TV_EINVAL;
    char uid[TV_UUID_LEN + 1];
    memcpy(uid, user_id, sizeof uid);
    tv_uuid_lower(uid);
    cJSON *res = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(res, "items");
    tv_db_conn_t *conn = NULL;
    int rc = items ? tv_db_acquire(db, &conn) : TV_ENOMEM;
    if (rc == TV_OK) {
        rc = tv_inv_list_tx(conn, uid, items);
        tv_db_release(db, conn);
    }
    if (rc) {
        cJSON_Delete(res);
        return rc;
    }
    if (cJSON_GetArraySize(items) == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(res, "items");
    *out = res;
    return TV_OK;
}

int tv_inv_count_tx(tv_db_conn_t *conn, const char *user_id, const char *item_id,
                    int64_t *count)
{
    tv_db_stmt_t *st;
    *count = 0;
    int rc = tv_db_prepare(conn, "SELECT count FROM inventory WHERE user_id = $1 AND "
                           "item_id = $2", &st);
    if (rc)
        return rc;
    rc = tv_db_bind_text(st, 1, user_id);
    if (!rc)
        rc = tv_db_bind_text(st, 2, item_id);
    if (!rc)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW)
        *count = tv_db_column_int64(st, 0);
    tv_db_reset(st);
    return rc == TV_DB_ROW || rc == TV_DB_DONE ? TV_OK : rc;
}

int tv_inv_take_tx(tv_db_conn_t *conn, const char *user_id, const char *item_id, int64_t n,
                   int64_t *left, tv_wallet_err_t *err)
{
    int64_t changed = 0, rest = 0;
    int rc = exec_ui(conn, "UPDATE inventory SET count = count - $3, update_time = $4 "
                     "WHERE user_id = $1 AND item_id = $2 AND count >= $3",
                     user_id, item_id, n, tv_now_ms(), &changed);
    if (rc == TV_OK && changed == 0) {
        err->why = TV_INV_ENOTENOUGH;
        snprintf(err->msg, sizeof err->msg, "Not enough items: fewer than %" PRId64 " of %s.",
                 n, item_id);
        return TV_EINVAL;
    }
    if (rc || (rc = tv_inv_count_tx(conn, user_id, item_id, &rest)))
        return rc;
    if (left)
        *left = rest;
    if (rest > 0)
        return TV_OK;
    const char *args[] = {user_id, item_id};
    return tv_db_execp(conn, "DELETE FROM inventory WHERE user_id = $1 AND item_id = $2 "
                       "AND count = 0", 2, args, NULL);
}

/* A module's or the consume route's request for one user and one item. */
typedef struct {
    const char *uid, *item, *props;
    int64_t n, left;
    int lock_user; /* module calls check that the user exists (consume's caller is signed in) */
    tv_wallet_err_t *err;
} inv_op_t;

static int consume_tx(tv_db_conn_t *conn, void *p)
{
    inv_op_t *c = p;
    int rc = c->lock_user ? tv_wallet_lock_tx(conn, c->uid) : TV_OK;
    if (rc == TV_ENOTFOUND)
        return refuse(c->err, rc, TV_WALLET_ENOUSER, "User not found.");
    if (rc)
        return rc;
    return tv_inv_take_tx(conn, c->uid, c->item, c->n, &c->left, c->err);
}

static int grant_tx(tv_db_conn_t *conn, void *p)
{
    inv_op_t *g = p;
    int rc = tv_wallet_lock_tx(conn, g->uid);
    if (rc == TV_ENOTFOUND)
        return refuse(g->err, rc, TV_WALLET_ENOUSER, "User not found.");
    return rc ? rc : tv_inv_grant_props_tx(conn, g->uid, g->item, g->n, g->props, g->err);
}

/* Checks and lower-cases the ids of a one-item call into uid. */
static int check_ids(const char *user_id, const char *item_id, char uid[TV_UUID_LEN + 1],
                     tv_wallet_err_t *err)
{
    memset(err, 0, sizeof *err);
    if (!user_id || !tv_uuid_valid(user_id))
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "user id is not a UUID");
    if (!item_id || !tv_wallet_currency_valid(item_id))
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD,
                      "item_id must be 1-64 bytes of A-Z a-z 0-9 _ . : -");
    memcpy(uid, user_id, TV_UUID_LEN + 1);
    tv_uuid_lower(uid);
    return TV_OK;
}

static int take(tv_db_t *db, const char *user_id, const char *item_id, int64_t n,
                int lock_user, int64_t *left, tv_wallet_err_t *err)
{
    char uid[TV_UUID_LEN + 1];
    int rc = check_ids(user_id, item_id, uid, err);
    if (rc)
        return rc;
    if (n < 1 || n > TV_INV_CONSUME_MAX)
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "count must be 1-1000000");
    inv_op_t c = {uid, item_id, NULL, n, 0, lock_user, err};
    rc = tv_db_tx(db, consume_tx, &c);
    if (rc == TV_OK && left)
        *left = c.left;
    return rc;
}

int tv_inv_consume(tv_db_t *db, const char *user_id, const char *item_id, int64_t n,
                   int64_t *left, tv_wallet_err_t *err)
{
    *left = 0;
    return take(db, user_id, item_id, n, 0, left, err);
}

int tv_inv_revoke(tv_db_t *db, const char *user_id, const char *item_id, int64_t n,
                  tv_wallet_err_t *err)
{
    return take(db, user_id, item_id, n, 1, NULL, err);
}

int tv_inv_grant(tv_db_t *db, const char *user_id, const char *item_id, int64_t n,
                 const char *properties, tv_wallet_err_t *err)
{
    char uid[TV_UUID_LEN + 1];
    int rc = check_ids(user_id, item_id, uid, err);
    if (rc)
        return rc;
    if (n < 1 || n > TV_SHOP_COUNT_MAX)
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "count must be 1-1000000");
    inv_op_t g = {uid, item_id, properties, n, 0, 1, err};
    return tv_db_tx(db, grant_tx, &g);
}
