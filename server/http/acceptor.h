/* The public port's acceptor: one socket for REST and /ws. It peeks at each new connection's
 * request head and hands the socket, unread, to libwebsockets (GET /ws with Upgrade) or to
 * libmicrohttpd (everything else). */
#ifndef TV_HTTP_ACCEPTOR_H
#define TV_HTTP_ACCEPTOR_H

#include <sys/socket.h>

typedef struct tv_acceptor tv_acceptor_t;

/* Receives each classified socket; takes ownership of fd. */
typedef void (*tv_acceptor_fn)(void *ud, int fd, int is_ws, const struct sockaddr *sa,
                               socklen_t salen);

/* Binds address:port (port 0 picks a free one) and starts the acceptor thread. Returns TV_OK,
 * TV_EINVAL for a bad address, TV_EUNAVAIL when the port cannot be bound. */
int tv_acceptor_start(const char *address, int port, tv_acceptor_fn fn, void *ud,
                      tv_acceptor_t **out);
/* The port actually bound. */
int tv_acceptor_port(const tv_acceptor_t *a);
/* Stops the thread, closes the listening socket and every socket not yet handed over. */
void tv_acceptor_stop(tv_acceptor_t *a);

/* Classifies a request head: 1 = WebSocket upgrade on /ws, 0 = HTTP, -1 = need more bytes.
 * Exposed for unit tests. */
int tv_acceptor_classify(const char *head, size_t len, size_t cap);

#endif
