/* Clients' events (POST /v2/event, Nakama's api.Event) handed to the modules' event hooks
 * (register_event, ABI 1.8) off the request path: the handler answers {} at once and queues
 * the event; one thread calls the hooks, one event at a time. The queue is bounded
 * (TV_MOD_EVENT_QUEUE); a full queue drops the event with a (rate-limited) log line. */
#include "internal.h"
#include "app.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *json;            /* the event as the hooks see it */
    size_t len;
    char user_id[37], username[129];
    char *vars;            /* the session's vars JSON, or NULL */
    int64_t expiry;
} mod_event_t;

struct tv_mod_events {
    tv_mod_registry_t *registry;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    mod_event_t ring[TV_MOD_EVENT_QUEUE];
    size_t head, n;
    int stopping, started;
    pthread_t thread;
    uint64_t dropped;      /* since the last drop line */
    int64_t dropped_log_ms;
};

static void event_free(mod_event_t *e)
{
    free(e->json);
    free(e->vars);
}

static void *run(void *arg)
{
    tv_mod_events_t *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->n && !q->stopping)
            pthread_cond_wait(&q->cv, &q->mu);
        if (!q->n)
            break;
        mod_event_t e = q->ring[q->head];
        q->head = (q->head + 1) % TV_MOD_EVENT_QUEUE;
        q->n--;
        pthread_mutex_unlock(&q->mu);
        tv_mod_caller_t who = {.user_id = e.user_id, .username = e.username,
                               .vars_json = e.vars, .expiry = e.expiry};
        tv_mod_event_call(q->registry, &who, e.json, e.len);
        event_free(&e);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

int tv_mod_events_new(tv_mod_registry_t *r, tv_mod_events_t **out)
{
    tv_mod_events_t *q = calloc(1, sizeof *q);
    *out = NULL;
    if (!q)
        return TV_ENOMEM;
    q->registry = r;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    if (pthread_create(&q->thread, NULL, run, q) != 0) {
        tv_mod_events_free(q);
        return TV_ENOMEM;
    }
    q->started = 1;
    *out = q;
    return TV_OK;
}

void tv_mod_events_free(tv_mod_events_t *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1; /* the thread finishes what is queued, then ends */
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (q->started)
        pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
}

int tv_mod_event_post(tv_mod_events_t *q, const tv_mod_caller_t *who, const char *json,
                      size_t len)
{
    mod_event_t e = {0};
    if (!q)
        return TV_EUNAVAIL;
    if (!(e.json = malloc(len + 1)) || (who->vars_json && !(e.vars = strdup(who->vars_json)))) {
        event_free(&e);
        return TV_ENOMEM;
    }
    memcpy(e.json, json, len);
    e.json[len] = 0;
    e.len = len;
    snprintf(e.user_id, sizeof e.user_id, "%s", who->user_id ? who->user_id : "");
    snprintf(e.username, sizeof e.username, "%s", who->username ? who->username : "");
    e.expiry = who->expiry;
    pthread_mutex_lock(&q->mu);
    if (q->n == TV_MOD_EVENT_QUEUE || q->stopping) {
        int64_t now = tv_now_ms();
        uint64_t dropped = ++q->dropped;
        int say = now - q->dropped_log_ms >= 10000;
        if (say) {
            q->dropped = 0;
            q->dropped_log_ms = now;
        }
        pthread_mutex_unlock(&q->mu);
        if (say)
            tv_log_warn("modules", "event queue full (%d waiting): %llu event(s) dropped",
                        TV_MOD_EVENT_QUEUE, (unsigned long long)dropped);
        event_free(&e);
        return TV_EBUSY;
    }
    q->ring[(q->head + q->n++) % TV_MOD_EVENT_QUEUE] = e;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return TV_OK;
}

/* The event as the hooks get it: {name, timestamp, external: true, properties}. NULL with
 * *why for a body that is not Nakama's Event. */
static cJSON *event_json(const cJSON *body, const char **why)
{
    const char *name = NULL, *ts = NULL;
    const cJSON *props = NULL;
    *why = "Invalid event: {name, timestamp, external, properties: {string: string}}.";
    if (!cJSON_IsObject(body) || tv_json_get_str(body, "name", NULL, &name) ||
        tv_json_get_str(body, "timestamp", NULL, &ts) ||
        tv_json_get_str_map(body, "properties", NULL, &props))
        return NULL;
    cJSON *o = cJSON_CreateObject(), *p = props ? cJSON_Duplicate(props, 1) : NULL;
    char now[32];
    if (!o || (props && !p)) {
        cJSON_Delete(o);
        cJSON_Delete(p);
        *why = "Out of memory.";
        return NULL;
    }
    if (!ts || !*ts) {
        tv_time_rfc3339(tv_now_s(), now);
        ts = now;
    }
    cJSON_AddStringToObject(o, "name", name ? name : "");
    cJSON_AddStringToObject(o, "timestamp", ts);
    cJSON_AddTrueToObject(o, "external"); /* it came from a client, whatever it said */
    if (p)
        cJSON_AddItemToObject(o, "properties", p);
    else
        cJSON_AddItemToObject(o, "properties", cJSON_CreateObject());
    return o;
}

void tv_mod_event_http(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    const char *why;
    cJSON *body = tv_http_body_json(req); /* owned by the request */
    if (!body)
        return; /* answered: not a JSON object */
    cJSON *ev = event_json(body, &why);
    if (!ev) {
        tv_http_error(req, TV_EINVAL, why);
        return;
    }
    /* no hook registered: nothing to queue (Nakama's Event answers {} the same) */
    if (tv_mod_event_wanted(app->modules)) {
        char *text = cJSON_PrintUnformatted(ev);
        if (!text) {
            cJSON_Delete(ev);
            tv_http_error(req, TV_ENOMEM, "Out of memory.");
            return;
        }
        if (strlen(text) > TV_MOD_EVENT_MAX) {
            free(text);
            cJSON_Delete(ev);
            tv_http_error(req, TV_EINVAL, "Event too large: at most 16384 bytes.");
            return;
        }
        const tv_token_claims_t *cl = tv_http_claims(req);
        tv_mod_caller_t who = {.user_id = cl->uid, .username = cl->usn, .vars_json = cl->vrs,
                               .expiry = cl->exp};
        tv_mod_event_post(app->events, &who, text, strlen(text)); /* a drop is logged */
        free(text);
    }
    cJSON_Delete(ev);
    tv_http_reply_json(req, NULL);
}
