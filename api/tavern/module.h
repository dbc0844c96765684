/* The tavern module ABI: the only header a module includes. A module is a shared object that
 * exports a const info struct and one init function; the server hands it a const table of
 * function pointers, and everything else crosses the boundary through that table.
 *
 * Stability rules (ABI major 1):
 * - Every struct that may grow begins with its size; new members only ever go at the end.
 *   The server reads a module's struct only up to the size the module wrote into it, and a
 *   module reads a server's struct (the host table, contexts) only up to the size the server
 *   wrote: use TV_HOST_HAS() / TV_MOD_HAS() before touching a member newer than ABI 1.0.
 * - Lists that may grow are passed as arrays of pointers, never arrays of structs, so a larger
 *   struct never changes a stride.
 * - Handles (tv_module_t, tv_mod_dispatcher_t) are opaque.
 * - "borrowed" = owned by the caller, valid until the callback (or host call) returns; copy
 *   what must outlive it. "taken" = allocated with host->alloc by the module and freed by the
 *   server. Strings are NUL-terminated UTF-8 unless a length comes with them.
 * - Errors are gRPC status codes (TV_GRPC_*), 0 meaning success, plus a message.
 * - A change that breaks any of this bumps TV_ABI_MAJOR, and the server refuses modules of
 *   another major version. Minor versions only add at the ends of structs.
 *
 * The smallest module (see modules/echo/echo.c):
 *
 *     #include <tavern/module.h>
 *     static const tv_host_api_t *host;
 *     static int echo(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
 *                     tv_mod_reply_t *out)
 *     {
 *         (void)ctx;
 *         return host->reply(out, payload, len);
 *     }
 *     TV_MODULE("echo", "1.0.0");
 *     int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
 *     {
 *         host = api;
 *         return api->register_rpc(mod, "echo", echo);
 *     }
 *
 * Build it with `cc -shared -fPIC -I<tavern>/api echo.c -o echo.so` and put echo.so in the
 * server's --module-path. A module links nothing from the server: the table is the whole
 * interface, so a module built once keeps loading across server releases of the same major.
 *
 * What is isolated and what is not: modules run in the server's process and address space.
 * A module that crashes, corrupts memory or never returns takes the server (or a worker
 * thread) with it; the ABI only guarantees that a well-behaved module keeps working across
 * releases and reloads. */
#ifndef TAVERN_MODULE_H
#define TAVERN_MODULE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TV_MOD_MAGIC 0x4e564154u /* "TAVN" read as little-endian bytes */
#define TV_ABI_MAJOR 1
#define TV_ABI_MINOR 8

#if defined(__GNUC__)
#define TV_MOD_EXPORT __attribute__((visibility("default")))
#define TV_MOD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TV_MOD_EXPORT
#define TV_MOD_PRINTF(f, a)
#endif

/* gRPC status codes: what callbacks return and what the server turns into HTTP statuses
 * (3/9/11 → 400, 5 → 404, 6/10 → 409, 7 → 403, 8 → 429, 16 → 401, ...). */
enum {
    TV_GRPC_OK = 0,
    TV_GRPC_CANCELLED = 1,
    TV_GRPC_UNKNOWN = 2,
    TV_GRPC_INVALID_ARGUMENT = 3,
    TV_GRPC_DEADLINE_EXCEEDED = 4,
    TV_GRPC_NOT_FOUND = 5,
    TV_GRPC_ALREADY_EXISTS = 6,
    TV_GRPC_PERMISSION_DENIED = 7,
    TV_GRPC_RESOURCE_EXHAUSTED = 8,
    TV_GRPC_FAILED_PRECONDITION = 9,
    TV_GRPC_ABORTED = 10,
    TV_GRPC_OUT_OF_RANGE = 11,
    TV_GRPC_UNIMPLEMENTED = 12,
    TV_GRPC_INTERNAL = 13,
    TV_GRPC_UNAVAILABLE = 14,
    TV_GRPC_DATA_LOSS = 15,
    TV_GRPC_UNAUTHENTICATED = 16,
};

enum { TV_MOD_LOG_DEBUG, TV_MOD_LOG_INFO, TV_MOD_LOG_WARN, TV_MOD_LOG_ERROR };

/* --- what the module exports ------------------------------------------------------------- */

/* The module's identity, exported as `const tv_module_info_t tavern_module_info` (use
 * TV_MODULE()). The server checks magic, then abi_major (must equal its own), then size
 * (at least the ABI 1.0 struct), before it calls anything. */
typedef struct tv_module_info {
    uint32_t magic;      /* TV_MOD_MAGIC */
    uint16_t abi_major;  /* TV_ABI_MAJOR the module was built against */
    uint16_t abi_minor;  /* TV_ABI_MINOR the module was built against */
    uint32_t size;       /* sizeof(tv_module_info_t) as the module was built */
    const char *name;    /* unique among loaded modules, e.g. "echo"; for logs */
    const char *version; /* free text, e.g. "1.2.0"; for logs */
} tv_module_info_t;

typedef struct tv_host_api tv_host_api_t;
/* The module as the server sees it: the argument of every host call that needs to know who
 * calls. Valid for as long as the module's code is loaded (so a module may keep it in a
 * static). */
typedef struct tv_module tv_module_t;

/* Defines tavern_module_info. */
#define TV_MODULE(name, version)                                                            \
    TV_MOD_EXPORT const tv_module_info_t tavern_module_info = {                             \
        TV_MOD_MAGIC, TV_ABI_MAJOR, TV_ABI_MINOR, (uint32_t)sizeof(tv_module_info_t), name, \
        version}

TV_MOD_EXPORT extern const tv_module_info_t tavern_module_info;

