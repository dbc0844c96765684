/* Shop catalog items without a database: reading and checking a definition (every limit
 * explicit), printing it, and the availability and per-user-limit checks of a purchase. */
#include "economy.h"
#include "error.h"
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(tv_wallet_err_t *err, int why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->why = why;
    return TV_EINVAL;
}

/* An optional string member of at most max bytes of valid UTF-8 (absent = ""). */
static int text(const cJSON *j, const char *key, size_t min, size_t max, const char **out,
                tv_wallet_err_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    *out = "";
    if (!v || cJSON_IsNull(v)) {
        if (min)
            return refuse(err, TV_WALLET_EBAD, "%s is required", key);
        return TV_OK;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) < min || strlen(v->valuestring) > max ||
        !tv_utf8_valid(v->valuestring))
        return refuse(err, TV_WALLET_EBAD, "%s must be a string of %zu-%zu bytes", key, min, max);
    *out = v->valuestring;
    return TV_OK;
}

int tv_econ_json_int(const cJSON *j, const char *key, const char *camel, int64_t lo, int64_t hi,
                     int64_t dflt, int64_t *out, tv_wallet_err_t *err)
{
    const cJSON *v = camel ? tv_json_get(j, key, camel) : cJSON_GetObjectItemCaseSensitive(j, key);
    *out = dflt;
    if (!v || cJSON_IsNull(v))
        return TV_OK;
    double d = cJSON_IsNumber(v) ? v->valuedouble : 0.5;
    if (cJSON_IsString(v)) { /* protojson's int64 form, as tv_shop_item_json writes it */
        char *end;
        errno = 0;
        long long ll = strtoll(v->valuestring, &end, 10);
        d = *v->valuestring && !*end && !errno && ll >= -TV_WALLET_AMOUNT_MAX &&
            ll <= TV_WALLET_AMOUNT_MAX ? (double)ll : 0.5;
    }
    if (!(d >= (double)lo && d <= (double)hi) || (double)(int64_t)d != d)
        return refuse(err, TV_WALLET_EBAD, "%s must be an integer in %" PRId64 "-%" PRId64, key,
                      lo, hi);
    *out = (int64_t)d;
    return TV_OK;
}

/* A {currency: positive amount} member (absent = none). */
static int amounts(const cJSON *j, const char *key, tv_wallet_delta_t *out, size_t *n,
                   tv_wallet_err_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    *n = 0;
    if (!v || cJSON_IsNull(v))
        return TV_OK;
    int rc = tv_wallet_changeset_parse(v, out, TV_SHOP_CURRENCIES_MAX, n, err);
    if (rc)
        return refuse(err, TV_WALLET_EBAD, "%s: %s", key, err->msg);
    for (size_t i = 0; i < *n; i++)
        if (out[i].delta <= 0)
            return refuse(err, TV_WALLET_EBAD, "%s: amounts must be positive", key);
    return TV_OK;
}

static int grant_items(const cJSON *g, tv_shop_item_t *it, tv_wallet_err_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, "items");
    it->ngrant_items = 0;
    if (!v || cJSON_IsNull(v))
        return TV_OK;
    if (!cJSON_IsObject(v))
        return refuse(err, TV_WALLET_EBAD, "grants.items must be {item_id: count}");
    for (const cJSON *c = v->child; c; c = c->next) {
        if (!tv_wallet_currency_valid(c->string))
            return refuse(err, TV_WALLET_EBAD, "item ids are 1-%d bytes of A-Z a-z 0-9 _ . : -",
                          TV_SHOP_ID_MAX);
        if (it->ngrant_items == TV_SHOP_GRANTS_MAX)
            return refuse(err, TV_WALLET_EBAD, "at most %d items in a grant", TV_SHOP_GRANTS_MAX);
        for (size_t i = 0; i < it->ngrant_items; i++)
            if (strcmp(it->grant_items[i].item_id, c->string) == 0)
                return refuse(err, TV_WALLET_EBAD, "item %s granted twice", c->string);
        int64_t n;
        if (tv_econ_json_int(v, c->string, NULL, 1, TV_SHOP_COUNT_MAX, 0, &n, err))
            return refuse(err, TV_WALLET_EBAD, "grants.items: counts are 1-%d", TV_SHOP_COUNT_MAX);
        it->grant_items[it->ngrant_items++] = (tv_shop_grant_t){c->string, n};
    }
    return TV_OK;
}

