/* The cron parser and the search for the next / previous reset. The search walks days (at most
 * eight years of them) and, on a matching day, picks the hour and minute from the bit sets, so
 * it never steps minute by minute. Dates use the proleptic Gregorian calendar in UTC. */
#include "cron.h"
#include "error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEARCH_DAYS (8 * 366)
#define DAY_S 86400

typedef struct {
    int lo, hi;
    const char *const *names; /* names[i] is value lo + i; NULL when the field has none */
} field_t;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const field_t fields[5] = {
    {0, 59, NULL}, {0, 23, NULL}, {1, 31, NULL}, {1, 12, month_names}, {0, 7, dow_names},
};

/* A number or a name at *s; advances *s. -1 when neither. */
static int read_value(const char **s, const field_t *f)
{
    const char *p = *s;
    if (isdigit((unsigned char)*p)) {
        long v = 0;
        while (isdigit((unsigned char)*p) && v < 1000)
            v = v * 10 + (*p++ - '0');
        *s = p;
        return (int)v;
    }
    if (!f->names)
        return -1;
    int n = f->hi - f->lo + 1 - (f->lo == 0 && f->hi == 7); /* dow has 7 names for 8 values */
    for (int i = 0; i < n; i++)
        if (strncasecmp(p, f->names[i], 3) == 0) {
            *s = p + 3;
            return f->lo + i;
        }
    return -1;
}

/* One list item ("*", "a", "a-b", any of them "/n") into *bits. */
static int parse_item(const char **s, const field_t *f, uint64_t *bits)
{
    int lo = f->lo, hi = f->hi, step = 1;
    if (**s == '*') {
        (*s)++;
    } else {
        if ((lo = read_value(s, f)) < 0)
            return TV_EINVAL;
        hi = lo;
        if (**s == '-') {
            (*s)++;
            if ((hi = read_value(s, f)) < 0)
                return TV_EINVAL;
        }
    }
    if (**s == '/') {
        (*s)++;
        if (!isdigit((unsigned char)**s) || (step = read_value(s, &fields[0])) < 1)
            return TV_EINVAL;
        if (lo == hi) /* "5/15" means 5-max/15 */
            hi = f->hi;
    }
    if (lo < f->lo || hi > f->hi || lo > hi)
        return TV_EINVAL;
    for (int v = lo; v <= hi; v += step)
        *bits |= 1ull << v;
    return TV_OK;
}

/* A whole field (a comma list); *any is set when it is exactly "*". */
static int parse_field(const char *s, const field_t *f, uint64_t *bits, int *any)
{
    *bits = 0;
    *any = strcmp(s, "*") == 0;
    for (;;) {
        if (parse_item(&s, f, bits))
            return TV_EINVAL;
        if (*s == 0)
            return TV_OK;
        if (*s++ != ',')
            return TV_EINVAL;
    }
}

static const char *macro(const char *expr)
{
    static const char *const m[][2] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (strcasecmp(expr, m[i][0]) == 0)
            return m[i][1];
    return expr;
}

int tv_lb_cron_parse(const char *expr, tv_lb_cron_t *out)
{
    char buf[256], *save = NULL, *tok[6];
    if (!expr || strlen(expr) >= sizeof buf)
        return TV_EINVAL;
    strcpy(buf, macro(expr));
    int n = 0;
    for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
        if (n < 6)
            tok[n++] = t;
        else
            return TV_EINVAL;
    if (n != 5)
        return TV_EINVAL;
    uint64_t bits[5];
    int any[5];
    for (int i = 0; i < 5; i++)
        if (parse_field(tok[i], &fields[i], &bits[i], &any[i]))
            return TV_EINVAL;
    memset(out, 0, sizeof *out);
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->dow = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f); /* 7 is Sunday */
    out->dom_any = (uint8_t)any[2];
    out->dow_any = (uint8_t)any[4];
    return TV_OK;
}

/* --- calendar ------------------------------------------------------------------------- */

/* Days since 1970-01-01 to year/month/day (Howard Hinnant's civil_from_days). */
static void civil(int64_t days, int *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int day_matches(const tv_lb_cron_t *c, int64_t days)
{
    int y, m, d;
    civil(days, &y, &m, &d);
    if (!(c->month >> m & 1))
        return 0;
    int wd = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    int dom_ok = c->dom >> d & 1, dow_ok = c->dow >> wd & 1;
    if (c->dom_any || c->dow_any)
        return dom_ok && dow_ok; /* a "*" field matches every day anyway */
    return dom_ok || dow_ok;
}

/* The first minute of the day at or after minute-of-day from, or -1. */
static int first_at_or_after(const tv_lb_cron_t *c, int from)
{
    for (int h = from / 60; h < 24; h++) {
        if (!(c->hour >> h & 1))
            continue;
        for (int mi = h == from / 60 ? from % 60 : 0; mi < 60; mi++)
            if (c->minute >> mi & 1)
                return h * 60 + mi;
    }
    return -1;
}

/* The last minute of the day at or before minute-of-day to, or -1. */
static int last_at_or_before(const tv_lb_cron_t *c, int to)
{
    for (int h = to / 60; h >= 0; h--) {
        if (!(c->hour >> h & 1))
            continue;
        for (int mi = h == to / 60 ? to % 60 : 59; mi >= 0; mi--)
            if (c->minute >> mi & 1)
                return h * 60 + mi;
    }
    return -1;
}

int64_t tv_lb_cron_next(const tv_lb_cron_t *c, int64_t t)
{
    int64_t from = floor_div(t, 60) + 1; /* the first whole minute after t */
    int64_t day = floor_div(from, 1440);
    int minute = (int)(from - day * 1440);
    for (int i = 0; i < SEARCH_DAYS; i++, day++, minute = 0) {
        if (!day_matches(c, day))
            continue;
        int m = first_at_or_after(c, minute);
        if (m >= 0)
            return day * DAY_S + m * 60;
    }
    return -1;
}

int64_t tv_lb_cron_prev(const tv_lb_cron_t *c, int64_t t)
{
    int64_t to = floor_div(t, 60);
    int64_t day = floor_div(to, 1440);
    int minute = (int)(to - day * 1440);
    for (int i = 0; i < SEARCH_DAYS; i++, day--, minute = 1439) {
        if (!day_matches(c, day))
            continue;
        int m = last_at_or_before(c, minute);
        if (m >= 0)
            return day * DAY_S + m * 60;
    }
    return -1;
}
