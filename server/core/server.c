/* The running server: data dir and secrets, database and migrations, the session deny-list,
 * modules, worker pool, WebSocket contexts, both HTTP daemons and the public acceptor; then it
 * waits for SIGINT/SIGTERM (SIGHUP reloads the modules) and stops everything in reverse order.
 * Also the route table. */
#include "server.h"
#include "account.h"
#include "acceptor.h"
#include "app.h"
#include "auth_api.h"
#include "authoritative.h"
#include "chat.h"
#include "console.h"
#include "console_accounts.h"
#include "economy.h"
#include "shop_api.h"
#include "economy_rpc.h"
#include "admin_api.h"
#include "db.h"
#include "error.h"
#include "friend.h"
#include "group.h"
#include "http.h"
#include "leaderboard.h"
#include "leaderboard_api.h"
#include "log.h"
#include "match.h"
#include "match_console.h"
#include "matchmaker.h"
#include "metrics_api.h"
#include "mm_console.h"
#include "modules.h"
#include "mod_console.h"
#include "notification.h"
#include "party.h"
#include "password.h"
#include "rt.h"
#include "session_cache.h"
#include "status.h"
#include "storage.h"
#include "storage_api.h"
#include "storage_console.h"
#include "token.h"
#include "util.h"
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_BYTES 32
#define WORKER_QUEUE 4096
#define JANITOR_PERIOD_S 600

static void reply_health(tv_http_req_t *req, void *app)
{
    (void)app;
    tv_http_reply_json(req, NULL);
}

static void reply_root(tv_http_req_t *req, void *app)
{
    (void)app;
    tv_http_reply_raw(req, 200, "");
}

/* API calls that run module before/after hooks, by Nakama's API name: one line each. */
TV_MOD_HOOKED(hooked_auth_device, "AuthenticateDevice", tv_auth_device)
TV_MOD_HOOKED(hooked_auth_custom, "AuthenticateCustom", tv_auth_custom)
TV_MOD_HOOKED(hooked_auth_email, "AuthenticateEmail", tv_auth_email)
TV_MOD_HOOKED(hooked_refresh, "SessionRefresh", tv_auth_refresh)
TV_MOD_HOOKED(hooked_logout, "SessionLogout", tv_auth_logout)
TV_MOD_HOOKED(hooked_account_get, "GetAccount", tv_account_get)
TV_MOD_HOOKED(hooked_account_update, "UpdateAccount", tv_account_update)
TV_MOD_HOOKED(hooked_account_delete, "DeleteAccount", tv_account_delete)
TV_MOD_HOOKED(hooked_users, "GetUsers", tv_account_users)
TV_MOD_HOOKED(hooked_link_device, "LinkDevice", tv_account_link_device)
TV_MOD_HOOKED(hooked_link_custom, "LinkCustom", tv_account_link_custom)
TV_MOD_HOOKED(hooked_link_email, "LinkEmail", tv_account_link_email)
TV_MOD_HOOKED(hooked_unlink_device, "UnlinkDevice", tv_account_unlink_device)
TV_MOD_HOOKED(hooked_unlink_custom, "UnlinkCustom", tv_account_unlink_custom)
TV_MOD_HOOKED(hooked_unlink_email, "UnlinkEmail", tv_account_unlink_email)
TV_MOD_HOOKED(hooked_storage_write, "WriteStorageObjects", tv_storage_api_write)
TV_MOD_HOOKED(hooked_storage_read, "ReadStorageObjects", tv_storage_api_read)
TV_MOD_HOOKED(hooked_storage_delete, "DeleteStorageObjects", tv_storage_api_delete)
TV_MOD_HOOKED(hooked_storage_list, "ListStorageObjects", tv_storage_api_list)

TV_MOD_HOOKED(hooked_lb_write, "WriteLeaderboardRecord", tv_lb_http_write)
TV_MOD_HOOKED(hooked_lb_list, "ListLeaderboardRecords", tv_lb_http_list)
TV_MOD_HOOKED(hooked_lb_around, "ListLeaderboardRecordsAroundOwner", tv_lb_http_around)
TV_MOD_HOOKED(hooked_lb_delete, "DeleteLeaderboardRecord", tv_lb_http_delete)
TV_MOD_HOOKED(hooked_tourn_list, "ListTournaments", tv_tourn_http_list)
TV_MOD_HOOKED(hooked_tourn_join, "JoinTournament", tv_tourn_http_join)
TV_MOD_HOOKED(hooked_tourn_write, "WriteTournamentRecord", tv_tourn_http_write)
TV_MOD_HOOKED(hooked_tourn_records, "ListTournamentRecords", tv_tourn_http_records)
TV_MOD_HOOKED(hooked_tourn_around, "ListTournamentRecordsAroundOwner", tv_tourn_http_around)
TV_MOD_HOOKED(hooked_tourn_delete, "DeleteTournamentRecord", tv_tourn_http_delete)

