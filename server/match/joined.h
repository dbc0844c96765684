/* The session -> matches index: which matches each socket is in (or has asked to join), so a
 * closed socket leaves exactly those instead of every match being searched. Thread-safe (lock
 * stripes by session id); shared by relayed and authoritative matches, each with its own. */
#ifndef TV_MATCH_JOINED_H
#define TV_MATCH_JOINED_H

#include <stddef.h>

#define TV_JOINED_ID_MAX 64 /* longest match id noted, NUL included */

typedef struct tv_joined tv_joined_t;

/* The matches of one closed session, taken out of the index: ids[0..n). Free with
 * tv_joined_list_free. */
typedef struct tv_joined_list {
    char session_id[37];
    char (*ids)[TV_JOINED_ID_MAX];
    size_t n, cap;
} tv_joined_list_t;

tv_joined_t *tv_joined_new(void);
void tv_joined_free(tv_joined_t *j);

/* Notes that session sid is in match id. 1 when added, 0 when already noted, TV_EINVAL for an
 * id too long, TV_ENOMEM. */
int tv_joined_add(tv_joined_t *j, const char *sid, const char *id);
/* Forgets that session sid is in match id (nothing when it was not noted). */
void tv_joined_remove(tv_joined_t *j, const char *sid, const char *id);
/* Removes and returns the session's list (the caller frees it), or NULL. */
tv_joined_list_t *tv_joined_take(tv_joined_t *j, const char *sid);
void tv_joined_list_free(tv_joined_list_t *l);
/* How many matches session sid is noted in (tests and figures). */
size_t tv_joined_count(tv_joined_t *j, const char *sid);

#endif
