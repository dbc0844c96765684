/* Route matching: patterns of literal segments and {param} segments, tried in table order.
 * libmicrohttpd hands over the path already URL-decoded. */
#include "http_internal.h"

#include <stdlib.h>
#include <string.h>

/* Matches one pattern against a path; on success stores copies of the {param} segments. */
static int match(const char *pat, const char *path, char **params)
{
    int np = 0;
    while (*pat && *path) {
        if (*pat != '{') {
            if (*pat++ != *path++)
                goto fail;
            continue;
        }
        const char *pend = strchr(pat, '}');
        const char *send = strchr(path, '/');
        size_t len = send ? (size_t)(send - path) : strlen(path);
        if (!pend || len == 0 || np == TV_HTTP_MAX_PARAMS)
            goto fail;
        params[np] = strndup(path, len);
        if (!params[np])
            goto fail;
        np++;
        pat = pend + 1;
        path += len;
    }
    if (*pat == 0 && *path == 0)
        return 1;
fail:
    for (int i = 0; i < np; i++) {
        free(params[i]);
        params[i] = NULL;
    }
    return 0;
}

const tv_http_route_t *tv_http_route_find(const tv_http_route_t *routes, tv_http_req_t *req)
{
    for (const tv_http_route_t *r = routes; r->method; r++) {
        char *params[TV_HTTP_MAX_PARAMS] = {0};
        if (!match(r->pattern, req->path, params))
            continue;
        if (strcmp(r->method, req->method) == 0) {
            memcpy(req->params, params, sizeof params);
            return r;
        }
        req->method_mismatch = 1;
        for (int i = 0; i < TV_HTTP_MAX_PARAMS; i++)
            free(params[i]);
    }
    return NULL;
}