/* The one entry point, called once after the module is loaded (at start-up, or on SIGHUP for
 * a new copy of the code), on the server's main thread while requests keep being served by
 * the previous generation of modules. Registration is possible only here: every register_*
 * call made after init returns (or from another thread) is refused with
 * TV_GRPC_FAILED_PRECONDITION. api and mod stay valid while the module is loaded.
 * Return 0 to be loaded, anything else to be refused (the server logs the code, unloads the
 * module and drops what it registered).
 *
 * Every load is a fresh copy of the code with fresh statics: after a reload the new copy
 * starts from zero while the old copy, with its own statics, finishes what still uses it
 * (calls in flight, running matches) and is then unloaded. There is no unload callback in
 * ABI 1.0, so a module must not leave threads or timers running in its code. */
TV_MOD_EXPORT int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod);

/* --- values that cross the boundary ------------------------------------------------------ */

/* One key/value pair (query parameters, session vars, join metadata). Borrowed. */
typedef struct tv_mod_kv {
    const char *key;
    const char *value;
} tv_mod_kv_t;

/* Who is calling an RPC or a hook, and how. Borrowed until the callback returns; strings are
 * never NULL ("" when absent). */
typedef struct tv_mod_ctx {
    size_t size;                /* sizeof as the server built it: see TV_MOD_HAS */
    tv_module_t *module;        /* the module being called (for host->log) */
    const char *rpc_id;         /* RPC: its id, lower-cased; "" in a hook */
    const char *api;            /* hook: the API name it is keyed by ("AuthenticateDevice");
                                   "" in an RPC */
    const char *user_id;        /* the caller's user id; "" without a session (HTTP key, the
                                   server key of the authenticate APIs) */
    const char *username;       /* "" without a session */
    const tv_mod_kv_t *vars;    /* the session token's vars, nvars of them */
    size_t nvars;
    int64_t expiry;             /* the session token's exp (unix seconds); 0 without one */
    const char *session_id;     /* the realtime session of a socket call; "" over HTTP */
    const tv_mod_kv_t *query;   /* HTTP query parameters, http_key removed; a key given twice
                                   appears twice. A GET /v2/rpc's "payload" is only here. */
    size_t nquery;
} tv_mod_ctx_t;

/* 1 when a size-prefixed struct p of type `type`, as its producer built it, has member m:
 * `if (TV_MOD_HAS(ctx, tv_mod_ctx_t, session_id)) ...`. */
#define TV_MOD_HAS(p, type, m) ((p)->size >= offsetof(type, m) + sizeof(((type *)0)->m))

/* What a callback answers besides its return code. The server zeroes it and sets size before
 * the call. Fill it with host->reply() / host->fail(), or directly: data and message are
 * taken (allocated with host->alloc; the server frees them). */
typedef struct tv_mod_reply {
    size_t size;     /* sizeof as the server built it */
    char *data;      /* the result bytes, NULL = empty; the server adds no NUL, len counts */
    size_t len;
    char *message;   /* on error: NUL-terminated text for the client; NULL = a generic one */
} tv_mod_reply_t;

/* An RPC (Nakama's RegisterRpc). Runs on a worker thread, possibly on many at once: guard
 * shared state. payload is borrowed and NUL-terminated at payload[len] (it may also hold NULs
 * before that). Return 0 with the result in out (empty is fine), or a gRPC code with a message:
 * 1–16 are sent as they are, anything else as 13 (internal). Slow work here holds a worker
 * thread: keep it short. */
typedef int (*tv_mod_rpc_fn)(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                             tv_mod_reply_t *out);

/* A before hook (Nakama's RegisterBefore<Api>): runs on the request's worker thread before the
 * server handles the API call, with the request body (JSON text, borrowed; "" for a call without
 * a body). Return 0 to go on, with out->data empty to keep the request or set to a replacement
 * JSON body; or return a gRPC code to answer the client with that error instead (Nakama's
 * "return nil" is TV_GRPC_NOT_FOUND with "Requested resource was not found."). */
typedef int (*tv_mod_before_fn)(const tv_mod_ctx_t *ctx, const char *in, size_t len,
                                tv_mod_reply_t *out);

/* An after hook (RegisterAfter<Api>): runs on the request's worker thread after a successful
 * API call and before the answer is sent, with the answer (JSON text) and the request as the
 * server handled it (after any before hook), both borrowed. It cannot change the answer; a
 * non-zero return is only logged, with err->message. */
typedef int (*tv_mod_after_fn)(const tv_mod_ctx_t *ctx, const char *result, size_t result_len,
                               const char *in, size_t in_len, tv_mod_reply_t *err);

/* --- authoritative matches (Nakama's RegisterMatch) --------------------------------------- */

/* A user in a match. Borrowed until the callback returns. */
typedef struct tv_mod_presence {
    size_t size;
    const char *user_id;
    const char *session_id;
    const char *username;
    const char *node;
    int reason;          /* 0 unknown, 1 join, 2 update, 3 leave, 4 disconnect */
} tv_mod_presence_t;

/* A message a client sent to the match. Borrowed until the callback returns. */
typedef struct tv_mod_match_message {
    size_t size;
    const tv_mod_presence_t *presence; /* the sender */
    int64_t op_code;
    const void *data;                  /* len bytes */
    size_t len;
    int reliable;
    int64_t receive_time_ms;           /* unix milliseconds when the server received it */
} tv_mod_match_message_t;

/* The running match, for the dispatcher entries of the host table (broadcast, kick, label
 * update: see the end of tv_host_api_t). Valid only during the callback it was passed to. */
typedef struct tv_mod_dispatcher tv_mod_dispatcher_t;

