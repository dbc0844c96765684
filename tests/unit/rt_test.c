/* Tests for server/rt: the test plays the public port's acceptor (a loopback listener whose
 * sockets go to tv_rt_adopt) and talks to the sessions with libwebsockets' own client, or with
 * a raw socket where only an HTTP status line comes back (or where the test must not answer
 * the server's PINGs). Also the dispatch table, the registry, the envelope builders and the
 * id map. Includes rt.c to reach its statics. */
#include "rt/rt.c"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "check.h"
#include "realtime.pb-c.h"

static const char *ws_key_headers = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                    "Sec-WebSocket-Version: 13\r\n";

/* ---- the fake auth ---------------------------------------------------------------------- */

#define ALICE "00000000-0000-4000-8000-000000000001"
#define BOB "00000000-0000-4000-8000-000000000002"

/* "good" is alice, "bob" is bob; anything else is refused. */
static int fake_auth(void *ud, const char *token, tv_rt_identity_t *out)
{
    (void)ud;
    int bob = strcmp(token, "bob") == 0;
    if (strcmp(token, "good") != 0 && !bob)
        return -1;
    snprintf(out->user_id, sizeof out->user_id, "%s", bob ? BOB : ALICE);
    snprintf(out->username, sizeof out->username, "%s", bob ? "bob" : "alice");
    return 0;
}

/* ---- the acceptor: a loopback listener whose sockets go to tv_rt_adopt ------------------- */

typedef struct acceptor {
    int lfd, port;
    tv_rt_t *rt;
    atomic_int stop;
    pthread_t thread;
} acceptor_t;

static void *acceptor_main(void *arg)
{
    acceptor_t *a = arg;
    while (!atomic_load(&a->stop)) {
        struct pollfd p = {.fd = a->lfd, .events = POLLIN};
        if (poll(&p, 1, 20) != 1)
            continue;
        int fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            tv_rt_adopt(a->rt, fd);
    }
    return NULL;
}

static int acceptor_start(acceptor_t *a, tv_rt_t *rt)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;

    memset(a, 0, sizeof *a);
    a->rt = rt;
    a->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (a->lfd < 0 || bind(a->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(a->lfd, 64) != 0 || getsockname(a->lfd, (struct sockaddr *)&sa, &sl) != 0)
        return -1;
    a->port = ntohs(sa.sin_port);
    return pthread_create(&a->thread, NULL, acceptor_main, a) == 0 ? 0 : -1;
}

static void acceptor_stop(acceptor_t *a)
{
    atomic_store(&a->stop, 1);
    pthread_join(a->thread, NULL);
    close(a->lfd);
}

/* ---- raw HTTP: requests the server refuses before any upgrade ------------------------------ */

typedef struct raw_reply {
    int status;       /* from the status line, 0 if none */
    int closed;       /* the server hung up after answering */
    char text[2048];  /* head and body */
} raw_reply_t;

static int raw_connect(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Sends request and reads until the server closes, a whole 101 head arrived, or 3 s pass. */
static void raw_request(int port, const char *request, raw_reply_t *r)
{
    size_t len = 0;
    int fd = raw_connect(port);

    memset(r, 0, sizeof *r);
    if (fd < 0 || write(fd, request, strlen(request)) != (ssize_t)strlen(request))
        goto done;
    int64_t deadline = tv_mono_ms() + 3000;
    while (len < sizeof r->text - 1 && tv_mono_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) != 1)
            continue;
        ssize_t n = read(fd, r->text + len, sizeof r->text - 1 - len);
        if (n <= 0) {
            r->closed = 1;
            break;
        }
        len += (size_t)n;
        r->text[len] = 0;
        if (strncmp(r->text, "HTTP/1.1 101", 12) == 0 && strstr(r->text, "\r\n\r\n"))
            break;
    }
    sscanf(r->text, "HTTP/1.1 %d", &r->status);
done:
    if (fd >= 0)
        close(fd);
}

static void raw_get(int port, const char *target, const char *extra, raw_reply_t *r)
{
    char req[16384];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s\r\n", target,
             ws_key_headers, extra ? extra : "");
    raw_request(port, req, r);
}

/* ---- the libwebsockets client ---------------------------------------------------------- */

#define CLIENT_MSGS 16
#define CLIENT_OUT 8

typedef struct client {
    struct lws *wsi;
    int state;                          /* 0 connecting, 1 open, 2 closed, 3 failed */
    int close_code;                     /* status in the server's close frame, 0 if none */
    int want_close;
    const char *bearer;                 /* Authorization header value, or NULL */
    char *msgs[CLIENT_MSGS];
    size_t lens[CLIENT_MSGS];           /* binary messages may hold NULs */
    int binary[CLIENT_MSGS];
    int nmsgs;
    char *rx;
    size_t rx_len;
    struct {
        unsigned char *buf;             /* LWS_PRE headroom before the payload */
        size_t len;
        int flags;
    } out[CLIENT_OUT];
    int nout, sent;
} client_t;

static struct lws_context *cctx;
static int server_port;

static void client_on_receive(client_t *c, struct lws *wsi, const void *in, size_t len)
{
    char *rx = realloc(c->rx, c->rx_len + len + 1);
    if (!rx)
        return;
    c->rx = rx;
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    c->rx[c->rx_len] = 0;
    if (!lws_is_final_fragment(wsi))
        return;
    if (c->nmsgs < CLIENT_MSGS) {
        c->lens[c->nmsgs] = c->rx_len;
        c->binary[c->nmsgs] = lws_frame_is_binary(wsi);
        c->msgs[c->nmsgs++] = c->rx;
    } else
        free(c->rx);
    c->rx = NULL;
    c->rx_len = 0;
}

static int client_on_writeable(client_t *c, struct lws *wsi)
{
    if (c->sent < c->nout) {
        int i = c->sent++;
        if (lws_write(wsi, c->out[i].buf + LWS_PRE, c->out[i].len,
                      (enum lws_write_protocol)c->out[i].flags) < (int)c->out[i].len)
            return -1;
        if (c->sent < c->nout)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->want_close) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    return 0;
}

