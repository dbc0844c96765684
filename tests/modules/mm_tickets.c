/* The matchmaker ticket test module (ABI 1.7 entries): RPCs that add, remove and list tickets
 * through the host table. tests/integration/matchmaker.test.mjs drives it.
 * - mm_add: the payload is a matchmaker_add body; the ticket is for the session named by the
 *   `session_id` query parameter (HTTP), else for the caller's socket session. Answers
 *   {"ticket": id, "session_id": sid}, or the entry's gRPC code.
 * - mm_remove: the payload is a ticket id. Answers "{}" or the code.
 * - mm_list: the `user_id`, `session_id` and `limit` query parameters filter; answers the
 *   entry's JSON array. */
#include <tavern/module.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tv_host_api_t *host;

static const char *query(const tv_mod_ctx_t *ctx, const char *key)
{
    for (size_t i = 0; i < ctx->nquery; i++)
        if (strcmp(ctx->query[i].key, key) == 0)
            return ctx->query[i].value;
    return NULL;
}

static int mm_add(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)len;
    const char *sid = query(ctx, "session_id");
    if (!sid)
        sid = ctx->session_id;
    char *ticket = NULL;
    int rc = host->matchmaker_add(ctx->module, sid, payload, &ticket);
    if (rc)
        return host->fail(out, rc, "matchmaker_add: %d", rc);
    char buf[160];
    int n = snprintf(buf, sizeof buf, "{\"ticket\":\"%s\",\"session_id\":\"%s\"}", ticket, sid);
    host->free(ticket);
    return host->reply(out, buf, (size_t)n);
}

static int mm_remove(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                     tv_mod_reply_t *out)
{
    (void)len;
    int rc = host->matchmaker_remove(ctx->module, payload);
    if (rc)
        return host->fail(out, rc, "matchmaker_remove: %d", rc);
    return host->reply(out, "{}", 2);
}

static int mm_list(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                   tv_mod_reply_t *out)
{
    (void)payload, (void)len;
    const char *limit = query(ctx, "limit");
    char *json = NULL;
    int rc = host->matchmaker_list(ctx->module, query(ctx, "user_id"), query(ctx, "session_id"),
                                   limit ? atoi(limit) : 0, &json);
    if (rc)
        return host->fail(out, rc, "matchmaker_list: %d", rc);
    rc = host->reply(out, json, strlen(json));
    host->free(json);
    return rc;
}

TV_MODULE("mm_tickets", "1.0.0");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    if (!TV_HOST_HAS(api, matchmaker_list))
        return 1; /* a server before ABI 1.7: refuse to load */
    int rc = api->register_rpc(mod, "mm_add", mm_add);
    if (!rc)
        rc = api->register_rpc(mod, "mm_remove", mm_remove);
    return rc ? rc : api->register_rpc(mod, "mm_list", mm_list);
}
