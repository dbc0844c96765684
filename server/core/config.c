/* Server configuration: defaults, then TAVERN_* environment variables, then flags. Every flag
 * has an environment twin named TAVERN_ + the flag in upper case with '-' as '_'. */
#include "config.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OPT_STR, OPT_INT, OPT_I64 } opt_kind_t;

typedef struct {
    const char *flag; /* without the leading "--" */
    opt_kind_t kind;
    size_t offset;
    long long min, max;
    const char *help;
} opt_t;

#define OFF(f) offsetof(tv_config_t, f)
static const opt_t opts[] = {
    {"address", OPT_STR, OFF(address), 0, 0, "interface to listen on (default 0.0.0.0)"},
    {"port", OPT_INT, OFF(port), 0, 65535, "API and /ws port (default 7350; 0 picks a free one)"},
    {"console-port", OPT_INT, OFF(console_port), 0, 65535,
     "admin console port (default 7351; 0 picks a free one)"},
    {"db", OPT_STR, OFF(db_url), 0, 0,
     "database URL: sqlite:///path/file.db or postgres://user:pass@host:port/db\n"
     "                           (default sqlite://<data-dir>/tavern.db)"},
    {"data-dir", OPT_STR, OFF(data_dir), 0, 0, "data directory (default ./data)"},
    {"server-key", OPT_STR, OFF(server_key), 0, 0,
     "key clients send to authenticate (default defaultkey)"},
    {"http-key", OPT_STR, OFF(http_key), 0, 0,
     "key for server-to-server RPC calls (default defaulthttpkey)"},
    {"session-secret", OPT_STR, OFF(session_secret), 0, 0,
     "HMAC key of session tokens (default: random, kept in the data dir)"},
    {"refresh-secret", OPT_STR, OFF(refresh_secret), 0, 0,
     "HMAC key of refresh tokens (default: random, kept in the data dir)"},
    {"session-ttl", OPT_I64, OFF(session_ttl), 60, 31536000,
     "session token lifetime in seconds (default 7200)"},
    {"refresh-ttl", OPT_I64, OFF(refresh_ttl), 60, 315360000,
     "refresh token lifetime in seconds (default 604800)"},
    {"console-user", OPT_STR, OFF(console_user), 0, 0, "console user name (default admin)"},
    {"console-password", OPT_STR, OFF(console_password), 0, 0,
     "console password (default password: change it)"},
    {"console-token-ttl", OPT_I64, OFF(console_token_ttl), 1, 86400,
     "console token lifetime in seconds (default 3600)"},
    {"console-max-failures", OPT_INT, OFF(console_max_failures), 1, 1000,
     "consecutive failed console sign-ins that lock the user (default 5)"},
    {"console-lockout", OPT_I64, OFF(console_lockout), 1, 604800,
     "seconds a locked console user must wait (default 900)"},
    {"module-path", OPT_STR, OFF(module_path), 0, 0,
     "folder of module .so files (default <data-dir>/modules)"},
    {"log-level", OPT_STR, OFF(log_level), 0, 0, "debug, info, warn or error (default info)"},
    {"log-format", OPT_STR, OFF(log_format), 0, 0, "text or json (default text)"},
    {"http-threads", OPT_INT, OFF(http_threads), 1, 256, "HTTP I/O threads (default 2)"},
    {"ws-threads", OPT_INT, OFF(ws_threads), 1, 64, "WebSocket service threads (default 2)"},
    {"workers", OPT_INT, OFF(workers), 1, 1024, "request worker threads (default 8)"},
    {"db-pool", OPT_INT, OFF(db_pool), 1, 1024, "max database connections (default 8)"},
    {"hash-concurrency", OPT_INT, OFF(hash_concurrency), 1, 256,
     "password hashes at once, 64 MiB each (default 2)"},
    {"max-body", OPT_INT, OFF(max_body), 1024, 64 << 20,
     "largest request body in bytes (default 262144)"},
    {"matchmaker-interval-ms", OPT_INT, OFF(mm_interval_ms), 10, 3600000,
     "milliseconds between matchmaker passes (default 15000)"},
    {"matchmaker-max-intervals", OPT_INT, OFF(mm_max_intervals), 1, 10000,
     "passes a ticket waits unmatched before it expires (default 10)"},
    {"matchmaker-max-tickets", OPT_INT, OFF(mm_max_tickets), 1, 100,
     "matchmaker tickets a session may hold (default 3)"},
    {"matchmaker-rating-property", OPT_STR, OFF(mm_rating_property), 0, 0,
     "numeric ticket property holding the rating (default rating)"},
    {"matchmaker-rating-step", OPT_INT, OFF(mm_rating_step), 1, 1000000,
     "rating window half-width per interval waited (default 100)"},
    {"slow-request-ms", OPT_INT, OFF(slow_request_ms), 0, 3600000,
     "HTTP requests slower than this get a warn log line (default 1000; 0 = off)"},
    {"metrics-token", OPT_STR, OFF(metrics_token), 0, 0,
     "bearer token that may read GET /metrics on the console port (default: none;\n"
     "                           a console token always may)"},
    {"metrics-open", OPT_INT, OFF(metrics_open), 0, 1,
     "1 lets anyone who reaches the console port read GET /metrics (default 0)"},
    {"ws-ping-interval", OPT_INT, OFF(ws_ping_interval), 1, 3600,
     "seconds between the server's WebSocket PINGs to each socket (default 15)"},
    {"ws-pong-timeout", OPT_INT, OFF(ws_pong_timeout), 2, 65535,
     "seconds without a PONG or message before a socket is dropped (default 25)"},
    {"status-sample-ms", OPT_INT, OFF(status_sample_ms), 100, 60000,
     "period of the console Status page's samples (default 10000: 360 = one hour)"},
};
#define NOPTS (sizeof opts / sizeof opts[0])
_Static_assert(NOPTS <= TV_CONFIG_MAX_OPTS, "tv_config_t.sources holds every flag");

