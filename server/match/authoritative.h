/* Authoritative matches ("<uuid>.<node>"): instances of module match handlers, each ticked by
 * the scheduler, fed by the match registry's hooks (join, leave, data, listing) and the rt
 * close listener, and reachable from modules through the host table (match_create and the
 * dispatcher entries). */
#ifndef TV_MATCH_AUTHORITATIVE_H
#define TV_MATCH_AUTHORITATIVE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include <tavern/module.h>

#include "scheduler.h"

struct tv_rt;
struct tv_match;
struct tv_mod_registry;

/* The node part of authoritative match ids (Nakama's config "name"; tavern has one node). */
#define TV_AMATCH_NODE "tavern"
/* Input messages queued per match between loops (Nakama's 128); more are dropped. */
#define TV_AMATCH_INPUT_QUEUE 128
/* Join attempts and leaves queued per match between loops. */
#define TV_AMATCH_CALL_QUEUE 128
#define TV_AMATCH_LABEL_MAX 2048
/* The longest reconnect grace a match may ask for (match_set_reconnect_grace), seconds. */
#define TV_AMATCH_RECONNECT_MAX 300
/* Signals (match_signal) queued per match between loops (Nakama's 10); more are refused. */
#define TV_AMATCH_SIGNAL_QUEUE 10
/* How long match_signal waits for the match to run its signal callback, milliseconds. */
#define TV_AMATCH_SIGNAL_TIMEOUT_MS 10000

typedef struct tv_amatch tv_amatch_t;

/* Makes the room: a scheduler with `threads` tick threads, the hooks installed on matches
 * (tv_match_set_authoritative), a close listener on rt, and the host table's match entries
 * pointed at this instance. Call before the first socket arrives (rt's registration rule).
 * modules is borrowed (handlers are looked up in it at match_create). *out is owned by the
 * caller: tv_amatch_shutdown, then tv_amatch_free after tv_rt_stop. TV_OK, TV_ENOMEM, or rt's
 * registration error. */
int tv_amatch_new(struct tv_rt *rt, struct tv_match *matches, struct tv_mod_registry *modules,
                int threads, tv_amatch_t **out);
/* Server shutdown: every match gets terminate(grace_s) at its next tick and then ends; waits
 * for them (at most about grace_s + 2 s), then stops the scheduler (matches still running end
 * without terminate). match_create is refused from now on. NULL is fine. */
void tv_amatch_shutdown(tv_amatch_t *a, int grace_s);
/* Frees the room (after tv_rt_stop: its close listener may run until then). NULL is fine. */
void tv_amatch_free(tv_amatch_t *a);

/* Creates a match of the handler registered as name: runs init on this thread, then schedules
 * it. params is a JSON object text (NULL = "{}"). On success *match_id is malloc'd text owned
 * by the caller. Returns a gRPC code: 0; 5 no such handler; 3 init refused (NULL state) or
 * bad tick rate / label; 14 shutting down; 13 out of memory. */
int tv_amatch_create(tv_amatch_t *a, const char *name, const char *params, char **match_id);

/* Nakama's MatchSignal: queues data for the match's signal callback (at most
 * TV_AMATCH_SIGNAL_QUEUE waiting), and blocks until the match's tick thread has run it (before
 * the next loop, serially with the other callbacks) or TV_AMATCH_SIGNAL_TIMEOUT_MS passed. On
 * success *result (when result is not NULL) is malloc'd NUL-terminated text owned by the
 * caller ("" when the callback gave nothing; a NULL signal callback gives ""), its length in
 * *result_len. A NULL state from the callback ends the match after it answered. Returns a gRPC
 * code: 0; 5 no such match (or it ended before the signal ran); 8 the signal queue is full;
 * 4 timed out; 9 called from a match callback (a tick thread: waiting there could deadlock);
 * 3 bad arguments; 14 no room; 13 out of memory. Any thread but a tick thread. */
int tv_amatch_signal(tv_amatch_t *a, const char *match_id, const char *data, size_t len,
                     char **result, size_t *result_len);

/* ---- the console ------------------------------------------------------------------------ */

/* Appends the running matches, oldest first, as the console lists them ({match_id,
 * authoritative, handler_name, label, size, tick_rate, presences: [{user_id, session_id,
 * username}], create_time}) until out holds limit items. Returns how many were added, or
 * TV_ENOMEM. Takes each match's lock briefly; never waits for a tick. */
int tv_amatch_console_list(tv_amatch_t *a, int limit, cJSON *out);
/* One match with its tick figures (module, ticks, tick_last_us, tick_max_us, tick_avg_us,
 * overruns since it started): TV_OK with *out (owned by the caller), TV_ENOTFOUND, TV_ENOMEM. */
int tv_amatch_console_get(tv_amatch_t *a, const char *match_id, cJSON **out);
/* Stops a match: at its next tick, after the inputs and signals already queued, its terminate
 * callback runs with grace_seconds 0, then every connected member gets one
 * match_presence_event whose leaves are all the members, and the match ends (its presences
 * drop without leave callbacks, as at shutdown). Waits up to wait_ms for that (any thread but
 * a tick thread). TV_OK ended; TV_EBUSY asked, not ended yet (it will at its next tick);
 * TV_ENOTFOUND no such running match. */
int tv_amatch_stop(tv_amatch_t *a, const char *match_id, int wait_ms);

typedef struct tv_amatch_stats {
    int64_t matches;       /* authoritative matches running */
    int64_t presences;     /* presences in them */
    int64_t created;       /* matches created since start */
    int64_t inputs;        /* input messages queued for loops */
    int64_t inputs_dropped; /* input dropped: queue full or sender not a member */
    tv_sched_stats_t sched; /* tick figures (p50/p99/overruns) */
} tv_amatch_stats_t;
/* Figures for metrics and the console. */
void tv_amatch_stats(tv_amatch_t *a, tv_amatch_stats_t *out);

/* ---- the host table's match entries (host.c forwards to these; see module.h) ----------- */

typedef struct tv_amatch_host_ops {
    int (*match_create)(tv_module_t *mod, const char *name, const char *params_json,
                        char **match_id);
    int (*broadcast)(tv_mod_dispatcher_t *d, int64_t op_code, const void *data, size_t len,
                     const tv_mod_presence_t *const *to, size_t nto,
                     const tv_mod_presence_t *sender, int reliable);
    int (*kick)(tv_mod_dispatcher_t *d, const tv_mod_presence_t *const *ps, size_t n);
    int (*label_update)(tv_mod_dispatcher_t *d, const char *label);
    int (*set_reconnect_grace)(tv_mod_dispatcher_t *d, int seconds);
    int (*match_signal)(tv_module_t *mod, const char *match_id, const char *data, size_t len,
                        char **result, size_t *result_len);
} tv_amatch_host_ops_t;

/* Defined in server/modules/host.c: points its entries at ops (borrowed, static), or at
 * nothing with NULL (the entries then answer TV_GRPC_UNAVAILABLE). */
void tv_mod_host_set_match_ops(const tv_amatch_host_ops_t *ops);

#endif