static int client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    client_t *c = lws_get_opaque_user_data(wsi);
    (void)user;
    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (c->bearer && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                                      (const unsigned char *)c->bearer,
                                                      (int)strlen(c->bearer),
                                                      (unsigned char **)in,
                                                      *(unsigned char **)in + len))
            return -1;
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->state = 1;
        if (c->nout)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        client_on_receive(c, wsi, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return client_on_writeable(c, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2)
            c->close_code = ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1];
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        c->state = 3;
        c->wsi = NULL;
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        c->state = 2;
        c->wsi = NULL;
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols client_protocols[] = {
    {"tv-test", client_cb, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void client_connect(client_t *c, const char *path, const char *bearer)
{
    struct lws_client_connect_info ci;

    memset(c, 0, sizeof *c);
    c->bearer = bearer;
    memset(&ci, 0, sizeof ci);
    ci.context = cctx;
    ci.address = "127.0.0.1";
    ci.port = server_port;
    ci.path = path;
    ci.host = "127.0.0.1";
    ci.origin = "http://elsewhere.example"; /* any origin is accepted */
    ci.local_protocol_name = "tv-test";      /* no Sec-WebSocket-Protocol, like nakama-js */
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    if (!lws_client_connect_via_info(&ci))
        c->state = 3;
}

/* Queues one frame; flags as lws_write takes them (LWS_WRITE_TEXT, ... | LWS_WRITE_NO_FIN). */
static void client_send(client_t *c, const void *data, size_t len, int flags)
{
    if (c->nout == CLIENT_OUT)
        return;
    c->out[c->nout].buf = malloc(LWS_PRE + len + 1);
    memcpy(c->out[c->nout].buf + LWS_PRE, data, len);
    c->out[c->nout].len = len;
    c->out[c->nout].flags = flags;
    c->nout++;
    if (c->state == 1 && c->wsi)
        lws_callback_on_writable(c->wsi);
}

static void client_text(client_t *c, const char *text)
{
    client_send(c, text, strlen(text), LWS_WRITE_TEXT);
}

/* Drops the messages received so far. */
static void client_forget(client_t *c)
{
    for (int i = 0; i < c->nmsgs; i++)
        free(c->msgs[i]);
    c->nmsgs = 0;
}

static void client_free(client_t *c)
{
    if (c->wsi) /* still open: make its later callbacks ignore the freed client */
        lws_set_opaque_user_data(c->wsi, NULL);
    for (int i = 0; i < c->nmsgs; i++)
        free(c->msgs[i]);
    for (int i = 0; i < c->nout; i++)
        free(c->out[i].buf);
    free(c->rx);
    memset(c, 0, sizeof *c);
}

/* Services the client context on this thread (so client state needs no locks) until pred holds
 * or ms pass. Returns pred's final value. */
static int pump(int (*pred)(void *), void *arg, int ms)
{
    int64_t deadline = tv_mono_ms() + ms;
    while (!pred(arg) && tv_mono_ms() < deadline) {
        lws_service(cctx, -1); /* negative: poll without blocking */
        usleep(1000);
    }
    return pred(arg);
}

static int is_settled(void *arg) { return ((client_t *)arg)->state != 0; }
static int is_done(void *arg) { return ((client_t *)arg)->state >= 2; }
static int has_msg(void *arg) { return ((client_t *)arg)->nmsgs > 0; }

typedef struct count_wait {
    tv_rt_t *rt;
    int n;
} count_wait_t;

static int count_is(void *arg)
{
    count_wait_t *w = arg;
    return tv_rt_session_count(w->rt) == w->n;
}

static int wait_count(tv_rt_t *rt, int n)
{
    count_wait_t w = {rt, n};
    return pump(count_is, &w, 3000);
}

/* Connects, waits for the upgrade, sends text and waits for the first reply. */
static int exchange(client_t *c, const char *path, const char *bearer, const char *text)
{
    client_connect(c, path, bearer);
    if (!pump(is_settled, c, 3000) || c->state != 1)
        return -1;
    client_text(c, text);
    return pump(has_msg, c, 3000) ? 0 : -1;
}

static void client_close(client_t *c)
{
    if (c->state == 1 && c->wsi) {
        c->want_close = 1;
        lws_callback_on_writable(c->wsi);
        pump(is_done, c, 3000);
    }
    client_free(c);
}

/* ---- the checks ------------------------------------------------------------------------ */

static void test_ping(tv_rt_t *rt)
{
    client_t c;
    int ok = exchange(&c, "/ws?lang=en&status=true&token=good", NULL,
                      "{\"cid\":\"1\",\"ping\":{}}") == 0;
    CHECK_AS(ok && strcmp(c.msgs[0], "{\"cid\":\"1\",\"pong\":{}}") == 0,
          "valid token upgrades; ping -> pong with cid echoed");
    CHECK_AS(wait_count(rt, 1), "session_count is 1 while the socket is open");

    /* the session took the identity from auth and got a v4 session id */
    pthread_mutex_lock(&rt->shards[0].lock);
    rt_session_t *s = rt->shards[0].sessions;
    int id_ok = s && strcmp(s->who.username, "alice") == 0 && tv_uuid_valid(s->who.session_id) &&
                s->who.session_id[14] == '4';
    pthread_mutex_unlock(&rt->shards[0].lock);
    CHECK_AS(id_ok, "session carries the auth identity and a UUIDv4 session id");

    client_forget(&c);
    client_text(&c, "{\"ping\":{}}");
    CHECK_AS(pump(has_msg, &c, 3000) && strcmp(c.msgs[0], "{\"pong\":{}}") == 0,
          "ping without cid -> pong without cid");

    /* a ping split over three frames is reassembled */
    client_forget(&c);
    client_send(&c, "{\"cid\":\"7\",", 11, LWS_WRITE_TEXT | LWS_WRITE_NO_FIN);
    client_send(&c, "\"ping\"", 6, LWS_WRITE_CONTINUATION | LWS_WRITE_NO_FIN);
    client_send(&c, ":{}}", 4, LWS_WRITE_CONTINUATION);
    CHECK_AS(pump(has_msg, &c, 3000) && strcmp(c.msgs[0], "{\"cid\":\"7\",\"pong\":{}}") == 0,
          "fragmented message is reassembled");
    client_close(&c);
    CHECK_AS(wait_count(rt, 0), "session_count back to 0 after the client closes");
}

static void test_bearer(tv_rt_t *rt)
{
    client_t c;
    int ok = exchange(&c, "/ws?format=json", "Bearer good", "{\"cid\":\"5\",\"ping\":{}}") == 0;
    CHECK_AS(ok && strcmp(c.msgs[0], "{\"cid\":\"5\",\"pong\":{}}") == 0,
          "Authorization: Bearer token upgrades");
    client_close(&c);

    ok = exchange(&c, "/ws?token=go%6Fd", NULL, "{\"cid\":\"6\",\"ping\":{}}") == 0;
    CHECK_AS(ok, "?token= is URL-decoded");
    client_close(&c);
    wait_count(rt, 0);
}

static void test_refusals(void)
{
    raw_reply_t r;

    raw_get(server_port, "/ws?lang=en", NULL, &r);
    CHECK_AS(r.status == 401 && strstr(r.text, "\r\n\r\nMissing or invalid token\n") && r.closed,
          "missing token -> HTTP 401 \"Missing or invalid token\", then hang up");
    raw_get(server_port, "/ws?token=bad", NULL, &r);
    CHECK_AS(r.status == 401, "bad token -> HTTP 401");
    raw_get(server_port, "/ws", "Authorization: Bearer bad\r\n", &r);
    CHECK_AS(r.status == 401, "bad Bearer token -> HTTP 401");
    raw_get(server_port, "/ws?token=good&format=xml", NULL, &r);
    CHECK_AS(r.status == 400, "format=xml -> HTTP 400");
    raw_get(server_port, "/ws?token=good&format=protobuf", NULL, &r);
    CHECK_AS(r.status == 101, "format=protobuf -> upgrade");
    raw_get(server_port, "/ws?token=good&format=Protobuf", NULL, &r);
    CHECK_AS(r.status == 400, "format=Protobuf (case matters, as in Nakama) -> HTTP 400");
    raw_get(server_port, "/wsx?token=good", NULL, &r);
    CHECK_AS(r.status == 404, "upgrade on another path -> HTTP 404");

    raw_request(server_port, "GET /ws?token=good HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    CHECK_AS(r.status == 400 && r.closed, "plain GET /ws without Upgrade -> HTTP 400");

    /* the head limit is raised above lws' 4 KiB default */
    char pad[6100];
    memset(pad, 'a', sizeof pad);
    memcpy(pad, "X-Pad: ", 7);
    memcpy(pad + sizeof pad - 3, "\r\n", 3);
    raw_get(server_port, "/ws?token=good", pad, &r);
    CHECK_AS(r.status == 101, "a 6 KiB request head still upgrades");
}

/* Sends text on a fresh session; checks the single reply and the close status that follows. */
static void expect_error_close(const char *text, const char *want, int want_code, const char *name)
{
    client_t c;
    int ok = exchange(&c, "/ws?token=good", NULL, text) == 0 && strcmp(c.msgs[0], want) == 0;
    ok = ok && pump(is_done, &c, 3000) && c.close_code == want_code;
    if (!ok)
        printf("     got %s, close %d\n", c.nmsgs ? c.msgs[0] : "(nothing)", c.close_code);
    CHECK_AS(ok, name);
    client_free(&c);
}

/* Sends frames on a fresh session; expects the server to close with code and say nothing. */
static void expect_close(const char *frames[], const int flags[], int n, int code,
                         const char *name)
{
    client_t c;
    client_connect(&c, "/ws?token=good", NULL);
    int ok = pump(is_settled, &c, 3000) && c.state == 1;
    for (int i = 0; ok && i < n; i++)
        client_send(&c, frames[i], strlen(frames[i]), flags[i]);
    ok = ok && pump(is_done, &c, 3000) && c.close_code == code && c.nmsgs == 0;
    if (!ok)
        printf("     state %d, close %d, %d messages\n", c.state, c.close_code, c.nmsgs);
    CHECK_AS(ok, name);
    client_free(&c);
}

static void test_bad_input(tv_rt_t *rt, size_t max)
{
    expect_error_close("{\"cid\":\"2\",\"foo\":{}}",
                       "{\"cid\":\"2\",\"error\":{\"code\":1,\"message\":\"Unrecognized message.\"}}",
                       1000, "unknown message -> error code 1, then close");
    expect_error_close("{not json", "{\"error\":{\"code\":2,\"message\":\"Missing or invalid message\"}}",
                       1000, "invalid JSON -> error code 2, then close");
    expect_error_close("{\"cid\":\"3\"}",
                       "{\"cid\":\"3\",\"error\":{\"code\":2,\"message\":\"Missing or invalid message\"}}",
                       1000, "envelope without a message -> error code 2, then close");

    char *big = malloc(max + 2);
    memset(big, ' ', max + 1);
    big[max + 1] = 0;
    const char *one[] = {big};
    const int one_flags[] = {LWS_WRITE_TEXT};
    expect_close(one, one_flags, 1, 1009, "message over max_message -> close 1009");

    /* fragments count together: three thirds plus a bit go over */
    size_t third = max / 3 + 1;
    big[third] = 0;
    const char *three[] = {big, big, big};
    const int three_flags[] = {LWS_WRITE_TEXT | LWS_WRITE_NO_FIN,
                               LWS_WRITE_CONTINUATION | LWS_WRITE_NO_FIN, LWS_WRITE_CONTINUATION};
    expect_close(three, three_flags, 3, 1009, "fragmented message over max_message -> close 1009");
    free(big);

    const char *bin[] = {"{\"ping\":{}}"};
    const int bin_flags[] = {LWS_WRITE_BINARY};
    expect_close(bin, bin_flags, 1, 1003, "binary frame -> close 1003");
    CHECK_AS(wait_count(rt, 0), "every refused session is gone from session_count");
}

/* ---- format=protobuf ---------------------------------------------------------------------- */

/* Whether message i of c is a binary frame whose Envelope reads as the JSON text want. */
static int pb_is(const client_t *c, int i, const char *want)
{
    if (i >= c->nmsgs || !c->binary[i])
        return 0;
    cJSON *got = tv_rt_pb_to_json(c->msgs[i], c->lens[i]), *w = cJSON_Parse(want);
    int ok = got && w && cJSON_Compare(got, w, 1);
    if (!ok) {
        char *t = got ? cJSON_PrintUnformatted(got) : NULL;
        printf("     got %s, want %s\n", t ? t : "(not an envelope)", want);
        cJSON_free(t);
    }
    cJSON_Delete(got);
    cJSON_Delete(w);
    return ok;
}

/* Sends one binary frame (the protobuf of JSON text env, or raw bytes when env is NULL) on a
 * fresh protobuf session, and checks the single reply and the close code that follows. */
static void pb_expect(const char *env, const void *raw, size_t rawlen, const char *want,
                      int want_close, const char *name)
{
    client_t c;
    uint8_t *bin = NULL;
    size_t len = rawlen;
    if (env)
        tv_rt_pb_from_text(env, strlen(env), &bin, &len);
    client_connect(&c, "/ws?token=good&format=protobuf", NULL);
    int ok = pump(is_settled, &c, 3000) && c.state == 1;
    client_send(&c, env ? (const void *)bin : raw, len, LWS_WRITE_BINARY);
    ok = ok && pump(has_msg, &c, 3000) && pb_is(&c, 0, want);
    if (want_close)
        ok = ok && pump(is_done, &c, 3000) && c.close_code == want_close;
    CHECK_AS(ok, name);
    free(bin);
    if (!want_close)
        client_close(&c);
    else
        client_free(&c);
}

static void test_protobuf(tv_rt_t *rt)
{
    pb_expect("{\"cid\":\"1\",\"ping\":{}}", NULL, 0, "{\"cid\":\"1\",\"pong\":{}}", 0,
              "protobuf: ping -> pong, a binary Envelope");
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x0f};
    pb_expect(NULL, garbage, sizeof garbage,
              "{\"error\":{\"code\":2,\"message\":\"Missing or invalid message\"}}", 1000,
              "protobuf: bytes that are no Envelope -> error code 2, then close (as bad JSON)");
    static const uint8_t nomsg[] = {0x0a, 0x01, '3'};
    pb_expect(NULL, nomsg, sizeof nomsg,
              "{\"cid\":\"3\",\"error\":{\"code\":2,\"message\":\"Missing or invalid "
              "message\"}}", 1000, "protobuf: envelope without a message -> error code 2");
    static const uint8_t unknown[] = {0x0a, 0x01, '4', 0xba, 0x06, 0x00};
    pb_expect(NULL, unknown, sizeof unknown,
              "{\"cid\":\"4\",\"error\":{\"code\":1,\"message\":\"Unrecognized message.\"}}",
              1000, "protobuf: a message field unknown to the schema -> error code 1");
    pb_expect("{\"cid\":\"5\",\"party_create\":{\"open\":true}}", NULL, 0,
              "{\"cid\":\"5\",\"error\":{\"code\":1,\"message\":\"Unrecognized message.\"}}",
              1000, "protobuf: a known message without a handler -> error code 1 (as JSON)");

    /* one text pushed to a JSON and a protobuf session: each hears it in its own format, and
     * the protobuf form is made once (the message keeps it for the next protobuf writer) */
    client_t j, b;
    char sids[2][37] = {"", ""};
    client_connect(&j, "/ws?token=good", NULL);
    client_connect(&b, "/ws?token=bob&format=protobuf", NULL);
    pump(is_settled, &j, 3000);
    pump(is_settled, &b, 3000);
    wait_count(rt, 2);
    tv_rt_identity_t ids[2];
    if (tv_rt_user_sessions(rt, ALICE, ids, 1) == 1)
        memcpy(sids[0], ids[0].session_id, 37);
    if (tv_rt_user_sessions(rt, BOB, ids + 1, 1) == 1)
        memcpy(sids[1], ids[1].session_id, 37);
    const char *push = "{\"match_data\":{\"match_id\":\"m.\",\"op_code\":\"9\","
                       "\"data\":\"AAEC/w==\",\"reliable\":true}}";
    const char *const to[] = {sids[0], sids[1]};
    int n = tv_rt_send_many(rt, to, 2, push, strlen(push));
    int ok = n == 2 && pump(has_msg, &j, 3000) && pump(has_msg, &b, 3000);
    CHECK_AS(ok && !j.binary[0] && strcmp(j.msgs[0], push) == 0,
             "mixed audience: the JSON session gets the text");
    CHECK_AS(ok && pb_is(&b, 0, push), "mixed audience: the protobuf session gets the Envelope");
    Nakama__Realtime__Envelope *e = ok ? nakama__realtime__envelope__unpack(
        NULL, b.lens[0], (const uint8_t *)b.msgs[0]) : NULL;
    CHECK_AS(e && e->match_data && e->match_data->op_code == 9 && e->match_data->data.len == 4 &&
                 memcmp(e->match_data->data.data, "\x00\x01\x02\xff", 4) == 0,
             "protobuf match_data: op_code a varint, data the raw bytes");
    if (e)
        nakama__realtime__envelope__free_unpacked(e, NULL);
    client_close(&j);
    client_close(&b);
    wait_count(rt, 0);

    /* the cache itself: a message encodes once, however many protobuf sessions write it */
    rt_msg_t *m = msg_new(push, strlen(push));
    const rt_pb_t *p1 = m ? msg_pb(m) : NULL, *p2 = m ? msg_pb(m) : NULL;
    CHECK_AS(p1 && p1 == p2, "a shared message's protobuf form is made once");
    msg_unref(m);
}

/* tv_rt_send is the push path for other threads: look up by session id, queue, wake the
 * thread. */
static void test_push(tv_rt_t *rt)
{
    client_t c;
    char sid[37] = "";

    client_connect(&c, "/ws?token=good", NULL);
    pump(is_settled, &c, 3000);
    wait_count(rt, 1);
    pthread_mutex_lock(&rt->shards[0].lock);
    if (rt->shards[0].sessions)
        memcpy(sid, rt->shards[0].sessions->who.session_id, sizeof sid);
    pthread_mutex_unlock(&rt->shards[0].lock);

    const char *push = "{\"notifications\":{\"notifications\":[]}}";
    int rc = tv_rt_send(rt, sid, push, strlen(push));
    CHECK_AS(rc == TV_OK && pump(has_msg, &c, 3000) && strcmp(c.msgs[0], push) == 0,
          "tv_rt_send from another thread reaches the client");
    CHECK_AS(tv_rt_send(rt, "00000000-0000-4000-8000-000000000000", push, 3) == TV_ENOTFOUND,
          "tv_rt_send to an unknown session -> TV_ENOTFOUND");
    client_close(&c);
    wait_count(rt, 0);
}

static void test_queue_bound(void)
{
    rt_session_t s;
    rt_msg_t *m = msg_new("{}", 2);
    int ok = 1;

    memset(&s, 0, sizeof s);
    for (int i = 0; i < RT_QUEUE_MAX; i++)
        ok = ok && queue_push_locked(&s, m) == TV_OK;
    CHECK_AS(ok && queue_push_locked(&s, m) == TV_EBUSY && s.overflow,
          "the 65th queued message overflows and marks the session to close");
    CHECK_AS(atomic_load(&m->refs) == RT_QUEUE_MAX + 1, "one shared message, a reference per slot");
    queue_clear_locked(&s);
    CHECK_AS(atomic_load(&m->refs) == 1, "clearing the queue drops its references");
    msg_unref(m);
}

typedef struct many {
    client_t *c;
    int n;
} many_t;

static int all_replied(void *arg)
{
    many_t *m = arg;
    for (int i = 0; i < m->n; i++)
        if (m->c[i].nmsgs == 0 && m->c[i].state < 2)
            return 0;
    return 1;
}

static int all_settled(void *arg)
{
    many_t *m = arg;
    for (int i = 0; i < m->n; i++)
        if (m->c[i].state == 0)
            return 0;
    return 1;
}

static int all_done(void *arg)
{
    many_t *m = arg;
    for (int i = 0; i < m->n; i++)
        if (m->c[i].state < 2)
            return 0;
    return 1;
}

/* Two service threads: sockets are spread round-robin and each thread serves its own. */
static void test_threads(void)
{
    enum { N = 8 };
    tv_rt_opts_t o = {.threads = 2, .max_message = 4096, .header_limit = 8192, .auth = fake_auth};
    tv_rt_t *rt;
    acceptor_t a;
    client_t c[N];
    many_t m = {c, N};
    char ping[64], want[64];
    int ok = 1;

    if (tv_rt_start(&o, &rt) != TV_OK || acceptor_start(&a, rt) != 0) {
        CHECK_AS(0, "threads=2 starts");
        return;
    }
    server_port = a.port;
    for (int i = 0; i < N; i++)
        client_connect(&c[i], "/ws?token=good", NULL);
    pump(all_settled, &m, 5000);
    for (int i = 0; i < N; i++) {
        snprintf(ping, sizeof ping, "{\"cid\":\"%d\",\"ping\":{}}", i);
        client_text(&c[i], ping);
    }
    pump(all_replied, &m, 5000);
    for (int i = 0; i < N; i++) {
        snprintf(want, sizeof want, "{\"cid\":\"%d\",\"pong\":{}}", i);
        ok = ok && c[i].nmsgs == 1 && strcmp(c[i].msgs[0], want) == 0;
    }
    CHECK_AS(ok, "threads=2: 8 clients each get their own pong");
    CHECK_AS(tv_rt_session_count(rt) == N, "threads=2: session_count is 8");
    int per[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        pthread_mutex_lock(&rt->shards[i].lock);
        for (rt_session_t *s = rt->shards[i].sessions; s; s = s->next)
            per[i]++;
        pthread_mutex_unlock(&rt->shards[i].lock);
    }
    CHECK_AS(per[0] == N / 2 && per[1] == N / 2, "threads=2: sessions are spread over both threads");

    for (int i = 0; i < N / 2; i++)
        client_close(&c[i]);
    CHECK_AS(wait_count(rt, N / 2), "threads=2: session_count follows closes");

    /* stop with sessions still open and one socket maybe not yet adopted: ASan checks leaks */
    acceptor_stop(&a);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
        tv_rt_adopt(rt, sv[0]);
        close(sv[1]);
    }
    tv_rt_stop(rt);
    m.c = c + N / 2;
    m.n = N / 2;
    CHECK_AS(pump(all_done, &m, 3000), "threads=2: tv_rt_stop closes the sessions still open");
    for (int i = 0; i < N; i++)
        client_free(&c[i]);
}

/* ---- the dispatch table, listeners and the registry ------------------------------------- */

static atomic_int opens, closes;
static pthread_t later_thread;
static atomic_int later_started;

static void count_open(void *ud, const tv_rt_identity_t *who)
{
    (void)ud;
    (void)who;
    atomic_fetch_add(&opens, 1);
}

static void count_close(void *ud, const tv_rt_identity_t *who)
{
    (void)ud;
    /* the session has already left the registry when listeners hear of its end */
    tv_rt_identity_t copy;
    if (tv_rt_session_get(ud, who->session_id, &copy) == TV_ENOTFOUND)
        atomic_fetch_add(&closes, 1);
}

/* echo: {"cid":..,"echo":<the body>} at once. */
static int h_echo(void *ud, const tv_rt_msg_t *m)
{
    (void)ud;
    tv_rt_reply(m->rt, m->who->session_id, m->cid, "echo", cJSON_Duplicate(m->body, 1));
    return TV_OK;
}

/* whoami: the identity the registry holds for the sender. */
static int h_whoami(void *ud, const tv_rt_msg_t *m)
{
    tv_rt_identity_t who;
    (void)ud;
    if (tv_rt_session_get(m->rt, m->who->session_id, &who) != TV_OK)
        return TV_EINTERNAL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user_id", who.user_id);
    cJSON_AddStringToObject(o, "username", who.username);
    cJSON_AddStringToObject(o, "session_id", who.session_id);
    cJSON_AddBoolToObject(o, "status", who.status);
    cJSON_AddStringToObject(o, "lang", who.lang);
    tv_rt_reply(m->rt, m->who->session_id, m->cid, "whoami", o);
    return TV_OK;
}

static void *later_main(void *arg)
{
    usleep(100000);
    tv_rt_later_reply(arg, "later", cJSON_CreateObject());
    return NULL;
}

/* later: answered 100 ms later from another thread, the way an RPC on a worker answers. */
static int h_later(void *ud, const tv_rt_msg_t *m)
{
    (void)ud;
    tv_rt_later_t *l = tv_rt_later(m);
    if (!l || pthread_create(&later_thread, NULL, later_main, l) != 0)
        return TV_ENOMEM;
    atomic_store(&later_started, 1);
    return TV_OK;
}

/* fail: an error envelope; the socket stays open. */
static int h_fail(void *ud, const tv_rt_msg_t *m)
{
    (void)ud;
    tv_rt_reply_error(m->rt, m->who->session_id, m->cid, TV_RT_ERR_BAD_INPUT, "nope");
    return TV_OK;
}

/* malformed: the handler refuses the payload: close, no reply. */
static int h_malformed(void *ud, const tv_rt_msg_t *m)
{
    (void)ud;
    (void)m;
    return TV_EINVAL;
}

static int register_test_handlers(tv_rt_t *rt)
{
    tv_rt_listener_t l = {count_open, count_close, rt};
    return tv_rt_register(rt, "echo", h_echo, NULL) || tv_rt_register(rt, "whoami", h_whoami, NULL) ||
           tv_rt_register(rt, "later", h_later, NULL) || tv_rt_register(rt, "fail", h_fail, NULL) ||
           tv_rt_register(rt, "malformed", h_malformed, NULL) || tv_rt_add_listener(rt, &l);
}

static int two_msgs(void *arg) { return ((client_t *)arg)->nmsgs >= 2; }

/* Sends text and waits for one reply; returns it (owned by c) or "". */
static const char *ask(client_t *c, const char *text)
{
    client_forget(c);
    client_text(c, text);
    return pump(has_msg, c, 3000) ? c->msgs[0] : "";
}

/* The session id the server gave c, learnt through whoami. */
static void learn_sid(client_t *c, char sid[37])
{
    cJSON *r = cJSON_Parse(ask(c, "{\"cid\":\"w\",\"whoami\":{}}"));
    const cJSON *who = cJSON_GetObjectItem(r, "whoami");
    const cJSON *id = cJSON_GetObjectItem(who, "session_id");
    snprintf(sid, 37, "%s", cJSON_IsString(id) ? id->valuestring : "");
    cJSON_Delete(r);
}

static void test_dispatch(tv_rt_t *rt)
{
    client_t c;
    int opened = atomic_load(&opens), closed = atomic_load(&closes);

    CHECK_AS(tv_rt_register(rt, "late", h_echo, NULL) == TV_EBUSY,
          "registering after the first socket -> TV_EBUSY");
    CHECK_AS(tv_rt_add_listener(rt, &(tv_rt_listener_t){0}) == TV_EBUSY,
          "adding a listener after the first socket -> TV_EBUSY");

    client_connect(&c, "/ws?lang=fr&status=true&token=good", NULL);
    pump(is_settled, &c, 3000);
    CHECK_AS(strcmp(ask(&c, "{\"cid\":\"1\",\"echo\":{\"a\":[1,\"x\"]}}"),
                 "{\"cid\":\"1\",\"echo\":{\"a\":[1,\"x\"]}}") == 0,
          "a registered message reaches its handler; the reply echoes the cid");
    CHECK_AS(strcmp(ask(&c, "{\"echo\":{}}"), "{\"echo\":{}}") == 0,
          "no cid in, no cid out");
    cJSON *who = cJSON_Parse(ask(&c, "{\"cid\":\"2\",\"whoami\":{}}"));
    const cJSON *w = cJSON_GetObjectItem(who, "whoami");
    CHECK_AS(cJSON_IsTrue(cJSON_GetObjectItem(w, "status")) &&
              strcmp(cJSON_GetObjectItem(w, "lang")->valuestring, "fr") == 0 &&
              strcmp(cJSON_GetObjectItem(w, "username")->valuestring, "alice") == 0,
          "the session keeps ?status=true and ?lang=, and the registry knows it");
    cJSON_Delete(who);
    CHECK_AS(strcmp(ask(&c, "{\"cid\":\"3\",\"later\":{}}"), "{\"cid\":\"3\",\"later\":{}}") == 0,
          "a handler answers later from another thread (tv_rt_later)");
    if (atomic_load(&later_started))
        pthread_join(later_thread, NULL);
    CHECK_AS(strcmp(ask(&c, "{\"cid\":\"4\",\"fail\":{}}"),
                 "{\"cid\":\"4\",\"error\":{\"code\":3,\"message\":\"nope\"}}") == 0,
          "tv_rt_reply_error sends Nakama's error envelope");
    client_forget(&c);
    client_text(&c, "{\"pong\":{}}");
    client_text(&c, "{\"cid\":\"5\",\"ping\":{}}");
    CHECK_AS(pump(has_msg, &c, 3000) && !pump(two_msgs, &c, 300) &&
              strcmp(c.msgs[0], "{\"cid\":\"5\",\"pong\":{}}") == 0 && c.state == 1,
          "the socket stays open after an error reply; a client's pong gets no answer");
    client_close(&c);

    client_connect(&c, "/ws?token=good", NULL);
    pump(is_settled, &c, 3000);
    client_text(&c, "{\"cid\":\"6\",\"malformed\":{}}");
    CHECK_AS(pump(is_done, &c, 3000) && c.nmsgs == 0 && c.close_code == 1000,
          "a handler refusing the payload closes the socket without a reply");
    client_free(&c);
    CHECK_AS(wait_count(rt, 0), "both sessions gone");
    CHECK_AS(atomic_load(&opens) == opened + 2 && atomic_load(&closes) == closed + 2,
          "listeners hear every open and close, after the session left the registry");
}

static void test_registry(tv_rt_t *rt)
{
    client_t a1, a2, b;
    char s1[37], s2[37], sb[37];
    tv_rt_identity_t ids[4];

    client_connect(&a1, "/ws?token=good", NULL);
    client_connect(&a2, "/ws?token=good", NULL);
    client_connect(&b, "/ws?token=bob", NULL);
    pump(is_settled, &a1, 3000);
    pump(is_settled, &a2, 3000);
    pump(is_settled, &b, 3000);
    learn_sid(&a1, s1);
    learn_sid(&a2, s2);
    learn_sid(&b, sb);
    CHECK_AS(tv_uuid_valid(s1) && tv_uuid_valid(s2) && tv_uuid_valid(sb) && strcmp(s1, s2) != 0,
          "three sessions, three session ids");

    int n = tv_rt_user_sessions(rt, ALICE, ids, 4);
    CHECK_AS(n == 2 && strcmp(ids[0].user_id, ALICE) == 0 &&
              ((strcmp(ids[0].session_id, s1) == 0 && strcmp(ids[1].session_id, s2) == 0) ||
               (strcmp(ids[0].session_id, s2) == 0 && strcmp(ids[1].session_id, s1) == 0)),
          "tv_rt_user_sessions lists both of alice's sessions");
    CHECK_AS(tv_rt_user_sessions(rt, BOB, ids, 1) == 1 && strcmp(ids[0].session_id, sb) == 0,
          "and bob's one");
    CHECK_AS(tv_rt_user_sessions(rt, ALICE, NULL, 0) == 2, "counting without copying");
    CHECK_AS(tv_rt_user_sessions(rt, "00000000-0000-4000-8000-00000000000f", ids, 4) == 0,
          "a user with no socket has no sessions");
    CHECK_AS(tv_rt_session_get(rt, sb, &ids[0]) == TV_OK && strcmp(ids[0].username, "bob") == 0 &&
              ids[0].status == 0 && strcmp(ids[0].lang, "en") == 0,
          "tv_rt_session_get copies the identity (status false, lang en by default)");

    client_forget(&a1);
    client_forget(&a2);
    client_forget(&b);
    const char *note = "{\"notifications\":{}}";
    CHECK_AS(tv_rt_send_user(rt, ALICE, note, strlen(note)) == 2 && pump(has_msg, &a1, 3000) &&
              pump(has_msg, &a2, 3000) && !pump(has_msg, &b, 200),
          "tv_rt_send_user reaches every session of the user and no one else");
    client_forget(&a1);
    client_forget(&a2);
    const char *to[] = {s1, sb, "00000000-0000-4000-8000-00000000000e"};
    CHECK_AS(tv_rt_send_many(rt, to, 3, note, strlen(note)) == 2 && pump(has_msg, &a1, 3000) &&
              pump(has_msg, &b, 3000) && !pump(has_msg, &a2, 200),
          "tv_rt_send_many reaches the listed sessions, skipping gone ones");

    CHECK_AS(tv_rt_disconnect(rt, s2) == TV_OK && pump(is_done, &a2, 3000),
          "tv_rt_disconnect closes a session");
    CHECK_AS(wait_count(rt, 2) && tv_rt_user_sessions(rt, ALICE, ids, 4) == 1 &&
              strcmp(ids[0].session_id, s1) == 0,
          "the closed session left the user index; the other stays");
    CHECK_AS(tv_rt_disconnect(rt, s2) == TV_ENOTFOUND, "disconnecting a gone session -> TV_ENOTFOUND");
    client_close(&a1);
    client_close(&b);
    client_free(&a2);
    CHECK_AS(wait_count(rt, 0) && tv_rt_user_sessions(rt, ALICE, NULL, 0) == 0 &&
              tv_rt_user_sessions(rt, BOB, NULL, 0) == 0,
          "the user index is empty once every socket closed");
}

/* ---- the server's pings, seen from a raw socket that may or may not answer them -------- */

/* Opens a WebSocket by hand and returns the fd once the 101 head is read, or -1. */
static int raw_ws_open(int port, const char *path)
{
    char req[512], head[2048];
    size_t len = 0;
    int fd = raw_connect(port);

    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path, ws_key_headers);
    if (fd < 0 || write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        goto fail;
    /* byte by byte, so nothing after the head is swallowed */
    while (len < sizeof head - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 3000) != 1 || read(fd, head + len, 1) != 1)
            goto fail;
        head[++len] = 0;
        if (len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0)
            return strncmp(head, "HTTP/1.1 101", 12) == 0 ? fd : (close(fd), -1);
    }
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

