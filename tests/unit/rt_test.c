/* Tests for server/rt: the test plays the public port's acceptor (a loopback listener whose
 * sockets go to tv_rt_adopt) and talks to the sessions with libwebsockets' own client, or with
 * a raw socket where only an HTTP status line comes back. Includes rt.c to reach its statics. */
#include "rt/rt.c"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

static int passed, failed;

#define CHECK(cond, name)                                                                     \
    do {                                                                                      \
        if (cond) {                                                                           \
            passed++;                                                                         \
            printf("ok   %s\n", name);                                                        \
        } else {                                                                              \
            failed++;                                                                         \
            printf("FAIL %s (line %d)\n", name, __LINE__);                                    \
        }                                                                                     \
    } while (0)

static const char *ws_key_headers = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                    "Sec-WebSocket-Version: 13\r\n";

/* ---- the fake auth ---------------------------------------------------------------------- */

static int fake_auth(void *ud, const char *token, tv_rt_identity_t *out)
{
    (void)ud;
    if (strcmp(token, "good") != 0)
        return -1;
    snprintf(out->user_id, sizeof out->user_id, "00000000-0000-4000-8000-000000000001");
    snprintf(out->username, sizeof out->username, "alice");
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
    if (c->nmsgs < CLIENT_MSGS)
        c->msgs[c->nmsgs++] = c->rx;
    else
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
    CHECK(ok && strcmp(c.msgs[0], "{\"cid\":\"1\",\"pong\":{}}") == 0,
          "valid token upgrades; ping -> pong with cid echoed");
    CHECK(wait_count(rt, 1), "session_count is 1 while the socket is open");

    /* the session took the identity from auth and got a v4 session id */
    pthread_mutex_lock(&rt->shards[0].lock);
    rt_session_t *s = rt->shards[0].sessions;
    int id_ok = s && strcmp(s->who.username, "alice") == 0 && tv_uuid_valid(s->who.session_id) &&
                s->who.session_id[14] == '4';
    pthread_mutex_unlock(&rt->shards[0].lock);
    CHECK(id_ok, "session carries the auth identity and a UUIDv4 session id");

    client_forget(&c);
    client_text(&c, "{\"ping\":{}}");
    CHECK(pump(has_msg, &c, 3000) && strcmp(c.msgs[0], "{\"pong\":{}}") == 0,
          "ping without cid -> pong without cid");

    /* a ping split over three frames is reassembled */
    client_forget(&c);
    client_send(&c, "{\"cid\":\"7\",", 11, LWS_WRITE_TEXT | LWS_WRITE_NO_FIN);
    client_send(&c, "\"ping\"", 6, LWS_WRITE_CONTINUATION | LWS_WRITE_NO_FIN);
    client_send(&c, ":{}}", 4, LWS_WRITE_CONTINUATION);
    CHECK(pump(has_msg, &c, 3000) && strcmp(c.msgs[0], "{\"cid\":\"7\",\"pong\":{}}") == 0,
          "fragmented message is reassembled");
    client_close(&c);
    CHECK(wait_count(rt, 0), "session_count back to 0 after the client closes");
}

static void test_bearer(tv_rt_t *rt)
{
    client_t c;
    int ok = exchange(&c, "/ws?format=json", "Bearer good", "{\"cid\":\"5\",\"ping\":{}}") == 0;
    CHECK(ok && strcmp(c.msgs[0], "{\"cid\":\"5\",\"pong\":{}}") == 0,
          "Authorization: Bearer token upgrades");
    client_close(&c);

    ok = exchange(&c, "/ws?token=go%6Fd", NULL, "{\"cid\":\"6\",\"ping\":{}}") == 0;
    CHECK(ok, "?token= is URL-decoded");
    client_close(&c);
    wait_count(rt, 0);
}

