/* The host table (tv_host_api_t) every module receives: memory, logging, registration (open
 * only during init) and the reply helpers. The server exports nothing else to modules. */
#include "internal.h"
#include "notification.h"
#include "authoritative.h"
#include "economy.h"
#include "admin.h"
#include "error.h"
#include "leaderboard.h"
#include "leaderboard_api.h"
#include "util.h"
#include "log.h"
#include "matchmaker.h"
#include "chat.h"
#include "storage.h"

#include <stdatomic.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *host_alloc(size_t n)
{
    return malloc(n ? n : 1);
}

static void host_free(void *p)
{
    free(p);
}

static void host_log(tv_module_t *mod, int level, const char *fmt, ...)
{
    static const tv_log_level_t map[] = {TV_LOG_DEBUG, TV_LOG_INFO, TV_LOG_WARN, TV_LOG_ERROR};
    tv_log_level_t lv = level >= 0 && level <= TV_MOD_LOG_ERROR ? map[level] : TV_LOG_ERROR;
    if (!tv_log_enabled(lv) || !fmt)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tv_log(lv, "module", "%s: %s", mod && mod->name ? mod->name : "?", msg);
}

static int host_register_rpc(tv_module_t *mod, const char *id, tv_mod_rpc_fn fn)
{
    return tv_mod_module_register(mod, KIND_RPC, id, (tv_mod_fn)fn, NULL);
}

static int host_register_match(tv_module_t *mod, const char *name,
                               const tv_mod_match_handler_t *handler)
{
    return tv_mod_module_register(mod, KIND_MATCH, name, NULL, handler);
}

static int host_register_before(tv_module_t *mod, const char *api, tv_mod_before_fn fn)
{
    return tv_mod_module_register(mod, KIND_BEFORE, api, (tv_mod_fn)fn, NULL);
}

static int host_register_after(tv_module_t *mod, const char *api, tv_mod_after_fn fn)
{
    return tv_mod_module_register(mod, KIND_AFTER, api, (tv_mod_fn)fn, NULL);
}

static int host_reply(tv_mod_reply_t *r, const void *data, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return TV_GRPC_INTERNAL;
    if (len)
        memcpy(copy, data, len);
    copy[len] = 0;
    free(r->data);
    r->data = copy;
    r->len = len;
    return TV_GRPC_OK;
}

static int host_fail(tv_mod_reply_t *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (msg) {
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
        free(r->message);
        r->message = msg;
    }
    return code;
}

/* --- authoritative matches: forwarded to the match room, which installs its entries at start
 * (tv_amatch_new); without it they answer UNAVAILABLE. A pointer, not a link-time dependency, so
 * the modules room builds and tests without the match room. */
static _Atomic(const tv_amatch_host_ops_t *) match_ops;

void tv_mod_host_set_match_ops(const tv_amatch_host_ops_t *ops)
{
    atomic_store(&match_ops, ops);
}

static int host_match_create(tv_module_t *mod, const char *name, const char *params_json,
                             char **match_id)
{
    const tv_amatch_host_ops_t *ops = atomic_load(&match_ops);
    if (match_id)
        *match_id = NULL;
    if (!ops || !ops->match_create)
        return TV_GRPC_UNAVAILABLE;
    return ops->match_create(mod, name, params_json, match_id);
}

static int host_broadcast(tv_mod_dispatcher_t *d, int64_t op_code, const void *data, size_t len,
                          const tv_mod_presence_t *const *to, size_t nto,
                          const tv_mod_presence_t *sender, int reliable)
{
    const tv_amatch_host_ops_t *ops = atomic_load(&match_ops);
    if (!ops || !ops->broadcast)
        return TV_GRPC_UNAVAILABLE;
    return ops->broadcast(d, op_code, data, len, to, nto, sender, reliable);
}

