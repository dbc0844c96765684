/* Small shared helpers: ids, clocks, time formatting, bounded string checks. */
#include "util.h"
#include "error.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void uuid_text(const unsigned char b[16], char out[TV_UUID_LEN + 1]);

void tv_uuid_v4(char out[TV_UUID_LEN + 1])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    uuid_text(b, out);
}

void tv_uuid_v7(int64_t unix_ms, char out[TV_UUID_LEN + 1])
{
    static atomic_uint seq;
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)((uint64_t)unix_ms >> (40 - 8 * i));
    unsigned c = atomic_fetch_add(&seq, 1) & 0xfff; /* rand_a: a counter, so ids of one ms sort */
    b[6] = (unsigned char)(0x70 | (c >> 8));
    b[7] = (unsigned char)(c & 0xff);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    uuid_text(b, out);
}

static void uuid_text(const unsigned char b[16], char out[TV_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = 0;
}

int tv_uuid_valid(const char *s)
{
    if (!s || strlen(s) != TV_UUID_LEN)
        return 0;
    for (int i = 0; i < TV_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

void tv_uuid_lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

int64_t tv_now_s(void)
{
    return (int64_t)time(NULL);
}

int64_t tv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tv_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tv_time_rfc3339(int64_t unix_s, char out[32])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void tv_random_letters(char *out, size_t n)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if (n == 0)
        return;
    for (size_t i = 0; i + 1 < n; i++)
        out[i] = letters[randombytes_uniform(sizeof letters - 1)];
    out[n - 1] = 0;
}

int tv_has_space_or_ctl(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == 0x7f)
            return 1;
    }
    return 0;
}

char *tv_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int tv_sockaddr_parse(const char *address, int port, struct sockaddr_storage *ss, unsigned *len)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, address, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        return TV_OK;
    }
    if (inet_pton(AF_INET6, address, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return TV_OK;
    }
    return TV_EINVAL;
}

char *tv_i64_str(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%" PRId64, v);
    return buf;
}

int tv_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (int i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = 1;
            return TV_OK;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = 0;
            return TV_OK;
        }
    }
    return TV_EINVAL;
}

int tv_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}
