/* The session -> matches index (see joined.h). */
#include "joined.h"
#include "error.h"
#include "rt/idmap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STRIPES 64

typedef struct stripe {
    pthread_mutex_t lock;
    tv_rt_idmap_t map; /* session id -> tv_joined_list_t */
} stripe_t;

struct tv_joined {
    stripe_t stripes[STRIPES];
};

static stripe_t *stripe_of(tv_joined_t *j, const char *sid)
{
    unsigned h = 2166136261u;
    for (; *sid; sid++)
        h = (h ^ (unsigned char)*sid) * 16777619u;
    return &j->stripes[h % STRIPES];
}

tv_joined_t *tv_joined_new(void)
{
    tv_joined_t *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&j->stripes[i].lock, NULL);
    return j;
}

void tv_joined_list_free(tv_joined_list_t *l)
{
    if (!l)
        return;
    free(l->ids);
    free(l);
}

void tv_joined_free(tv_joined_t *j)
{
    if (!j)
        return;
    for (int i = 0; i < STRIPES; i++) {
        size_t pos = 0;
        void *v;
        while ((v = tv_rt_idmap_next(&j->stripes[i].map, &pos)))
            tv_joined_list_free(v);
        tv_rt_idmap_free(&j->stripes[i].map);
        pthread_mutex_destroy(&j->stripes[i].lock);
    }
    free(j);
}

/* The session's list, made when absent (mu held). NULL when out of memory. */
static tv_joined_list_t *list_get(stripe_t *st, const char *sid)
{
    tv_joined_list_t *l = tv_rt_idmap_get(&st->map, sid);
    if (l)
        return l;
    if (!(l = calloc(1, sizeof *l)))
        return NULL;
    strncpy(l->session_id, sid, sizeof l->session_id - 1);
    if (tv_rt_idmap_put(&st->map, l->session_id, l) != TV_OK) {
        free(l);
        return NULL;
    }
    return l;
}

int tv_joined_add(tv_joined_t *j, const char *sid, const char *id)
{
    size_t len = strlen(id);
    if (len >= TV_JOINED_ID_MAX || strlen(sid) >= sizeof ((tv_joined_list_t *)0)->session_id)
        return TV_EINVAL;
    stripe_t *st = stripe_of(j, sid);
    int rc = 1;
    pthread_mutex_lock(&st->lock);
    tv_joined_list_t *l = list_get(st, sid);
    if (!l) {
        rc = TV_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->ids[i], id) == 0) {
            rc = 0;
            goto done;
        }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        char(*ids)[TV_JOINED_ID_MAX] = realloc(l->ids, cap * sizeof *ids);
        if (!ids) {
            rc = TV_ENOMEM; /* l may stay empty in the map: take or remove frees it */
            goto done;
        }
        l->ids = ids;
        l->cap = cap;
    }
    memcpy(l->ids[l->n++], id, len + 1);
done:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

void tv_joined_remove(tv_joined_t *j, const char *sid, const char *id)
{
    stripe_t *st = stripe_of(j, sid);
    pthread_mutex_lock(&st->lock);
    tv_joined_list_t *l = tv_rt_idmap_get(&st->map, sid);
    for (size_t i = 0; l && i < l->n; i++)
        if (strcmp(l->ids[i], id) == 0) {
            memcpy(l->ids[i], l->ids[--l->n], TV_JOINED_ID_MAX);
            break;
        }
    if (l && l->n == 0) {
        tv_rt_idmap_del(&st->map, sid);
        tv_joined_list_free(l);
    }
    pthread_mutex_unlock(&st->lock);
}

tv_joined_list_t *tv_joined_take(tv_joined_t *j, const char *sid)
{
    stripe_t *st = stripe_of(j, sid);
    pthread_mutex_lock(&st->lock);
    tv_joined_list_t *l = tv_rt_idmap_del(&st->map, sid);
    pthread_mutex_unlock(&st->lock);
    return l;
}

size_t tv_joined_count(tv_joined_t *j, const char *sid)
{
    stripe_t *st = stripe_of(j, sid);
    pthread_mutex_lock(&st->lock);
    tv_joined_list_t *l = tv_rt_idmap_get(&st->map, sid);
    size_t n = l ? l->n : 0;
    pthread_mutex_unlock(&st->lock);
    return n;
}
