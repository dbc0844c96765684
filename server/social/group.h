/* Groups over REST, as Nakama has them: create, update, delete, list (name prefix, lang_tag,
 * members, open), join (a request in a closed group), leave, and the admins' add, kick,
 * promote, demote and ban; members of a group and groups of a user in pages. One row per
 * group in user_group and one per (group, user) in group_member (migration 0010). Every change
 * runs in one transaction that first locks the group's row (PostgreSQL; SQLite lets one writer
 * in), so max_count and the last superadmin hold under concurrent calls. Added users hear
 * Nakama's system notification -4, a closed group's admins -5 for a join request. Users who
 * leave, are kicked or banned leave the group's chat channel on this node, and a deleted group
 * empties it. The pure rules (what an operation does to a member) are in group_rules.c. */
#ifndef TV_SOCIAL_GROUP_H
#define TV_SOCIAL_GROUP_H

#include "http.h"

#include <stddef.h>
#include <stdint.h>

#define TV_GROUP_NAME_MAX 128          /* bytes of a name (at least 1) */
#define TV_GROUP_DESCRIPTION_MAX 1024  /* bytes of a description */
#define TV_GROUP_AVATAR_MAX 512        /* bytes of an avatar URL */
#define TV_GROUP_LANG_MAX 18           /* bytes of a lang_tag (the account's bound) */
#define TV_GROUP_MAX_COUNT_DEFAULT 100 /* max_count when absent or 0 (Nakama's default) */
#define TV_GROUP_MAX_COUNT_CAP 10000   /* the largest max_count a client may ask for */
#define TV_GROUP_TARGETS_MAX 100       /* user_ids per add, kick, promote, demote or ban */
#define TV_GROUP_LIST_MAX 100          /* groups or members per page (and the default) */

/* Nakama's group user states. */
enum { TV_GROUP_SUPERADMIN = 0, TV_GROUP_ADMIN = 1, TV_GROUP_MEMBER = 2,
       TV_GROUP_JOIN_REQUEST = 3, TV_GROUP_BANNED = 4 };
#define TV_GROUP_NONE (-1) /* no row: not in the group */

/* ---- the rules (group_rules.c: pure, unit-tested) ------------------------------------------ */

typedef enum { TV_GROUP_OP_ADD, TV_GROUP_OP_KICK, TV_GROUP_OP_PROMOTE, TV_GROUP_OP_DEMOTE,
               TV_GROUP_OP_BAN } tv_group_op_t;

/* 1 when a user in state counts as a member (edge_count, max_count): superadmin, admin,
 * member. */
int tv_group_counts(int state);

/* What op by a caller in state caller does to another user in state target (TV_GROUP_NONE
 * for no row): TV_OK with *to (TV_GROUP_NONE removes the row; *to == target changes
 * nothing), or TV_EPERM when the caller may not (only admins and superadmins act; an admin
 * acts only on members, requests, bans and outsiders, a superadmin on anyone). As in Nakama,
 * an add leaves a banned user banned, and a kick is the only way to lift a ban (the user is
 * then an outsider, free to join again). */
int tv_group_rule(tv_group_op_t op, int caller, int target, int *to);

/* Checks a name filter of GET /v2/group: exact, or a prefix when it ends with a single `%`.
 * TV_OK with *prefix_chars (0: exact match; else the prefix's length in characters) and
 * *prefix_bytes, or TV_EINVAL when it is too long, not UTF-8 or holds another `%`. */
int tv_group_name_filter(const char *name, size_t *prefix_bytes, size_t *prefix_chars);

/* Signed list cursors: payload (at most TV_GROUP_CURSOR_PAYLOAD bytes of text) made good for
 * one listing (scope) only. key is 32 bytes. */
#define TV_GROUP_CURSOR_PAYLOAD 200
#define TV_GROUP_CURSOR_TEXT 320 /* room for an encoded cursor, NUL included */
void tv_group_cursor_key(const char *secret, unsigned char key[32]);
void tv_group_cursor_encode(const unsigned char key[32], const char *scope, const char *payload,
                            char out[TV_GROUP_CURSOR_TEXT]);
/* TV_OK and the payload (NUL-terminated) in out, or TV_EINVAL for a cursor that is
 * malformed, tampered with or made for another listing. */
int tv_group_cursor_decode(const unsigned char key[32], const char *scope, const char *text,
                           char out[TV_GROUP_CURSOR_PAYLOAD + 1]);

/* ---- REST handlers (group.c); app is the tv_app_t, session auth ---------------------------- */

void tv_group_create(tv_http_req_t *req, void *app);  /* POST /v2/group */
void tv_group_update(tv_http_req_t *req, void *app);  /* PUT /v2/group/{id} */
void tv_group_delete(tv_http_req_t *req, void *app);  /* DELETE /v2/group/{id} */
void tv_group_list(tv_http_req_t *req, void *app);    /* GET /v2/group */
void tv_group_join(tv_http_req_t *req, void *app);    /* POST /v2/group/{id}/join */
void tv_group_leave(tv_http_req_t *req, void *app);   /* POST /v2/group/{id}/leave */
void tv_group_add(tv_http_req_t *req, void *app);     /* POST /v2/group/{id}/add?user_ids= */
void tv_group_kick(tv_http_req_t *req, void *app);    /* POST /v2/group/{id}/kick?user_ids= */
void tv_group_promote(tv_http_req_t *req, void *app); /* POST /v2/group/{id}/promote?user_ids= */
void tv_group_demote(tv_http_req_t *req, void *app);  /* POST /v2/group/{id}/demote?user_ids= */
void tv_group_ban(tv_http_req_t *req, void *app);     /* POST /v2/group/{id}/ban?user_ids= */
void tv_group_users(tv_http_req_t *req, void *app);   /* GET /v2/group/{id}/user */
void tv_group_user_groups(tv_http_req_t *req, void *app); /* GET /v2/user/{user_id}/group */

#endif
