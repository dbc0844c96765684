/* Logging: one line per event, written with a single fputs so threads never interleave; the
 * request id of the HTTP request a thread is serving rides along on every line. */
#include "log.h"
#include "error.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static tv_log_level_t min_level = TV_LOG_INFO;
static int as_json;
static const char *names[] = {"debug", "info", "warn", "error"};
static _Thread_local const char *tl_request_id;

void tv_log_set_request(const char *id) { tl_request_id = id && *id ? id : NULL; }
const char *tv_log_request(void) { return tl_request_id; }

void tv_log_set_level(tv_log_level_t level) { min_level = level; }
void tv_log_set_json(int json) { as_json = json; }
int tv_log_enabled(tv_log_level_t level) { return level >= min_level; }

int tv_log_parse_level(const char *s, tv_log_level_t *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (tv_log_level_t)i;
            return TV_OK;
        }
    return TV_EINVAL;
}

static void stamp(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + len, n - len, ".%03ldZ", ts.tv_nsec / 1000000);
}

void tv_log(tv_log_level_t level, const char *room, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char msg[2048], ts[40], line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    stamp(ts, sizeof ts);
    if (!as_json) {
        if (tl_request_id)
            snprintf(line, sizeof line, "%s %-5s [%s] %s request_id=%s\n", ts, names[level], room,
                     msg, tl_request_id);
        else
            snprintf(line, sizeof line, "%s %-5s [%s] %s\n", ts, names[level], room, msg);
        fputs(line, stderr);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "time", ts);
    cJSON_AddStringToObject(o, "level", names[level]);
    cJSON_AddStringToObject(o, "room", room);
    cJSON_AddStringToObject(o, "msg", msg);
    if (tl_request_id)
        cJSON_AddStringToObject(o, "request_id", tl_request_id);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return;
    snprintf(line, sizeof line, "%s\n", s);
    free(s);
    fputs(line, stderr);
}