/* Flags whose values are secrets: the console never shows them. */
static const char *const secret_flags[] = {"server-key", "http-key", "session-secret",
                                           "refresh-secret", "console-password"};

static int set_str(char **slot, const char *v)
{
    char *d = strdup(v);
    if (!d)
        return TV_ENOMEM;
    free(*slot);
    *slot = d;
    return TV_OK;
}

static int apply(tv_config_t *cfg, const opt_t *o, const char *v, char *err, size_t errlen)
{
    void *slot = (char *)cfg + o->offset;
    if (o->kind == OPT_STR)
        return set_str((char **)slot, v);
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < o->min || n > o->max) {
        snprintf(err, errlen, "--%s: '%s' is not a whole number from %lld to %lld",
                 o->flag, v, o->min, o->max);
        return TV_EINVAL;
    }
    if (o->kind == OPT_INT)
        *(int *)slot = (int)n;
    else
        *(int64_t *)slot = (int64_t)n;
    return TV_OK;
}

static const opt_t *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(opts[i].flag) == len && strncmp(opts[i].flag, name, len) == 0)
            return &opts[i];
    return NULL;
}

/* "session-ttl" -> "TAVERN_SESSION_TTL" */
static void env_name(const char *flag, char *out, size_t n)
{
    size_t i = (size_t)snprintf(out, n, "TAVERN_");
    for (; *flag && i + 1 < n; flag++)
        out[i++] = *flag == '-' ? '_' : (char)toupper((unsigned char)*flag);
    out[i] = 0;
}

static int apply_env(tv_config_t *cfg, char **envp, char *err, size_t errlen)
{
    if (!envp)
        return TV_OK;
    for (size_t i = 0; i < NOPTS; i++) {
        char name[64];
        env_name(opts[i].flag, name, sizeof name);
        size_t nl = strlen(name);
        for (char **e = envp; *e; e++) {
            if (strncmp(*e, name, nl) != 0 || (*e)[nl] != '=')
                continue;
            int rc = apply(cfg, &opts[i], *e + nl + 1, err, errlen);
            if (rc)
                return rc;
            cfg->sources[i] = TV_CONFIG_ENV;
        }
    }
    return TV_OK;
}

