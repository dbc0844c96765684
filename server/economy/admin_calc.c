/* The admin operations' pure parts, without a database: reading a console grant or revoke,
 * working out what a refund undoes from a receipt, the ledger metadata they write, and a
 * wallet as the console shows it. */
#include "admin.h"
#include "error.h"
#include "json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int refuse(tv_wallet_err_t *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->why = TV_WALLET_EBAD;
    return TV_EINVAL;
}

/* A JSON integer in [lo, hi]; cJSON's doubles are exact far beyond these bounds. */
static int count_of(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi))
        return 0;
    int64_t n = (int64_t)v->valuedouble;
    if ((double)n != v->valuedouble)
        return 0;
    *out = n;
    return 1;
}

/* {item_id: count lo..hi} into out[cap]; absent or null = none. */
static int items_of(const cJSON *v, const char *what, int64_t hi, tv_shop_grant_t *out,
                    size_t cap, size_t *n, tv_wallet_err_t *err)
{
    *n = 0;
    if (!v || cJSON_IsNull(v))
        return TV_OK;
    if (!cJSON_IsObject(v))
        return refuse(err, "%s must be {item_id: count}", what);
    for (const cJSON *c = v->child; c; c = c->next) {
        if (!tv_wallet_currency_valid(c->string))
            return refuse(err, "item ids are 1-%d bytes of A-Z a-z 0-9 _ . : -", TV_SHOP_ID_MAX);
        if (*n == cap)
            return refuse(err, "at most %zu items in %s", cap, what);
        for (size_t i = 0; i < *n; i++)
            if (strcmp(out[i].item_id, c->string) == 0)
                return refuse(err, "item %s given twice", c->string);
        int64_t k;
        if (!count_of(c, 1, hi, &k))
            return refuse(err, "%s: counts are integers of 1-%" PRId64, what, hi);
        out[(*n)++] = (tv_shop_grant_t){c->string, k};
    }
    return TV_OK;
}

/* {currency: amount > 0} into out[cap]; absent or null = none. */
static int positive_amounts(const cJSON *v, const char *what, tv_wallet_delta_t *out,
                            size_t cap, size_t *n, tv_wallet_err_t *err)
{
    *n = 0;
    if (!v || cJSON_IsNull(v))
        return TV_OK;
    if (tv_wallet_changeset_parse(v, out, cap, n, err))
        return refuse(err, "%s: %s", what, err->msg);
    for (size_t i = 0; i < *n; i++)
        if (out[i].delta <= 0)
            return refuse(err, "%s: amounts must be positive", what);
    return TV_OK;
}

int tv_econ_change_parse(const cJSON *body, int revoke, tv_econ_change_t *c,
                         tv_wallet_err_t *err)
{
    memset(c, 0, sizeof *c);
    memset(err, 0, sizeof *err);
    c->revoke = revoke;
    if (!cJSON_IsObject(body))
        return refuse(err, "the body must be a JSON object");
    for (const cJSON *m = body->child; m; m = m->next)
        if (strcmp(m->string, "currencies") && strcmp(m->string, "items") &&
            strcmp(m->string, "reason"))
            return refuse(err, "unknown field %.64s: currencies, items and reason only",
                          m->string);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(body, "reason");
    if (!cJSON_IsString(r) || !*r->valuestring || strlen(r->valuestring) > TV_ECON_REASON_MAX ||
        !tv_utf8_valid(r->valuestring))
        return refuse(err, "reason is required: 1-%d bytes of UTF-8", TV_ECON_REASON_MAX);
    c->reason = r->valuestring;
    int rc = positive_amounts(cJSON_GetObjectItemCaseSensitive(body, "currencies"),
                              "currencies", c->currencies, TV_WALLET_CHANGES_MAX,
                              &c->ncurrencies, err);
    if (rc == TV_OK)
        rc = items_of(cJSON_GetObjectItemCaseSensitive(body, "items"), "items",
                      TV_ECON_COUNT_MAX, c->items, TV_ECON_ITEMS_MAX, &c->nitems, err);
    if (rc == TV_OK && c->ncurrencies == 0 && c->nitems == 0)
        rc = refuse(err, "nothing to %s: give currencies or items", revoke ? "revoke" : "grant");
    for (size_t i = 0; rc == TV_OK && revoke && i < c->ncurrencies; i++)
        c->currencies[i].delta = -c->currencies[i].delta;
    return rc;
}

