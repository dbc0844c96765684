/* The reset-schedule cron parser: next/previous times for ranges, steps, lists, names, the
 * day-of-month / day-of-week rule, month ends and leap years, and refused expressions. */
#define _DEFAULT_SOURCE
#include "check.h"
#include "cron.h"
#include "error.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* "YYYY-MM-DD HH:MM" (UTC) to unix seconds. */
static int64_t at(const char *s)
{
    struct tm tm = {0};
    sscanf(s, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static void next_is(const char *expr, const char *from, const char *want)
{
    tv_lb_cron_t c;
    char name[160];
    snprintf(name, sizeof name, "next '%s' after %s is %s", expr, from, want);
    int ok = tv_lb_cron_parse(expr, &c) == TV_OK;
    int64_t got = ok ? tv_lb_cron_next(&c, at(from)) : -2;
    if (ok && got != at(want))
        printf("     got %lld, want %lld\n", (long long)got, (long long)at(want));
    CHECK_AS(ok && got == at(want), name);
}

static void prev_is(const char *expr, const char *from, const char *want)
{
    tv_lb_cron_t c;
    char name[160];
    snprintf(name, sizeof name, "prev '%s' at/before %s is %s", expr, from, want);
    int ok = tv_lb_cron_parse(expr, &c) == TV_OK;
    CHECK_AS(ok && tv_lb_cron_prev(&c, at(from)) == at(want), name);
}

static void refused(const char *expr)
{
    tv_lb_cron_t c;
    char name[160];
    snprintf(name, sizeof name, "'%s' is refused", expr);
    CHECK_AS(tv_lb_cron_parse(expr, &c) == TV_EINVAL, name);
}

int main(void)
{
    next_is("* * * * *", "2024-05-01 10:00", "2024-05-01 10:01");
    next_is("*/15 * * * *", "2024-05-01 10:14", "2024-05-01 10:15");
    next_is("*/15 * * * *", "2024-05-01 10:45", "2024-05-01 11:00");
    next_is("0 0 * * *", "2024-12-31 23:59", "2025-01-01 00:00");
    next_is("@daily", "2024-05-01 00:00", "2024-05-02 00:00");
    next_is("@hourly", "2024-05-01 10:30", "2024-05-01 11:00");
    next_is("@weekly", "2024-05-01 10:30", "2024-05-05 00:00");  /* 2024-05-05 is a Sunday */
    next_is("@monthly", "2024-01-31 12:00", "2024-02-01 00:00");
    next_is("@yearly", "2024-01-01 00:00", "2025-01-01 00:00");
    next_is("30 9-17/4 * * *", "2024-05-01 09:30", "2024-05-01 13:30");
    next_is("30 9-17/4 * * *", "2024-05-01 17:30", "2024-05-02 09:30");
    next_is("5,10,50 * * * *", "2024-05-01 10:10", "2024-05-01 10:50");
    next_is("0 12 * * MON-FRI", "2024-05-03 12:00", "2024-05-06 12:00"); /* Fri → Mon */
    next_is("0 0 * * 7", "2024-05-01 00:00", "2024-05-05 00:00");       /* 7 = Sunday */
    next_is("0 0 * * sun", "2024-05-05 00:00", "2024-05-12 00:00");
    next_is("0 0 29 2 *", "2024-03-01 00:00", "2028-02-29 00:00");      /* leap years only */
    next_is("0 0 31 * *", "2024-04-01 00:00", "2024-05-31 00:00");      /* April has 30 */
    next_is("0 0 1 JAN,jul *", "2024-02-01 00:00", "2024-07-01 00:00");
    /* both day fields restricted: either one matches (the 13th, or any Friday) */
    next_is("0 0 13 * 5", "2024-05-01 00:00", "2024-05-03 00:00");
    next_is("0 0 13 * 5", "2024-05-10 00:00", "2024-05-13 00:00");
    /* only one restricted: that one decides */
    next_is("0 0 13 * *", "2024-05-01 00:00", "2024-05-13 00:00");
    next_is("0 0 * * 5", "2024-05-01 00:00", "2024-05-03 00:00");
    next_is("  0   0  *  * * ", "2024-05-01 00:00", "2024-05-02 00:00");
    next_is("0 0 * * *", "1969-12-31 12:00", "1970-01-01 00:00");       /* before the epoch */

    prev_is("0 0 * * *", "2024-05-01 00:00", "2024-05-01 00:00");
    prev_is("0 0 * * *", "2024-05-01 23:59", "2024-05-01 00:00");
    prev_is("*/15 * * * *", "2024-05-01 10:14", "2024-05-01 10:00");
    prev_is("0 0 1 * *", "2024-03-15 00:00", "2024-03-01 00:00");
    prev_is("@weekly", "2024-05-04 23:00", "2024-04-28 00:00");

    tv_lb_cron_t c;
    CHECK(tv_lb_cron_parse("0 0 30 2 *", &c) == TV_OK && tv_lb_cron_next(&c, at("2024-01-01 00:00")) == -1);
    refused("");
    refused("* * * *");
    refused("* * * * * *");
    refused("60 * * * *");
    refused("* 24 * * *");
    refused("* * 0 * *");
    refused("* * 32 * *");
    refused("* * * 13 *");
    refused("* * * * 8");
    refused("5-1 * * * *");
    refused("*/0 * * * *");
    refused("*/x * * * *");
    refused("1,,2 * * * *");
    refused("1, * * * *");
    refused("a * * * *");
    refused("* * * FOO *");
    refused("@never");
    refused("-1 * * * *");
    refused(NULL);
    return check_summary();
}