static int grants(const cJSON *j, tv_shop_item_t *it, tv_wallet_err_t *err)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "grants");
    if (!cJSON_IsObject(g))
        return refuse(err, TV_WALLET_EBAD, "grants must be {items, currencies}");
    int rc = grant_items(g, it, err);
    if (rc == TV_OK)
        rc = amounts(g, "currencies", it->grant_currencies, &it->ngrant_currencies, err);
    if (rc == TV_OK && it->ngrant_items == 0 && it->ngrant_currencies == 0)
        rc = refuse(err, TV_WALLET_EBAD, "an item must grant something");
    return rc;
}

static int metadata(const cJSON *j, tv_shop_item_t *it, tv_wallet_err_t *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "metadata");
    it->metadata = NULL;
    if (!m || cJSON_IsNull(m))
        return TV_OK;
    if (!cJSON_IsObject(m))
        return refuse(err, TV_WALLET_EBAD, "metadata must be a JSON object");
    char *s = cJSON_PrintUnformatted(m);
    size_t len = s ? strlen(s) : 0;
    cJSON_free(s);
    if (!s)
        return TV_ENOMEM;
    if (len > TV_SHOP_METADATA_MAX)
        return refuse(err, TV_WALLET_EBAD, "metadata is at most %d bytes", TV_SHOP_METADATA_MAX);
    it->metadata = m;
    return TV_OK;
}

int tv_shop_item_parse(const cJSON *j, tv_shop_item_t *it, tv_wallet_err_t *err)
{
    memset(it, 0, sizeof *it);
    if (!cJSON_IsObject(j))
        return refuse(err, TV_WALLET_EBAD, "an item is a JSON object");
    int rc = text(j, "id", 1, TV_SHOP_ID_MAX, &it->id, err);
    if (rc == TV_OK && !tv_wallet_currency_valid(it->id))
        rc = refuse(err, TV_WALLET_EBAD, "item ids are 1-%d bytes of A-Z a-z 0-9 _ . : -",
                    TV_SHOP_ID_MAX);
    if (rc == TV_OK)
        rc = text(j, "name", 1, TV_SHOP_NAME_MAX, &it->name, err);
    if (rc == TV_OK)
        rc = text(j, "description", 0, TV_SHOP_DESCRIPTION_MAX, &it->description, err);
    if (rc == TV_OK)
        rc = text(j, "category", 0, TV_SHOP_CATEGORY_MAX, &it->category, err);
    if (rc == TV_OK)
        rc = amounts(j, "price", it->price, &it->nprice, err);
    if (rc == TV_OK)
        rc = grants(j, it, err);
    if (rc == TV_OK)
        rc = tv_econ_json_int(j, "stock", NULL, -1, TV_WALLET_AMOUNT_MAX, -1, &it->stock, err);
    if (rc == TV_OK)
        rc = tv_econ_json_int(j, "user_limit", "userLimit", 0, TV_SHOP_COUNT_MAX, 0,
                              &it->user_limit, err);
    if (rc == TV_OK)
        rc = tv_econ_json_int(j, "start_time", "startTime", 0, INT32_MAX, 0, &it->start_time,
                              err);
    if (rc == TV_OK)
        rc = tv_econ_json_int(j, "end_time", "endTime", 0, INT32_MAX, 0, &it->end_time, err);
    if (rc == TV_OK && it->end_time && it->end_time <= it->start_time)
        rc = refuse(err, TV_WALLET_EBAD, "end_time must follow start_time");
    if (rc == TV_OK)
        rc = metadata(j, it, err);
    const cJSON *dis = cJSON_GetObjectItemCaseSensitive(j, "disabled");
    if (rc == TV_OK && dis && !cJSON_IsNull(dis) && !cJSON_IsBool(dis))
        rc = refuse(err, TV_WALLET_EBAD, "disabled must be true or false");
    it->disabled = cJSON_IsTrue(dis);
    return rc;
}

/* An exact integer member (cJSON alone would print 1e15 as "1e+15"); NULL when out of memory. */
static cJSON *add_int(cJSON *o, const char *key, int64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRId64, v);
    return cJSON_AddRawToObject(o, key, num);
}

