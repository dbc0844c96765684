/* The matchmaker test module: a matchmaker_matched hook that gives a group whose first user
 * has the string property mode "auth" an authoritative "mm_match" (created through the host
 * table, its params the group's entries), and leaves every other group to a relayed token.
 * The match's label counts the entries it was made for. A group whose first user has mode
 * "requeue" gets a token too, and the hook adds a new ticket (ABI 1.7 matchmaker_add, string
 * property tag "requeued") for that user's session: a module call made on the matcher thread
 * itself. tests/integration/matchmaker.test.mjs drives it. */
#include <tavern/module.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tv_host_api_t *host;

static int count_users(const char *entries)
{
    int n = 0;
    for (const char *p = entries; (p = strstr(p, "\"presence\"")); p++)
        n++;
    return n;
}

static void *m_init(const tv_mod_match_ctx_t *ctx, const char *params, size_t len,
                    tv_mod_match_init_t *out)
{
    (void)ctx;
    (void)len;
    static _Thread_local char label[64];
    snprintf(label, sizeof label, "{\"users\":%d}", count_users(params));
    out->tick_rate = 5;
    out->label = label;
    return calloc(1, 1);
}

static void *m_join_attempt(const tv_mod_match_ctx_t *ctx, void *state,
                            const tv_mod_presence_t *who, const tv_mod_kv_t *metadata,
                            size_t nmetadata, tv_mod_join_result_t *result)
{
    (void)ctx, (void)who, (void)metadata, (void)nmetadata, (void)result;
    return state; /* everyone is welcome */
}

static void *m_loop(const tv_mod_match_ctx_t *ctx, void *state,
                    const tv_mod_match_message_t *const *msgs, size_t n)
{
    (void)ctx, (void)msgs, (void)n;
    return state;
}

static void *m_terminate(const tv_mod_match_ctx_t *ctx, void *state, int grace_seconds)
{
    (void)ctx, (void)grace_seconds;
    free(state);
    return NULL;
}

static const tv_mod_match_handler_t match = {
    .size = sizeof match,
    .init = m_init,
    .join_attempt = m_join_attempt,
    .loop = m_loop,
    .terminate = m_terminate,
};

/* Adds a "requeued" ticket for the session of the first user of entries. */
static void requeue(const tv_mod_ctx_t *ctx, const char *entries)
{
    const char *s = strstr(entries, "\"session_id\":\"");
    char sid[37];
    if (!s || !TV_HOST_HAS(host, matchmaker_add) || sscanf(s + 14, "%36[0-9a-f-]", sid) != 1)
        return;
    char *ticket = NULL;
    int rc = host->matchmaker_add(ctx->module, sid,
                                  "{\"min_count\":2,\"max_count\":2,"
                                  "\"query\":\"+properties.tag:requeued\","
                                  "\"string_properties\":{\"tag\":\"requeued\"}}", &ticket);
    host->log(ctx->module, rc ? TV_MOD_LOG_WARN : TV_MOD_LOG_INFO, "requeue %s: %d %s", sid, rc,
              ticket ? ticket : "");
    host->free(ticket);
}

static int on_matched(const tv_mod_ctx_t *ctx, const char *entries, char **match_id)
{
    /* the first user's string properties come first in the text */
    const char *sp = strstr(entries, "\"string_properties\"");
    const char *mode = sp ? strstr(sp, "\"mode\":") : NULL;
    if (mode && strncmp(mode + 7, "\"requeue\"", 9) == 0) {
        requeue(ctx, entries);
        return 0; /* relayed */
    }
    if (!mode || strncmp(mode + 7, "\"auth\"", 6) != 0)
        return 0; /* relayed */
    return host->match_create(ctx->module, "mm_match", entries, match_id);
}

TV_MODULE("mm", "1.0.0");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    if (!TV_HOST_HAS(api, register_matchmaker_matched))
        return 1; /* a server without the matchmaker hook: refuse to load */
    int rc = api->register_match(mod, "mm_match", &match);
    return rc ? rc : api->register_matchmaker_matched(mod, on_matched);
}
