/* A test module for notification_send (ABI 1.4): the RPC "notify" takes
 * {"user_id","subject","content","code","sender_id","persistent"} (content as a JSON object,
 * sent on as its text) and answers {} or fails with the host's code.
 * tests/integration/notification.test.mjs and tests/compat/notification.test.mjs drive it. */
#include <tavern/module.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tv_host_api_t *host;

/* The string value of "key" in a flat JSON text, copied into buf; NULL when absent. Enough
 * for the test's own payloads (no escapes), which keeps this module free of a JSON library. */
static const char *field(const char *json, const char *key, char *buf, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    const char *end = strchr(p, '"');
    if (!end || (size_t)(end - p) >= cap)
        return NULL;
    memcpy(buf, p, (size_t)(end - p));
    buf[end - p] = 0;
    return buf;
}

/* The object value of "content" (no nested objects), copied into buf; NULL when absent. */
static const char *object(const char *json, const char *key, char *buf, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":{", key);
    const char *p = strstr(json, pat);
    if (!p)
        return NULL;
    p += strlen(pat) - 1;
    const char *end = strchr(p, '}');
    if (!end || (size_t)(end - p + 1) >= cap)
        return NULL;
    memcpy(buf, p, (size_t)(end - p + 1));
    buf[end - p + 1] = 0;
    return buf;
}

static int rpc_notify(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                      tv_mod_reply_t *out)
{
    (void)len;
    char uid[64], subject[512], content[1024], sender[64];
    const char *code = strstr(payload, "\"code\":");
    int rc = host->notification_send(
        ctx->module, field(payload, "user_id", uid, sizeof uid),
        field(payload, "subject", subject, sizeof subject),
        object(payload, "content", content, sizeof content), code ? atoi(code + 7) : 1,
        field(payload, "sender_id", sender, sizeof sender),
        strstr(payload, "\"persistent\":true") != NULL);
    if (rc)
        return host->fail(out, rc, "notification_send failed with code %d", rc);
    return host->reply(out, "{}", 2); /* JSON: nakama-js parses RPC results */
}

TV_MODULE("notify_mod", "1.0.0");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    if (!TV_HOST_HAS(api, notification_send)) {
        api->log(mod, TV_MOD_LOG_ERROR, "this server has no notification entries");
        return 1;
    }
    return api->register_rpc(mod, "notify", rpc_notify);
}
