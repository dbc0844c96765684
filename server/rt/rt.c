/* The realtime layer: N libwebsockets contexts, one service thread each, that adopt /ws sockets
 * from the acceptor, check the token before the upgrade, run each session's envelope loop
 * through the dispatch table, and keep the session registry that lets any thread push to a
 * session through its bounded outgoing queue. */
#include "rt/rt.h"
#include "rt/idmap.h"
#include "rt/pbcodec.h"
#include "error.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <ev.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define RT_QUEUE_MAX 64    /* Nakama's outgoing queue size; overflow disconnects */
#define RT_STRIPES 64      /* registry locks: sessions spread over them by id */
#define RT_MAX_THREADS 64  /* a wake-up mask is one uint64_t */
#define RT_MAX_LISTENERS 16

/* One outgoing text, shared by every session it was pushed to (tv_rt_send_many): immutable
 * once made, freed with its last reference (telling done first, see tv_rt_send_many_done). */
typedef struct rt_msg {
    atomic_int refs;
    void (*done)(void *arg);
    void *done_arg;
    int type;                               /* index in out_types: the envelope's key */
    _Atomic(struct rt_pb *) pb;             /* the protobuf form, made once by the first
                                               protobuf session that writes it (msg_pb) */
    size_t len;
    char text[];
} rt_msg_t;

/* An outgoing message's protobuf bytes, shared like its text. */
typedef struct rt_pb {
    size_t len;
    uint8_t data[];
} rt_pb_t;
static rt_pb_t pb_failed; /* the text had no protobuf form: logged once per message */

typedef struct rt_shard rt_shard_t;

/* A WebSocket session: lws' per-session data once the socket is upgraded. Fields marked
 * "shard" are shared with other threads under shard->lock, "user" under the user stripe of
 * who.user_id; the rest belong to the service thread. Other threads reach a session only
 * through the registry, under the session stripe of who.session_id. */
typedef struct rt_session {
    tv_rt_identity_t who;
    struct lws *wsi;
    rt_shard_t *shard;
    int live;                               /* registered; counted in tv_rt_session_count */
    struct rt_session *prev, *next;         /* shard: shard->sessions */
    struct rt_session *user_prev, *user_next; /* user: the user's other sessions */
    struct rt_session *wake_next;           /* shard: shard->wake */
    int waking;                             /* shard: on shard->wake */
    rt_msg_t *q[RT_QUEUE_MAX];              /* shard: ring of outgoing messages */
    unsigned q_head, q_len;                 /* shard */
    int overflow;                           /* shard: queue overflowed, close now (2: said) */
    int close_status;                       /* shard: close once the queue is empty */
    unsigned char *rx;                      /* message being reassembled */
    size_t rx_len, rx_cap;
    int rx_done;                            /* closing: ignore further input */
    int pb;                                 /* speaks protobuf (?format=protobuf) */
    /* keep-alive (see "keep-alive" below) */
    int64_t rx_at;                          /* tv_mono_ms of the last frame read */
    int64_t ping_at;                        /* tv_mono_ms when the next PING is due */
    uint64_t ping_stamp;                    /* payload of the PING awaiting its PONG, 0: none */
    int ping_due;                           /* a PING waits for WRITEABLE */
    int dropped;                            /* silent too long: lws is closing it */
} rt_session_t;

struct rt_shard {
    tv_rt_t *rt;
    int index;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct ev_loop *loop;                   /* the thread's epoll loop, lws' foreign loop */
    ev_timer nudge;                         /* see shard_nudge */
    int sweep_due;                          /* the nudge fired: run keep_alive_sweep */
    pthread_t thread;
    int started;
    atomic_int stop;
    pthread_mutex_t lock;
    int *fds;                               /* locked: sockets waiting for adoption */
    size_t nfds, capfds;                    /* locked */
    rt_session_t *sessions;                 /* locked: open sessions */
    rt_session_t *wake;                     /* locked: sessions fed by other threads */
    int wake_pending;                       /* locked: a wake-up was asked and not yet served:
                                               pushes need not ask again (one per pass, not
                                               one per broadcast) */
    /* The identity checked before the upgrade, kept here until ESTABLISHED: lws frees the HTTP
     * phase's per-session data when it binds the ws protocol, and both callbacks run in one
     * synchronous lws call on this thread, so one slot per shard is enough. */
    struct lws *pending_wsi;
    tv_rt_identity_t pending_who;
    int pending_pb;
    char *scratch;                          /* header_limit + 1 bytes for args and headers */
    unsigned char *tx;                      /* LWS_PRE + the message being written */
    size_t tx_cap;
};

/* A registry stripe: one lock and one map. */
typedef struct rt_stripe {
    pthread_mutex_t lock;
    tv_rt_idmap_t map;
} rt_stripe_t;

typedef struct rt_handler {
    char *name;
    tv_rt_handler_fn fn;
    void *ud;
    tv_metric_t *in_msgs, *in_bytes;        /* tavern_rt_messages_total{direction="in"} ... */
} rt_handler_t;

struct tv_rt {
    tv_rt_opts_t opts;
    int64_t ping_ms, pong_ms;               /* --ws-ping-interval, --ws-pong-timeout */
    int nshards;
    rt_shard_t *shards;
    atomic_uint next;
    atomic_int sessions;
    rt_stripe_t by_session[RT_STRIPES];     /* session id -> rt_session_t */
    rt_stripe_t by_user[RT_STRIPES];        /* user id -> first session of the user */
    rt_handler_t *handlers;                 /* frozen once sealed */
    size_t nhandlers, caphandlers;
    tv_rt_listener_t listeners[RT_MAX_LISTENERS];
    int nlisteners;
    atomic_int sealed;                      /* a socket arrived: tables are frozen */
    atomic_int stopping;                    /* pushes are refused */
    atomic_int senders;                     /* pushes in flight (tv_rt_stop waits them out) */
};

/* ---- metrics ---------------------------------------------------------------------------- */

/* The label set of outgoing message types: Nakama's envelope keys that a server sends, then
 * "none" (a bare {"cid"} answer) and "other". Fixed, so the series are too. */
static const char *const out_types[] = {
    "channel", "channel_message", "channel_message_ack", "channel_presence_event", "error",
    "match", "match_data", "match_presence_event", "matchmaker_matched", "matchmaker_ticket",
    "notifications", "party", "party_data", "party_presence_event", "pong", "rpc", "status",
    "status_presence_event", "stream_data", "stream_presence_event", "none", "other",
};
#define OUT_TYPES (int)(sizeof out_types / sizeof out_types[0])
#define OUT_NONE (OUT_TYPES - 2)
#define OUT_OTHER (OUT_TYPES - 1)

