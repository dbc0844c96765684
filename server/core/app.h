/* What request handlers share: configuration, the database, the password limiter, token keys
 * and the session deny-list. Built by server.c at start-up; read-only afterwards (the members
 * point at thread-safe objects). */
#ifndef TV_CORE_APP_H
#define TV_CORE_APP_H

#include "config.h"

struct tv_db;
struct tv_password;
struct tv_session_cache;
struct tv_mod_registry;
struct tv_match;
struct tv_storage;
struct tv_notify;
struct tv_lb;
struct tv_mm;
struct tv_shop;
struct tv_chat;
struct tv_rt;
struct tv_http_route;
struct tv_amatch;
struct tv_console;
struct tv_metrics_svc;
struct tv_mod_events;

typedef struct tv_app {
    const tv_config_t *cfg;
    struct tv_db *db;
    struct tv_password *pw;
    struct tv_session_cache *sessions;
    char *session_key;     /* owned by the server; HMAC keys of the three token kinds */
    char *refresh_key;
    char *console_key;     /* derived from the session key: console and game tokens differ */
    struct tv_mod_registry *modules; /* RPCs, hooks and match handlers of loaded modules */
    struct tv_match *matches;        /* match registry (relayed and authoritative) */
    struct tv_storage *storage;      /* storage objects */
    struct tv_notify *notify;        /* notifications: stored, pushed to sockets */
    struct tv_lb *leaderboards;      /* boards, tournaments and their rank caches */
    struct tv_mm *matchmaker;        /* matchmaker tickets and the matcher thread */
    struct tv_shop *shop;            /* the shop catalog and its cache */
    struct tv_chat *chat;            /* chat channels (groups take leavers out of theirs) */
    struct tv_rt *rt;                /* WebSocket sessions (a ban or a deletion closes them) */
    const struct tv_http_route *api_routes; /* the API port's route table (the API explorer) */
    struct tv_amatch *amatch;        /* authoritative matches (the console lists and stops) */
    struct tv_console *console;      /* console users, their cache and the audit log */
    struct tv_metrics_svc *metrics;  /* /metrics gauges and the Status page's sampler */
    struct tv_mod_events *events;    /* POST /v2/event's queue to the modules' event hooks */
} tv_app_t;

#endif
