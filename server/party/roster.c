/* One party's roster: members in join order, the leader, join requests, and the rules of
 * every change (who may act, size limits, the hand-over). Pure: no locks, no I/O; the
 * service (party.c) calls it under its lock and tells the sockets. */
#include "party.h"
#include "error.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

tv_party_t *tv_party_new(const char *id, int open, int hidden, int max_size, const char *label,
                         const tv_party_member_t *leader)
{
    tv_party_t *p = calloc(1, sizeof *p);
    if (!p || strlen(id) >= sizeof p->id || max_size < 1)
        goto fail;
    memcpy(p->id, id, strlen(id) + 1);
    p->open = open;
    p->hidden = hidden;
    p->max_size = max_size;
    if (label && *label && !(p->label = tv_strdup(label)))
        goto fail;
    if (!(p->members = malloc(4 * sizeof *p->members)))
        goto fail;
    p->cap = 4;
    p->members[0] = *leader;
    p->n = 1;
    return p;
fail:
    tv_party_free(p);
    return NULL;
}

void tv_party_free(tv_party_t *p)
{
    if (!p)
        return;
    free(p->label);
    free(p->members);
    free(p->requests);
    free(p);
}

int tv_party_find(const tv_party_member_t *arr, size_t n, const char *session_id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(arr[i].session_id, session_id) == 0)
            return (int)i;
    return -1;
}

int tv_party_is_leader(const tv_party_t *p, const char *session_id)
{
    return p->n > 0 && strcmp(p->members[p->leader].session_id, session_id) == 0;
}

/* Appends m to *arr (n of cap), growing it. TV_OK or TV_ENOMEM. */
static int append(tv_party_member_t **arr, size_t *n, size_t *cap, const tv_party_member_t *m)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 4;
        tv_party_member_t *na = realloc(*arr, nc * sizeof *na);
        if (!na)
            return TV_ENOMEM;
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = *m;
    return TV_OK;
}

static void drop(tv_party_member_t *arr, size_t *n, size_t i)
{
    memmove(arr + i, arr + i + 1, (*n - i - 1) * sizeof *arr);
    (*n)--;
}

int tv_party_join(tv_party_t *p, const tv_party_member_t *who, tv_party_join_t *out,
                  const char **why)
{
    *why = NULL;
    if (tv_party_find(p->members, p->n, who->session_id) >= 0 ||
        tv_party_find(p->requests, p->nreq, who->session_id) >= 0) {
        *out = TV_PARTY_UNCHANGED;
        return TV_OK;
    }
    if (p->n >= (size_t)p->max_size)
        return *why = "party full", TV_EBUSY;
    if (p->open) {
        *out = TV_PARTY_JOINED;
        return append(&p->members, &p->n, &p->cap, who);
    }
    if (p->nreq >= (size_t)p->max_size)
        return *why = "party join requests full", TV_EBUSY;
    *out = TV_PARTY_REQUESTED;
    return append(&p->requests, &p->nreq, &p->reqcap, who);
}

tv_party_left_t tv_party_leave(tv_party_t *p, const char *session_id, tv_party_member_t *gone,
                               int *new_leader)
{
    *new_leader = 0;
    int i = tv_party_find(p->requests, p->nreq, session_id);
    if (i >= 0) {
        *gone = p->requests[i];
        drop(p->requests, &p->nreq, (size_t)i);
        return TV_PARTY_LEFT_REQUEST;
    }
    if ((i = tv_party_find(p->members, p->n, session_id)) < 0)
        return TV_PARTY_LEFT_NONE;
    *gone = p->members[i];
    drop(p->members, &p->n, (size_t)i);
    if ((size_t)i == p->leader) {
        p->leader = 0; /* the oldest member left, as Nakama hands over */
        *new_leader = p->n > 0;
    } else if ((size_t)i < p->leader) {
        p->leader--;
    }
    return TV_PARTY_LEFT_MEMBER;
}

/* target's index in arr: the same session and user. */
static int find_target(const tv_party_member_t *arr, size_t n, const tv_party_member_t *target)
{
    int i = tv_party_find(arr, n, target->session_id);
    return i >= 0 && strcmp(arr[i].user_id, target->user_id) == 0 ? i : -1;
}

int tv_party_promote(tv_party_t *p, const char *by_session, const tv_party_member_t *target,
                     const char **why)
{
    if (!tv_party_is_leader(p, by_session))
        return *why = "party leader only", TV_EPERM;
    int i = find_target(p->members, p->n, target);
    if (i < 0)
        return *why = "party member not found", TV_ENOTFOUND;
    p->leader = (size_t)i;
    return TV_OK;
}

int tv_party_accept(tv_party_t *p, const char *by_session, const tv_party_member_t *target,
                    const char **why)
{
    if (!tv_party_is_leader(p, by_session))
        return *why = "party leader only", TV_EPERM;
    if (p->n >= (size_t)p->max_size)
        return *why = "party full", TV_EBUSY;
    int i = find_target(p->requests, p->nreq, target);
    if (i < 0)
        return *why = "party join request not found", TV_ENOTFOUND;
    tv_party_member_t m = p->requests[i];
    if (append(&p->members, &p->n, &p->cap, &m) != TV_OK)
        return *why = "no memory", TV_ENOMEM;
    drop(p->requests, &p->nreq, (size_t)i);
    return TV_OK;
}

int tv_party_remove(tv_party_t *p, const char *by_session, const tv_party_member_t *target,
                    int *was_member, const char **why)
{
    *was_member = 0;
    if (!tv_party_is_leader(p, by_session))
        return *why = "party leader only", TV_EPERM;
    if (strcmp(target->session_id, by_session) == 0)
        return *why = "party cannot remove self", TV_EINVAL;
    int i = find_target(p->members, p->n, target);
    if (i >= 0) {
        drop(p->members, &p->n, (size_t)i);
        if ((size_t)i < p->leader)
            p->leader--;
        *was_member = 1;
        return TV_OK;
    }
    if ((i = find_target(p->requests, p->nreq, target)) >= 0) {
        drop(p->requests, &p->nreq, (size_t)i);
        return TV_OK;
    }
    return *why = "party member not found", TV_ENOTFOUND;
}