static int host_kick(tv_mod_dispatcher_t *d, const tv_mod_presence_t *const *ps, size_t n)
{
    const tv_amatch_host_ops_t *ops = atomic_load(&match_ops);
    if (!ops || !ops->kick)
        return TV_GRPC_UNAVAILABLE;
    return ops->kick(d, ps, n);
}

static int host_label_update(tv_mod_dispatcher_t *d, const char *label)
{
    const tv_amatch_host_ops_t *ops = atomic_load(&match_ops);
    if (!ops || !ops->label_update)
        return TV_GRPC_UNAVAILABLE;
    return ops->label_update(d, label);
}

static int host_match_set_reconnect_grace(tv_mod_dispatcher_t *d, int seconds)
{
    const tv_amatch_host_ops_t *ops = atomic_load(&match_ops);
    if (!ops || !ops->set_reconnect_grace)
        return TV_GRPC_UNAVAILABLE;
    return ops->set_reconnect_grace(d, seconds);
}

static int host_match_signal(tv_module_t *mod, const char *match_id, const char *data,
                             size_t len, char **result, size_t *result_len)
{
    const tv_amatch_host_ops_t *ops = atomic_load(&match_ops);
    if (result)
        *result = NULL;
    if (result_len)
        *result_len = 0;
    if (!ops || !ops->match_signal)
        return TV_GRPC_UNAVAILABLE;
    return ops->match_signal(mod, match_id, data, len, result, result_len);
}

/* --- storage objects: forwarded to the storage room, which installs its entries at start
 * (tv_storage_host_install), the same way as the match entries above. */
static _Atomic(const tv_storage_host_ops_t *) storage_ops;

void tv_mod_host_set_storage_ops(const tv_storage_host_ops_t *ops)
{
    atomic_store(&storage_ops, ops);
}

static int host_storage_read(tv_module_t *mod, const char *ids_json, char **objects_json)
{
    const tv_storage_host_ops_t *ops = atomic_load(&storage_ops);
    (void)mod;
    if (objects_json)
        *objects_json = NULL;
    return ops ? ops->read(ids_json, objects_json) : TV_GRPC_UNAVAILABLE;
}

static int host_storage_write(tv_module_t *mod, const char *objects_json, char **acks_json)
{
    const tv_storage_host_ops_t *ops = atomic_load(&storage_ops);
    (void)mod;
    if (acks_json)
        *acks_json = NULL;
    return ops ? ops->write(objects_json, acks_json) : TV_GRPC_UNAVAILABLE;
}

static int host_storage_list(tv_module_t *mod, const char *caller_id, const char *user_id,
                             const char *collection, int limit, const char *cursor,
                             char **result_json)
{
    const tv_storage_host_ops_t *ops = atomic_load(&storage_ops);
    (void)mod;
    if (result_json)
        *result_json = NULL;
    return ops ? ops->list(caller_id, user_id, collection, limit, cursor, result_json)
               : TV_GRPC_UNAVAILABLE;
}

static int host_storage_delete(tv_module_t *mod, const char *ids_json)
{
    const tv_storage_host_ops_t *ops = atomic_load(&storage_ops);
    (void)mod;
    return ops ? ops->del(ids_json) : TV_GRPC_UNAVAILABLE;
}

/* --- leaderboards: the registry the server installs at start (tv_mod_host_set_leaderboards);
 * without it the entries answer UNAVAILABLE. */
static _Atomic(struct tv_lb *) lb_registry;

void tv_mod_host_set_leaderboards(struct tv_lb *lb)
{
    atomic_store(&lb_registry, lb);
}

/* A TV_E* result as the gRPC code a module sees. */
static int lb_code(int rc)
{
    return rc == TV_OK ? TV_GRPC_OK : rc == TV_ERETRY ? TV_GRPC_UNAVAILABLE : tv_error_grpc(rc);
}

