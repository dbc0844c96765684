/* The realtime layer: WebSocket sessions on /ws, served by libwebsockets. The public port's
 * acceptor hands each "GET /ws" connection here with its request still unread; the upgrade,
 * the token check and the framing are libwebsockets' work on its own service threads. Other
 * rooms register their messages here and push to sessions from any thread. */
#ifndef TV_RT_RT_H
#define TV_RT_RT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tv_rt tv_rt_t;

/* Nakama's ping cadence: a WebSocket PING to every socket this often (its PONG is timed into
 * tavern_rt_rtt_seconds), and the socket is dropped when nothing (no PONG, no message) arrives
 * for the second figure. tv_rt_opts_t overrides. */
#define TV_RT_PING_INTERVAL_S 15
#define TV_RT_PONG_TIMEOUT_S 25

/* Nakama's realtime error codes (rtapi.Error.Code), sent in `error` envelopes. */
typedef enum {
    TV_RT_ERR_RUNTIME_EXCEPTION = 0,    /* 0 is left out of the JSON, as protojson does */
    TV_RT_ERR_UNRECOGNIZED_PAYLOAD = 1,
    TV_RT_ERR_MISSING_PAYLOAD = 2,
    TV_RT_ERR_BAD_INPUT = 3,
    TV_RT_ERR_MATCH_NOT_FOUND = 4,
    TV_RT_ERR_MATCH_JOIN_REJECTED = 5,
    TV_RT_ERR_RUNTIME_FUNCTION_NOT_FOUND = 6,
    TV_RT_ERR_RUNTIME_FUNCTION_EXCEPTION = 7,
} tv_rt_error_code_t;

/* Who a socket belongs to. The auth callback fills user_id and username (and may fill
 * expires_at); the rt layer fills the rest. */
typedef struct tv_rt_identity {
    char user_id[37];
    char username[129];
    char session_id[37];  /* a fresh UUIDv4 for each socket */
    int64_t expires_at;   /* the token's expiry (unix seconds), 0 when unknown */
    int status;           /* ?status=true: the user shows as online to followers */
    char lang[32];        /* ?lang=, "en" by default */
} tv_rt_identity_t;

/* Checks a session token (from ?token= or an "Authorization: Bearer" header). Returns 0 and
 * fills user_id/username when valid, non-zero otherwise. Called on a service thread: must be
 * fast and must not block (no SQL). */
typedef int (*tv_rt_auth_fn)(void *ud, const char *token, tv_rt_identity_t *out);

typedef struct tv_rt_opts {
    int threads;             /* lws contexts, one service thread each (1-64) */
    size_t max_message;      /* largest incoming message (JSON text) in bytes; larger closes
                                the socket with 1009. Nakama's default is 4096. */
    int header_limit;        /* largest request head in bytes (> 4096) */
    tv_rt_auth_fn auth;
    void *auth_ud;
    int ping_interval_s;     /* 0 = TV_RT_PING_INTERVAL_S */
    int pong_timeout_s;      /* 0 = TV_RT_PONG_TIMEOUT_S; must exceed the interval */
} tv_rt_opts_t;

/* Starts the service threads. *out is owned by the caller (tv_rt_stop frees it). Returns
 * TV_OK, TV_EINVAL for bad options, or TV_EINTERNAL when libwebsockets cannot start. */
int tv_rt_start(const tv_rt_opts_t *opts, tv_rt_t **out);
/* Hands over a connected socket whose HTTP request head is still unread. Takes ownership of
 * fd in every case (closes it when it cannot be adopted). Safe from any thread. */
int tv_rt_adopt(tv_rt_t *rt, int fd);
/* Number of open WebSocket sessions (for tests and metrics). */
int tv_rt_session_count(tv_rt_t *rt);
/* Closes every socket (each close listener runs; pushes are refused from now on), stops the
 * threads and frees rt. Whoever pushes from other threads (workers, match ticks) should be
 * stopped first; a late push is refused, never a crash. */
void tv_rt_stop(tv_rt_t *rt);

/* ---- messages: the dispatch table ------------------------------------------------------ */

/* One request as a handler sees it. Everything is borrowed for the duration of the call; to
 * answer later (from a worker, say) copy who->session_id and cid, or use tv_rt_later. */
typedef struct tv_rt_msg {
    tv_rt_t *rt;
    const tv_rt_identity_t *who; /* the sender */
    const char *cid;             /* NULL when the envelope had none */
    const char *name;            /* the message's key, e.g. "match_join" */
    const cJSON *body;           /* the message's object */
} tv_rt_msg_t;

/* Handles one message, on the session's service thread: must not block (hand SQL or slow
 * module code to the worker pool). Answers with tv_rt_reply* now or later. Returns TV_OK, or
 * a TV_E* code when the message is malformed (a field of the wrong type, bad base64...): the
 * socket then closes without a reply, as Nakama does for a payload it cannot unmarshal. */
typedef int (*tv_rt_handler_fn)(void *ud, const tv_rt_msg_t *msg);

/* Routes messages called name to fn. Only before the first socket is adopted (registration is
 * start-up work and the table is then read without locks). TV_ECONFLICT when the name is
 * taken (ping and pong are built in), TV_EBUSY after the first socket, TV_ENOMEM. */
int tv_rt_register(tv_rt_t *rt, const char *name, tv_rt_handler_fn fn, void *ud);

