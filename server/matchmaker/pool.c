/* The matchmaker's pure part: the pool of waiting tickets and the pass that groups them. No
 * threads, no clock (an interval is one pass), no I/O: the unit tests and the bench drive it
 * directly. */
#include "matchmaker.h"
#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tv_mm_pool_init(tv_mm_pool_t *pool, const tv_mm_params_t *p)
{
    memset(pool, 0, sizeof *pool);
    pool->p = *p;
}

void tv_mm_pool_clear(tv_mm_pool_t *pool)
{
    for (size_t i = 0; i < pool->n; i++)
        tv_mm_ticket_free(pool->t[i]);
    free(pool->t);
    pool->t = NULL;
    pool->n = pool->cap = 0;
}

size_t tv_mm_pool_session_count(const tv_mm_pool_t *pool, const char *session_id)
{
    size_t c = 0;
    for (size_t i = 0; i < pool->n; i++)
        c += strcmp(pool->t[i]->session_id, session_id) == 0;
    return c;
}

int tv_mm_pool_add(tv_mm_pool_t *pool, tv_mm_ticket_t *t)
{
    if (pool->p.max_per_session > 0 &&
        tv_mm_pool_session_count(pool, t->session_id) >= (size_t)pool->p.max_per_session)
        return TV_EBUSY;
    if (pool->n == pool->cap) {
        size_t nc = pool->cap ? 2 * pool->cap : 64;
        tv_mm_ticket_t **nt = realloc(pool->t, nc * sizeof *nt);
        if (!nt)
            return TV_ENOMEM;
        pool->t = nt;
        pool->cap = nc;
    }
    t->seq = ++pool->seq;
    t->intervals = 0;
    pool->t[pool->n++] = t;
    return TV_OK;
}

/* Drops entry i keeping the order of arrival. */
static void drop_at(tv_mm_pool_t *pool, size_t i)
{
    tv_mm_ticket_free(pool->t[i]);
    memmove(pool->t + i, pool->t + i + 1, (pool->n - i - 1) * sizeof *pool->t);
    pool->n--;
}

int tv_mm_pool_remove(tv_mm_pool_t *pool, const char *session_id, const char *ticket_id)
{
    for (size_t i = 0; i < pool->n; i++) {
        if (strcmp(pool->t[i]->id, ticket_id) != 0)
            continue;
        if (session_id && strcmp(pool->t[i]->session_id, session_id) != 0)
            return TV_ENOTFOUND;
        drop_at(pool, i);
        return TV_OK;
    }
    return TV_ENOTFOUND;
}

size_t tv_mm_pool_remove_session(tv_mm_pool_t *pool, const char *session_id)
{
    size_t kept = 0, gone = 0;
    for (size_t i = 0; i < pool->n; i++) {
        if (strcmp(pool->t[i]->session_id, session_id) == 0) {
            tv_mm_ticket_free(pool->t[i]);
            gone++;
        } else {
            pool->t[kept++] = pool->t[i];
        }
    }
    pool->n = kept;
    return gone;
}

cJSON *tv_mm_pool_list(const tv_mm_pool_t *pool, const char *user_id, const char *session_id,
                       size_t limit, size_t *total)
{
    cJSON *arr = cJSON_CreateArray();
    size_t n = 0;
    for (size_t i = 0; arr && i < pool->n; i++) {
        const tv_mm_ticket_t *t = pool->t[i];
        if ((user_id && *user_id && strcmp(t->user_id, user_id) != 0) ||
            (session_id && *session_id && strcmp(t->session_id, session_id) != 0))
            continue;
        if (++n > limit && limit)
            continue; /* past the limit: only counted */
        cJSON *o = tv_mm_ticket_json(t);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            arr = NULL;
        }
    }
    if (total)
        *total = n;
    return arr;
}

void tv_mm_result_free(tv_mm_result_t *r)
{
    for (size_t g = 0; g < r->ngroups; g++) {
        for (size_t i = 0; i < r->groups[g].n; i++)
            tv_mm_ticket_free(r->groups[g].t[i]);
        free(r->groups[g].t);
    }
    for (size_t i = 0; i < r->nexpired; i++)
        tv_mm_ticket_free(r->expired[i]);
    free(r->groups);
    free(r->expired);
    memset(r, 0, sizeof *r);
}

/* ---- the pass ------------------------------------------------------------------------------- */

/* Rated tickets sort by rating (then arrival), so the closest ratings are neighbours. */
static int by_rating(const void *x, const void *y)
{
    const tv_mm_ticket_t *a = *(tv_mm_ticket_t *const *)x, *b = *(tv_mm_ticket_t *const *)y;
    if (a->rating != b->rating)
        return a->rating < b->rating ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static double window(const tv_mm_pool_t *pool, const tv_mm_ticket_t *t)
{
    return pool->p.rating_step * (t->intervals + 1);
}

/* Distance between two tickets of the same array: ratings for rated ones, arrival order for
 * the others (whose window is unbounded). */
static double distance(const tv_mm_ticket_t *a, const tv_mm_ticket_t *b)
{
    if (a->rated)
        return fabs(a->rating - b->rating);
    return a->seq > b->seq ? (double)(a->seq - b->seq) : (double)(b->seq - a->seq);
}

static int same_session_in(tv_mm_ticket_t *const *g, size_t n, const tv_mm_ticket_t *t)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(g[i]->session_id, t->session_id) == 0)
            return 1;
    return 0;
}

