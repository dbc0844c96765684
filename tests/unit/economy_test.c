/* Unit tests of server/economy: currency names, changesets, wallet arithmetic (overdraft,
 * range, size, exact large integers), the admin operations' pure parts (grant and revoke
 * bodies, refund plans, ledger metadata, the console's wallet), and wallet updates, the
 * ledger, admin grants and revokes and inventory properties on a scratch SQLite database. */
#include "check.h"
#include "economy.h"
#include "admin.h"
#include "db.h"
#include "error.h"
#include "log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_currency(void)
{
    CHECK(tv_wallet_currency_valid("coins"));
    CHECK(tv_wallet_currency_valid("gems.blue:v2-x_1"));
    CHECK(!tv_wallet_currency_valid(""));
    CHECK(!tv_wallet_currency_valid(NULL));
    CHECK(!tv_wallet_currency_valid("two words"));
    CHECK(!tv_wallet_currency_valid("caf\xc3\xa9"));
    char name[TV_WALLET_CURRENCY_MAX + 2];
    memset(name, 'a', sizeof name - 1);
    name[TV_WALLET_CURRENCY_MAX] = 0;
    CHECK_AS(tv_wallet_currency_valid(name), "a 64-byte name is valid");
    name[TV_WALLET_CURRENCY_MAX] = 'a';
    name[TV_WALLET_CURRENCY_MAX + 1] = 0;
    CHECK_AS(!tv_wallet_currency_valid(name), "a 65-byte name is not");
}

/* Parses text as a changeset; returns the code, deltas in d. */
static int parse(const char *text, tv_wallet_delta_t *d, size_t *n, cJSON **doc,
                 tv_wallet_err_t *err)
{
    *doc = cJSON_Parse(text);
    return tv_wallet_changeset_parse(*doc, d, TV_WALLET_CHANGES_MAX, n, err);
}

static void test_changeset(void)
{
    tv_wallet_delta_t d[TV_WALLET_CHANGES_MAX];
    size_t n;
    cJSON *doc;
    tv_wallet_err_t err = {0};
    CHECK(parse("{\"coins\":-5,\"gems\":9007199254740991}", d, &n, &doc, &err) == TV_OK &&
          n == 2 && d[0].delta == -5 && d[1].delta == 9007199254740991LL &&
          strcmp(d[1].currency, "gems") == 0);
    cJSON_Delete(doc);
    CHECK(parse("{}", d, &n, &doc, &err) == TV_OK && n == 0);
    cJSON_Delete(doc);
    static const char *bad[] = {"[]", "5", "{\"coins\":1.5}", "{\"coins\":\"5\"}",
                                "{\"coins\":9007199254740992}", "{\"a b\":1}",
                                "{\"coins\":1,\"coins\":2}", "{\"coins\":1e300}",
                                "{\"coins\":null}", "{\"coins\":0}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err.why = 0;
        int rc = parse(bad[i], d, &n, &doc, &err);
        CHECK_AS(rc == TV_EINVAL && err.why == TV_WALLET_EBAD && err.msg[0], bad[i]);
        cJSON_Delete(doc);
    }
    /* more than the cap */
    char big[2048] = "{";
    for (int i = 0; i <= TV_WALLET_CHANGES_MAX; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "%s\"c%d\":1", i ? "," : "", i);
    strcat(big, "}");
    CHECK(parse(big, d, &n, &doc, &err) == TV_EINVAL);
    cJSON_Delete(doc);
}

static int apply(const char *wallet, const char *cur, int64_t delta, int neg, char **out,
                 tv_wallet_err_t *err)
{
    tv_wallet_delta_t d = {cur, delta};
    memset(err, 0, sizeof *err);
    return tv_wallet_apply(wallet, &d, 1, neg, out, err);
}