static struct {
    tv_metric_t *out_msgs[OUT_TYPES], *out_bytes[OUT_TYPES];
    tv_metric_t *in_ping[2], *in_pong[2], *in_other[2]; /* messages, bytes */
    tv_metric_t *open, *opened, *closed, *rtt;
} rtm;
static pthread_once_t rtm_once = PTHREAD_ONCE_INIT;

static const double rtt_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                    0.5, 1, 2.5, 5};

static tv_metric_family_t *msgs_family(void)
{
    return tv_metrics_family(TV_METRIC_COUNTER, "tavern_rt_messages_total",
                             "Realtime envelopes received (in) and written to sockets (out), by "
                             "message type.", "direction,type", NULL, 0);
}

static tv_metric_family_t *bytes_family(void)
{
    return tv_metrics_family(TV_METRIC_COUNTER, "tavern_rt_message_bytes_total",
                             "Bytes of realtime envelopes (JSON text, without WebSocket framing) "
                             "received and written, by message type.", "direction,type", NULL, 0);
}

static void in_series(const char *type, tv_metric_t *out[2])
{
    const char *v[] = {"in", type};
    out[0] = tv_metrics_series(msgs_family(), v);
    out[1] = tv_metrics_series(bytes_family(), v);
}

static void rtm_init(void)
{
    for (int i = 0; i < OUT_TYPES; i++) {
        const char *v[] = {"out", out_types[i]};
        rtm.out_msgs[i] = tv_metrics_series(msgs_family(), v);
        rtm.out_bytes[i] = tv_metrics_series(bytes_family(), v);
    }
    in_series("ping", rtm.in_ping);
    in_series("pong", rtm.in_pong);
    in_series("other", rtm.in_other);
    rtm.open = tv_metrics_one(tv_metrics_family(
        TV_METRIC_GAUGE, "tavern_rt_sessions", "Open WebSocket sessions (CCU).", NULL, NULL, 0));
    rtm.opened = tv_metrics_one(tv_metrics_family(
        TV_METRIC_COUNTER, "tavern_rt_sessions_opened_total", "WebSocket sessions opened.", NULL,
        NULL, 0));
    rtm.closed = tv_metrics_one(tv_metrics_family(
        TV_METRIC_COUNTER, "tavern_rt_sessions_closed_total", "WebSocket sessions closed.", NULL,
        NULL, 0));
    rtm.rtt = tv_metrics_one(tv_metrics_family(
        TV_METRIC_HISTOGRAM, "tavern_rt_rtt_seconds",
        "Round trip of the server's WebSocket PINGs (one per socket every --ws-ping-interval): "
        "PING written to its PONG read.",
        NULL, rtt_bounds, sizeof rtt_bounds / sizeof rtt_bounds[0]));
}

/* The type of an outgoing envelope from its text, {"cid":"...","<key>":...} or {"<key>":...}
 * as cJSON and the hand-built writers print it (no white space): a bounded scan of its head. */
static int out_type(const char *t, size_t len)
{
    size_t i = 1;
    if (len < 2 || t[0] != '{')
        return OUT_OTHER;
    for (int k = 0; k < 2; k++) {
        if (i >= len || t[i] != '"')
            return i < len && t[i] == '}' ? OUT_NONE : OUT_OTHER;
        size_t ks = ++i;
        while (i < len && t[i] != '"' && t[i] != '\\')
            i++;
        if (i >= len || t[i] != '"')
            return OUT_OTHER;
        size_t kl = i++ - ks;
        if (k == 0 && kl == 3 && memcmp(t + ks, "cid", 3) == 0) {
            if (i + 1 >= len || t[i] != ':' || t[i + 1] != '"')
                return OUT_OTHER;
            for (i += 2; i < len && t[i] != '"'; i++)
                if (t[i] == '\\')
                    i++;
            if (++i >= len || t[i] != ',')
                return OUT_NONE;
            i++;
            continue;
        }
        for (int j = 0; j < OUT_NONE; j++)
            if (strlen(out_types[j]) == kl && memcmp(out_types[j], t + ks, kl) == 0)
                return j;
        return OUT_OTHER;
    }
    return OUT_OTHER;
}

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
 * buffer, or NULL. The buffer holds the whole head, so no argument is ever too long for it;
 * the next call overwrites it. */
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

/* The format argument: 0 JSON (also when absent), 1 protobuf, -1 anything else. */
static int format_arg(rt_shard_t *sh, struct lws *wsi)
{
    const char *f = query_arg(sh, wsi, "format=");
    if (!f || !*f || strcmp(f, "json") == 0)
        return 0;
    return strcmp(f, "protobuf") == 0 ? 1 : -1;
}

/* ?status= and ?lang= as Nakama reads them: status through strconv.ParseBool (anything else is
 * false), lang defaulting to "en". */
static void session_args(rt_shard_t *sh, struct lws *wsi, tv_rt_identity_t *who)
{
    const char *v = query_arg(sh, wsi, "status=");
    if (!v || tv_parse_bool(v, &who->status) != TV_OK)
        who->status = 0;
    v = query_arg(sh, wsi, "lang=");
    snprintf(who->lang, sizeof who->lang, "%s", v && *v ? v : "en");
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
    /* Nakama checks the format before the token */
    int pb = format_arg(sh, wsi);
    if (pb < 0)
        return refuse(wsi, 400, "Invalid format parameter");
    memset(&who, 0, sizeof who);
    session_args(sh, wsi, &who);
    const char *token = request_token(sh, wsi);
    if (!token || sh->rt->opts.auth(sh->rt->opts.auth_ud, token, &who) != 0)
        return refuse(wsi, 401, "Missing or invalid token");
    sh->pending_wsi = wsi;
    sh->pending_who = who;
    sh->pending_pb = pb;
    return 0;
}

/* ---- messages and the outgoing queue ---------------------------------------------------- */

static rt_msg_t *msg_new(const char *text, size_t len)
{
    rt_msg_t *m = malloc(sizeof *m + len);
    if (!m)
        return NULL;
    atomic_init(&m->refs, 1);
    m->done = NULL;
    m->done_arg = NULL;
    m->type = out_type(text, len);
    atomic_init(&m->pb, NULL);
    m->len = len;
    memcpy(m->text, text, len);
    return m;
}

