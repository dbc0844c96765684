/* The realtime layer: N libwebsockets contexts, one service thread each, that adopt /ws sockets
 * from the acceptor, check the token before the upgrade, and run each session's envelope loop
 * and its bounded outgoing queue. */
#include "rt/rt.h"
#include "error.h"
#include "log.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define RT_QUEUE_MAX 64 /* Nakama's outgoing queue size; overflow disconnects */

/* Nakama's realtime error codes (rtapi.Error.Code). */
enum { RT_ERR_UNRECOGNIZED = 1, RT_ERR_MISSING = 2 };

/* One queued outgoing text message; LWS_PRE bytes of headroom precede the text in buf. */
typedef struct rt_msg {
    size_t len;
    unsigned char buf[];
} rt_msg_t;

typedef struct rt_shard rt_shard_t;

/* A WebSocket session: lws' per-session data once the socket is upgraded. Fields marked
 * "locked" are shared with other threads under shard->lock; the rest belong to the service
 * thread. */
typedef struct rt_session {
    tv_rt_identity_t who;
    struct lws *wsi;
    rt_shard_t *shard;
    int live;                               /* counted in tv_rt_session_count */
    struct rt_session *prev, *next;         /* locked: shard->sessions */
    struct rt_session *wake_next;           /* locked: shard->wake */
    int waking;                             /* locked: on shard->wake */
    rt_msg_t *q[RT_QUEUE_MAX];              /* locked: ring of outgoing messages */
    unsigned q_head, q_len;                 /* locked */
    int overflow;                           /* locked: queue overflowed, close now */
    int close_status;                       /* locked: close once the queue is empty */
    unsigned char *rx;                      /* message being reassembled */
    size_t rx_len, rx_cap;
    int rx_done;                            /* a reply said "closing": ignore further input */
} rt_session_t;

struct rt_shard {
    tv_rt_t *rt;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    pthread_t thread;
    int started;
    atomic_int stop;
    pthread_mutex_t lock;
    int *fds;                               /* locked: sockets waiting for adoption */
    size_t nfds, capfds;                    /* locked */
    rt_session_t *sessions;                 /* locked: open sessions */
    rt_session_t *wake;                     /* locked: sessions fed by other threads */
    /* The identity checked before the upgrade, kept here until ESTABLISHED: lws frees the HTTP
     * phase's per-session data when it binds the ws protocol, and both callbacks run in one
     * synchronous lws call on this thread, so one slot per shard is enough. */
    struct lws *pending_wsi;
    tv_rt_identity_t pending_who;
    char *scratch;                          /* header_limit + 1 bytes for args and headers */
};

struct tv_rt {
    tv_rt_opts_t opts;
    int nshards;
    rt_shard_t *shards;
    atomic_uint next;
    atomic_int sessions;
};

/* The shard whose service thread is running this code, NULL on other threads. */
static _Thread_local rt_shard_t *tl_shard;

/* ---- lws logging ---------------------------------------------------------------------- */

/* lws' own log lines go to tv_log; only its errors and warnings are enabled. */
static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    tv_log(level == LLL_ERR ? TV_LOG_ERROR : TV_LOG_WARN, "lws", "%.*s", (int)n, line);
}

/* ---- HTTP responses before the upgrade ------------------------------------------------ */

/* Writes a whole plain-text response the way Go's http.Error does (text plus a newline), so
 * clients see Nakama's bodies. The caller then hangs up. Returns 0 or -1. */
static int http_reply(struct lws *wsi, unsigned status, const char *text)
{
    unsigned char buf[LWS_PRE + 512];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    char body[128];
    int n = snprintf(body, sizeof body, "%s\n", text);

    if (lws_add_http_common_headers(wsi, status, "text/plain; charset=utf-8",
                                    (lws_filepos_t)n, &p, end) ||
        lws_finalize_http_header(wsi, &p, end))
        return -1;
    /* Before the upgrade, lws has not yet noted the request's version (lws_http_action does)
     * and writes "HTTP/1.0": answer in the version the request used. */
    char version[9];
    if (lws_hdr_copy(wsi, version, sizeof version, WSI_TOKEN_HTTP) == 8 &&
        strcmp(version, "HTTP/1.1") == 0 && memcmp(start, "HTTP/1.0 ", 9) == 0)
        start[7] = '1';
    int head = lws_ptr_diff(p, start);
    if (lws_write(wsi, start, (size_t)head, LWS_WRITE_HTTP_HEADERS) != head)
        return -1;
    memcpy(start, body, (size_t)n);
    return lws_write(wsi, start, (size_t)n, LWS_WRITE_HTTP_FINAL) == n ? 0 : -1;
}

