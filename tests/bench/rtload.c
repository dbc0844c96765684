/* rtload: a realtime load generator for tavern's (Nakama's) WebSocket API. Signs N devices in
 * over plain HTTP/1.1, opens N sockets on libwebsockets client contexts (one per thread), groups
 * them into relayed matches of K and has every client send match_data at R Hz for D seconds,
 * measuring delivery, latency, and the server's CPU and memory from /proc. -r 0: idle sockets.
 * -m arena: authoritative arena matches (modules/arena) instead: the first client of each group
 * makes the match with the socket RPC create_match, everyone joins it, sends 2-byte inputs at
 * R Hz and counts the server's op 2 state broadcasts (ARENA_TICK_RATE a second per client),
 * with the time between two broadcasts to the same client as the jitter figure.
 * -m chat: chat fan-out: all N clients channel_join one room, S of them send
 * channel_message_send at R messages a second in total, each content a JSON object carrying the
 * send time, the sender and a sequence number; every member counts what it hears (R * N a
 * second), the latency, the order per sender, and each sender its channel_message_ack's
 * latency.
 * -F protobuf: the sockets speak Nakama's binary Envelopes (?format=protobuf) through tavern's
 * own codec (server/rt/pbcodec.c): match_data is read straight from the decoded Envelope,
 * other messages go through the JSON path; `md_bytes` in the RESULT line is the average wire
 * size of a match_data message received, in either format. */
#include <libwebsockets.h>

#include "realtime.pb-c.h"
#include "rt/pbcodec.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PENDING_SENDS 8    /* per client; more due sends than this are counted as skipped */
#define MAX_THREADS 64
#define MAX_ADDRS 250
#define HIST_SUB_BITS 6        /* 64 sub-buckets per power of two: about 1.6 % precision */
#define HIST_N ((64 - HIST_SUB_BITS) << HIST_SUB_BITS)
#define RX_MAX (1 << 20)       /* reassembly cap for a fragmented incoming message (a chat
                                  join's reply lists every member: ~130 bytes each) */
#define ERR_PRINT_MAX 20       /* error lines printed per run; the rest are only counted */
#define ARENA_TICK_RATE 20     /* modules/arena ticks (and broadcasts op 2) 20 times a second */
#define ARENA_MAX_PLAYERS 16
#define CHAT_MAX_SENDERS 1000
#define CHAT_ACK_RING 4096     /* per sender: send times of the messages not acked yet */
#define CHAT_CONTENT_MAX 3800  /* content bytes; the whole socket message must fit 4096 */

/* ---- options ---------------------------------------------------------------------------- */

static struct {
    const char *host;
    int port;
    int n, k;
    double rate;      /* sends per second per client; 0 = idle sockets */
    double duration;  /* seconds of sending (or of holding idle sockets) */
    int threads;      /* 0: half the online CPUs (at least 1), leaving the rest to the server */
    int pid;          /* server pid for /proc figures; 0 = none */
    int payload;      /* raw bytes of match data (>= 16) */
    int addrs;        /* source addresses 127.0.0.1..127.0.0.<addrs>; 0 = automatic */
    int inflight;     /* WebSocket handshakes in flight per thread */
    int auth_conns;   /* keep-alive HTTP connections used to sign in */
    double setup_timeout;
    const char *key;
    const char *prefix;
    /* "uv": lws on libuv (epoll); "poll": lws' own poll() loop, which costs O(sockets) per
     * wake-up. libev cannot serve: each internal libev loop claims SIGINT, so a second
     * context aborts. */
    const char *evlib;
    int quiet, verbose;
    int arena;        /* -m arena: authoritative arena matches instead of relayed rooms */
    int chat;         /* -m chat: one chat room of N, S senders, -r the room's total rate */
    int senders;      /* -S: chat senders */
    const char *room; /* -R: chat room name */
    int unstored;     /* -N: join with persistence false (messages not stored) */
    int hidden;       /* -H: non-senders join hidden (no presence events for them) */
    int pb;           /* -F protobuf: binary Envelopes */
} opt = {
    .host = "127.0.0.1", .port = 7350, .n = 100, .k = 10, .rate = 20, .duration = 10,
    .threads = 0, .pid = 0, .payload = 32, .addrs = 0, .inflight = 64, .auth_conns = 4,
    .setup_timeout = 120, .key = "defaultkey", .prefix = "rtload", .evlib = "uv", .quiet = 0,
    .senders = 1, .room = "bench",
};

