/* Modules: the loader (every *.so of --module-path, again on SIGHUP), the registry of what they
 * registered (RPCs, hooks, match handlers) as reference-counted immutable generations, RPC
 * over HTTP (/v2/rpc/{id}) and the before/after hooks around API handlers. */
#ifndef TV_MODULES_MODULES_H
#define TV_MODULES_MODULES_H

#include <stddef.h>
#include <stdint.h>

#include <tavern/module.h>

#include "http.h"

typedef struct tv_mod_registry tv_mod_registry_t;
/* One loaded set of modules and their registrations. Immutable; reference-counted. */
typedef struct tv_mod_gen tv_mod_gen_t;

/* An empty registry (no modules). *out is owned by the caller (tv_mod_registry_free). */
int tv_mod_registry_new(tv_mod_registry_t **out);
/* Drops the current generation. Modules still referenced (a running match, a call in flight)
 * stay loaded until their last reference goes. */
void tv_mod_registry_free(tv_mod_registry_t *r);

/* Loads every *.so in dir (sorted by name) into a new generation and makes it current; the
 * previous generation lives on until its last reader releases it. A module that cannot load
 * is refused with one log line and the others load. A missing dir is an empty set. Returns
 * the number of modules loaded, or TV_EUNAVAIL when dir cannot be read (the current
 * generation is then kept). Calls modules' init on this thread; one load at a time. */
int tv_mod_load_dir(tv_mod_registry_t *r, const char *dir);

/* The module folder of a configuration: --module-path, else <data-dir>/modules. */
struct tv_config;
void tv_mod_dir(const struct tv_config *cfg, char *out, size_t size);

/* The current generation, with a reference (NULL when r is NULL). Cheap: readers never wait
 * for a load in progress. */
tv_mod_gen_t *tv_mod_acquire(tv_mod_registry_t *r);
/* Releases a reference; the last one unloads the modules nobody else holds. NULL is fine. */
void tv_mod_release(tv_mod_gen_t *g);
/* How many modules g holds, and the id of the generation (1 for the first load). */
size_t tv_mod_gen_count(const tv_mod_gen_t *g);
uint64_t tv_mod_gen_id(const tv_mod_gen_t *g);
/* Shared objects mapped right now, in every generation and match reference (for tests and
 * metrics). */
int tv_mod_live(void);

/* --- RPC --------------------------------------------------------------------------------- */

/* Who calls an RPC. All borrowed; NULL strings read as "". */
typedef struct tv_mod_caller {
    const char *user_id;       /* NULL or "": no user (HTTP key, server) */
    const char *username;
    const char *vars_json;     /* the session's vars as a JSON object text, or NULL */
    int64_t expiry;            /* the session token's exp, 0 = none */
    const char *session_id;    /* the socket session, NULL over HTTP */
    const tv_mod_kv_t *query;  /* HTTP query parameters without http_key */
    size_t nquery;
} tv_mod_caller_t;

/* Calls the RPC id (case-insensitive) of the current generation, else the built-in one of
 * that id (inside the hooks of its API), on the calling thread (a worker: the function may
 * be slow). payload holds len bytes and must have a NUL at payload[len] (modules are
 * promised one); NULL reads as "". Returns TV_ENOTFOUND when neither a module nor the server
 * has id, TV_ENOMEM; otherwise TV_OK with *code the function's gRPC code (0, or 1-16: others
 * become 13) and either *out and *out_len (code 0; malloc'd, NUL-terminated, owned by the
 * caller) or *message (code != 0; malloc'd text owned by the caller). */
int tv_mod_rpc_call(tv_mod_registry_t *r, const char *id, const char *payload, size_t len,
                    const tv_mod_caller_t *who, char **out, size_t *out_len, int *code,
                    char **message);

/* Registers the realtime `rpc` message with rt: calls run on workers and answer on the
 * socket. registry and workers are borrowed and must outlive rt's sessions. */