static void test_apply(void)
{
    char *w = NULL;
    tv_wallet_err_t err;
    CHECK(apply("{}", "coins", 100, 0, &w, &err) == TV_OK && strcmp(w, "{\"coins\":100}") == 0);
    free(w);
    CHECK(apply(NULL, "coins", 5, 0, &w, &err) == TV_OK && strcmp(w, "{\"coins\":5}") == 0);
    free(w);
    CHECK(apply("{\"coins\":10,\"gems\":2}", "coins", -10, 0, &w, &err) == TV_OK &&
          strcmp(w, "{\"coins\":0,\"gems\":2}") == 0);
    free(w);
    /* overdraft refused, allowed on request; a credit to a negative balance is no debit */
    w = (char *)"x";
    CHECK(apply("{\"coins\":10}", "coins", -11, 0, &w, &err) == TV_EINVAL && !w &&
          err.why == TV_WALLET_EFUNDS);
    CHECK(apply("{}", "coins", -1, 0, &w, &err) == TV_EINVAL && err.why == TV_WALLET_EFUNDS);
    CHECK(apply("{\"coins\":10}", "coins", -11, 1, &w, &err) == TV_OK &&
          strcmp(w, "{\"coins\":-1}") == 0);
    free(w);
    CHECK(apply("{\"coins\":-5}", "coins", 2, 0, &w, &err) == TV_OK &&
          strcmp(w, "{\"coins\":-3}") == 0);
    free(w);
    /* large balances print exactly (cJSON alone would print 1e+15) */
    CHECK(apply("{}", "coins", 1000000000000000LL, 0, &w, &err) == TV_OK &&
          strcmp(w, "{\"coins\":1000000000000000}") == 0);
    free(w);
    /* range: the bound, past it, and int64 overflow of a direct caller's delta */
    CHECK(apply("{\"coins\":9007199254740990}", "coins", 1, 0, &w, &err) == TV_OK);
    free(w);
    CHECK(apply("{\"coins\":9007199254740991}", "coins", 1, 0, &w, &err) == TV_EINVAL &&
          err.why == TV_WALLET_ERANGE);
    CHECK(apply("{\"coins\":5}", "coins", INT64_MAX, 0, &w, &err) == TV_EINVAL &&
          err.why == TV_WALLET_ERANGE);
    CHECK(apply("{\"coins\":-5}", "coins", INT64_MIN, 1, &w, &err) == TV_EINVAL &&
          err.why == TV_WALLET_ERANGE);
    /* a stored wallet that is not integers is refused, never guessed at */
    CHECK(apply("{\"coins\":1.5}", "coins", 1, 0, &w, &err) == TV_EINVAL);
    CHECK(apply("[1]", "coins", 1, 0, &w, &err) == TV_EINVAL);
    /* one changeset is all or nothing: the second delta's overdraft refuses the first */
    tv_wallet_delta_t two[] = {{"coins", 5}, {"gems", -1}};
    w = NULL;
    CHECK(tv_wallet_apply("{\"coins\":1}", two, 2, 0, &w, &err) == TV_EINVAL && !w);
    /* at most TV_WALLET_CURRENCIES_MAX currencies in a wallet */
    char full[4096] = "{";
    for (int i = 0; i < TV_WALLET_CURRENCIES_MAX; i++)
        snprintf(full + strlen(full), sizeof full - strlen(full), "%s\"c%d\":1", i ? "," : "", i);
    strcat(full, "}");
    CHECK(apply(full, "c0", 1, 0, &w, &err) == TV_OK);
    free(w);
    CHECK(apply(full, "new", 1, 0, &w, &err) == TV_EINVAL && err.why == TV_WALLET_ELIMIT);
}

/* --- catalog items -------------------------------------------------------------------------- */

static const char *GOOD_ITEM =
    "{\"id\":\"sword-1\",\"name\":\"Sword\",\"description\":\"sharp\",\"category\":\"weapons\","
    "\"price\":{\"coins\":100},\"grants\":{\"items\":{\"sword\":1,\"whetstone\":3},"
    "\"currencies\":{\"xp\":10}},\"stock\":5,\"user_limit\":2,\"start_time\":1000,"
    "\"end_time\":2000,\"metadata\":{\"rarity\":\"rare\"}}";