static void match_list(tv_http_req_t *req, void *app);
TV_MOD_HOOKED(hooked_match_list, "ListMatches", match_list)
TV_MOD_HOOKED(hooked_friend_add, "AddFriends", tv_friend_add)
TV_MOD_HOOKED(hooked_friend_list, "ListFriends", tv_friend_list)
TV_MOD_HOOKED(hooked_friend_delete, "DeleteFriends", tv_friend_delete)
TV_MOD_HOOKED(hooked_friend_block, "BlockFriends", tv_friend_block)
TV_MOD_HOOKED(hooked_friend_fof, "ListFriendsOfFriends", tv_friend_list_fof)
TV_MOD_HOOKED(hooked_subs_list, "ListSubscriptions", tv_iap_subscription_list)
TV_MOD_HOOKED(hooked_subs_get, "GetSubscription", tv_iap_subscription_get)
TV_MOD_HOOKED(hooked_group_create, "CreateGroup", tv_group_create)
TV_MOD_HOOKED(hooked_group_update, "UpdateGroup", tv_group_update)
TV_MOD_HOOKED(hooked_group_delete, "DeleteGroup", tv_group_delete)
TV_MOD_HOOKED(hooked_group_list, "ListGroups", tv_group_list)
TV_MOD_HOOKED(hooked_group_join, "JoinGroup", tv_group_join)
TV_MOD_HOOKED(hooked_group_leave, "LeaveGroup", tv_group_leave)
TV_MOD_HOOKED(hooked_group_add, "AddGroupUsers", tv_group_add)
TV_MOD_HOOKED(hooked_group_kick, "KickGroupUsers", tv_group_kick)
TV_MOD_HOOKED(hooked_group_promote, "PromoteGroupUsers", tv_group_promote)
TV_MOD_HOOKED(hooked_group_demote, "DemoteGroupUsers", tv_group_demote)
TV_MOD_HOOKED(hooked_group_ban, "BanGroupUsers", tv_group_ban)
TV_MOD_HOOKED(hooked_group_users, "ListGroupUsers", tv_group_users)
TV_MOD_HOOKED(hooked_user_groups, "ListUserGroups", tv_group_user_groups)
TV_MOD_HOOKED(hooked_shop_list, "ListShopItems", tv_shop_http_catalog)
TV_MOD_HOOKED(hooked_ledger, "ListWalletLedger", tv_wallet_http_ledger)
TV_MOD_HOOKED(hooked_shop_purchase, "ShopPurchase", tv_shop_http_purchase)
TV_MOD_HOOKED(hooked_inv_list, "ListInventory", tv_inv_http_list)
TV_MOD_HOOKED(hooked_inv_consume, "ConsumeInventory", tv_inv_http_consume)
TV_MOD_HOOKED(hooked_notify_list, "ListNotifications", tv_notify_api_list)
TV_MOD_HOOKED(hooked_notify_delete, "DeleteNotifications", tv_notify_api_delete)
TV_MOD_HOOKED(hooked_channel_list, "ListChannelMessages", tv_chat_api_list)
TV_MOD_HOOKED(hooked_event, "Event", tv_mod_event_http)