static int read_full(int fd, unsigned char *buf, size_t n, int ms)
{
    for (size_t got = 0; got < n;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ms) != 1)
            return -1;
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

/* Reads one server frame (never masked) into body (4096 bytes, or NULL), its length into *n
 * (or NULL). Returns its opcode, 0 when the peer hung up, -1 on a timeout. */
static int raw_ws_frame_body(int fd, int ms, unsigned char *body, size_t *n)
{
    unsigned char h[2], ext[8], scratch[4096];
    int r = read_full(fd, h, 2, ms);
    if (!body)
        body = scratch;
    if (r <= 0)
        return r;
    size_t len = h[1] & 0x7f;
    if (len == 126 || len == 127) {
        size_t n = len == 126 ? 2 : 8;
        if ((r = read_full(fd, ext, n, ms)) <= 0)
            return r;
        len = 0;
        for (size_t i = 0; i < n; i++)
            len = len << 8 | ext[i];
    }
    if (len > sizeof scratch)
        return 0;
    if (len && (r = read_full(fd, body, len, ms)) <= 0)
        return r;
    if (n)
        *n = len;
    return h[0] & 0x0f;
}

static int raw_ws_frame(int fd, int ms)
{
    return raw_ws_frame_body(fd, ms, NULL, NULL);
}