/* The value of query argument name ("token=" form) URL-decoded into the shard's scratch
 * buffer, or NULL. The buffer holds the whole head, so no argument is ever too long for it. */
static const char *query_arg(rt_shard_t *sh, struct lws *wsi, const char *name)
{
    return lws_get_urlarg_by_name(wsi, name, sh->scratch, sh->rt->opts.header_limit);
}

/* The session token: ?token= first, then "Authorization: Bearer", as Nakama reads them. Points
 * into the scratch buffer; NULL when neither is there. */
static const char *request_token(rt_shard_t *sh, struct lws *wsi)
{
    const char *t = query_arg(sh, wsi, "token=");
    if (t && *t)
        return t;
    int n = lws_hdr_copy(wsi, sh->scratch, sh->rt->opts.header_limit + 1,
                         WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n <= 7 || strncasecmp(sh->scratch, "Bearer ", 7) != 0)
        return NULL;
    return sh->scratch + 7;
}

/* Nonzero when the format argument asks for JSON or is absent. */
static int format_ok(rt_shard_t *sh, struct lws *wsi)
{
    const char *f = query_arg(sh, wsi, "format=");
    return !f || !*f || strcmp(f, "json") == 0;
}

/* Answers an upgrade request with an HTTP error; returning -1 then makes lws hang up (after
 * flushing), so the socket never reaches the REST side with a half-read request. */
static int refuse(struct lws *wsi, unsigned status, const char *text)
{
    tv_log_debug("rt", "upgrade refused: %u %s", status, text);
    http_reply(wsi, status, text);
    return -1;
}

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: the request head is parsed, nothing is answered yet.
 * Refuses with an HTTP status (then hangs up: return -1) or remembers the identity for
 * ESTABLISHED and lets lws upgrade (return 0). */
static int upgrade_check(struct lws *wsi, const char *upgrade)
{
    rt_shard_t *sh = lws_context_user(lws_get_context(wsi));
    tv_rt_identity_t who;
    char path[8];

    if (strcasecmp(upgrade, "websocket") != 0)
        return -1; /* h2c would bypass this check; nobody needs it */
    if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0 || strcmp(path, "/ws") != 0)
        return refuse(wsi, 404, "404 page not found");
    /* Nakama checks the format before the token. protobuf is a valid Nakama format that we do
     * not speak yet; either way the answer is a 400. */
    if (!format_ok(sh, wsi))
        return refuse(wsi, 400, "Invalid format parameter");
    memset(&who, 0, sizeof who);
    const char *token = request_token(sh, wsi);
    if (!token || sh->rt->opts.auth(sh->rt->opts.auth_ud, token, &who) != 0)
        return refuse(wsi, 401, "Missing or invalid token");
    sh->pending_wsi = wsi;
    sh->pending_who = who;
    return 0;
}

/* ---- the outgoing queue ---------------------------------------------------------------- */

static rt_msg_t *msg_new(const char *text, size_t len)
{
    rt_msg_t *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return NULL;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    return m;
}

/* Appends a copy of text to s's queue. Caller holds the shard lock. TV_EBUSY when the queue is
 * full: the session is then marked to close, as Nakama drops a client that cannot keep up. */
static int queue_push_locked(rt_session_t *s, const char *text, size_t len)
{
    if (s->overflow || s->q_len == RT_QUEUE_MAX) {
        s->overflow = 1;
        return TV_EBUSY;
    }
    rt_msg_t *m = msg_new(text, len);
    if (!m)
        return TV_ENOMEM;
    s->q[(s->q_head + s->q_len) % RT_QUEUE_MAX] = m;
    s->q_len++;
    return TV_OK;
}

static rt_msg_t *queue_pop_locked(rt_session_t *s)
{
    if (!s->q_len)
        return NULL;
    rt_msg_t *m = s->q[s->q_head];
    s->q_head = (s->q_head + 1) % RT_QUEUE_MAX;
    s->q_len--;
    return m;
}

static void queue_clear_locked(rt_session_t *s)
{
    rt_msg_t *m;
    while ((m = queue_pop_locked(s)))
        free(m);
}