static int host_board_create(tv_module_t *mod, const char *def_json, int tournament)
{
    tv_lb_t *lb = atomic_load(&lb_registry);
    if (!lb)
        return TV_GRPC_UNAVAILABLE;
    cJSON *j = def_json ? cJSON_Parse(def_json) : NULL;
    tv_lb_def_t d;
    char *meta = NULL;
    const char *msg = NULL;
    tv_lb_err_t err = {0};
    int rc = tv_lb_def_from_json(j, tournament, &d, &meta, &msg);
    if (rc == TV_OK && (rc = tv_lb_create(lb, &d, &err)) == TV_ECONFLICT)
        rc = TV_OK; /* Nakama: creating an existing board is a no-op */
    else if (rc)
        msg = msg ? msg : err.msg;
    if (rc)
        host_log(mod, TV_MOD_LOG_WARN, "%s_create: %s", tournament ? "tournament" : "leaderboard",
                 msg ? msg : "failed");
    free(meta);
    cJSON_Delete(j);
    return lb_code(rc);
}

static int host_leaderboard_create(tv_module_t *mod, const char *def_json)
{
    return host_board_create(mod, def_json, 0);
}

static int host_tournament_create(tv_module_t *mod, const char *def_json)
{
    return host_board_create(mod, def_json, 1);
}

/* Prints j (consumed) into *out with host memory, when out is wanted. */
static int take_json(cJSON *j, char **out)
{
    if (!out) {
        cJSON_Delete(j);
        return TV_GRPC_OK;
    }
    *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return *out ? TV_GRPC_OK : TV_GRPC_INTERNAL;
}

static int host_board_write(tv_module_t *mod, const char *id, const char *owner_id,
                            const char *username, int64_t score, int64_t subscore,
                            const char *metadata_json, int op, char **record_json, int flags)
{
    tv_lb_t *lb = atomic_load(&lb_registry);
    if (record_json)
        *record_json = NULL;
    if (!lb)
        return TV_GRPC_UNAVAILABLE;
    tv_lb_write_t w = {owner_id, username, score, subscore, metadata_json, op};
    cJSON *rec = NULL;
    tv_lb_err_t err = {0};
    int rc = tv_lb_write_record(lb, id, &w, flags, tv_now_s(), &rec, &err);
    if (rc) {
        host_log(mod, TV_MOD_LOG_DEBUG, "write to %s: %s", id ? id : "", err.msg);
        return lb_code(rc);
    }
    return take_json(rec, record_json);
}

static int host_leaderboard_write(tv_module_t *mod, const char *id, const char *owner_id,
                                  const char *username, int64_t score, int64_t subscore,
                                  const char *metadata_json, int op, char **record_json)
{
    return host_board_write(mod, id, owner_id, username, score, subscore, metadata_json, op,
                            record_json, 0);
}

static int host_tournament_write(tv_module_t *mod, const char *id, const char *owner_id,
                                 const char *username, int64_t score, int64_t subscore,
                                 const char *metadata_json, int op, char **record_json)
{
    return host_board_write(mod, id, owner_id, username, score, subscore, metadata_json, op,
                            record_json, TV_LB_TOURNAMENT);
}

static int host_leaderboard_list(tv_module_t *mod, const char *id, const char *const *owner_ids,
                                 size_t nowners, int limit, const char *cursor, char **list_json)
{
    tv_lb_t *lb = atomic_load(&lb_registry);
    if (list_json)
        *list_json = NULL;
    if (!lb)
        return TV_GRPC_UNAVAILABLE;
    if (nowners && !owner_ids)
        return TV_GRPC_INVALID_ARGUMENT;
    tv_lb_query_t q = {owner_ids, nowners, limit, cursor, 0};
    cJSON *out = NULL;
    tv_lb_err_t err = {0};
    int rc = tv_lb_list_records(lb, id, &q, 0, tv_now_s(), &out, &err);
    if (rc) {
        host_log(mod, TV_MOD_LOG_DEBUG, "list of %s: %s", id ? id : "", err.msg);
        return lb_code(rc);
    }
    return take_json(out, list_json);
}

