/* Leaderboard periods and tournament windows (server/leaderboard/leaderboard.c): the expiry a
 * write gets, the active window of tournaments with and without resets, start and end times,
 * and the rank cache moving into a new period when a reset passes. */
#define _DEFAULT_SOURCE
#include "check.h"
#include "error.h"
#include "leaderboard/internal.h" /* not modules/internal.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t at(const char *s)
{
    struct tm tm = {0};
    sscanf(s, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

/* A board with only the fields tv_lb_window reads. */
static lb_board_t *board(const char *reset, int tournament, int64_t start, int64_t end,
                         int64_t duration)
{
    lb_board_t *b = calloc(1, sizeof *b);
    pthread_rwlock_init(&b->lock, NULL);
    b->rank = tv_lb_rank_new(1);
    b->has_reset = reset && tv_lb_cron_parse(reset, &b->cron) == TV_OK;
    b->tournament = tournament;
    b->start_time = start;
    b->end_time = end;
    b->duration = duration;
    b->period = -1;
    return b;
}

static void done(lb_board_t *b)
{
    tv_lb_rank_free(b->rank);
    pthread_rwlock_destroy(&b->lock);
    free(b);
}

static void leaderboards(void)
{
    lb_window_t w;
    lb_board_t *b = board("*/5 * * * *", 0, 0, 0, 0);
    tv_lb_window(b, at("2024-05-01 10:07"), &w);
    CHECK(w.expiry == at("2024-05-01 10:10") && w.next_reset == w.expiry);
    CHECK(w.prev_reset == at("2024-05-01 10:05"));
    tv_lb_window(b, at("2024-05-01 10:10"), &w); /* at a reset: the next period */
    CHECK(w.expiry == at("2024-05-01 10:15"));
    done(b);
    b = board(NULL, 0, 0, 0, 0);
    tv_lb_window(b, at("2024-05-01 10:07"), &w);
    CHECK(w.expiry == 0 && w.next_reset == 0 && w.prev_reset == 0);
    done(b);
}

static void tournaments(void)
{
    lb_window_t w;
    /* no reset: active from the start for duration, capped by the end; records expire at end */
    int64_t s = at("2024-05-01 10:00");
    lb_board_t *b = board(NULL, 1, s, s + 7200, 3600);
    tv_lb_window(b, s + 10, &w);
    CHECK(w.start_active == s && w.end_active == s + 3600 && w.expiry == s + 7200);
    done(b);
    b = board(NULL, 1, s, s + 600, 3600);
    tv_lb_window(b, s + 10, &w);
    CHECK(w.end_active == s + 600 && w.expiry == s + 600);
    done(b);
    b = board(NULL, 1, s, 0, 3600);
    tv_lb_window(b, s + 10, &w);
    CHECK(w.expiry == 0 && w.end_active == s + 3600);
    done(b);
    /* daily reset: active for duration after each reset; expires at the next reset */
    b = board("0 0 * * *", 1, at("2024-04-01 00:00"), 0, 3600);
    tv_lb_window(b, at("2024-05-03 00:30"), &w);
    CHECK(w.start_active == at("2024-05-03 00:00") && w.end_active == at("2024-05-03 01:00"));
    CHECK(w.expiry == at("2024-05-04 00:00") && w.prev_reset == at("2024-05-03 00:00"));
    tv_lb_window(b, at("2024-05-03 02:00"), &w); /* after the active hour: not active */
    CHECK(w.end_active == at("2024-05-03 01:00"));
    done(b);
    /* a start between resets: active from the start; an end before the next reset caps it */
    b = board("0 0 * * *", 1, at("2024-05-03 12:00"), at("2024-05-03 18:00"), 86400);
    tv_lb_window(b, at("2024-05-03 13:00"), &w);
    CHECK(w.start_active == at("2024-05-03 12:00") && w.end_active == at("2024-05-03 18:00"));
    CHECK(w.expiry == at("2024-05-03 18:00"));
    /* not started yet: the window of the start */
    tv_lb_window(b, at("2024-05-01 09:00"), &w);
    CHECK(w.start_active == at("2024-05-03 12:00"));
    done(b);
}

static void cache_moves_on(void)
{
    lb_board_t *b = board("0 * * * *", 0, 0, 0, 0);
    int64_t t = at("2024-05-01 10:30");
    int64_t e = tv_lb_sync_period(b, t);
    CHECK(e == at("2024-05-01 11:00"));
    CHECK(tv_lb_cache_apply_board(b, e, "a", 5, 0) == TV_OK);
    tv_lb_cache_apply_board(b, e - 3600, "b", 9, 0); /* another period: ignored */
    CHECK(tv_lb_cached_rank(b, e, "a", NULL) == 1 && tv_lb_cached_rank(b, e, "b", NULL) == 0);
    CHECK(tv_lb_sync_period(b, t + 1000) == e && tv_lb_cached_rank(b, e, "a", NULL) == 1);
    int64_t e2 = tv_lb_sync_period(b, at("2024-05-01 11:00"));
    CHECK(e2 == at("2024-05-01 12:00"));
    int64_t count = -1;
    CHECK(tv_lb_cached_rank(b, e2, "a", &count) == 0 && count == 0);
    CHECK(b->last_ended == e);
    done(b);
}

int main(void)
{
    leaderboards();
    tournaments();
    cache_moves_on();
    return check_summary();
}
