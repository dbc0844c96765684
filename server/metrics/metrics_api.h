/* The console's figures: GET /metrics (the registry in Prometheus' text format, with the
 * gauges read from their owners at scrape time), and the Status page's API, GET
 * /v2/console/status and /status/history, fed by a sampler thread that keeps the last hour
 * (360 samples of 10 s) in memory. */
#ifndef TV_METRICS_METRICS_API_H
#define TV_METRICS_METRICS_API_H

#include "http.h"

#define TV_METRICS_HISTORY 360 /* samples kept: an hour at the default 10 s */

struct tv_rt;
struct tv_match;
struct tv_amatch;
struct tv_db;
struct tv_mm;

/* Where the figures come from; all borrowed, and must outlive the service. */
typedef struct tv_metrics_sources {
    struct tv_rt *rt;
    struct tv_match *matches;   /* relayed matches */
    struct tv_amatch *amatch;   /* authoritative matches */
    struct tv_db *db;
    struct tv_mm *mm;
    const char *node;           /* node name shown on the Status page */
    int sample_ms;              /* sampling period (10000) */
} tv_metrics_sources_t;

typedef struct tv_metrics_svc tv_metrics_svc_t;

/* Takes the first sample and starts the sampler thread. *out is owned by the caller
 * (tv_metrics_svc_free, before any source goes). TV_OK, TV_ENOMEM, TV_EINTERNAL (no thread). */
int tv_metrics_svc_new(const tv_metrics_sources_t *src, tv_metrics_svc_t **out);
/* Stops the sampler and frees s. NULL is fine. */
void tv_metrics_svc_free(tv_metrics_svc_t *s);

/* Route handlers; app is the server's tv_app_t, whose metrics member names the service.
 * GET /metrics: allowed with --metrics-open 1, with "Bearer <--metrics-token>", or with a
 * console token; else 401. */
void tv_metrics_http_scrape(tv_http_req_t *req, void *app);
/* GET /v2/console/status: the node's figures now, rates over the time since the last sample. */
void tv_metrics_http_status(tv_http_req_t *req, void *app);
/* GET /v2/console/status/history: {interval_ms, samples: [...]} oldest first. */
void tv_metrics_http_history(tv_http_req_t *req, void *app);

#endif
