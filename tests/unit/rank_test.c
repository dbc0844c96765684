/* The leaderboard rank structure against a naive sorted array: random sets, moves and removes
 * on asc and desc boards with many ties, every rank and every position compared. */
#include "check.h"
#include "error.h"
#include "rank.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OWNERS 300

typedef struct {
    int present;
    int64_t score, subscore;
    char owner[TV_LB_OWNER_MAX + 1];
} naive_t;

static int naive_desc;

static int naive_cmp(const void *pa, const void *pb)
{
    const naive_t *a = pa, *b = pb;
    int c = a->score != b->score ? (a->score < b->score ? -1 : 1)
            : a->subscore != b->subscore ? (a->subscore < b->subscore ? -1 : 1)
            : strcmp(a->owner, b->owner);
    return naive_desc ? -c : c;
}

/* Sorts the present owners into out; returns how many. */
static int naive_sorted(const naive_t *all, naive_t *out)
{
    int n = 0;
    for (int i = 0; i < OWNERS; i++)
        if (all[i].present)
            out[n++] = all[i];
    qsort(out, (size_t)n, sizeof *out, naive_cmp);
    return n;
}

static int agree(const tv_lb_rank_t *r, const naive_t *all)
{
    naive_t sorted[OWNERS];
    int n = naive_sorted(all, sorted);
    if ((size_t)n != tv_lb_rank_count(r))
        return 0;
    for (int k = 0; k < n; k++) {
        tv_lb_rank_entry_t e;
        if (!tv_lb_rank_at(r, k + 1, &e) || strcmp(e.owner, sorted[k].owner) != 0 ||
            e.score != sorted[k].score || e.subscore != sorted[k].subscore)
            return 0;
        if (tv_lb_rank_of(r, sorted[k].owner) != k + 1)
            return 0;
    }
    for (int i = 0; i < OWNERS; i++)
        if (!all[i].present && tv_lb_rank_of(r, all[i].owner) != 0)
            return 0;
    tv_lb_rank_entry_t e;
    return !tv_lb_rank_at(r, 0, &e) && !tv_lb_rank_at(r, n + 1, &e);
}

static void random_ops(int desc, unsigned seed)
{
    naive_desc = desc;
    srand(seed);
    tv_lb_rank_t *r = tv_lb_rank_new(desc);
    naive_t all[OWNERS] = {{0}};
    for (int i = 0; i < OWNERS; i++)
        snprintf(all[i].owner, sizeof all[i].owner, "00000000-0000-4000-8000-%012d", i * 7919 % 1000);
    int ok = 1;
    for (int op = 0; op < 6000 && ok; op++) {
        naive_t *o = &all[rand() % OWNERS];
        if (rand() % 4 == 0) {
            ok = tv_lb_rank_remove(r, o->owner) == o->present;
            o->present = 0;
        } else {
            /* few distinct values: ties on score, and on subscore, are common */
            o->score = rand() % 20 - 5;
            o->subscore = rand() % 3;
            o->present = 1;
            ok = tv_lb_rank_set(r, o->owner, o->score, o->subscore) == TV_OK;
        }
        if (op % 97 == 0 || op > 5900)
            ok = ok && agree(r, all);
    }
    char name[64];
    snprintf(name, sizeof name, "random ops agree with a sorted array (%s, seed %u)",
             desc ? "desc" : "asc", seed);
    CHECK_AS(ok, name);
    tv_lb_rank_clear(r);
    CHECK(tv_lb_rank_count(r) == 0);
    CHECK(tv_lb_rank_set(r, all[0].owner, 1, 1) == TV_OK && tv_lb_rank_of(r, all[0].owner) == 1);
    tv_lb_rank_free(r);
}

static void order_rules(void)
{
    tv_lb_rank_t *d = tv_lb_rank_new(1), *a = tv_lb_rank_new(0);
    const char *o[] = {"a", "b", "c", "d"};
    int64_t s[][2] = {{10, 1}, {10, 5}, {20, 0}, {10, 5}};
    for (int i = 0; i < 4; i++) {
        tv_lb_rank_set(d, o[i], s[i][0], s[i][1]);
        tv_lb_rank_set(a, o[i], s[i][0], s[i][1]);
    }
    /* desc: c(20) > d(10,5) > b(10,5) [owner desc] > a(10,1) */
    CHECK(tv_lb_rank_of(d, "c") == 1 && tv_lb_rank_of(d, "d") == 2);
    CHECK(tv_lb_rank_of(d, "b") == 3 && tv_lb_rank_of(d, "a") == 4);
    /* asc: a(10,1) < b(10,5) < d(10,5) < c(20) */
    CHECK(tv_lb_rank_of(a, "a") == 1 && tv_lb_rank_of(a, "b") == 2);
    CHECK(tv_lb_rank_of(a, "d") == 3 && tv_lb_rank_of(a, "c") == 4);
    tv_lb_rank_set(a, "c", -1, 0); /* a move */
    CHECK(tv_lb_rank_of(a, "c") == 1 && tv_lb_rank_count(a) == 4);
    tv_lb_rank_entry_t e;
    CHECK(tv_lb_rank_get(a, "c", &e) && e.score == -1);
    CHECK(tv_lb_rank_set(a, "", 1, 1) == TV_EINVAL);
    CHECK(tv_lb_rank_set(a, "0123456789012345678901234567890123456", 1, 1) == TV_EINVAL);
    CHECK(tv_lb_rank_remove(a, "zz") == 0);
    tv_lb_rank_free(d);
    tv_lb_rank_free(a);
}

static void many(void)
{
    /* enough owners to grow the hash several times; ranks stay exact */
    tv_lb_rank_t *r = tv_lb_rank_new(1);
    char id[40];
    int ok = 1;
    for (int i = 0; i < 50000; i++) {
        snprintf(id, sizeof id, "u%d", i);
        ok &= tv_lb_rank_set(r, id, i, 0) == TV_OK;
    }
    for (int i = 0; i < 50000; i += 997) {
        snprintf(id, sizeof id, "u%d", i);
        ok &= tv_lb_rank_of(r, id) == 50000 - i;
    }
    CHECK_AS(ok, "50000 ascending inserts rank exactly on a desc board");
    tv_lb_rank_free(r);
}

int main(void)
{
    order_rules();
    for (unsigned seed = 1; seed <= 3; seed++) {
        random_ops(0, seed);
        random_ops(1, seed);
    }
    many();
    return check_summary();
}
