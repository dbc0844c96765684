/* The economy room: wallets (balances in users.wallet, one wallet_ledger row per change).
 * The pure parts (currency names, changesets, applying one to a wallet) are separate from
 * the database parts so unit tests reach them without a database. */
#ifndef TV_ECONOMY_ECONOMY_H
#define TV_ECONOMY_ECONOMY_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct tv_db;
struct tv_db_conn;

/* Explicit limits. Amounts stay within +-(2^53 - 1) so every JSON reader (JavaScript's
 * included) reads a balance exactly; that bound also keeps every sum inside int64. */
#define TV_WALLET_CURRENCY_MAX 64            /* bytes of a currency name */
#define TV_WALLET_CHANGES_MAX 32             /* currencies in one changeset */
#define TV_WALLET_CURRENCIES_MAX 64          /* currencies in one wallet */
#define TV_WALLET_AMOUNT_MAX 9007199254740991LL
#define TV_WALLET_USERS_MAX 100              /* users in one wallet_update */
#define TV_WALLET_METADATA_MAX 4096          /* bytes of a ledger entry's metadata */
#define TV_WALLET_LEDGER_LIST_MAX 100        /* entries in one ledger page */

/* Why a wallet call failed, besides its TV_E* code. */
enum {
    TV_WALLET_EBAD = 1,   /* malformed input (TV_EINVAL) */
    TV_WALLET_EFUNDS,     /* a balance would go below zero (TV_EINVAL) */
    TV_WALLET_ERANGE,     /* a balance would leave +-TV_WALLET_AMOUNT_MAX (TV_EINVAL) */
    TV_WALLET_ELIMIT,     /* too many currencies in the wallet (TV_EINVAL) */
    TV_WALLET_ENOUSER,    /* no such user (TV_ENOTFOUND) */
};

typedef struct tv_wallet_err {
    int why;        /* a TV_WALLET_E* reason, 0 when the failure is not the input's */
    char msg[192];  /* for the caller's client or log */
} tv_wallet_err_t;

/* One currency's change; currency is borrowed. */
typedef struct tv_wallet_delta {
    const char *currency;
    int64_t delta;
} tv_wallet_delta_t;

/* One user's change; every pointer borrowed. metadata is a JSON object text or NULL ("{}"). */
typedef struct tv_wallet_change {
    const char *user_id;
    const tv_wallet_delta_t *deltas;
    size_t n;
    const char *metadata;
} tv_wallet_change_t;

/* 1 when name is a valid currency: 1-TV_WALLET_CURRENCY_MAX bytes of [A-Za-z0-9_.:-]. */
int tv_wallet_currency_valid(const char *name);

/* Reads a changeset object {currency: integer delta} into out[cap] (currency names borrowed
 * from obj). Refuses (TV_EINVAL, err filled) a non-object, a bad name, a currency given twice,
 * a delta that is 0 or not an integer within +-TV_WALLET_AMOUNT_MAX, more than cap entries. An
 * empty changeset is valid (a ledger note). */
int tv_wallet_changeset_parse(const cJSON *obj, tv_wallet_delta_t *out, size_t cap, size_t *n,
                              tv_wallet_err_t *err);

/* Applies n deltas to the wallet text (a JSON object of integers; NULL or "" = {}). On TV_OK
 * *out is the new wallet text (malloc'd, caller frees). A balance that a debit takes below
 * zero is refused unless allow_negative (a credit to a balance that is already negative is
 * fine); so is one that leaves +-TV_WALLET_AMOUNT_MAX, or a wallet of more than
 * TV_WALLET_CURRENCIES_MAX currencies. TV_EINVAL (err says why), TV_ENOMEM. */
int tv_wallet_apply(const char *wallet, const tv_wallet_delta_t *d, size_t n, int allow_negative,
                    char **out, tv_wallet_err_t *err);

/* Applies every change (one per user; a user may appear more than once, applied in order) in
 * one transaction: each user's new balance and one ledger entry per change, or nothing at all.
 * Users are locked in id order, so concurrent multi-user updates cannot deadlock. On TV_OK
 * *results (owned by the caller) is a JSON array, in input order, of {user_id, ledger_id,
 * previous: {..}, updated: {..}}. Errors: TV_EINVAL (bad input, insufficient funds, range:
 * err->why), TV_ENOTFOUND (an unknown user), TV_EUNAVAIL, TV_EINTERNAL, TV_ENOMEM. */
