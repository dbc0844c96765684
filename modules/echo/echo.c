/* echo: the smallest tavern module, and the template to copy. It registers the RPC "echo",
 * which answers with the payload it was given (POST /v2/rpc/echo, or client.rpc(session,
 * "echo", {...}) in nakama-js).
 *
 * Outside the tavern tree, build it against the one header a module needs:
 *     cc -shared -fPIC -O2 -I<tavern>/api echo.c -o echo.so
 * then copy echo.so into the server's --module-path (default <data-dir>/modules) and start the
 * server, or send it SIGHUP to load it into a running one.
 *
 * What to keep when copying: TV_MODULE() (name and version) and tavern_module_init, which
 * registers everything the module offers; registration is refused after init returns. The
 * callbacks run on worker threads, several at once: keep shared state behind locks. */
#include <tavern/module.h>

static const tv_host_api_t *host;

/* The payload is borrowed for the call; host->reply copies it into the answer. */
static int echo(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)ctx;
    return host->reply(out, payload, len);
}

TV_MODULE("echo", "1.0.0");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    int rc = api->register_rpc(mod, "echo", echo);
    if (rc == 0)
        api->log(mod, TV_MOD_LOG_DEBUG, "registered rpc echo");
    return rc;
}
