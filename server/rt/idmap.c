/* The id map: FNV-1a hashes, linear probing, load kept at or under one half, and deletion by
 * shifting later entries back (no tombstones, so lookups never slow down with churn). */
#include "rt/idmap.h"
#include "error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAP 16

static size_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

/* The slot holding key, or the free slot where it would go. cap must be non-zero. */
static size_t find_slot(const tv_rt_idmap_t *m, const char *key, size_t h)
{
    size_t mask = m->cap - 1, i = h & mask;
    while (m->slots[i].key && (m->slots[i].hash != h || strcmp(m->slots[i].key, key) != 0))
        i = (i + 1) & mask;
    return i;
}

static int grow(tv_rt_idmap_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : MIN_CAP;
    tv_rt_idmap_slot_t *old = m->slots, *slots = calloc(cap, sizeof *slots);
    size_t oldcap = m->cap;

    if (!slots)
        return TV_ENOMEM;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].key)
            m->slots[find_slot(m, old[i].key, old[i].hash)] = old[i];
    free(old);
    return TV_OK;
}

void *tv_rt_idmap_get(const tv_rt_idmap_t *m, const char *key)
{
    if (!m->n)
        return NULL;
    size_t i = find_slot(m, key, hash_key(key));
    return m->slots[i].key ? m->slots[i].value : NULL;
}

int tv_rt_idmap_put(tv_rt_idmap_t *m, const char *key, void *value)
{
    if ((m->n + 1) * 2 > m->cap && grow(m) != TV_OK)
        return TV_ENOMEM;
    size_t h = hash_key(key), i = find_slot(m, key, h);
    if (!m->slots[i].key)
        m->n++;
    m->slots[i] = (tv_rt_idmap_slot_t){key, value, h};
    return TV_OK;
}

void *tv_rt_idmap_del(tv_rt_idmap_t *m, const char *key)
{
    if (!m->n)
        return NULL;
    size_t mask = m->cap - 1, i = find_slot(m, key, hash_key(key));
    if (!m->slots[i].key)
        return NULL;
    void *value = m->slots[i].value;
    /* Backward-shift: move each later entry of the probe run into the hole when its home slot
     * does not lie (cyclically) between the hole and its current slot. */
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = NULL;
    m->n--;
    return value;
}

void *tv_rt_idmap_next(const tv_rt_idmap_t *m, size_t *pos)
{
    for (; *pos < m->cap; (*pos)++)
        if (m->slots[*pos].key)
            return m->slots[(*pos)++].value;
    return NULL;
}

void tv_rt_idmap_free(tv_rt_idmap_t *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}
