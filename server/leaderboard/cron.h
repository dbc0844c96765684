/* Reset schedules: a parser for 5-field cron expressions (minute hour day-of-month month
 * day-of-week, in UTC) and the next / previous matching time. Pure: no clock, no I/O. */
#ifndef TV_LEADERBOARD_CRON_H
#define TV_LEADERBOARD_CRON_H

#include <stdint.h>

typedef struct tv_lb_cron {
    uint64_t minute; /* bit i: minute i matches (0-59) */
    uint32_t hour;   /* 0-23 */
    uint32_t dom;    /* 1-31 */
    uint16_t month;  /* 1-12 */
    uint8_t dow;     /* 0-6, Sunday 0 */
    uint8_t dom_any; /* the field was "*": with a restricted dow only the dow counts */
    uint8_t dow_any;
} tv_lb_cron_t;

/* Parses expr: five fields of "*", numbers, names (JAN-DEC, SUN-SAT), ranges "a-b", steps
 * "x/n" and lists "a,b"; day of week 7 is Sunday too; or one of @yearly @annually @monthly
 * @weekly @daily @midnight @hourly. When both day fields are restricted a day matching either
 * matches (Vixie cron). TV_OK, or TV_EINVAL for anything else. */
int tv_lb_cron_parse(const char *expr, tv_lb_cron_t *out);
/* The first matching time strictly after t (unix seconds, UTC, on a minute), or -1 when none
 * matches within eight years (e.g. "0 0 30 2 *"). */
int64_t tv_lb_cron_next(const tv_lb_cron_t *c, int64_t t);
/* The last matching time at or before t, or -1 when none within eight years. */
int64_t tv_lb_cron_prev(const tv_lb_cron_t *c, int64_t t);

#endif
