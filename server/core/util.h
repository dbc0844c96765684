/* Small shared helpers: ids, clocks, time formatting, bounded string checks. */
#ifndef TV_CORE_UTIL_H
#define TV_CORE_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define TV_UUID_LEN 36 /* text form, without the NUL */

/* Writes a random (v4) UUID in lower-case text form into out[37]. */
void tv_uuid_v4(char out[TV_UUID_LEN + 1]);
/* A UUIDv7 for unix_ms: ids made later in this process sort after earlier ones as text (the
 * 12 bits after the time count calls, so up to 4096 a millisecond keep their order). */
void tv_uuid_v7(int64_t unix_ms, char out[TV_UUID_LEN + 1]);
/* 1 when s is a canonical UUID text (any case, 36 chars). */
int tv_uuid_valid(const char *s);
/* Lower-cases a valid UUID text in place. */
void tv_uuid_lower(char *s);

int64_t tv_now_s(void);        /* wall clock, unix seconds */
int64_t tv_now_ms(void);       /* wall clock, unix milliseconds */
int64_t tv_mono_ms(void);      /* monotonic milliseconds, for deadlines */

/* RFC 3339 UTC ("2024-05-01T10:00:00Z") of unix seconds into out[32]. */
void tv_time_rfc3339(int64_t unix_s, char out[32]);

/* Fills out[n] with n-1 random ASCII letters and a NUL (Nakama's generated usernames). */
void tv_random_letters(char *out, size_t n);

/* 1 when s has a byte that is ASCII whitespace or a control character. */
int tv_has_space_or_ctl(const char *s);

/* Fills ss and len for an IPv4 or IPv6 literal and port. TV_EINVAL when address is neither. */
struct sockaddr_storage;
int tv_sockaddr_parse(const char *address, int port, struct sockaddr_storage *ss,
                      unsigned *len);

/* Decimal text of v into buf (for binding numbers as SQL text parameters). Returns buf. */
char *tv_i64_str(char buf[24], int64_t v);

/* Reads a boolean as Nakama's gateway does (Go's strconv.ParseBool: 1 t T TRUE true True,
 * 0 f F FALSE false False). TV_EINVAL for anything else. */
int tv_parse_bool(const char *s, int *out);

/* Initialises cv to time out on CLOCK_MONOTONIC (pthread_cond_timedwait deadlines then
 * ignore wall-clock jumps). Returns pthread_cond_init's result. */
int tv_cond_init_monotonic(pthread_cond_t *cv);

/* strdup that aborts on allocation failure is not used here: returns NULL on failure. */
char *tv_strdup(const char *s);

#endif