static const tv_http_route_t api_routes[] = {
    {"GET", "/", TV_HTTP_AUTH_NONE, reply_root},
    {"GET", "/healthcheck", TV_HTTP_AUTH_NONE, reply_health},
    {"POST", "/v2/account/authenticate/device", TV_HTTP_AUTH_SERVER_KEY, hooked_auth_device},
    {"POST", "/v2/account/authenticate/custom", TV_HTTP_AUTH_SERVER_KEY, hooked_auth_custom},
    {"POST", "/v2/account/authenticate/email", TV_HTTP_AUTH_SERVER_KEY, hooked_auth_email},
    {"POST", "/v2/account/session/refresh", TV_HTTP_AUTH_SERVER_KEY, hooked_refresh},
    {"POST", "/v2/session/logout", TV_HTTP_AUTH_SESSION, hooked_logout},
    {"GET", "/v2/account", TV_HTTP_AUTH_SESSION, hooked_account_get},
    {"PUT", "/v2/account", TV_HTTP_AUTH_SESSION, hooked_account_update},
    {"DELETE", "/v2/account", TV_HTTP_AUTH_SESSION, hooked_account_delete},
    {"GET", "/v2/user", TV_HTTP_AUTH_SESSION, hooked_users},
    {"POST", "/v2/account/link/device", TV_HTTP_AUTH_SESSION, hooked_link_device},
    {"POST", "/v2/account/link/custom", TV_HTTP_AUTH_SESSION, hooked_link_custom},
    {"POST", "/v2/account/link/email", TV_HTTP_AUTH_SESSION, hooked_link_email},
    {"POST", "/v2/account/unlink/device", TV_HTTP_AUTH_SESSION, hooked_unlink_device},
    {"POST", "/v2/account/unlink/custom", TV_HTTP_AUTH_SESSION, hooked_unlink_custom},
    {"POST", "/v2/account/unlink/email", TV_HTTP_AUTH_SESSION, hooked_unlink_email},
    /* outside providers: Nakama's "not configured" refusal (server/account/providers.c) */
    {"POST", "/v2/account/authenticate/apple", TV_HTTP_AUTH_SERVER_KEY, tv_provider_apple},
    {"POST", "/v2/account/authenticate/facebook", TV_HTTP_AUTH_SERVER_KEY, tv_provider_facebook},
    {"POST", "/v2/account/authenticate/facebookinstantgame", TV_HTTP_AUTH_SERVER_KEY,
     tv_provider_facebook_instant},
    {"POST", "/v2/account/authenticate/gamecenter", TV_HTTP_AUTH_SERVER_KEY,
     tv_provider_gamecenter},
    {"POST", "/v2/account/authenticate/google", TV_HTTP_AUTH_SERVER_KEY, tv_provider_google},
    {"POST", "/v2/account/authenticate/steam", TV_HTTP_AUTH_SERVER_KEY, tv_provider_steam},
    {"POST", "/v2/account/link/apple", TV_HTTP_AUTH_SESSION, tv_provider_apple},
    {"POST", "/v2/account/unlink/apple", TV_HTTP_AUTH_SESSION, tv_provider_apple},
    {"POST", "/v2/account/link/facebook", TV_HTTP_AUTH_SESSION, tv_provider_facebook},
    {"POST", "/v2/account/unlink/facebook", TV_HTTP_AUTH_SESSION, tv_provider_facebook},
    {"POST", "/v2/account/link/facebookinstantgame", TV_HTTP_AUTH_SESSION,
     tv_provider_facebook_instant},
    {"POST", "/v2/account/unlink/facebookinstantgame", TV_HTTP_AUTH_SESSION,
     tv_provider_facebook_instant},
    {"POST", "/v2/account/link/gamecenter", TV_HTTP_AUTH_SESSION, tv_provider_gamecenter},
    {"POST", "/v2/account/unlink/gamecenter", TV_HTTP_AUTH_SESSION, tv_provider_gamecenter},
    {"POST", "/v2/account/link/google", TV_HTTP_AUTH_SESSION, tv_provider_google},
    {"POST", "/v2/account/unlink/google", TV_HTTP_AUTH_SESSION, tv_provider_google},
    {"POST", "/v2/account/link/steam", TV_HTTP_AUTH_SESSION, tv_provider_steam},
    {"POST", "/v2/account/unlink/steam", TV_HTTP_AUTH_SESSION, tv_provider_steam},
    {"POST", "/v2/friend/facebook", TV_HTTP_AUTH_SESSION, tv_provider_facebook},
    {"POST", "/v2/friend/steam", TV_HTTP_AUTH_SESSION, tv_provider_steam},
    {"POST", "/v2/iap/purchase/apple", TV_HTTP_AUTH_SESSION, tv_iap_apple},
    {"POST", "/v2/iap/purchase/google", TV_HTTP_AUTH_SESSION, tv_iap_google},
    {"POST", "/v2/iap/purchase/huawei", TV_HTTP_AUTH_SESSION, tv_iap_huawei},
    {"POST", "/v2/iap/purchase/facebookinstant", TV_HTTP_AUTH_SESSION, tv_iap_facebook_instant},
    {"POST", "/v2/iap/subscription/apple", TV_HTTP_AUTH_SESSION, tv_iap_apple},
    {"POST", "/v2/iap/subscription/google", TV_HTTP_AUTH_SESSION, tv_iap_google},
    {"POST", "/v2/iap/subscription", TV_HTTP_AUTH_SESSION, hooked_subs_list},
    {"GET", "/v2/iap/subscription/{product_id}", TV_HTTP_AUTH_SESSION, hooked_subs_get},
    {"GET", "/v2/match", TV_HTTP_AUTH_SESSION, hooked_match_list},
    {"GET", "/v2/friend", TV_HTTP_AUTH_SESSION, hooked_friend_list},
    {"POST", "/v2/friend", TV_HTTP_AUTH_SESSION, hooked_friend_add},
    {"DELETE", "/v2/friend", TV_HTTP_AUTH_SESSION, hooked_friend_delete},
    {"POST", "/v2/friend/block", TV_HTTP_AUTH_SESSION, hooked_friend_block},
    {"GET", "/v2/friend/friends", TV_HTTP_AUTH_SESSION, hooked_friend_fof},
    {"GET", "/v2/group", TV_HTTP_AUTH_SESSION, hooked_group_list},
    {"POST", "/v2/group", TV_HTTP_AUTH_SESSION, hooked_group_create},
    {"PUT", "/v2/group/{id}", TV_HTTP_AUTH_SESSION, hooked_group_update},
    {"DELETE", "/v2/group/{id}", TV_HTTP_AUTH_SESSION, hooked_group_delete},
    {"POST", "/v2/group/{id}/join", TV_HTTP_AUTH_SESSION, hooked_group_join},
    {"POST", "/v2/group/{id}/leave", TV_HTTP_AUTH_SESSION, hooked_group_leave},
    {"POST", "/v2/group/{id}/add", TV_HTTP_AUTH_SESSION, hooked_group_add},
    {"POST", "/v2/group/{id}/kick", TV_HTTP_AUTH_SESSION, hooked_group_kick},
    {"POST", "/v2/group/{id}/promote", TV_HTTP_AUTH_SESSION, hooked_group_promote},
    {"POST", "/v2/group/{id}/demote", TV_HTTP_AUTH_SESSION, hooked_group_demote},
    {"POST", "/v2/group/{id}/ban", TV_HTTP_AUTH_SESSION, hooked_group_ban},
    {"GET", "/v2/group/{id}/user", TV_HTTP_AUTH_SESSION, hooked_group_users},
    {"GET", "/v2/user/{user_id}/group", TV_HTTP_AUTH_SESSION, hooked_user_groups},
    {"GET", "/v2/notification", TV_HTTP_AUTH_SESSION, hooked_notify_list},
    {"DELETE", "/v2/notification", TV_HTTP_AUTH_SESSION, hooked_notify_delete},
    {"GET", "/v2/channel/{channel_id}", TV_HTTP_AUTH_SESSION, hooked_channel_list},
    {"PUT", "/v2/storage", TV_HTTP_AUTH_SESSION, hooked_storage_write},
    {"POST", "/v2/storage", TV_HTTP_AUTH_SESSION, hooked_storage_read},
    {"PUT", "/v2/storage/delete", TV_HTTP_AUTH_SESSION, hooked_storage_delete},
    {"GET", "/v2/storage/{collection}", TV_HTTP_AUTH_SESSION, hooked_storage_list},
    {"GET", "/v2/storage/{collection}/{user_id}", TV_HTTP_AUTH_SESSION, hooked_storage_list},
    {"GET", "/v2/leaderboard/{id}", TV_HTTP_AUTH_SESSION, hooked_lb_list},
    {"POST", "/v2/leaderboard/{id}", TV_HTTP_AUTH_SESSION, hooked_lb_write},
    {"DELETE", "/v2/leaderboard/{id}", TV_HTTP_AUTH_SESSION, hooked_lb_delete},
    {"GET", "/v2/leaderboard/{id}/owner/{owner_id}", TV_HTTP_AUTH_SESSION, hooked_lb_around},
    {"GET", "/v2/tournament", TV_HTTP_AUTH_SESSION, hooked_tourn_list},
    {"GET", "/v2/tournament/{id}", TV_HTTP_AUTH_SESSION, hooked_tourn_records},
    {"POST", "/v2/tournament/{id}", TV_HTTP_AUTH_SESSION, hooked_tourn_write},
    {"PUT", "/v2/tournament/{id}", TV_HTTP_AUTH_SESSION, hooked_tourn_write},
    {"DELETE", "/v2/tournament/{id}", TV_HTTP_AUTH_SESSION, hooked_tourn_delete},
    {"POST", "/v2/tournament/{id}/join", TV_HTTP_AUTH_SESSION, hooked_tourn_join},
    {"GET", "/v2/tournament/{id}/owner/{owner_id}", TV_HTTP_AUTH_SESSION, hooked_tourn_around},
    {"GET", "/v2/shop", TV_HTTP_AUTH_SESSION, hooked_shop_list},
    {"GET", "/v2/wallet/ledger", TV_HTTP_AUTH_SESSION, hooked_ledger},
    {"POST", "/v2/shop/purchase", TV_HTTP_AUTH_SESSION, hooked_shop_purchase},
    {"GET", "/v2/inventory", TV_HTTP_AUTH_SESSION, hooked_inv_list},
    {"POST", "/v2/inventory/consume", TV_HTTP_AUTH_SESSION, hooked_inv_consume},
    {"POST", "/v2/event", TV_HTTP_AUTH_SESSION, hooked_event},
    {"POST", "/v2/rpc/{id}", TV_HTTP_AUTH_RPC, tv_mod_rpc_http},
    {"GET", "/v2/rpc/{id}", TV_HTTP_AUTH_RPC, tv_mod_rpc_http},
    {NULL, NULL, 0, NULL},
};