/* Passed to every match callback. Borrowed until the callback returns. */
typedef struct tv_mod_match_ctx {
    size_t size;
    tv_module_t *module;
    tv_mod_dispatcher_t *dispatcher;
    const char *match_id;    /* "<uuid>.<node>" */
    const char *node;
    const char *label;       /* the current label */
    int tick_rate;           /* loops a second */
    int64_t tick;            /* loops run so far: 0 in init and in the first loop */
} tv_mod_match_ctx_t;

/* init's answers besides the state. The server presets tick_rate 10 and label NULL. */
typedef struct tv_mod_match_init {
    size_t size;
    int tick_rate;       /* 1–60; anything else refuses the match */
    const char *label;   /* ≤ 2048 bytes, copied when init returns (may point into state);
                            NULL = no label */
} tv_mod_match_init_t;

/* join_attempt's answer. The server presets allow = 1, reason NULL. */
typedef struct tv_mod_join_result {
    size_t size;
    int allow;
    const char *reason;  /* why refused, copied when the callback returns */
} tv_mod_join_result_t;

/* The callbacks of one kind of match, registered under a name; the server creates instances
 * (match_create). Model: Nakama's runtime.Match.
 *
 * Threads: the callbacks of one match never run at the same time; they run one after another
 * on the match scheduler's worker threads, not necessarily the same thread each time (no
 * thread-locals). Different matches run in parallel, so state shared between matches needs
 * locks. A callback must return quickly: a loop that overruns its tick delays the match.
 *
 * State: init returns the match's state, an opaque pointer the server only passes back. Every
 * later callback receives the current state and returns the next one (usually the same).
 * Returning NULL ends the match at once: the module must free its state itself before doing
 * so; terminate is then not called, and presences are dropped without leave. Modules own
 * their state's memory; the server never frees or reads it.
 *
 * Every pointer argument is borrowed until the callback returns. A module being reloaded keeps
 * its old code mapped until its last running match ends: new matches get the new code.
 * Members may be NULL: a NULL join_attempt allows everyone; a NULL join, leave, terminate or
 * signal keeps the state; loop and init are required. */
typedef struct tv_mod_match_handler {
    size_t size; /* sizeof(tv_mod_match_handler_t) as the module was built */

    /* Creates the state from the creation parameters (a JSON object text, "{}" when none).
     * Runs once, before anyone can join. NULL refuses to create the match. */
    void *(*init)(const tv_mod_match_ctx_t *ctx, const char *params, size_t params_len,
                  tv_mod_match_init_t *out);

    /* A user asks to join: set out->allow (and a reason when 0). metadata is the client's
     * join metadata. An allowed presence is added and join follows. */
    void *(*join_attempt)(const tv_mod_match_ctx_t *ctx, void *state,
                          const tv_mod_presence_t *presence, const tv_mod_kv_t *metadata,
                          size_t nmetadata, tv_mod_join_result_t *out);

    /* Presences that completed joining, or left (match_leave, disconnect, kick). */
    void *(*join)(const tv_mod_match_ctx_t *ctx, void *state,
                  const tv_mod_presence_t *const *presences, size_t n);
    void *(*leave)(const tv_mod_match_ctx_t *ctx, void *state,
                   const tv_mod_presence_t *const *presences, size_t n);

    /* tick_rate times a second, with the messages received since the last loop (n may be 0). */
    void *(*loop)(const tv_mod_match_ctx_t *ctx, void *state,
                  const tv_mod_match_message_t *const *messages, size_t n);

    /* The server is shutting down, or an admin stopped this match from the console
     * (grace_seconds 0): the match ends right after this returns, its presences dropped
     * without leave (a console stop tells every member). The dispatcher still works here, so
     * a last broadcast reaches the members. */
    void *(*terminate)(const tv_mod_match_ctx_t *ctx, void *state, int grace_seconds);

    /* A signal from server code (Nakama's MatchSignal, host->match_signal): data in (borrowed,
     * NUL-terminated at data[len]), an answer in result (host->reply; its message is
     * ignored). Runs before the next loop, in the order the signals came. */
    void *(*signal)(const tv_mod_match_ctx_t *ctx, void *state, const char *data, size_t len,
                    tv_mod_reply_t *result);
} tv_mod_match_handler_t;

/* A leaderboard's or tournament's period ended (Nakama's RegisterLeaderboardReset and
 * RegisterTournamentReset in one): id, whether it is a tournament, and the reset time (unix
 * seconds; the expiry of the period that ended). Runs on the server's reset thread, one
 * board at a time, after new writes already go to the new period. The return code is only
 * logged. Slow code here delays other boards' hooks, not their resets. */
typedef int (*tv_mod_lb_reset_fn)(const tv_mod_ctx_t *ctx, const char *id, int tournament,
                                  int64_t reset_time);

/* The matchmaker formed a group (Nakama's RegisterMatchmakerMatched). entries_json (borrowed
 * for the call) is the JSON array of its users, as in the matchmaker_matched push:
 * [{"presence":{"user_id","session_id","username"},"string_properties":{..},
 * "numeric_properties":{..}}, ...]. Return 0 with *match_id set (memory from host->alloc, the
 * server frees it), e.g. from host->match_create, to send every member that match id; 0 with
 * *match_id left NULL sends a relayed-match token as without a hook; another return is logged
 * and also falls back to the token. Runs on the matcher thread: slow code delays the next
 * pass. */
typedef int (*tv_mod_matchmaker_matched_fn)(const tv_mod_ctx_t *ctx, const char *entries_json,
                                            char **match_id);

/* A stream (Nakama's PresenceStream, ABI 1.8): a custom channel a module puts sessions in,
 * named by mode, subject, subcontext and label. mode 8-255 (0-7 are the server's own: status,
 * chat, matches, parties); subject and subcontext NULL, "" or a UUID; label NULL, "" or at
 * most 64 bytes of UTF-8 without control characters. Borrowed for the host call. */
