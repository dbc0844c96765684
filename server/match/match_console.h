/* The console's view of matches (console port, console token): relayed and authoritative
 * matches with their presences, one match with its tick figures, and stopping one. Each runs
 * on a worker and reads the in-memory registries under their own short locks; app is a
 * tv_app_t with matches (and amatch, when authoritative matches run) set. */
#ifndef TV_MATCH_MATCH_CONSOLE_H
#define TV_MATCH_MATCH_CONSOLE_H

#include "http.h"

#define TV_MATCH_CONSOLE_LIST_MAX 1000
#define TV_MATCH_CONSOLE_LIST_DEFAULT 100
/* How long a stop waits for an authoritative match's next tick to end it. */
#define TV_MATCH_CONSOLE_STOP_WAIT_MS 5000

/* GET /v2/console/match ?limit (1-1000, default 100) -> {matches: [...]}: authoritative ones
 * (oldest first), then relayed ones. */
void tv_match_console_list(tv_http_req_t *req, void *app);
/* GET /v2/console/match/{match_id} -> one match (authoritative: with its tick figures). */
void tv_match_console_get(tv_http_req_t *req, void *app);
/* POST /v2/console/match/{match_id}/stop -> {match_id, authoritative, ended}. */
void tv_match_console_stop(tv_http_req_t *req, void *app);

#endif