static int host_leaderboard_rank(tv_module_t *mod, const char *id, const char *owner_id,
                                 int64_t *rank, int64_t *count)
{
    (void)mod;
    tv_lb_t *lb = atomic_load(&lb_registry);
    int64_t r = 0, n = 0;
    int rc = lb ? tv_lb_rank(lb, id, owner_id, tv_now_s(), &r, &n) : TV_EUNAVAIL;
    if (rank)
        *rank = r;
    if (count)
        *count = n;
    return lb_code(rc);
}

static int host_tournament_join(tv_module_t *mod, const char *id, const char *owner_id,
                                const char *username)
{
    tv_lb_t *lb = atomic_load(&lb_registry);
    if (!lb)
        return TV_GRPC_UNAVAILABLE;
    tv_lb_err_t err = {0};
    int rc = tv_tourn_join(lb, id, owner_id, username, tv_now_s(), &err);
    if (rc)
        host_log(mod, TV_MOD_LOG_DEBUG, "join of %s: %s", id ? id : "", err.msg);
    return lb_code(rc);
}

static int host_register_leaderboard_reset(tv_module_t *mod, tv_mod_lb_reset_fn fn)
{
    return tv_mod_module_register(mod, KIND_LB_RESET, LB_RESET_KEY, (tv_mod_fn)fn, NULL);
}

static int host_register_matchmaker_matched(tv_module_t *mod, tv_mod_matchmaker_matched_fn fn)
{
    return tv_mod_module_register(mod, KIND_MM_MATCHED, MM_MATCHED_KEY, (tv_mod_fn)fn, NULL);
}

/* --- notifications: the room the server installs at start (tv_mod_host_set_notify). */
static _Atomic(tv_notify_t *) notify_room;

void tv_mod_host_set_notify(tv_notify_t *n)
{
    atomic_store(&notify_room, n);
}

static int host_notification_send(tv_module_t *mod, const char *user_id, const char *subject,
                                  const char *content_json, int32_t code, const char *sender_id,
                                  int persistent)
{
    tv_notify_t *n = atomic_load(&notify_room);
    if (!n)
        return TV_GRPC_UNAVAILABLE;
    tv_notify_msg_t m = {user_id, subject, content_json, code, sender_id, persistent, 0};
    const char *why = NULL;
    int rc = tv_notify_send(n, &m, NULL, &why);
    if (rc && why)
        host_log(mod, TV_MOD_LOG_WARN, "notification_send: %s", why);
    return lb_code(rc);
}

/* --- wallets: the database the server installs at start (tv_mod_host_set_wallets). */
static _Atomic(struct tv_db *) wallet_db;

void tv_mod_host_set_wallets(struct tv_db *db)
{
    atomic_store(&wallet_db, db);
}

/* A wallet or inventory result as the gRPC code a module sees: too little to take is
 * FAILED_PRECONDITION, as Nakama answers insufficient funds. */
static int wallet_code(int rc, const tv_wallet_err_t *err)
{
    if (rc == TV_EINVAL && (err->why == TV_WALLET_EFUNDS || err->why == TV_INV_ENOTENOUGH))
        return TV_GRPC_FAILED_PRECONDITION;
    return rc == TV_OK ? TV_GRPC_OK : rc == TV_ERETRY ? TV_GRPC_UNAVAILABLE : tv_error_grpc(rc);
}

/* Reads one element of wallet_update's array into c; deltas point into ds (cap of them),
 * names and metadata into the parsed document (metadata printed into *meta, owned). */