int tv_econ_refund_plan(const cJSON *price, const cJSON *grants, tv_econ_refund_plan_t *plan,
                        tv_wallet_err_t *err)
{
    memset(plan, 0, sizeof *plan);
    memset(err, 0, sizeof *err);
    if (grants && !cJSON_IsNull(grants) && !cJSON_IsObject(grants))
        return refuse(err, "the receipt's grants are not an object");
    tv_wallet_delta_t granted[TV_SHOP_CURRENCIES_MAX];
    size_t ngranted = 0;
    int rc = positive_amounts(price, "the receipt's price", plan->deltas, TV_SHOP_CURRENCIES_MAX,
                              &plan->ndeltas, err);
    if (rc == TV_OK)
        rc = positive_amounts(cJSON_GetObjectItemCaseSensitive(grants, "currencies"),
                              "the receipt's currencies", granted, TV_SHOP_CURRENCIES_MAX,
                              &ngranted, err);
    if (rc == TV_OK)
        rc = items_of(cJSON_GetObjectItemCaseSensitive(grants, "items"), "the receipt's items",
                      TV_SHOP_COUNT_MAX, plan->items, TV_SHOP_GRANTS_MAX, &plan->nitems, err);
    if (rc)
        return rc;
    /* the price comes back, the granted currencies go: one delta per currency */
    for (size_t i = 0; i < ngranted; i++) {
        size_t k = 0;
        while (k < plan->ndeltas && strcmp(plan->deltas[k].currency, granted[i].currency) != 0)
            k++;
        if (k == plan->ndeltas)
            plan->deltas[plan->ndeltas++] = (tv_wallet_delta_t){granted[i].currency, 0};
        plan->deltas[k].delta -= granted[i].delta;
    }
    size_t m = 0;
    for (size_t i = 0; i < plan->ndeltas; i++)
        if (plan->deltas[i].delta != 0) /* the wallet refuses a 0: it would change nothing */
            plan->deltas[m++] = plan->deltas[i];
    plan->ndeltas = m;
    return TV_OK;
}

/* {item_id: count} of exact integers under key, left out when n is 0. 0 when out of memory. */
static int add_counts(cJSON *o, const char *key, const tv_shop_grant_t *g, size_t n)
{
    if (n == 0)
        return 1;
    cJSON *m = cJSON_AddObjectToObject(o, key);
    for (size_t i = 0; m && i < n; i++) {
        char num[24];
        snprintf(num, sizeof num, "%" PRId64, g[i].count);
        if (!cJSON_AddRawToObject(m, g[i].item_id, num))
            return 0;
    }
    return m != NULL;
}

char *tv_econ_meta_text(const tv_econ_meta_t *m)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    const char *keys[] = {"op", "reason", "admin", "receipt", "item"};
    const char *vals[] = {m->op, m->reason, m->admin, m->receipt, m->item};
    for (size_t i = 0; ok && i < sizeof keys / sizeof keys[0]; i++)
        ok = !vals[i] || !*vals[i] || cJSON_AddStringToObject(o, keys[i], vals[i]);
    ok = ok && add_counts(o, "items", m->items, m->nitems) &&
         add_counts(o, "not_taken", m->not_taken, m->nnot_taken);
    if (ok && m->force)
        ok = cJSON_AddTrueToObject(o, "force") != NULL;
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

cJSON *tv_econ_wallet_json(const char *wallet)
{
    cJSON *w = cJSON_Parse(wallet && *wallet ? wallet : "{}"), *out = cJSON_CreateObject();
    int ok = cJSON_IsObject(w) && out;
    for (const cJSON *c = ok ? w->child : NULL; ok && c; c = c->next) {
        int64_t v = 0;
        ok = count_of(c, -TV_WALLET_AMOUNT_MAX, TV_WALLET_AMOUNT_MAX, &v);
        if (ok && v != 0) {
            char num[24];
            snprintf(num, sizeof num, "%" PRId64, v);
            ok = cJSON_AddRawToObject(out, c->string, num) != NULL;
        }
    }
    cJSON_Delete(w);
    if (!ok) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}