static const tv_http_route_t console_routes[] = {
    {"GET", "/healthcheck", TV_HTTP_AUTH_NONE, reply_health},
    /* its own rule: --metrics-open, --metrics-token or a console token (metrics_api.h) */
    {"GET", "/metrics", TV_HTTP_AUTH_NONE, tv_metrics_http_scrape},
    {"GET", "/v2/console/status", TV_HTTP_AUTH_CONSOLE, tv_metrics_http_status},
    {"GET", "/v2/console/status/history", TV_HTTP_AUTH_CONSOLE, tv_metrics_http_history},
    {"POST", "/v2/console/authenticate", TV_HTTP_AUTH_NONE, tv_console_authenticate},
    {"GET", "/v2/console/leaderboard", TV_HTTP_AUTH_CONSOLE, tv_lb_console_list},
    {"GET", "/v2/console/matchmaker", TV_HTTP_AUTH_CONSOLE, tv_mm_console_stats},
    {"GET", "/v2/console/matchmaker/matched", TV_HTTP_AUTH_CONSOLE, tv_mm_console_matched},
    {"GET", "/v2/console/matchmaker/tickets", TV_HTTP_AUTH_CONSOLE, tv_mm_console_tickets},
    {"POST", "/v2/console/leaderboard", TV_HTTP_AUTH_CONSOLE, tv_lb_console_create},
    {"DELETE", "/v2/console/leaderboard/{id}", TV_HTTP_AUTH_CONSOLE, tv_lb_console_delete},
    {"GET", "/v2/console/leaderboard/{id}", TV_HTTP_AUTH_CONSOLE, tv_lb_console_get},
    {"GET", "/v2/console/leaderboard/{id}/records", TV_HTTP_AUTH_CONSOLE, tv_lb_console_records},
    {"DELETE", "/v2/console/leaderboard/{id}/owner/{owner_id}", TV_HTTP_AUTH_CONSOLE,
     tv_lb_console_delete_record},
    {"POST", "/v2/console/tournament", TV_HTTP_AUTH_CONSOLE, tv_tourn_console_create},
    {"GET", "/v2/console/shop", TV_HTTP_AUTH_CONSOLE, tv_shop_console_list},
    {"PUT", "/v2/console/shop/{id}", TV_HTTP_AUTH_CONSOLE, tv_shop_console_put},
    {"POST", "/v2/console/shop/{id}/disable", TV_HTTP_AUTH_CONSOLE, tv_shop_console_disable},
    {"GET", "/v2/console/economy/{user_id}", TV_HTTP_AUTH_CONSOLE, tv_econ_console_view},
    {"GET", "/v2/console/economy/{user_id}/ledger", TV_HTTP_AUTH_CONSOLE, tv_econ_console_ledger},
    {"GET", "/v2/console/economy/{user_id}/receipts", TV_HTTP_AUTH_CONSOLE,
     tv_econ_console_receipts},
    {"POST", "/v2/console/economy/{user_id}/grant", TV_HTTP_AUTH_CONSOLE, tv_econ_console_grant},
    {"POST", "/v2/console/economy/{user_id}/revoke", TV_HTTP_AUTH_CONSOLE,
     tv_econ_console_revoke},
    {"POST", "/v2/console/receipt/{receipt_id}/refund", TV_HTTP_AUTH_CONSOLE,
     tv_econ_console_refund},
    {"GET", "/v2/console/account", TV_HTTP_AUTH_CONSOLE, tv_console_account_list},
    {"GET", "/v2/console/account/{user_id}", TV_HTTP_AUTH_CONSOLE, tv_console_account_get},
    {"PUT", "/v2/console/account/{user_id}", TV_HTTP_AUTH_CONSOLE, tv_console_account_update},
    {"DELETE", "/v2/console/account/{user_id}", TV_HTTP_AUTH_CONSOLE, tv_console_account_delete},
    {"POST", "/v2/console/account/{user_id}/ban", TV_HTTP_AUTH_CONSOLE, tv_console_account_ban},
    {"POST", "/v2/console/account/{user_id}/unban", TV_HTTP_AUTH_CONSOLE,
     tv_console_account_unban},
    {"GET", "/v2/console/account/{user_id}/export", TV_HTTP_AUTH_CONSOLE,
     tv_console_account_export},
    {"POST", "/v2/console/explorer/token", TV_HTTP_AUTH_CONSOLE, tv_console_explorer_token},
    {"GET", "/v2/console/explorer/endpoints", TV_HTTP_AUTH_CONSOLE,
     tv_console_explorer_endpoints},
    {"GET", "/v2/console/config", TV_HTTP_AUTH_CONSOLE, tv_console_config},
    {"GET", "/v2/console/module", TV_HTTP_AUTH_CONSOLE, tv_mod_console_list},
    {"POST", "/v2/console/module/reload", TV_HTTP_AUTH_CONSOLE, tv_mod_console_reload},
    {"GET", "/v2/console/match", TV_HTTP_AUTH_CONSOLE, tv_match_console_list},
    {"GET", "/v2/console/match/{match_id}", TV_HTTP_AUTH_CONSOLE, tv_match_console_get},
    {"POST", "/v2/console/match/{match_id}/stop", TV_HTTP_AUTH_CONSOLE, tv_match_console_stop},
    {"GET", "/v2/console/storage/collections", TV_HTTP_AUTH_CONSOLE,
     tv_storage_console_collections},
    {"GET", "/v2/console/storage", TV_HTTP_AUTH_CONSOLE, tv_storage_console_list},
    {"GET", "/v2/console/storage/{collection}/{key}/{user_id}", TV_HTTP_AUTH_CONSOLE,
     tv_storage_console_get},
    {"PUT", "/v2/console/storage/{collection}/{key}/{user_id}", TV_HTTP_AUTH_CONSOLE,
     tv_storage_console_put},
    {"DELETE", "/v2/console/storage/{collection}/{key}/{user_id}", TV_HTTP_AUTH_CONSOLE,
     tv_storage_console_delete},
    {"GET", "/v2/console/user", TV_HTTP_AUTH_CONSOLE, tv_console_user_list},
    {"POST", "/v2/console/user", TV_HTTP_AUTH_CONSOLE, tv_console_user_create},
    {"PUT", "/v2/console/user/{username}", TV_HTTP_AUTH_CONSOLE, tv_console_user_update},
    {"DELETE", "/v2/console/user/{username}", TV_HTTP_AUTH_CONSOLE, tv_console_user_delete},
    {"POST", "/v2/console/user/{username}/unlock", TV_HTTP_AUTH_CONSOLE, tv_console_user_unlock},
    {"GET", "/v2/console/audit", TV_HTTP_AUTH_CONSOLE, tv_console_audit_list},
    {NULL, NULL, 0, NULL},
};