/* Puts s on its shard's wake list so the service thread asks lws for a WRITEABLE callback;
 * lws_callback_on_writable itself may only be called on the service thread. Caller holds the
 * lock and calls lws_cancel_service after unlocking. */
static void wake_locked(rt_session_t *s)
{
    if (s->waking)
        return;
    s->waking = 1;
    s->wake_next = s->shard->wake;
    s->shard->wake = s;
}

static void wake_unlink_locked(rt_session_t *s)
{
    if (!s->waking)
        return;
    for (rt_session_t **pp = &s->shard->wake; *pp; pp = &(*pp)->wake_next)
        if (*pp == s) {
            *pp = s->wake_next;
            break;
        }
    s->waking = 0;
}

/* Queues text for s from any thread that knows s is alive (its own service thread, or a caller
 * holding the lock across the lookup). Caller holds the lock; *cancel is set when the service
 * thread must be woken after unlocking. */
static int session_queue_locked(rt_session_t *s, const char *text, size_t len, int *cancel)
{
    int rc = queue_push_locked(s, text, len);
    if (rc == TV_ENOMEM)
        return rc;
    if (tl_shard == s->shard) {
        lws_callback_on_writable(s->wsi);
        return rc;
    }
    wake_locked(s);
    *cancel = 1;
    return rc;
}

/* Queues a complete JSON envelope for the session with this id, from any thread. Returns TV_OK,
 * TV_ENOTFOUND when no such session is open, TV_EBUSY when its queue was full (the session is
 * then closed) or TV_ENOMEM. The push path for later rooms (matches, chat, notifications). */
static __attribute__((unused)) int rt_send(tv_rt_t *rt, const char *session_id,
                                           const char *text, size_t len)
{
    int rc = TV_ENOTFOUND;
    for (int i = 0; i < rt->nshards && rc == TV_ENOTFOUND; i++) {
        rt_shard_t *sh = &rt->shards[i];
        int cancel = 0;
        pthread_mutex_lock(&sh->lock);
        for (rt_session_t *s = sh->sessions; s; s = s->next)
            if (strcmp(s->who.session_id, session_id) == 0) {
                rc = session_queue_locked(s, text, len, &cancel);
                break;
            }
        pthread_mutex_unlock(&sh->lock);
        if (cancel)
            lws_cancel_service(sh->ctx);
    }
    return rc;
}

/* Queues a reply on the session's own service thread and takes ownership of text. */
static int session_reply(rt_session_t *s, char *text)
{
    int cancel = 0, rc = TV_ENOMEM;
    if (text) {
        pthread_mutex_lock(&s->shard->lock);
        rc = session_queue_locked(s, text, strlen(text), &cancel);
        pthread_mutex_unlock(&s->shard->lock);
    }
    cJSON_free(text);
    return rc;
}

/* LWS_CALLBACK_SERVER_WRITEABLE: writes one queued message per callback (lws allows one write
 * per writeable event), asks for the next, and closes once a closing reply has been sent. */
static int session_writeable(struct lws *wsi, rt_session_t *s)
{
    rt_msg_t *m = NULL;
    int more, overflow, close_status;

    pthread_mutex_lock(&s->shard->lock);
    overflow = s->overflow;
    if (!overflow)
        m = queue_pop_locked(s);
    more = s->q_len > 0;
    close_status = s->close_status;
    pthread_mutex_unlock(&s->shard->lock);

    if (overflow) {
        static const char why[] = "outgoing queue full";
        tv_log_warn("rt", "session %s: %s, closing", s->who.session_id, why);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why,
                         sizeof why - 1);
        return -1;
    }
    if (m) {
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        int short_write = n < (int)m->len;
        free(m);
        if (short_write)
            return -1;
    }
    if (more) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (close_status) {
        lws_close_reason(wsi, (enum lws_close_status)close_status, NULL, 0);
        return -1;
    }
    return 0;
}

/* ---- incoming envelopes ---------------------------------------------------------------- */

/* `{"cid":..,"<key>":body}` as text (cid omitted when NULL); takes body. NULL on OOM. */
static char *envelope_text(const char *cid, const char *key, cJSON *body)
{
    cJSON *env = cJSON_CreateObject();
    char *text = NULL;
    if (!env || !body || (cid && !cJSON_AddStringToObject(env, "cid", cid)))
        goto done;
    cJSON_AddItemToObject(env, key, body);
    body = NULL;
    text = cJSON_PrintUnformatted(env);
done:
    cJSON_Delete(body);
    cJSON_Delete(env);
    return text;
}