/* ---- time, /proc ------------------------------------------------------------------------ */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Sleeps until the absolute CLOCK_MONOTONIC time at (ns). */
static void sleep_until(int64_t at)
{
    struct timespec ts = {(time_t)(at / 1000000000), (long)(at % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* utime + stime of pid in seconds (and stime alone in *sys when sys is not NULL), or -1. */
static double proc_cpu_s(int pid, double *sys)
{
    char path[64], buf[1024];
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* comm may hold spaces */
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15) */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    if (sys)
        *sys = (double)st / (double)sysconf(_SC_CLK_TCK);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* VmRSS and VmHWM of pid in KiB (-1 when unknown). */
static void proc_rss_kib(int pid, long *rss, long *hwm)
{
    char path[64], line[256];
    *rss = *hwm = -1;
    if (pid <= 0)
        return;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            *hwm = strtol(line + 6, NULL, 10);
    }
    fclose(f);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ---- base64 ----------------------------------------------------------------------------- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static signed char b64val[256];

static void b64_init(void)
{
    memset(b64val, -1, sizeof b64val);
    for (int i = 0; i < 64; i++)
        b64val[(unsigned char)b64chars[i]] = (signed char)i;
}

/* Standard base64 with padding; out needs 4 * ceil(n / 3) + 1 bytes. Returns the length. */
static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = b64chars[(v >> 6) & 63];
        out[o++] = b64chars[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
    return o;
}

/* Decodes the first `want` bytes of the base64 text at s (at most len chars, stops at '"').
 * Returns 0 when all were there, -1 otherwise. */
static int b64_decode_prefix(const char *s, size_t len, unsigned char *out, size_t want)
{
    size_t got = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len && got < want; i++) {
        signed char v = b64val[(unsigned char)s[i]];
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[got++] = (unsigned char)(acc >> bits);
        }
    }
    return got == want ? 0 : -1;
}

/* ---- latency histogram (log-linear, microseconds) ---------------------------------------- */

typedef struct hist {
    uint64_t c[HIST_N];
    uint64_t n, max;
} hist_t;

static int hist_index(uint64_t v)
{
    if (v < (1u << HIST_SUB_BITS))
        return (int)v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - HIST_SUB_BITS;
    int idx = ((shift + 1) << HIST_SUB_BITS) + (int)((v >> shift) - (1u << HIST_SUB_BITS));
    return idx < HIST_N ? idx : HIST_N - 1;
}

/* The highest value that lands in bucket idx. */
static uint64_t hist_upper(int idx)
{
    if (idx < (1 << HIST_SUB_BITS))
        return (uint64_t)idx;
    int shift = (idx >> HIST_SUB_BITS) - 1;
    uint64_t sub = (uint64_t)(idx & ((1 << HIST_SUB_BITS) - 1)) + (1u << HIST_SUB_BITS);
    return ((sub + 1) << shift) - 1;
}

static void hist_add(hist_t *h, int64_t ns)
{
    uint64_t us = ns > 0 ? (uint64_t)ns / 1000 : 0;
    h->c[hist_index(us)]++;
    h->n++;
    if (us > h->max)
        h->max = us;
}

static void hist_merge(hist_t *into, const hist_t *h)
{
    for (int i = 0; i < HIST_N; i++)
        into->c[i] += h->c[i];
    into->n += h->n;
    if (h->max > into->max)
        into->max = h->max;
}

/* The p-quantile in milliseconds (bucket upper bound, capped at the exact max); -1 if empty. */
static double hist_q_ms(const hist_t *h, double p)
{
    if (!h->n)
        return -1;
    uint64_t want = (uint64_t)ceil(p * (double)h->n), cum = 0;
    if (want < 1)
        want = 1;
    for (int i = 0; i < HIST_N; i++) {
        cum += h->c[i];
        if (cum >= want) {
            uint64_t v = hist_upper(i);
            return (double)(v < h->max ? v : h->max) / 1000.0;
        }
    }
    return (double)h->max / 1000.0;
}

/* ---- shared run state --------------------------------------------------------------------- */

enum { PH_SETUP, PH_RUN, PH_DRAIN, PH_QUIT };
static atomic_int g_phase;
static int64_t g_t0, g_tend;  /* written before g_phase becomes PH_RUN */
static int64_t g_period_ns;
static atomic_int g_connected, g_conn_failed, g_ready, g_setup_failed, g_resolved, g_closed;
static atomic_int g_closed_run; /* of g_closed: once sending had started */
static atomic_int g_err_prints;
static atomic_int g_members;  /* chat: clients in the room and still open */
static char g_chan_id[128];   /* chat: the room's channel id ("2...<room>") */

/* ---- clients, rooms, workers -------------------------------------------------------------- */

enum { C_NEW, C_CONNECTING, C_OPEN, C_CTL_SENT, C_READY, C_DONE };
enum { CTL_NONE, CTL_PING, CTL_CREATE, CTL_JOIN, CTL_RPC, CTL_CHAN };

typedef struct worker worker_t;
typedef struct room room_t;

typedef struct client {
    struct lws *wsi;
    worker_t *w;
    room_t *room;
    char *token;          /* owned; NULL when sign-in failed */
    int idx;
    int state;
    int ctl;              /* control message waiting for WRITEABLE */
    int resolved;
    int leader;
    uint32_t rng;         /* arena inputs: xorshift state */
    int64_t last_bcast;   /* arena: when the last op 2 broadcast arrived (0: none yet) */
    unsigned pend_head, pend_len;
    int64_t pend[MAX_PENDING_SENDS]; /* scheduled times of due sends */
    unsigned char *rx;    /* reassembly of fragmented messages, owned */
    size_t rx_len, rx_cap;
    /* chat */
    int sender;           /* 1..S for a sender, 0 for a listener */
    int64_t *last_seq;    /* owned: per sender, the last sequence number heard (-1: none) */
    int64_t seq;          /* a sender's next sequence number (also its cid) */
    int64_t *ack_at;      /* owned, a sender's: send time by seq % CHAT_ACK_RING (0: acked) */
    int *ack_exp;         /* owned, a sender's: the deliveries that send was expected to make */
} client_t;

struct room {
    int first, size;      /* global client indices */
    int ready;            /* members joined and still open */
    int dead;             /* the leader failed: nobody can join */
    char match_id[128];
};

struct worker {
    int id;
    pthread_t thread;
    struct lws_context *ctx;
    client_t *cl;
    int ncl;
    room_t *rooms;
    int nrooms;
    int next_connect, inflight, in_connect;
    /* send schedule: the period is cut into nslots slots; slot_cl[slot_at[s]..slot_at[s+1])
     * are the clients that send in slot s. */
    int nslots;
    int64_t slot_ns;
    int *slot_at, *slot_cl;
    int64_t next_slot;    /* absolute slot counter since g_t0 */
    hist_t *lat, *lat_sched, *lat_ack;
    atomic_ullong received, in_window;
    atomic_ullong expected; /* deliveries the sends should cause (read by main in drain) */
    uint64_t sent, skipped, write_fail, errors, other;
    uint64_t md_msgs, md_bytes; /* match_data messages received and their wire bytes */
    /* chat: acks, busy refusals, other send errors, presence events, and per receiver and
     * sender: a message that came before one already heard (out of order, or twice), and a
     * skipped sequence number (a gap: lost, or refused at the sender) */
    uint64_t acks, busy, send_err, presences, ooo, gaps, unparsed;
    char *txbuf;
    size_t txcap;
    atomic_int parked;    /* set by the worker: it no longer touches its figures */
    int64_t last_tick, max_gap; /* the longest wait between two ticks while sending */
};

static const char **g_src; /* source addresses, opt.addrs of them */
static char g_hosthdr[300];

static void report_err(const char *what, const char *detail)
{
    if (atomic_fetch_add(&g_err_prints, 1) < ERR_PRINT_MAX)
        fprintf(stderr, "rtload: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

/* -v: the first few messages rtload did not expect, cut to 200 bytes */
static void report_other(const char *m, size_t len)
{
    char buf[201];
    if (!opt.verbose)
        return;
    snprintf(buf, sizeof buf, "%.*s", (int)(len < 200 ? len : 200), m);
    report_err("unexpected message", buf);
}

/* Marks c as settled for the set-up phase: ready (1), connect failure (2) or set-up failure (3). */
static void resolve(client_t *c, int how)
{
    if (c->resolved)
        return;
    c->resolved = how;
    if (how == 1)
        atomic_fetch_add(&g_ready, 1);
    else if (how == 2)
        atomic_fetch_add(&g_conn_failed, 1);
    else
        atomic_fetch_add(&g_setup_failed, 1);
    atomic_fetch_add(&g_resolved, 1);
}

static void want_ctl(client_t *c, int ctl)
{
    c->ctl = ctl;
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
}

/* The leader could not make the match: every member that is not settled yet fails set-up. */
static void room_kill(room_t *r, worker_t *w)
{
    r->dead = 1;
    for (int i = 0; i < r->size; i++) {
        client_t *m = &w->cl[r->first + i - w->cl[0].idx];
        if (m->state == C_OPEN || m->state == C_CTL_SENT)
            resolve(m, 3);
    }
}

static void start_connects(worker_t *w)
{
    char path[2048];
    if (w->in_connect) /* a synchronous connect error calls back in here */
        return;
    w->in_connect = 1;
    while (w->inflight < opt.inflight && w->next_connect < w->ncl) {
        client_t *c = &w->cl[w->next_connect++];
        if (!c->token) {
            c->state = C_DONE;
            resolve(c, 2);
            continue;
        }
        if (snprintf(path, sizeof path, "/ws?lang=en&status=false%s&token=%s",
                     opt.pb ? "&format=protobuf" : "", c->token) >=
            (int)sizeof path) {
            c->state = C_DONE;
            resolve(c, 2);
            continue;
        }
        struct lws_client_connect_info ci;
        memset(&ci, 0, sizeof ci);
        ci.context = w->ctx;
        ci.address = opt.host;
        ci.port = opt.port;
        ci.path = path;
        ci.host = g_hosthdr;
        ci.origin = g_hosthdr;
        ci.protocol = NULL;
        ci.local_protocol_name = "rtload";
        ci.ietf_version_or_minus_one = -1;
        ci.userdata = c;
        ci.pwsi = &c->wsi;
        ci.iface = opt.addrs > 1 ? g_src[c->idx % opt.addrs] : NULL;
        c->state = C_CONNECTING;
        w->inflight++;
        if (!lws_client_connect_via_info(&ci) && c->state == C_CONNECTING) {
            /* failed before any callback could say so */
            c->state = C_DONE;
            c->wsi = NULL;
            w->inflight--;
            resolve(c, 2);
        }
    }
    w->in_connect = 0;
}

/* Moves every slot that is due into the clients' pending sends. */
static void schedule_sends(worker_t *w, int64_t now)
{
    if (now < g_t0)
        return;
    int64_t cur = (now - g_t0) / w->slot_ns;
    for (; w->next_slot <= cur; w->next_slot++) {
        int64_t at = g_t0 + w->next_slot * w->slot_ns;
        if (at >= g_tend)
            return;
        int s = (int)(w->next_slot % w->nslots);
        for (int j = w->slot_at[s]; j < w->slot_at[s + 1]; j++) {
            client_t *c = &w->cl[w->slot_cl[j]];
            if (c->state != C_READY)
                continue;
            if (c->pend_len >= MAX_PENDING_SENDS) {
                w->skipped++;
                continue;
            }
            c->pend[(c->pend_head + c->pend_len++) % MAX_PENDING_SENDS] = at;
            if (c->pend_len == 1)
                lws_callback_on_writable(c->wsi);
        }
    }
}

/* The worker's clock, run on its service thread each time main wakes it (lws_cancel_service,
 * every millisecond while sending). Not an lws_sul timer: lws 4.1 on libuv arms a millisecond
 * uv timer for a sub-millisecond sul, which fires early and leaves the loop spinning until the
 * sul is ripe (measured: half a core in clock_gettime at 0.5 ms ticks). */
static void tick(worker_t *w)
{
    int ph = atomic_load(&g_phase);
    if (ph == PH_QUIT) {
        /* stop counting; main reads this worker's figures once it sees parked */
        atomic_store(&w->parked, 1);
        return;
    }
    start_connects(w);
    if (ph == PH_RUN) {
        /* main wakes us every millisecond: a longer gap is this loop's own stall */
        int64_t now = now_ns();
        if (w->last_tick && now - w->last_tick > w->max_gap)
            w->max_gap = now - w->last_tick;
        w->last_tick = now;
        schedule_sends(w, now);
    }
}

static int ws_send(client_t *c, const char *text, size_t len)
{
    worker_t *w = c->w;
    uint8_t *bin = NULL;
    if (opt.pb) { /* the JSON envelope as an Envelope: what a protobuf client writes */
        size_t blen;
        if (tv_rt_pb_from_text(text, len, &bin, &blen) != 0) {
            w->write_fail++;
            return -1;
        }
        text = (const char *)bin;
        len = blen;
    }
    if (w->txcap < LWS_PRE + len + 1) {
        free(w->txbuf);
        w->txcap = LWS_PRE + len + 256;
        w->txbuf = malloc(w->txcap);
        if (!w->txbuf) {
            w->txcap = 0;
            free(bin);
            return -1;
        }
    }
    memcpy(w->txbuf + LWS_PRE, text, len);
    free(bin);
    int n = lws_write(c->wsi, (unsigned char *)w->txbuf + LWS_PRE, len,
                      opt.pb ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    if (n < (int)len) {
        w->write_fail++;
        return -1;
    }
    return 0;
}

static int send_ctl(client_t *c)
{
    char buf[256];
    int n;
    switch (c->ctl) {
    case CTL_PING:
        n = snprintf(buf, sizeof buf, "{\"cid\":\"1\",\"ping\":{}}");
        break;
    case CTL_CREATE:
        n = snprintf(buf, sizeof buf, "{\"cid\":\"1\",\"match_create\":{}}");
        break;
    case CTL_RPC: /* arena: the module's match maker */
        n = snprintf(buf, sizeof buf,
                     "{\"cid\":\"1\",\"rpc\":{\"id\":\"create_match\",\"payload\":\"{}\"}}");
        break;
    case CTL_JOIN:
        n = snprintf(buf, sizeof buf, "{\"cid\":\"2\",\"match_join\":{\"match_id\":\"%s\"}}",
                     c->room->match_id);
        break;
    case CTL_CHAN: /* chat: the room, stored or not; listeners hidden with -H */
        n = snprintf(buf, sizeof buf,
                     "{\"cid\":\"j\",\"channel_join\":{\"target\":\"%s\",\"type\":1,"
                     "\"persistence\":%s,\"hidden\":%s}}",
                     opt.room, opt.unstored ? "false" : "true",
                     opt.hidden && !c->sender ? "true" : "false");
        break;
    default:
        return 0;
    }
    c->ctl = CTL_NONE;
    c->state = C_CTL_SENT;
    return ws_send(c, buf, (size_t)n);
}

/* chat: one channel_message_send, cid = its sequence number, whose content is the JSON object
 * {"t":<send ns>,"q":<seq>,"s":<sender>,"d":<scheduled ns>[,"p":"xxx..."]} padded to -s bytes.
 * The room's current member count is what it should deliver. */
static int send_chat(client_t *c, int64_t sched)
{
    worker_t *w = c->w;
    char content[CHAT_CONTENT_MAX + 64], msg[2 * CHAT_CONTENT_MAX + 512];
    int64_t seq = c->seq++, t = now_ns();
    int n = snprintf(content, sizeof content,
                     "{\"t\":%" PRId64 ",\"q\":%" PRId64 ",\"s\":%d,\"d\":%" PRId64,
                     t, seq, c->sender, sched);
    if (n + 9 < opt.payload) { /* ,"p":"" and } */
        n += snprintf(content + n, sizeof content - (size_t)n, ",\"p\":\"");
        int pad = opt.payload - n - 2;
        memset(content + n, 'x', (size_t)pad);
        n += pad;
        content[n++] = '"';
    }
    content[n++] = '}';
    content[n] = 0;
    int m = snprintf(msg, sizeof msg,
                     "{\"cid\":\"%" PRId64 "\",\"channel_message_send\":{\"channel_id\":\"%s\","
                     "\"content\":\"", seq, g_chan_id);
    for (int i = 0; i < n; i++) { /* the content is a JSON string here: escape its quotes */
        if (content[i] == '"')
            msg[m++] = '\\';
        msg[m++] = content[i];
    }
    m += snprintf(msg + m, sizeof msg - (size_t)m, "\"}}");
    int members = atomic_load(&g_members);
    c->ack_at[seq % CHAT_ACK_RING] = t;
    c->ack_exp[seq % CHAT_ACK_RING] = members;
    w->sent++;
    atomic_fetch_add_explicit(&w->expected, (uint64_t)members, memory_order_relaxed);
    return ws_send(c, msg, (size_t)m);
}

/* One match_data_send carrying [send time][scheduled time][padding] in its data. */
static int send_data(client_t *c)
{
    worker_t *w = c->w;
    unsigned char raw[4096];
    char msg[8192];
    int64_t sched = c->pend[c->pend_head];
    c->pend_head = (c->pend_head + 1) % MAX_PENDING_SENDS;
    c->pend_len--;
    if (opt.chat)
        return send_chat(c, sched);
    if (opt.arena) {
        /* an arena input: int8 dx, int8 dy in -100..100 */
        unsigned char in[2];
        char enc[8];
        for (int i = 0; i < 2; i++) {
            c->rng ^= c->rng << 13;
            c->rng ^= c->rng >> 17;
            c->rng ^= c->rng << 5;
            in[i] = (unsigned char)(int8_t)((int)(c->rng % 201) - 100);
        }
        b64_encode(in, 2, enc);
        int m = snprintf(msg, sizeof msg,
                         "{\"match_data_send\":{\"match_id\":\"%s\",\"op_code\":\"1\","
                         "\"data\":\"%s\"}}",
                         c->room->match_id, enc);
        w->sent++;
        return ws_send(c, msg, (size_t)m);
    }
    memset(raw, 'x', (size_t)opt.payload);
    int64_t t = now_ns();
    memcpy(raw, &t, 8);
    memcpy(raw + 8, &sched, 8);
    int n = snprintf(msg, sizeof msg,
                     "{\"match_data_send\":{\"match_id\":\"%s\",\"op_code\":\"1\",\"data\":\"",
                     c->room->match_id);
    n += (int)b64_encode(raw, (size_t)opt.payload, msg + n);
    n += snprintf(msg + n, sizeof msg - (size_t)n, "\"}}");
    w->sent++;
    atomic_fetch_add_explicit(&w->expected, (uint64_t)(c->room->ready - 1),
                              memory_order_relaxed);
    return ws_send(c, msg, (size_t)n);
}

/* arena: an op 2 state broadcast counts; the gap since the previous one goes to lat */
static void on_arena_data(client_t *c, const char *m, size_t len)
{
    worker_t *w = c->w;
    if (!memmem(m, len, "\"op_code\":\"2\"", 13)) {
        w->other++;
        report_other(m, len);
        return;
    }
    int64_t now = now_ns();
    atomic_fetch_add_explicit(&w->received, 1, memory_order_relaxed);
    if (now >= g_t0 && now < g_tend) {
        atomic_fetch_add_explicit(&w->in_window, 1, memory_order_relaxed);
        if (c->last_bcast >= g_t0)
            hist_add(w->lat, now - c->last_bcast);
    }
    c->last_bcast = now;
}

/* Reads the number right after key (an escaped key such as {\"t\": inside the content) in
 * [p, end): 0 with *v, or -1. */
static int chat_num(const char **p, const char *end, const char *key, int64_t *v)
{
    size_t kl = strlen(key);
    if ((size_t)(end - *p) < kl || memcmp(*p, key, kl) != 0)
        return -1;
    const char *q = *p + kl;
    int64_t x = 0;
    if (q == end || *q < '0' || *q > '9')
        return -1;
    for (; q < end && *q >= '0' && *q <= '9'; q++)
        x = x * 10 + (*q - '0');
    *v = x;
    *p = q;
    return 0;
}

/* chat: a channel_message push, recognised without a JSON parse: its content (an escaped JSON
 * text) starts {\"t\":<send ns>,\"q\":<seq>,\"s\":<sender>,\"d\":<scheduled ns>. */
static void on_chat_msg(client_t *c, const char *m, size_t len)
{
    worker_t *w = c->w;
    int64_t now = now_ns(), t, q, snd, sched;
    atomic_fetch_add_explicit(&w->received, 1, memory_order_relaxed);
    if (now >= g_t0 && now < g_tend)
        atomic_fetch_add_explicit(&w->in_window, 1, memory_order_relaxed);
    const char *end = m + len, *p = memmem(m, len, "\"content\":\"", 11);
    if (p)
        p += 11;
    if (!p || chat_num(&p, end, "{\\\"t\\\":", &t) || chat_num(&p, end, ",\\\"q\\\":", &q) ||
        chat_num(&p, end, ",\\\"s\\\":", &snd) || chat_num(&p, end, ",\\\"d\\\":", &sched) ||
        snd < 1 || snd > opt.senders) {
        w->unparsed++;
        report_other(m, len);
        return;
    }
    hist_add(w->lat, now - t);
    hist_add(w->lat_sched, now - sched);
    if (!c->last_seq) {
        c->last_seq = malloc((size_t)opt.senders * sizeof *c->last_seq);
        if (!c->last_seq)
            return;
        for (int i = 0; i < opt.senders; i++)
            c->last_seq[i] = -1;
    }
    int64_t *last = &c->last_seq[snd - 1];
    if (q <= *last) {
        w->ooo++;
    } else {
        w->gaps += (uint64_t)(q - *last - 1);
        *last = q;
    }
}

/* chat: a sender's channel_message_ack or error for the send with cid seq. */
static void on_chat_reply(client_t *c, int64_t seq, const char *err_text)
{
    worker_t *w = c->w;
    if (!c->sender || seq < 0 || seq >= c->seq || seq < c->seq - CHAT_ACK_RING)
        return;
    int64_t *at = &c->ack_at[seq % CHAT_ACK_RING];
    if (!*at)
        return;
    if (!err_text) {
        hist_add(w->lat_ack, now_ns() - *at);
        w->acks++;
    } else {
        /* refused: it was never fanned out, so nobody should expect it */
        atomic_fetch_sub_explicit(&w->expected, (uint64_t)c->ack_exp[seq % CHAT_ACK_RING],
                                  memory_order_relaxed);
        if (strstr(err_text, "busy"))
            w->busy++;
        else
            w->send_err++;
        report_err("channel_message_send refused", err_text);
    }
    *at = 0;
}

/* A relayed room's match_data: its first 16 raw bytes (raw, NULL when unreadable) carry the
 * send and schedule times. */
static void on_room_data(client_t *c, const unsigned char *raw)
{
    worker_t *w = c->w;
    int64_t now = now_ns();
    atomic_fetch_add_explicit(&w->received, 1, memory_order_relaxed);
    if (now >= g_t0 && now < g_tend)
        atomic_fetch_add_explicit(&w->in_window, 1, memory_order_relaxed);
    if (!raw) {
        w->other++;
        return;
    }
    int64_t sent, sched;
    memcpy(&sent, raw, 8);
    memcpy(&sched, raw + 8, 8);
    hist_add(w->lat, now - sent);
    hist_add(w->lat_sched, now - sched);
}

static void on_match_data(client_t *c, const char *m, size_t len)
{
    if (!opt.pb) {
        c->w->md_msgs++;
        c->w->md_bytes += len;
    }
    if (opt.arena) {
        on_arena_data(c, m, len);
        return;
    }
    const char *d = memmem(m, len, "\"data\":\"", 8);
    unsigned char raw[16];
    int ok = d && b64_decode_prefix(d + 8, len - (size_t)(d + 8 - m), raw, 16) == 0;
    on_room_data(c, ok ? raw : NULL);
}

static void on_control(client_t *c, const char *m, size_t len)
{
    worker_t *w = c->w;
    cJSON *j = cJSON_ParseWithLength(m, len);
    if (!j) {
        w->other++;
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(j, "match_data")) {
        cJSON_Delete(j); /* a push whose key was not first: take the slow road */
        on_match_data(c, m, len);
        return;
    }
    cJSON *match = cJSON_GetObjectItemCaseSensitive(j, "match");
    cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    cJSON *rpc = cJSON_GetObjectItemCaseSensitive(j, "rpc");
    cJSON *chan = opt.chat ? cJSON_GetObjectItemCaseSensitive(j, "channel") : NULL;
    const char *cid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "cid"));
    if (chan && c->state == C_CTL_SENT) {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(chan, "id"));
        if (!id || !id[0] || strlen(id) >= sizeof g_chan_id) {
            report_err("channel reply without a usable id", NULL);
            c->state = C_OPEN;
            resolve(c, 3);
        } else {
            /* every member gets the same id; the first one written stays (one room) */
            if (!g_chan_id[0])
                snprintf(g_chan_id, sizeof g_chan_id, "%s", id);
            c->state = C_READY;
            atomic_fetch_add(&g_members, 1);
            resolve(c, 1);
        }
    } else if (opt.chat && cid && c->state == C_READY &&
               (cJSON_GetObjectItemCaseSensitive(j, "channel_message_ack") || err)) {
        char *e = err ? cJSON_PrintUnformatted(err) : NULL;
        on_chat_reply(c, strtoll(cid, NULL, 10), err ? (e ? e : "error") : NULL);
        if (err)
            w->errors++;
        free(e);
    } else if (rpc && opt.arena && c->leader && c->state == C_CTL_SENT && !c->room->match_id[0]) {
        /* create_match answered: its payload is a JSON text holding match_id */
        room_t *r = c->room;
        const char *pl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rpc, "payload"));
        cJSON *pj = pl ? cJSON_Parse(pl) : NULL;
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pj, "match_id"));
        if (!id || !id[0] || strlen(id) >= sizeof r->match_id) {
            report_err("create_match reply without a usable match_id", pl);
            c->state = C_OPEN;
            resolve(c, 3);
            room_kill(r, w);
        } else {
            snprintf(r->match_id, sizeof r->match_id, "%s", id);
            want_ctl(c, CTL_JOIN); /* the creator joins like everyone else */
            for (int i = 1; i < r->size; i++) {
                client_t *m2 = &w->cl[r->first + i - w->cl[0].idx];
                if (m2->state == C_OPEN)
                    want_ctl(m2, CTL_JOIN);
            }
        }
        cJSON_Delete(pj);
    } else if (cJSON_GetObjectItemCaseSensitive(j, "pong")) {
        if (c->state == C_CTL_SENT) {
            c->state = C_READY;
            resolve(c, 1);
        }
    } else if (match && c->state == C_CTL_SENT) {
        room_t *r = c->room;
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(match, "match_id"));
        if (c->leader && !opt.arena) {
            if (!id || strlen(id) >= sizeof r->match_id) {
                report_err("match reply without a usable match_id", NULL);
                c->state = C_OPEN;
                resolve(c, 3);
                room_kill(r, w);
            } else {
                snprintf(r->match_id, sizeof r->match_id, "%s", id);
                c->state = C_READY;
                r->ready++;
                resolve(c, 1);
                for (int i = 1; i < r->size; i++) {
                    client_t *m2 = &w->cl[r->first + i - w->cl[0].idx];
                    if (m2->state == C_OPEN)
                        want_ctl(m2, CTL_JOIN);
                }
            }
        } else {
            c->state = C_READY;
            r->ready++;
            resolve(c, 1);
        }
    } else if (err) {
        w->errors++;
        char *s = cJSON_PrintUnformatted(err);
        report_err("server error", s);
        free(s);
        if (c->state == C_CTL_SENT) {
            c->state = C_OPEN;
            resolve(c, 3);
            if (c->leader && !c->room->match_id[0])
                room_kill(c->room, w);
        }
    } else if (!cJSON_GetObjectItemCaseSensitive(j, "match_presence_event") &&
               !cJSON_GetObjectItemCaseSensitive(j, "channel_presence_event")) {
        w->other++;
        report_other(m, len);
    }
    cJSON_Delete(j);
}

