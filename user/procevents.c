// SPDX-License-Identifier: GPL-2.0-only
#include "procevents.h"

#include <errno.h>
#include <stdlib.h>

#include <bpf/libbpf.h>

struct proc_events {
	struct ring_buffer *rb;
	proc_event_fn fn;
	void *ctx;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct proc_events *pe = ctx;

	if (size >= sizeof(struct pybpf_proc_event))
		pe->fn(pe->ctx, data);
	return 0;
}

struct proc_events *proc_events__open(int map_fd, proc_event_fn fn, void *ctx)
{
	struct proc_events *pe = calloc(1, sizeof(*pe));

	if (!pe)
		return NULL;
	pe->fn = fn;
	pe->ctx = ctx;
	pe->rb = ring_buffer__new(map_fd, on_event, pe, NULL);
	if (!pe->rb) {
		int e = errno;
		free(pe);
		errno = e;
		return NULL;
	}
	return pe;
}

int proc_events__fd(struct proc_events *pe)
{
	return ring_buffer__epoll_fd(pe->rb);
}

void proc_events__consume(struct proc_events *pe)
{
	if (pe)
		ring_buffer__consume(pe->rb);
}

void proc_events__free(struct proc_events *pe)
{
	if (!pe)
		return;
	ring_buffer__free(pe->rb);
	free(pe);
}
