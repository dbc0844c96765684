/* Unit tests of configuration parsing: defaults, TAVERN_* variables, flags and refusals. */
#include "check.h"
#include "config.h"
#include "error.h"

#include <string.h>

static int parse(tv_config_t *c, int argc, char **argv, char **env, char *err)
{
    return tv_config_parse(c, argc, argv, env, err, 256);
}

static void test_defaults(void)
{
    tv_config_t c;
    char err[256];
    char *argv[] = {"tavern"};
    CHECK(parse(&c, 1, argv, NULL, err) == TV_OK);
    CHECK(c.command == TV_CMD_SERVE);
    CHECK(c.port == 7350 && c.console_port == 7351);
    CHECK(strcmp(c.server_key, "defaultkey") == 0);
    CHECK(strcmp(c.data_dir, "./data") == 0);
    CHECK(c.db_url == NULL && c.session_secret == NULL);
    CHECK(c.session_ttl == 7200 && c.refresh_ttl == 604800);
    CHECK(c.max_body == 262144);
    tv_config_free(&c);
}

static void test_env_then_flags(void)
{
    tv_config_t c;
    char err[256];
    char *env[] = {"TAVERN_PORT=9000", "TAVERN_SERVER_KEY=fromenv", "TAVERN_SESSION_TTL=600",
                   "OTHER=1", NULL};
    char *argv[] = {"tavern", "--port", "9100", "--db=postgres://u:p@h/d"};
    CHECK(parse(&c, 4, argv, env, err) == TV_OK);
    CHECK(c.port == 9100);                           /* flag beats env */
    CHECK(strcmp(c.server_key, "fromenv") == 0);     /* env beats default */
    CHECK(c.session_ttl == 600);
    CHECK(strcmp(c.db_url, "postgres://u:p@h/d") == 0);
    tv_config_free(&c);
}

static void test_refusals(void)
{
    tv_config_t c;
    char err[256];
    char *bad_port[] = {"tavern", "--port", "70000"};
    CHECK(parse(&c, 3, bad_port, NULL, err) == TV_EINVAL && strstr(err, "--port"));
    tv_config_free(&c);
    char *not_num[] = {"tavern", "--workers", "many"};
    CHECK(parse(&c, 3, not_num, NULL, err) == TV_EINVAL);
    tv_config_free(&c);
    char *unknown[] = {"tavern", "--frobnicate"};
    CHECK(parse(&c, 2, unknown, NULL, err) == TV_EINVAL && strstr(err, "unknown flag"));
    tv_config_free(&c);
    char *missing[] = {"tavern", "--db"};
    CHECK(parse(&c, 2, missing, NULL, err) == TV_EINVAL && strstr(err, "needs a value"));
    tv_config_free(&c);
    char *fmt[] = {"tavern", "--log-format", "xml"};
    CHECK(parse(&c, 3, fmt, NULL, err) == TV_EINVAL);
    tv_config_free(&c);
    char *same[] = {"tavern", "--port", "8000", "--console-port", "8000"};
    CHECK(parse(&c, 5, same, NULL, err) == TV_EINVAL);
    tv_config_free(&c);
    char *bad_env[] = {"TAVERN_PORT=abc", NULL};
    char *plain[] = {"tavern"};
    CHECK(parse(&c, 1, plain, bad_env, err) == TV_EINVAL);
    tv_config_free(&c);
    char *empty_key[] = {"tavern", "--server-key", ""};
    CHECK(parse(&c, 3, empty_key, NULL, err) == TV_EINVAL);
    tv_config_free(&c);
}

static void test_matchmaker(void)
{
    tv_config_t c;
    char err[256];
    char *plain[] = {"tavern"};
    CHECK(parse(&c, 1, plain, NULL, err) == TV_OK && c.mm_interval_ms == 15000 &&
          c.mm_max_tickets == 3 && c.mm_rating_step == 100 && c.mm_max_intervals == 10 &&
          strcmp(c.mm_rating_property, "rating") == 0);
    tv_config_free(&c);
    char *env[] = {"TAVERN_MATCHMAKER_INTERVAL_MS=50", NULL};
    char *flags[] = {"tavern", "--matchmaker-rating-property", "elo",
                     "--matchmaker-max-tickets=5"};
    CHECK(parse(&c, 4, flags, env, err) == TV_OK && c.mm_interval_ms == 50 &&
          c.mm_max_tickets == 5 && strcmp(c.mm_rating_property, "elo") == 0);
    tv_config_free(&c);
    char *slow[] = {"tavern", "--matchmaker-interval-ms", "5"};
    CHECK(parse(&c, 3, slow, NULL, err) == TV_EINVAL && strstr(err, "matchmaker-interval-ms"));
    tv_config_free(&c);
    char *dotted[] = {"tavern", "--matchmaker-rating-property", "a.b"};
    CHECK(parse(&c, 3, dotted, NULL, err) == TV_EINVAL && strstr(err, "rating-property"));
    tv_config_free(&c);
    CHECK(strstr(tv_config_usage(), "--matchmaker-max-intervals") != NULL);
}