static void on_text(client_t *c, const char *m, size_t len);

/* -F protobuf: a room's match_data is read from the Envelope; anything else is turned into
 * the JSON text the JSON path reads. */
static void on_message(client_t *c, const char *m, size_t len)
{
    if (!opt.pb) {
        on_text(c, m, len);
        return;
    }
    Nakama__Realtime__Envelope *e =
        nakama__realtime__envelope__unpack(NULL, len, (const uint8_t *)m);
    if (e && e->message_case == NAKAMA__REALTIME__ENVELOPE__MESSAGE_MATCH_DATA) {
        c->w->md_msgs++;
        c->w->md_bytes += len;
        if (!opt.arena) {
            ProtobufCBinaryData *d = &e->match_data->data;
            on_room_data(c, d->len >= 16 ? d->data : NULL);
            nakama__realtime__envelope__free_unpacked(e, NULL);
            return;
        }
    }
    if (e)
        nakama__realtime__envelope__free_unpacked(e, NULL);
    cJSON *j = tv_rt_pb_to_json(m, len);
    char *t = j ? cJSON_PrintUnformatted(j) : NULL;
    if (t)
        on_text(c, t, strlen(t));
    else
        c->w->other++;
    cJSON_free(t);
    cJSON_Delete(j);
}

static void on_text(client_t *c, const char *m, size_t len)
{
    /* the hot path: {"match_data":{...}} pushes, recognised without a JSON parse */
    const char *k = len > 2 ? memchr(m, '"', len < 8 ? len : 8) : NULL;
    if (k && (size_t)(m + len - k) > 13 && memcmp(k, "\"match_data\":", 13) == 0)
        on_match_data(c, m, len);
    else if (k && (size_t)(m + len - k) > 18 && memcmp(k, "\"channel_message\":", 18) == 0)
        on_chat_msg(c, m, len);
    else if (k && (size_t)(m + len - k) > 25 &&
             memcmp(k, "\"channel_presence_event\":", 25) == 0)
        c->w->presences++; /* a join's storm: counted, not parsed */
    else
        on_control(c, m, len);
}

