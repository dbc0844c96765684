/* What the chat room's files share: channel references and their ids (channel.c), history
 * cursors (channel.c), the in-memory membership index (presence.c) with the per-channel write
 * queue that chat.c drains, and the stored history (history.c). */
#ifndef TV_CHAT_INTERNAL_H
#define TV_CHAT_INTERNAL_H

#include "chat.h"
#include "rt.h"
#include "rt/idmap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* ---- channels (channel.c) ---------------------------------------------------------------- */

/* Nakama's stream modes, the first field of a channel id. */
typedef enum {
    TV_CHAT_ROOM = 2,   /* "2...<room name>" */
    TV_CHAT_GROUP = 3,  /* "3.<group id>..": members of the group only */
    TV_CHAT_DM = 4,     /* "4.<lower user id>.<higher user id>." */
    TV_CHAT_STREAM = 256, /* a module's stream, "<mode 8-255>.<subject>.<subcontext>.<label>":
                             not a mode itself (ref.mode is); never a client's channel */
} tv_chat_kind_t;

/* longest channel id text, NUL included: a stream's is 3 + 1 + 36 + 1 + 36 + 1 + 64 + 1 */
#define TV_CHAT_ID_MAX 144

/* A channel, parsed or built: the canonical id text and its parts. */
typedef struct tv_chat_ref {
    tv_chat_kind_t kind;
    char id[TV_CHAT_ID_MAX];
    char room[TV_CHAT_ROOM_NAME_MAX + 1]; /* rooms; a stream's label */
    char one[37], two[37];                /* DMs: the two users, one < two; groups: one; a
                                             stream's subject and subcontext ("" or UUIDs) */
    int mode;                             /* a stream's mode (the others': their kind) */
} tv_chat_ref_t;

/* The stream mode/subject/subcontext/label (NULL reads as ""): TV_OK, or TV_EINVAL with *why
 * (mode 8-255, subject and subcontext "" or UUIDs, label at most TV_CHAT_ROOM_NAME_MAX bytes
 * of UTF-8 without control characters). */
int tv_chat_ref_stream(int mode, const char *subject, const char *subcontext, const char *label,
                       tv_chat_ref_t *out, const char **why);
/* "stream":{mode, subject, subcontext, label} of a stream ref (empty members left out) into
 * b, without a comma before it. */
void tv_chat_stream_buf(tv_rt_buf_t *b, const tv_chat_ref_t *r);
/* 1 when a channel id names a stream (not a room, group or DM channel). */
int tv_chat_id_is_stream(const char *id);

/* The room named name: TV_OK, or TV_EINVAL with *why (Nakama's BAD_INPUT wording). */
int tv_chat_ref_room(const char *name, tv_chat_ref_t *out, const char **why);
/* The direct-message channel of users a and b (valid UUIDs, any case, a != b). */
void tv_chat_ref_dm(const char *a, const char *b, tv_chat_ref_t *out);
/* The channel of group gid (a valid UUID, any case). */
void tv_chat_ref_group(const char *gid, tv_chat_ref_t *out);
/* Reads a channel id as a client sends it back. A DM's user ids may come in any case (the id
 * is made canonical); the lower one must come first. TV_OK or TV_EINVAL. */
int tv_chat_ref_parse(const char *id, tv_chat_ref_t *out);
/* Adds room_name, group_id or user_id_one + user_id_two to o, as Nakama's messages carry. */
void tv_chat_ref_json(cJSON *o, const tv_chat_ref_t *r);
/* The same as text members, each preceded by a comma, for hand-built pushes. */
void tv_chat_ref_buf(tv_rt_buf_t *b, const tv_chat_ref_t *r);

/* NULL when content is a JSON object text of at most TV_CHAT_CONTENT_MAX bytes of UTF-8, else
 * the BAD_INPUT message. */
const char *tv_chat_content_check(const char *content);

/* A history cursor: the message it stands at, and the listing it belongs to (Nakama's). */
typedef struct tv_chat_cursor {
    int forward;      /* the direction of the listing that made it */
    int is_next;      /* next page (1) or previous page (0) of that listing */
    int64_t create_ms;
    char id[37];
} tv_chat_cursor_t;

#define TV_CHAT_CURSOR_KEY 32
#define TV_CHAT_CURSOR_TEXT 128 /* room for an encoded cursor, NUL included */

/* The cursor MAC key, derived from the session secret (a cursor MAC never doubles as a token
 * signature). */
void tv_chat_cursor_key(const char *secret, unsigned char key[TV_CHAT_CURSOR_KEY]);
/* Writes c for channel_id (the MAC covers it: a cursor is good for its channel only) as
 * base64url into out. */
