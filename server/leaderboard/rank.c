/* The rank cache's structure: a treap (random priorities keep it balanced in expectation)
 * whose nodes carry their subtree size, plus a chained hash from owner to node so an owner's
 * old key can be found when it moves. */
#include "rank.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

typedef struct node {
    struct node *l, *r;     /* tree children */
    struct node *hnext;     /* hash chain */
    uint32_t prio;
    uint32_t size;          /* nodes in this subtree, itself included */
    tv_lb_rank_entry_t e;
} node_t;

struct tv_lb_rank {
    node_t *root;
    int desc;
    uint64_t rng;
    node_t **buckets;
    size_t nbuckets;        /* a power of two */
    size_t count;
};

#define MIN_BUCKETS 64

static uint32_t size_of(const node_t *n)
{
    return n ? n->size : 0;
}

static void fix(node_t *n)
{
    n->size = 1 + size_of(n->l) + size_of(n->r);
}

static uint32_t next_prio(tv_lb_rank_t *r)
{
    r->rng ^= r->rng << 13; /* xorshift64 */
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return (uint32_t)(r->rng >> 32);
}

/* <0 when a ranks before b in r's order. */
static int cmp(const tv_lb_rank_t *r, const tv_lb_rank_entry_t *a, const tv_lb_rank_entry_t *b)
{
    int c;
    if (a->score != b->score)
        c = a->score < b->score ? -1 : 1;
    else if (a->subscore != b->subscore)
        c = a->subscore < b->subscore ? -1 : 1;
    else
        c = strcmp(a->owner, b->owner);
    return r->desc ? -c : c;
}

/* --- owner hash ----------------------------------------------------------------------- */

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static node_t *find(const tv_lb_rank_t *r, const char *owner)
{
    for (node_t *n = r->buckets[hash(owner) & (r->nbuckets - 1)]; n; n = n->hnext)
        if (strcmp(n->e.owner, owner) == 0)
            return n;
    return NULL;
}

static void hash_put(node_t **buckets, size_t nb, node_t *n)
{
    size_t i = hash(n->e.owner) & (nb - 1);
    n->hnext = buckets[i];
    buckets[i] = n;
}

static void hash_del(tv_lb_rank_t *r, node_t *n)
{
    node_t **p = &r->buckets[hash(n->e.owner) & (r->nbuckets - 1)];
    while (*p != n)
        p = &(*p)->hnext;
    *p = n->hnext;
}

/* Doubles the buckets when the load passes 1; on failure keeps the old (longer chains). */
static void maybe_grow(tv_lb_rank_t *r)
{
    if (r->count < r->nbuckets)
        return;
    size_t nb = r->nbuckets * 2;
    node_t **b = calloc(nb, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < r->nbuckets; i++)
        for (node_t *n = r->buckets[i], *next; n; n = next) {
            next = n->hnext;
            hash_put(b, nb, n);
        }
    free(r->buckets);
    r->buckets = b;
    r->nbuckets = nb;
}

/* --- treap ---------------------------------------------------------------------------- */

/* Splits t into the nodes ordered before key (*lo) and the rest (*hi). */
static void split(const tv_lb_rank_t *r, node_t *t, const tv_lb_rank_entry_t *key, node_t **lo,
                  node_t **hi)
{
    if (!t) {
        *lo = *hi = NULL;
        return;
    }
    if (cmp(r, &t->e, key) < 0) {
        split(r, t->r, key, &t->r, hi);
        *lo = t;
    } else {
        split(r, t->l, key, lo, &t->l);
        *hi = t;
    }
    fix(t);
}

/* Joins a and b, every node of a ordered before every node of b. */
static node_t *merge(node_t *a, node_t *b)
{
    if (!a || !b)
        return a ? a : b;
    if (a->prio > b->prio) {
        a->r = merge(a->r, b);
        fix(a);
        return a;
    }
    b->l = merge(a, b->l);
    fix(b);
    return b;
}

static node_t *insert(const tv_lb_rank_t *r, node_t *t, node_t *n)
{
    if (!t)
        return n;
    if (n->prio > t->prio) {
        split(r, t, &n->e, &n->l, &n->r);
        fix(n);
        return n;
    }
    if (cmp(r, &n->e, &t->e) < 0)
        t->l = insert(r, t->l, n);
    else
        t->r = insert(r, t->r, n);
    fix(t);
    return t;
}