static void test_item_parse(void)
{
    tv_shop_item_t it;
    tv_wallet_err_t err = {0};
    cJSON *j = cJSON_Parse(GOOD_ITEM);
    CHECK(tv_shop_item_parse(j, &it, &err) == TV_OK);
    CHECK(strcmp(it.id, "sword-1") == 0 && it.nprice == 1 && it.price[0].delta == 100 &&
          it.ngrant_items == 2 && it.grant_items[1].count == 3 && it.ngrant_currencies == 1 &&
          it.stock == 5 && it.user_limit == 2 && !it.disabled);
    /* printed and read back: the same item */
    cJSON *out = tv_shop_item_json(&it), *again = NULL;
    tv_shop_item_t it2;
    char *t = cJSON_PrintUnformatted(out);
    again = cJSON_Parse(t);
    CHECK(tv_shop_item_parse(again, &it2, &err) == TV_OK && it2.stock == 5 &&
          it2.end_time == 2000 && strcmp(it2.grant_items[0].item_id, "sword") == 0);
    free(t);
    cJSON_Delete(again);
    cJSON_Delete(out);
    cJSON_Delete(j);
    /* defaults: no stock limit, no user limit, always on sale, free */
    j = cJSON_Parse("{\"id\":\"gift\",\"name\":\"G\",\"name\":\"Gift\","
                    "\"grants\":{\"currencies\":{\"coins\":5}}}");
    CHECK(tv_shop_item_parse(j, &it, &err) == TV_OK && it.stock == -1 && it.user_limit == 0 &&
          it.nprice == 0 && it.start_time == 0 && it.end_time == 0);
    cJSON_Delete(j);

    /* each refusal names the field */
    static const char *bad[][2] = {
        {"\"id\":\"a b\"", "id"},
        {"\"id\":\"\"", "id"},
        {"\"name\":\"\"", "name"},
        {"\"name\":5", "name"},
        {"\"price\":{\"coins\":0}", "price"},
        {"\"price\":{\"coins\":-5}", "price"},
        {"\"price\":{\"coins\":1.5}", "price"},
        {"\"price\":[1]", "price"},
        {"\"grants\":{}", "grant"},
        {"\"grants\":{\"items\":{\"x\":0}}", "grants.items"},
        {"\"grants\":{\"items\":{\"x\":1000001}}", "grants.items"},
        {"\"grants\":{\"items\":{\"x y\":1}}", "item ids"},
        {"\"grants\":{\"items\":{\"x\":1,\"x\":2}}", "twice"},
        {"\"grants\":5", "grants"},
        {"\"stock\":-2", "stock"},
        {"\"stock\":\"five\"", "stock"},
        {"\"stock\":\"\"", "stock"},
        {"\"user_limit\":-1", "user_limit"},
        {"\"start_time\":10,\"end_time\":10", "end_time"},
        {"\"metadata\":[1]", "metadata"},
        {"\"disabled\":1", "disabled"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char doc[512];
        /* the good item with one bad member put first: cJSON's lookup finds the first of
         * two members of one name */
        snprintf(doc, sizeof doc, "{%s,%s", bad[i][0], GOOD_ITEM + 1);
        j = cJSON_Parse(doc);
        memset(&err, 0, sizeof err);
        int rc = tv_shop_item_parse(j, &it, &err);
        int ok = j && rc == TV_EINVAL && err.why == TV_WALLET_EBAD && strstr(err.msg, bad[i][1]);
        if (!ok)
            printf("  %s -> %d %s\n", doc, rc, err.msg);
        CHECK_AS(ok, bad[i][0]);
        cJSON_Delete(j);
    }
    char big[5200];
    snprintf(big, sizeof big, "{\"metadata\":{\"k\":\"%04100d\"},%s", 0, GOOD_ITEM + 1);
    j = cJSON_Parse(big);
    CHECK(tv_shop_item_parse(j, &it, &err) == TV_EINVAL && strstr(err.msg, "metadata"));
    cJSON_Delete(j);
}

static void test_can_buy(void)
{
    tv_shop_item_t it;
    tv_wallet_err_t err = {0};
    cJSON *j = cJSON_Parse(GOOD_ITEM); /* on sale [1000, 2000), 2 per user */
    CHECK(tv_shop_item_parse(j, &it, &err) == TV_OK);
    CHECK(tv_shop_can_buy(&it, 1000, 0, &err) == TV_OK);
    CHECK(tv_shop_can_buy(&it, 1999, 1, &err) == TV_OK);
    CHECK(tv_shop_can_buy(&it, 999, 0, &err) == TV_EINVAL && err.why == TV_SHOP_EOFFSALE);
    CHECK(tv_shop_can_buy(&it, 2000, 0, &err) == TV_EINVAL && err.why == TV_SHOP_EOFFSALE);
    CHECK(tv_shop_can_buy(&it, 1500, 2, &err) == TV_EINVAL && err.why == TV_SHOP_ELIMIT);
    it.disabled = 1;
    CHECK(tv_shop_can_buy(&it, 1500, 0, &err) == TV_EINVAL && err.why == TV_SHOP_EOFFSALE);
    it.disabled = 0;
    it.user_limit = 0;
    it.start_time = it.end_time = 0;
    CHECK(tv_shop_can_buy(&it, 5, 1000000, &err) == TV_OK);
    cJSON_Delete(j);
}

/* The value of currency c among n deltas; 0 when absent, -999 when listed twice. */
static int64_t deltas_value(const tv_wallet_delta_t *d, size_t n, const char *c)
{
    int64_t v = 0;
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(d[i].currency, c) == 0) {
            v = d[i].delta;
            seen++;
        }
    return seen > 1 ? -999 : v;
}