static int wallet_elem(const cJSON *e, tv_wallet_change_t *c, tv_wallet_delta_t *ds,
                       char **meta, tv_wallet_err_t *err)
{
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(e, "user_id");
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(e, "changeset");
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(e, "metadata");
    if (!cJSON_IsObject(e) || !cJSON_IsString(uid)) {
        snprintf(err->msg, sizeof err->msg, "each update is {user_id, changeset, metadata}");
        return TV_EINVAL;
    }
    if (md && !cJSON_IsNull(md) && !cJSON_IsObject(md)) {
        snprintf(err->msg, sizeof err->msg, "metadata must be a JSON object");
        return TV_EINVAL;
    }
    size_t n = 0;
    int rc = tv_wallet_changeset_parse(cs, ds, TV_WALLET_CHANGES_MAX, &n, err);
    if (rc)
        return rc;
    *meta = cJSON_IsObject(md) ? cJSON_PrintUnformatted(md) : NULL;
    if (cJSON_IsObject(md) && !*meta)
        return TV_ENOMEM;
    *c = (tv_wallet_change_t){uid->valuestring, ds, n, *meta};
    return TV_OK;
}

static int wallet_parse(const cJSON *doc, tv_wallet_change_t *cs, tv_wallet_delta_t *ds,
                        char **metas, size_t *n, tv_wallet_err_t *err)
{
    *n = 0;
    if (!cJSON_IsArray(doc) || cJSON_GetArraySize(doc) < 1 ||
        cJSON_GetArraySize(doc) > TV_WALLET_USERS_MAX) {
        snprintf(err->msg, sizeof err->msg, "updates must be a JSON array of 1-100 elements");
        return TV_EINVAL;
    }
    for (const cJSON *e = doc->child; e; e = e->next, (*n)++) {
        int rc = wallet_elem(e, &cs[*n], ds + *n * TV_WALLET_CHANGES_MAX, &metas[*n], err);
        if (rc)
            return rc;
    }
    return TV_OK;
}

static int host_wallet_update(tv_module_t *mod, const char *updates_json, int allow_negative,
                              char **results_json)
{
    struct tv_db *db = atomic_load(&wallet_db);
    if (results_json)
        *results_json = NULL;
    if (!db)
        return TV_GRPC_UNAVAILABLE;
    cJSON *doc = updates_json ? cJSON_Parse(updates_json) : NULL, *res = NULL;
    tv_wallet_change_t *cs = calloc(TV_WALLET_USERS_MAX, sizeof *cs);
    tv_wallet_delta_t *ds = calloc(TV_WALLET_USERS_MAX * TV_WALLET_CHANGES_MAX, sizeof *ds);
    char **metas = calloc(TV_WALLET_USERS_MAX, sizeof *metas);
    tv_wallet_err_t err = {0};
    size_t n = 0;
    int rc = cs && ds && metas ? wallet_parse(doc, cs, ds, metas, &n, &err) : TV_ENOMEM;
    if (rc == TV_OK)
        rc = tv_wallet_update(db, cs, n, allow_negative, &res, &err);
    if (rc)
        host_log(mod, TV_MOD_LOG_WARN, "wallet_update: %s", err.msg[0] ? err.msg : "failed");
    int code = wallet_code(rc, &err);
    if (rc == TV_OK && results_json)
        code = take_json(res, results_json);
    else
        cJSON_Delete(res);
    for (size_t i = 0; metas && i < TV_WALLET_USERS_MAX; i++)
        free(metas[i]);
    free(metas);
    free(ds);
    free(cs);
    cJSON_Delete(doc);
    return code;
}

static int host_wallet_ledger_list(tv_module_t *mod, const char *user_id, int limit,
                                   const char *cursor, char **result_json)
{
    struct tv_db *db = atomic_load(&wallet_db);
    if (!result_json)
        return TV_GRPC_INVALID_ARGUMENT;
    *result_json = NULL;
    if (!db)
        return TV_GRPC_UNAVAILABLE;
    cJSON *res = NULL;
    tv_wallet_err_t err = {0};
    int rc = tv_wallet_ledger_list(db, user_id, limit, cursor, &res, &err);
    if (rc) {
        host_log(mod, TV_MOD_LOG_DEBUG, "wallet_ledger_list: %s", err.msg);
        return wallet_code(rc, &err);
    }
    return take_json(res, result_json);
}

