/* A fixed pool of worker threads fed by one bounded FIFO: where handlers that touch SQL or
 * hash passwords run, so the socket loops never wait on them. */
#ifndef TV_CORE_WORKERS_H
#define TV_CORE_WORKERS_H

#include <stddef.h>

typedef struct tv_workers tv_workers_t;
typedef void (*tv_work_fn)(void *arg);

/* Starts n threads with a queue of at most max_queued jobs. Returns NULL on failure. */
tv_workers_t *tv_workers_new(int n, size_t max_queued);
/* Queues fn(arg). TV_EBUSY when the queue is full (the caller answers "try later"),
 * TV_EUNAVAIL after shutdown started. Never blocks. */
int tv_workers_submit(tv_workers_t *w, tv_work_fn fn, void *arg);
/* Refuses new jobs, runs the ones already queued and joins the threads. w stays valid (submit
 * answers TV_EUNAVAIL) until tv_workers_free, so callers on other threads may race the stop. */
void tv_workers_stop(tv_workers_t *w);
/* Stops (if not yet) and frees w. */
void tv_workers_free(tv_workers_t *w);

#endif