static void test_item_deltas(void)
{
    tv_shop_item_t it;
    tv_wallet_err_t err = {0};
    tv_wallet_delta_t d[2 * TV_SHOP_CURRENCIES_MAX];
    /* paid and granted in one currency nets; a grant alone credits; a price alone debits */
    cJSON *j = cJSON_Parse("{\"id\":\"pack\",\"name\":\"P\",\"price\":{\"coins\":10,\"gems\":2},"
                           "\"grants\":{\"currencies\":{\"coins\":3,\"xp\":5}}}");
    CHECK(tv_shop_item_parse(j, &it, &err) == TV_OK);
    size_t n = tv_shop_item_deltas(&it, d);
    CHECK(n == 3);
    CHECK(deltas_value(d, n, "coins") == -7 && deltas_value(d, n, "gems") == -2 &&
          deltas_value(d, n, "xp") == 5);
    cJSON_Delete(j);
    /* a currency that nets to 0 is left out: the ledger shows no empty change */
    j = cJSON_Parse("{\"id\":\"swap\",\"name\":\"S\",\"price\":{\"coins\":4},"
                    "\"grants\":{\"currencies\":{\"coins\":4,\"gold\":1}}}");
    CHECK(tv_shop_item_parse(j, &it, &err) == TV_OK);
    n = tv_shop_item_deltas(&it, d);
    CHECK(n == 1 && strcmp(d[0].currency, "gold") == 0 && d[0].delta == 1);
    cJSON_Delete(j);
    /* a free item that grants only items changes no currency */
    j = cJSON_Parse("{\"id\":\"gift\",\"name\":\"G\",\"grants\":{\"items\":{\"box\":1}}}");
    CHECK(tv_shop_item_parse(j, &it, &err) == TV_OK);
    CHECK(tv_shop_item_deltas(&it, d) == 0);
    cJSON_Delete(j);
    /* the most a definition allows: 8 paid and 8 other granted currencies */
    char def[1024] = "{\"id\":\"max\",\"name\":\"M\",\"price\":{";
    for (int i = 0; i < TV_SHOP_CURRENCIES_MAX; i++)
        snprintf(def + strlen(def), sizeof def - strlen(def), "%s\"p%d\":%d", i ? "," : "", i,
                 i + 1);
    strcat(def, "},\"grants\":{\"currencies\":{");
    for (int i = 0; i < TV_SHOP_CURRENCIES_MAX; i++)
        snprintf(def + strlen(def), sizeof def - strlen(def), "%s\"g%d\":%d", i ? "," : "", i,
                 i + 1);
    strcat(def, "}}}");
    j = cJSON_Parse(def);
    CHECK(tv_shop_item_parse(j, &it, &err) == TV_OK);
    n = tv_shop_item_deltas(&it, d);
    CHECK(n == 2 * TV_SHOP_CURRENCIES_MAX);
    CHECK(deltas_value(d, n, "p7") == -8 && deltas_value(d, n, "g7") == 8);
    cJSON_Delete(j);
}

/* --- the admin operations' pure parts ----------------------------------------------------- */

/* Parses text as a grant (revoke = 0) or revoke body; the document stays in *doc. */
static int change(const char *text, int revoke, tv_econ_change_t *c, cJSON **doc)
{
    tv_wallet_err_t err;
    *doc = cJSON_Parse(text);
    return tv_econ_change_parse(*doc, revoke, c, &err);
}

static void test_change_parse(void)
{
    tv_econ_change_t c;
    cJSON *doc;
    CHECK(change("{\"currencies\":{\"coins\":5},\"items\":{\"sword\":2},\"reason\":\"gift\"}", 0,
                 &c, &doc) == TV_OK && c.ncurrencies == 1 && c.currencies[0].delta == 5 &&
          c.nitems == 1 && c.items[0].count == 2 && strcmp(c.reason, "gift") == 0 && !c.revoke);
    cJSON_Delete(doc);
    CHECK_AS(change("{\"currencies\":{\"coins\":5},\"reason\":\"r\"}", 1, &c, &doc) == TV_OK &&
             c.currencies[0].delta == -5 && c.revoke, "a revoke's currencies are negative");
    cJSON_Delete(doc);
    CHECK_AS(change("{\"items\":{\"key\":1},\"reason\":\"r\"}", 0, &c, &doc) == TV_OK &&
             c.ncurrencies == 0, "items alone");
    cJSON_Delete(doc);
    const char *bad[] = {
        "[]", "{}", "{\"items\":{\"key\":1}}", "{\"items\":{\"key\":1},\"reason\":\"\"}",
        "{\"reason\":\"nothing\"}", "{\"currencies\":{\"c\":0},\"reason\":\"r\"}",
        "{\"currencies\":{\"c\":-1},\"reason\":\"r\"}", "{\"items\":{\"k\":0},\"reason\":\"r\"}",
        "{\"items\":{\"k\":1000001},\"reason\":\"r\"}", "{\"items\":{\"k\":1.5},\"reason\":\"r\"}",
        "{\"items\":{\"k\":\"1\"},\"reason\":\"r\"}", "{\"items\":{\"k k\":1},\"reason\":\"r\"}",
        "{\"items\":{\"k\":1,\"k\":2},\"reason\":\"r\"}", "{\"items\":[1],\"reason\":\"r\"}",
        "{\"items\":{\"k\":1},\"reason\":\"r\",\"extra\":1}", "{\"items\":{\"k\":1},\"reason\":7}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_AS(change(bad[i], 0, &c, &doc) == TV_EINVAL, bad[i]);
        cJSON_Delete(doc);
    }
    /* the reason's and the item list's limits, at and past them */
    char body[2048], reason[TV_ECON_REASON_MAX + 2];
    memset(reason, 'r', sizeof reason - 1);
    reason[TV_ECON_REASON_MAX] = 0;
    snprintf(body, sizeof body, "{\"items\":{\"k\":1},\"reason\":\"%s\"}", reason);
    CHECK_AS(change(body, 0, &c, &doc) == TV_OK, "a reason of 256 bytes");
    cJSON_Delete(doc);
    reason[TV_ECON_REASON_MAX] = 'r';
    reason[TV_ECON_REASON_MAX + 1] = 0;
    snprintf(body, sizeof body, "{\"items\":{\"k\":1},\"reason\":\"%s\"}", reason);
    CHECK_AS(change(body, 0, &c, &doc) == TV_EINVAL, "a reason of 257 bytes");
    cJSON_Delete(doc);
    for (int n = TV_ECON_ITEMS_MAX; n <= TV_ECON_ITEMS_MAX + 1; n++) {
        size_t len = (size_t)snprintf(body, sizeof body, "{\"reason\":\"r\",\"items\":{");
        for (int k = 0; k < n; k++)
            len += (size_t)snprintf(body + len, sizeof body - len, "%s\"i%d\":1", k ? "," : "", k);
        snprintf(body + len, sizeof body - len, "}}");
        CHECK_AS(change(body, 0, &c, &doc) == (n == TV_ECON_ITEMS_MAX ? TV_OK : TV_EINVAL),
                 n == TV_ECON_ITEMS_MAX ? "16 items" : "17 items");
        cJSON_Delete(doc);
    }
}

