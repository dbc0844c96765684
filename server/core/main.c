/* tavern's entry point: parse the configuration, then serve, migrate or print help. */
#include "config.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "server.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

extern char **environ;

static void print_line(const char *text, void *ud)
{
    (void)ud;
    printf("%s\n", text);
}

static int migrate(const tv_config_t *cfg)
{
    tv_db_t *db;
    if (tv_server_open_db(cfg, &db) != TV_OK)
        return 1;
    char err[512] = "";
    int rc = cfg->command == TV_CMD_MIGRATE_UP ? tv_db_migrate_up(db, err, sizeof err)
                                               : tv_db_migrate_status(db, print_line, NULL);
    if (rc)
        fprintf(stderr, "tavern: migrate: %s\n", err[0] ? err : tv_error_name(rc));
    else if (cfg->command == TV_CMD_MIGRATE_UP)
        printf("schema up to date\n");
    tv_db_close(db);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    tv_config_t cfg;
    char err[256];
    if (tv_config_parse(&cfg, argc, argv, environ, err, sizeof err) != TV_OK) {
        fprintf(stderr, "tavern: %s\n", err);
        tv_config_free(&cfg);
        return 2;
    }
    tv_log_level_t level = TV_LOG_INFO;
    tv_log_parse_level(cfg.log_level, &level);
    tv_log_set_level(level);
    tv_log_set_json(strcmp(cfg.log_format, "json") == 0);
    int rc = 0;
    if (sodium_init() < 0) {
        fprintf(stderr, "tavern: libsodium failed to start\n");
        rc = 1;
    } else if (cfg.command == TV_CMD_HELP) {
        fputs(tv_config_usage(), stdout);
    } else if (cfg.command == TV_CMD_VERSION) {
        printf("tavern %s\n", TV_VERSION);
    } else if (cfg.command == TV_CMD_SERVE) {
        rc = tv_server_run(&cfg);
    } else {
        rc = migrate(&cfg);
    }
    tv_config_free(&cfg);
    return rc;
}