/* --- inventories: on the wallets' database. */
static int host_inventory_grant(tv_module_t *mod, const char *user_id, const char *item_id,
                                int64_t count, const char *properties_json)
{
    struct tv_db *db = atomic_load(&wallet_db);
    if (!db)
        return TV_GRPC_UNAVAILABLE;
    tv_wallet_err_t err = {0};
    int rc = tv_inv_grant(db, user_id, item_id, count, properties_json, &err);
    if (rc)
        host_log(mod, TV_MOD_LOG_WARN, "inventory_grant: %s", err.msg[0] ? err.msg : "failed");
    return wallet_code(rc, &err);
}

static int host_inventory_revoke(tv_module_t *mod, const char *user_id, const char *item_id,
                                 int64_t count)
{
    struct tv_db *db = atomic_load(&wallet_db);
    if (!db)
        return TV_GRPC_UNAVAILABLE;
    tv_wallet_err_t err = {0};
    int rc = tv_inv_revoke(db, user_id, item_id, count, &err);
    if (rc)
        host_log(mod, TV_MOD_LOG_WARN, "inventory_revoke: %s", err.msg[0] ? err.msg : "failed");
    return wallet_code(rc, &err);
}

static int host_inventory_list(tv_module_t *mod, const char *user_id, char **result_json)
{
    struct tv_db *db = atomic_load(&wallet_db);
    if (!result_json)
        return TV_GRPC_INVALID_ARGUMENT;
    *result_json = NULL;
    if (!db)
        return TV_GRPC_UNAVAILABLE;
    cJSON *res = NULL;
    int rc = tv_inv_list(db, user_id, &res);
    if (rc) {
        host_log(mod, TV_MOD_LOG_DEBUG, "inventory_list: %s", tv_error_name(rc));
        return lb_code(rc);
    }
    return take_json(res, result_json);
}

/* --- the shop catalog the server installs at start (tv_mod_host_set_shop). */
static _Atomic(tv_shop_t *) shop_catalog;

void tv_mod_host_set_shop(tv_shop_t *shop)
{
    atomic_store(&shop_catalog, shop);
}

static int host_shop_item_put(tv_module_t *mod, const char *def_json, char **item_json)
{
    tv_shop_t *shop = atomic_load(&shop_catalog);
    if (item_json)
        *item_json = NULL;
    if (!shop)
        return TV_GRPC_UNAVAILABLE;
    cJSON *def = def_json ? cJSON_Parse(def_json) : NULL, *item = NULL;
    tv_wallet_err_t err = {0};
    int rc = def ? tv_shop_put(shop, def, &item, &err) : TV_EINVAL;
    cJSON_Delete(def);
    if (rc) {
        host_log(mod, TV_MOD_LOG_WARN, "shop_item_put: %s",
                 err.msg[0] ? err.msg : def_json ? "def_json is not JSON" : "no def_json");
        return lb_code(rc);
    }
    return take_json(item, item_json);
}

static int host_shop_item_disable(tv_module_t *mod, const char *id)
{
    tv_shop_t *shop = atomic_load(&shop_catalog);
    if (!shop)
        return TV_GRPC_UNAVAILABLE;
    int rc = id ? tv_shop_disable(shop, id) : TV_EINVAL;
    if (rc)
        host_log(mod, TV_MOD_LOG_DEBUG, "shop_item_disable %s: %s", id ? id : "(null)",
                 tv_error_name(rc));
    return lb_code(rc);
}

/* --- the matchmaker: forwarded to the matchmaker room, which installs its entries once it
 * runs (tv_mm_host_install), the same way as the storage entries. */
static _Atomic(const tv_mm_host_ops_t *) mm_ops;

void tv_mod_host_set_mm_ops(const tv_mm_host_ops_t *ops)
{
    atomic_store(&mm_ops, ops);
}