typedef struct tv_mod_stream {
    size_t size;            /* sizeof(tv_mod_stream_t) as the module was built */
    int mode;
    const char *subject;
    const char *subcontext;
    const char *label;
} tv_mod_stream_t;

/* An event a client sent with POST /v2/event (Nakama's RegisterEvent), ABI 1.8. event_json
 * (borrowed for the call, NUL-terminated at [len]) is {"name", "timestamp" (RFC 3339),
 * "external" (true: from a client), "properties": {string: string}}; ctx carries the sender
 * (user_id, username, vars, expiry). Runs on the server's event thread, one event at a time,
 * after the client has had its answer; the return code is only logged. Slow code here makes
 * later events wait (and, past the queue's 1,024, be dropped with a log line). */
typedef int (*tv_mod_event_fn)(const tv_mod_ctx_t *ctx, const char *event_json, size_t len);

/* --- the host table ---------------------------------------------------------------------- */

/* What the server offers: a const table, valid while the module is loaded, callable from any
 * thread unless an entry says otherwise. It only ever grows at the end: before calling an
 * entry added after ABI 1.0, check TV_HOST_HAS(api, entry). */
struct tv_host_api {
    size_t size;          /* sizeof(tv_host_api_t) as the server was built */
    uint16_t abi_major;   /* the server's TV_ABI_MAJOR / TV_ABI_MINOR */
    uint16_t abi_minor;

    /* Memory for everything the server takes (reply data, messages). alloc returns NULL when
     * out of memory; free accepts NULL. */
    void *(*alloc)(size_t n);
    void (*free)(void *p);

    /* One log line, at a TV_MOD_LOG_* level, tagged with the module's name. */
    void (*log)(tv_module_t *mod, int level, const char *fmt, ...) TV_MOD_PRINTF(3, 4);

    /* --- registration: only during tavern_module_init, on its thread --------------------
     * Each returns 0, or: TV_GRPC_FAILED_PRECONDITION outside init; TV_GRPC_INVALID_ARGUMENT
     * for a NULL/empty name or function (or a handler without init/loop, or an unreadable
     * size); TV_GRPC_ALREADY_EXISTS when the name is taken, by this module (the call is
     * ignored) or by a module loaded before it (the whole module is then refused after
     * init: names are unique across modules); TV_GRPC_RESOURCE_EXHAUSTED out of memory.
     * Names are copied. */

    /* An RPC callable as /v2/rpc/{id} and over the socket. id is case-insensitive. */
    int (*register_rpc)(tv_module_t *mod, const char *id, tv_mod_rpc_fn fn);
    /* A kind of authoritative match. handler is borrowed for as long as the module is
     * loaded (declare it static const); its size tells which members exist. */
    int (*register_match)(tv_module_t *mod, const char *name,
                          const tv_mod_match_handler_t *handler);
    /* Hooks around an API call, keyed by Nakama's API name, case-insensitive. The server
     * calls hooks for its REST calls by their Nakama names ("AuthenticateDevice",
     * "GetAccount", "WriteStorageObjects", "ListStorageObjects", ...; see server/core/
     * server.c); a hook for another name is accepted and does not run. One before and one after hook per name across all modules. */
    int (*register_before)(tv_module_t *mod, const char *api, tv_mod_before_fn fn);
    int (*register_after)(tv_module_t *mod, const char *api, tv_mod_after_fn fn);

    /* --- answering ----------------------------------------------------------------------- */

    /* Sets r's data to a copy of len bytes (replacing an earlier one). Returns 0, or
     * TV_GRPC_INTERNAL when out of memory, so a callback can end with
     * `return host->reply(out, buf, n);`. */
    int (*reply)(tv_mod_reply_t *r, const void *data, size_t len);
    /* Sets r's message (printf-style) and returns code, for `return host->fail(out,
     * TV_GRPC_INVALID_ARGUMENT, "bad %s", what);`. */
    int (*fail)(tv_mod_reply_t *r, int code, const char *fmt, ...) TV_MOD_PRINTF(3, 4);

    /* --- authoritative matches (added with the match scheduler: check TV_HOST_HAS) ------- */

    /* Creates a match of the handler registered as name (by any loaded module), Nakama's
     * nk.MatchCreate: runs its init on the calling thread (call it from an RPC or a match
     * callback), then schedules its loop. params_json is a JSON object text (NULL = "{}").
     * Returns 0 with *match_id "<uuid>.<node>" taken (host->free), or: TV_GRPC_NOT_FOUND no
     * such handler; TV_GRPC_INVALID_ARGUMENT init returned NULL or a bad tick rate / label;
     * TV_GRPC_UNAVAILABLE the server is stopping; TV_GRPC_INTERNAL out of memory. */
    int (*match_create)(tv_module_t *mod, const char *name, const char *params_json,
                        char **match_id);
    /* Sends match_data now to the match's members: to NULL = everyone, else those of the nto
     * listed presences that are members; sender NULL = the server. Never blocks: a recipient
     * whose queue is full is disconnected. Only during a callback of the match. */
    int (*broadcast)(tv_mod_dispatcher_t *d, int64_t op_code, const void *data, size_t len,
                     const tv_mod_presence_t *const *to, size_t nto,
                     const tv_mod_presence_t *sender, int reliable);
    /* Removes presences from the match: leave runs for them before the next loop. */
    int (*kick)(tv_mod_dispatcher_t *d, const tv_mod_presence_t *const *ps, size_t n);
    /* Replaces the label (copied, ≤ 2048 bytes; NULL = none) used by match listing, at once. */
    int (*label_update)(tv_mod_dispatcher_t *d, const char *label);

    /* --- reconnect window (added after ABI 1.0: check TV_HOST_HAS) ------------------------- */

