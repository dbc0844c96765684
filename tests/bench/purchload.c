/* purchload, the purchase load generator of tests/bench/purchase.sh: one keep-alive HTTP/1.1
 * connection per buyer (a session token each, from a file), each sending POST
 * /v2/shop/purchase with its own unique idempotency keys back to back on one epoll thread;
 * prints purchases/s, latency percentiles, non-200 answers and its own CPU. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX 2048
#define RESP_MAX 16384

typedef struct {
    int fd;
    size_t index;          /* the buyer: keys are unique per buyer */
    char *token;           /* owned */
    uint64_t seq;          /* keys sent on this connection */
    char req[REQ_MAX];
    size_t req_len, req_off;
    char resp[RESP_MAX];
    size_t resp_len;
    int64_t sent_us;       /* 0 = idle */
} conn_t;

static struct {
    const char *host, *item, *prefix;
    int port;
    double duration;
    uint64_t ok, non200, errors, reconnects;
    uint32_t *lat;         /* microseconds of every answered request */
    size_t nlat, caplat;
    int64_t deadline_us;
} g = {"127.0.0.1", "bench-item", "k", 7350, 10, 0, 0, 0, 0, NULL, 0, 0, 0};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what)
{
    fprintf(stderr, "purchload: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int conn_open(int ep, conn_t *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port)};
    if (inet_pton(AF_INET, g.host, &sa.sin_addr) != 1) {
        fprintf(stderr, "purchload: -h wants an IPv4 address\n");
        exit(2);
    }
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
        die("connect");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        die("epoll_ctl");
    return 0;
}

/* The next purchase on c, written as far as the socket takes it. */
static void conn_send(int ep, conn_t *c)
{
    char body[256];
    int n = snprintf(body, sizeof body, "{\"item_id\":\"%s\",\"idempotency_key\":\"%s-%zu-%llu\"}",
                     g.item, g.prefix, c->index, (unsigned long long)c->seq++);
    c->req_len = (size_t)snprintf(c->req, sizeof c->req,
                                  "POST /v2/shop/purchase HTTP/1.1\r\nHost: %s:%d\r\n"
                                  "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                                  "Content-Length: %d\r\n\r\n%s",
                                  g.host, g.port, c->token, n, body);
    c->req_off = 0;
    c->resp_len = 0;
    c->sent_us = now_us();
    while (c->req_off < c->req_len) {
        ssize_t w = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
        if (w < 0 && (errno == EAGAIN || errno == ENOTCONN))
            break;
        if (w < 0)
            return; /* the read side sees the error */
        c->req_off += (size_t)w;
    }
    struct epoll_event ev = {.events = EPOLLIN | (c->req_off < c->req_len ? EPOLLOUT : 0),
                             .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void record(uint32_t us)
{
    if (g.nlat == g.caplat) {
        g.caplat = g.caplat ? 2 * g.caplat : 65536;
        g.lat = realloc(g.lat, g.caplat * sizeof *g.lat);
        if (!g.lat)
            die("realloc");
    }
    g.lat[g.nlat++] = us;
}

/* A whole answer in c->resp: 1 with *status set, 0 not yet, -1 malformed. */
static int parse(conn_t *c, int *status)
{
    c->resp[c->resp_len] = 0;
    char *end = strstr(c->resp, "\r\n\r\n");
    if (!end)
        return c->resp_len >= RESP_MAX - 1 ? -1 : 0;
    if (sscanf(c->resp, "HTTP/1.%*d %d", status) != 1)
        return -1;
    char *cl = strcasestr(c->resp, "\r\ncontent-length:");
    size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
    size_t total = (size_t)(end + 4 - c->resp) + body;
    if (total >= RESP_MAX)
        return -1;
    return c->resp_len >= total ? 1 : 0;
}

static void conn_reset(int ep, conn_t *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    g.errors++;
    g.reconnects++;
    conn_open(ep, c);
    c->sent_us = 0;
    if (now_us() < g.deadline_us)
        conn_send(ep, c);
}

static void conn_event(int ep, conn_t *c, uint32_t events)
{
    if (events & EPOLLOUT && c->req_off < c->req_len) {
        ssize_t w = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
        if (w > 0)
            c->req_off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != ENOTCONN) {
            conn_reset(ep, c);
            return;
        }
        if (c->req_off == c->req_len) {
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
    }
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        return;
    for (;;) {
        ssize_t r = read(c->fd, c->resp + c->resp_len, RESP_MAX - 1 - c->resp_len);
        if (r < 0 && errno == EAGAIN)
            return;
        if (r <= 0) {
            conn_reset(ep, c);
            return;
        }
        c->resp_len += (size_t)r;
        int status, p = parse(c, &status);
        if (p < 0) {
            conn_reset(ep, c);
            return;
        }
        if (p == 0)
            continue;
        record((uint32_t)(now_us() - c->sent_us));
        if (status == 200)
            g.ok++;
        else if (g.non200++ < 3)
            fprintf(stderr, "purchload: answer %d: %.200s\n", status, strstr(c->resp, "\r\n\r\n") + 4);
        c->sent_us = 0;
        if (now_us() < g.deadline_us)
            conn_send(ep, c);
        return;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double pct(double p)
{
    if (!g.nlat)
        return 0;
    size_t i = (size_t)(p * (double)(g.nlat - 1));
    return g.lat[i] / 1000.0;
}

static void usage(void)
{
    fprintf(stderr, "usage: purchload -f tokens_file [-h 127.0.0.1] [-P port] [-d seconds] "
                    "[-i item_id] [-k key_prefix]\n  one connection per line (a session token) "
                    "of tokens_file; keys are <prefix>-<line>-<n>, unique per run for a fresh "
                    "prefix\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    int o;
    while ((o = getopt(argc, argv, "f:h:P:d:i:k:")) != -1) {
        switch (o) {
        case 'f': file = optarg; break;
        case 'h': g.host = optarg; break;
        case 'P': g.port = atoi(optarg); break;
        case 'd': g.duration = atof(optarg); break;
        case 'i': g.item = optarg; break;
        case 'k': g.prefix = optarg; break;
        default: usage();
        }
    }
    if (!file || g.port <= 0 || g.duration <= 0)
        usage();
    FILE *f = fopen(file, "r");
    if (!f)
        die(file);
    conn_t *conns = NULL;
    size_t n = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!*line)
            continue;
        conns = realloc(conns, (n + 1) * sizeof *conns);
        if (!conns)
            die("realloc");
        memset(&conns[n], 0, sizeof conns[n]);
        conns[n].index = n;
        conns[n++].token = strdup(line);
    }
    fclose(f);
    if (!n) {
        fprintf(stderr, "purchload: no tokens in %s\n", file);
        return 2;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    for (size_t i = 0; i < n; i++)
        conn_open(ep, &conns[i]);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    int64_t t0 = now_us();
    g.deadline_us = t0 + (int64_t)(g.duration * 1e6);
    for (size_t i = 0; i < n; i++)
        conn_send(ep, &conns[i]);
    /* until the deadline, then until every answer in flight is in (at most 10 s more) */
    struct epoll_event evs[256];
    for (;;) {
        int64_t now = now_us();
        size_t busy = 0;
        for (size_t i = 0; i < n; i++)
            busy += conns[i].sent_us != 0;
        if (now >= g.deadline_us && (!busy || now >= g.deadline_us + 10000000))
            break;
        int k = epoll_wait(ep, evs, 256, 100);
        if (k < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < k; i++)
            conn_event(ep, evs[i].data.ptr, evs[i].events);
    }
    int64_t t1 = now_us();
    getrusage(RUSAGE_SELF, &ru1);
    size_t unanswered = 0;
    for (size_t i = 0; i < n; i++)
        unanswered += conns[i].sent_us != 0;
    double secs = (double)(t1 - t0) / 1e6;
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
                          ru0.ru_stime.tv_sec) +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
                          ru0.ru_stime.tv_usec) / 1e6;
    qsort(g.lat, g.nlat, sizeof *g.lat, cmp_u32);
    uint64_t answered = g.ok + g.non200;
    printf("RESULT conns=%zu answered=%llu ok=%llu non200=%llu errors=%llu unanswered=%zu "
           "secs=%.2f rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f cpu_pct=%.0f\n",
           n, (unsigned long long)answered, (unsigned long long)g.ok,
           (unsigned long long)g.non200, (unsigned long long)g.errors, unanswered, secs,
           (double)g.ok / secs, pct(0.50), pct(0.99), g.nlat ? g.lat[g.nlat - 1] / 1000.0 : 0,
           100 * cpu / secs);
    for (size_t i = 0; i < n; i++) {
        close(conns[i].fd);
        free(conns[i].token);
    }
    free(conns);
    free(g.lat);
    close(ep);
    return 0;
}