static int host_matchmaker_add(tv_module_t *mod, const char *session_id,
                               const char *ticket_json, char **ticket_id)
{
    const tv_mm_host_ops_t *ops = atomic_load(&mm_ops);
    if (ticket_id)
        *ticket_id = NULL;
    if (!ops)
        return TV_GRPC_UNAVAILABLE;
    const char *why = NULL;
    int rc = ops->add(session_id, ticket_json, ticket_id, &why);
    if (rc)
        host_log(mod, rc == TV_GRPC_INVALID_ARGUMENT ? TV_MOD_LOG_WARN : TV_MOD_LOG_DEBUG,
                 "matchmaker_add: %s", why ? why : "failed");
    return rc;
}

static int host_matchmaker_remove(tv_module_t *mod, const char *ticket_id)
{
    const tv_mm_host_ops_t *ops = atomic_load(&mm_ops);
    (void)mod;
    return ops ? ops->remove(ticket_id) : TV_GRPC_UNAVAILABLE;
}

static int host_matchmaker_list(tv_module_t *mod, const char *user_id, const char *session_id,
                                int limit, char **tickets_json)
{
    const tv_mm_host_ops_t *ops = atomic_load(&mm_ops);
    (void)mod;
    if (!tickets_json)
        return TV_GRPC_INVALID_ARGUMENT;
    *tickets_json = NULL;
    return ops ? ops->list(user_id, session_id, limit, tickets_json) : TV_GRPC_UNAVAILABLE;
}

/* --- streams: forwarded to the chat room, whose membership index holds them; it installs its
 * entries once it runs (tv_chat_stream_host_install), as the matchmaker does. */
static _Atomic(const tv_chat_stream_ops_t *) stream_ops;

void tv_mod_host_set_stream_ops(const tv_chat_stream_ops_t *ops)
{
    atomic_store(&stream_ops, ops);
}

static int stream_logged(tv_module_t *mod, const char *what, int rc, const char *why)
{
    if (rc && why)
        host_log(mod, rc == TV_GRPC_INVALID_ARGUMENT ? TV_MOD_LOG_WARN : TV_MOD_LOG_DEBUG,
                 "%s: %s", what, why);
    return rc;
}

static int host_stream_user_join(tv_module_t *mod, const tv_mod_stream_t *stream,
                                 const char *user_id, const char *session_id, int hidden,
                                 int persistence, int *is_new)
{
    const tv_chat_stream_ops_t *ops = atomic_load(&stream_ops);
    const char *why = NULL;
    if (is_new)
        *is_new = 0;
    if (!ops)
        return TV_GRPC_UNAVAILABLE;
    return stream_logged(mod, "stream_user_join",
                         ops->join(stream, user_id, session_id, hidden, persistence, is_new,
                                   &why), why);
}

static int host_stream_user_leave(tv_module_t *mod, const tv_mod_stream_t *stream,
                                  const char *user_id, const char *session_id)
{
    const tv_chat_stream_ops_t *ops = atomic_load(&stream_ops);
    const char *why = NULL;
    if (!ops)
        return TV_GRPC_UNAVAILABLE;
    return stream_logged(mod, "stream_user_leave",
                         ops->leave(stream, user_id, session_id, &why), why);
}

static int host_stream_user_list(tv_module_t *mod, const tv_mod_stream_t *stream,
                                 int include_hidden, int include_not_hidden,
                                 char **presences_json)
{
    const tv_chat_stream_ops_t *ops = atomic_load(&stream_ops);
    const char *why = NULL;
    if (!presences_json)
        return TV_GRPC_INVALID_ARGUMENT;
    *presences_json = NULL;
    if (!ops)
        return TV_GRPC_UNAVAILABLE;
    return stream_logged(mod, "stream_user_list",
                         ops->list(stream, include_hidden, include_not_hidden, presences_json,
                                   NULL, &why), why);
}