/* Replies with an error envelope and marks the session to close once it is sent, as Nakama
 * does for any envelope it cannot handle. */
static int reply_error(rt_session_t *s, const char *cid, int code, const char *message)
{
    cJSON *err = cJSON_CreateObject();
    if (err) {
        cJSON_AddNumberToObject(err, "code", code);
        cJSON_AddStringToObject(err, "message", message);
    }
    pthread_mutex_lock(&s->shard->lock);
    s->close_status = LWS_CLOSE_STATUS_NORMAL;
    pthread_mutex_unlock(&s->shard->lock);
    s->rx_done = 1;
    int rc = session_reply(s, envelope_text(cid, "error", err));
    return rc == TV_ENOMEM ? -1 : 0;
}

/* Splits an envelope into its cid (NULL when absent) and its single message member. Returns 0,
 * or -1 when it is not an object, cid is not a string, or there is not exactly one message. */
static int envelope_split(const cJSON *env, const char **cid, const cJSON **msg)
{
    *cid = NULL;
    *msg = NULL;
    if (!cJSON_IsObject(env))
        return -1;
    for (const cJSON *it = env->child; it; it = it->next) {
        if (strcmp(it->string, "cid") == 0) {
            if (!cJSON_IsString(it))
                return -1;
            *cid = it->valuestring;
        } else if (*msg) {
            return -1;
        } else {
            *msg = it;
        }
    }
    return *msg && cJSON_IsObject(*msg) ? 0 : -1;
}

/* Handles one complete text message. Returns 0 to keep reading, -1 to drop the socket now. */
static int envelope_handle(rt_session_t *s, const char *text, size_t len)
{
    cJSON *env = cJSON_ParseWithLength(text, len);
    const char *cid;
    const cJSON *msg;
    int rc;

    if (envelope_split(env, &cid, &msg) != 0)
        rc = reply_error(s, cid, RT_ERR_MISSING, "Missing or invalid message");
    else if (strcmp(msg->string, "ping") == 0)
        rc = session_reply(s, envelope_text(cid, "pong", cJSON_CreateObject())) == TV_OK ? 0 : -1;
    else
        rc = reply_error(s, cid, RT_ERR_UNRECOGNIZED, "Unrecognized message.");
    cJSON_Delete(env);
    return rc;
}

/* Appends a chunk to the message being reassembled, growing the buffer up to max_message. */
static int rx_append(rt_session_t *s, const void *in, size_t len, size_t max)
{
    if (s->rx_len + len > s->rx_cap) {
        size_t cap = s->rx_cap ? s->rx_cap : 1024;
        while (cap < s->rx_len + len)
            cap *= 2;
        if (cap > max)
            cap = max;
        unsigned char *rx = realloc(s->rx, cap);
        if (!rx)
            return -1;
        s->rx = rx;
        s->rx_cap = cap;
    }
    memcpy(s->rx + s->rx_len, in, len);
    s->rx_len += len;
    return 0;
}

/* LWS_CALLBACK_RECEIVE: lws hands over frames in chunks; reassemble them, counting the whole
 * message against max_message, and handle it once the final fragment is complete. */
static int session_receive(struct lws *wsi, rt_session_t *s, const void *in, size_t len)
{
    size_t max = s->shard->rt->opts.max_message;

    if (s->rx_done)
        return 0;
    if (lws_frame_is_binary(wsi)) {
        static const char why[] = "binary frames are not supported";
        lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, (unsigned char *)why,
                         sizeof why - 1);
        return -1;
    }
    if (s->rx_len + len > max) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        return -1;
    }
    if (len && rx_append(s, in, len, max) != 0)
        return -1;
    if (!lws_is_final_fragment(wsi))
        return 0;
    int rc = envelope_handle(s, (const char *)s->rx, s->rx_len);
    s->rx_len = 0;
    return rc;
}

/* ---- session lifetime ------------------------------------------------------------------ */

