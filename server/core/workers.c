/* A fixed pool of worker threads fed by one bounded FIFO (a ring of job slots). */
#include "workers.h"
#include "error.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    tv_work_fn fn;
    void *arg;
} job_t;

struct tv_workers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_t *ring;
    size_t cap, head, count;
    int stopping;
    int nthreads;
    pthread_t *threads;
};

static void *run(void *p)
{
    tv_workers_t *w = p;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->count == 0 && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->count == 0)
            break;
        job_t j = w->ring[w->head];
        w->head = (w->head + 1) % w->cap;
        w->count--;
        pthread_mutex_unlock(&w->mu);
        j.fn(j.arg);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

tv_workers_t *tv_workers_new(int n, size_t max_queued)
{
    tv_workers_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->cap = max_queued ? max_queued : 1;
    w->ring = calloc(w->cap, sizeof *w->ring);
    w->threads = calloc((size_t)n, sizeof *w->threads);
    if (!w->ring || !w->threads)
        goto fail;
    for (; w->nthreads < n; w->nthreads++)
        if (pthread_create(&w->threads[w->nthreads], NULL, run, w) != 0)
            goto fail;
    return w;
fail:
    tv_workers_free(w);
    return NULL;
}

int tv_workers_submit(tv_workers_t *w, tv_work_fn fn, void *arg)
{
    int rc = TV_OK;
    pthread_mutex_lock(&w->mu);
    if (w->stopping)
        rc = TV_EUNAVAIL;
    else if (w->count == w->cap)
        rc = TV_EBUSY;
    else {
        w->ring[(w->head + w->count) % w->cap] = (job_t){fn, arg};
        w->count++;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void tv_workers_stop(tv_workers_t *w)
{
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    w->nthreads = 0;
}

void tv_workers_free(tv_workers_t *w)
{
    if (!w)
        return;
    tv_workers_stop(w);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->threads);
    free(w->ring);
    free(w);
}
