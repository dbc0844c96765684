/* The query subset of match listing and the matchmaker: the parser and the evaluation of a
 * parsed query against a JSON object (see query.h for the grammar). */
#include "query.h"
#include "error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tv_query_free(tv_query_t *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->t[i].path);
        free(q->t[i].value);
    }
    free(q->t);
    q->t = NULL;
    q->n = 0;
}

/* A boost (^N) after a value only weighs scores in Lucene; nothing here ranks by it. */
static const char *skip_boost(const char *s)
{
    if (*s != '^')
        return s;
    s++;
    while (*s && !isspace((unsigned char)*s))
        s++;
    return s;
}

/* The end of an unquoted value: whitespace, or a boost. */
static const char *word_end(const char *s)
{
    while (*s && !isspace((unsigned char)*s) && *s != '^')
        s++;
    return s;
}

static int push_term(tv_query_t *q, size_t *cap, const tv_query_term_t *t)
{
    if (q->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 4;
        tv_query_term_t *nt = realloc(q->t, nc * sizeof *nt);
        if (!nt)
            return TV_ENOMEM;
        q->t = nt;
        *cap = nc;
    }
    q->t[q->n++] = *t;
    return TV_OK;
}

/* Parses one term at *sp (not at whitespace) into t. TV_OK, TV_EINVAL or TV_ENOMEM. */
static int parse_term(const char **sp, const char *prefix, tv_query_term_t *t)
{
    const char *s = *sp;
    size_t plen = strlen(prefix);
    if (*s == '+' || *s == '-')
        t->occur = *s++ == '+' ? 1 : -1;
    const char *start = s;
    while (*s && !isspace((unsigned char)*s) && *s != ':' && *s != '"')
        s++;
    size_t flen = (size_t)(s - start);
    const char *vstart = start;
    if (*s == ':') {
        if (flen <= plen || strncmp(start, prefix, plen) != 0)
            return TV_EINVAL;
        if (!(t->path = strndup(start + plen, flen - plen)))
            return TV_ENOMEM;
        vstart = ++s;
    } else {
        s = start;
    }
    const char *vend;
    if (*s == '"') {
        vstart = ++s;
        while (*s && *s != '"')
            s++;
        if (!*s)
            return TV_EINVAL;
        vend = s++;
    } else {
        if (t->path && (s[0] == '>' || s[0] == '<')) {
            t->range = s[0] == '>' ? (s[1] == '=' ? 1 : 3) : (s[1] == '=' ? 2 : 4);
            s += s[1] == '=' ? 2 : 1;
            vstart = s;
        }
        s = vend = word_end(s);
    }
    s = skip_boost(s);
    if (*s && !isspace((unsigned char)*s))
        return TV_EINVAL;
    if (vend == vstart && !t->path)
        return TV_EINVAL;
    if (!(t->value = strndup(vstart, (size_t)(vend - vstart))))
        return TV_ENOMEM;
    if (t->range) {
        char *e;
        t->num = strtod(t->value, &e);
        if (e == t->value || *e)
            return TV_EINVAL;
    }
    *sp = s;
    return TV_OK;
}

int tv_query_parse(const char *s, const char *prefix, tv_query_t *q)
{
    memset(q, 0, sizeof *q);
    size_t cap = 0;
    while (*s) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        tv_query_term_t t = {0};
        int rc = parse_term(&s, prefix, &t);
        if (rc == TV_OK)
            rc = push_term(q, &cap, &t);
        if (rc != TV_OK) {
            free(t.path);
            free(t.value);
            tv_query_free(q);
            return rc;
        }
    }
    return TV_OK;
}

static int value_matches(const cJSON *v, const tv_query_term_t *t)
{
    if (cJSON_IsArray(v)) {
        for (const cJSON *e = v->child; e; e = e->next)
            if (value_matches(e, t))
                return 1;
        return 0;
    }
    if (t->range) {
        if (!cJSON_IsNumber(v))
            return 0;
        double d = v->valuedouble;
        switch (t->range) {
        case 1: return d >= t->num;
        case 2: return d <= t->num;
        case 3: return d > t->num;
        default: return d < t->num;
        }
    }
    if (strcmp(t->value, "*") == 0)
        return 1;
    if (cJSON_IsString(v))
        return strcmp(v->valuestring, t->value) == 0;
    if (cJSON_IsBool(v))
        return strcmp(t->value, cJSON_IsTrue(v) ? "true" : "false") == 0;
    if (cJSON_IsNumber(v)) {
        char *e;
        double d = strtod(t->value, &e);
        return e != t->value && !*e && d == v->valuedouble;
    }
    return 0;
}

static int term_matches(const cJSON *doc, const char *text, const tv_query_term_t *t)
{
    if (!t->path) /* a bare "*" is Lucene's match-all */
        return strcmp(t->value, "*") == 0 || strstr(text, t->value) != NULL;
    if (!doc)
        return 0;
    const cJSON *v = doc;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", t->path);
    for (char *save, *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, k) : NULL;
    return v && value_matches(v, t);
}

int tv_query_score(const tv_query_t *q, const cJSON *doc, const char *text)
{
    int musts = 0, shoulds = 0, score = 0;
    for (size_t i = 0; i < q->n; i++) {
        int hit = term_matches(doc, text ? text : "", &q->t[i]);
        if (q->t[i].occur == 1) {
            musts++;
            if (!hit)
                return -1;
        } else if (q->t[i].occur == -1) {
            if (hit)
                return -1;
        } else {
            shoulds++;
            score += hit;
        }
    }
    if (!musts && shoulds && !score)
        return -1;
    return score;
}
