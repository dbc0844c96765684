/* Friends over REST, as Nakama has them: add (an invite, or the accept of theirs), list by
 * state with a cursor, delete, block. One edge per direction in user_edge; users.edge_count
 * counts a user's friends and pending invites. The other user hears invites and accepts as
 * system notifications (codes -2 and -3). */
#ifndef TV_SOCIAL_FRIEND_H
#define TV_SOCIAL_FRIEND_H

#include "http.h"

#define TV_FRIEND_TARGETS_MAX 100   /* ids + usernames per add, delete or block */
#define TV_FRIEND_LIST_MAX 1000     /* friends per page (Nakama's bound) */
#define TV_FRIEND_FOF_DEFAULT 10    /* friends of friends per page: Nakama's default */
#define TV_FRIEND_FOF_MAX 100       /* and its bound */

enum { TV_FRIEND = 0, TV_FRIEND_INVITE_SENT = 1, TV_FRIEND_INVITE_RECEIVED = 2,
       TV_FRIEND_BLOCKED = 3 };

/* app is the tv_app_t; session auth. */
void tv_friend_add(tv_http_req_t *req, void *app);     /* POST /v2/friend?ids=&usernames= */
void tv_friend_list(tv_http_req_t *req, void *app);    /* GET /v2/friend?limit&state&cursor */
void tv_friend_delete(tv_http_req_t *req, void *app);  /* DELETE /v2/friend?ids=&usernames= */
void tv_friend_block(tv_http_req_t *req, void *app);   /* POST /v2/friend/block?ids=&usernames= */

/* GET /v2/friend/friends?limit=&cursor= (Nakama's ListFriendsOfFriends): the friends (state 0)
 * of the caller's friends, oneself left out, as {friends_of_friends: [{referrer, user}],
 * cursor}, ordered by referrer then user; limit 1-100, default 10. */
void tv_friend_list_fof(tv_http_req_t *req, void *app);

#endif