void tv_chat_cursor_encode(const unsigned char key[TV_CHAT_CURSOR_KEY], const char *channel_id,
                           const tv_chat_cursor_t *c, char out[TV_CHAT_CURSOR_TEXT]);
/* Reads a cursor back: TV_OK, or TV_EINVAL when it is malformed, tampered with or made for
 * another channel. */
int tv_chat_cursor_decode(const unsigned char key[TV_CHAT_CURSOR_KEY], const char *channel_id,
                          const char *text, tv_chat_cursor_t *c);

/* ---- the membership index (presence.c) ---------------------------------------------------- */

#define TV_CHAT_STRIPES 64

/* A session in a channel. Hidden members hear the channel but are never listed or announced. */
typedef struct chat_member {
    char session_id[37];   /* the by_session key */
    char user_id[37];
    char username[129];
    int persistence;       /* its messages are stored */
    int hidden;
    int inflight;          /* its messages waiting in the channel's write queue */
    int pend_join;         /* its join waits in the channel's pending presences, untold */
    size_t index;          /* its slot in members */
} chat_member_t;

/* A visible join or leave not told yet (presence.c): the presence as it was then. */
typedef struct chat_pres {
    int leave;             /* 1 a leave, 0 a join */
    int persistence;
    char session_id[37], user_id[37], username[129];
} chat_pres_t;

/* CHAT_OP_EVENT: a group event message, stored already by the group's transaction; it waits
 * in the queue only to keep the channel's order, answering nobody. */
typedef enum { CHAT_OP_SEND, CHAT_OP_UPDATE, CHAT_OP_REMOVE, CHAT_OP_EVENT } chat_op_kind_t;

/* A message op waiting in its channel's write queue (chat.c makes, drains and answers them). */
typedef struct chat_op {
    struct chat_op *next;
    chat_op_kind_t kind;
    int store;             /* touches the history: a send of a persistent member, every
                              update and remove (only stored messages can change) */
    int code;              /* an event's TV_CHAT_GROUP_* code */
    char message_id[37];
    char session_id[37], sender_id[37], username[129]; /* an event's session_id is "" */
    int64_t create_ms;     /* a send's time; an update's or remove's is read from the store */
    int64_t update_ms;
    char *content;         /* owned; NULL for a remove */
    tv_rt_later_t *later;  /* the sender's ack; NULL for an event */
    int found;             /* update/remove: the sender's stored message was there */
} chat_op_t;

/* A channel with members on this node, or with writes still queued. */
typedef struct chat_channel {
    tv_chat_ref_t ref;      /* ref.id is the map key */
    struct tv_chat *chat;   /* its owner, for the worker that drains the queue */
    chat_member_t **members;
    size_t n, cap;
    tv_rt_idmap_t by_session;
    chat_op_t *qhead, *qtail; /* the write queue, in arrival order (chat.c) */
    size_t qlen;
    int busy;               /* a worker is draining the queue: the channel must stay */
    /* Presence events, coalesced (presence.c): visible joins and leaves in order, at most one
     * of each per session (a join and a leave of one session cancel), told by one flush. */
    chat_pres_t *pend;
    size_t npend, pend_cap, pend_leaves;
    /* CHAT_PRES_SCHED | CHAT_PRES_WANT | events out * CHAT_PRES_OUT; not 0: the channel must
     * stay (a flush job or an rt callback will come for it) */
    atomic_uint pres_state;
} chat_channel_t;

#define CHAT_PRES_SCHED 1u /* a flush job is queued on the worker pool */
#define CHAT_PRES_WANT 2u  /* entries wait for the events out: the last one written flushes */
#define CHAT_PRES_OUT 4u   /* one presence event queued at some member, not written yet */

typedef struct chat_stripe {
    pthread_mutex_t lock;
    tv_rt_idmap_t map;
} chat_stripe_t;

struct tv_chat {
    tv_rt_t *rt;
    struct tv_db *db;
    struct tv_workers *workers;
    struct tv_notify *notify;
    atomic_int stopping;  /* the worker pool refused a job: shutting down, take no new writes */
    /* Counts tv_chat_group_drop calls: a group join whose membership check raced a drop
     * (a kick committed after the check, dropped before the join landed) sees it move. */
    atomic_uint_fast64_t group_drops;
    /* Lock order: a session stripe, then a channel stripe. */
    chat_stripe_t sessions[TV_CHAT_STRIPES]; /* session id -> the channels it is in */
    chat_stripe_t channels[TV_CHAT_STRIPES]; /* channel id -> chat_channel_t */
};

void tv_chat_index_init(tv_chat_t *c);
/* Frees every channel, member and session entry (queued writes too) and the locks. */
void tv_chat_index_free(tv_chat_t *c, void (*op_free)(chat_op_t *));