    /* Asks for a reconnect grace of seconds (0 = none, the default and Nakama's behaviour; at
     * most 300) for later disconnects; a presence already held keeps its deadline. Only
     * during a callback of the match (init included). With a grace, a member whose socket
     * closes does not leave: it stays a member (counted in size and listed in presences),
     * hears nothing, and nobody is told. If the same user (user_id) sends match_join for this
     * match from a new socket before the deadline, it is rejoined without join_attempt and
     * without a presence event: the held presence takes the new session_id, the `match`
     * answer carries "rejoined": true, and join runs again for it with presence->reason 2
     * (find the player by user_id, adopt the new session_id, send a full state). At the
     * deadline (checked each tick) the normal leave runs: leave with reason 4 and a presence
     * event to the others. A kick or match_leave of a held presence leaves at once. Returns
     * 0, TV_GRPC_INVALID_ARGUMENT for a bad d or seconds, TV_GRPC_UNAVAILABLE without
     * authoritative matches. */
    int (*match_set_reconnect_grace)(tv_mod_dispatcher_t *d, int seconds);

    /* --- match signals (added after ABI 1.0: check TV_HOST_HAS) ---------------------------- */

    /* Nakama's nk.MatchSignal: hands len bytes of data (copied) to the signal callback of the
     * running match match_id and waits for its answer. The signal is queued to the match (at
     * most 10 waiting) and runs on the match's thread, serially with its other callbacks,
     * before its next loop; this call blocks until then, at most 10 s. On success *result is
     * the bytes the callback set with host->reply (*result_len of them, followed by a NUL;
     * "" when it set none or the handler has no signal callback), taken: free it with
     * host->free. result and result_len may be NULL to ignore the answer. A NULL state from
     * the callback ends the match (as from any callback) after the answer is given.
     * Call it from an RPC, a hook or any thread of the module's own, never from a match
     * callback (of any match: the tick thread would wait on itself or on a busy pool).
     * Returns 0, or: TV_GRPC_NOT_FOUND no such running match (or it ended before the signal
     * ran); TV_GRPC_RESOURCE_EXHAUSTED its signal queue is full; TV_GRPC_DEADLINE_EXCEEDED no
     * answer within 10 s (the signal is dropped if it has not started);
     * TV_GRPC_FAILED_PRECONDITION called from a match callback; TV_GRPC_INVALID_ARGUMENT a
     * NULL match_id, or NULL data with len > 0; TV_GRPC_UNAVAILABLE without authoritative
     * matches; TV_GRPC_INTERNAL out of memory. */
    int (*match_signal)(tv_module_t *mod, const char *match_id, const char *data, size_t len,
                        char **result, size_t *result_len);

    /* --- storage objects (ABI 1.1: check TV_HOST_HAS) -------------------------------------
     * Nakama's nk.StorageRead / StorageWrite / StorageList / StorageDelete, run as the server:
     * no permission checks, objects of any owner. JSON text in and out, with the field names
     * of the REST API. An owner (user_id) that is absent, "" or the nil UUID
     * "00000000-0000-0000-0000-000000000000" is the server itself. Limits as over REST: at
     * most 100 objects or ids per call, collection and key 1-128 bytes, a value that is a JSON
     * object text of at most 65536 bytes. Each call runs its SQL on the calling thread (call
     * them from an RPC or a hook, not from a match loop, which must not wait). Results are
     * taken: free them with host->free. Each returns 0, or: TV_GRPC_INVALID_ARGUMENT for bad
     * input, a version mismatch or a delete that matched nothing (the batch then wrote or
     * deleted nothing; the reason goes to the server log); TV_GRPC_UNAVAILABLE when the
     * database is busy or storage is not running; TV_GRPC_INTERNAL otherwise. */

    /* Reads the objects with the ids in ids_json, a JSON array of {collection, key, user_id}.
     * *objects_json is a JSON array of the objects found ({collection, key, user_id, value,
     * version, permission_read, permission_write, create_time, update_time}; zero
     * permissions are left out), in the order asked, each once; "[]" when none. */
    int (*storage_read)(tv_module_t *mod, const char *ids_json, char **objects_json);
    /* Writes every object of objects_json, a JSON array of {collection, key, user_id, value,
     * version, permission_read (0-2, default 1), permission_write (0-1, default 1)}, in one
     * transaction: all or nothing. version "" or absent writes whatever is there, "*" only
     * when the object does not exist, any other only when it equals the stored version.
     * *acks_json (may be NULL to ignore) is a JSON array of {collection, key, version,
     * user_id, create_time, update_time}, in input order. */
    int (*storage_write)(tv_module_t *mod, const char *objects_json, char **acks_json);
    /* Lists collection, limit (1-100) objects after cursor (NULL or "" = the start), in
     * (permission_read, key, user_id) order. user_id NULL or "" lists every owner. caller_id
     * NULL or "" lists as the server (every object); a user id lists as that user would (its
     * own with read >= 1, others' with read 2). *result_json is {"objects": [...],
     * "cursor": "..."}, each member left out when empty; a cursor is valid only for the same
     * listing. */
    int (*storage_list)(tv_module_t *mod, const char *caller_id, const char *user_id,
                        const char *collection, int limit, const char *cursor,
                        char **result_json);
    /* Deletes the objects with the ids in ids_json, a JSON array of {collection, key, user_id,
     * version}, in one transaction. An id with a version must match it; one without a version
     * that matches nothing is no error. */
    int (*storage_delete)(tv_module_t *mod, const char *ids_json);
    /* --- leaderboards and tournaments (ABI 1.2: check TV_HOST_HAS) ------------------------- */

