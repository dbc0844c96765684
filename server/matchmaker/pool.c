/* The matchmaker's pure part: the pool of waiting tickets and the pass that groups them. No
 * threads, no clock (an interval is one pass), no I/O: the unit tests and the bench drive it
 * directly. */
#include "matchmaker.h"
#include "error.h"

#include <math.h>
#include <stdio.h>
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
        c += !pool->t[i]->party_id[0] && strcmp(pool->t[i]->session_id, session_id) == 0;
    return c;
}

static size_t party_count(const tv_mm_pool_t *pool, const char *party_id)
{
    size_t c = 0;
    for (size_t i = 0; i < pool->n; i++)
        c += strcmp(pool->t[i]->party_id, party_id) == 0;
    return c;
}

int tv_mm_pool_add(tv_mm_pool_t *pool, tv_mm_ticket_t *t)
{
    size_t held = t->party_id[0] ? party_count(pool, t->party_id)
                                 : tv_mm_pool_session_count(pool, t->session_id);
    if (pool->p.max_per_session > 0 && held >= (size_t)pool->p.max_per_session)
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
        if (session_id && (pool->t[i]->party_id[0] ||
                           strcmp(pool->t[i]->session_id, session_id) != 0))
            return TV_ENOTFOUND;
        drop_at(pool, i);
        return TV_OK;
    }
    return TV_ENOTFOUND;
}

/* Whether session_id is one of t's players. */
static int brings(const tv_mm_ticket_t *t, const char *session_id)
{
    if (!t->members)
        return strcmp(t->session_id, session_id) == 0;
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->members[i].session_id, session_id) == 0)
            return 1;
    return 0;
}

size_t tv_mm_pool_remove_party(tv_mm_pool_t *pool, const char *party_id, const char *ticket_id)
{
    /* copies: either may point into a ticket this frees */
    char pid[TV_MM_PARTY_ID_MAX], tid[37];
    snprintf(pid, sizeof pid, "%s", party_id);
    snprintf(tid, sizeof tid, "%s", ticket_id ? ticket_id : "");
    party_id = pid;
    ticket_id = ticket_id ? tid : NULL;
    size_t kept = 0, gone = 0;
    for (size_t i = 0; i < pool->n; i++) {
        tv_mm_ticket_t *t = pool->t[i];
        if (*party_id && strcmp(t->party_id, party_id) == 0 &&
            (!ticket_id || strcmp(t->id, ticket_id) == 0)) {
            tv_mm_ticket_free(t);
            gone++;
        } else {
            pool->t[kept++] = t;
        }
    }
    pool->n = kept;
    return gone;
}