int tv_wallet_update(struct tv_db *db, const tv_wallet_change_t *ch, size_t n,
                     int allow_negative, cJSON **results, tv_wallet_err_t *err);

/* One change inside the caller's transaction on conn (c->user_id a lower-case UUID): the new
 * balance and one ledger entry, whose id is written to ledger_id. On TV_OK *prev and *next
 * (either may be NULL: not wanted) are the wallet texts before and after (malloc'd, caller
 * frees). TV_ERETRY when another writer changed the wallet meanwhile (tv_db_tx retries);
 * TV_EINVAL (err->why), TV_ENOTFOUND (TV_WALLET_ENOUSER), database errors. */
int tv_wallet_change_tx(struct tv_db_conn *conn, const tv_wallet_change_t *c, int allow_negative,
                        char ledger_id[37], char **prev, char **next, tv_wallet_err_t *err);

/* One page of user_id's ledger, newest first: at most limit (1-TV_WALLET_LEDGER_LIST_MAX)
 * entries after cursor (NULL or "" = the newest). *out (owned by the caller) is {"items":
 * [{id, user_id, changeset, metadata, create_time}], "cursor"}, the cursor left out on the
 * last page, empty maps left out (protojson), "items" left out when there are none.
 * TV_EINVAL for a bad user id, limit or cursor. */
int tv_wallet_ledger_list(struct tv_db *db, const char *user_id, int limit, const char *cursor,
                          cJSON **out, tv_wallet_err_t *err);

/* An optional integer member of j within [lo, hi] (absent or null = dflt), by its snake_case
 * name key or its lowerCamel alias (camel may be NULL), as a JSON number or protojson's
 * int64 string. TV_EINVAL (err: TV_WALLET_EBAD, naming key and the range). */
int tv_econ_json_int(const cJSON *j, const char *key, const char *camel, int64_t lo, int64_t hi,
                     int64_t dflt, int64_t *out, tv_wallet_err_t *err);

/* --- the shop catalog (catalog.c: definitions and the checks a purchase passes) ---------- */

#define TV_SHOP_ID_MAX 64            /* bytes of an item id: the currency-name alphabet */
#define TV_SHOP_NAME_MAX 128
#define TV_SHOP_DESCRIPTION_MAX 1024
#define TV_SHOP_CATEGORY_MAX 64
#define TV_SHOP_CURRENCIES_MAX 8     /* currencies in a price, and in a grant */
#define TV_SHOP_GRANTS_MAX 16        /* distinct items in a grant */
#define TV_SHOP_COUNT_MAX 1000000    /* of one item in a grant, and a per-user limit */
#define TV_SHOP_METADATA_MAX 4096

/* Further reasons (tv_wallet_err_t.why) for a refused definition or purchase. */
enum {
    TV_SHOP_EOFFSALE = 16, /* disabled, or outside its availability window */
    TV_SHOP_ELIMIT,        /* the buyer reached the per-user limit */
    TV_SHOP_ESOLDOUT,      /* no stock left */
};

typedef struct tv_shop_grant {
    const char *item_id;   /* borrowed */
    int64_t count;         /* 1-TV_SHOP_COUNT_MAX */
} tv_shop_grant_t;

/* One catalog item; strings and metadata borrowed from the document it was parsed from. */
typedef struct tv_shop_item {
    const char *id, *name, *description, *category;
    tv_wallet_delta_t price[TV_SHOP_CURRENCIES_MAX];        /* amounts > 0 */
    size_t nprice;
    tv_shop_grant_t grant_items[TV_SHOP_GRANTS_MAX];
    size_t ngrant_items;
    tv_wallet_delta_t grant_currencies[TV_SHOP_CURRENCIES_MAX]; /* amounts > 0 */
    size_t ngrant_currencies;
    int64_t stock;        /* -1 = unlimited, else what is left (>= 0) */
    int64_t user_limit;   /* purchases per user; 0 = no limit */
    int64_t start_time;   /* unix seconds the item goes on sale; 0 = always */
    int64_t end_time;     /* unix seconds it leaves sale (exclusive); 0 = never */
    const cJSON *metadata;/* a JSON object, NULL = {} */
    int disabled;
} tv_shop_item_t;