static int64_t delta_of(const tv_econ_refund_plan_t *p, const char *cur)
{
    for (size_t i = 0; i < p->ndeltas; i++)
        if (strcmp(p->deltas[i].currency, cur) == 0)
            return p->deltas[i].delta;
    return 0;
}

/* The plan's code for two stored texts (the plan's names die with them: counts only). */
static int plan(const char *price, const char *grants, tv_econ_refund_plan_t *p)
{
    tv_wallet_err_t err;
    cJSON *pr = cJSON_Parse(price), *gr = cJSON_Parse(grants);
    int rc = tv_econ_refund_plan(pr, gr, p, &err);
    cJSON_Delete(pr);
    cJSON_Delete(gr);
    return rc;
}

static void test_refund_plan(void)
{
    tv_econ_refund_plan_t p;
    tv_wallet_err_t err;
    cJSON *pr = cJSON_Parse("{\"coins\":30,\"gems\":2}");
    cJSON *gr = cJSON_Parse("{\"items\":{\"sword\":1,\"arrow\":20},"
                            "\"currencies\":{\"xp\":5,\"gems\":2}}");
    CHECK(tv_econ_refund_plan(pr, gr, &p, &err) == TV_OK);
    CHECK_AS(p.ndeltas == 2 && delta_of(&p, "coins") == 30 && delta_of(&p, "xp") == -5,
             "the price back, the granted currencies taken, gems netted to nothing");
    CHECK(p.nitems == 2 && strcmp(p.items[1].item_id, "arrow") == 0 && p.items[1].count == 20);
    cJSON_Delete(pr);
    cJSON_Delete(gr);
    CHECK_AS(plan("{}", "{\"items\":{\"x\":1}}", &p) == TV_OK && p.ndeltas == 0 && p.nitems == 1,
             "a free item: items only");
    CHECK_AS(plan("{\"coins\":-3}", "{}", &p) == TV_EINVAL, "a negative stored price");
    CHECK_AS(plan("{}", "[1]", &p) == TV_EINVAL, "grants that are not an object");
    CHECK_AS(plan("{}", "{\"items\":{\"x\":0}}", &p) == TV_EINVAL, "a granted count of 0");
}

static void test_meta_and_wallet(void)
{
    tv_shop_grant_t items[] = {{"sword", -1}, {"gem", 2}}, miss[] = {{"gem", 3}};
    tv_econ_meta_t m = {"refund", "oops \"quoted\"", "admin", "r-1", "pack", items, 2, miss, 1, 1};
    char *s = tv_econ_meta_text(&m);
    CHECK(s && strcmp(s, "{\"op\":\"refund\",\"reason\":\"oops \\\"quoted\\\"\",\"admin\":\"admin\","
                         "\"receipt\":\"r-1\",\"item\":\"pack\",\"items\":{\"sword\":-1,\"gem\":2},"
                         "\"not_taken\":{\"gem\":3},\"force\":true}") == 0);
    cJSON_free(s);
    tv_econ_meta_t g = {.op = "grant", .reason = "r", .admin = "ops"};
    s = tv_econ_meta_text(&g);
    CHECK_AS(s && strcmp(s, "{\"op\":\"grant\",\"reason\":\"r\",\"admin\":\"ops\"}") == 0,
             "empty members left out");
    cJSON_free(s);
    cJSON *w = tv_econ_wallet_json("{\"coins\":0,\"gems\":9007199254740991,\"debt\":-5,"
                                   "\"big\":1000000000000000}");
    s = w ? cJSON_PrintUnformatted(w) : NULL;
    CHECK_AS(s && strcmp(s, "{\"gems\":9007199254740991,\"debt\":-5,\"big\":1000000000000000}") == 0,
             "exact integers, zero balances left out");
    cJSON_free(s);
    cJSON_Delete(w);
    w = tv_econ_wallet_json("");
    CHECK(w && !w->child);
    cJSON_Delete(w);
    CHECK(tv_econ_wallet_json("[1]") == NULL && tv_econ_wallet_json("{\"c\":1.5}") == NULL);
}