    /* Creates a leaderboard (Nakama's LeaderboardCreate) from def_json, the console's body:
     * {"id", "sort_order": "asc"|"desc", "operator": "best"|"set"|"incr"|"decr",
     * "reset_schedule": cron, "authoritative", "metadata": {...}}. Creating an id that exists
     * is a no-op success, so init may create its boards on every load. Returns 0, or
     * TV_GRPC_INVALID_ARGUMENT for a bad definition, TV_GRPC_UNAVAILABLE without leaderboards
     * (or the database), TV_GRPC_INTERNAL. Callable from init, RPCs, hooks, any thread. */
    int (*leaderboard_create)(tv_module_t *mod, const char *def_json);
    /* Writes owner_id's record (no authoritative check: the server may write any board),
     * with op 0 = the board's operator, else 1 best, 2 set, 3 incr, 4 decr. metadata_json is
     * a JSON object text or NULL (keep); username may be NULL (keep). On success
     * *record_json, when record_json is not NULL, is the record as the REST API returns it
     * (with rank), taken: host->free. Returns 0 or TV_GRPC_NOT_FOUND (no such leaderboard),
     * TV_GRPC_INVALID_ARGUMENT, TV_GRPC_UNAVAILABLE, TV_GRPC_INTERNAL. */
    int (*leaderboard_write)(tv_module_t *mod, const char *id, const char *owner_id,
                             const char *username, int64_t score, int64_t subscore,
                             const char *metadata_json, int op, char **record_json);
    /* The REST list (Nakama's LeaderboardRecordsList): top limit (1-1000, 0 = owners only or
     * 1) records after cursor (NULL = top) plus the records of nowners owner_ids. *list_json
     * is the RecordList JSON, taken. Same errors as leaderboard_write. */
    int (*leaderboard_list)(tv_module_t *mod, const char *id, const char *const *owner_ids,
                            size_t nowners, int limit, const char *cursor, char **list_json);
    /* owner_id's 1-based rank in the current period (0 = no record) and the number of ranked
     * records, from the rank cache (O(log n)). Either output may be NULL. 0 or
     * TV_GRPC_NOT_FOUND / TV_GRPC_UNAVAILABLE. */
    int (*leaderboard_rank)(tv_module_t *mod, const char *id, const char *owner_id,
                            int64_t *rank, int64_t *count);
    /* Creates a tournament (Nakama's TournamentCreate): def_json as leaderboard_create's plus
     * "title", "description", "category" (0-127), "start_time" and "end_time" (unix seconds;
     * 0 = now / never), "duration" (seconds, > 0), "max_size", "max_num_score",
     * "join_required". An existing id is a no-op success. */
    int (*tournament_create)(tv_module_t *mod, const char *def_json);
    /* Joins owner_id to tournament id (idempotent). 0, TV_GRPC_NOT_FOUND, or
     * TV_GRPC_INVALID_ARGUMENT when it is not active or full (message logged). */
    int (*tournament_join)(tv_module_t *mod, const char *id, const char *owner_id,
                           const char *username);
    /* A tournament write, with the same checks as a client's (window, join, attempts, size)
     * except authoritative. Arguments and results as leaderboard_write. */
    int (*tournament_write)(tv_module_t *mod, const char *id, const char *owner_id,
                            const char *username, int64_t score, int64_t subscore,
                            const char *metadata_json, int op, char **record_json);
    /* Registers the reset hook (only during init; one across all modules, like an RPC id).
     * Errors as the other register_* calls. */
    int (*register_leaderboard_reset)(tv_module_t *mod, tv_mod_lb_reset_fn fn);
    /* ABI 1.3: registers the matchmaker_matched hook (only during init; one across all
     * modules). Errors as the other register_* calls. */
    int (*register_matchmaker_matched)(tv_module_t *mod, tv_mod_matchmaker_matched_fn fn);

    /* --- notifications (ABI 1.4: check TV_HOST_HAS) ---------------------------------------- */

    /* Sends a notification to user_id (Nakama's NotificationSend): pushed at once to the
     * user's open sockets as `notifications`, and stored for the client's
     * listNotifications when persistent. subject 1-255 bytes; content_json a JSON object
     * text of at most 16384 bytes (NULL = {}); code > 0 (0 and below are Nakama's system
     * codes); sender_id NULL or "" for the system, else a UUID. Runs SQL on the calling
     * thread when persistent (call it from an RPC, a hook or a signal, not a match loop).
     * Returns 0, or TV_GRPC_INVALID_ARGUMENT (bad input, logged), TV_GRPC_NOT_FOUND (a
     * persistent one for a user that does not exist), TV_GRPC_UNAVAILABLE (no database or
     * busy), TV_GRPC_INTERNAL. */
    int (*notification_send)(tv_module_t *mod, const char *user_id, const char *subject,
                             const char *content_json, int32_t code, const char *sender_id,
                             int persistent);

    /* --- wallets (ABI 1.5: check TV_HOST_HAS) ----------------------------------------------
     * Nakama's nk.WalletsUpdate / WalletLedgerList. A wallet is a JSON object of integer
     * balances ({"coins": 100}), shown in the account as the `wallet` string. Currency names
     * are 1-64 bytes of A-Z a-z 0-9 _ . : -; amounts and balances stay within +-(2^53 - 1);
     * a wallet holds at most 64 currencies. Each call runs its SQL on the calling thread
     * (from an RPC or a hook, never a match loop). */