static cJSON *amounts_json(const tv_wallet_delta_t *d, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < n; i++)
        if (!add_int(o, d[i].currency, d[i].delta)) {
            cJSON_Delete(o);
            return NULL;
        }
    return o;
}

/* protojson's form, as every REST answer: int64 as strings, defaults ("", 0, false, {})
 * left out, except stock, which is always there ("-1" unlimited, "0" sold out) so that a
 * definition read back and PUT again keeps its stock. */
cJSON *tv_shop_item_json(const tv_shop_item_t *it)
{
    cJSON *o = cJSON_CreateObject(), *g = cJSON_CreateObject();
    cJSON *items = it->ngrant_items ? cJSON_AddObjectToObject(g, "items") : NULL;
    int bad = !o || !g || (it->ngrant_items && !items);
    for (size_t i = 0; !bad && i < it->ngrant_items; i++)
        bad = !add_int(items, it->grant_items[i].item_id, it->grant_items[i].count);
    if (!bad && it->ngrant_currencies)
        bad = !cJSON_AddItemToObject(g, "currencies", amounts_json(it->grant_currencies,
                                                                  it->ngrant_currencies));
    bad = bad || !cJSON_AddStringToObject(o, "id", it->id) ||
          !cJSON_AddStringToObject(o, "name", it->name);
    if (!bad) {
        tv_json_add_str(o, "description", it->description);
        tv_json_add_str(o, "category", it->category);
        if (it->nprice)
            cJSON_AddItemToObject(o, "price", amounts_json(it->price, it->nprice));
        cJSON_AddItemToObject(o, "grants", g);
        g = NULL;
        char num[24];
        snprintf(num, sizeof num, "%" PRId64, it->stock);
        cJSON_AddStringToObject(o, "stock", num);
        tv_json_add_int64(o, "user_limit", it->user_limit);
        tv_json_add_int64(o, "start_time", it->start_time);
        tv_json_add_int64(o, "end_time", it->end_time);
        if (it->metadata && it->metadata->child)
            cJSON_AddItemToObject(o, "metadata", cJSON_Duplicate(it->metadata, 1));
        tv_json_add_bool(o, "disabled", it->disabled);
    }
    /* count what must be there: a failed add is out of memory, not a smaller item */
    int want = 4 + (*it->description != 0) + (*it->category != 0) + (it->nprice != 0) +
               (it->user_limit != 0) + (it->start_time != 0) + (it->end_time != 0) +
               (it->metadata && it->metadata->child) + (it->disabled != 0);
    if (bad || cJSON_GetArraySize(o) != want) {
        cJSON_Delete(g);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

size_t tv_shop_item_deltas(const tv_shop_item_t *it, tv_wallet_delta_t *d)
{
    size_t n = 0;
    for (size_t i = 0; i < it->nprice; i++)
        d[n++] = (tv_wallet_delta_t){it->price[i].currency, -it->price[i].delta};
    for (size_t i = 0; i < it->ngrant_currencies; i++) {
        size_t k = 0;
        while (k < n && strcmp(d[k].currency, it->grant_currencies[i].currency) != 0)
            k++;
        if (k == n)
            d[n++] = (tv_wallet_delta_t){it->grant_currencies[i].currency, 0};
        d[k].delta += it->grant_currencies[i].delta;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i].delta != 0)
            d[m++] = d[i];
    return m;
}

int tv_shop_can_buy(const tv_shop_item_t *it, int64_t now, int64_t bought, tv_wallet_err_t *err)
{
    if (it->disabled)
        return refuse(err, TV_SHOP_EOFFSALE, "%s is not on sale", it->id);
    if (it->start_time && now < it->start_time)
        return refuse(err, TV_SHOP_EOFFSALE, "%s is not on sale yet", it->id);
    if (it->end_time && now >= it->end_time)
        return refuse(err, TV_SHOP_EOFFSALE, "%s is no longer on sale", it->id);
    if (it->user_limit && bought >= it->user_limit)
        return refuse(err, TV_SHOP_ELIMIT, "the limit of %" PRId64 " per user is reached",
                      it->user_limit);
    return TV_OK;
}