static void msg_unref(rt_msg_t *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
        if (m->done)
            m->done(m->done_arg);
        rt_pb_t *pb = atomic_load(&m->pb);
        if (pb != &pb_failed)
            free(pb);
        free(m);
    }
}

/* Appends m to s's queue, taking a reference. Caller holds the shard lock. TV_EBUSY when the
 * queue is full: the session is then marked to close, as Nakama drops a client that cannot
 * keep up. */
static int queue_push_locked(rt_session_t *s, rt_msg_t *m)
{
    if (s->overflow || s->q_len == RT_QUEUE_MAX) {
        if (!s->overflow)
            s->overflow = 1;
        return TV_EBUSY;
    }
    atomic_fetch_add(&m->refs, 1);
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
        msg_unref(m);
}

/* Puts s on its shard's wake list so the service thread asks lws for a WRITEABLE callback;
 * lws_callback_on_writable itself may only be called on the service thread. Caller holds the
 * lock and wakes the thread (lws_cancel_service) after unlocking. */
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

/* Asks for a WRITEABLE callback on s: directly on its own service thread, otherwise through
 * the wake list, setting s's shard bit in *wake. Caller holds the shard lock. */
static void want_write_locked(rt_session_t *s, uint64_t *wake)
{
    if (tl_shard == s->shard) {
        lws_callback_on_writable(s->wsi);
        return;
    }
    wake_locked(s);
    if (s->shard->wake_pending)
        return;
    s->shard->wake_pending = 1;
    *wake |= 1ULL << s->shard->index;
}

/* Queues m for s. The caller keeps s alive (holds its session stripe, or runs on its service
 * thread). Errors as queue_push_locked. */
static int session_push(rt_session_t *s, rt_msg_t *m, uint64_t *wake)
{
    pthread_mutex_lock(&s->shard->lock);
    int rc = queue_push_locked(s, m);
    want_write_locked(s, wake); /* an overflow must reach the writer too: it closes */
    pthread_mutex_unlock(&s->shard->lock);
    return rc;
}

/* ---- keep-alive ------------------------------------------------------------------------- */

/* tavern PINGs every socket itself, on a fixed cadence: ping_ms after it opened, then every
 * ping_ms, busy or idle, so the round trip is measured on sockets in matches too (a 10-byte
 * frame every 15 s costs nothing next to their traffic). At most one PING is in flight per
 * socket. Its payload is the time it was written: CLOCK_MONOTONIC microseconds in 8 bytes of
 * 7 bits each, most significant first (56 bits: 2,000 years). A WebSocket client echoes it in
 * its PONG (browsers, nakama-js and every RFC 6455 stack do so by themselves) and
 * now − payload is the round trip. 7 bits because lws 4.1, once a socket has sent a text
 * message, checks a PONG's payload as UTF-8 too (LWS_SERVER_OPTION_VALIDATE_UTF8) and closes
 * with 1007 "bad utf8" on a byte it cannot take: ASCII always passes.
 *
 * The drop rule is tavern's alone: a socket from which nothing has been read (no message, no
 * PONG) for pong_ms is closed by the sweep below. lws' validity machinery is switched off
 * (the vhost's policy has no hang-up time), because in lws 4.1 it PINGs with an empty payload,
 * and lws passes an empty PONG to nobody: no figure could come of it.
 *
 * The sweep runs on the service thread every half second (the nudge): a walk over the
 * thread's sessions, two compares each, no lock and no allocation; a PING costs a WRITEABLE
 * callback and an lws_write from the stack. */

#define PING_LEN 8
#define PING_MASK ((1ULL << (7 * PING_LEN)) - 1)

/* CLOCK_MONOTONIC in microseconds, in the 56 bits a PING carries; never 0 (0 marks "no PING in
 * flight"). */
static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t us = ((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000) & PING_MASK;
    return us ? us : 1;
}

/* Writes the PING the sweep asked for, from the WRITEABLE callback. Returns 0, or -1 to close
 * the socket. */
static int ping_write(struct lws *wsi, rt_session_t *s)
{
    unsigned char frame[LWS_PRE + PING_LEN];
    uint64_t now = mono_us();

    for (int i = 0; i < PING_LEN; i++)
        frame[LWS_PRE + i] = (unsigned char)(now >> (7 * (PING_LEN - 1 - i)) & 0x7f);
    s->ping_due = 0;
    if (lws_write(wsi, frame + LWS_PRE, PING_LEN, LWS_WRITE_PING) < PING_LEN)
        return -1;
    s->ping_stamp = now;
    return 0;
}

/* LWS_CALLBACK_RECEIVE_PONG (lws hands over only non-empty PONGs): the peer is alive; when the
 * payload is the PING in flight, its round trip goes into the histogram. Any other payload
 * (an unsolicited PONG, which RFC 6455 allows, or a stale or forged one) is not timed. */
static void session_pong(rt_session_t *s, const void *in, size_t len)
{
    s->rx_at = tv_mono_ms();
    if (len != PING_LEN || !s->ping_stamp)
        return;
    const unsigned char *p = in;
    uint64_t sent = 0;
    for (int i = 0; i < PING_LEN; i++) {
        if (p[i] & 0x80)
            return;
        sent = sent << 7 | p[i];
    }
    if (sent != s->ping_stamp)
        return;
    s->ping_stamp = 0;
    tv_metric_observe_ns(rtm.rtt, ((mono_us() - sent) & PING_MASK) * 1000);
}

/* Every half second on the service thread: closes sockets silent for pong_ms and asks for
 * WRITEABLE on those whose PING is due. The session list changes only on this thread (open
 * and close), so it is walked without the shard lock; a close asked here happens later, in
 * lws' own time (LWS_TO_KILL_ASYNC), never under this walk. */
static void keep_alive_sweep(rt_shard_t *sh)
{
    tv_rt_t *rt = sh->rt;
    int64_t now = tv_mono_ms();

    for (rt_session_t *s = sh->sessions; s; s = s->next) {
        if (s->dropped)
            continue;
        if (now - s->rx_at >= rt->pong_ms) {
            s->dropped = 1;
            tv_log_debug("rt", "session %s: nothing read for %lld ms, closing",
                         s->who.session_id, (long long)(now - s->rx_at));
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
            continue;
        }
        if (now < s->ping_at)
            continue;
        s->ping_at += rt->ping_ms; /* the cadence holds whatever the sweep's lateness */
        if (s->ping_at <= now)
            s->ping_at = now + rt->ping_ms;
        if (!s->ping_stamp && !s->ping_due) {
            s->ping_due = 1;
            lws_callback_on_writable(s->wsi);
        }
    }
}