struct tv_rt;
struct tv_workers;
int tv_mod_rt_register(struct tv_rt *rt, tv_mod_registry_t *registry, struct tv_workers *workers);

/* --- built-in RPCs ------------------------------------------------------------------------ */

/* A function the server itself answers under an RPC id (the economy's shop_purchase, ...),
 * reached exactly as a module's RPC is: /v2/rpc/{id}, the socket's rpc, nakama-js
 * client.rpc. Runs on a worker. payload holds len bytes followed by a NUL ("" when empty).
 * Returns 0 with *out (malloc'd text owned by the caller; NULL answers an empty payload), or
 * a gRPC code (1-16) with *message (malloc'd, owned by the caller; NULL = a generic text). */
typedef int (*tv_mod_builtin_fn)(void *ud, const tv_mod_caller_t *who, const char *payload,
                                 size_t len, char **out, char **message);

#define TV_MOD_BUILTINS_MAX 16

/* Registers the built-in RPC id (case-insensitive, 1-128 bytes), answered by fn(ud, ...).
 * hook_api (borrowed, static; NULL = none) names the REST API whose module before/after hooks
 * run around it, so a hook on the REST call governs the RPC form too. A module's RPC of the
 * same id takes precedence (a warning is logged at load). Only at start-up, before the
 * registry is shared with other threads: the table is read without a lock. TV_EINVAL,
 * TV_ECONFLICT (id taken), TV_EBUSY (TV_MOD_BUILTINS_MAX reached), TV_ENOMEM. */
int tv_mod_builtin_add(tv_mod_registry_t *r, const char *id, const char *hook_api,
                       tv_mod_builtin_fn fn, void *ud);

/* 1 when id (any case) is a module's RPC in the current generation or a built-in one. */
int tv_mod_rpc_exists(tv_mod_registry_t *r, const char *id);

/* Calls fn once per RPC id callable now: the current generation's (sorted, with the module's
 * name) and then the built-in ones no module replaces (module NULL). Strings are borrowed for
 * the call only. Returns how many. */
typedef void (*tv_mod_rpc_list_fn)(void *ud, const char *id, const char *module);
int tv_mod_rpc_list(tv_mod_registry_t *r, tv_mod_rpc_list_fn fn, void *ud);

/* POST and GET /v2/rpc/{id} (route auth TV_HTTP_AUTH_RPC); app is a tv_app_t. */
void tv_mod_rpc_http(tv_http_req_t *req, void *app);

/* --- hooks around API handlers ----------------------------------------------------------- */

/* Runs fn (a route handler) inside the module hooks registered for api (Nakama's name, e.g.
 * "AuthenticateDevice"): a before hook may replace the JSON body or answer with its error
 * instead of fn; an after hook sees a 200 answer before it is sent. app is a tv_app_t. */
void tv_mod_hooked(tv_http_req_t *req, void *app, const char *api, tv_http_handler_fn fn);

/* Defines the route handler `name`: fn wrapped in the hooks of api. One line per API:
 *   TV_MOD_HOOKED(hooked_auth_device, "AuthenticateDevice", tv_auth_device)
 * and the route table points at hooked_auth_device. */
#define TV_MOD_HOOKED(name, api, fn)                                                        \
    static void name(tv_http_req_t *req, void *app) { tv_mod_hooked(req, app, api, fn); }

/* --- leaderboard resets ------------------------------------------------------------------- */

/* Calls the reset hook a module registered (register_leaderboard_reset), on this thread.
 * Returns its gRPC code (logged when not 0), or TV_ENOTFOUND when none is registered. */
int tv_mod_lb_reset_call(tv_mod_registry_t *r, const char *id, int tournament,
                         int64_t reset_time);

/* --- the matchmaker ------------------------------------------------------------------------ */

/* Calls the matchmaker_matched hook a module registered, on this thread, with the group's
 * users (JSON array text). TV_OK with *match_id (malloc'ed, the caller frees it) or NULL for a
 * relayed match; TV_EINTERNAL when the hook failed (logged; *match_id NULL); TV_ENOTFOUND
 * when no module registered one. */