typedef struct {
    tv_app_t app;
    tv_db_t *db;
    tv_workers_t *workers;
    tv_rt_t *rt;
    tv_http_t *api, *console;
    tv_acceptor_t *acceptor;
    tv_amatch_t *amatch;               /* authoritative matches and their tick scheduler */
    tv_status_t *status;               /* status presences and follows */
    tv_chat_t *chat;                   /* chat channels and their write queues */
    tv_party_svc_t *party;             /* this node's parties */
} server_t;

static void match_list(tv_http_req_t *req, void *app)
{
    tv_match_list_http(req, ((tv_app_t *)app)->matches);
}

static int ensure_dir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return TV_OK;
    tv_log_error("server", "cannot create data dir %s: %s", path, strerror(errno));
    return TV_EUNAVAIL;
}

int tv_server_open_db(const tv_config_t *cfg, tv_db_t **db)
{
    char url[4096], err[512];
    if (cfg->db_url) {
        snprintf(url, sizeof url, "%s", cfg->db_url);
    } else {
        if (ensure_dir(cfg->data_dir))
            return TV_EUNAVAIL;
        snprintf(url, sizeof url, "sqlite://%s/tavern.db", cfg->data_dir);
    }
    int rc = tv_db_open(url, cfg->db_pool, db, err, sizeof err);
    if (rc)
        tv_log_error("server", "database: %s", err);
    return rc;
}

/* Reads <data_dir>/<name>, or makes a random secret there (mode 0600) on first start. */
static int load_secret(const tv_config_t *cfg, const char *name, char **out)
{
    char path[4096], buf[2 * SECRET_BYTES + 2] = "";
    snprintf(path, sizeof path, "%s/%s", cfg->data_dir, name);
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        buf[strcspn(buf, "\r\n")] = 0;
        if (strlen(buf) < 32) {
            tv_log_error("server", "%s is too short to be a secret: delete it or fix it", path);
            return TV_EINVAL;
        }
        return (*out = strdup(buf)) ? TV_OK : TV_ENOMEM;
    }
    unsigned char raw[SECRET_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(buf, sizeof buf, raw, sizeof raw);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf) || close(fd) != 0) {
        tv_log_error("server", "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return TV_EUNAVAIL;
    }
    tv_log_info("server", "generated a new secret in %s", path);
    return (*out = strdup(buf)) ? TV_OK : TV_ENOMEM;
}

