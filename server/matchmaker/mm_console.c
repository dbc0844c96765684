/* GET /v2/console/matchmaker: the matchmaker's figures (tickets waiting, groups formed,
 * tickets matched and expired, passes and the last pass's duration) for the console. */
#include "mm_console.h"
#include "app.h"
#include "error.h"
#include "http.h"
#include "matchmaker.h"

void tv_mm_console_stats(tv_http_req_t *req, void *app)
{
    tv_mm_stats_t st;
    tv_mm_stats(((tv_app_t *)app)->matchmaker, &st);
    cJSON *o = cJSON_CreateObject();
    const struct { const char *k; int64_t v; } f[] = {
        {"tickets", st.tickets}, {"added", st.added}, {"removed", st.removed},
        {"groups", st.groups}, {"matched", st.matched}, {"expired", st.expired},
        {"passes", st.passes}, {"last_pass_us", st.last_pass_us},
    };
    /* zeros are left out, as protojson does for every response */
    for (size_t i = 0; o && i < sizeof f / sizeof f[0]; i++)
        if (f[i].v && !cJSON_AddNumberToObject(o, f[i].k, (double)f[i].v)) {
            cJSON_Delete(o);
            o = NULL;
        }
    if (!o) {
        tv_http_error(req, TV_ENOMEM, "No memory.");
        return;
    }
    tv_http_reply_json(req, o);
}