static void client_gone(client_t *c, int failed_connect)
{
    worker_t *w = c->w;
    int ph = atomic_load(&g_phase);
    if (c->state == C_CONNECTING)
        w->inflight--;
    if (failed_connect || c->state == C_CONNECTING) {
        resolve(c, 2);
    } else {
        if (ph != PH_QUIT)
            atomic_fetch_add(&g_closed, 1);
        if (ph == PH_RUN || ph == PH_DRAIN)
            atomic_fetch_add(&g_closed_run, 1);
        if (c->state == C_READY && c->room)
            c->room->ready--;
        if (c->state == C_READY && opt.chat)
            atomic_fetch_sub(&g_members, 1);
        resolve(c, 3);
        if (c->leader && c->room && !c->room->match_id[0] && !c->room->dead)
            room_kill(c->room, w);
    }
    c->state = C_DONE;
    c->wsi = NULL;
    free(c->rx);
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
    if (ph == PH_SETUP)
        start_connects(w);
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    client_t *c = user;
    if (c && atomic_load_explicit(&c->w->parked, memory_order_relaxed))
        return 0; /* main is reading this worker's figures: touch nothing */
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (!c)
            return 0;
        report_err("connect failed", in ? (const char *)in : "(no reason)");
        client_gone(c, 1);
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->wsi = wsi;
        c->w->inflight--;
        c->state = C_OPEN;
        atomic_fetch_add(&g_connected, 1);
        if (opt.rate <= 0)
            want_ctl(c, CTL_PING);
        else if (opt.chat)
            want_ctl(c, CTL_CHAN);
        else if (c->leader)
            want_ctl(c, opt.arena ? CTL_RPC : CTL_CREATE);
        else if (c->room->dead)
            resolve(c, 3);
        else if (c->room->match_id[0])
            want_ctl(c, CTL_JOIN);
        if (atomic_load(&g_phase) == PH_SETUP)
            start_connects(c->w);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!c || c->state == C_DONE)
            return 0;
        if (c->ctl != CTL_NONE)
            return send_ctl(c) ? -1 : 0;
        if (c->state == C_READY && c->pend_len) {
            if (send_data(c))
                return -1;
            if (c->pend_len)
                lws_callback_on_writable(wsi);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        int first = lws_is_first_fragment(wsi), final = lws_is_final_fragment(wsi);
        if (first && final && !c->rx_len) {
            on_message(c, in, len);
            return 0;
        }
        if (first)
            c->rx_len = 0;
        if (c->rx_len + len > RX_MAX)
            return -1;
        if (c->rx_len + len > c->rx_cap) {
            size_t cap = c->rx_len + len + 1024;
            unsigned char *p = realloc(c->rx, cap);
            if (!p)
                return -1;
            c->rx = p;
            c->rx_cap = cap;
        }
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        if (final) {
            on_message(c, (const char *)c->rx, c->rx_len);
            c->rx_len = 0;
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c && c->state != C_DONE)
            client_gone(c, 0);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        tick(lws_context_user(lws_get_context(wsi)));
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"rtload", cb, 0, 8192, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* The service loop. With libuv, lws_service() runs the loop until it is stopped, and lws 4.1
 * cannot stop and destroy an internal libuv loop cleanly from here; so workers never return:
 * they park (see tick) and the process ends with _exit once the figures are read. */
static void *worker_main(void *arg)
{
    worker_t *w = arg;
    for (;;)
        if (lws_service(w->ctx, 0) < 0)
            break;
    atomic_store(&w->parked, 1);
    return NULL;
}

/* libuv's loop takes over SIGINT and SIGTERM; end at once, as the default handlers would. */
static void on_signal(void *handle, int signum)
{
    (void)handle;
    _exit(128 + signum);
}

/* Sleeps until the absolute time `until`, waking every worker (lws_cancel_service, which runs
 * tick on its service thread) every `step` nanoseconds and once more at the end. */
static void pace(worker_t *ws, int64_t until, int64_t step)
{
    for (;;) {
        for (int t = 0; t < opt.threads; t++)
            lws_cancel_service(ws[t].ctx);
        int64_t now = now_ns();
        if (now >= until)
            return;
        /* wake on the step grid, so slots are not late by the loop's own cost */
        int64_t next = (now / step + 1) * step;
        sleep_until(next < until ? next : until);
    }
}

/* ---- sign-in over HTTP/1.1 ---------------------------------------------------------------- */

static struct addrinfo *g_ai;
static char g_basic[256];
static client_t *g_clients;
static atomic_int g_auth_next, g_auth_failed;
static char g_run_tag[64];

static int http_open(void)
{
    for (struct addrinfo *a = g_ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {30, 0};
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            return fd;
        close(fd);
    }
    return -1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One POST /v2/account/authenticate/device on *fd (reconnects when needed). Returns the token
 * (malloc'd) or NULL; closes *fd (-1) when the connection cannot be reused. */
static char *auth_one(int *fd, int idx)
{
    char body[160], req[1024], buf[16384];
    int blen = snprintf(body, sizeof body, "{\"id\":\"%s-%s-%08d\"}", opt.prefix, g_run_tag, idx);
    int rlen = snprintf(req, sizeof req,
                        "POST /v2/account/authenticate/device?create=true HTTP/1.1\r\n"
                        "Host: %s\r\nAuthorization: Basic %s\r\n"
                        "Content-Type: application/json\r\nAccept: application/json\r\n"
                        "Content-Length: %d\r\n\r\n%s",
                        g_hosthdr, g_basic, blen, body);
    if (*fd < 0 && (*fd = http_open()) < 0)
        return NULL;
    if (write_all(*fd, req, (size_t)rlen) != 0)
        goto drop;
    size_t have = 0;
    char *eoh = NULL;
    while (!eoh) {
        if (have == sizeof buf - 1)
            goto drop;
        ssize_t r = recv(*fd, buf + have, sizeof buf - 1 - have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto drop;
        have += (size_t)r;
        buf[have] = 0;
        eoh = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    long clen = -1;
    int close_after = 0;
    for (char *l = strstr(buf, "\r\n"); l && l < eoh; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
            clen = strtol(l + 17, NULL, 10);
        else if (strncasecmp(l + 2, "Connection:", 11) == 0 && strstr(l + 13, "close") &&
                 strstr(l + 13, "close") < strstr(l + 2, "\r\n"))
            close_after = 1;
        else if (strncasecmp(l + 2, "Transfer-Encoding:", 18) == 0)
            close_after = 2; /* chunked: read to the end below */
    }
    size_t hlen = (size_t)(eoh + 4 - buf);
    if (clen < 0 || close_after == 2) {
        /* read until EOF (no chunk parsing needed: we only look for the token text) */
        for (;;) {
            if (have == sizeof buf - 1)
                break;
            ssize_t r = recv(*fd, buf + have, sizeof buf - 1 - have, 0);
            if (r <= 0)
                break;
            have += (size_t)r;
        }
        buf[have] = 0;
        close_after = 1;
    } else {
        if (hlen + (size_t)clen >= sizeof buf)
            goto drop;
        while (have < hlen + (size_t)clen) {
            ssize_t r = recv(*fd, buf + have, hlen + (size_t)clen - have, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                goto drop;
            have += (size_t)r;
        }
        buf[have] = 0;
    }
    char *tok = NULL;
    const char *t = strstr(buf + hlen, "\"token\":\"");
    if (status == 200 && t) {
        t += 9;
        const char *e = strchr(t, '"');
        if (e)
            tok = strndup(t, (size_t)(e - t));
    } else {
        char detail[160];
        snprintf(detail, sizeof detail, "HTTP %d %.100s", status, buf + hlen);
        report_err("sign-in failed", detail);
    }
    if (close_after) {
        close(*fd);
        *fd = -1;
    }
    return tok;
drop:
    close(*fd);
    *fd = -1;
    return NULL;
}

static void *auth_main(void *arg)
{
    (void)arg;
    int fd = -1;
    for (;;) {
        int i = atomic_fetch_add(&g_auth_next, 1);
        if (i >= opt.n)
            break;
        char *tok = auth_one(&fd, i);
        if (!tok) /* one retry on a fresh connection */
            tok = auth_one(&fd, i);
        if (!tok)
            atomic_fetch_add(&g_auth_failed, 1);
        g_clients[i].token = tok;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* ---- main ----------------------------------------------------------------------------------- */

/* The slot in the period at which worker w's client i sends, or -1 when it does not send.
 * Rooms: the worker's clients spread evenly. Chat: only the senders, spread by their number
 * across all workers, so the room's messages come at an even pace. */
static int slot_of(const worker_t *w, int i)
{
    if (!opt.chat)
        return (int)((int64_t)i * w->nslots / w->ncl);
    if (!w->cl[i].sender)
        return -1;
    return (int)((int64_t)(w->cl[i].sender - 1) * w->nslots / opt.senders);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: rtload [options]\n"
            "  -h host        server address (127.0.0.1)      -P port     server port (7350)\n"
            "  -n clients     sockets (100)                    -k size     room size (10)\n"
            "  -r Hz          sends per client per second; 0 = idle sockets, no matches (20)\n"
            "  -d seconds     sending time, or how long idle sockets are held (10)\n"
            "  -t threads     lws contexts, one thread each (half the CPUs; chat: one more,\n"
            "                 the senders')\n"
            "  -p pid         server pid: CPU and RSS from /proc (none)\n"
            "  -s bytes       match data bytes before base64, >= 16 (32)\n"
            "  -a count       source addresses 127.0.0.1..127.0.0.<count> (1 per 10k sockets)\n"
            "  -c count       WebSocket handshakes in flight per thread (64)\n"
            "  -A count       keep-alive HTTP connections for sign-in (4)\n"
            "  -T seconds     set-up timeout (120)             -K key      server key\n"
            "  -u prefix      device id prefix (rtload)        -e uv|poll  lws event loop (uv)\n"
            "  -q             no progress lines                -v          per-second figures\n"
            "  -F json|protobuf  the sockets' format (json)\n"
            "  -m rooms|arena|chat\n"
            "                 relayed rooms (default), or authoritative arena matches of K\n"
            "                 (modules/arena: RPC create_match, 2-byte inputs at R Hz, op 2\n"
            "                 broadcasts counted; K <= 16, R <= 30, -r 0 not allowed), or\n"
            "                 chat: all N in one room, -r is the room's total messages/s\n"
            "  chat only:     -S senders (1)   -R room name (bench)   -N unstored (persistence\n"
            "                 false; default stored)   -H listeners join hidden (no presence\n"
            "                 events)   -s content bytes, 40-3800 (the content's own size)\n");
}

static int raise_nofile(long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if ((long)rl.rlim_cur < need) {
        fprintf(stderr, "rtload: RLIMIT_NOFILE is %ld (hard max), %ld sockets need about %ld\n",
                (long)rl.rlim_cur, (long)opt.n, need);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int ch;
    while ((ch = getopt(argc, argv, "h:P:n:k:r:d:t:p:s:a:c:A:T:K:u:e:m:S:R:NHqvF:")) != -1) {
        switch (ch) {
        case 'h': opt.host = optarg; break;
        case 'P': opt.port = atoi(optarg); break;
        case 'n': opt.n = atoi(optarg); break;
        case 'k': opt.k = atoi(optarg); break;
        case 'r': opt.rate = atof(optarg); break;
        case 'd': opt.duration = atof(optarg); break;
        case 't': opt.threads = atoi(optarg); break;
        case 'p': opt.pid = atoi(optarg); break;
        case 's': opt.payload = atoi(optarg); break;
        case 'a': opt.addrs = atoi(optarg); break;
        case 'c': opt.inflight = atoi(optarg); break;
        case 'A': opt.auth_conns = atoi(optarg); break;
        case 'T': opt.setup_timeout = atof(optarg); break;
        case 'K': opt.key = optarg; break;
        case 'u': opt.prefix = optarg; break;
        case 'e': opt.evlib = optarg; break;
        case 'S': opt.senders = atoi(optarg); break;
        case 'R': opt.room = optarg; break;
        case 'N': opt.unstored = 1; break;
        case 'H': opt.hidden = 1; break;
        case 'q': opt.quiet = 1; break;
        case 'v': opt.verbose = 1; break;
        case 'F':
            if (strcmp(optarg, "protobuf") != 0 && strcmp(optarg, "json") != 0) {
                usage();
                return 2;
            }
            opt.pb = strcmp(optarg, "protobuf") == 0;
            break;
        case 'm':
            if (strcmp(optarg, "arena") == 0)
                opt.arena = 1;
            else if (strcmp(optarg, "chat") == 0)
                opt.chat = 1;
            else if (strcmp(optarg, "rooms") == 0)
                opt.arena = 0;
            else
                opt.arena = -1;
            break;
        default: usage(); return 2;
        }
    }
    if (optind != argc || opt.n < 1 || opt.k < 2 || opt.rate < 0 || opt.rate > 1000 ||
        opt.duration < 0 || opt.duration > 3600 || opt.threads < 0 ||
        opt.threads > MAX_THREADS || opt.payload < 16 ||
        opt.payload > (opt.chat ? CHAT_CONTENT_MAX : 2800) ||
        opt.addrs < 0 || opt.addrs > MAX_ADDRS || opt.inflight < 1 || opt.auth_conns < 1 ||
        opt.auth_conns > 64 || opt.port < 1 || opt.port > 65535 || strlen(opt.prefix) > 60 ||
        (strcmp(opt.evlib, "uv") && strcmp(opt.evlib, "poll")) || opt.arena < 0 ||
        (opt.arena && (opt.rate <= 0 || opt.rate > 30 || opt.k > ARENA_MAX_PLAYERS))) {
        usage();
        return 2;
    }
    if (opt.chat) {
        /* the room name goes into JSON unescaped: keep it plain */
        size_t rl = strlen(opt.room);
        int plain = rl >= 1 && rl <= 64;
        for (size_t i = 0; i < rl; i++)
            plain &= opt.room[i] > ' ' && opt.room[i] < 127 && opt.room[i] != '"' &&
                     opt.room[i] != '\\';
        if (opt.arena || opt.rate <= 0 || opt.senders < 1 || opt.senders > opt.n ||
            opt.senders > CHAT_MAX_SENDERS || opt.rate / opt.senders > 1000 || !plain) {
            fprintf(stderr, "rtload: -m chat needs -r > 0, 1 <= -S <= min(N, %d), at most "
                    "1000 sends/s per sender and a plain room name of 1-64 bytes\n",
                    CHAT_MAX_SENDERS);
            return 2;
        }
    }
    int idle = opt.rate <= 0;
    if (!opt.threads) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        opt.threads = cpus >= 2 ? (int)(cpus / 2) : 1;
    }
    /* chat: the senders get a worker of their own, so the listeners' receive load cannot hold
     * their sends back (with them in a listener's loop, a busy box skipped a third of them) */
    if (opt.chat && opt.threads < MAX_THREADS)
        opt.threads++;
    if (!opt.addrs)
        opt.addrs = opt.n <= 10000 ? 1 : (opt.n + 9999) / 10000;
    if (raise_nofile((long)opt.n + opt.auth_conns + 64 * opt.threads + 64) != 0)
        return 1;
    b64_init();
    lws_set_log_level(LLL_ERR, NULL);
    snprintf(g_hosthdr, sizeof g_hosthdr, "%s:%d", opt.host, opt.port);
    snprintf(g_run_tag, sizeof g_run_tag, "%ld", (long)time(NULL));
    {
        char kc[200];
        snprintf(kc, sizeof kc, "%s:", opt.key);
        b64_encode((const unsigned char *)kc, strlen(kc), g_basic);
    }
    g_src = calloc((size_t)opt.addrs, sizeof *g_src);
    for (int i = 0; i < opt.addrs; i++) {
        char *a = malloc(20);
        snprintf(a, 20, "127.0.0.%d", i + 1);
        g_src[i] = a;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", opt.port);
    if (getaddrinfo(opt.host, portstr, &hints, &g_ai) != 0) {
        fprintf(stderr, "rtload: cannot resolve %s\n", opt.host);
        return 1;
    }

    /* clients and rooms (idle mode: rooms of one, no match) */
    /* chat: one room on the server, but "rooms" of one here, so the clients (and the senders,
     * spread over them) split evenly across the workers */
    int k = idle || opt.chat ? 1 : opt.k;
    int nrooms = (opt.n + k - 1) / k;
    g_clients = calloc((size_t)opt.n, sizeof *g_clients);
    room_t *rooms = calloc((size_t)nrooms, sizeof *rooms);
    if (!g_clients || !rooms)
        return 1;
    for (int r = 0; r < nrooms; r++) {
        rooms[r].first = r * k;
        rooms[r].size = (r + 1) * k <= opt.n ? k : opt.n - r * k;
    }
    for (int i = 0; i < opt.n; i++) {
        g_clients[i].idx = i;
        g_clients[i].room = &rooms[i / k];
        g_clients[i].leader = !idle && !opt.chat && i % k == 0;
        g_clients[i].rng = 2463534242u ^ ((uint32_t)i * 2654435761u);
        if (!g_clients[i].rng)
            g_clients[i].rng = 1;
    }
    for (int s = 0; opt.chat && s < opt.senders; s++) { /* the first S: worker 0's */
        client_t *c = &g_clients[s];
        c->sender = s + 1;
        c->ack_at = calloc(CHAT_ACK_RING, sizeof *c->ack_at);
        c->ack_exp = calloc(CHAT_ACK_RING, sizeof *c->ack_exp);
        if (!c->ack_at || !c->ack_exp)
            return 1;
    }

    /* 1. sign in */
    int64_t ta = now_ns();
    pthread_t ath[64];
    int na = opt.auth_conns < opt.n ? opt.auth_conns : opt.n;
    for (int i = 0; i < na; i++)
        pthread_create(&ath[i], NULL, auth_main, NULL);
    for (int i = 0; i < na; i++)
        pthread_join(ath[i], NULL);
    double auth_s = (double)(now_ns() - ta) / 1e9;
    int auth_failed = atomic_load(&g_auth_failed);
    if (!opt.quiet)
        fprintf(stderr, "rtload: signed in %d/%d devices in %.2f s (%.0f/s)\n",
                opt.n - auth_failed, opt.n, auth_s, (opt.n - auth_failed) / auth_s);
    freeaddrinfo(g_ai);
    if (auth_failed == opt.n) {
        fprintf(stderr, "rtload: no device could sign in at %s (is the server up, the key "
                "right?)\n", g_hosthdr);
        return 1;
    }

    long rss0, hwm0, rss1, hwm1, rss2, hwm2;
    sleep_ns(500 * 1000000LL); /* let the sign-in's transient allocations settle */
    proc_rss_kib(opt.pid, &rss0, &hwm0);

    /* 2. workers: rooms in contiguous blocks, each worker its own lws context */
    worker_t *ws = calloc((size_t)opt.threads, sizeof *ws);
    /* each sender's period: in chat, the room's rate R is shared by the S senders */
    g_period_ns = idle ? 0 : (int64_t)(1e9 / (opt.chat ? opt.rate / opt.senders : opt.rate));
    for (int t = 0; t < opt.threads; t++) {
        worker_t *w = &ws[t];
        int r0 = (int)((int64_t)nrooms * t / opt.threads);
        int r1 = (int)((int64_t)nrooms * (t + 1) / opt.threads);
        if (opt.chat) { /* worker 0: the S senders; the others share the listeners */
            int nl = opt.threads - 1, left = nrooms - opt.senders;
            r0 = t == 0 ? 0 : opt.senders + (int)((int64_t)left * (t - 1) / (nl ? nl : 1));
            r1 = t == 0 ? opt.senders : opt.senders + (int)((int64_t)left * t / (nl ? nl : 1));
            if (!nl) /* MAX_THREADS: no room for a senders' worker, one does all */
                r0 = 0, r1 = nrooms;
        }
        w->id = t;
        w->rooms = rooms + r0;
        w->nrooms = r1 - r0;
        int c0 = r0 < nrooms ? rooms[r0].first : opt.n;
        int c1 = r1 < nrooms ? rooms[r1].first : opt.n;
        w->cl = g_clients + c0;
        w->ncl = c1 - c0;
        w->lat = calloc(1, sizeof *w->lat);
        w->lat_sched = calloc(1, sizeof *w->lat_sched);
        w->lat_ack = calloc(1, sizeof *w->lat_ack);
        for (int i = 0; i < w->ncl; i++)
            w->cl[i].w = w;
        /* the send schedule: 1 ms slots (main's pace), clients spread evenly over the period */
        if (!idle) {
            w->slot_ns = 1000000;
            w->nslots = (int)(g_period_ns / w->slot_ns);
            if (w->nslots < 1) {
                w->nslots = 1;
                w->slot_ns = g_period_ns;
            }
            w->slot_at = calloc((size_t)w->nslots + 1, sizeof(int));
            w->slot_cl = calloc((size_t)w->ncl + 1, sizeof(int));
            int *fill = calloc((size_t)w->nslots + 1, sizeof(int));
            for (int i = 0; i < w->ncl; i++) {
                int s = slot_of(w, i);
                if (s >= 0)
                    w->slot_at[s + 1]++;
            }
            for (int s = 0; s < w->nslots; s++)
                w->slot_at[s + 1] += w->slot_at[s];
            for (int i = 0; i < w->ncl; i++) {
                int s = slot_of(w, i);
                if (s >= 0)
                    w->slot_cl[w->slot_at[s] + fill[s]++] = i;
            }
            free(fill);
        }
        struct lws_context_creation_info info;
        memset(&info, 0, sizeof info);
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.protocols = protocols;
        info.gid = -1;
        info.uid = -1;
        info.fd_limit_per_thread = (unsigned)(w->ncl + 64);
        info.timeout_secs = 30;
        info.signal_cb = on_signal;
        info.user = w;
        info.connect_timeout_secs = 30;
        info.options = LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
        if (strcmp(opt.evlib, "uv") == 0)
            info.options |= LWS_SERVER_OPTION_LIBUV;
        w->ctx = lws_create_context(&info);
        if (!w->ctx) {
            fprintf(stderr, "rtload: lws_create_context failed\n");
            return 1;
        }
    }
    int64_t tc = now_ns();
    for (int t = 0; t < opt.threads; t++)
        pthread_create(&ws[t].thread, NULL, worker_main, &ws[t]);

    /* 3. wait for every client to settle (bounded) */
    int64_t setup_deadline = tc + (int64_t)(opt.setup_timeout * 1e9);
    int last_print = -1;
    while (atomic_load(&g_resolved) < opt.n && now_ns() < setup_deadline) {
        pace(ws, now_ns() + 100 * 1000000LL, 10 * 1000000LL);
        int secs = (int)((now_ns() - tc) / 1000000000);
        if (!opt.quiet && secs != last_print && secs % 5 == 4) {
            last_print = secs;
            fprintf(stderr, "rtload: %d s: %d connected, %d ready, %d failed\n", secs + 1,
                    atomic_load(&g_connected), atomic_load(&g_ready),
                    atomic_load(&g_conn_failed) + atomic_load(&g_setup_failed));
        }
    }
    double setup_s = (double)(now_ns() - tc) / 1e9;
    int connected = atomic_load(&g_connected), ready = atomic_load(&g_ready);
    if (!opt.quiet)
        fprintf(stderr, "rtload: set-up took %.2f s: %d connected, %d ready%s\n", setup_s,
                connected, ready, atomic_load(&g_resolved) < opt.n ? " (timed out)" : "");
    if (!ready) {
        fprintf(stderr, "rtload: no client got ready (%d connected); nothing to measure\n",
                connected);
        fflush(NULL);
        _exit(1); /* the workers never return (see worker_main) */
    }
    pace(ws, now_ns() + (idle ? 2000 : 500) * 1000000LL, 100 * 1000000LL);
    proc_rss_kib(opt.pid, &rss1, &hwm1);

    /* 4. run (or hold the idle sockets); main is the workers' clock (see tick) */
    int64_t t0 = now_ns() + (idle ? 0 : 100 * 1000000LL); /* workers see the start first */
    g_t0 = t0;
    g_tend = t0 + (int64_t)(opt.duration * 1e9);
    if (!idle)
        atomic_store(&g_phase, PH_RUN);
    pace(ws, t0, 1000000);
    double sys0 = 0, sys1 = 0;
    double cpu0 = proc_cpu_s(opt.pid, &sys0), self0 = self_cpu_s();
    if (opt.verbose && !idle) {
        /* second by second: what arrived, what was sent, who was dropped */
        uint64_t prev_r = 0, prev_s = 0;
        for (int64_t at = t0 + 1000000000LL; at < g_tend + 1000000000LL; at += 1000000000LL) {
            pace(ws, at < g_tend ? at : g_tend, 1000000);
            uint64_t r = 0, se = 0;
            for (int t = 0; t < opt.threads; t++) {
                r += atomic_load(&ws[t].received);
                se += atomic_load(&ws[t].expected);
            }
            fprintf(stderr, "rtload: +%.0f s: received %" PRIu64 ", expected %" PRIu64
                    ", closed %d, server CPU so far %.2f s\n",
                    (double)(now_ns() - t0) / 1e9, r - prev_r, se - prev_s,
                    atomic_load(&g_closed), proc_cpu_s(opt.pid, NULL) - cpu0);
            prev_r = r;
            prev_s = se;
        }
    }
    pace(ws, g_tend, idle ? 100 * 1000000LL : 1000000);
    double cpu1 = proc_cpu_s(opt.pid, &sys1), self1 = self_cpu_s();
    int64_t td = now_ns();
    double run_s = (double)(td - t0) / 1e9;
    if (!idle && !opt.arena) {
        atomic_store(&g_phase, PH_DRAIN);
        /* drain: until everything expected arrived, or 1 s without progress, or 10 s */
        uint64_t last = 0;
        int64_t last_change = now_ns();
        for (;;) {
            pace(ws, now_ns() + 50 * 1000000LL, 10 * 1000000LL);
            uint64_t recv_total = 0, exp_total = 0;
            for (int t = 0; t < opt.threads; t++) {
                recv_total += atomic_load(&ws[t].received);
                exp_total += atomic_load(&ws[t].expected);
            }
            if (recv_total != last) {
                last = recv_total;
                last_change = now_ns();
            }
            if (recv_total >= exp_total || now_ns() - last_change > 1000000000LL ||
                now_ns() - td > 10000000000LL)
                break;
        }
    }
    proc_rss_kib(opt.pid, &rss2, &hwm2);
    int closed = atomic_load(&g_closed);

    atomic_store(&g_phase, PH_QUIT);
    int64_t park_deadline = now_ns() + 2000000000LL;
    for (int t = 0; t < opt.threads; t++) {
        while (!atomic_load(&ws[t].parked) && now_ns() < park_deadline)
            pace(ws, now_ns() + 1000000, 1000000);
        if (!atomic_load(&ws[t].parked)) {
            fprintf(stderr, "rtload: worker %d did not stop\n", t);
            fflush(NULL);
            _exit(1);
        }
    }

    /* 5. report */
    hist_t *lat = calloc(1, sizeof *lat), *lat2 = calloc(1, sizeof *lat2),
           *lat_ack = calloc(1, sizeof *lat_ack);
    uint64_t sent = 0, skipped = 0, expected = 0, in_window = 0, received = 0, wfail = 0,
             errors = 0, other = 0, md_msgs = 0, md_bytes = 0;
    uint64_t acks = 0, busy = 0, send_err = 0, presences = 0, ooo = 0, gaps = 0, unparsed = 0;
    int64_t max_gap = 0;
    for (int t = 0; t < opt.threads; t++) {
        worker_t *w = &ws[t];
        hist_merge(lat, w->lat);
        hist_merge(lat2, w->lat_sched);
        hist_merge(lat_ack, w->lat_ack);
        acks += w->acks;
        busy += w->busy;
        send_err += w->send_err;
        presences += w->presences;
        ooo += w->ooo;
        gaps += w->gaps;
        unparsed += w->unparsed;
        sent += w->sent;
        skipped += w->skipped;
        expected += atomic_load(&w->expected);
        in_window += atomic_load(&w->in_window);
        received += atomic_load(&w->received);
        wfail += w->write_fail;
        errors += w->errors;
        other += w->other;
        md_msgs += w->md_msgs;
        md_bytes += w->md_bytes;
        if (opt.verbose)
            fprintf(stderr, "rtload: worker %d: %d clients, sent %" PRIu64 ", received %llu, "
                    "expected %llu, p99 %.2f ms, longest loop stall %.1f ms\n", t, w->ncl,
                    w->sent, (unsigned long long)atomic_load(&w->received),
                    (unsigned long long)atomic_load(&w->expected), hist_q_ms(w->lat, 0.99),
                    (double)w->max_gap / 1e6);
        if (w->max_gap > max_gap)
            max_gap = w->max_gap;
    }
    double server_cpu = cpu0 >= 0 && cpu1 >= 0 ? 100.0 * (cpu1 - cpu0) / run_s : -1;
    double server_sys = cpu0 >= 0 && cpu1 >= 0 ? 100.0 * (sys1 - sys0) / run_s : -1;
    double self_cpu = 100.0 * (self1 - self0) / run_s;
    int failures = atomic_load(&g_conn_failed);
    double per_sock = rss0 >= 0 && rss1 >= 0 && connected > 0
                          ? (double)(rss1 - rss0) * 1024.0 / connected : -1;
    /* arena: broadcasts come from the server's ticks, not from the sends: every client in a
     * match at the start should get ARENA_TICK_RATE a second for the whole window */
    double exp_per_s = idle        ? 0.0
                       : opt.arena ? (double)ready * ARENA_TICK_RATE
                       : opt.chat  ? opt.rate * opt.n
                                   : (double)(opt.k - 1) * opt.n * opt.rate;
    if (opt.arena)
        expected = (uint64_t)llround(exp_per_s * opt.duration);
    uint64_t got = opt.arena ? in_window : received;
    double deliv_pct = expected ? 100.0 * (double)got / (double)expected : 0.0;
    printf("rtload: %s, %d clients, %d threads, %d source address%s, server pid %d\n",
           idle ? "idle sockets" : opt.arena ? "arena matches" : opt.chat ? "chat room"
                                                                        : "relayed matches",
           opt.n,
           opt.threads, opt.addrs, opt.addrs == 1 ? "" : "es", opt.pid);
    printf("  sign-in:            %d ok, %d failed, %.2f s\n", opt.n - auth_failed, auth_failed,
           auth_s);
    printf("  sockets connected:  %d   connect failures: %d   set-up failures: %d   "
           "closed early: %d (%d while sending)   set-up %.2f s\n",
           connected, failures, atomic_load(&g_setup_failed), closed,
           atomic_load(&g_closed_run), setup_s);
    if (opt.chat) {
        printf("  room:               %s (%s, %s listeners), %d members at the start, %d "
               "sender%s, %" PRIu64 " presence events heard\n",
               g_chan_id, opt.unstored ? "unstored" : "stored", opt.hidden ? "hidden" : "visible",
               ready, opt.senders, opt.senders == 1 ? "" : "s", presences);
        printf("  sent:               %" PRIu64 " (%.0f/s, target %.0f/s), skipped (backlog) %"
               PRIu64 ", write failures %" PRIu64 "\n",
               sent, sent / opt.duration, opt.rate, skipped, wfail);
        printf("  answers:            %" PRIu64 " acks, %" PRIu64 " refused busy, %" PRIu64
               " other errors, %" PRIu64 " unanswered\n",
               acks, busy, send_err, sent - acks - busy - send_err);
        printf("  ack latency:        p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
               hist_q_ms(lat_ack, 0.5), hist_q_ms(lat_ack, 0.99),
               lat_ack->n ? (double)lat_ack->max / 1000.0 : -1);
        printf("  delivered:          %.0f msg/s in the window (expected R*N = %.0f/s); %" PRIu64
               " of %" PRIu64 " expected from the accepted sends (%.2f%%)\n",
               in_window / opt.duration, exp_per_s, received, expected, deliv_pct);
        printf("  latency send->recv: p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms  "
               "(%" PRIu64 " samples)\n",
               hist_q_ms(lat, 0.5), hist_q_ms(lat, 0.99), hist_q_ms(lat, 0.999),
               (double)lat->max / 1000.0, lat->n);
        printf("  latency sched->recv:p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
               hist_q_ms(lat2, 0.5), hist_q_ms(lat2, 0.99), (double)lat2->max / 1000.0);
        printf("  order per sender:   %" PRIu64 " out of order or twice, %" PRIu64 " skipped "
               "sequence numbers (summed over receivers), %" PRIu64 " unreadable\n",
               ooo, gaps, unparsed);
        printf("  generator:          longest event-loop stall %.1f ms\n", (double)max_gap / 1e6);
        if (other)
            printf("  other messages: %" PRIu64 "\n", other);
    } else if (!idle) {
        int rooms_ok = 0;
        for (int r = 0; r < nrooms; r++)
            rooms_ok += rooms[r].match_id[0] != 0;
        printf("  %-19s %d of %d made, %d clients in them at the start\n",
               opt.arena ? "arena matches:" : "rooms:", rooms_ok, nrooms, ready);
        printf("  sent:               %" PRIu64 " (%.0f/s, target %.0f/s), skipped (backlog) %"
               PRIu64 ", write failures %" PRIu64 "\n",
               sent, sent / opt.duration, opt.n * opt.rate, skipped, wfail);
        if (opt.arena) {
            printf("  op 2 broadcasts:    %.0f/s received in the window (expected clients*%d = "
                   "%.0f/s); %" PRIu64 " of %" PRIu64 " (%.2f%%)\n",
                   in_window / opt.duration, ARENA_TICK_RATE, exp_per_s, in_window, expected,
                   deliv_pct);
            printf("  broadcast interval: p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms  "
                   "(%" PRIu64 " gaps between two op 2 to one client; ideal %.0f ms)\n",
                   hist_q_ms(lat, 0.5), hist_q_ms(lat, 0.99), hist_q_ms(lat, 0.999),
                   (double)lat->max / 1000.0, lat->n, 1000.0 / ARENA_TICK_RATE);
        } else {
            printf("  delivered:          %.0f msg/s in the window (expected (K-1)*N*R = %.0f/s); "
                   "%" PRIu64 " of %" PRIu64 " expected from the sends (%.2f%%)\n",
                   in_window / opt.duration, exp_per_s, received, expected, deliv_pct);
            printf("  latency send->recv: p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms  "
                   "(%" PRIu64 " samples)\n",
                   hist_q_ms(lat, 0.5), hist_q_ms(lat, 0.99), hist_q_ms(lat, 0.999),
                   (double)lat->max / 1000.0, lat->n);
            printf("  latency sched->recv:p50 %.2f ms  p99 %.2f ms  max %.2f ms  (includes the "
                   "generator's own send lag)\n",
                   hist_q_ms(lat2, 0.5), hist_q_ms(lat2, 0.99), (double)lat2->max / 1000.0);
        }
        printf("  generator:          longest event-loop stall %.1f ms (a 1 ms clock; long "
               "stalls mean the generator, not the server, is late)\n",
               (double)max_gap / 1e6);
        if (errors || other)
            printf("  server errors: %" PRIu64 "   other messages: %" PRIu64 "\n", errors, other);
    }
    printf("  server CPU:         %.1f %% (%.1f %% in the kernel) over %.1f s (100 %% = one core)"
           "   generator CPU: %.1f %%\n",
           server_cpu, server_sys, run_s, self_cpu);
    printf("  server RSS (KiB):   before %ld (HWM %ld), connected %ld (HWM %ld), end %ld "
           "(HWM %ld)\n",
           rss0, hwm0, rss1, hwm1, rss2, hwm2);
    printf("  RSS per socket:     %.0f bytes (%.2f KiB)%s\n", per_sock, per_sock / 1024.0,
           idle ? " idle" : " (after joining the matches)");
    printf("RESULT mode=%s n=%d k=%d r=%g d=%g t=%d connected=%d conn_fail=%d setup_fail=%d "
           "closed=%d sent=%" PRIu64 " skipped=%" PRIu64 " delivered_per_s=%.0f "
           "expected_per_s=%.0f delivered_pct=%.2f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f "
           "sched_p99_ms=%.2f server_cpu=%.1f gen_cpu=%.1f rss0_kib=%ld rss1_kib=%ld "
           "rss2_kib=%ld hwm_kib=%ld bytes_per_socket=%.0f setup_s=%.2f gen_stall_ms=%.1f "
           "server_sys=%.1f s=%d acks=%" PRIu64 " busy=%" PRIu64 " send_err=%" PRIu64
           " ack_p50_ms=%.2f ack_p99_ms=%.2f ack_max_ms=%.2f ooo=%" PRIu64 " gaps=%" PRIu64
            " presences=%" PRIu64 " received=%" PRIu64 " expected=%" PRIu64 " closed_run=%d"
           " format=%s md_bytes=%.1f\n",
           idle ? "idle" : opt.arena ? "arena" : opt.chat ? "chat" : "rooms", opt.n,
           idle || opt.chat ? 0 : opt.k, opt.rate,
           opt.duration, opt.threads,
           connected, failures, atomic_load(&g_setup_failed), closed, sent, skipped,
           idle ? 0.0 : in_window / opt.duration, exp_per_s, deliv_pct, hist_q_ms(lat, 0.5),
           hist_q_ms(lat, 0.99), lat->n ? (double)lat->max / 1000.0 : -1,
           hist_q_ms(lat2, 0.99), server_cpu, self_cpu, rss0, rss1, rss2, hwm2, per_sock,
           setup_s, (double)max_gap / 1e6, server_sys, opt.chat ? opt.senders : 0, acks, busy,
           send_err, hist_q_ms(lat_ack, 0.5), hist_q_ms(lat_ack, 0.99),
           lat_ack->n ? (double)lat_ack->max / 1000.0 : -1, ooo, gaps, presences, received,
           expected, atomic_load(&g_closed_run), opt.pb ? "protobuf" : "json",
           md_msgs ? (double)md_bytes / (double)md_msgs : -1.0);
    /* the workers are parked inside lws_service (see worker_main): the kernel closes the
     * sockets and frees the rest */
    fflush(NULL);
    _exit(connected > 0 ? 0 : 1);
}