/* ---- writing --------------------------------------------------------------------------- */

/* m's protobuf form, encoded by the first protobuf session that writes m (so a text shared by
 * many sessions is encoded once whatever the audience); NULL when it has none (logged). */
static const rt_pb_t *msg_pb(rt_msg_t *m)
{
    rt_pb_t *pb = atomic_load(&m->pb);
    if (!pb) {
        uint8_t *data;
        size_t len;
        int rc = tv_rt_pb_from_text(m->text, m->len, &data, &len);
        rt_pb_t *made = rc == TV_OK ? malloc(sizeof *made + len) : NULL;
        if (made) {
            made->len = len;
            memcpy(made->data, data, len);
        } else {
            tv_log_warn("rt", "%s message has no protobuf form (%s), not sent",
                        out_types[m->type], tv_error_name(rc == TV_OK ? TV_ENOMEM : rc));
            made = &pb_failed;
        }
        free(data);
        pb = made;
        if (!atomic_compare_exchange_strong(&m->pb, &(rt_pb_t *){NULL}, made)) {
            if (made != &pb_failed) /* another thread was first: use its copy */
                free(made);
            pb = atomic_load(&m->pb);
        }
    }
    return pb == &pb_failed ? NULL : pb;
}

/* Writes one queued message in the session's format. lws writes the frame header into the
 * LWS_PRE bytes before the payload, and m may be shared with sessions on other threads: write
 * from this thread's own copy. Returns 0, or -1 to close the socket. */