    /* Applies updates_json, a JSON array of 1-100 {"user_id", "changeset": {currency:
     * delta}, "metadata": {...} (optional, at most 4096 bytes)}, at most 32 currencies each,
     * in one transaction: every balance and one ledger entry per element, or nothing (a delta
     * of 0 is refused: it changes nothing). A user
     * may appear more than once (applied in order). A debit that would take a balance below
     * zero refuses the whole call unless allow_negative is non-zero. On success
     * *results_json (when results_json is not NULL; taken: host->free) is a JSON array in
     * input order of {"user_id", "ledger_id", "previous": {...}, "updated": {...}}. Returns
     * 0, or: TV_GRPC_INVALID_ARGUMENT for bad input or a balance out of range;
     * TV_GRPC_FAILED_PRECONDITION for insufficient funds; TV_GRPC_NOT_FOUND for an unknown
     * user; TV_GRPC_UNAVAILABLE when the database is busy or wallets are not running;
     * TV_GRPC_INTERNAL otherwise. The reason goes to the server log. */
    int (*wallet_update)(tv_module_t *mod, const char *updates_json, int allow_negative,
                         char **results_json);
    /* Lists user_id's ledger newest first: limit (1-100) entries after cursor (NULL or "" =
     * the newest). *result_json (taken) is {"items": [{"id", "user_id", "changeset",
     * "metadata", "create_time"}], "cursor"}, as GET /v2/wallet/ledger answers: the cursor
     * left out on the last page, empty maps and an empty list left out. 0, or
     * TV_GRPC_INVALID_ARGUMENT, TV_GRPC_UNAVAILABLE, TV_GRPC_INTERNAL. */
    int (*wallet_ledger_list)(tv_module_t *mod, const char *user_id, int limit,
                              const char *cursor, char **result_json);

    /* --- inventories and the shop catalog (ABI 1.6: check TV_HOST_HAS) --------------------
     * Item ids and catalog ids are 1-64 bytes of A-Z a-z 0-9 _ . : -. An inventory holds
     * per user a count of each item and the item's properties (a JSON object, "{}" until
     * set), listed by GET /v2/inventory. These entries write no wallet ledger entry (the
     * ledger records wallet changes: write one with wallet_update when the change should be
     * noted there). Each call runs its SQL on the calling thread (from an RPC or a hook,
     * never a match loop). */

    /* Adds count (1-1000000) of item_id to user_id's inventory in one transaction; when
     * properties_json (a JSON object text of at most 4096 bytes) is not NULL it replaces the
     * item's properties, NULL keeps them. Returns 0, or: TV_GRPC_INVALID_ARGUMENT for bad
     * input or a count that would pass 10^12; TV_GRPC_NOT_FOUND for an unknown user;
     * TV_GRPC_UNAVAILABLE when the database is busy or inventories are not running;
     * TV_GRPC_INTERNAL otherwise. The reason goes to the server log. */
    int (*inventory_grant)(tv_module_t *mod, const char *user_id, const char *item_id,
                           int64_t count, const char *properties_json);
    /* Takes count (1-1000000) of item_id from user_id's inventory in one statement, never
     * below zero: holding fewer answers TV_GRPC_FAILED_PRECONDITION and changes nothing.
     * The item (with its properties) leaves the inventory when its count reaches 0. Errors
     * otherwise as inventory_grant's. */
    int (*inventory_revoke)(tv_module_t *mod, const char *user_id, const char *item_id,
                            int64_t count);
    /* user_id's inventory: *result_json (taken: host->free) is {"items": [{"item_id",
     * "count" (a string, as protojson writes int64), "properties" (left out when empty),
     * "update_time"}]} sorted by item id, as GET /v2/inventory answers ("{}" for none; an
     * unknown user has none). 0, TV_GRPC_INVALID_ARGUMENT (not a UUID), TV_GRPC_UNAVAILABLE,
     * TV_GRPC_INTERNAL. */
    int (*inventory_list)(tv_module_t *mod, const char *user_id, char **result_json);
    /* Creates or replaces the catalog item defined by def_json, the body of the console's
     * PUT /v2/console/shop/{id} with its "id" (name, description, category, price, grants,
     * stock, user_limit, start_time, end_time, metadata, disabled); the catalog cache follows
     * at once. On success *item_json (when item_json is not NULL; taken) is the item as
     * stored. 0, or TV_GRPC_INVALID_ARGUMENT for a bad definition, TV_GRPC_RESOURCE_EXHAUSTED
     * when the catalog holds its 500 items, TV_GRPC_UNAVAILABLE, TV_GRPC_INTERNAL. */
    int (*shop_item_put)(tv_module_t *mod, const char *def_json, char **item_json);
    /* Takes catalog item id off sale (it stays for receipts; a put brings it back). 0,
     * TV_GRPC_NOT_FOUND, TV_GRPC_UNAVAILABLE, TV_GRPC_INTERNAL. */
    int (*shop_item_disable)(tv_module_t *mod, const char *id);

    /* --- the matchmaker (ABI 1.7: check TV_HOST_HAS) ---------------------------------------
     * Tickets a module adds wait in the same pool as the sockets' matchmaker_add tickets and
     * match them. The matcher thread owns the pool: add and remove wait until it has applied
     * them (usually well under a millisecond; at most the pass in progress, with any
     * matchmaker_matched hook it calls), so call them from an RPC, a hook, the matchmaker_matched
     * hook itself or a thread of the module's own, not from a match loop. list never waits for
     * hooks. Callable from any of those threads at once. */