/* Sends one masked control frame (PONG: 0xA) with a zero mask key. */
static void raw_ws_control(int fd, int opcode, const unsigned char *payload, size_t n)
{
    unsigned char f[6 + 125];
    f[0] = (unsigned char)(0x80 | opcode);
    f[1] = (unsigned char)(0x80 | n);
    memset(f + 2, 0, 4);
    memcpy(f + 6, payload, n);
    if (write(fd, f, n + 6) != (ssize_t)(n + 6))
        return;
}

/* The RTT histogram's sample count and sum. */
static uint64_t rtt_count(uint64_t *sum_ns)
{
    uint64_t counts[32], total = 0;
    int n = tv_metric_hist_read(rtm.rtt, counts, 32, sum_ns);
    for (int i = 0; i < n; i++)
        total += counts[i];
    return total;
}

/* Sends one masked text frame (the mask key is zero, which leaves the payload as it is). */
static void raw_ws_text(int fd, const char *text)
{
    unsigned char f[256];
    size_t n = strlen(text);
    f[0] = 0x81;
    f[1] = (unsigned char)(0x80 | n);
    memset(f + 2, 0, 4);
    memcpy(f + 6, text, n);
    if (write(fd, f, n + 6) != (ssize_t)(n + 6))
        return;
}

static void test_server_ping(void)
{
    tv_rt_opts_t o = {.threads = 1, .max_message = 4096, .header_limit = 8192, .auth = fake_auth,
                      .ping_interval_s = 1, .pong_timeout_s = 2};
    tv_rt_opts_t bad = o;
    tv_rt_t *rt;
    acceptor_t a;

    bad.pong_timeout_s = 1;
    CHECK_AS(tv_rt_start(&bad, &rt) == TV_EINVAL, "a pong timeout not above the ping interval -> TV_EINVAL");
    if (tv_rt_start(&o, &rt) != TV_OK || acceptor_start(&a, rt) != 0) {
        CHECK_AS(0, "ping test server starts");
        return;
    }
    server_port = a.port;

    /* silent: never answers PINGs, never sends */
    int fd = raw_ws_open(a.port, "/ws?token=good"), pings = 0, op, ping8 = 1;
    int64_t t0 = tv_mono_ms(), closed_after = -1;
    uint64_t rtt0 = rtt_count(NULL);
    while (fd >= 0 && tv_mono_ms() - t0 < 6000) {
        size_t n = 0;
        op = raw_ws_frame_body(fd, 6000, NULL, &n);
        if (op == 0x9) {
            pings++;
            ping8 &= n == 8;
        } else if (op == 0x8 || op == 0) {
            closed_after = tv_mono_ms() - t0;
            break;
        }
    }
    if (fd >= 0)
        close(fd);
    CHECK_AS(pings == 1 && ping8, "the server PINGs an idle socket after the ping interval, "
                                  "8 bytes of payload, one PING in flight at a time");
    /* t0 is a little after the server's last read (the upgrade); the sweep runs twice a second */
    CHECK_AS(closed_after >= 1900 && closed_after < 3000,
          "a socket that never answers is dropped after the pong timeout (2 s here)");
    CHECK_AS(rtt_count(NULL) == rtt0, "no PONG, no RTT sample");

    /* answering: echoes every PING's payload in a PONG. First it sends a text message (after
     * one, lws 4.1 checks PONG payloads as UTF-8 too: the server's must pass), then an
     * unsolicited PONG with a payload of the right size that is not the server's: that one is
     * not timed */
    fd = raw_ws_open(a.port, "/ws?token=good");
    static const unsigned char bogus[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    if (fd >= 0) {
        raw_ws_text(fd, "{\"ping\":{}}");
        raw_ws_control(fd, 0xA, bogus, sizeof bogus);
    }
    int answered = 0, open = fd >= 0;
    t0 = tv_mono_ms();
    while (open && tv_mono_ms() - t0 < 3500) {
        unsigned char body[4096];
        size_t n = 0;
        op = raw_ws_frame_body(fd, (int)(3500 - (tv_mono_ms() - t0)) + 1, body, &n);
        if (op == 0x9 && n <= 125) {
            raw_ws_control(fd, 0xA, body, n);
            answered++;
        }
        open = op != 0 && op != 0x8;
    }
    if (fd >= 0)
        close(fd);
    uint64_t sum_ns = 0, samples = rtt_count(&sum_ns) - rtt0;
    CHECK_AS(open && answered >= 2,
          "a raw socket that answers PINGs (after one message) stays past the pong timeout");
    /* the last PONG may still be on its way */
    CHECK_AS(samples + 1 >= (uint64_t)answered && samples <= (uint64_t)answered,
          "each answered PING is one RTT sample; an unsolicited PONG is none");
    CHECK_AS(samples && sum_ns > 0 && sum_ns / samples < 100000000u,
          "the round trips are small and positive");

    /* chatty: never answers PINGs but sends envelopes: any message proves it alive */
    fd = raw_ws_open(a.port, "/ws?token=good");
    int alive = fd >= 0, pongs = 0;
    t0 = tv_mono_ms();
    while (alive && tv_mono_ms() - t0 < 3500) {
        raw_ws_text(fd, "{\"ping\":{}}");
        int64_t until = tv_mono_ms() + 400;
        while (alive && tv_mono_ms() < until) {
            op = raw_ws_frame(fd, (int)(until - tv_mono_ms()) + 1);
            if (op == 0x1)
                pongs++;
            alive = op != 0 && op != 0x8;
        }
    }
    if (fd >= 0)
        close(fd);
    CHECK_AS(alive && pongs >= 6, "a socket sending messages stays open without answering PINGs");

    /* a real client answers the PINGs itself */
    client_t c;
    client_connect(&c, "/ws?token=good", NULL);
    pump(is_settled, &c, 3000);
    int64_t until = tv_mono_ms() + 3500;
    while (tv_mono_ms() < until) {
        lws_service(cctx, -1);
        usleep(1000);
    }
    CHECK_AS(c.state == 1, "a client that answers PINGs stays open past the pong timeout");
    client_close(&c);
    acceptor_stop(&a);
    tv_rt_stop(rt);
}

/* ---- builders, the codec and the id map -------------------------------------------------- */

static void test_codec(void)
{
    char *t = tv_rt_envelope_text("7", "pong", cJSON_CreateObject());
    CHECK_AS(t && strcmp(t, "{\"cid\":\"7\",\"pong\":{}}") == 0, "envelope with cid");
    cJSON_free(t);
    t = tv_rt_envelope_text(NULL, "pong", cJSON_CreateObject());
    CHECK_AS(t && strcmp(t, "{\"pong\":{}}") == 0, "envelope without cid");
    cJSON_free(t);
    t = tv_rt_envelope_text("8", NULL, NULL);
    CHECK_AS(t && strcmp(t, "{\"cid\":\"8\"}") == 0, "a void reply is the bare cid");
    cJSON_free(t);
    cJSON *e = error_body(0, "boom");
    t = cJSON_PrintUnformatted(e);
    CHECK_AS(t && strcmp(t, "{\"message\":\"boom\"}") == 0, "error code 0 is left out");
    cJSON_free(t);
    cJSON_Delete(e);

    tv_rt_identity_t who = {.user_id = ALICE, .username = "al\"ice", .session_id = BOB};
    cJSON *p = tv_rt_presence_json(&who, 1, "");
    t = cJSON_PrintUnformatted(p);
    CHECK_AS(t && strcmp(t, "{\"user_id\":\"" ALICE "\",\"session_id\":\"" BOB "\",\"username\":"
                         "\"al\\\"ice\",\"persistence\":true,\"status\":\"\"}") == 0,
          "presence json with persistence and an empty status");
    cJSON_free(t);
    cJSON_Delete(p);

    tv_rt_buf_t b = {0};
    tv_rt_buf_lit(&b, "{\"k\":");
    tv_rt_buf_str(&b, "a\"b\\c\n\x01\xc3\xa9");
    tv_rt_buf_lit(&b, "}");
    CHECK_AS(!b.oom && strcmp(b.p, "{\"k\":\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"}") == 0,
          "the text builder escapes quotes, backslashes and control characters only");
    cJSON *back = cJSON_Parse(b.p);
    CHECK_AS(back && strcmp(cJSON_GetObjectItem(back, "k")->valuestring, "a\"b\\c\n\x01\xc3\xa9") == 0,
          "and the result parses back to the same string");
    cJSON_Delete(back);
    tv_rt_buf_free(&b);

    static const struct {
        const char *text;
        int ok;
        const char *cid, *name;
    } cases[] = {
        {"{\"cid\":\"1\",\"ping\":{}}", 1, "1", "ping"},
        {"{\"ping\":{},\"cid\":\"\"}", 1, "", "ping"},
        {"{\"ping\":{}}", 1, NULL, "ping"},
        {"{\"cid\":1,\"ping\":{}}", 0, NULL, NULL},
        {"{\"cid\":\"1\"}", 0, NULL, NULL},
        {"{\"ping\":{},\"pong\":{}}", 0, NULL, NULL},
        {"{\"ping\":[]}", 0, NULL, NULL},
        {"{\"ping\":null}", 0, NULL, NULL},
        {"[]", 0, NULL, NULL},
        {"\"x\"", 0, NULL, NULL},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *env = cJSON_Parse(cases[i].text);
        const char *cid;
        const cJSON *msg;
        int rc = envelope_split(env, &cid, &msg);
        if ((rc == 0) != cases[i].ok ||
            (cases[i].ok && ((cases[i].cid == NULL) != (cid == NULL) ||
                             (cid && strcmp(cid, cases[i].cid) != 0) ||
                             strcmp(msg->string, cases[i].name) != 0))) {
            printf("     envelope_split(%s) wrong\n", cases[i].text);
            ok = 0;
        }
        cJSON_Delete(env);
    }
    CHECK_AS(ok, "envelope_split: one message object, an optional string cid");
}

static void test_idmap(void)
{
    enum { N = 3000 };
    static char keys[N][37];
    static int present[N];
    tv_rt_idmap_t m = {0};
    int ok = 1;

    for (int i = 0; i < N; i++)
        tv_uuid_v4(keys[i]);
    /* three rounds of random puts and deletes, checked against a plain array */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N * 2; i++) {
            int k = (int)randombytes_uniform(N);
            if (randombytes_uniform(3)) {
                ok = ok && tv_rt_idmap_put(&m, keys[k], keys[k]) == TV_OK;
                present[k] = 1;
            } else {
                ok = ok && tv_rt_idmap_del(&m, keys[k]) == (present[k] ? keys[k] : NULL);
                present[k] = 0;
            }
        }
        size_t n = 0, walked = 0, pos = 0;
        for (int i = 0; i < N; i++) {
            n += (size_t)present[i];
            ok = ok && tv_rt_idmap_get(&m, keys[i]) == (present[i] ? keys[i] : NULL);
        }
        while (tv_rt_idmap_next(&m, &pos))
            walked++;
        ok = ok && m.n == n && walked == n && m.n * 2 <= m.cap;
    }
    char copy[37];
    memcpy(copy, keys[0], sizeof copy);
    ok = ok && tv_rt_idmap_put(&m, keys[0], "v") == TV_OK && tv_rt_idmap_get(&m, copy) != NULL;
    CHECK_AS(ok, "idmap: random puts and deletes agree with a plain array; lookups by equal text");
    tv_rt_idmap_free(&m);
    CHECK_AS(m.n == 0 && tv_rt_idmap_get(&m, keys[0]) == NULL && tv_rt_idmap_del(&m, keys[0]) == NULL,
          "idmap: empty after free");
}

