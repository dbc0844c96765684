/* Wallet arithmetic without a database: currency names, changesets and applying one to a
 * wallet's JSON text, with the range, overdraft and size checks every wallet change passes. */
#include "economy.h"
#include "error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(tv_wallet_err_t *err, int why, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->why = why;
    }
    return TV_EINVAL;
}

int tv_wallet_currency_valid(const char *name)
{
    if (!name)
        return 0;
    size_t len = strlen(name);
    if (len == 0 || len > TV_WALLET_CURRENCY_MAX)
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

/* An integer JSON number within +-TV_WALLET_AMOUNT_MAX. cJSON keeps numbers as doubles,
 * which are exact inside that range, so the bound also guarantees the value read is the one
 * sent. */
static int amount_of(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    if (!(d >= -(double)TV_WALLET_AMOUNT_MAX && d <= (double)TV_WALLET_AMOUNT_MAX))
        return 0; /* NaN and the infinities fail this too */
    int64_t i = (int64_t)d;
    if ((double)i != d)
        return 0;
    *out = i;
    return 1;
}

int tv_wallet_changeset_parse(const cJSON *obj, tv_wallet_delta_t *out, size_t cap, size_t *n,
                              tv_wallet_err_t *err)
{
    *n = 0;
    if (!cJSON_IsObject(obj))
        return refuse(err, TV_WALLET_EBAD, "changeset must be a JSON object");
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (!tv_wallet_currency_valid(c->string))
            return refuse(err, TV_WALLET_EBAD,
                          "currency names are 1-%d bytes of A-Z a-z 0-9 _ . : -",
                          TV_WALLET_CURRENCY_MAX);
        if (*n == cap)
            return refuse(err, TV_WALLET_EBAD, "at most %zu currencies in one changeset", cap);
        for (size_t i = 0; i < *n; i++)
            if (strcmp(out[i].currency, c->string) == 0)
                return refuse(err, TV_WALLET_EBAD, "currency %s given twice", c->string);
        int64_t d;
        if (!amount_of(c, &d) || d == 0) /* a 0 changes nothing and would read as absent */
            return refuse(err, TV_WALLET_EBAD, "%s: amounts are non-zero integers within +-%lld",
                          c->string, (long long)TV_WALLET_AMOUNT_MAX);
        out[*n] = (tv_wallet_delta_t){c->string, d};
        (*n)++;
    }
    return TV_OK;
}

/* A wallet's balances, names borrowed from the parsed wallet or the deltas. */
typedef struct {
    const char *name;
    int64_t v;
} balance_t;

enum { BALANCES_CAP = TV_WALLET_CURRENCIES_MAX + TV_WALLET_CHANGES_MAX };

static int load(const cJSON *w, balance_t *b, size_t *nb, tv_wallet_err_t *err)
{
    *nb = 0;
    for (const cJSON *c = w->child; c; c = c->next) {
        if (*nb == BALANCES_CAP || !c->string)
            return refuse(err, TV_WALLET_ELIMIT, "the stored wallet is too large");
        if (!amount_of(c, &b[*nb].v)) /* a wallet only the server writes: refuse, never guess */
            return refuse(err, TV_WALLET_EBAD, "the stored wallet holds a non-integer %s",
                          c->string);
        b[*nb].name = c->string;
        (*nb)++;
    }
    return TV_OK;
}

static int add_one(balance_t *b, size_t *nb, const tv_wallet_delta_t *d, int allow_negative,
                   tv_wallet_err_t *err)
{
    size_t i = 0;
    while (i < *nb && strcmp(b[i].name, d->currency) != 0)
        i++;
    if (i == *nb) {
        if (*nb == BALANCES_CAP)
            return refuse(err, TV_WALLET_ELIMIT, "too many currencies");
        b[(*nb)++] = (balance_t){d->currency, 0};
    }
    int64_t sum;
    if (__builtin_add_overflow(b[i].v, d->delta, &sum) || sum > TV_WALLET_AMOUNT_MAX ||
        sum < -TV_WALLET_AMOUNT_MAX)
        return refuse(err, TV_WALLET_ERANGE, "%s would leave +-%lld", d->currency,
                      (long long)TV_WALLET_AMOUNT_MAX);
    if (sum < 0 && d->delta < 0 && !allow_negative)
        return refuse(err, TV_WALLET_EFUNDS, "insufficient %s: have %" PRId64 ", need %" PRId64,
                      d->currency, b[i].v, -d->delta);
    b[i].v = sum;
    return TV_OK;
}

/* The wallet as JSON text with exact integers (cJSON would print 1e15 as "1e+15"). */
static int print(const balance_t *b, size_t nb, char **out)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < nb; i++) {
        char num[24];
        snprintf(num, sizeof num, "%" PRId64, b[i].v);
        if (!cJSON_AddRawToObject(o, b[i].name, num)) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    *out = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return *out ? TV_OK : TV_ENOMEM;
}

int tv_wallet_apply(const char *wallet, const tv_wallet_delta_t *d, size_t n, int allow_negative,
                    char **out, tv_wallet_err_t *err)
{
    *out = NULL;
    if (n > TV_WALLET_CHANGES_MAX)
        return refuse(err, TV_WALLET_EBAD, "at most %d currencies in one changeset",
                      TV_WALLET_CHANGES_MAX);
    cJSON *w = wallet && *wallet ? cJSON_Parse(wallet) : cJSON_CreateObject();
    if (!cJSON_IsObject(w)) {
        cJSON_Delete(w);
        return refuse(err, TV_WALLET_EBAD, "the stored wallet is not a JSON object");
    }
    balance_t b[BALANCES_CAP];
    size_t nb;
    int rc = load(w, b, &nb, err);
    for (size_t i = 0; rc == TV_OK && i < n; i++)
        rc = add_one(b, &nb, &d[i], allow_negative, err);
    if (rc == TV_OK && nb > TV_WALLET_CURRENCIES_MAX)
        rc = refuse(err, TV_WALLET_ELIMIT, "a wallet holds at most %d currencies",
                    TV_WALLET_CURRENCIES_MAX);
    if (rc == TV_OK)
        rc = print(b, nb, out);
    cJSON_Delete(w);
    return rc;
}