static int write_one(struct lws *wsi, rt_shard_t *sh, rt_msg_t *m, int pb)
{
    const rt_pb_t *bin = pb ? msg_pb(m) : NULL;
    const void *out = bin ? (const void *)bin->data : m->text;
    size_t len = bin ? bin->len : m->len;
    if (pb && !bin) {
        msg_unref(m);
        return 0;
    }
    if (LWS_PRE + len > sh->tx_cap) {
        unsigned char *tx = realloc(sh->tx, LWS_PRE + len);
        if (!tx) {
            msg_unref(m);
            return -1;
        }
        sh->tx = tx;
        sh->tx_cap = LWS_PRE + len;
    }
    memcpy(sh->tx + LWS_PRE, out, len);
    int n = lws_write(wsi, sh->tx + LWS_PRE, len, pb ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    int short_write = n < (int)len;
    tv_metric_inc(rtm.out_msgs[m->type]);
    tv_metric_add(rtm.out_bytes[m->type], (int64_t)len);
    msg_unref(m);
    return short_write ? -1 : 0;
}

/* Drains the queue while the kernel takes more (up to a bound, so one busy session cannot
 * starve the others on this thread): one wake-up per message cost most of the CPU under load. */
#define WRITES_PER_CALLBACK 32

/* Holds (on) or releases (off) the socket's partial frames: while a burst is written, frames
 * join one TCP segment instead of each costing a transmit and a wake-up of the peer, which was
 * most of the server's kernel time with many small match messages. */
static void cork(struct lws *wsi, int on)
{
    setsockopt(lws_get_socket_fd(wsi), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
}

/* LWS_CALLBACK_SERVER_WRITEABLE: writes a burst of queued messages, asks for the next
 * callback while any remain, and closes once a closing reply has been sent. */
static int session_writeable(struct lws *wsi, rt_session_t *s)
{
    rt_shard_t *sh = s->shard;
    int more = 0, overflow = 0, close_status = 0, corked = 0, first = 0;

    if (s->ping_due && ping_write(wsi, s) != 0)
        return -1;
    for (int i = 0; i < WRITES_PER_CALLBACK; i++) {
        rt_msg_t *m = NULL;
        pthread_mutex_lock(&sh->lock);
        overflow = s->overflow;
        if (overflow == 1) { /* lws may call again while it closes: say it once */
            s->overflow = 2;
            first = 1;
        }
        if (!overflow)
            m = queue_pop_locked(s);
        more = s->q_len > 0;
        close_status = s->close_status;
        pthread_mutex_unlock(&sh->lock);
        if (overflow || !m)
            break;
        if (more && !corked) {
            cork(wsi, 1);
            corked = 1;
        }
        if (write_one(wsi, sh, m, s->pb) != 0)
            return -1;
        if (!more || lws_send_pipe_choked(wsi))
            break;
    }
    if (corked)
        cork(wsi, 0);
    if (overflow) {
        static const char why[] = "outgoing queue full";
        if (first)
            tv_log_warn("rt", "session %s: %s, closing", s->who.session_id, why);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why,
                         sizeof why - 1);
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

/* ---- the registry ----------------------------------------------------------------------- */

static rt_stripe_t *stripe(rt_stripe_t *stripes, const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return &stripes[h % RT_STRIPES];
}

/* Adds s to both indexes. TV_OK or TV_ENOMEM (then s is in neither). */
static int registry_add(tv_rt_t *rt, rt_session_t *s)
{
    rt_stripe_t *ss = stripe(rt->by_session, s->who.session_id);
    rt_stripe_t *us = stripe(rt->by_user, s->who.user_id);
    int rc;

    pthread_mutex_lock(&ss->lock);
    rc = tv_rt_idmap_put(&ss->map, s->who.session_id, s);
    pthread_mutex_unlock(&ss->lock);
    if (rc != TV_OK)
        return rc;
    pthread_mutex_lock(&us->lock);
    rt_session_t *head = tv_rt_idmap_get(&us->map, s->who.user_id);
    /* the key points into the head session, so it changes with the head */
    rc = tv_rt_idmap_put(&us->map, s->who.user_id, s);
    if (rc == TV_OK) {
        s->user_next = head;
        s->user_prev = NULL;
        if (head)
            head->user_prev = s;
    }
    pthread_mutex_unlock(&us->lock);
    if (rc != TV_OK) {
        pthread_mutex_lock(&ss->lock);
        tv_rt_idmap_del(&ss->map, s->who.session_id);
        pthread_mutex_unlock(&ss->lock);
    }
    return rc;
}

static void registry_remove(tv_rt_t *rt, rt_session_t *s)
{
    rt_stripe_t *ss = stripe(rt->by_session, s->who.session_id);
    rt_stripe_t *us = stripe(rt->by_user, s->who.user_id);

    pthread_mutex_lock(&ss->lock);
    tv_rt_idmap_del(&ss->map, s->who.session_id);
    pthread_mutex_unlock(&ss->lock);

    pthread_mutex_lock(&us->lock);
    if (s->user_prev) {
        s->user_prev->user_next = s->user_next;
    } else if (s->user_next) {
        /* cannot fail: the key is already there, only its value and key pointer change */
        tv_rt_idmap_put(&us->map, s->user_next->who.user_id, s->user_next);
    } else {
        tv_rt_idmap_del(&us->map, s->who.user_id);
    }
    if (s->user_next)
        s->user_next->user_prev = s->user_prev;
    s->user_next = s->user_prev = NULL;
    pthread_mutex_unlock(&us->lock);
}

/* Pushes from any thread go between push_begin and push_end, so tv_rt_stop can refuse new
 * ones and wait for those in flight before it destroys the contexts they wake. */
static int push_begin(tv_rt_t *rt)
{
    if (!rt)
        return TV_EUNAVAIL; /* no realtime layer (unit tests, tools): nobody to reach */
    atomic_fetch_add(&rt->senders, 1);
    if (atomic_load(&rt->stopping)) {
        atomic_fetch_sub(&rt->senders, 1);
        return TV_EUNAVAIL;
    }
    return TV_OK;
}

static void push_end(tv_rt_t *rt, uint64_t wake)
{
    for (int i = 0; i < rt->nshards; i++)
        if (wake & (1ULL << i))
            lws_cancel_service(rt->shards[i].ctx);
    atomic_fetch_sub(&rt->senders, 1);
}

/* Queues m for the session with this id. Errors as tv_rt_send. */
static int push_to(tv_rt_t *rt, const char *session_id, rt_msg_t *m, uint64_t *wake)
{
    rt_stripe_t *ss = stripe(rt->by_session, session_id);
    int rc = TV_ENOTFOUND;

    pthread_mutex_lock(&ss->lock);
    rt_session_t *s = tv_rt_idmap_get(&ss->map, session_id);
    if (s)
        rc = session_push(s, m, wake);
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

int tv_rt_send(tv_rt_t *rt, const char *session_id, const char *json, size_t len)
{
    uint64_t wake = 0;
    int rc = push_begin(rt);
    if (rc != TV_OK)
        return rc;
    rt_msg_t *m = msg_new(json, len);
    rc = m ? push_to(rt, session_id, m, &wake) : TV_ENOMEM;
    msg_unref(m);
    push_end(rt, wake);
    return rc;
}

int tv_rt_send_many(tv_rt_t *rt, const char *const *session_ids, size_t n, const char *json,
                    size_t len)
{
    return tv_rt_send_many_done(rt, session_ids, n, json, len, NULL, NULL);
}

int tv_rt_send_many_done(tv_rt_t *rt, const char *const *session_ids, size_t n,
                         const char *json, size_t len, void (*done)(void *arg), void *arg)
{
    uint64_t wake = 0;
    int rc = push_begin(rt), reached = 0;
    if (rc != TV_OK)
        return rc;
    rt_msg_t *m = msg_new(json, len);
    if (m) {
        m->done = done;
        m->done_arg = arg;
    }
    for (size_t i = 0; m && i < n; i++)
        if (push_to(rt, session_ids[i], m, &wake) == TV_OK)
            reached++;
    msg_unref(m);
    push_end(rt, wake);
    return m ? reached : TV_ENOMEM;
}

int tv_rt_send_user(tv_rt_t *rt, const char *user_id, const char *json, size_t len)
{
    uint64_t wake = 0;
    int rc = push_begin(rt), reached = 0;
    if (rc != TV_OK)
        return rc;
    rt_stripe_t *us = stripe(rt->by_user, user_id);
    rt_msg_t *m = msg_new(json, len);
    if (m) {
        /* The user stripe keeps the sessions alive: registry_remove takes it before lws may
         * free a session. */
        pthread_mutex_lock(&us->lock);
        for (rt_session_t *s = tv_rt_idmap_get(&us->map, user_id); s; s = s->user_next)
            if (session_push(s, m, &wake) == TV_OK)
                reached++;
        pthread_mutex_unlock(&us->lock);
    }
    msg_unref(m);
    push_end(rt, wake);
    return m ? reached : TV_ENOMEM;
}

/* Sends text (cJSON-allocated, consumed) to a session; NULL text means no memory. */
static int send_text(tv_rt_t *rt, const char *session_id, char *text)
{
    int rc = text ? tv_rt_send(rt, session_id, text, strlen(text)) : TV_ENOMEM;
    cJSON_free(text);
    return rc;
}

int tv_rt_reply(tv_rt_t *rt, const char *session_id, const char *cid, const char *key,
                cJSON *body)
{
    return send_text(rt, session_id, tv_rt_envelope_text(cid, key, body));
}

/* The body of an `error` envelope; code 0 is left out, as protojson does. */
static cJSON *error_body(int code, const char *message)
{
    cJSON *err = cJSON_CreateObject();
    if (err && ((code && !cJSON_AddNumberToObject(err, "code", code)) ||
                !cJSON_AddStringToObject(err, "message", message ? message : ""))) {
        cJSON_Delete(err);
        err = NULL;
    }
    return err;
}

int tv_rt_reply_error(tv_rt_t *rt, const char *session_id, const char *cid, int code,
                      const char *message)
{
    cJSON *err = error_body(code, message);
    return err ? tv_rt_reply(rt, session_id, cid, "error", err) : TV_ENOMEM;
}

struct tv_rt_later {
    tv_rt_t *rt;
    char session_id[37];
    int has_cid; /* an empty cid "" is still a cid */
    char cid[];
};

tv_rt_later_t *tv_rt_later(const tv_rt_msg_t *msg)
{
    size_t n = msg->cid ? strlen(msg->cid) + 1 : 1;
    tv_rt_later_t *l = malloc(sizeof *l + n);
    if (!l)
        return NULL;
    l->rt = msg->rt;
    memcpy(l->session_id, msg->who->session_id, sizeof l->session_id);
    l->has_cid = msg->cid != NULL;
    memcpy(l->cid, msg->cid ? msg->cid : "", n);
    return l;
}

static const char *later_cid(const tv_rt_later_t *l)
{
    return l->has_cid ? l->cid : NULL;
}

int tv_rt_later_reply(tv_rt_later_t *l, const char *key, cJSON *body)
{
    int rc = tv_rt_reply(l->rt, l->session_id, later_cid(l), key, body);
    free(l);
    return rc;
}

int tv_rt_later_error(tv_rt_later_t *l, int code, const char *message)
{
    int rc = tv_rt_reply_error(l->rt, l->session_id, later_cid(l), code, message);
    free(l);
    return rc;
}

void tv_rt_later_free(tv_rt_later_t *l)
{
    free(l);
}

int tv_rt_disconnect(tv_rt_t *rt, const char *session_id)
{
    uint64_t wake = 0;
    int rc = push_begin(rt);
    if (rc != TV_OK)
        return rc;
    rt_stripe_t *ss = stripe(rt->by_session, session_id);
    rc = TV_ENOTFOUND;
    pthread_mutex_lock(&ss->lock);
    rt_session_t *s = tv_rt_idmap_get(&ss->map, session_id);
    if (s) {
        pthread_mutex_lock(&s->shard->lock);
        s->close_status = LWS_CLOSE_STATUS_NORMAL;
        want_write_locked(s, &wake);
        pthread_mutex_unlock(&s->shard->lock);
        rc = TV_OK;
    }
    pthread_mutex_unlock(&ss->lock);
    push_end(rt, wake);
    return rc;
}

int tv_rt_session_get(tv_rt_t *rt, const char *session_id, tv_rt_identity_t *out)
{
    rt_stripe_t *ss = stripe(rt->by_session, session_id);
    pthread_mutex_lock(&ss->lock);
    rt_session_t *s = tv_rt_idmap_get(&ss->map, session_id);
    if (s)
        *out = s->who;
    pthread_mutex_unlock(&ss->lock);
    return s ? TV_OK : TV_ENOTFOUND;
}

int tv_rt_user_sessions(tv_rt_t *rt, const char *user_id, tv_rt_identity_t *out, int max)
{
    rt_stripe_t *us = stripe(rt->by_user, user_id);
    int n = 0;
    pthread_mutex_lock(&us->lock);
    for (rt_session_t *s = tv_rt_idmap_get(&us->map, user_id); s; s = s->user_next, n++)
        if (n < max)
            out[n] = s->who;
    pthread_mutex_unlock(&us->lock);
    return n;
}

/* ---- incoming envelopes ---------------------------------------------------------------- */

/* Queues text (cJSON-allocated, consumed) for s on its own service thread. */
static int session_reply(rt_session_t *s, char *text)
{
    uint64_t wake = 0;
    int rc = TV_ENOMEM;
    rt_msg_t *m = text ? msg_new(text, strlen(text)) : NULL;
    if (m)
        rc = session_push(s, m, &wake); /* own thread: never sets wake */
    msg_unref(m);
    cJSON_free(text);
    return rc;
}

/* Stops reading and closes once everything queued is sent. On the service thread. */
static void session_close_soon(rt_session_t *s, int status)
{
    pthread_mutex_lock(&s->shard->lock);
    s->close_status = status;
    pthread_mutex_unlock(&s->shard->lock);
    s->rx_done = 1;
    lws_callback_on_writable(s->wsi);
}

/* Replies with an error envelope and closes once it is sent, as Nakama does for an envelope it
 * cannot route. Returns 0, or -1 to drop the socket now (no memory). */
static int reply_error_close(rt_session_t *s, const char *cid, int code, const char *message)
{
    session_close_soon(s, LWS_CLOSE_STATUS_NORMAL);
    cJSON *err = error_body(code, message);
    int rc = session_reply(s, err ? tv_rt_envelope_text(cid, "error", err) : NULL);
    return rc == TV_ENOMEM ? -1 : 0;
}

/* Splits an envelope into its cid (NULL when absent) and its single message member. Returns 0,
 * or -1 when it is not an object, cid is not a string, or there is not exactly one message
 * object. */
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

static const rt_handler_t *handler_find(const tv_rt_t *rt, const char *name)
{
    for (size_t i = 0; i < rt->nhandlers; i++)
        if (strcmp(rt->handlers[i].name, name) == 0)
            return &rt->handlers[i];
    return NULL;
}

/* Handles one complete text message. Returns 0 to keep reading, -1 to drop the socket now. */
static int envelope_handle(rt_session_t *s, const char *text, size_t len)
{
    /* the codec's edge: a protobuf envelope becomes the object its JSON text would parse to */
    cJSON *env = s->pb ? tv_rt_pb_to_json(text, len) : cJSON_ParseWithLength(text, len);
    const rt_handler_t *h;
    const char *cid;
    const cJSON *body;
    int rc = 0;

    tv_metric_t **count = rtm.in_other;
    if (envelope_split(env, &cid, &body) != 0) {
        rc = reply_error_close(s, cid, TV_RT_ERR_MISSING_PAYLOAD, "Missing or invalid message");
    } else if (strcmp(body->string, "ping") == 0) {
        count = rtm.in_ping;
        rc = session_reply(s, tv_rt_envelope_text(cid, "pong", cJSON_CreateObject())) == TV_OK
                 ? 0 : -1;
    } else if (strcmp(body->string, "pong") == 0) {
        count = rtm.in_pong; /* nothing to do: Nakama takes a client's pong in silence */
    } else if (!(h = handler_find(s->shard->rt, body->string))) {
        rc = reply_error_close(s, cid, TV_RT_ERR_UNRECOGNIZED_PAYLOAD, "Unrecognized message.");
    } else {
        tv_rt_msg_t msg = {s->shard->rt, &s->who, cid, body->string, body};
        tv_metric_inc(h->in_msgs);
        tv_metric_add(h->in_bytes, (int64_t)len);
        count = NULL;
        int hrc = h->fn(h->ud, &msg);
        if (hrc != TV_OK) {
            tv_log_debug("rt", "session %s: %s refused (%s), closing", s->who.session_id,
                         body->string, tv_error_name(hrc));
            session_close_soon(s, LWS_CLOSE_STATUS_NORMAL);
        }
    }
    if (count) {
        tv_metric_inc(count[0]);
        tv_metric_add(count[1], (int64_t)len);
    }
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

    /* any frame proves the peer alive, as in Nakama, which resets its read deadline on every
     * message and every PONG (one clock read: no timer to re-sort) */
    s->rx_at = tv_mono_ms();
    if (s->rx_done)
        return 0;
    if (lws_frame_is_binary(wsi) && !s->pb) {
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

/* LWS_CALLBACK_ESTABLISHED: the upgrade is done; the session takes the checked identity,
 * joins the registry and the listeners hear of it. */
static int session_open(struct lws *wsi, rt_session_t *s)
{
    rt_shard_t *sh = lws_context_user(lws_get_context(wsi));
    tv_rt_t *rt = sh->rt;

    memset(s, 0, sizeof *s);
    if (sh->pending_wsi != wsi)
        return -1; /* every upgrade passes upgrade_check first; refuse rather than trust */
    sh->pending_wsi = NULL;
    s->who = sh->pending_who;
    s->pb = sh->pending_pb;
    tv_uuid_v4(s->who.session_id);
    s->wsi = wsi;
    s->shard = sh;
    s->rx_at = tv_mono_ms();
    s->ping_at = s->rx_at + rt->ping_ms;
    if (registry_add(rt, s) != TV_OK)
        return -1;
    pthread_mutex_lock(&sh->lock);
    s->next = sh->sessions;
    if (s->next)
        s->next->prev = s;
    sh->sessions = s;
    s->live = 1;
    pthread_mutex_unlock(&sh->lock);
    atomic_fetch_add(&rt->sessions, 1);
    tv_metric_inc(rtm.open);
    tv_metric_inc(rtm.opened);
    tv_log_debug("rt", "session %s open for user %s", s->who.session_id, s->who.user_id);
    for (int i = 0; i < rt->nlisteners; i++)
        if (rt->listeners[i].on_open)
            rt->listeners[i].on_open(rt->listeners[i].ud, &s->who);
    return 0;
}

/* LWS_CALLBACK_CLOSED: leave the registry and the shard under their locks so no other thread
 * can reach s afterwards (lws frees s once this returns), then tell the listeners. */
static void session_close(rt_session_t *s)
{
    if (!s->live)
        return;
    rt_shard_t *sh = s->shard;
    tv_rt_t *rt = sh->rt;
    registry_remove(rt, s);
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
    atomic_fetch_sub(&rt->sessions, 1);
    tv_metric_add(rtm.open, -1);
    tv_metric_inc(rtm.closed);
    tv_log_debug("rt", "session %s closed", s->who.session_id);
    for (int i = 0; i < rt->nlisteners; i++)
        if (rt->listeners[i].on_close)
            rt->listeners[i].on_close(rt->listeners[i].ud, &s->who);
}

/* ---- the service thread ---------------------------------------------------------------- */

/* LWS_CALLBACK_EVENT_WAIT_CANCELLED: lws_cancel_service woke this thread. Adopt the sockets the
 * acceptor queued and ask for WRITEABLE on sessions other threads fed. */
static int shard_wake(rt_shard_t *sh)
{
    int *fds;
    size_t nfds;
    rt_session_t *wake;

    if (atomic_load(&sh->stop)) {
        ev_break(sh->loop, EVBREAK_ALL);
        return 0;
    }
    pthread_mutex_lock(&sh->lock);
    fds = sh->fds;
    nfds = sh->nfds;
    sh->fds = NULL;
    sh->nfds = sh->capfds = 0;
    wake = sh->wake;
    sh->wake = NULL;
    sh->wake_pending = 0; /* with the list taken: a later push must wake us again */
    for (rt_session_t *s = wake; s; s = s->wake_next)
        s->waking = 0;
    pthread_mutex_unlock(&sh->lock);

    if (sh->sweep_due) {
        sh->sweep_due = 0;
        keep_alive_sweep(sh);
    }
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
    case LWS_CALLBACK_RECEIVE_PONG:
        session_pong(user, in, len);
        return 0;
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

/* lws runs on a libev loop of ours rather than its own poll(): poll() scans every socket of
 * the thread on each wake-up, which took 40% of the server's CPU with 2,000 busy sockets, where
 * epoll hands over only the ready ones. The loop being ours (foreign to lws) is what lets the
 * thread leave it (ev_break on stop) and the context be destroyed cleanly afterwards. */
/* lws (4.1) on libev re-arms its timer (time-outs, closes asked with LWS_TO_KILL_ASYNC) only
 * after socket activity, so an idle thread would never serve them: a wake-up every half second
 * gives it that activity, and runs the keep-alive sweep inside lws' service (shard_wake). */
static void shard_nudge(struct ev_loop *loop, ev_timer *w, int revents)
{
    rt_shard_t *sh = w->data;
    (void)loop;
    (void)revents;
    sh->sweep_due = 1; /* read by shard_wake on this same thread */
    lws_cancel_service(sh->ctx);
}

static void *shard_main(void *arg)
{
    rt_shard_t *sh = arg;
    tl_shard = sh;
    ev_timer_init(&sh->nudge, shard_nudge, 0.5, 0.5);
    sh->nudge.data = sh;
    ev_timer_start(sh->loop, &sh->nudge);
    ev_run(sh->loop, 0);
    ev_timer_stop(sh->loop, &sh->nudge);
    return NULL;
}

/* Creates the shard's context and vhost and starts its thread. Returns 0 or TV_EINTERNAL /
 * TV_ENOMEM; tv_rt_stop cleans up whatever was made. */
static int shard_start(tv_rt_t *rt, rt_shard_t *sh)
{
    struct lws_context_creation_info info;

    sh->rt = rt;
    sh->scratch = malloc((size_t)rt->opts.header_limit + 1);
    if (!sh->scratch)
        return TV_ENOMEM;
    sh->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
    if (!sh->loop)
        return TV_EINTERNAL;
    void *loops[1] = {sh->loop};
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS | LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = loops;
    info.max_http_header_data2 = (unsigned)rt->opts.header_limit;
    info.server_string = "tavern";
    info.user = sh;
    sh->ctx = lws_create_context(&info);
    if (!sh->ctx) {
        /* the libev support is a plugin lws loads at run time */
        tv_log_error("rt", "libwebsockets could not create a context on libev (is the package "
                           "libwebsockets-evlib-ev installed?)");
        return TV_EINTERNAL;
    }
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = rt_protocols;
    info.vhost_name = "tavern-rt";
    /* Without a policy lws applies its context default (a validity PING after 300 s, hang-up
     * at 310 s); a hang-up time of 0 keeps no validity timer at all: the keep-alive is ours. */
    static const lws_retry_bo_t no_validity = {.secs_since_valid_hangup = 0};
    info.retry_and_idle_policy = &no_validity;
    sh->vh = lws_create_vhost(sh->ctx, &info);
    if (!sh->vh)
        return TV_EINTERNAL;
    if (pthread_create(&sh->thread, NULL, shard_main, sh) != 0)
        return TV_EINTERNAL;
    sh->started = 1;
    return TV_OK;
}

static void shard_join(rt_shard_t *sh)
{
    if (!sh->started)
        return;
    atomic_store(&sh->stop, 1);
    lws_cancel_service(sh->ctx);
    pthread_join(sh->thread, NULL);
    sh->started = 0;
}

/* Destroys the context (lws closes its sockets, calling CLOSED for each session on this
 * thread) and closes sockets that were never adopted. The thread must be joined. */
static void shard_free(rt_shard_t *sh)
{
    if (sh->ctx)
        lws_context_destroy(sh->ctx);
    if (sh->loop)
        ev_loop_destroy(sh->loop);
    pthread_mutex_lock(&sh->lock);
    for (size_t i = 0; i < sh->nfds; i++)
        close(sh->fds[i]);
    free(sh->fds);
    sh->fds = NULL;
    sh->nfds = 0;
    pthread_mutex_unlock(&sh->lock);
    free(sh->scratch);
    free(sh->tx);
    pthread_mutex_destroy(&sh->lock);
}

/* ---- the public interface -------------------------------------------------------------- */

static int opts_valid(const tv_rt_opts_t *o)
{
    int ping = o->ping_interval_s ? o->ping_interval_s : TV_RT_PING_INTERVAL_S;
    int pong = o->pong_timeout_s ? o->pong_timeout_s : TV_RT_PONG_TIMEOUT_S;
    return o->threads >= 1 && o->threads <= RT_MAX_THREADS && o->header_limit > 4096 &&
           o->max_message && o->auth && ping > 0 && pong > ping && pong <= 65535;
}

int tv_rt_start(const tv_rt_opts_t *opts, tv_rt_t **out)
{
    tv_rt_t *rt = NULL;
    int rc = TV_EINVAL, n = 0;

    *out = NULL;
    pthread_once(&rtm_once, rtm_init);
    if (!opts_valid(opts))
        goto fail;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    rc = TV_ENOMEM;
    rt = calloc(1, sizeof *rt);
    if (!rt || !(rt->shards = calloc((size_t)opts->threads, sizeof *rt->shards)))
        goto fail;
    rt->opts = *opts;
    rt->ping_ms = 1000LL * (opts->ping_interval_s ? opts->ping_interval_s : TV_RT_PING_INTERVAL_S);
    rt->pong_ms = 1000LL * (opts->pong_timeout_s ? opts->pong_timeout_s : TV_RT_PONG_TIMEOUT_S);
    for (int i = 0; i < RT_STRIPES; i++) {
        pthread_mutex_init(&rt->by_session[i].lock, NULL);
        pthread_mutex_init(&rt->by_user[i].lock, NULL);
    }
    for (n = 0; n < opts->threads; n++) {
        pthread_mutex_init(&rt->shards[n].lock, NULL);
        rt->shards[n].index = n;
        rt->nshards = n + 1;
        if ((rc = shard_start(rt, &rt->shards[n])) != TV_OK)
            goto fail;
    }
    tv_log_info("rt", "realtime started: %d service threads, ping %ds, pong timeout %ds",
                rt->nshards, (int)(rt->ping_ms / 1000), (int)(rt->pong_ms / 1000));
    *out = rt;
    return TV_OK;
fail:
    if (rt && !rt->shards) {
        free(rt);
        rt = NULL;
    }
    if (rt)
        tv_rt_stop(rt);
    return rc == TV_EINVAL || rc == TV_ENOMEM ? rc : TV_EINTERNAL;
}

/* Registration happens before any socket: after the first one the tables are read without
 * locks on every service thread. */
static int tables_open(tv_rt_t *rt)
{
    return !atomic_load(&rt->sealed);
}

int tv_rt_register(tv_rt_t *rt, const char *name, tv_rt_handler_fn fn, void *ud)
{
    if (!name || !*name || !fn)
        return TV_EINVAL;
    if (!tables_open(rt))
        return TV_EBUSY;
    if (strcmp(name, "ping") == 0 || strcmp(name, "pong") == 0 || handler_find(rt, name))
        return TV_ECONFLICT;
    if (rt->nhandlers == rt->caphandlers) {
        size_t cap = rt->caphandlers ? rt->caphandlers * 2 : 16;
        rt_handler_t *h = realloc(rt->handlers, cap * sizeof *h);
        if (!h)
            return TV_ENOMEM;
        rt->handlers = h;
        rt->caphandlers = cap;
    }
    char *copy = tv_strdup(name);
    if (!copy)
        return TV_ENOMEM;
    rt_handler_t *h = &rt->handlers[rt->nhandlers++];
    *h = (rt_handler_t){copy, fn, ud, NULL, NULL};
    tv_metric_t *series[2];
    in_series(name, series); /* registration is start-up work: a bounded label set */
    h->in_msgs = series[0];
    h->in_bytes = series[1];
    return TV_OK;
}

int tv_rt_add_listener(tv_rt_t *rt, const tv_rt_listener_t *l)
{
    if (!tables_open(rt) || rt->nlisteners == RT_MAX_LISTENERS)
        return TV_EBUSY;
    rt->listeners[rt->nlisteners++] = *l;
    return TV_OK;
}

int tv_rt_adopt(tv_rt_t *rt, int fd)
{
    rt_shard_t *sh = &rt->shards[atomic_fetch_add(&rt->next, 1) % (unsigned)rt->nshards];
    int rc = TV_OK;

    if (fd < 0)
        return TV_EINVAL;
    atomic_store(&rt->sealed, 1);
    /* lws expects a non-blocking socket; the acceptor may have handed over a blocking one */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        goto fail_closed;
    pthread_mutex_lock(&sh->lock);
    if (atomic_load(&sh->stop) || atomic_load(&rt->stopping)) {
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
    /* Refuse new pushes and wait out those in flight: they may be about to wake a context. */
    atomic_store(&rt->stopping, 1);
    while (atomic_load(&rt->senders))
        sched_yield();
    /* Every thread stops before any context goes, since close listeners (run by the context
     * destruction) may look up sessions that live on the other shards. */
    for (int i = 0; i < rt->nshards; i++)
        shard_join(&rt->shards[i]);
    for (int i = 0; i < rt->nshards; i++)
        shard_free(&rt->shards[i]);
    for (int i = 0; i < RT_STRIPES; i++) {
        tv_rt_idmap_free(&rt->by_session[i].map);
        tv_rt_idmap_free(&rt->by_user[i].map);
        pthread_mutex_destroy(&rt->by_session[i].lock);
        pthread_mutex_destroy(&rt->by_user[i].lock);
    }
    for (size_t i = 0; i < rt->nhandlers; i++)
        free(rt->handlers[i].name);
    free(rt->handlers);
    free(rt->shards);
    free(rt);
    tv_log_info("rt", "realtime stopped");
}