size_t tv_mm_pool_remove_session(tv_mm_pool_t *pool, const char *session_id)
{
    size_t kept = 0, gone = 0;
    for (size_t i = 0; i < pool->n; i++) {
        if (brings(pool->t[i], session_id)) {
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

/* Whether a session is a player of t and of a ticket of g (a solo ticket against the party
 * its session is in, or two parties sharing a session). */
static int same_session_in(tv_mm_ticket_t *const *g, size_t n, const tv_mm_ticket_t *t)
{
    tv_mm_member_t scratch;
    for (int k = 0; k < t->count; k++) {
        const char *sid = tv_mm_ticket_member(t, k, &scratch)->session_id;
        for (size_t i = 0; i < n; i++)
            if (brings(g[i], sid))
                return 1;
    }
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
 * they bring a->max_count players or a's window (or the scan budget) is exhausted. Once a
 * party ticket (count > 1) is among them it gathers on up to twice max_count players (and
 * TV_MM_COUNT_MAX + 1 tickets), each a candidate that fits with a alone, for fit() to choose
 * from: a party that overflows the first few must not hide a pair that fits. Returns g's size
 * in tickets; *players counts their players. */
static size_t gather(const tv_mm_pool_t *pool, tv_mm_ticket_t **arr, size_t len,
                     tv_mm_ticket_t **g, int *players)
{
    tv_mm_ticket_t *a = g[0];
    size_t n = 1, lo = a->pos, hi = a->pos + 1, scanned = 0;
    int size = a->count, cap = a->count > 1 ? 2 * a->max_count : a->max_count;
    double limit = a->rated ? window(pool, a) : INFINITY;
    while (size < cap && n <= TV_MM_COUNT_MAX && scanned < TV_MM_SCAN_MAX) {
        int has_lo = lo > 0, has_hi = hi < len;
        if (!has_lo && !has_hi)
            break;
        int take_lo = has_lo && (!has_hi || distance(a, arr[lo - 1]) <= distance(a, arr[hi]));
        tv_mm_ticket_t *b = take_lo ? arr[--lo] : arr[hi++];
        if (distance(a, b) > limit)
            break; /* the nearer side is out of the window: so is everything further */
        scanned++;
        int fits = cap > a->max_count ? a->count + b->count <= a->max_count
                                      : size + b->count <= a->max_count;
        if (b != a && fits && accepts(pool, g, n, b)) {
            g[n++] = b;
            size += b->count;
            if (b->count > 1)
                cap = 2 * a->max_count;
        }
    }
    *players = size;
    return n;
}

/* Keeps the gathered tickets g[0..n) whose players make the largest total that is a multiple
 * of mult within [min, max], g[0] always in and at least one other ticket with it: compacts
 * g and returns the tickets kept, 0 when no such total exists. Drops the farthest (last)
 * tickets first. With every count 1 that is the plain cut; otherwise a subset sum (reach is
 * (n) x (max + 1) bytes of scratch). */
static size_t fit(tv_mm_ticket_t **g, size_t n, int players, int min, int max, int mult,
                  unsigned char *reach)
{
    int plain = 1;
    for (size_t i = 0; i < n; i++)
        plain &= g[i]->count == 1;
    if (plain) {
        n -= n % (size_t)mult;
        return n >= 2 && (int)n >= min ? n : 0;
    }
    if (players % mult == 0 && players >= min && players <= max && n >= 2)
        return n;
    /* reach[i * w + s]: g[0] and some of g[1..i] bring exactly s players */
    size_t w = (size_t)max + 1;
    memset(reach, 0, n * w);
    reach[g[0]->count] = 1;
    for (size_t i = 1; i < n; i++)
        for (size_t s = 0; s < w; s++)
            reach[i * w + s] = reach[(i - 1) * w + s] ||
                               (s >= (size_t)g[i]->count &&
                                reach[(i - 1) * w + s - (size_t)g[i]->count]);
    int best = 0;
    for (int s = max; s > g[0]->count && !best; s--)
        if (s % mult == 0 && s >= min && reach[(n - 1) * w + (size_t)s])
            best = s;
    if (!best)
        return 0;
    /* walk back: leave a ticket out whenever the rest reach the sum without it */
    unsigned char keep[TV_MM_COUNT_MAX + 1];
    size_t s = (size_t)best;
    for (size_t i = n - 1; i >= 1; i--) {
        keep[i] = !reach[(i - 1) * w + s];
        if (keep[i])
            s -= (size_t)g[i]->count;
    }
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (keep[i])
            g[k++] = g[i];
    return k;
}

/* Tries to form a's group; on success appends it to r and marks its tickets taken. */
static int try_group(const tv_mm_pool_t *pool, tv_mm_ticket_t *a, tv_mm_ticket_t **arr,
                     size_t len, tv_mm_result_t *r, tv_mm_ticket_t **scratch,
                     unsigned char *reach)
{
    int players;
    scratch[0] = a;
    size_t n = gather(pool, arr, len, scratch, &players);
    n = fit(scratch, n, players, a->min_count, a->max_count, a->count_multiple, reach);
    if (!n)
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
    unsigned char *reach = malloc((TV_MM_COUNT_MAX + 1) * (TV_MM_COUNT_MAX + 1));
    out->groups = malloc(n / 2 * sizeof *out->groups + sizeof *out->groups);
    out->expired = malloc(n * sizeof *out->expired);
    int rc = TV_ENOMEM;
    if (!rated || !plain || !scratch || !reach || !out->groups || !out->expired)
        goto done;
    index_pool(pool, rated, &nr, plain, &np);
    rc = TV_OK;
    for (size_t i = 0; rc == TV_OK && i < n; i++) {
        tv_mm_ticket_t *a = pool->t[i];
        if (!a->taken)
            rc = a->rated ? try_group(pool, a, rated, nr, out, scratch, reach)
                          : try_group(pool, a, plain, np, out, scratch, reach);
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
    free(reach);
    return rc;
}
