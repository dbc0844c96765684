/* The shop catalog on the database (shop_item) and its in-memory cache. The cache is rebuilt
 * whole by tv_shop_refresh after every change, so readers never see half an update; a
 * catalog is small (TV_SHOP_ITEMS_MAX), so readers take a copy under the lock. */
#include "economy.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tv_shop {
    tv_db_t *db;              /* borrowed */
    pthread_mutex_t mu;       /* guards items */
    pthread_mutex_t reload;   /* one refresh at a time: a refresh that started earlier (and
                                 read older rows) can never replace a newer cache */
    cJSON *items;             /* array of items as shown, sorted by id; owned */
};

/* One row as the API shows it: the stored definition with the live stock and disabled. */
static cJSON *row_item(tv_db_stmt_t *st)
{
    cJSON *it = cJSON_Parse(tv_db_column_text(st, 1) ? tv_db_column_text(st, 1) : "");
    if (!cJSON_IsObject(it)) {
        tv_log_error("shop", "item %s: stored definition is not JSON", tv_db_column_text(st, 0));
        cJSON_Delete(it);
        return NULL;
    }
    char num[24];
    snprintf(num, sizeof num, "%" PRId64, tv_db_column_int64(st, 2));
    cJSON_DeleteItemFromObjectCaseSensitive(it, "stock");
    cJSON_DeleteItemFromObjectCaseSensitive(it, "disabled");
    cJSON_AddStringToObject(it, "stock", num);
    if (tv_db_column_int64(st, 3)) /* protojson leaves false out */
        cJSON_AddBoolToObject(it, "disabled", 1);
    return it;
}

static int load(tv_db_t *db, cJSON **out)
{
    tv_db_conn_t *conn;
    tv_db_stmt_t *st;
    *out = NULL;
    int rc = tv_db_acquire(db, &conn);
    if (rc)
        return rc;
    cJSON *items = cJSON_CreateArray();
    rc = items ? tv_db_prepare(conn, "SELECT id, def, stock, disabled FROM shop_item "
                                     "ORDER BY id", &st) : TV_ENOMEM;
    int prepared = rc == TV_OK;
    while (rc == TV_OK && (rc = tv_db_step(st)) == TV_DB_ROW) {
        cJSON *it = row_item(st);
        rc = it && cJSON_AddItemToArray(items, it) ? TV_OK : (cJSON_Delete(it), TV_EINTERNAL);
    }
    if (prepared)
        tv_db_reset(st);
    tv_db_release(db, conn);
    if (rc != TV_DB_DONE) {
        cJSON_Delete(items);
        return rc;
    }
    *out = items;
    return TV_OK;
}

int tv_shop_refresh(tv_shop_t *shop)
{
    cJSON *items;
    pthread_mutex_lock(&shop->reload);
    int rc = load(shop->db, &items);
    if (rc) {
        pthread_mutex_unlock(&shop->reload);
        tv_log_warn("shop", "catalog refresh failed: %s", tv_error_name(rc));
        return rc;
    }
    pthread_mutex_lock(&shop->mu);
    cJSON *old = shop->items;
    shop->items = items;
    pthread_mutex_unlock(&shop->mu);
    pthread_mutex_unlock(&shop->reload);
    cJSON_Delete(old);
    return TV_OK;
}

int tv_shop_new(tv_db_t *db, tv_shop_t **out)
{
    *out = NULL;
    tv_shop_t *s = calloc(1, sizeof *s);
    if (!s)
        return TV_ENOMEM;
    s->db = db;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->reload, NULL);
    int rc = tv_shop_refresh(s);
    if (rc) {
        tv_shop_free(s);
        return rc;
    }
    *out = s;
    return TV_OK;
}

void tv_shop_free(tv_shop_t *shop)
{
    if (!shop)
        return;
    cJSON_Delete(shop->items);
    pthread_mutex_destroy(&shop->mu);
    pthread_mutex_destroy(&shop->reload);
    free(shop);
}

typedef struct {
    const char *args[5]; /* id, def, stock, disabled, update_time */
} put_t;

