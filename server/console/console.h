/* The admin console (port 7351): its sign-in and its web UI's files; later issues add the
 * endpoints behind it. */
#ifndef TV_CONSOLE_CONSOLE_H
#define TV_CONSOLE_CONSOLE_H

#include "embedded.h"
#include "http.h"

/* The web console's files (web-console/, compiled in by tools/embed.c), {NULL}-terminated:
 * served by the console port at their paths, "/" being index.html. */
extern const tv_embedded_t tv_web_console[];

/* POST /v2/console/authenticate {username, password} -> {token} */
void tv_console_authenticate(tv_http_req_t *req, void *app);

#endif
