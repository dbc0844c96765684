/* The rank cache of one leaderboard period: an order-statistic treap (a size-augmented balanced
 * tree) keyed by (score, subscore, owner_id) in the board's sort order, plus a hash of owners.
 * O(log n) rank of any owner and O(log n) entry at any rank. Pure data structure: no locks, no
 * I/O; the caller (leaderboard.c) serialises access. */
#ifndef TV_LEADERBOARD_RANK_H
#define TV_LEADERBOARD_RANK_H

#include <stddef.h>
#include <stdint.h>

#define TV_LB_OWNER_MAX 36 /* owner ids are UUIDs in text form */

typedef struct tv_lb_rank tv_lb_rank_t;

typedef struct tv_lb_rank_entry {
    char owner[TV_LB_OWNER_MAX + 1];
    int64_t score;
    int64_t subscore;
} tv_lb_rank_entry_t;

/* An empty structure. descending: rank 1 is the highest (score, subscore, owner_id); else the
 * lowest. Ties break on owner_id in the same direction (Nakama's order). NULL when out of
 * memory. Free with tv_lb_rank_free. */
tv_lb_rank_t *tv_lb_rank_new(int descending);
void tv_lb_rank_free(tv_lb_rank_t *r);
/* Drops every entry (a new reset period). */
void tv_lb_rank_clear(tv_lb_rank_t *r);

/* Inserts owner, or moves it to its new key. TV_OK, TV_EINVAL for an empty or too long
 * owner, TV_ENOMEM (the structure is then unchanged). */
int tv_lb_rank_set(tv_lb_rank_t *r, const char *owner, int64_t score, int64_t subscore);
/* Removes owner: 1 when it was there, 0 when not. */
int tv_lb_rank_remove(tv_lb_rank_t *r, const char *owner);
/* The 1-based rank of owner, 0 when absent. */
int64_t tv_lb_rank_of(const tv_lb_rank_t *r, const char *owner);
/* The entry at 1-based rank k: 1 and *out filled, or 0 when k is out of range. */
int tv_lb_rank_at(const tv_lb_rank_t *r, int64_t k, tv_lb_rank_entry_t *out);
/* The owner's entry: 1 and *out filled, or 0. */
int tv_lb_rank_get(const tv_lb_rank_t *r, const char *owner, tv_lb_rank_entry_t *out);
size_t tv_lb_rank_count(const tv_lb_rank_t *r);

#endif