chat_stripe_t *tv_chat_channel_stripe(tv_chat_t *c, const char *channel_id);
/* The channel (stripe held), or NULL. */
chat_channel_t *tv_chat_channel_get(chat_stripe_t *st, const char *channel_id);
/* The member of ch for session sid, or NULL. */
chat_member_t *tv_chat_member_get(chat_channel_t *ch, const char *sid);
/* Drops ch when nobody is in it, nothing is queued and no presence flush is due (stripe
 * held). */
void tv_chat_channel_release(chat_stripe_t *st, chat_channel_t *ch);
/* Queues text for every member of ch (stripe held): one copy shared by all. */
void tv_chat_channel_send(tv_chat_t *c, const chat_channel_t *ch, const char *text, size_t len);
/* Tells ch's members of its pending joins and leaves now, in events of at most
 * TV_CHAT_PRESENCE_EVENT_MAX presences (stripe held). Every push of a message into a channel
 * calls it first, so no member hears a message before a presence change that came before it. */
void tv_chat_presence_flush(tv_chat_t *c, chat_channel_t *ch);

/* What a join did. */
typedef struct chat_joined {
    int is_new;            /* the session was not in the channel yet */
    int others_visible;    /* visible sessions of other users were there */
} chat_joined_t;

/* Puts the session of who into channel ref (persistence and hidden as it asked), answers
 * later (consumed in every case) with the `channel` reply and, for a new visible member, has
 * every member told of the join, the joiner included (after its reply; coalesced with other
 * joins and leaves of the channel, see tv_chat_presence_flush). Joining again changes
 * nothing. TV_OK with *out; TV_ENOTFOUND when the session has closed (later is dropped);
 * TV_EBUSY when it is in TV_CHAT_SESSION_CHANNELS channels already, TV_ENOMEM (both answered
 * with an error). */
int tv_chat_join(tv_chat_t *c, const tv_chat_ref_t *ref, const tv_rt_identity_t *who,
                 int persistence, int hidden, tv_rt_later_t *later, chat_joined_t *out);
/* Takes session sid out of channel ref; the remaining members are told of a visible leave
 * (coalesced as joins are).
 * Nothing when it was not there. */
void tv_chat_leave(tv_chat_t *c, const char *sid, const tv_chat_ref_t *ref);
/* Takes session sid out of every channel it is in (its socket closed). */
void tv_chat_leave_all(tv_chat_t *c, const char *sid);

/* ---- streams: the membership index's entries for module streams (presence.c) ------------- */

#define TV_CHAT_SESSION_STREAMS 64 /* streams one socket may be in at once (beside its channels) */

/* Puts open session sid into stream ref (a TV_CHAT_STREAM ref), as a chat join does without a
 * reply: a new visible member has every member told (coalesced). uid NULL or "" accepts the
 * session's user. TV_OK with *is_new; TV_ENOTFOUND no such open session (or another user's);
 * TV_EBUSY the session is in TV_CHAT_SESSION_STREAMS streams; TV_ENOMEM. */
int tv_chat_stream_join(tv_chat_t *c, const tv_chat_ref_t *ref, const char *uid,
                        const char *sid, int persistence, int hidden, int *is_new);
/* Queues text for the members of ref (those of sids[0..nsids) that are members when sids is
 * not NULL), after the stream's waiting presence events. Returns how many were reached. */
int tv_chat_stream_send(tv_chat_t *c, const tv_chat_ref_t *ref, const char *text, size_t len,
                        const char *const *sids, size_t nsids);
/* The members of ref as a JSON array (owned by the caller), hidden ones and/or visible ones;
 * NULL on no memory. *n (may be NULL) counts every member. */
cJSON *tv_chat_stream_list(tv_chat_t *c, const tv_chat_ref_t *ref, int hidden, int visible,
                           size_t *n);
/* Takes every member out of ref without telling anyone (Nakama's StreamClose). */
void tv_chat_stream_close(tv_chat_t *c, const tv_chat_ref_t *ref);

/* ---- the stored history (history.c) ------------------------------------------------------- */

/* Writes the ops of channel ref that touch the history (op->store) in one transaction: a send
 * inserts its message, an update or remove changes the sender's own stored message of this
 * channel, setting op->found and op->create_ms. TV_OK, or the database error that failed
 * them all. Runs SQL on the calling thread. */
/* *member = user uid is in group gid as a superadmin, admin or member (states 0-2), the
 * only users who may join its channel or read its history. Runs SQL on the calling thread. */
int tv_chat_group_member(struct tv_db *db, const char *gid, const char *uid, int *member);

int tv_chat_history_write(struct tv_db *db, const tv_chat_ref_t *ref, chat_op_t **ops,
                          size_t n);

#endif