static int put_tx(tv_db_conn_t *conn, void *p)
{
    put_t *u = p;
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, "SELECT COUNT(*), SUM(CASE WHEN id = $1 THEN 1 ELSE 0 END) "
                                 "FROM shop_item", &st);
    if (rc)
        return rc;
    if ((rc = tv_db_bind_text(st, 1, u->args[0])) == TV_OK)
        rc = tv_db_step(st);
    int64_t count = rc == TV_DB_ROW ? tv_db_column_int64(st, 0) : 0;
    int64_t exists = rc == TV_DB_ROW ? tv_db_column_int64(st, 1) : 0;
    tv_db_reset(st);
    if (rc != TV_DB_ROW)
        return rc ? rc : TV_EINTERNAL;
    if (!exists && count >= TV_SHOP_ITEMS_MAX)
        return TV_EBUSY;
    return tv_db_execp(conn, "INSERT INTO shop_item (id, def, stock, disabled, update_time) "
                       "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET "
                       "def = excluded.def, stock = excluded.stock, "
                       "disabled = excluded.disabled, update_time = excluded.update_time",
                       5, u->args, NULL);
}

int tv_shop_put(tv_shop_t *shop, const cJSON *def, cJSON **item, tv_wallet_err_t *err)
{
    tv_shop_item_t it;
    if (item)
        *item = NULL;
    memset(err, 0, sizeof *err);
    int rc = tv_shop_item_parse(def, &it, err);
    if (rc)
        return rc;
    cJSON *norm = tv_shop_item_json(&it);
    char *text = norm ? cJSON_PrintUnformatted(norm) : NULL;
    char stock[24], now[24];
    snprintf(stock, sizeof stock, "%" PRId64, it.stock);
    snprintf(now, sizeof now, "%" PRId64, tv_now_s());
    put_t u = {{it.id, text, stock, it.disabled ? "1" : "0", now}};
    rc = text ? tv_db_tx(shop->db, put_tx, &u) : TV_ENOMEM;
    if (rc == TV_EBUSY)
        snprintf(err->msg, sizeof err->msg, "the catalog holds at most %d items",
                 TV_SHOP_ITEMS_MAX);
    if (rc == TV_OK)
        tv_shop_refresh(shop); /* the row is stored: a failed refresh only delays the cache */
    free(text);
    if (rc == TV_OK && item)
        *item = norm;
    else
        cJSON_Delete(norm);
    return rc;
}

int tv_shop_disable(tv_shop_t *shop, const char *id)
{
    if (!tv_wallet_currency_valid(id))
        return TV_ENOTFOUND; /* no item can have such an id */
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(shop->db, &conn);
    if (rc)
        return rc;
    int64_t changed = 0;
    const char *args[] = {id};
    rc = tv_db_execp(conn, "UPDATE shop_item SET disabled = 1 WHERE id = $1", 1, args, &changed);
    tv_db_release(shop->db, conn);
    if (rc == TV_OK && changed == 0)
        return TV_ENOTFOUND;
    if (rc == TV_OK)
        tv_shop_refresh(shop);
    return rc;
}

cJSON *tv_shop_list(tv_shop_t *shop, int with_disabled)
{
    cJSON *out = cJSON_CreateObject(), *arr = cJSON_CreateArray(), *it;
    if (!out || !arr) {
        cJSON_Delete(out);
        cJSON_Delete(arr);
        return NULL;
    }
    int failed = 0;
    pthread_mutex_lock(&shop->mu);
    cJSON_ArrayForEach(it, shop->items) {
        if (!with_disabled && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "disabled")))
            continue;
        cJSON *copy = cJSON_Duplicate(it, 1);
        if (!copy || !cJSON_AddItemToArray(arr, copy)) {
            cJSON_Delete(copy);
            failed = 1;
            break;
        }
    }
    pthread_mutex_unlock(&shop->mu);
    if (failed) {
        cJSON_Delete(out);
        cJSON_Delete(arr);
        return NULL;
    }
    tv_json_add_list(out, "items", arr);
    return out;
}

cJSON *tv_shop_get(tv_shop_t *shop, const char *id)
{
    cJSON *it, *copy = NULL;
    pthread_mutex_lock(&shop->mu);
    cJSON_ArrayForEach(it, shop->items) {
        const cJSON *iid = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (cJSON_IsString(iid) && strcmp(iid->valuestring, id) == 0) {
            copy = cJSON_Duplicate(it, 1);
            break;
        }
    }
    pthread_mutex_unlock(&shop->mu);
    return copy;
}

tv_db_t *tv_shop_db(tv_shop_t *shop)
{
    return shop->db;
}
