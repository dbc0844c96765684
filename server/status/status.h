/* Status presences and follows (Nakama's status stream): a socket opened with ?status=true, or
 * one that sends status_update, is visible to the sessions that follow its user; they hear
 * status_presence_event joins and leaves as it appears, changes status and goes. State is in
 * memory on this node; with several nodes it will be kept in step through PostgreSQL
 * LISTEN/NOTIFY (every change goes through track / untrack in status.c). */
#ifndef TV_STATUS_H
#define TV_STATUS_H

#include <stddef.h>

#define TV_STATUS_TEXT_MAX 2048  /* bytes of one status text */
#define TV_STATUS_FOLLOW_MAX 1000 /* users one session follows, and ids/usernames per request */

struct tv_rt;
struct tv_db;
struct tv_workers;
typedef struct tv_status tv_status_t;

/* Registers status_follow, status_unfollow and status_update and the open/close listener on rt
 * (before any socket, as tv_rt_register requires). Follows resolve user ids and usernames with
 * SQL on workers. TV_OK and *out (free with tv_status_free after rt has stopped and workers
 * have drained), or TV_ENOMEM / tv_rt_register's errors (then *out may still be set: free it
 * the same way, rt keeps pointers to it). */
int tv_status_new(struct tv_rt *rt, struct tv_db *db, struct tv_workers *workers,
                  tv_status_t **out);
void tv_status_free(tv_status_t *st);

/* Sessions following user_id (tests and figures). */
size_t tv_status_followers(tv_status_t *st, const char *user_id);

#endif