/* Told about every session's start and end. on_open runs once the session can be pushed to,
 * on_close once it can no longer be (sends to it answer TV_ENOTFOUND); both on the session's
 * service thread (or the thread calling tv_rt_stop), with no rt lock held, so they may push
 * to other sessions. Either may be NULL. */
typedef struct tv_rt_listener {
    void (*on_open)(void *ud, const tv_rt_identity_t *who);
    void (*on_close)(void *ud, const tv_rt_identity_t *who);
    void *ud;
} tv_rt_listener_t;

/* Adds a listener (copied). Same timing rule and errors as tv_rt_register (TV_EBUSY also when
 * 16 are already there). */
int tv_rt_add_listener(tv_rt_t *rt, const tv_rt_listener_t *l);

/* ---- pushing and answering, from any thread --------------------------------------------- */

/* Queues a complete JSON envelope (copied) for one session. TV_OK; TV_ENOTFOUND when no such
 * session is open; TV_EBUSY when its queue (64 messages, as Nakama) was full: the session is
 * then closed; TV_EUNAVAIL while stopping (or with no rt: NULL reaches nobody); TV_ENOMEM.
 * The same holds for every push and reply below. */
int tv_rt_send(tv_rt_t *rt, const char *session_id, const char *json, size_t len);
/* Queues one JSON text for n sessions: it is copied once and shared, so fan-out costs a queue
 * slot per recipient. Sessions that are gone are skipped. Returns how many were reached (>= 0),
 * or TV_ENOMEM / TV_EUNAVAIL. */
int tv_rt_send_many(tv_rt_t *rt, const char *const *session_ids, size_t n, const char *json,
                    size_t len);
/* As tv_rt_send_many, and done(arg) is called once the text has left every queue it was put
 * in (written to its socket, or dropped with its session): how a sender paces itself to what
 * the sockets take. It runs once, on whichever thread lets go of the text last, possibly
 * inside this call and under rt's own locks: done may only touch atomics and submit work
 * (tv_workers_submit), never take a lock the caller may hold while sending. Not called when
 * this returns TV_ENOMEM or TV_EUNAVAIL (nothing was queued). */
int tv_rt_send_many_done(tv_rt_t *rt, const char *const *session_ids, size_t n,
                         const char *json, size_t len, void (*done)(void *arg), void *arg);
/* Queues the text for every session of a user. Returns how many were reached, or an error as
 * tv_rt_send_many. */
int tv_rt_send_user(tv_rt_t *rt, const char *user_id, const char *json, size_t len);

/* Answers a request: {"cid":cid,"<key>":body}. Takes body (may be NULL only with key NULL,
 * which sends the bare {"cid":cid} of a void request). Errors as tv_rt_send. */
int tv_rt_reply(tv_rt_t *rt, const char *session_id, const char *cid, const char *key,
                cJSON *body);
/* Answers with {"cid":cid,"error":{"code":code,"message":message}}. The socket stays open. */
int tv_rt_reply_error(tv_rt_t *rt, const char *session_id, const char *cid, int code,
                      const char *message);

/* A request to be answered later, from any thread: tv_rt_later copies the session id and cid
 * (NULL on no memory); tv_rt_later_reply / tv_rt_later_error answer and free it;
 * tv_rt_later_free drops it unanswered. */
typedef struct tv_rt_later tv_rt_later_t;
tv_rt_later_t *tv_rt_later(const tv_rt_msg_t *msg);
int tv_rt_later_reply(tv_rt_later_t *later, const char *key, cJSON *body);
int tv_rt_later_error(tv_rt_later_t *later, int code, const char *message);
void tv_rt_later_free(tv_rt_later_t *later);

/* Closes a session once what is queued for it is sent (e.g. a kick or a ban). TV_OK or
 * TV_ENOTFOUND. */
int tv_rt_disconnect(tv_rt_t *rt, const char *session_id);

/* ---- the session registry -------------------------------------------------------------- */

/* Copies the identity of an open session into *out. TV_OK or TV_ENOTFOUND. */
int tv_rt_session_get(tv_rt_t *rt, const char *session_id, tv_rt_identity_t *out);
/* Copies up to max identities of the user's open sessions into out (may be NULL with max 0).
 * Returns how many sessions the user has open (possibly more than max). */
int tv_rt_user_sessions(tv_rt_t *rt, const char *user_id, tv_rt_identity_t *out, int max);

/* ---- building envelopes ---------------------------------------------------------------- */

/* {"cid":cid,"<key>":body} as text (cid left out when NULL; body left out when key is NULL).
 * Takes body. Returns cJSON-allocated text (cJSON_free), NULL on no memory. */
char *tv_rt_envelope_text(const char *cid, const char *key, cJSON *body);
/* A presence object {user_id, session_id, username} for who (+ persistence / status when
 * given: pass 0 / NULL to leave them out). NULL on no memory. */
cJSON *tv_rt_presence_json(const tv_rt_identity_t *who, int persistence, const char *status);

/* A growable text buffer for hand-built hot-path JSON (match data, fan-out events). */
typedef struct tv_rt_buf {
    char *p;
    size_t len, cap;
    int oom; /* a failed append: the text is incomplete */
} tv_rt_buf_t;
void tv_rt_buf_raw(tv_rt_buf_t *b, const char *s, size_t n);
void tv_rt_buf_lit(tv_rt_buf_t *b, const char *s);    /* strlen(s) bytes, unescaped */
void tv_rt_buf_str(tv_rt_buf_t *b, const char *s);    /* a JSON string literal, escaped */
void tv_rt_buf_free(tv_rt_buf_t *b);

#endif
