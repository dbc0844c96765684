/* A small hash map from id strings (UUID text: session, user and match ids) to pointers, for
 * the session registry and the match registry. Open addressing with linear probing; no locks
 * of its own: every caller guards its maps with its own mutex. */
#ifndef TV_RT_IDMAP_H
#define TV_RT_IDMAP_H

#include <stddef.h>

typedef struct tv_rt_idmap_slot {
    const char *key; /* borrowed: NULL marks a free slot */
    void *value;
    size_t hash;
} tv_rt_idmap_slot_t;

/* Zero-initialised is an empty map. */
typedef struct tv_rt_idmap {
    tv_rt_idmap_slot_t *slots;
    size_t cap, n; /* cap is 0 or a power of two */
} tv_rt_idmap_t;

/* The value stored under key, or NULL. */
void *tv_rt_idmap_get(const tv_rt_idmap_t *m, const char *key);
/* Stores value under key, replacing any previous value. key is borrowed: it must stay valid and
 * unchanged while it is in the map (it usually points into value). TV_OK or TV_ENOMEM. */
int tv_rt_idmap_put(tv_rt_idmap_t *m, const char *key, void *value);
/* Removes key; returns its value, or NULL when it was absent. */
void *tv_rt_idmap_del(tv_rt_idmap_t *m, const char *key);
/* Iterates: starts with *pos = 0 and returns the next value, or NULL at the end. The map must
 * not change during the walk. */
void *tv_rt_idmap_next(const tv_rt_idmap_t *m, size_t *pos);
/* Frees the slots (not the values); the map is empty afterwards. */
void tv_rt_idmap_free(tv_rt_idmap_t *m);

#endif