static int derive_console_key(tv_app_t *app)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)app->session_key,
                                strlen(app->session_key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"tavern-console", 14);
    crypto_auth_hmacsha256_final(&st, mac);
    app->console_key = malloc(2 * sizeof mac + 1);
    if (!app->console_key)
        return TV_ENOMEM;
    sodium_bin2hex(app->console_key, 2 * sizeof mac + 1, mac, sizeof mac);
    return TV_OK;
}

static int load_keys(const tv_config_t *cfg, tv_app_t *app)
{
    int rc = ensure_dir(cfg->data_dir);
    if (!rc)
        rc = cfg->session_secret ? ((app->session_key = strdup(cfg->session_secret)) ? 0 : TV_ENOMEM)
                                 : load_secret(cfg, "session.key", &app->session_key);
    if (!rc)
        rc = cfg->refresh_secret ? ((app->refresh_key = strdup(cfg->refresh_secret)) ? 0 : TV_ENOMEM)
                                 : load_secret(cfg, "refresh.key", &app->refresh_key);
    if (!rc && strcmp(app->session_key, app->refresh_key) == 0) {
        tv_log_error("server", "--session-secret and --refresh-secret must differ");
        rc = TV_EINVAL;
    }
    return rc ? rc : derive_console_key(app);
}

static int rt_auth(void *ud, const char *token, tv_rt_identity_t *out)
{
    tv_app_t *app = ud;
    tv_token_claims_t c;
    int rc = tv_token_decode(app->session_key, token, tv_now_s(), &c);
    if (rc == TV_OK && (!tv_uuid_valid(c.uid) || !tv_session_cache_allows(app->sessions, &c)))
        rc = TV_EUNAUTH;
    if (rc == TV_OK) {
        snprintf(out->user_id, sizeof out->user_id, "%s", c.uid);
        snprintf(out->username, sizeof out->username, "%s", c.usn);
        out->expires_at = c.exp;
    }
    tv_token_claims_free(&c);
    return rc;
}

static void route_socket(void *ud, int fd, int is_ws, const struct sockaddr *sa, socklen_t salen)
{
    server_t *s = ud;
    if (is_ws)
        tv_rt_adopt(s->rt, fd);
    else
        tv_http_add_connection(s->api, fd, sa, salen);
}

/* (Re)loads the modules of --module-path (default <data-dir>/modules). A module that fails is
 * refused and logged; the server runs on with the others. */
static void load_modules(server_t *s)
{
    char dir[4096];
    tv_mod_dir(s->app.cfg, dir, sizeof dir);
    tv_mod_load_dir(s->app.modules, dir);
}

static void warn_defaults(const tv_config_t *cfg)
{
    if (strcmp(cfg->console_user, "admin") == 0 && strcmp(cfg->console_password, "password") == 0)
        tv_log_warn("server", "*** the console uses the default user admin / password: set "
                              "--console-user and --console-password before going live ***");
    if (strcmp(cfg->server_key, "defaultkey") == 0)
        tv_log_warn("server", "the server key is the default 'defaultkey': set --server-key "
                              "for production");
}

static int start_http(server_t *s, const tv_config_t *cfg)
{
    tv_http_opts_t api = {"api", cfg->address, -1, cfg->http_threads, (size_t)cfg->max_body,
                          api_routes, tv_auth_check, &s->app, s->workers,
                          .slow_ms = cfg->slow_request_ms};
    int rc = tv_http_start(&api, &s->api);
    if (rc)
        return rc;
    tv_http_opts_t con = {"console", cfg->address, cfg->console_port, 1, (size_t)cfg->max_body,
                          console_routes, tv_auth_check, &s->app, s->workers,
                          .files = tv_web_console, .done = tv_console_audit_done,
                          .slow_ms = cfg->slow_request_ms};
    return tv_http_start(&con, &s->console);
}

/* A board's period ended: the modules' reset hook runs (on the leaderboards' reset thread). */
static void lb_reset_hook(void *registry, const char *id, int tournament, int64_t reset_time)
{
    tv_mod_lb_reset_call(registry, id, tournament, reset_time);
}

static int sched_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* match_join{token}: a matchmaker token signed with the session key names the match. */
static int match_token_check(void *app, const char *token, char *match_id, size_t size)
{
    return tv_token_match_decode(((tv_app_t *)app)->session_key, token, tv_now_s(), match_id,
                                 size);
}

/* A matched group: a module's hook may give it an authoritative match. */
static int mm_matched_hook(void *registry, const char *entries, char **match_id)
{
    int rc = tv_mod_mm_matched_call(registry, entries, match_id);
    return rc == TV_ENOTFOUND ? TV_OK : rc;
}

/* The matchmaker's handlers and thread, and the token check of the matches it makes. */
static int start_matchmaker(server_t *s, const tv_config_t *cfg)
{
    tv_mm_opts_t o = {
        .interval_ms = cfg->mm_interval_ms,
        .params = {.max_intervals = cfg->mm_max_intervals,
                   .rating_step = cfg->mm_rating_step,
                   .rating_property = cfg->mm_rating_property,
                   .max_per_session = cfg->mm_max_tickets},
        .token_key = s->app.session_key,
        .matched = mm_matched_hook,
        .matched_ud = s->app.modules,
    };
    tv_match_set_token_check(s->app.matches, match_token_check, &s->app);
    return tv_mm_new(s->rt, &o, &s->app.matchmaker);
}

