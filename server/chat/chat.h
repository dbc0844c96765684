/* Chat (Nakama's realtime channels): rooms by name and direct messages between two users,
 * joined over /ws (channel_join / channel_leave), messages fanned out to every member socket
 * (channel_message_send / _update / _remove), presence events for visible joins and leaves, and
 * the stored history read with GET /v2/channel/{channel_id}. Membership is in memory on this
 * node; with several nodes it will be kept in step through PostgreSQL LISTEN/NOTIFY (every
 * change goes through channel_add / channel_remove in presence.c). Group channels
 * ("3.<group id>..") are for the group's members (states 0-2), checked on a worker at the join
 * and for GET /v2/channel; tv_chat_group_drop takes users out when they leave the group, and
 * the group's membership changes are stored and told in its channel as Nakama's group event
 * messages (tv_chat_group_event_write in the change's transaction, tv_chat_group_event after). */
#ifndef TV_CHAT_H
#define TV_CHAT_H

#include <stddef.h>
#include <stdint.h>

#define TV_CHAT_ROOM_NAME_MAX 64    /* bytes of a room name (at least 1) */
#define TV_CHAT_CONTENT_MAX 4096    /* bytes of a message's content, a JSON object text */
#define TV_CHAT_LIST_MAX 100        /* messages per history page */
#define TV_CHAT_SESSION_CHANNELS 128 /* channels one socket may be in at once */
/* Presence events are coalesced per channel: a visible join or leave waits in its channel
 * until one flush job on the worker pool (or the channel's next message) tells them all. */
#define TV_CHAT_PRESENCE_EVENT_MAX 256    /* presences in one channel_presence_event */
#define TV_CHAT_PRESENCE_PENDING_MAX 1024 /* waiting in one channel; the next is told at once */

struct tv_rt;
struct tv_db;
struct tv_db_conn;
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

/* Nakama's group event codes: the code of a channel_message about a group's membership. */
enum {
    TV_CHAT_GROUP_JOIN = 3,    /* joined an open group */
    TV_CHAT_GROUP_ADD = 4,     /* added (or accepted) by an admin */
    TV_CHAT_GROUP_LEAVE = 5,
    TV_CHAT_GROUP_KICK = 6,
    TV_CHAT_GROUP_PROMOTE = 7,
    TV_CHAT_GROUP_BAN = 8,
    TV_CHAT_GROUP_DEMOTE = 9,
};

/* One group event message: about user_id (its sender), content "{}", persistent. */
typedef struct tv_chat_group_event {
    int code;              /* TV_CHAT_GROUP_* */
    char group_id[37];     /* lower-case UUIDs */
    char user_id[37];
    char username[129];    /* set by tv_chat_group_event_write */
    char message_id[37];   /* set by tv_chat_group_event_write (a UUIDv7) */
    int64_t create_ms;     /* set by tv_chat_group_event_write */
} tv_chat_group_event_t;

/* Stores ev (code, group_id, user_id set) in the group channel's history on conn, inside the
 * caller's transaction, filling in its username, message id and time. TV_OK or the database
 * error. */
int tv_chat_group_event_write(struct tv_db_conn *conn, tv_chat_group_event_t *ev);

/* Tells the members of ev's group channel on this node of a stored event (after the commit),
 * in the channel's order: behind the channel's queued messages when it has any. Any thread;
 * no SQL. */
void tv_chat_group_event(tv_chat_t *c, const tv_chat_group_event_t *ev);

/* ---- the module host table's stream entries (module.h, ABI 1.8; stream.c) ---------------- */

#define TV_CHAT_STREAM_DATA_MAX 3072 /* bytes of a stream_data's data */

struct tv_mod_stream;
struct tv_mod_presence;
/* What server/modules/host.c forwards to; each returns a gRPC code (TV_GRPC_*) and, on
 * failure, a static reason for the log in *why (or NULL). list fills *presences_json (may be
 * NULL; malloc'd) and *count (may be NULL). */
typedef struct tv_chat_stream_ops {
    int (*join)(const struct tv_mod_stream *st, const char *user_id, const char *session_id,
                int hidden, int persistence, int *is_new, const char **why);
    int (*leave)(const struct tv_mod_stream *st, const char *user_id, const char *session_id,
                 const char **why);
    int (*list)(const struct tv_mod_stream *st, int include_hidden, int include_not_hidden,
                char **presences_json, int64_t *count, const char **why);
    int (*send)(const struct tv_mod_stream *st, const char *data, size_t len,
                const struct tv_mod_presence *const *to, size_t nto,
                const struct tv_mod_presence *sender, int reliable, const char **why);
    int (*close)(const struct tv_mod_stream *st, const char **why);
} tv_chat_stream_ops_t;

/* Points the host table's stream entries at c (borrowed until tv_chat_stream_host_uninstall,
 * which must come before tv_chat_free and rt's stop, after the last module call). */
void tv_chat_stream_host_install(tv_chat_t *c);
void tv_chat_stream_host_uninstall(void);
/* Defined in server/modules/host.c: ops (static) or NULL (the entries answer UNAVAILABLE). */
void tv_mod_host_set_stream_ops(const tv_chat_stream_ops_t *ops);

/* REST (session auth), app is the tv_app_t: GET /v2/channel/{channel_id}?limit&forward&cursor,
 * a page of the channel's stored messages (a direct message's only for its two users). */
void tv_chat_api_list(struct tv_http_req *req, void *app);

#endif