static int host_stream_count(tv_module_t *mod, const tv_mod_stream_t *stream, int64_t *count)
{
    const tv_chat_stream_ops_t *ops = atomic_load(&stream_ops);
    const char *why = NULL;
    if (!count)
        return TV_GRPC_INVALID_ARGUMENT;
    *count = 0;
    if (!ops)
        return TV_GRPC_UNAVAILABLE;
    return stream_logged(mod, "stream_count", ops->list(stream, 0, 0, NULL, count, &why), why);
}

static int host_stream_send(tv_module_t *mod, const tv_mod_stream_t *stream, const char *data,
                            size_t len, const tv_mod_presence_t *const *to, size_t nto,
                            const tv_mod_presence_t *sender, int reliable)
{
    const tv_chat_stream_ops_t *ops = atomic_load(&stream_ops);
    const char *why = NULL;
    if (!ops)
        return TV_GRPC_UNAVAILABLE;
    return stream_logged(mod, "stream_send",
                         ops->send(stream, data, len, to, nto, sender, reliable, &why), why);
}

static int host_stream_close(tv_module_t *mod, const tv_mod_stream_t *stream)
{
    const tv_chat_stream_ops_t *ops = atomic_load(&stream_ops);
    const char *why = NULL;
    if (!ops)
        return TV_GRPC_UNAVAILABLE;
    return stream_logged(mod, "stream_close", ops->close(stream, &why), why);
}

static int host_register_event(tv_module_t *mod, tv_mod_event_fn fn)
{
    char key[160];
    snprintf(key, sizeof key, EVENT_KEY_PREFIX "%s", mod && mod->name ? mod->name : "");
    return tv_mod_module_register(mod, KIND_EVENT, key, (tv_mod_fn)fn, NULL);
}

const tv_host_api_t tv_mod_host = {
    .size = sizeof(tv_host_api_t),
    .abi_major = TV_ABI_MAJOR,
    .abi_minor = TV_ABI_MINOR,
    .alloc = host_alloc,
    .free = host_free,
    .log = host_log,
    .register_rpc = host_register_rpc,
    .register_match = host_register_match,
    .register_before = host_register_before,
    .register_after = host_register_after,
    .reply = host_reply,
    .fail = host_fail,
    .match_create = host_match_create,
    .broadcast = host_broadcast,
    .kick = host_kick,
    .label_update = host_label_update,
    .match_set_reconnect_grace = host_match_set_reconnect_grace,
    .match_signal = host_match_signal,
    .storage_read = host_storage_read,
    .storage_write = host_storage_write,
    .storage_list = host_storage_list,
    .storage_delete = host_storage_delete,
    .leaderboard_create = host_leaderboard_create,
    .leaderboard_write = host_leaderboard_write,
    .leaderboard_list = host_leaderboard_list,
    .leaderboard_rank = host_leaderboard_rank,
    .tournament_create = host_tournament_create,
    .tournament_join = host_tournament_join,
    .tournament_write = host_tournament_write,
    .register_leaderboard_reset = host_register_leaderboard_reset,
    .register_matchmaker_matched = host_register_matchmaker_matched,
    .notification_send = host_notification_send,
    .wallet_update = host_wallet_update,
    .wallet_ledger_list = host_wallet_ledger_list,
    .inventory_grant = host_inventory_grant,
    .inventory_revoke = host_inventory_revoke,
    .inventory_list = host_inventory_list,
    .shop_item_put = host_shop_item_put,
    .shop_item_disable = host_shop_item_disable,
    .matchmaker_add = host_matchmaker_add,
    .matchmaker_remove = host_matchmaker_remove,
    .matchmaker_list = host_matchmaker_list,
    .stream_user_join = host_stream_user_join,
    .stream_user_leave = host_stream_user_leave,
    .stream_user_list = host_stream_user_list,
    .stream_count = host_stream_count,
    .stream_send = host_stream_send,
    .stream_close = host_stream_close,
    .register_event = host_register_event,
};