/* The server's own RPCs, before modules load (a module's RPC of the same id replaces one). */
static int add_builtin_rpcs(server_t *s)
{
    for (const tv_econ_rpc_t *e = tv_econ_rpcs; e->id; e++) {
        int rc = tv_mod_builtin_add(s->app.modules, e->id, e->hook_api, e->fn, s->app.shop);
        if (rc) {
            tv_log_error("server", "built-in RPC %s: %s", e->id, tv_error_name(rc));
            return rc;
        }
    }
    return TV_OK;
}

static int start(server_t *s, const tv_config_t *cfg)
{
    s->app.cfg = cfg;
    s->app.api_routes = api_routes;
    int rc = load_keys(cfg, &s->app);
    if (!rc)
        rc = tv_server_open_db(cfg, &s->db);
    char err[512] = "";
    if (!rc && (rc = tv_db_migrate_up(s->db, err, sizeof err)) != TV_OK)
        tv_log_error("server", "%s", err);
    s->app.db = s->db;
    if (!rc)
        tv_mod_host_set_wallets(s->db); /* before modules: their init may use it */
    if (!rc && !(s->app.sessions = tv_session_cache_new()))
        rc = TV_ENOMEM;
    if (!rc)
        rc = tv_session_cache_load(s->app.sessions, s->db, tv_now_s());
    if (!rc && !(s->app.pw = tv_password_new(cfg->hash_concurrency)))
        rc = TV_ENOMEM;
    /* the bootstrap admin: hashes (slow), here at start-up before any daemon runs */
    if (!rc && (rc = tv_console_new(s->db, s->app.pw, cfg, s->app.console_key, s->app.session_key,
                                    &s->app.console)) == TV_OK)
        rc = tv_console_bootstrap(s->app.console);
    if (!rc && (s->app.notify = tv_notify_new(s->db)) == NULL)
        rc = TV_ENOMEM;
    if (!rc)
        tv_mod_host_set_notify(s->app.notify); /* before modules: their init may send */
    if (!rc && (rc = tv_storage_new(s->db, s->app.session_key, &s->app.storage)) == TV_OK)
        tv_storage_host_install(s->app.storage); /* before modules: their init may use it */
    /* boards and their rank caches load before any socket is served, and before modules
     * (whose init may create boards) */
    if (!rc)
        rc = tv_lb_new(s->db, &s->app.leaderboards);
    if (!rc && (rc = tv_shop_new(s->db, &s->app.shop)) == TV_OK)
        tv_mod_host_set_shop(s->app.shop); /* before modules: their init may stock the shop */
    if (!rc && (rc = tv_mod_registry_new(&s->app.modules)) == TV_OK)
        rc = add_builtin_rpcs(s);
    if (!rc) {
        tv_mod_host_set_leaderboards(s->app.leaderboards);
        rc = tv_lb_start_resets(s->app.leaderboards, lb_reset_hook, s->app.modules);
    }
    if (!rc)
        load_modules(s);
    if (!rc)
        rc = tv_mod_events_new(s->app.modules, &s->app.events);
    if (!rc && !(s->workers = tv_workers_new(cfg->workers, WORKER_QUEUE)))
        rc = TV_ENOMEM;
    /* Nakama's 4096 B message limit; pings every 15 s, pong due in 25 s by default */
    tv_rt_opts_t ro = {.threads = cfg->ws_threads, .max_message = 4096, .header_limit = 16384,
                       .auth = rt_auth, .auth_ud = &s->app,
                       .ping_interval_s = cfg->ws_ping_interval,
                       .pong_timeout_s = cfg->ws_pong_timeout};
    if (!rc)
        rc = tv_rt_start(&ro, &s->rt);
    if (!rc)
        s->app.rt = s->rt; /* a ban or a console deletion closes the user's sockets */
    if (!rc)
        rc = tv_match_new(s->rt, &s->app.matches); /* registers its messages: before any socket */
    if (!rc) /* tick threads: one per core, at most 8 */
        rc = tv_amatch_new(s->rt, s->app.matches, s->app.modules, sched_threads(), &s->amatch);
    if (!rc)
        s->app.amatch = s->amatch; /* the console lists and stops them */
    if (!rc && (rc = start_matchmaker(s, cfg)) == TV_OK)
        tv_mm_host_install(s->app.matchmaker); /* modules may add tickets from now on */
    if (!rc) {
        tv_party_opts_t po = {TV_AMATCH_NODE, cfg->mm_rating_property};
        rc = tv_party_svc_new(s->rt, s->app.matchmaker, &po, &s->party); /* after mm */
    }
    if (!rc)
        rc = tv_mod_rt_register(s->rt, s->app.modules, s->workers);
    if (!rc)
        rc = tv_status_new(s->rt, s->db, s->workers, &s->status);
    if (!rc)
        rc = tv_chat_new(s->rt, s->db, s->workers, s->app.notify, &s->chat);
    if (!rc)
        s->app.chat = s->chat; /* before the HTTP daemons: group changes reach the channels */
    if (!rc)
        tv_chat_stream_host_install(s->chat); /* modules' streams live in chat's index */
    if (!rc)
        tv_notify_set_rt(s->app.notify, s->rt);
    if (!rc) {
        tv_metrics_sources_t ms = {s->rt, s->app.matches, s->amatch, s->db, s->app.matchmaker,
                                   TV_AMATCH_NODE, cfg->status_sample_ms};
        rc = tv_metrics_svc_new(&ms, &s->app.metrics); /* before the console serves */
    }
    if (!rc)
        rc = start_http(s, cfg);
    if (!rc)
        rc = tv_acceptor_start(cfg->address, cfg->port, route_socket, s, &s->acceptor);
    if (rc == TV_EUNAVAIL && !s->acceptor && s->console)
        tv_log_error("server", "cannot listen on %s:%d (in use?)", cfg->address, cfg->port);
    return rc;
}

