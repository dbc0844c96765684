/* The query subset shared by match listing (over a label) and the matchmaker (over a ticket's
 * properties): Bluge/Lucene-like terms [+|-]<prefix><path>:<value>, quoted values, numeric
 * ranges >=N <=N >N <N, boosts (^N) parsed and ignored, "*" matching anything. */
#ifndef TV_CORE_QUERY_H
#define TV_CORE_QUERY_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct tv_query_term {
    int occur;       /* 1 must, -1 must not, 0 should */
    char *path;      /* after the prefix, dotted; NULL for a bare word */
    char *value;     /* owned */
    int range;       /* 0 equal, 1 >=, 2 <=, 3 >, 4 < */
    double num;
} tv_query_term_t;

typedef struct tv_query {
    tv_query_term_t *t; /* owned */
    size_t n;
} tv_query_t;

/* Parses s; field terms must start with prefix ("label." or "properties."). Fills *q (free
 * with tv_query_free, also after an error). TV_OK, TV_EINVAL for a term it does not
 * understand, TV_ENOMEM. */
int tv_query_parse(const char *s, const char *prefix, tv_query_t *q);
/* -1 when doc fails q; otherwise the number of should terms matched. doc (may be NULL) is the
 * object the field paths walk; text is what bare words are searched in (may be NULL). An empty
 * query accepts everything with score 0. */
int tv_query_score(const tv_query_t *q, const cJSON *doc, const char *text);
void tv_query_free(tv_query_t *q);

#endif