/* --- on a database ------------------------------------------------------------------------ */

static const char *A = "11111111-1111-4111-8111-111111111111";
static const char *B = "22222222-2222-4222-8222-222222222222";

static void add_user(tv_db_t *db, const char *id, const char *name)
{
    tv_db_conn_t *c;
    CHECK(tv_db_acquire(db, &c) == TV_OK);
    const char *args[] = {id, name};
    CHECK(tv_db_execp(c, "INSERT INTO users (id, username, create_time, update_time) "
                      "VALUES ($1, $2, 1, 1)", 2, args, NULL) == TV_OK);
    tv_db_release(db, c);
}

static char *wallet_of(tv_db_t *db, const char *id)
{
    tv_db_conn_t *c;
    tv_db_stmt_t *st;
    char *w = NULL;
    if (tv_db_acquire(db, &c))
        return NULL;
    if (tv_db_prepare(c, "SELECT wallet FROM users WHERE id = $1", &st) == TV_OK) {
        if (tv_db_bind_text(st, 1, id) == TV_OK && tv_db_step(st) == TV_DB_ROW)
            w = strdup(tv_db_column_text(st, 0));
        tv_db_reset(st);
    }
    tv_db_release(db, c);
    return w;
}

static int wallet_is(tv_db_t *db, const char *id, const char *want)
{
    char *w = wallet_of(db, id);
    int ok = w && strcmp(w, want) == 0;
    if (!ok)
        printf("  wallet of %s: %s, want %s\n", id, w ? w : "(none)", want);
    free(w);
    return ok;
}

static int ledger_count(tv_db_t *db, const char *id)
{
    cJSON *out = NULL;
    tv_wallet_err_t err;
    if (tv_wallet_ledger_list(db, id, 100, NULL, &out, &err))
        return -1;
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(out, "items"));
    cJSON_Delete(out);
    return n;
}

static void test_update(tv_db_t *db)
{
    tv_wallet_delta_t ca[] = {{"coins", 100}}, cb[] = {{"coins", 50}, {"gems", 3}};
    tv_wallet_change_t ch[] = {{B, cb, 2, "{\"why\":\"gift\"}"}, {A, ca, 1, NULL}};
    cJSON *res = NULL;
    tv_wallet_err_t err;
    CHECK(tv_wallet_update(db, ch, 2, 0, &res, &err) == TV_OK && res);
    /* results come in input order, whatever order the locks were taken in */
    cJSON *r0 = cJSON_GetArrayItem(res, 0), *r1 = cJSON_GetArrayItem(res, 1);
    CHECK(cJSON_GetArraySize(res) == 2 &&
          strcmp(cJSON_GetObjectItem(r0, "user_id")->valuestring, B) == 0 &&
          strcmp(cJSON_GetObjectItem(r1, "user_id")->valuestring, A) == 0);
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(r0, "updated"), "gems")->valueint == 3);
    cJSON_Delete(res);
    CHECK(wallet_is(db, A, "{\"coins\":100}"));
    CHECK(wallet_is(db, B, "{\"coins\":50,\"gems\":3}"));

    /* A can pay 60 but B cannot: nothing changes for either, no ledger entry is written */
    tv_wallet_delta_t pay[] = {{"coins", -60}};
    tv_wallet_change_t both[] = {{A, pay, 1, NULL}, {B, pay, 1, NULL}};
    CHECK(tv_wallet_update(db, both, 2, 0, &res, &err) == TV_EINVAL &&
          err.why == TV_WALLET_EFUNDS && !res);
    CHECK(wallet_is(db, A, "{\"coins\":100}"));
    CHECK(ledger_count(db, A) == 1 && ledger_count(db, B) == 1);

    /* an unknown user refuses the whole update too */
    tv_wallet_change_t ghost[] = {{A, pay, 1, NULL},
                                  {"33333333-3333-4333-8333-333333333333", ca, 1, NULL}};
    CHECK(tv_wallet_update(db, ghost, 2, 0, &res, &err) == TV_ENOTFOUND &&
          err.why == TV_WALLET_ENOUSER);
    CHECK(wallet_is(db, A, "{\"coins\":100}"));

    /* the same user twice: applied in order within the transaction */
    tv_wallet_delta_t m70[] = {{"coins", -70}};
    tv_wallet_change_t twice[] = {{A, pay, 1, NULL}, {A, m70, 1, NULL}};
    CHECK(tv_wallet_update(db, twice, 2, 0, &res, &err) == TV_EINVAL); /* 100-60-70 < 0 */
    twice[1].deltas = ca;
    CHECK(tv_wallet_update(db, twice, 2, 0, &res, &err) == TV_OK);
    cJSON_Delete(res);
    CHECK(wallet_is(db, A, "{\"coins\":140}"));

    /* bad input: user id, metadata, currency */
    tv_wallet_change_t bad[] = {{"not-a-uuid", ca, 1, NULL}};
    CHECK(tv_wallet_update(db, bad, 1, 0, &res, &err) == TV_EINVAL);
    bad[0] = (tv_wallet_change_t){A, ca, 1, "[1]"};
    CHECK(tv_wallet_update(db, bad, 1, 0, &res, &err) == TV_EINVAL);
    tv_wallet_delta_t badcur[] = {{"a b", 1}};
    bad[0] = (tv_wallet_change_t){A, badcur, 1, NULL};
    CHECK(tv_wallet_update(db, bad, 1, 0, &res, &err) == TV_EINVAL);
    CHECK(tv_wallet_update(db, bad, 0, 0, &res, &err) == TV_EINVAL);
    CHECK(wallet_is(db, A, "{\"coins\":140}"));
}

