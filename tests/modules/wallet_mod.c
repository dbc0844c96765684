/* The wallet test module: RPCs around the wallet host entries (ABI 1.5). wallet_update takes
 * the updates array as its payload (wallet_update_neg allows overdrafts); wallet_ledger_of takes
 * "user_id limit [cursor]". tests/integration/economy.test.mjs drives it. */
#include <tavern/module.h>

#include <stdio.h>
#include <string.h>

static const tv_host_api_t *host;

/* Answers with json (taken from the host) or the error code. */
static int answer(tv_mod_reply_t *out, int rc, char *json)
{
    if (rc) {
        host->free(json);
        return host->fail(out, rc, "host call failed with %d", rc);
    }
    int r = host->reply(out, json ? json : "", json ? strlen(json) : 0);
    host->free(json);
    return r;
}

static int update(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)n;
    int neg = strcmp(ctx->rpc_id, "wallet_update_neg") == 0;
    char *json = NULL;
    int rc = host->wallet_update(ctx->module, p, neg, &json);
    return answer(out, rc, json);
}

static int ledger(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)n;
    char uid[64], cursor[128] = "";
    int limit;
    if (sscanf(p, "%63s %d %127s", uid, &limit, cursor) < 2)
        return host->fail(out, TV_GRPC_INVALID_ARGUMENT, "want: user_id limit [cursor]");
    char *json = NULL;
    int rc = host->wallet_ledger_list(ctx->module, uid, limit, cursor, &json);
    return answer(out, rc, json);
}

TV_MODULE("wallet_mod", "1.0.0");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    if (!TV_HOST_HAS(api, wallet_ledger_list))
        return 1; /* a server without wallets: refuse to load */
    int rc = api->register_rpc(mod, "wallet_update", update);
    if (!rc)
        rc = api->register_rpc(mod, "wallet_update_neg", update);
    return rc ? rc : api->register_rpc(mod, "wallet_ledger_of", ledger);
}
