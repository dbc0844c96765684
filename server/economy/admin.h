/* The economy's admin side: what the console and modules may do that a player may not.
 * Console grants, revokes and refunds (one transaction each, one ledger entry recording the
 * reason and the admin), receipts listed per user, and the inventory steps they and the
 * module host entries are built from. */
#ifndef TV_ECONOMY_ADMIN_H
#define TV_ECONOMY_ADMIN_H

#include "economy.h"

/* Explicit limits of the admin operations. */
#define TV_ECON_REASON_MAX 256         /* bytes of a grant's, revoke's or refund's reason */
#define TV_ECON_ITEMS_MAX TV_SHOP_GRANTS_MAX /* distinct items in one grant or revoke */
#define TV_ECON_COUNT_MAX TV_SHOP_COUNT_MAX  /* of one item in one grant or revoke */
#define TV_ECON_RECEIPT_LIST_MAX 100   /* receipts in one page */
#define TV_INV_PROPERTIES_MAX 4096     /* bytes of an inventory row's properties */

/* Further reasons (tv_wallet_err_t.why). */
enum {
    TV_ECON_ENORECEIPT = 48, /* no such receipt (TV_ENOTFOUND) */
    TV_ECON_EREFUNDED,       /* the receipt was refunded already (TV_ECONFLICT) */
};

/* --- pure parts (admin_calc.c) ---------------------------------------------------------- */

/* One console grant or revoke, read from its body. Names and reason are borrowed from the
 * document it was parsed from. */
typedef struct tv_econ_change {
    tv_wallet_delta_t currencies[TV_WALLET_CHANGES_MAX]; /* signed: negative for a revoke */
    size_t ncurrencies;
    tv_shop_grant_t items[TV_ECON_ITEMS_MAX];            /* counts > 0, taken by a revoke */
    size_t nitems;
    const char *reason;
    int revoke;
} tv_econ_change_t;

/* Reads a grant (revoke = 0) or revoke body {"currencies": {currency: amount > 0}, "items":
 * {item_id: count 1-TV_ECON_COUNT_MAX}, "reason": 1-TV_ECON_REASON_MAX bytes of UTF-8}.
 * Amounts and counts are JSON integers; at most TV_WALLET_CHANGES_MAX currencies and
 * TV_ECON_ITEMS_MAX items; at least one of either; no other members. TV_EINVAL (err->why
 * TV_WALLET_EBAD, err->msg names the fault). */
int tv_econ_change_parse(const cJSON *body, int revoke, tv_econ_change_t *c,
                         tv_wallet_err_t *err);

/* What refunding a receipt undoes, from the receipt's stored price ({currency: amount}) and
 * grants ({"items": {id: count}, "currencies": {currency: amount}}): the wallet deltas (plus
 * the price, minus the granted currencies, netted per currency, zeros left out) and the
 * granted items. Names borrowed from price and grants. TV_EINVAL when the stored texts are
 * not what a purchase writes. */
typedef struct tv_econ_refund_plan {
    tv_wallet_delta_t deltas[2 * TV_SHOP_CURRENCIES_MAX];
    size_t ndeltas;
    tv_shop_grant_t items[TV_SHOP_GRANTS_MAX];
    size_t nitems;
} tv_econ_refund_plan_t;

int tv_econ_refund_plan(const cJSON *price, const cJSON *grants, tv_econ_refund_plan_t *plan,
                        tv_wallet_err_t *err);

/* The ledger metadata of an admin operation: {"op", "reason", "admin", "receipt", "item",
 * "items": {item_id: signed change}, "force", "not_taken": {item_id: count}}, members left
 * out when NULL, empty or 0 (receipt, item and not_taken only for refunds). Owned by the
 * caller (free); NULL when out of memory. */
typedef struct tv_econ_meta {
    const char *op, *reason, *admin, *receipt, *item;
    const tv_shop_grant_t *items;     /* count is the signed change */
    size_t nitems;
    const tv_shop_grant_t *not_taken; /* what a forced refund could not take */
    size_t nnot_taken;
    int force;
} tv_econ_meta_t;

char *tv_econ_meta_text(const tv_econ_meta_t *m);

/* The wallet text as an object of exact integers, zero balances left out (protojson leaves
 * defaults out). Owned by the caller; NULL when the text is not a wallet or out of memory. */
cJSON *tv_econ_wallet_json(const char *wallet);

/* --- inventory steps inside a caller's transaction (inventory.c) -------------------------- */

/* Adds n (1-TV_SHOP_COUNT_MAX) of item_id and, when properties (a JSON object text of at
 * most TV_INV_PROPERTIES_MAX bytes) is not NULL, sets the row's properties; NULL keeps them
 * ("{}" for a new row). TV_EINVAL (TV_WALLET_EBAD for bad input, TV_INV_EFULL). */
int tv_inv_grant_props_tx(struct tv_db_conn *conn, const char *user_id, const char *item_id,
                          int64_t n, const char *properties, tv_wallet_err_t *err);

/* Takes n (>= 1) of item_id in one conditional statement; the row goes at 0. *left (may be
 * NULL) is what remains. TV_EINVAL (TV_INV_ENOTENOUGH, err->msg names the item) when fewer
 * are held. */