static int set_defaults(tv_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = 7350;
    cfg->console_port = 7351;
    cfg->session_ttl = 7200;
    cfg->refresh_ttl = 604800;
    cfg->console_token_ttl = 3600;
    cfg->console_max_failures = 5;
    cfg->console_lockout = 900;
    cfg->http_threads = 2;
    cfg->ws_threads = 2;
    cfg->workers = 8;
    cfg->db_pool = 8;
    cfg->hash_concurrency = 2;
    cfg->max_body = 256 * 1024;
    cfg->mm_interval_ms = 15000; /* Nakama's matchmaker interval */
    cfg->mm_max_intervals = 10;
    cfg->mm_max_tickets = 3;     /* Nakama's max_tickets */
    cfg->mm_rating_step = 100;
    cfg->slow_request_ms = 1000;
    cfg->status_sample_ms = 10000;
    cfg->ws_ping_interval = 15;  /* Nakama's ping period and pong wait */
    cfg->ws_pong_timeout = 25;
    const struct { char **slot; const char *v; } s[] = {
        {&cfg->address, "0.0.0.0"}, {&cfg->data_dir, "./data"},
        {&cfg->server_key, "defaultkey"}, {&cfg->http_key, "defaulthttpkey"},
        {&cfg->console_user, "admin"}, {&cfg->console_password, "password"},
        {&cfg->log_level, "info"}, {&cfg->log_format, "text"},
        {&cfg->mm_rating_property, "rating"},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (set_str(s[i].slot, s[i].v))
            return TV_ENOMEM;
    return TV_OK;
}

static int parse_command(tv_config_t *cfg, int argc, char **argv, int *i, char *err,
                         size_t errlen)
{
    if (strcmp(argv[*i], "migrate") != 0) {
        snprintf(err, errlen, "unknown argument '%s' (see --help)", argv[*i]);
        return TV_EINVAL;
    }
    const char *sub = *i + 1 < argc ? argv[*i + 1] : "";
    if (strcmp(sub, "up") == 0)
        cfg->command = TV_CMD_MIGRATE_UP;
    else if (strcmp(sub, "status") == 0)
        cfg->command = TV_CMD_MIGRATE_STATUS;
    else {
        snprintf(err, errlen, "migrate needs 'up' or 'status'");
        return TV_EINVAL;
    }
    (*i)++;
    return TV_OK;
}

static int parse_flag(tv_config_t *cfg, int argc, char **argv, int *i, char *err, size_t errlen)
{
    const char *a = argv[*i] + 2;
    const char *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    const opt_t *o = find_flag(a, len);
    if (!o) {
        snprintf(err, errlen, "unknown flag '%s' (see --help)", argv[*i]);
        return TV_EINVAL;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (!v) {
        if (*i + 1 >= argc) {
            snprintf(err, errlen, "--%s needs a value", o->flag);
            return TV_EINVAL;
        }
        v = argv[++*i];
    }
    int rc = apply(cfg, o, v, err, errlen);
    if (rc == TV_OK)
        cfg->sources[o - opts] = TV_CONFIG_FLAG;
    return rc;
}

static int check(tv_config_t *cfg, char *err, size_t errlen)
{
    size_t rl = strlen(cfg->mm_rating_property);
    if (!rl || rl > 64 || strchr(cfg->mm_rating_property, '.')) {
        snprintf(err, errlen, "--matchmaker-rating-property must be 1-64 bytes without '.'");
        return TV_EINVAL;
    }
    if (strcmp(cfg->log_format, "text") && strcmp(cfg->log_format, "json")) {
        snprintf(err, errlen, "--log-format must be text or json");
        return TV_EINVAL;
    }
    const char *lv = cfg->log_level;
    if (strcmp(lv, "debug") && strcmp(lv, "info") && strcmp(lv, "warn") && strcmp(lv, "error")) {
        snprintf(err, errlen, "--log-level must be debug, info, warn or error");
        return TV_EINVAL;
    }
    if (!cfg->server_key[0]) {
        snprintf(err, errlen, "--server-key must not be empty");
        return TV_EINVAL;
    }
    if (cfg->ws_pong_timeout <= cfg->ws_ping_interval) {
        snprintf(err, errlen, "--ws-pong-timeout must exceed --ws-ping-interval");
        return TV_EINVAL;
    }
    if (cfg->metrics_token && strlen(cfg->metrics_token) < 16) {
        snprintf(err, errlen, "--metrics-token must be at least 16 bytes");
        return TV_EINVAL;
    }
    if (cfg->port == cfg->console_port && cfg->port != 0) {
        snprintf(err, errlen, "--port and --console-port must differ");
        return TV_EINVAL;
    }
    return TV_OK;
}

int tv_config_parse(tv_config_t *cfg, int argc, char **argv, char **envp,
                    char *err, size_t errlen)
{
    err[0] = 0;
    if (set_defaults(cfg))
        return TV_ENOMEM;
    int rc = apply_env(cfg, envp, err, errlen);
    for (int i = 1; rc == TV_OK && i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            cfg->command = TV_CMD_HELP;
        else if (strcmp(argv[i], "--version") == 0)
            cfg->command = TV_CMD_VERSION;
        else if (strncmp(argv[i], "--", 2) == 0)
            rc = parse_flag(cfg, argc, argv, &i, err, errlen);
        else
            rc = parse_command(cfg, argc, argv, &i, err, errlen);
    }
    return rc ? rc : check(cfg, err, errlen);
}

void tv_config_free(tv_config_t *cfg)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].kind == OPT_STR) {
            char **slot = (char **)((char *)cfg + opts[i].offset);
            free(*slot);
            *slot = NULL;
        }
}

