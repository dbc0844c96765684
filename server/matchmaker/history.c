/* The matchmaker's recent history for the console: a fixed ring of JSON entries (matched groups
 * and expired tickets), written by the matcher thread and read by console requests. A mutex
 * guards it; each side holds it only to move pointers or copy entries out. */
#include "matchmaker.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

int tv_mm_history_init(tv_mm_history_t *h, size_t cap)
{
    memset(h, 0, sizeof *h);
    if (!cap)
        return TV_EINVAL;
    if (!(h->e = calloc(cap, sizeof *h->e)))
        return TV_ENOMEM;
    h->cap = cap;
    if (pthread_mutex_init(&h->mu, NULL)) {
        free(h->e);
        h->e = NULL;
        return TV_ENOMEM;
    }
    return TV_OK;
}

void tv_mm_history_free(tv_mm_history_t *h)
{
    if (!h->e)
        return;
    for (size_t i = 0; i < h->cap; i++)
        cJSON_Delete(h->e[i]);
    free(h->e);
    pthread_mutex_destroy(&h->mu);
    memset(h, 0, sizeof *h);
}

void tv_mm_history_push(tv_mm_history_t *h, cJSON *entry)
{
    if (!entry)
        return;
    cJSON *old;
    pthread_mutex_lock(&h->mu);
    size_t slot = (h->first + h->n) % h->cap;
    if (h->n == h->cap) { /* full: the oldest goes */
        slot = h->first;
        h->first = (h->first + 1) % h->cap;
    } else {
        h->n++;
    }
    old = h->e[slot];
    h->e[slot] = entry;
    h->pushed++;
    pthread_mutex_unlock(&h->mu);
    cJSON_Delete(old); /* outside the lock */
}

cJSON *tv_mm_history_list(tv_mm_history_t *h, size_t limit)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return NULL;
    pthread_mutex_lock(&h->mu);
    size_t n = limit && limit < h->n ? limit : h->n;
    for (size_t k = 0; k < n; k++) {
        const cJSON *e = h->e[(h->first + h->n - 1 - k) % h->cap]; /* newest first */
        cJSON *c = cJSON_Duplicate(e, 1);
        if (!c || !cJSON_AddItemToArray(arr, c)) {
            cJSON_Delete(c);
            cJSON_Delete(arr);
            arr = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return arr;
}

uint64_t tv_mm_history_pushed(tv_mm_history_t *h)
{
    pthread_mutex_lock(&h->mu);
    uint64_t n = h->pushed;
    pthread_mutex_unlock(&h->mu);
    return n;
}
