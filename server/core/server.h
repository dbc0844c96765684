/* The running server: builds every subsystem from the configuration, serves until SIGINT or
 * SIGTERM, then shuts down in reverse order. */
#ifndef TV_CORE_SERVER_H
#define TV_CORE_SERVER_H

#include "config.h"

/* Opens the database named by cfg (or the default SQLite file in the data dir, creating the
 * dir). Returns TV_OK with *db owned by the caller. */
struct tv_db;
int tv_server_open_db(const tv_config_t *cfg, struct tv_db **db);

/* Serves until a stop signal. Returns the process exit code. */
int tv_server_run(const tv_config_t *cfg);

#endif
