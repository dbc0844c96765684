/* The REST handlers of leaderboards and tournaments (game API) and of the console's board
 * management. Each runs on a worker; app is a tv_app_t whose leaderboards member is set. */
#ifndef TV_LEADERBOARD_API_H
#define TV_LEADERBOARD_API_H

#include "http.h"
#include "leaderboard.h"

/* POST /v2/leaderboard/{id} {score, subscore, metadata, operator} -> LeaderboardRecord */
void tv_lb_http_write(tv_http_req_t *req, void *app);
/* GET /v2/leaderboard/{id} ?owner_ids&limit&cursor&expiry -> LeaderboardRecordList */
void tv_lb_http_list(tv_http_req_t *req, void *app);
/* GET /v2/leaderboard/{id}/owner/{owner_id} ?limit&expiry&cursor -> LeaderboardRecordList */
void tv_lb_http_around(tv_http_req_t *req, void *app);
/* DELETE /v2/leaderboard/{id} -> {} (the caller's record) */
void tv_lb_http_delete(tv_http_req_t *req, void *app);

/* GET /v2/tournament ?category_start&category_end&start_time&end_time&limit&cursor */
void tv_tourn_http_list(tv_http_req_t *req, void *app);
/* POST /v2/tournament/{id}/join -> {} */
void tv_tourn_http_join(tv_http_req_t *req, void *app);
/* PUT or POST /v2/tournament/{id} -> LeaderboardRecord */
void tv_tourn_http_write(tv_http_req_t *req, void *app);
/* GET /v2/tournament/{id}, GET /v2/tournament/{id}/owner/{owner_id}, DELETE /v2/tournament/{id} */
void tv_tourn_http_records(tv_http_req_t *req, void *app);
void tv_tourn_http_around(tv_http_req_t *req, void *app);
void tv_tourn_http_delete(tv_http_req_t *req, void *app);

/* Console: POST/GET /v2/console/leaderboard, DELETE /v2/console/leaderboard/{id},
 * POST /v2/console/tournament. */
void tv_lb_console_create(tv_http_req_t *req, void *app);
void tv_lb_console_list(tv_http_req_t *req, void *app);
void tv_lb_console_delete(tv_http_req_t *req, void *app);
void tv_tourn_console_create(tv_http_req_t *req, void *app);
/* Console: GET /v2/console/leaderboard/{id} (definition, size, record_count),
 * GET /v2/console/leaderboard/{id}/records ?limit(1-1000, default 100)&cursor (ranked as
 * players see them), DELETE /v2/console/leaderboard/{id}/owner/{owner_id} (404 when there is
 * no record). Tournaments go through the same routes. */
void tv_lb_console_get(tv_http_req_t *req, void *app);
void tv_lb_console_records(tv_http_req_t *req, void *app);
void tv_lb_console_delete_record(tv_http_req_t *req, void *app);

/* A board definition from the console's JSON body (also the module host's def_json). d's
 * strings borrow from b, except metadata: *meta (malloc'd, free it even on failure). TV_OK, or
 * TV_EINVAL with *msg for the client. */
int tv_lb_def_from_json(const cJSON *b, int tournament, tv_lb_def_t *d, char **meta,
                        const char **msg);

#endif