    /* Adds a ticket on behalf of the open realtime session session_id (its user and username
     * go with the ticket). ticket_json is the body of the socket's matchmaker_add: {"min_count"
     * (>= 2), "max_count" (<= 256), "count_multiple", "query" (<= 1024 bytes, Nakama's query
     * subset), "string_properties": {..}, "numeric_properties": {..}} (lowerCamel names too),
     * with the same checks and the same per-session ticket limit (--matchmaker-max-tickets) as
     * the socket's. When the ticket matches, the session's socket receives matchmaker_matched
     * as for its own tickets; the ticket goes when the socket closes. On success *ticket_id
     * (when ticket_id is not NULL; taken: host->free) is the ticket's id. Returns 0, or:
     * TV_GRPC_INVALID_ARGUMENT bad input (the reason goes to the server log);
     * TV_GRPC_NOT_FOUND no such open session (never connected, or closed);
     * TV_GRPC_RESOURCE_EXHAUSTED the session holds its tickets already; TV_GRPC_UNAVAILABLE
     * the matchmaker is not running, is stopping or its queue is full; TV_GRPC_INTERNAL. */
    int (*matchmaker_add)(tv_module_t *mod, const char *session_id, const char *ticket_json,
                          char **ticket_id);
    /* Removes a waiting ticket, whichever session holds it (added by a module or by a
     * socket); the owner is not told. Returns 0, or TV_GRPC_NOT_FOUND (no such ticket
     * waiting: matched, expired, removed or never added), TV_GRPC_INVALID_ARGUMENT (NULL or
     * not an id), TV_GRPC_UNAVAILABLE. */
    int (*matchmaker_remove)(tv_module_t *mod, const char *ticket_id);
    /* The waiting tickets, oldest first: all of them, or those of user_id and/or session_id
     * (NULL or "" = any), at most limit (<= 0 = all). *tickets_json (taken: host->free) is a
     * JSON array of {"ticket", "session_id", "user_id", "username", "create_time" (RFC 3339),
     * "intervals" (passes waited), "min_count", "max_count", "count_multiple", "query" ("*"
     * for an empty one), "string_properties": {..}, "numeric_properties": {..}}. Returns 0,
     * or TV_GRPC_INVALID_ARGUMENT (tickets_json NULL), TV_GRPC_UNAVAILABLE,
     * TV_GRPC_INTERNAL. */
    int (*matchmaker_list)(tv_module_t *mod, const char *user_id, const char *session_id,
                           int limit, char **tickets_json);

    /* --- streams (ABI 1.8: check TV_HOST_HAS) ----------------------------------------------
     * Nakama's nk.StreamUserJoin / StreamUserLeave / StreamUserList / StreamCount / StreamSend
     * / StreamClose. Membership is in memory on this node, shared with the chat channels'
     * index: a closing socket leaves its streams, and members hear `stream_presence_event
     * {stream, joins, leaves}` for visible joins and leaves, coalesced and paced as chat's
     * presence events (the joiner hears its own join). A session may be in at most 64 streams.
     * No SQL: callable from any thread, match loops included. Each returns 0, or
     * TV_GRPC_INVALID_ARGUMENT for a bad stream or argument (the reason goes to the server
     * log), TV_GRPC_UNAVAILABLE when the server is not serving sockets. */

    /* Adds the open socket session session_id to stream (StreamUserJoin). user_id NULL or ""
     * accepts the session's user, else it must be the session's. hidden: a member that hears
     * the stream but is never listed by stream_user_list's visible ones nor announced;
     * persistence is carried in its presence. Joining again changes nothing (*is_new 0).
     * *is_new (may be NULL) is 1 for a new member. TV_GRPC_NOT_FOUND no such open session on
     * this node (or another user's); TV_GRPC_RESOURCE_EXHAUSTED the session is in 64 streams. */
    int (*stream_user_join)(tv_module_t *mod, const tv_mod_stream_t *stream,
                            const char *user_id, const char *session_id, int hidden,
                            int persistence, int *is_new);
    /* Takes session_id out of stream (StreamUserLeave); the others hear a visible leave. Not
     * a member: 0, nothing happens. user_id as in stream_user_join. */
    int (*stream_user_leave)(tv_module_t *mod, const tv_mod_stream_t *stream,
                             const char *user_id, const char *session_id);
    /* The stream's members (StreamUserList): *presences_json (taken: host->free) is a JSON
     * array of {user_id, session_id, username, persistence (when true), hidden (when true)},
     * hidden ones when include_hidden, the others when include_not_hidden. "[]" for none. */
    int (*stream_user_list)(tv_module_t *mod, const tv_mod_stream_t *stream, int include_hidden,
                            int include_not_hidden, char **presences_json);
    /* Members of stream, hidden ones included (StreamCount). */
    int (*stream_count)(tv_module_t *mod, const tv_mod_stream_t *stream, int64_t *count);
    /* Sends `stream_data {stream, sender, data, reliable}` (StreamSend) to every member, or to
     * those of the nto listed presences (their session_id) that are members; sender NULL = the
     * server (no sender member); a sender with a session_id but no user_id gets that open
     * session's user and username. data: len bytes of UTF-8 (a string for the client; NUL
     * bytes refused), at most 3072. Never blocks: a member whose queue is full is
     * disconnected. Members hear earlier joins and leaves first. */
    int (*stream_send)(tv_module_t *mod, const tv_mod_stream_t *stream, const char *data,
                       size_t len, const tv_mod_presence_t *const *to, size_t nto,
                       const tv_mod_presence_t *sender, int reliable);
    /* Removes every member of stream (StreamClose). As in Nakama, nobody is told. */
    int (*stream_close)(tv_module_t *mod, const tv_mod_stream_t *stream);
    /* Registers fn for the clients' events (POST /v2/event; Nakama's RegisterEvent): only
     * during init, one per module; every module's fn gets every event. Errors as the other
     * register_* calls. */
    int (*register_event)(tv_module_t *mod, tv_mod_event_fn fn);

    /* --- future entries go here, at the end, and nowhere else. ----------------------------- */
};

/* 1 when the server's table has entry m (always true for the ABI 1.0 entries). */
#define TV_HOST_HAS(api, m) \
    ((api)->size >= offsetof(tv_host_api_t, m) + sizeof(((tv_host_api_t *)0)->m))

#ifdef __cplusplus
}
#endif

#endif
