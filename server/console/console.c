/* The admin console's API. Sign-in compares with the configured user and password in constant
 * time and returns a console token (its own key: game session tokens are refused here). */
#include "console.h"
#include "app.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "token.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONSOLE_TOKEN_TTL (24 * 3600)

static int same(const char *a, const char *b)
{
    size_t n = strlen(b);
    return a && strlen(a) == n && sodium_memcmp(a, b, n) == 0;
}

void tv_console_authenticate(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    cJSON *body = tv_http_body_json(req);
    if (!body)
        return;
    const char *user, *password;
    if (tv_json_get_str(body, "username", NULL, &user) ||
        tv_json_get_str(body, "password", NULL, &password)) {
        tv_http_error(req, TV_EINVAL, "Invalid username or password: must be strings.");
        return;
    }
    /* both compared, whatever the first says, so timing tells nothing */
    int ok = same(user, app->cfg->console_user);
    ok &= same(password, app->cfg->console_password);
    if (!ok) {
        tv_log_warn("console", "failed console sign-in");
        tv_http_error(req, TV_EUNAUTH, "Invalid credentials.");
        return;
    }
    tv_token_claims_t c = {0};
    tv_uuid_v4(c.tid);
    snprintf(c.usn, sizeof c.usn, "%s", user);
    c.iat = tv_now_s();
    c.exp = c.iat + CONSOLE_TOKEN_TTL;
    char *token = NULL;
    if (tv_token_encode(app->console_key, &c, &token) != TV_OK) {
        tv_http_error(req, TV_EINTERNAL, "Internal server error.");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "token", token);
    free(token);
    tv_http_reply_json(req, o);
}