/* Whether b may join a's group g (a first, n members so far). */
static int accepts(const tv_mm_pool_t *pool, tv_mm_ticket_t *const *g, size_t n,
                   const tv_mm_ticket_t *b)
{
    const tv_mm_ticket_t *a = g[0];
    if (b->taken || a->min_count != b->min_count || a->max_count != b->max_count ||
        a->count_multiple != b->count_multiple || same_session_in(g, n, b))
        return 0;
    if (a->rated && distance(a, b) > window(pool, b))
        return 0;
    /* every member so far and b must accept each other */
    for (size_t i = 0; i < n; i++)
        if (tv_query_score(&g[i]->query, b->props, NULL) < 0 ||
            tv_query_score(&b->query, g[i]->props, NULL) < 0)
            return 0;
    return 1;
}

/* Walks outward from a's place in arr, nearest first, adding acceptable tickets to g until
 * it holds a->max_count or a's window (or the scan budget) is exhausted. Returns g's size. */
static size_t gather(const tv_mm_pool_t *pool, tv_mm_ticket_t **arr, size_t len,
                     tv_mm_ticket_t **g)
{
    tv_mm_ticket_t *a = g[0];
    size_t n = 1, lo = a->pos, hi = a->pos + 1, scanned = 0;
    double limit = a->rated ? window(pool, a) : INFINITY;
    while (n < (size_t)a->max_count && scanned < TV_MM_SCAN_MAX) {
        int has_lo = lo > 0, has_hi = hi < len;
        if (!has_lo && !has_hi)
            break;
        int take_lo = has_lo && (!has_hi || distance(a, arr[lo - 1]) <= distance(a, arr[hi]));
        tv_mm_ticket_t *b = take_lo ? arr[--lo] : arr[hi++];
        if (distance(a, b) > limit)
            break; /* the nearer side is out of the window: so is everything further */
        scanned++;
        if (b != a && accepts(pool, g, n, b))
            g[n++] = b;
    }
    return n;
}

/* Tries to form a's group; on success appends it to r and marks its tickets taken. */
static int try_group(const tv_mm_pool_t *pool, tv_mm_ticket_t *a, tv_mm_ticket_t **arr,
                     size_t len, tv_mm_result_t *r, tv_mm_ticket_t **scratch)
{
    scratch[0] = a;
    size_t n = gather(pool, arr, len, scratch);
    n -= n % (size_t)a->count_multiple;
    if (n < (size_t)a->min_count)
        return TV_OK;
    tv_mm_group_t g = {malloc(n * sizeof *g.t), n};
    if (!g.t)
        return TV_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        g.t[i] = scratch[i];
        scratch[i]->taken = 1;
    }
    r->groups[r->ngroups++] = g;
    return TV_OK;
}

/* Splits the pool into the rated array (by rating) and the unrated one (by arrival), and
 * records each ticket's place. */
static void index_pool(tv_mm_pool_t *pool, tv_mm_ticket_t **rated, size_t *nr,
                       tv_mm_ticket_t **plain, size_t *np)
{
    *nr = *np = 0;
    for (size_t i = 0; i < pool->n; i++) {
        tv_mm_ticket_t *t = pool->t[i];
        t->taken = 0;
        if (t->rated)
            rated[(*nr)++] = t;
        else
            plain[(*np)++] = t;
    }
    qsort(rated, *nr, sizeof *rated, by_rating);
    for (size_t i = 0; i < *nr; i++)
        rated[i]->pos = i;
    for (size_t i = 0; i < *np; i++)
        plain[i]->pos = i;
}

/* Unmatched tickets wait one interval more; those out of intervals move to r->expired. The
 * pool keeps the rest in arrival order. */
static void age_and_compact(tv_mm_pool_t *pool, tv_mm_result_t *r)
{
    size_t kept = 0;
    for (size_t i = 0; i < pool->n; i++) {
        tv_mm_ticket_t *t = pool->t[i];
        if (t->taken)
            continue;
        if (++t->intervals >= pool->p.max_intervals)
            r->expired[r->nexpired++] = t;
        else
            pool->t[kept++] = t;
    }
    pool->n = kept;
}

int tv_mm_pool_pass(tv_mm_pool_t *pool, tv_mm_result_t *out)
{
    memset(out, 0, sizeof *out);
    size_t n = pool->n, nr, np;
    if (!n)
        return TV_OK;
    /* worst cases up front, so nothing fails half way through a pass */
    tv_mm_ticket_t **rated = malloc(n * sizeof *rated), **plain = malloc(n * sizeof *plain);
    tv_mm_ticket_t **scratch = malloc((TV_MM_COUNT_MAX + 1) * sizeof *scratch);
    out->groups = malloc(n / 2 * sizeof *out->groups + sizeof *out->groups);
    out->expired = malloc(n * sizeof *out->expired);
    int rc = TV_ENOMEM;
    if (!rated || !plain || !scratch || !out->groups || !out->expired)
        goto done;
    index_pool(pool, rated, &nr, plain, &np);
    rc = TV_OK;
    for (size_t i = 0; rc == TV_OK && i < n; i++) {
        tv_mm_ticket_t *a = pool->t[i];
        if (!a->taken)
            rc = a->rated ? try_group(pool, a, rated, nr, out, scratch)
                          : try_group(pool, a, plain, np, out, scratch);
    }
    if (rc != TV_OK) { /* give the tickets of the groups formed so far back to the pool */
        for (size_t i = 0; i < n; i++)
            pool->t[i]->taken = 0;
        for (size_t g = 0; g < out->ngroups; g++)
            free(out->groups[g].t);
        out->ngroups = 0;
        goto done;
    }
    age_and_compact(pool, out);
done:
    free(rated);
    free(plain);
    free(scratch);
    return rc;
}