/* Unlinks n (which is in t) from the tree. */
static node_t *erase(const tv_lb_rank_t *r, node_t *t, const node_t *n)
{
    if (t == n)
        return merge(t->l, t->r);
    if (cmp(r, &n->e, &t->e) < 0)
        t->l = erase(r, t->l, n);
    else
        t->r = erase(r, t->r, n);
    fix(t);
    return t;
}

tv_lb_rank_t *tv_lb_rank_new(int descending)
{
    tv_lb_rank_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->buckets = calloc(MIN_BUCKETS, sizeof *r->buckets);
    if (!r->buckets) {
        free(r);
        return NULL;
    }
    r->nbuckets = MIN_BUCKETS;
    r->desc = descending != 0;
    r->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)r;
    return r;
}

static void free_nodes(tv_lb_rank_t *r)
{
    for (size_t i = 0; i < r->nbuckets; i++)
        for (node_t *n = r->buckets[i], *next; n; n = next) {
            next = n->hnext;
            free(n);
        }
}

void tv_lb_rank_clear(tv_lb_rank_t *r)
{
    free_nodes(r);
    memset(r->buckets, 0, r->nbuckets * sizeof *r->buckets);
    r->root = NULL;
    r->count = 0;
}

void tv_lb_rank_free(tv_lb_rank_t *r)
{
    if (!r)
        return;
    free_nodes(r);
    free(r->buckets);
    free(r);
}

int tv_lb_rank_set(tv_lb_rank_t *r, const char *owner, int64_t score, int64_t subscore)
{
    size_t len = owner ? strlen(owner) : 0;
    if (len == 0 || len > TV_LB_OWNER_MAX)
        return TV_EINVAL;
    node_t *n = find(r, owner);
    if (n) {
        if (n->e.score == score && n->e.subscore == subscore)
            return TV_OK;
        r->root = erase(r, r->root, n);
    } else {
        if (!(n = malloc(sizeof *n)))
            return TV_ENOMEM;
        memcpy(n->e.owner, owner, len + 1);
        hash_put(r->buckets, r->nbuckets, n);
        r->count++;
        maybe_grow(r);
    }
    n->e.score = score;
    n->e.subscore = subscore;
    n->l = n->r = NULL;
    n->size = 1;
    n->prio = next_prio(r);
    r->root = insert(r, r->root, n);
    return TV_OK;
}

int tv_lb_rank_remove(tv_lb_rank_t *r, const char *owner)
{
    node_t *n = owner ? find(r, owner) : NULL;
    if (!n)
        return 0;
    r->root = erase(r, r->root, n);
    hash_del(r, n);
    r->count--;
    free(n);
    return 1;
}

int64_t tv_lb_rank_of(const tv_lb_rank_t *r, const char *owner)
{
    const node_t *n = owner ? find(r, owner) : NULL;
    if (!n)
        return 0;
    int64_t before = 0; /* nodes ordered before n */
    for (const node_t *t = r->root; t;) {
        int c = cmp(r, &n->e, &t->e);
        if (c == 0)
            return before + size_of(t->l) + 1;
        if (c < 0) {
            t = t->l;
        } else {
            before += size_of(t->l) + 1;
            t = t->r;
        }
    }
    return 0; /* unreachable while the hash and the tree agree */
}

int tv_lb_rank_at(const tv_lb_rank_t *r, int64_t k, tv_lb_rank_entry_t *out)
{
    if (k < 1 || (uint64_t)k > r->count)
        return 0;
    const node_t *t = r->root;
    while (t) {
        int64_t left = size_of(t->l);
        if (k <= left) {
            t = t->l;
        } else if (k == left + 1) {
            *out = t->e;
            return 1;
        } else {
            k -= left + 1;
            t = t->r;
        }
    }
    return 0;
}

int tv_lb_rank_get(const tv_lb_rank_t *r, const char *owner, tv_lb_rank_entry_t *out)
{
    const node_t *n = owner ? find(r, owner) : NULL;
    if (n)
        *out = n->e;
    return n != NULL;
}

size_t tv_lb_rank_count(const tv_lb_rank_t *r)
{
    return r->count;
}
