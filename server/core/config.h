/* Server configuration: defaults, TAVERN_* environment variables, then command-line flags. */
#ifndef TV_CORE_CONFIG_H
#define TV_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TV_CMD_SERVE, TV_CMD_HELP, TV_CMD_VERSION, TV_CMD_MIGRATE_UP,
               TV_CMD_MIGRATE_STATUS } tv_command_t;

/* Where a flag's value came from. */
typedef enum { TV_CONFIG_DEFAULT, TV_CONFIG_ENV, TV_CONFIG_FLAG } tv_config_source_t;
#define TV_CONFIG_MAX_OPTS 64

typedef struct tv_config {
    tv_command_t command;
    char *address;          /* interface to bind, "0.0.0.0" by default */
    int port;               /* public API + /ws, 7350 */
    int console_port;       /* admin console, 7351 */
    char *db_url;           /* sqlite:///path or postgres://...; NULL = <data_dir>/tavern.db */
    char *data_dir;         /* "./data" */
    char *server_key;       /* "defaultkey" */
    char *http_key;         /* "defaulthttpkey" */
    char *session_secret;   /* NULL = generated and persisted in data_dir */
    char *refresh_secret;   /* NULL = generated and persisted in data_dir */
    int64_t session_ttl;    /* seconds */
    int64_t refresh_ttl;    /* seconds */
    char *console_user;     /* "admin" */
    char *console_password; /* "password" */
    int64_t console_token_ttl; /* console token lifetime in seconds, 3600 */
    int console_max_failures;  /* consecutive failed sign-ins that lock a console user, 5 */
    int64_t console_lockout;   /* seconds a locked console user waits, 900 */
    char *module_path;      /* NULL = <data_dir>/modules */
    char *log_level;        /* debug|info|warn|error */
    char *log_format;       /* text|json */
    int http_threads;       /* libmicrohttpd I/O threads */
    int ws_threads;         /* libwebsockets contexts, one service thread each */
    int workers;            /* threads that run handlers (SQL) */
    int db_pool;            /* max database connections */
    int hash_concurrency;   /* password hashes running at once */
    int max_body;           /* largest request body in bytes */
    int mm_interval_ms;     /* matchmaker pass period */
    int mm_max_intervals;   /* passes before an unmatched ticket expires */
    int mm_max_tickets;     /* tickets per session */
    char *mm_rating_property; /* numeric property read as the rating ("rating") */
    int mm_rating_step;     /* rating window half-width per interval waited */
    unsigned char sources[TV_CONFIG_MAX_OPTS]; /* tv_config_source_t of each flag, by index */
    int slow_request_ms;    /* HTTP requests slower than this get a warn line (0: off) */
    char *metrics_token;    /* NULL: GET /metrics takes a console token only */
    int metrics_open;       /* 1: GET /metrics needs no credentials */
    int status_sample_ms;   /* the Status page's sampling period (10000) */
    int ws_ping_interval;   /* seconds of silence before a WebSocket PING (15) */
    int ws_pong_timeout;    /* seconds without a PONG or message before a drop (25) */
} tv_config_t;

/* Fills cfg from defaults, envp (TAVERN_* variables, may be NULL) and argv. On a bad flag or
 * value returns TV_EINVAL with a one-line reason in err. Strings in cfg are owned by cfg. */
int tv_config_parse(tv_config_t *cfg, int argc, char **argv, char **envp,
                    char *err, size_t errlen);
void tv_config_free(tv_config_t *cfg);
/* One flag as the console shows it: name without "--", the value as text (NULL when unset),
 * where it came from, and whether it is a secret (never shown). */
typedef struct tv_config_item {
    const char *flag;
    const char *value;
    tv_config_source_t source;
    int secret;
} tv_config_item_t;
/* Calls fn for every flag in --help order. The value is borrowed for the call (numbers are
 * formatted into a buffer of the caller's stack). A secret's value is passed as it is: the
 * caller masks it. */
void tv_config_each(const tv_config_t *cfg, void (*fn)(void *ud, const tv_config_item_t *it),
                    void *ud);
/* Copies url into out (size bytes, NUL-terminated, cut if it must) with the password of its
 * user-info ("scheme://user:PASSWORD@host") and any password=... query parameter replaced by
 * mask. Returns out. */
char *tv_config_mask_url(const char *url, const char *mask, char *out, size_t size);
/* "default", "env" or "flag". */
const char *tv_config_source_name(tv_config_source_t s);

/* The --help text. */
const char *tv_config_usage(void);

#endif
