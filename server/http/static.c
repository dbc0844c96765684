/* Static files on a daemon that has some (the console's web UI): GET/HEAD of an exact name in
 * an embedded table, answered on the I/O thread from memory, with an ETag and the browser
 * security headers. Anything not in the table is left to the caller (its JSON 404). */
#include "http_internal.h"
#include "error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No inline script or style, nothing framed, no form posts; connect-src is open to http(s)
 * because the API explorer calls the API port, another origin. */
#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
            "connect-src 'self' http: https:; base-uri 'none'; form-action 'none'; "         \
            "frame-ancestors 'none'"

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

int tv_http_static_init(tv_http_static_t *st, const tv_embedded_t *files)
{
    st->files = files;
    st->n = 0;
    st->etags = NULL;
    if (!files)
        return TV_OK;
    while (files[st->n].name)
        st->n++;
    st->etags = calloc(st->n ? st->n : 1, sizeof *st->etags);
    if (!st->etags)
        return TV_ENOMEM;
    for (size_t i = 0; i < st->n; i++) {
        /* FNV-1a 64 of the content: changes whenever a rebuilt binary serves other bytes */
        uint64_t hash = 14695981039346656037ull;
        for (size_t j = 0; j < files[i].len; j++) {
            hash ^= (unsigned char)files[i].text[j];
            hash *= 1099511628211ull;
        }
        snprintf(st->etags[i], sizeof st->etags[i], "\"%016llx\"", (unsigned long long)hash);
    }
    return TV_OK;
}

void tv_http_static_free(tv_http_static_t *st)
{
    free(st->etags);
    st->etags = NULL;
}

/* The table index of a request path, or -1. "/" is index.html. Only exact names match, so
 * "..", "//" or an encoded slash can never leave the table; they are refused anyway. */
static long find(const tv_http_static_t *st, const char *path)
{
    if (path[0] != '/')
        return -1;
    const char *name = path[1] ? path + 1 : "index.html";
    if (strstr(name, "..") || strstr(name, "//") || strchr(name, '\\') || name[0] == '/')
        return -1;
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->files[i].name, name) == 0)
            return (long)i;
    return -1;
}

static void add_headers(struct MHD_Response *r, const char *etag)
{
    MHD_add_response_header(r, "ETag", etag);
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

int tv_http_static_answer(const tv_http_static_t *st, struct MHD_Connection *c,
                          const tv_http_req_t *req, enum MHD_Result *result)
{
    if (!st->files || strncmp(req->path, "/v2/", 4) == 0)
        return TV_ENOTFOUND;
    long i = find(st, req->path);
    if (i < 0)
        return TV_ENOTFOUND;
    if (strcmp(req->method, "GET") != 0) /* HEAD reads as GET */
        return TV_EUNIMPL;
    const tv_embedded_t *f = &st->files[i];
    const char *etag = st->etags[i];
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    int fresh = inm && strstr(inm, etag) != NULL;
    struct MHD_Response *r = fresh
        ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
        : MHD_create_response_from_buffer(f->len, (void *)f->text, MHD_RESPMEM_PERSISTENT);
    if (!r) {
        *result = MHD_NO;
        return TV_OK;
    }
    add_headers(r, etag);
    if (!fresh)
        MHD_add_response_header(r, "Content-Type", content_type(f->name));
    *result = MHD_queue_response(c, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return TV_OK;
}
