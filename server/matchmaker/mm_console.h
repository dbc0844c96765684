/* The matchmaker's console route. */
#ifndef TV_MATCHMAKER_MM_CONSOLE_H
#define TV_MATCHMAKER_MM_CONSOLE_H

#include "http.h"

/* GET /v2/console/matchmaker -> {tickets, added, removed, groups, matched, expired, passes,
 * last_pass_us}; app is the tv_app_t. */
void tv_mm_console_stats(tv_http_req_t *req, void *app);

#endif