int tv_inv_take_tx(struct tv_db_conn *conn, const char *user_id, const char *item_id,
                   int64_t n, int64_t *left, tv_wallet_err_t *err);

/* How many of item_id user_id holds (0 without a row). Database errors. */
int tv_inv_count_tx(struct tv_db_conn *conn, const char *user_id, const char *item_id,
                    int64_t *count);

/* Appends user_id's items ({item_id, count, properties, update_time}, by item id, at most
 * TV_INV_LIST_MAX) to the array items. Database errors, TV_ENOMEM. */
int tv_inv_list_tx(struct tv_db_conn *conn, const char *user_id, cJSON *items);

/* --- one-call inventory changes for modules (inventory.c) -------------------------------- */

/* Grants n of item_id to user_id (a UUID; the user must exist) with tv_inv_grant_props_tx's
 * rules, in one transaction. TV_EINVAL (err), TV_ENOTFOUND (TV_WALLET_ENOUSER), database
 * errors. */
int tv_inv_grant(struct tv_db *db, const char *user_id, const char *item_id, int64_t n,
                 const char *properties, tv_wallet_err_t *err);

/* Takes n (1-TV_INV_CONSUME_MAX) of item_id from user_id: never below zero (TV_EINVAL with
 * TV_INV_ENOTENOUGH, nothing changed), the row goes at 0. TV_ENOTFOUND for an unknown user,
 * TV_EINVAL (TV_WALLET_EBAD) for bad input, database errors. */
int tv_inv_revoke(struct tv_db *db, const char *user_id, const char *item_id, int64_t n,
                  tv_wallet_err_t *err);

/* Locks user_id's row (its wallet) for the rest of the caller's transaction, so one user's
 * economy changes run one at a time. TV_ENOTFOUND for no such user (wallet.c). */
int tv_wallet_lock_tx(struct tv_db_conn *conn, const char *user_id);

/* --- the console's operations (admin.c) --------------------------------------------------- */

/* user_id's economy as the console shows it: {"user_id", "username", "wallet": {currency:
 * balance}, "items": [inventory items]}, zero balances, an empty wallet and an empty
 * inventory left out. *out owned by the caller. TV_EINVAL (not a UUID), TV_ENOTFOUND,
 * database errors. */
int tv_econ_view(struct tv_db *db, const char *user_id, cJSON **out, tv_wallet_err_t *err);

/* 1 when user_id (a valid UUID) is an account, 0 when not, or a database error. */
int tv_econ_user_exists(struct tv_db *db, const char *user_id);

/* Applies c to user_id in one transaction: the currencies through tv_wallet_change_tx (one
 * ledger entry, metadata {op "grant"|"revoke", reason, admin, items}, written even when only
 * items change) and the items. A revoke never takes a balance or a count below zero. On
 * TV_OK *out (owned by the caller) is the view after the change plus "ledger_id".
 * TV_EINVAL (err->why: TV_WALLET_EFUNDS, TV_INV_ENOTENOUGH, TV_INV_EFULL, TV_WALLET_ERANGE,
 * TV_WALLET_ELIMIT, TV_WALLET_EBAD), TV_ENOTFOUND (user), database errors. Nothing changes
 * on failure. admin (the console user) is borrowed. */
int tv_econ_apply(struct tv_db *db, const char *user_id, const tv_econ_change_t *c,
                  const char *admin, cJSON **out, tv_wallet_err_t *err);

/* One page of user_id's receipts, newest first: at most limit (1-TV_ECON_RECEIPT_LIST_MAX)
 * after cursor (NULL or "" = the newest). *out is {"receipts": [{id, item_id,
 * idempotency_key, price, grants, create_time, refund_time, refund_reason,
 * refund_ledger_id}], "cursor"}, each left out when empty. TV_EINVAL (a bad user id, limit
 * or cursor), database errors. */
int tv_econ_receipts(struct tv_db *db, const char *user_id, int limit, const char *cursor,
                     cJSON **out, tv_wallet_err_t *err);

/* Refunds receipt_id in one transaction: the price credited back, the granted currencies
 * debited and the granted items taken (one ledger entry, metadata {op "refund", receipt,
 * item, reason, admin, items}), one back to a limited stock (one that is -1 now stays
 * unlimited), the receipt marked. Without force, a granted currency or item the player no
 * longer has enough of refuses the refund (TV_EINVAL, TV_WALLET_EFUNDS or
 * TV_INV_ENOTENOUGH); with force, balances may go negative and items are taken down to 0,
 * the metadata saying "force" and what was "not_taken". On TV_OK *out (owned by the caller)
 * is the view after it plus "ledger_id" and "receipt". TV_ENOTFOUND (TV_ECON_ENORECEIPT),
 * TV_ECONFLICT (TV_ECON_EREFUNDED), TV_EINVAL (bad input, the above), database errors. */
int tv_econ_refund(tv_shop_t *shop, const char *receipt_id, const char *reason,
                   const char *admin, int force, cJSON **out, tv_wallet_err_t *err);

#endif