const char *tv_config_source_name(tv_config_source_t s)
{
    return s == TV_CONFIG_ENV ? "env" : s == TV_CONFIG_FLAG ? "flag" : "default";
}

void tv_config_each(const tv_config_t *cfg, void (*fn)(void *ud, const tv_config_item_t *it),
                    void *ud)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const void *slot = (const char *)cfg + opts[i].offset;
        char num[24];
        tv_config_item_t it = {opts[i].flag, NULL, (tv_config_source_t)cfg->sources[i], 0};
        if (opts[i].kind == OPT_STR) {
            it.value = *(char *const *)slot;
        } else {
            long long v = opts[i].kind == OPT_INT ? *(const int *)slot
                                                  : (long long)*(const int64_t *)slot;
            snprintf(num, sizeof num, "%lld", v);
            it.value = num;
        }
        for (size_t k = 0; k < sizeof secret_flags / sizeof secret_flags[0]; k++)
            it.secret |= strcmp(secret_flags[k], opts[i].flag) == 0;
        fn(ud, &it);
    }
}

/* Appends n bytes of s to out[*len] (size bytes), always NUL-terminated. */
static void put(char *out, size_t size, size_t *len, const char *s, size_t n)
{
    if (*len + 1 >= size)
        return;
    if (n > size - 1 - *len)
        n = size - 1 - *len;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = 0;
}

char *tv_config_mask_url(const char *url, const char *mask, char *out, size_t size)
{
    size_t len = 0, ml = strlen(mask);
    if (!size)
        return out;
    out[0] = 0;
    const char *p = url, *scheme = strstr(url, "://");
    if (scheme) {
        /* user-info ends at the last '@' of the whole text: a password may hold '/', '?' or
         * '@' unencoded, and masking too much is better than showing a secret */
        const char *auth = scheme + 3, *at = strrchr(auth, '@');
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            put(out, size, &len, url, (size_t)(colon + 1 - url));
            put(out, size, &len, mask, ml);
            p = at;
        }
    }
    /* query parameters named password (libpq takes them in a URL too) */
    const char *query = strchr(p, '?');
    if (!query) {
        put(out, size, &len, p, strlen(p));
        return out;
    }
    put(out, size, &len, p, (size_t)(query + 1 - p));
    for (const char *q = query + 1; *q;) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        if (eq && (size_t)(eq - q) == 8 && strncmp(q, "password", 8) == 0) {
            put(out, size, &len, q, 9);
            put(out, size, &len, mask, ml);
        } else {
            put(out, size, &len, q, n);
        }
        q += n;
        if (*q == '&')
            put(out, size, &len, q++, 1);
    }
    return out;
}

const char *tv_config_usage(void)
{
    static char buf[8192];
    if (buf[0])
        return buf;
    size_t n = (size_t)snprintf(buf, sizeof buf,
        "tavern " TV_VERSION " - a self-hosted, Nakama-compatible game backend\n\n"
        "usage: tavern [flags]               serve the API, /ws and the console\n"
        "       tavern migrate up|status     apply or show the database schema\n"
        "       tavern --help | --version\n\nflags (each also an environment variable "
        "TAVERN_<FLAG>, e.g. TAVERN_DB for --db):\n");
    for (size_t i = 0; i < NOPTS && n < sizeof buf; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "  --%-22s %s\n", opts[i].flag,
                              opts[i].help);
    return buf;
}