static void test_ledger(tv_db_t *db)
{
    /* A has 3 entries now (100, -60, +100); page through them two at a time */
    cJSON *p1 = NULL, *p2 = NULL;
    tv_wallet_err_t err;
    CHECK(tv_wallet_ledger_list(db, A, 2, NULL, &p1, &err) == TV_OK);
    cJSON *cur = cJSON_GetObjectItem(p1, "cursor");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(p1, "items")) == 2 && cJSON_IsString(cur));
    CHECK(cur && tv_wallet_ledger_list(db, A, 2, cur->valuestring, &p2, &err) == TV_OK);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(p2, "items")) == 1 &&
          !cJSON_GetObjectItem(p2, "cursor"));
    /* balance == sum of the ledger */
    int64_t sum = 0;
    cJSON *it;
    cJSON *pages[] = {p1, p2};
    for (int i = 0; i < 2; i++)
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(pages[i], "items"))
            sum += (int64_t)cJSON_GetObjectItem(cJSON_GetObjectItem(it, "changeset"),
                                                "coins")->valuedouble;
    CHECK(sum == 140);
    cJSON_Delete(p1);
    cJSON_Delete(p2);
    /* exactly limit entries: no cursor */
    CHECK(tv_wallet_ledger_list(db, A, 3, NULL, &p1, &err) == TV_OK &&
          !cJSON_GetObjectItem(p1, "cursor"));
    cJSON_Delete(p1);
    CHECK(tv_wallet_ledger_list(db, B, 10, NULL, &p1, &err) == TV_OK);
    it = cJSON_GetArrayItem(cJSON_GetObjectItem(p1, "items"), 0);
    CHECK(it && strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(it, "metadata"), "why")
                           ->valuestring, "gift") == 0);
    cJSON_Delete(p1);
    CHECK(tv_wallet_ledger_list(db, A, 0, NULL, &p1, &err) == TV_EINVAL);
    CHECK(tv_wallet_ledger_list(db, A, 101, NULL, &p1, &err) == TV_EINVAL);
    CHECK(tv_wallet_ledger_list(db, A, 5, "garbage", &p1, &err) == TV_EINVAL);
    CHECK(tv_wallet_ledger_list(db, A, 5, "12:not-a-uuid", &p1, &err) == TV_EINVAL);
    CHECK(tv_wallet_ledger_list(db, "x", 5, NULL, &p1, &err) == TV_EINVAL);
}

/* The properties of A's item, or NULL (malloc'd). */
static char *props_of(tv_db_t *db, const char *item)
{
    cJSON *inv = NULL, *it;
    char *out = NULL;
    if (tv_inv_list(db, A, &inv))
        return NULL;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(inv, "items"))
        if (strcmp(cJSON_GetObjectItem(it, "item_id")->valuestring, item) == 0) {
            cJSON *p = cJSON_GetObjectItem(it, "properties");
            out = p ? cJSON_PrintUnformatted(p) : strdup("{}");
        }
    cJSON_Delete(inv);
    return out;
}

static int props_are(tv_db_t *db, const char *item, const char *want)
{
    char *p = props_of(db, item);
    int ok = p && strcmp(p, want) == 0;
    if (!ok)
        printf("  properties of %s: %s, want %s\n", item, p ? p : "(none)", want);
    free(p);
    return ok;
}

