/* Inventories on the database (inventory): items added by purchases (inside their
 * transaction), listed, and consumed with one conditional UPDATE so a count never goes
 * below zero; a row goes when its count reaches 0. */
#include "economy.h"
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

int tv_inv_grant_tx(tv_db_conn_t *conn, const char *user_id, const char *item_id, int64_t n,
                    tv_wallet_err_t *err)
{
    if (n < 1 || n > TV_SHOP_COUNT_MAX || !tv_wallet_currency_valid(item_id))
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "a bad item or count");
    int64_t changed = 0;
    int rc = exec_ui(conn, "INSERT INTO inventory (user_id, item_id, count, properties, "
                     "update_time) VALUES ($1, $2, $3, '{}', $4) ON CONFLICT (user_id, item_id) "
                     "DO UPDATE SET count = inventory.count + excluded.count, "
                     "update_time = excluded.update_time WHERE inventory.count + "
                     "excluded.count <= " STR(TV_INV_COUNT_MAX),
                     user_id, item_id, n, tv_now_ms(), &changed);
    if (rc == TV_OK && changed == 0)
        return refuse(err, TV_EINVAL, TV_INV_EFULL, "an inventory holds at most "
                      STR(TV_INV_COUNT_MAX) " of an item");
    return rc;
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

static int list_query(tv_db_conn_t *conn, const char *uid, cJSON *items)
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
        rc = list_query(conn, uid, items);
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

typedef struct {
    const char *uid, *item;
    int64_t n, left;
    tv_wallet_err_t *err;
} consume_t;

static int consume_tx(tv_db_conn_t *conn, void *p)
{
    consume_t *c = p;
    int64_t changed = 0;
    int rc = exec_ui(conn, "UPDATE inventory SET count = count - $3, update_time = $4 "
                     "WHERE user_id = $1 AND item_id = $2 AND count >= $3",
                     c->uid, c->item, c->n, tv_now_ms(), &changed);
    if (rc == TV_OK && changed == 0)
        return refuse(c->err, TV_EINVAL, TV_INV_ENOTENOUGH, "Not enough items.");
    tv_db_stmt_t *st;
    if (rc || (rc = tv_db_prepare(conn, "SELECT count FROM inventory WHERE user_id = $1 "
                                  "AND item_id = $2", &st)))
        return rc;
    rc = tv_db_bind_text(st, 1, c->uid);
    if (!rc)
        rc = tv_db_bind_text(st, 2, c->item);
    if (!rc)
        rc = tv_db_step(st);
    c->left = rc == TV_DB_ROW ? tv_db_column_int64(st, 0) : 0;
    tv_db_reset(st);
    if (rc != TV_DB_ROW)
        return rc ? rc : TV_EINTERNAL;
    if (c->left > 0)
        return TV_OK;
    const char *args[] = {c->uid, c->item};
    return tv_db_execp(conn, "DELETE FROM inventory WHERE user_id = $1 AND item_id = $2 "
                       "AND count = 0", 2, args, NULL);
}

int tv_inv_consume(tv_db_t *db, const char *user_id, const char *item_id, int64_t n,
                   int64_t *left, tv_wallet_err_t *err)
{
    memset(err, 0, sizeof *err);
    *left = 0;
    if (!user_id || !tv_uuid_valid(user_id))
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "user id is not a UUID");
    if (!item_id || !tv_wallet_currency_valid(item_id))
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD,
                      "item_id must be 1-64 bytes of A-Z a-z 0-9 _ . : -");
    if (n < 1 || n > TV_INV_CONSUME_MAX)
        return refuse(err, TV_EINVAL, TV_WALLET_EBAD, "count must be 1-1000000");
    char uid[TV_UUID_LEN + 1];
    memcpy(uid, user_id, sizeof uid);
    tv_uuid_lower(uid);
    consume_t c = {uid, item_id, n, 0, err};
    int rc = tv_db_tx(db, consume_tx, &c);
    if (rc == TV_OK)
        *left = c.left;
    return rc;
}
