/* Nakama's realtime parties: a leader and members in join order, open or closed (join
 * requests the leader accepts or removes), data relayed between members, and the whole party
 * queued in the matchmaker as one ticket. Parties live in this node's memory, as in Nakama (a
 * party is on one node); sessions closing leave their parties. */
#ifndef TV_PARTY_PARTY_H
#define TV_PARTY_PARTY_H

#include <stddef.h>

/* Every limit, checked on the socket thread that received the message. */
#define TV_PARTY_MAX_SIZE 256    /* largest max_size (Nakama's) */
#define TV_PARTY_LABEL_MAX 256   /* bytes of a label */
#define TV_PARTY_PER_SESSION 16  /* parties a session is in or asks to join at once */
#define TV_PARTY_ID_MAX 64       /* bytes of "<uuid>.<node>" with its NUL */

/* ---- the roster: one party's members, leader and join requests (pure, no locks) ---------- */

typedef struct tv_party_member {
    char user_id[37], session_id[37], username[129];
} tv_party_member_t;

typedef struct tv_party {
    char id[TV_PARTY_ID_MAX];
    int open, hidden, max_size;
    char *label;                 /* owned; NULL when none */
    tv_party_member_t *members;  /* owned, in join order (the oldest first) */
    size_t n, cap;
    size_t leader;               /* index in members (n >= 1 while the party lives) */
    tv_party_member_t *requests; /* owned: join requests of a closed party, oldest first */
    size_t nreq, reqcap;
} tv_party_t;

/* A party of one, its leader. Owned by the caller (tv_party_free); NULL on no memory. */
tv_party_t *tv_party_new(const char *id, int open, int hidden, int max_size, const char *label,
                         const tv_party_member_t *leader);
void tv_party_free(tv_party_t *p);
/* Index of session_id in arr[0..n), or -1. */
int tv_party_find(const tv_party_member_t *arr, size_t n, const char *session_id);
int tv_party_is_leader(const tv_party_t *p, const char *session_id);

typedef enum {
    TV_PARTY_JOINED,    /* now a member (an open party) */
    TV_PARTY_REQUESTED, /* now a join request (a closed party) */
    TV_PARTY_UNCHANGED, /* was a member or a request already */
} tv_party_join_t;

/* who asks to join. TV_OK with *out; TV_EBUSY when the party is full (members) or, closed,
 * holds max_size requests already (*why says which); TV_ENOMEM. */
int tv_party_join(tv_party_t *p, const tv_party_member_t *who, tv_party_join_t *out,
                  const char **why);

typedef enum {
    TV_PARTY_LEFT_NONE,    /* neither member nor request */
    TV_PARTY_LEFT_REQUEST, /* a join request withdrawn */
    TV_PARTY_LEFT_MEMBER,  /* a member left (*gone holds it) */
} tv_party_left_t;

/* Takes session_id out of the party. When the leader leaves and members remain, the oldest
 * becomes leader and *new_leader is set to 1. A party left with no member is over (p->n 0). */
tv_party_left_t tv_party_leave(tv_party_t *p, const char *session_id, tv_party_member_t *gone,
                               int *new_leader);

/* The leader (by_session) acts on target (matched by session and user id). Each returns TV_OK
 * or: TV_EPERM when by_session is not the leader; as listed below, with *why Nakama's reason.
 * promote: TV_ENOTFOUND not a member. accept: TV_EBUSY full, TV_ENOTFOUND no such request.
 * remove: TV_EINVAL the leader itself, TV_ENOTFOUND neither member nor request; on TV_OK
 * *was_member says whether a member (else a join request) went. */
int tv_party_promote(tv_party_t *p, const char *by_session, const tv_party_member_t *target,
                     const char **why);
int tv_party_accept(tv_party_t *p, const char *by_session, const tv_party_member_t *target,
                    const char **why);
int tv_party_remove(tv_party_t *p, const char *by_session, const tv_party_member_t *target,
                    int *was_member, const char **why);

/* ---- the service: /ws handlers ----------------------------------------------------------- */

struct tv_rt;
struct tv_mm;
typedef struct tv_party_svc tv_party_svc_t;

typedef struct tv_party_opts {
    const char *node;            /* borrowed: the node name in party ids */
    const char *rating_property; /* borrowed: as the matchmaker's (tickets are built alike) */
} tv_party_opts_t;

/* Registers the party_* messages and a close listener on rt (so: before the first socket).
 * mm (borrowed; may be NULL: party_matchmaker_add then answers error 0) takes the party
 * tickets. *out is owned by the caller. TV_OK, TV_ENOMEM or tv_rt_register's errors. */
int tv_party_svc_new(struct tv_rt *rt, struct tv_mm *mm, const tv_party_opts_t *o,
                 tv_party_svc_t **out);
/* Frees the service and every party: after tv_rt_stop (its close listener runs until then). */
void tv_party_svc_free(tv_party_svc_t *svc);
/* Parties alive now (for tests and metrics). */
size_t tv_party_count(tv_party_svc_t *svc);

#endif