int tv_mod_mm_matched_call(tv_mod_registry_t *r, const char *entries, char **match_id);

/* --- clients' events (POST /v2/event; events.c) ------------------------------------------- */

#define TV_MOD_EVENT_QUEUE 1024  /* events waiting for the hooks; more are dropped (logged) */
#define TV_MOD_EVENT_MAX 16384   /* bytes of one event's JSON */

typedef struct tv_mod_events tv_mod_events_t;
/* The event queue and its thread, calling r's event hooks. *out owned by the caller. TV_OK,
 * TV_ENOMEM. */
int tv_mod_events_new(tv_mod_registry_t *r, tv_mod_events_t **out);
/* Calls the hooks of what is still queued, then stops the thread and frees q (NULL fine).
 * After the HTTP daemons stop, before the registry is freed. */
void tv_mod_events_free(tv_mod_events_t *q);
/* Queues one event (json: len bytes, copied) for the hooks, with who (copied). TV_OK; TV_EBUSY
 * when the queue is full or stopping (dropped, logged at most every 10 s); TV_EUNAVAIL
 * without a queue; TV_ENOMEM. */
int tv_mod_event_post(tv_mod_events_t *q, const tv_mod_caller_t *who, const char *json,
                      size_t len);
/* 1 when a module of the current generation registered an event hook. */
int tv_mod_event_wanted(tv_mod_registry_t *r);
/* Calls every event hook of the current generation with the event, on this thread; codes
 * other than 0 are logged. */
void tv_mod_event_call(tv_mod_registry_t *r, const tv_mod_caller_t *who, const char *json,
                       size_t len);
/* POST /v2/event (session auth; app is a tv_app_t): {name, timestamp, external, properties}
 * → {} at once, the event queued for the hooks when any module has one. */
void tv_mod_event_http(tv_http_req_t *req, void *app);

/* The leaderboard registry the host table's leaderboard entries use (NULL: they answer
 * UNAVAILABLE). Set by the server after the registry loads, cleared before it is freed. */
struct tv_lb;
void tv_mod_host_set_leaderboards(struct tv_lb *lb);
/* Installs the notification room for the host table's notification_send (NULL: the entry
 * answers UNAVAILABLE). */
struct tv_notify;
void tv_mod_host_set_notify(struct tv_notify *n);

/* The database the host table's wallet and inventory entries use (NULL: they answer
 * UNAVAILABLE). Set by the server after migrations, cleared before the database closes. */
struct tv_db;
void tv_mod_host_set_wallets(struct tv_db *db);
/* The shop catalog the host table's shop entries use (NULL: they answer UNAVAILABLE). Set by
 * the server after the catalog loads and before modules, cleared before it is freed. */
struct tv_shop;
void tv_mod_host_set_shop(struct tv_shop *shop);

/* --- match handlers (for the match scheduler) -------------------------------------------- */

/* A registered kind of match, held by a reference that keeps its module's code loaded. */
typedef struct tv_mod_match tv_mod_match_t;

/* Finds the match handler registered as name (case-insensitive) in the current generation
 * and takes a reference to it: its handler and code stay valid until tv_mod_match_release,
 * across any number of reloads. TV_ENOTFOUND when no module registered name. */
int tv_mod_match_acquire(tv_mod_registry_t *r, const char *name, tv_mod_match_t **out);
/* The callbacks (a copy, zero past what the module's struct had). Borrowed from m. */
const tv_mod_match_handler_t *tv_mod_match_handler(const tv_mod_match_t *m);
/* The module handle to put in tv_mod_match_ctx_t.module, and the module's name. */
tv_module_t *tv_mod_match_module(const tv_mod_match_t *m);
const char *tv_mod_match_module_name(const tv_mod_match_t *m);
void tv_mod_match_release(tv_mod_match_t *m);

#endif