static void test_refusals(void)
{
    raw_reply_t r;

    raw_get(server_port, "/ws?lang=en", NULL, &r);
    CHECK(r.status == 401 && strstr(r.text, "\r\n\r\nMissing or invalid token\n") && r.closed,
          "missing token -> HTTP 401 \"Missing or invalid token\", then hang up");
    raw_get(server_port, "/ws?token=bad", NULL, &r);
    CHECK(r.status == 401, "bad token -> HTTP 401");
    raw_get(server_port, "/ws", "Authorization: Bearer bad\r\n", &r);
    CHECK(r.status == 401, "bad Bearer token -> HTTP 401");
    raw_get(server_port, "/ws?token=good&format=xml", NULL, &r);
    CHECK(r.status == 400, "format=xml -> HTTP 400");
    raw_get(server_port, "/ws?token=good&format=protobuf", NULL, &r);
    CHECK(r.status == 400, "format=protobuf (not yet supported) -> HTTP 400");
    raw_get(server_port, "/wsx?token=good", NULL, &r);
    CHECK(r.status == 404, "upgrade on another path -> HTTP 404");

    raw_request(server_port, "GET /ws?token=good HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    CHECK(r.status == 400 && r.closed, "plain GET /ws without Upgrade -> HTTP 400");

    /* the head limit is raised above lws' 4 KiB default */
    char pad[6100];
    memset(pad, 'a', sizeof pad);
    memcpy(pad, "X-Pad: ", 7);
    memcpy(pad + sizeof pad - 3, "\r\n", 3);
    raw_get(server_port, "/ws?token=good", pad, &r);
    CHECK(r.status == 101, "a 6 KiB request head still upgrades");
}

/* Sends text on a fresh session; checks the single reply and the close status that follows. */
static void expect_error_close(const char *text, const char *want, int want_code, const char *name)
{
    client_t c;
    int ok = exchange(&c, "/ws?token=good", NULL, text) == 0 && strcmp(c.msgs[0], want) == 0;
    ok = ok && pump(is_done, &c, 3000) && c.close_code == want_code;
    if (!ok)
        printf("     got %s, close %d\n", c.nmsgs ? c.msgs[0] : "(nothing)", c.close_code);
    CHECK(ok, name);
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
    CHECK(ok, name);
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
    CHECK(wait_count(rt, 0), "every refused session is gone from session_count");
}

/* rt_send is the push path for other threads: look up by session id, queue, wake the thread. */
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
    int rc = rt_send(rt, sid, push, strlen(push));
    CHECK(rc == TV_OK && pump(has_msg, &c, 3000) && strcmp(c.msgs[0], push) == 0,
          "rt_send from another thread reaches the client");
    CHECK(rt_send(rt, "00000000-0000-4000-8000-000000000000", push, 3) == TV_ENOTFOUND,
          "rt_send to an unknown session -> TV_ENOTFOUND");
    client_close(&c);
    wait_count(rt, 0);
}

static void test_queue_bound(void)
{
    rt_session_t s;
    int ok = 1;

    memset(&s, 0, sizeof s);
    for (int i = 0; i < RT_QUEUE_MAX; i++)
        ok = ok && queue_push_locked(&s, "{}", 2) == TV_OK;
    CHECK(ok && queue_push_locked(&s, "{}", 2) == TV_EBUSY && s.overflow,
          "the 65th queued message overflows and marks the session to close");
    queue_clear_locked(&s);
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
        CHECK(0, "threads=2 starts");
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
    CHECK(ok, "threads=2: 8 clients each get their own pong");
    CHECK(tv_rt_session_count(rt) == N, "threads=2: session_count is 8");
    int per[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        pthread_mutex_lock(&rt->shards[i].lock);
        for (rt_session_t *s = rt->shards[i].sessions; s; s = s->next)
            per[i]++;
        pthread_mutex_unlock(&rt->shards[i].lock);
    }
    CHECK(per[0] == N / 2 && per[1] == N / 2, "threads=2: sessions are spread over both threads");

    for (int i = 0; i < N / 2; i++)
        client_close(&c[i]);
    CHECK(wait_count(rt, N / 2), "threads=2: session_count follows closes");

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
    CHECK(pump(all_done, &m, 3000), "threads=2: tv_rt_stop closes the sessions still open");
    for (int i = 0; i < N; i++)
        client_free(&c[i]);
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
    CHECK(tv_rt_start(&o, &rt) == TV_OK, "tv_rt_start with one thread");
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
    test_queue_bound();
    CHECK(wait_count(rt, 0), "no session left open");
    acceptor_stop(&a);
    tv_rt_stop(rt);

    test_threads();
    lws_context_destroy(cctx);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