static void test_commands(void)
{
    tv_config_t c;
    char err[256];
    char *up[] = {"tavern", "migrate", "up"};
    CHECK(parse(&c, 3, up, NULL, err) == TV_OK && c.command == TV_CMD_MIGRATE_UP);
    tv_config_free(&c);
    char *status[] = {"tavern", "--data-dir", "/tmp/x", "migrate", "status"};
    CHECK(parse(&c, 5, status, NULL, err) == TV_OK && c.command == TV_CMD_MIGRATE_STATUS);
    CHECK(strcmp(c.data_dir, "/tmp/x") == 0);
    tv_config_free(&c);
    char *bad[] = {"tavern", "migrate", "down"};
    CHECK(parse(&c, 3, bad, NULL, err) == TV_EINVAL);
    tv_config_free(&c);
    char *help[] = {"tavern", "--help"};
    CHECK(parse(&c, 2, help, NULL, err) == TV_OK && c.command == TV_CMD_HELP);
    tv_config_free(&c);
    const char *usage = tv_config_usage();
    CHECK(strstr(usage, "--session-secret") && strstr(usage, "--console-password") &&
          strstr(usage, "migrate up|status"));
}

static const char *mask(const char *url)
{
    static char out[256];
    return tv_config_mask_url(url, "********", out, sizeof out);
}

/* The database URL as the console shows it: never the password. */
static void test_mask_url(void)
{
    CHECK(strcmp(mask("postgres://u:secret@h:5432/d"), "postgres://u:********@h:5432/d") == 0);
    CHECK(strcmp(mask("postgres://u@h/d"), "postgres://u@h/d") == 0);
    CHECK(strcmp(mask("postgres://h/d"), "postgres://h/d") == 0);
    CHECK(strcmp(mask("sqlite:///var/lib/tavern/t.db"), "sqlite:///var/lib/tavern/t.db") == 0);
    CHECK(strcmp(mask("postgresql://u:p@ss/w?rd@h/d?sslmode=require"),
                 "postgresql://u:********@h/d?sslmode=require") == 0); /* unencoded / ? @ */
    CHECK(strcmp(mask("postgres://h/d?sslmode=require&password=secret&x=1"),
                 "postgres://h/d?sslmode=require&password=********&x=1") == 0);
    CHECK(strcmp(mask("postgres://u:a@h/d?password=b"), "postgres://u:********@h/d?password=********") == 0);
    CHECK(strcmp(mask("postgres://u:@h/d"), "postgres://u:********@h/d") == 0);
    CHECK(strcmp(mask(""), "") == 0);
    char tiny[12];
    tv_config_mask_url("postgres://u:secret@h/d", "********", tiny, sizeof tiny);
    CHECK(strlen(tiny) == 11 && !strstr(tiny, "secret")); /* cut, NUL-terminated */
}

typedef struct {
    int n, secrets, env, flag;
    char seen[512];
} each_t;

static void count_item(void *ud, const tv_config_item_t *it)
{
    each_t *e = ud;
    e->n++;
    e->secrets += it->secret;
    e->env += it->source == TV_CONFIG_ENV;
    e->flag += it->source == TV_CONFIG_FLAG;
    if (it->secret)
        snprintf(e->seen + strlen(e->seen), sizeof e->seen - strlen(e->seen), "%s ", it->flag);
    if (strcmp(it->flag, "workers") == 0)
        CHECK(strcmp(it->value, "3") == 0);
}

/* Every flag with its source; the secrets marked. */
static void test_each(void)
{
    tv_config_t c;
    char err[256];
    char *env[] = {"TAVERN_HTTP_KEY=h", NULL};
    char *argv[] = {"tavern", "--workers", "3", "--console-password=p"};
    CHECK(parse(&c, 4, argv, env, err) == TV_OK);
    each_t e = {0};
    tv_config_each(&c, count_item, &e);
    CHECK(e.n >= 27 && e.env == 1 && e.flag == 2);
    CHECK(e.secrets == 5);
    CHECK(strcmp(e.seen, "server-key http-key session-secret refresh-secret console-password ") == 0);
    CHECK(strcmp(tv_config_source_name(TV_CONFIG_ENV), "env") == 0);
    tv_config_free(&c);
}

int main(void)
{
    test_mask_url();
    test_each();
    test_defaults();
    test_env_then_flags();
    test_refusals();
    test_commands();
    test_matchmaker();
    return check_summary();
}
