/* The admin console's API (port 7351): sign-in now; later issues add the endpoints behind it. */
#ifndef TV_CONSOLE_CONSOLE_H
#define TV_CONSOLE_CONSOLE_H

#include "http.h"

/* POST /v2/console/authenticate {username, password} -> {token} */
void tv_console_authenticate(tv_http_req_t *req, void *app);

#endif