/* LWS_CALLBACK_ESTABLISHED: the upgrade is done; the session takes the checked identity. */
static int session_open(struct lws *wsi, rt_session_t *s)
{
    rt_shard_t *sh = lws_context_user(lws_get_context(wsi));

    memset(s, 0, sizeof *s);
    if (sh->pending_wsi != wsi)
        return -1; /* every upgrade passes upgrade_check first; refuse rather than trust */
    sh->pending_wsi = NULL;
    s->who = sh->pending_who;
    tv_uuid_v4(s->who.session_id);
    s->wsi = wsi;
    s->shard = sh;
    pthread_mutex_lock(&sh->lock);
    s->next = sh->sessions;
    if (s->next)
        s->next->prev = s;
    sh->sessions = s;
    s->live = 1;
    pthread_mutex_unlock(&sh->lock);
    atomic_fetch_add(&sh->rt->sessions, 1);
    tv_log_debug("rt", "session %s open for user %s", s->who.session_id, s->who.user_id);
    return 0;
}

/* LWS_CALLBACK_CLOSED: unlink under the lock so no other thread can reach s afterwards; lws
 * frees s itself once this returns. */
static void session_close(rt_session_t *s)
{
    if (!s->live)
        return;
    rt_shard_t *sh = s->shard;
    pthread_mutex_lock(&sh->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        sh->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    wake_unlink_locked(s);
    queue_clear_locked(s);
    s->live = 0;
    pthread_mutex_unlock(&sh->lock);
    free(s->rx);
    s->rx = NULL;
    atomic_fetch_sub(&sh->rt->sessions, 1);
    tv_log_debug("rt", "session %s closed", s->who.session_id);
}

/* ---- the service thread ---------------------------------------------------------------- */

/* LWS_CALLBACK_EVENT_WAIT_CANCELLED: lws_cancel_service woke this thread. Adopt the sockets the
 * acceptor queued and ask for WRITEABLE on sessions other threads fed. */
static int shard_wake(rt_shard_t *sh)
{
    int *fds;
    size_t nfds;
    rt_session_t *wake;

    pthread_mutex_lock(&sh->lock);
    fds = sh->fds;
    nfds = sh->nfds;
    sh->fds = NULL;
    sh->nfds = sh->capfds = 0;
    wake = sh->wake;
    sh->wake = NULL;
    for (rt_session_t *s = wake; s; s = s->wake_next)
        s->waking = 0;
    pthread_mutex_unlock(&sh->lock);

    /* Only this thread frees sessions, so the detached list stays valid here. */
    for (rt_session_t *s = wake; s; s = s->wake_next)
        lws_callback_on_writable(s->wsi);
    for (size_t i = 0; i < nfds; i++)
        if (!lws_adopt_socket_vhost(sh->vh, fds[i])) /* it closed the fd */
            tv_log_warn("rt", "libwebsockets could not adopt a socket");
    free(fds);
    return 0;
}

static int rt_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        return shard_wake(lws_context_user(lws_get_context(wsi)));
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return upgrade_check(wsi, in);
    case LWS_CALLBACK_HTTP:
        /* a plain request on this socket: gorilla answers a non-upgrade /ws the same way */
        http_reply(wsi, 400, "Bad Request");
        return -1;
    case LWS_CALLBACK_ESTABLISHED:
        return session_open(wsi, user);
    case LWS_CALLBACK_RECEIVE:
        return session_receive(wsi, user, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return session_writeable(wsi, user);
    case LWS_CALLBACK_CLOSED:
        session_close(user);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols rt_protocols[] = {
    {"tavern-rt", rt_callback, sizeof(rt_session_t), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Nakama pings every 15 s and drops a socket whose pong is 25 s late; lws' validity timer does
 * the same with WebSocket PINGs. */
static const lws_retry_bo_t rt_idle = {
    .secs_since_valid_ping = 15,
    .secs_since_valid_hangup = 25,
};

static void *shard_main(void *arg)
{
    rt_shard_t *sh = arg;
    tl_shard = sh;
    while (!atomic_load(&sh->stop))
        if (lws_service(sh->ctx, 0) < 0)
            break;
    return NULL;
}

/* Creates the shard's context and vhost and starts its thread. Returns 0 or TV_EINTERNAL /
 * TV_ENOMEM; tv_rt_stop's shard_free cleans up whatever was made. */
static int shard_start(tv_rt_t *rt, rt_shard_t *sh)
{
    struct lws_context_creation_info info;

    sh->rt = rt;
    sh->scratch = malloc((size_t)rt->opts.header_limit + 1);
    if (!sh->scratch)
        return TV_ENOMEM;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    info.max_http_header_data2 = (unsigned)rt->opts.header_limit;
    info.server_string = "tavern";
    info.user = sh;
    sh->ctx = lws_create_context(&info);
    if (!sh->ctx)
        return TV_EINTERNAL;
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = rt_protocols;
    info.vhost_name = "tavern-rt";
    info.retry_and_idle_policy = &rt_idle;
    sh->vh = lws_create_vhost(sh->ctx, &info);
    if (!sh->vh)
        return TV_EINTERNAL;
    if (pthread_create(&sh->thread, NULL, shard_main, sh) != 0)
        return TV_EINTERNAL;
    sh->started = 1;
    return TV_OK;
}

/* Stops the thread, destroys the context (lws closes its sockets, calling CLOSED for each
 * session on this thread) and closes sockets that were never adopted. */
static void shard_free(rt_shard_t *sh)
{
    if (sh->started) {
        atomic_store(&sh->stop, 1);
        lws_cancel_service(sh->ctx);
        pthread_join(sh->thread, NULL);
    }
    if (sh->ctx)
        lws_context_destroy(sh->ctx);
    pthread_mutex_lock(&sh->lock);
    for (size_t i = 0; i < sh->nfds; i++)
        close(sh->fds[i]);
    free(sh->fds);
    sh->fds = NULL;
    sh->nfds = 0;
    pthread_mutex_unlock(&sh->lock);
    free(sh->scratch);
    pthread_mutex_destroy(&sh->lock);
}

/* ---- the public interface -------------------------------------------------------------- */

int tv_rt_start(const tv_rt_opts_t *opts, tv_rt_t **out)
{
    tv_rt_t *rt = NULL;
    int rc = TV_EINVAL, n = 0;

    *out = NULL;
    if (opts->threads < 1 || opts->header_limit <= 4096 || !opts->max_message || !opts->auth)
        goto fail;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    rc = TV_ENOMEM;
    rt = calloc(1, sizeof *rt);
    if (!rt || !(rt->shards = calloc((size_t)opts->threads, sizeof *rt->shards)))
        goto fail;
    rt->opts = *opts;
    for (n = 0; n < opts->threads; n++) {
        pthread_mutex_init(&rt->shards[n].lock, NULL);
        rt->nshards = n + 1;
        if ((rc = shard_start(rt, &rt->shards[n])) != TV_OK)
            goto fail;
    }
    tv_log_info("rt", "realtime started: %d service threads", rt->nshards);
    *out = rt;
    return TV_OK;
fail:
    if (rt)
        tv_rt_stop(rt);
    return rc == TV_EINVAL || rc == TV_ENOMEM ? rc : TV_EINTERNAL;
}

int tv_rt_adopt(tv_rt_t *rt, int fd)
{
    rt_shard_t *sh = &rt->shards[atomic_fetch_add(&rt->next, 1) % (unsigned)rt->nshards];
    int rc = TV_OK;

    if (fd < 0)
        return TV_EINVAL;
    /* lws expects a non-blocking socket; the acceptor may have handed over a blocking one */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        goto fail_closed;
    pthread_mutex_lock(&sh->lock);
    if (atomic_load(&sh->stop)) {
        rc = TV_EUNAVAIL;
    } else if (sh->nfds == sh->capfds) {
        size_t cap = sh->capfds ? sh->capfds * 2 : 16;
        int *fds = realloc(sh->fds, cap * sizeof *fds);
        if (fds) {
            sh->fds = fds;
            sh->capfds = cap;
        } else {
            rc = TV_ENOMEM;
        }
    }
    if (rc == TV_OK)
        sh->fds[sh->nfds++] = fd;
    pthread_mutex_unlock(&sh->lock);
    if (rc != TV_OK)
        goto fail_closed;
    lws_cancel_service(sh->ctx);
    return TV_OK;
fail_closed:
    close(fd);
    return rc == TV_OK ? TV_EINTERNAL : rc;
}

int tv_rt_session_count(tv_rt_t *rt)
{
    return atomic_load(&rt->sessions);
}

void tv_rt_stop(tv_rt_t *rt)
{
    if (!rt)
        return;
    for (int i = 0; i < rt->nshards; i++)
        shard_free(&rt->shards[i]);
    free(rt->shards);
    free(rt);
    tv_log_info("rt", "realtime stopped");
}