/* Reads a definition (the console's body: {"id", "name", "description", "category", "price":
 * {currency: amount}, "grants": {"items": {item_id: count}, "currencies": {currency: amount}},
 * "stock", "user_limit", "start_time", "end_time", "metadata", "disabled"}) into *it, strings
 * borrowed from j. Every limit above is checked; a price or grant amount must be positive, an
 * item must grant something, end_time must follow start_time. TV_EINVAL with err->msg. */
int tv_shop_item_parse(const cJSON *j, tv_shop_item_t *it, tv_wallet_err_t *err);

/* The item as the API shows it (owned by the caller; NULL when out of memory). */
cJSON *tv_shop_item_json(const tv_shop_item_t *it);

/* Whether a buyer who already bought `bought` of it may buy one more at unix time now (stock
 * is checked by the purchase's conditional UPDATE, not here). TV_OK, or TV_EINVAL with
 * err->why TV_SHOP_EOFFSALE or TV_SHOP_ELIMIT. */
int tv_shop_can_buy(const tv_shop_item_t *it, int64_t now, int64_t bought, tv_wallet_err_t *err);

/* What a purchase of it does to the buyer's wallet: minus the price plus the granted
 * currencies, one delta per currency (a currency both paid and granted is netted; one that
 * nets to 0 is left out). Writes at most 2 * TV_SHOP_CURRENCIES_MAX deltas to d (currency
 * names borrowed from it) and returns how many. */
size_t tv_shop_item_deltas(const tv_shop_item_t *it, tv_wallet_delta_t *d);

/* --- the catalog store and its cache (shop.c) ------------------------------------------- */

#define TV_SHOP_ITEMS_MAX 500 /* items in the catalog, disabled ones included */

typedef struct tv_shop tv_shop_t;

/* Opens the catalog on db (borrowed; it must outlive the shop) and loads the cache. TV_OK and
 * *out (free with tv_shop_free), or a TV_E* database error. */
int tv_shop_new(struct tv_db *db, tv_shop_t **out);
void tv_shop_free(tv_shop_t *shop);

/* Reloads the cache from the database. Every change made through this API calls it; it is
 * the one entry a change made elsewhere (another node: a future PostgreSQL LISTEN/NOTIFY)
 * would call too. Thread-safe; on failure the old cache stays. */
int tv_shop_refresh(tv_shop_t *shop);

/* Creates or replaces the item defined by def (see tv_shop_item_parse), stock included, and
 * refreshes the cache. On TV_OK *item (owned by the caller, may be NULL to ignore) is the
 * item as stored. TV_EINVAL (err), TV_EBUSY when the catalog is full, database errors. */
int tv_shop_put(tv_shop_t *shop, const cJSON *def, cJSON **item, tv_wallet_err_t *err);

/* Takes item id off sale (kept for receipts and a later put). TV_OK, TV_ENOTFOUND, database
 * errors. */
int tv_shop_disable(tv_shop_t *shop, const char *id);

/* The cached catalog, sorted by id, as {"items": [...]} ({} when empty); disabled items only
 * when with_disabled. Owned by the caller; NULL when out of memory. */
cJSON *tv_shop_list(tv_shop_t *shop, int with_disabled);

/* A copy of cached item id as the API shows it (owned by the caller), NULL when there is no
 * such item (or out of memory). */
cJSON *tv_shop_get(tv_shop_t *shop, const char *id);

/* The database the shop was opened on (borrowed). */
struct tv_db *tv_shop_db(tv_shop_t *shop);

/* --- purchases (purchase.c) and inventories (inventory.c) ------------------------------- */

#define TV_SHOP_KEY_MAX 64                 /* bytes of an idempotency key */
#define TV_INV_COUNT_MAX 1000000000000     /* of one item in one inventory (no suffix: SQL text) */
#define TV_INV_CONSUME_MAX 1000000         /* items consumed in one call */
#define TV_INV_LIST_MAX 10000              /* distinct items listed */

/* Further reasons (tv_wallet_err_t.why). */
enum {
    TV_SHOP_ENOITEM = 32, /* no such item (TV_ENOTFOUND) */
    TV_INV_EFULL,         /* a count would pass TV_INV_COUNT_MAX (TV_EINVAL) */
    TV_INV_ENOTENOUGH,    /* fewer items than consumed (TV_EINVAL) */
};

