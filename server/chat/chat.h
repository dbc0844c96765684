/* Chat (Nakama's realtime channels): rooms by name and direct messages between two users,
 * joined over /ws (channel_join / channel_leave), messages fanned out to every member socket
 * (channel_message_send / _update / _remove), presence events for visible joins and leaves, and
 * the stored history read with GET /v2/channel/{channel_id}. Membership is in memory on this
 * node; with several nodes it will be kept in step through PostgreSQL LISTEN/NOTIFY (every
 * change goes through channel_add / channel_remove in presence.c). Group channels
 * ("3.<group id>..") are for the group's members (states 0-2), checked on a worker at the join
 * and for GET /v2/channel; tv_chat_group_drop takes users out when they leave the group. */
#ifndef TV_CHAT_H
#define TV_CHAT_H

#include <stddef.h>

#define TV_CHAT_ROOM_NAME_MAX 64    /* bytes of a room name (at least 1) */
#define TV_CHAT_CONTENT_MAX 4096    /* bytes of a message's content, a JSON object text */
#define TV_CHAT_LIST_MAX 100        /* messages per history page */
#define TV_CHAT_SESSION_CHANNELS 128 /* channels one socket may be in at once */

struct tv_rt;
struct tv_db;
struct tv_workers;
struct tv_notify;
struct tv_http_req;
typedef struct tv_chat tv_chat_t;

/* Registers the channel messages and the socket close listener on rt (before any socket, as
 * tv_rt_register requires). SQL (direct-message checks, stored messages) runs on workers;
 * notify (may be NULL) sends Nakama's "wants to chat" notification of a direct message. TV_OK
 * and *out (free with tv_chat_free after rt has stopped and the workers have drained), or
 * TV_ENOMEM / tv_rt_register's errors (then *out may still be set: free it the same way, rt
 * keeps pointers to it). */
int tv_chat_new(struct tv_rt *rt, struct tv_db *db, struct tv_workers *workers,
                struct tv_notify *notify, tv_chat_t **out);
void tv_chat_free(tv_chat_t *c);

/* Sessions in the channel with this id, hidden ones included (tests and figures). */
size_t tv_chat_members(tv_chat_t *c, const char *channel_id);

/* Takes every session of user_id (NULL: of everyone) out of group group_id's channel on this
 * node, telling the members that remain, as a leave does. For a user who left, was kicked or
 * banned, and for a deleted group. Any thread; no SQL. */
void tv_chat_group_drop(tv_chat_t *c, const char *group_id, const char *user_id);

/* REST (session auth), app is the tv_app_t: GET /v2/channel/{channel_id}?limit&forward&cursor,
 * a page of the channel's stored messages (a direct message's only for its two users). */
void tv_chat_api_list(struct tv_http_req *req, void *app);

#endif
