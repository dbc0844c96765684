/* Logging: levels, text or JSON lines on stderr, safe from any thread. */
#ifndef TV_CORE_LOG_H
#define TV_CORE_LOG_H

typedef enum { TV_LOG_DEBUG, TV_LOG_INFO, TV_LOG_WARN, TV_LOG_ERROR } tv_log_level_t;

/* Set before threads start. Parse helpers return 0 or TV_EINVAL. */
void tv_log_set_level(tv_log_level_t level);
void tv_log_set_json(int json);
int tv_log_parse_level(const char *s, tv_log_level_t *out);
int tv_log_enabled(tv_log_level_t level);

/* The request id this thread is serving (borrowed: keep it alive until cleared with NULL);
 * every line the thread logs meanwhile carries it ("request_id=" in text, a member in JSON). */
void tv_log_set_request(const char *id);
const char *tv_log_request(void);

void tv_log(tv_log_level_t level, const char *room, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define tv_log_debug(room, ...) tv_log(TV_LOG_DEBUG, room, __VA_ARGS__)
#define tv_log_info(room, ...) tv_log(TV_LOG_INFO, room, __VA_ARGS__)
#define tv_log_warn(room, ...) tv_log(TV_LOG_WARN, room, __VA_ARGS__)
#define tv_log_error(room, ...) tv_log(TV_LOG_ERROR, room, __VA_ARGS__)

#endif
