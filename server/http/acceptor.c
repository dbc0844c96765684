/* The public port's acceptor: an edge-triggered epoll loop that accepts, peeks (MSG_PEEK, so
 * nothing is consumed) at the request head with a deadline, and hands each socket to the
 * WebSocket or the HTTP side. Slow or silent clients are closed at the deadline. */
#include "acceptor.h"
#include "error.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define PEEK_MAX 8192        /* a head larger than this goes to libmicrohttpd (431) */
#define HEAD_DEADLINE_MS 10000
#define MAX_PENDING 4096

typedef struct pending {
    int fd;
    int64_t deadline;
    struct sockaddr_storage sa;
    socklen_t salen;
    struct pending *prev, *next;
} pending_t;

struct tv_acceptor {
    int lfd, efd, wake;
    int port;
    tv_acceptor_fn fn;
    void *ud;
    pthread_t thread;
    pending_t *head; /* in arrival order, so deadlines are ascending */
    pending_t *tail;
    int npending;
};

static int starts_with_ci(const char *s, size_t len, const char *pfx)
{
    size_t n = strlen(pfx);
    return len >= n && strncasecmp(s, pfx, n) == 0;
}

/* Looks for an "Upgrade:" header whose value names websocket. */
static int has_ws_upgrade(const char *head, size_t len)
{
    for (const char *p = head; p && p < head + len;) {
        const char *nl = memchr(p, '\n', (size_t)(head + len - p));
        if (!nl)
            break;
        p = nl + 1;
        size_t rest = (size_t)(head + len - p);
        if (!starts_with_ci(p, rest, "upgrade:"))
            continue;
        const char *eol = memchr(p, '\n', rest);
        for (const char *q = p + 8; eol && q + 9 <= eol; q++)
            if (strncasecmp(q, "websocket", 9) == 0)
                return 1;
    }
    return 0;
}

int tv_acceptor_classify(const char *head, size_t len, size_t cap)
{
    const char *eol = memchr(head, '\n', len);
    if (!eol)
        return len >= cap ? 0 : -1;
    if (!(len >= 8 && memcmp(head, "GET /ws", 7) == 0 && (head[7] == ' ' || head[7] == '?')))
        return 0;
    int complete = 0;
    for (size_t i = 3; i < len && !complete; i++)
        complete = memcmp(head + i - 3, "\r\n\r\n", 4) == 0;
    if (!complete)
        return len >= cap ? 0 : -1;
    return has_ws_upgrade(head, len);
}

static void unlink_pending(tv_acceptor_t *a, pending_t *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        a->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        a->tail = p->prev;
    a->npending--;
}

static void drop(tv_acceptor_t *a, pending_t *p, int close_fd)
{
    epoll_ctl(a->efd, EPOLL_CTL_DEL, p->fd, NULL);
    unlink_pending(a, p);
    if (close_fd)
        close(p->fd);
    free(p);
}

static void hand_over(tv_acceptor_t *a, pending_t *p, int is_ws)
{
    int fd = p->fd;
    struct sockaddr_storage sa = p->sa;
    socklen_t salen = p->salen;
    drop(a, p, 0);
    a->fn(a->ud, fd, is_ws, (struct sockaddr *)&sa, salen);
}

static void on_readable(tv_acceptor_t *a, pending_t *p)
{
    char buf[PEEK_MAX];
    ssize_t n = recv(p->fd, buf, sizeof buf, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop(a, p, 1);
        return;
    }
    int kind = tv_acceptor_classify(buf, (size_t)n, sizeof buf);
    if (kind >= 0)
        hand_over(a, p, kind);
}

static void accept_all(tv_acceptor_t *a)
{
    for (;;) {
        pending_t *p = calloc(1, sizeof *p);
        if (!p)
            return;
        p->salen = sizeof p->sa;
        p->fd = accept4(a->lfd, (struct sockaddr *)&p->sa, &p->salen,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (p->fd < 0) {
            if (errno != EAGAIN && errno != EINTR)
                tv_log_warn("http", "accept: %s", strerror(errno));
            free(p);
            return;
        }
        if (a->npending >= MAX_PENDING) {
            close(p->fd);
            free(p);
            continue;
        }
        int one = 1;
        setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        p->deadline = tv_mono_ms() + HEAD_DEADLINE_MS;
        p->prev = a->tail;
        if (a->tail)
            a->tail->next = p;
        else
            a->head = p;
        a->tail = p;
        a->npending++;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.ptr = p};
        if (epoll_ctl(a->efd, EPOLL_CTL_ADD, p->fd, &ev) != 0)
            drop(a, p, 1);
        else
            on_readable(a, p); /* data may have arrived with the connection */
    }
}

static int expire(tv_acceptor_t *a)
{
    int64_t now = tv_mono_ms();
    while (a->head && a->head->deadline <= now)
        drop(a, a->head, 1);
    if (!a->head)
        return -1;
    return (int)(a->head->deadline - now);
}

static void *run(void *arg)
{
    tv_acceptor_t *a = arg;
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(a->efd, evs, 64, expire(a));
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &a->wake)
                return NULL;
            if (evs[i].data.ptr == &a->lfd)
                accept_all(a);
            else
                on_readable(a, evs[i].data.ptr);
        }
    }
}

static int listen_on(const char *address, int port, int *out_port)
{
    struct sockaddr_storage ss;
    unsigned plen;
    if (tv_sockaddr_parse(address, port, &ss, &plen) != TV_OK)
        return TV_EINVAL;
    socklen_t len = plen;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return TV_EUNAVAIL;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        close(fd);
        return TV_EUNAVAIL;
    }
    *out_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                              : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

int tv_acceptor_start(const char *address, int port, tv_acceptor_fn fn, void *ud,
                      tv_acceptor_t **out)
{
    tv_acceptor_t *a = calloc(1, sizeof *a);
    if (!a)
        return TV_ENOMEM;
    a->fn = fn;
    a->ud = ud;
    a->efd = a->wake = -1;
    a->lfd = listen_on(address, port, &a->port);
    int rc = a->lfd < 0 ? a->lfd : TV_OK;
    if (rc == TV_OK) {
        a->efd = epoll_create1(EPOLL_CLOEXEC);
        a->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        struct epoll_event le = {.events = EPOLLIN | EPOLLET, .data.ptr = &a->lfd};
        struct epoll_event we = {.events = EPOLLIN, .data.ptr = &a->wake};
        if (a->efd < 0 || a->wake < 0 || epoll_ctl(a->efd, EPOLL_CTL_ADD, a->lfd, &le) ||
            epoll_ctl(a->efd, EPOLL_CTL_ADD, a->wake, &we) ||
            pthread_create(&a->thread, NULL, run, a) != 0)
            rc = TV_EUNAVAIL;
    }
    if (rc) {
        if (a->lfd >= 0) close(a->lfd);
        if (a->efd >= 0) close(a->efd);
        if (a->wake >= 0) close(a->wake);
        free(a);
        return rc;
    }
    *out = a;
    return TV_OK;
}

int tv_acceptor_port(const tv_acceptor_t *a)
{
    return a->port;
}

void tv_acceptor_stop(tv_acceptor_t *a)
{
    if (!a)
        return;
    uint64_t one = 1;
    if (write(a->wake, &one, sizeof one) != sizeof one)
        tv_log_warn("http", "acceptor wake-up failed");
    pthread_join(a->thread, NULL);
    while (a->head)
        drop(a, a->head, 1);
    close(a->lfd);
    close(a->efd);
    close(a->wake);
    free(a);
}
