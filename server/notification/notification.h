/* Notifications (Nakama's): sent by modules to a user, pushed at once to the user's open
 * sockets (`notifications {notifications: [...]}`) and, when persistent, stored for
 * GET /v2/notification (oldest first, with a cacheable cursor that yields only newer ones)
 * and DELETE /v2/notification. */
#ifndef TV_NOTIFICATION_H
#define TV_NOTIFICATION_H

#include <stdint.h>

#define TV_NOTIFY_SUBJECT_MAX 255    /* bytes */
#define TV_NOTIFY_CONTENT_MAX 16384  /* bytes of the content's JSON object text */
#define TV_NOTIFY_LIST_MAX 100       /* notifications per page */
#define TV_NOTIFY_DELETE_MAX 100     /* ids per delete */

struct tv_db;
struct tv_rt;
struct tv_http_req;
typedef struct tv_notify tv_notify_t;

typedef struct tv_notify_msg {
    const char *user_id;   /* the recipient, a UUID */
    const char *subject;   /* 1..TV_NOTIFY_SUBJECT_MAX bytes */
    const char *content;   /* a JSON object text; NULL = {} */
    int32_t code;          /* > 0 from modules; <= 0 is Nakama's system range */
    const char *sender_id; /* NULL or "" = the system, else a UUID */
    int persistent;        /* stored for listing, not only pushed */
    int system;            /* the server's own (friend requests...): code may be <= 0 */
} tv_notify_msg_t;

tv_notify_t *tv_notify_new(struct tv_db *db);
/* Where pushes go: set once the realtime layer runs (NULL: stored only). */
void tv_notify_set_rt(tv_notify_t *n, struct tv_rt *rt);
void tv_notify_free(tv_notify_t *n);

/* Validates, stores (when persistent) and pushes m; id_out (may be NULL) gets its id. TV_OK;
 * TV_EINVAL with *why for bad input; TV_ENOTFOUND when a persistent one's user does not
 * exist; database errors. SQL runs on the calling thread. */
int tv_notify_send(tv_notify_t *n, const tv_notify_msg_t *m, char id_out[37], const char **why);

/* REST (session auth), app is the tv_app_t: GET /v2/notification?limit&cacheable_cursor and
 * DELETE /v2/notification?ids=..&ids=.. (the caller's own only). */
void tv_notify_api_list(struct tv_http_req *req, void *app);
void tv_notify_api_delete(struct tv_http_req *req, void *app);

#endif