/* One line of authoritative-match figures (until the metrics endpoint shows them). */
static void log_match_stats(server_t *s)
{
    if (!s->amatch)
        return;
    tv_amatch_stats_t st;
    tv_amatch_stats(s->amatch, &st);
    tv_log_info("match", "matches %lld (created %lld), presences %lld, inputs %lld (dropped %lld); "
                "ticks %lld: p50 %lld us, p99 %lld us, max %lld us, overruns %lld, late %lld",
                (long long)st.matches, (long long)st.created, (long long)st.presences,
                (long long)st.inputs, (long long)st.inputs_dropped, (long long)st.sched.ticks,
                (long long)st.sched.p50_us, (long long)st.sched.p99_us, (long long)st.sched.max_us,
                (long long)st.sched.overruns, (long long)st.sched.late);
}

static void stop(server_t *s)
{
    tv_acceptor_stop(s->acceptor);      /* no new sockets */
    if (s->workers)                     /* finish queued requests: they resume their sockets */
        tv_workers_stop(s->workers);
    tv_http_stop(s->console);
    tv_http_stop(s->api);
    tv_metrics_svc_free(s->app.metrics);    /* no handler runs now; its sources still live */
    s->app.metrics = NULL;
    log_match_stats(s);
    tv_amatch_shutdown(s->amatch, 0);       /* no RPC can create a match now: terminate, stop */
    tv_mm_stop(s->app.matchmaker);          /* its thread calls module hooks and pushes */
    tv_mm_host_uninstall();                 /* module calls from here answer UNAVAILABLE */
    tv_mod_events_free(s->app.events);      /* runs the hooks of what is queued, then ends */
    s->app.events = NULL;
    tv_chat_stream_host_uninstall();        /* the same, before rt stops and chat goes */
    tv_mod_host_set_leaderboards(NULL);
    tv_lb_free(s->app.leaderboards);      /* its reset thread calls module code */
    s->app.leaderboards = NULL;
    tv_notify_set_rt(s->app.notify, NULL);  /* module code has stopped: nothing pushes now */
    s->app.rt = NULL;                       /* the HTTP daemons have stopped: nobody reads it */
    if (s->rt)
        tv_rt_stop(s->rt);
    /* only now: the daemons above and the sockets' handlers (chat's presence flushes and
     * writes, a closing socket's leaves) could still submit, and are answered TV_EUNAVAIL */
    tv_workers_free(s->workers);
    tv_match_free(s->app.matches);          /* after rt: its close listener runs until then */
    tv_amatch_free(s->amatch);              /* after rt too, for the same reason */
    tv_status_free(s->status);              /* after rt and the workers: both reach it */
    tv_chat_free(s->chat);                  /* the same, and before notify (its DM joins) */
    tv_party_svc_free(s->party);            /* after rt (its close listener), before mm */
    tv_mm_free(s->app.matchmaker);          /* after rt: its close listener queues work */
    tv_mod_host_set_wallets(NULL);
    tv_mod_host_set_shop(NULL);
    tv_mod_registry_free(s->app.modules); /* modules still in use unload when released */
    tv_mod_host_set_notify(NULL);           /* no module call runs any more */
    tv_notify_free(s->app.notify);
    tv_storage_host_uninstall();            /* no module call runs any more */
    tv_storage_free(s->app.storage);
    tv_shop_free(s->app.shop);
    tv_console_free(s->app.console);
    tv_password_free(s->app.pw);
    tv_session_cache_free(s->app.sessions);
    tv_db_close(s->db);
    free(s->app.session_key);
    free(s->app.refresh_key);
    free(s->app.console_key);
}

/* Forgets revocations past their expiry, in memory and in the database. */
static void janitor(server_t *s)
{
    int64_t now = tv_now_s();
    tv_session_cache_prune(s->app.sessions, now);
    tv_db_conn_t *c;
    if (tv_db_acquire(s->db, &c) != TV_OK)
        return;
    char t[24];
    tv_i64_str(t, now);
    const char *args[] = {t};
    tv_db_execp(c, "DELETE FROM session_revoked WHERE expires_at <= $1", 1, args, NULL);
    tv_db_release(s->db, c);
}

int tv_server_run(const tv_config_t *cfg)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads started below inherit the mask */
    signal(SIGPIPE, SIG_IGN);
    warn_defaults(cfg);

    server_t s = {0};
    if (start(&s, cfg) != TV_OK) {
        stop(&s);
        return 1;
    }
    tv_log_info("server", "ready api=%s:%d console=%s:%d db=%s", cfg->address,
                tv_acceptor_port(s.acceptor), cfg->address, tv_http_port(s.console),
                tv_db_engine(s.db));
    struct timespec period = {JANITOR_PERIOD_S, 0};
    int sig;
    while ((sig = sigtimedwait(&set, NULL, &period)) < 0 || sig == SIGHUP) {
        if (sig == SIGHUP) {
            tv_log_info("server", "SIGHUP: reloading modules");
            load_modules(&s);
        } else if (errno == EAGAIN) {
            janitor(&s);
            log_match_stats(&s);
        }
    }
    tv_log_info("server", "signal %d: shutting down", sig);
    stop(&s);
    tv_log_info("server", "stopped");
    return 0;
}