/* The columns of a purchase_receipt row, in the order tv_shop_receipt_row reads them. */
#define TV_SHOP_RECEIPT_COLS "id, user_id, item_id, idempotency_key, price, grants, " \
                             "create_time, refund_time, refund_reason, refund_ledger_id"

/* A receipt from a row of TV_SHOP_RECEIPT_COLS, as purchases and the console show it: {id,
 * user_id, item_id, idempotency_key, price, grants, create_time} and, once refunded,
 * refund_time, refund_reason and refund_ledger_id; empty maps left out (protojson). Owned by
 * the caller; NULL when out of memory. */
struct tv_db_stmt;
cJSON *tv_shop_receipt_row(struct tv_db_stmt *st);

/* user_id (a UUID) buys one item_id with idempotency key key (1-TV_SHOP_KEY_MAX bytes of
 * UTF-8), all in one transaction: the stock, the price debited and granted currencies
 * credited (one ledger entry, metadata {"receipt", "item"}), granted items added, a
 * receipt. A key already used by this user returns its receipt again and changes nothing.
 * On TV_OK *out (owned by the caller) is {"receipt": <tv_shop_receipt_row's form>,
 * "wallet": "<JSON text>"}, plus "replayed": true for a key already used (so
 * an after hook can tell a retry from a purchase). TV_EINVAL (err->why: TV_WALLET_EBAD,
 * TV_SHOP_EOFFSALE, TV_SHOP_ELIMIT, TV_SHOP_ESOLDOUT, TV_WALLET_EFUNDS, TV_WALLET_ERANGE,
 * TV_WALLET_ELIMIT, TV_INV_EFULL), TV_ENOTFOUND (no such item or user), database errors. */
int tv_shop_purchase(tv_shop_t *shop, const char *user_id, const char *item_id,
                     const char *key, cJSON **out, tv_wallet_err_t *err);

/* Inside the caller's transaction: adds n (1-TV_SHOP_COUNT_MAX) of item_id to user_id's
 * inventory. TV_EINVAL (TV_INV_EFULL) when the count would pass TV_INV_COUNT_MAX. */
int tv_inv_grant_tx(struct tv_db_conn *conn, const char *user_id, const char *item_id,
                    int64_t n, tv_wallet_err_t *err);

/* user_id's inventory: *out (owned by the caller) is {"items": [{item_id, count, properties,
 * update_time}]} sorted by item id ("items" left out when empty). Database errors. */
int tv_inv_list(struct tv_db *db, const char *user_id, cJSON **out);

/* Takes n (1-TV_INV_CONSUME_MAX) of item_id from user_id's inventory in one statement; the
 * row goes when its count reaches 0. On TV_OK *left is what remains. TV_EINVAL (err->why:
 * TV_WALLET_EBAD, TV_INV_ENOTENOUGH), database errors. */
int tv_inv_consume(struct tv_db *db, const char *user_id, const char *item_id, int64_t n,
                   int64_t *left, tv_wallet_err_t *err);

/* --- client requests as JSON (requests.c): one form for REST and the built-in RPCs ------- */

/* The gRPC code for a refused economy call: 9 (FAILED_PRECONDITION) for insufficient funds,
 * as Nakama's wallet answers it, else rc's own (tv_error_grpc). */
int tv_econ_grpc(int rc, const tv_wallet_err_t *err);

/* The items on sale at unix time now (enabled, inside their window), as {"items": [...]}
 * ("items" left out when none). TV_ENOMEM. */
int tv_shop_on_sale(tv_shop_t *shop, int64_t now, cJSON **out);

/* A purchase request {item_id, idempotency_key} (snake_case or lowerCamel) by user uid:
 * tv_shop_purchase's answer and errors; TV_EINVAL (TV_WALLET_EBAD) for a request of the
 * wrong shape. */
int tv_shop_purchase_req(tv_shop_t *shop, const char *uid, const cJSON *req, cJSON **out,
                         tv_wallet_err_t *err);

/* A consume request {item_id, count 1-TV_INV_CONSUME_MAX}: *out (owned by the caller) is
 * {item_id, count left} (count left out at 0, as protojson). tv_inv_consume's errors. */
int tv_inv_consume_req(struct tv_db *db, const char *uid, const cJSON *req, cJSON **out,
                       tv_wallet_err_t *err);

#endif
