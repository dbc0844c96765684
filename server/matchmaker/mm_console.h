/* The matchmaker's console route. */
#ifndef TV_MATCHMAKER_MM_CONSOLE_H
#define TV_MATCHMAKER_MM_CONSOLE_H

#include "http.h"

/* GET /v2/console/matchmaker -> {tickets, added, removed, groups, matched, expired, passes,
 * last_pass_us}; app is the tv_app_t. */
void tv_mm_console_stats(tv_http_req_t *req, void *app);

#define TV_MM_CONSOLE_TICKETS_MAX 1000 /* tickets one listing shows at most */

/* GET /v2/console/matchmaker/matched?limit= (1-256, default 100) -> {entries: [...] newest
 * first (tv_mm_history), total: entries ever recorded}; 400 for a bad limit. Empty members
 * (zeros, "", false, {}, []) are left out, as protojson does, in both listings. */
void tv_mm_console_matched(tv_http_req_t *req, void *app);
/* GET /v2/console/matchmaker/tickets?limit=&user_id=&session_id= (limit 1-1000, default 100;
 * filters UUIDs) -> {tickets: [...] oldest first (tv_mm_list), total: tickets that fit the
 * filters}; 400 for a bad limit or filter. */
void tv_mm_console_tickets(tv_http_req_t *req, void *app);

#endif