static void test_admin(tv_db_t *db)
{
    /* A holds 140 coins; a revoke of more refuses, with no ledger entry and no item taken */
    tv_econ_change_t c = {.currencies = {{"coins", 10}}, .ncurrencies = 1,
                          .items = {{"torch", 2}}, .nitems = 1, .reason = "unit"};
    cJSON *out = NULL;
    tv_wallet_err_t err;
    int before = ledger_count(db, A);
    CHECK(tv_econ_apply(db, A, &c, "ops", &out, &err) == TV_OK && out);
    char *w = out ? cJSON_PrintUnformatted(cJSON_GetObjectItem(out, "wallet")) : NULL;
    CHECK_AS(w && strcmp(w, "{\"coins\":150}") == 0, "the answer shows the wallet after it");
    cJSON_free(w);
    cJSON_Delete(out);
    CHECK(wallet_is(db, A, "{\"coins\":150}") && ledger_count(db, A) == before + 1);
    c.revoke = 1;
    c.currencies[0].delta = -151;
    CHECK(tv_econ_apply(db, A, &c, "ops", &out, &err) == TV_EINVAL &&
          err.why == TV_WALLET_EFUNDS && !out);
    c.currencies[0].delta = -1;
    c.items[0].count = 3;
    CHECK(tv_econ_apply(db, A, &c, "ops", &out, &err) == TV_EINVAL &&
          err.why == TV_INV_ENOTENOUGH && !out);
    CHECK_AS(wallet_is(db, A, "{\"coins\":150}") && ledger_count(db, A) == before + 1,
             "refused revokes change nothing");
    CHECK(tv_econ_apply(db, "33333333-3333-4333-8333-333333333333", &c, "ops", &out, &err) ==
          TV_ENOTFOUND);

    /* module entries: properties set, kept by NULL, replaced; a revoke never below zero */
    CHECK(tv_inv_grant(db, A, "torch", 1, "{ \"lit\": true }", &err) == TV_OK);
    CHECK_AS(props_are(db, "torch", "{\"lit\":true}"), "properties stored compactly");
    CHECK(tv_inv_grant(db, A, "torch", 1, NULL, &err) == TV_OK && props_are(db, "torch", "{\"lit\":true}"));
    CHECK(tv_inv_grant(db, A, "torch", 1, "{}", &err) == TV_OK && props_are(db, "torch", "{}"));
    CHECK(tv_inv_grant(db, A, "torch", 1, "[1]", &err) == TV_EINVAL);
    char big[TV_INV_PROPERTIES_MAX + 16];
    snprintf(big, sizeof big, "{\"k\":\"%0*d\"}", TV_INV_PROPERTIES_MAX - 7, 0);
    CHECK_AS(strlen(big) == TV_INV_PROPERTIES_MAX + 1 &&
             tv_inv_grant(db, A, "torch", 1, big, &err) == TV_EINVAL, "4097 bytes of properties");
    CHECK(tv_inv_grant(db, "33333333-3333-4333-8333-333333333333", "torch", 1, NULL, &err) ==
          TV_ENOTFOUND);
    int64_t left = 0;
    CHECK(tv_inv_revoke(db, A, "torch", 6, &err) == TV_EINVAL && err.why == TV_INV_ENOTENOUGH);
    CHECK(tv_inv_consume(db, A, "torch", 4, &left, &err) == TV_OK && left == 1);
    CHECK(tv_inv_revoke(db, A, "torch", 1, &err) == TV_OK && props_of(db, "torch") == NULL);
}

static void test_db(const char *url)
{
    char err[256];
    tv_db_t *db = NULL;
    CHECK(tv_db_open(url, 2, &db, err, sizeof err) == TV_OK);
    CHECK(db && tv_db_migrate_up(db, err, sizeof err) == TV_OK);
    if (!db)
        return;
    add_user(db, A, "alice");
    add_user(db, B, "bob");
    test_update(db);
    test_ledger(db);
    test_admin(db);
    tv_db_close(db);
}

int main(void)
{
    tv_log_set_level(TV_LOG_ERROR);
    test_currency();
    test_changeset();
    test_apply();
    test_item_parse();
    test_can_buy();
    test_item_deltas();
    test_change_parse();
    test_refund_plan();
    test_meta_and_wallet();
    char dir[] = "/tmp/tavern-econtest-XXXXXX", url[128], path[160];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(url, sizeof url, "sqlite://%s/t.db", dir);
    test_db(url);
    for (const char *f = "t.db\0t.db-wal\0t.db-shm\0"; *f; f += strlen(f) + 1) {
        snprintf(path, sizeof path, "%s/%s", dir, f);
        unlink(path);
    }
    rmdir(dir);
    return check_summary();
}
