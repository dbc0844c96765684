/* The realtime layer: WebSocket sessions on /ws, served by libwebsockets. The public port's
 * acceptor hands each "GET /ws" connection here with its request still unread; the upgrade,
 * the token check and the framing are libwebsockets' work on its own service threads. */
#ifndef TV_RT_RT_H
#define TV_RT_RT_H

#include <stddef.h>

typedef struct tv_rt tv_rt_t;

/* Who a socket belongs to, filled by the auth callback. */
typedef struct tv_rt_identity {
    char user_id[37];
    char username[129];
    char session_id[37]; /* made by the rt layer for each socket */
} tv_rt_identity_t;

/* Checks a session token (from ?token= or an "Authorization: Bearer" header). Returns 0 and
 * fills user_id/username when valid, non-zero otherwise. Called on a service thread: must be
 * fast and must not block (no SQL). */
typedef int (*tv_rt_auth_fn)(void *ud, const char *token, tv_rt_identity_t *out);

typedef struct tv_rt_opts {
    int threads;             /* lws contexts, one service thread each (>= 1) */
    size_t max_message;      /* largest incoming message in bytes; larger closes the socket */
    int header_limit;        /* largest request head in bytes (> 4096) */
    tv_rt_auth_fn auth;
    void *auth_ud;
} tv_rt_opts_t;

/* Starts the service threads. *out is owned by the caller (tv_rt_stop frees it). Returns
 * TV_OK, or TV_EINTERNAL when libwebsockets cannot start. */
int tv_rt_start(const tv_rt_opts_t *opts, tv_rt_t **out);
/* Hands over a connected socket whose HTTP request head is still unread. Takes ownership of
 * fd in every case (closes it when it cannot be adopted). Safe from any thread. */
int tv_rt_adopt(tv_rt_t *rt, int fd);
/* Number of open WebSocket sessions (for tests and metrics). */
int tv_rt_session_count(tv_rt_t *rt);
/* Closes every socket, stops the threads and frees rt. */
void tv_rt_stop(tv_rt_t *rt);

#endif