int main(void)
{
    const size_t max = 4096;
    tv_rt_opts_t o = {.threads = 1, .max_message = max, .header_limit = 8192, .auth = fake_auth};
    struct lws_context_creation_info info;
    tv_rt_t *rt;
    acceptor_t a;

    setvbuf(stdout, NULL, _IOLBF, 0);
    tv_log_set_level(TV_LOG_WARN);
    CHECK_AS(tv_rt_start(&o, &rt) == TV_OK, "tv_rt_start with one thread");
    CHECK_AS(rt && register_test_handlers(rt) == 0, "handlers and a listener register before any socket");
    CHECK_AS(rt && tv_rt_register(rt, "echo", h_echo, NULL) == TV_ECONFLICT &&
              tv_rt_register(rt, "ping", h_echo, NULL) == TV_ECONFLICT,
          "a taken name (or the built-in ping) -> TV_ECONFLICT");
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    info.options = LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    cctx = lws_create_context(&info);
    if (!rt || !cctx || acceptor_start(&a, rt) != 0) {
        printf("setup failed\n");
        return 1;
    }
    server_port = a.port;

    test_ping(rt);
    test_bearer(rt);
    test_refusals();
    test_bad_input(rt, max);
    test_push(rt);
    test_protobuf(rt);
    test_queue_bound();
    test_dispatch(rt);
    test_registry(rt);
    CHECK_AS(wait_count(rt, 0), "no session left open");
    acceptor_stop(&a);
    tv_rt_stop(rt);

    test_threads();
    test_server_ping();
    test_codec();
    test_idmap();
    lws_context_destroy(cctx);
    return check_summary();
}
