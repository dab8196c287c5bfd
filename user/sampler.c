// SPDX-License-Identifier: GPL-2.0-only
#include "sampler.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfutil.h"
#include "sampler.skel.h"
#include "testlimits.h"

#define NSEC_PER_SEC 1000000000ull

struct sampler {
	struct sampler_bpf *skel;
	enum sample_mode mode;
	unsigned int hz;
	struct bpf_link **cpu_links; /* one perf event per CPU */
	size_t ncpu_links;
	struct bpf_link **iter_links; /* one task iterator per process */
	size_t niter_links, iter_cap;
	size_t ncpus;
	bool at_switch;
	struct ring_buffer *new_stacks;
	sampler_stack_fn new_fn; /* what sampler__consume_new calls, and its argument */
	void *new_ctx;
	int new_ret;
	struct pybpf_sample_stack *stack_buf;
};

static bool samples_cpu(enum sample_mode m)
{
	return m != SAMPLE_MODE_OFFCPU;
}

static bool samples_offcpu(enum sample_mode m)
{
	return m != SAMPLE_MODE_CPU;
}

static int on_new_stack(void *ctx, void *data, size_t size)
{
	struct sampler *s = ctx;
	__u64 id;

	if (size < sizeof(id) || !s->new_fn || s->new_ret)
		return 0;
	memcpy(&id, data, sizeof(id));
	if (bpf_map__lookup_elem(s->skel->maps.sample_stacks, &id, sizeof(id), s->stack_buf,
				 sizeof(*s->stack_buf), 0))
		return 0;
	if (s->stack_buf->depth > PYBPF_SAMPLE_DEPTH)
		s->stack_buf->depth = PYBPF_SAMPLE_DEPTH;
	s->new_ret = s->new_fn(s->new_ctx, NULL, NULL, s->stack_buf);
	return 0;
}

static int add_iterator(struct sampler *s, pid_t pid, struct pybpf_err *err);

/* --all-python: forks, execs and exits, on a ring buffer. */
static int start_watch(struct sampler *s, struct pybpf_err *err)
{
	struct sampler_bpf *sk = s->skel;

	if (!(sk->links.pys_proc_fork = bpf_program__attach(sk->progs.pys_proc_fork)) ||
	    !(sk->links.pys_proc_exec = bpf_program__attach(sk->progs.pys_proc_exec)) ||
	    !(sk->links.pys_proc_exit = bpf_program__attach(sk->progs.pys_proc_exit))) {
		int e = errno;
		err_set(err, "cannot watch processes start and end: %s%s", strerror(e),
			bpf_hint_for(e));
		return -1;
	}
	return 0;
}

int sampler__proc_events_map(struct sampler *s)
{
	return bpf_map__fd(s->skel->maps.proc_events);
}

uint64_t sampler__events_lost(struct sampler *s)
{
	return s->skel->bss ? s->skel->bss->proc_events_lost : 0;
}

int sampler__follow_fork(struct sampler *s, pid_t pid, struct pybpf_err *err)
{
	return samples_offcpu(s->mode) && !s->at_switch ? add_iterator(s, pid, err) : 0;
}

void sampler__remove_target(struct sampler *s, pid_t pid)
{
	__u32 key = (__u32)pid;

	bpf_map__delete_elem(s->skel->maps.sample_targets, &key, sizeof(key), 0);
}

struct sampler *sampler__open(enum sample_mode mode, unsigned int hz, bool at_switch, bool watch,
			      struct pybpf_err *err)
{
	struct sampler *s = calloc(1, sizeof(*s));

	if (!s) {
		err_set(err, "cannot start: %s", strerror(ENOMEM));
		return NULL;
	}
	s->mode = mode;
	s->at_switch = at_switch && samples_offcpu(mode);
	s->hz = hz ? hz : PYBPF_DEFAULT_HZ;
	if (bpfutil_start(&s->ncpus, err))
		goto fail;
	s->skel = sampler_bpf__open();
	if (!s->skel) {
		err_set(err, "cannot open the sampling BPF programs: %s", strerror(errno));
		goto fail;
	}
	s->skel->rodata->cpu_sample_ns = NSEC_PER_SEC / s->hz;
	bpf_program__set_autoload(s->skel->progs.pys_wall_tick,
				  samples_offcpu(mode) && !s->at_switch);
	bpf_program__set_autoload(s->skel->progs.pys_switch, s->at_switch);
	bpf_program__set_autoload(s->skel->progs.pys_cpu_sample, samples_cpu(mode));
	testlimits_cap_maps(s->skel->obj);
	if (sampler_bpf__load(s->skel)) {
		bpfutil_load_failed(err, "sampling BPF programs", errno);
		goto fail;
	}
	testlimits_note_maps(s->skel->obj);
	s->stack_buf = malloc(sizeof(*s->stack_buf));
	s->new_stacks = ring_buffer__new(bpf_map__fd(s->skel->maps.new_stacks), on_new_stack, s,
					 NULL);
	if (!s->stack_buf || !s->new_stacks) {
		err_set(err, "cannot read the sampler's new stacks: %s", strerror(errno));
		goto fail;
	}
	if (watch && start_watch(s, err))
		goto fail;
	return s;
fail:
	sampler__close(s);
	return NULL;
}

/* The frame fields the walk reads from one copy, and the code fields. */
static int sample_target_of(const struct python_target *t, const struct pybpf_offsets *off,
			    struct pybpf_sample_target *val, struct pybpf_err *err)
{
	__u32 none = PYBPF_NO_OFFSET;

	*val = (struct pybpf_sample_target){ .runtime_addr = t->runtime_addr, .off = *off };
	val->frame_span = span_of(off->frame_code, off->frame_previous, off->frame_instr,
				  off->frame_owner);
	val->code_span = span_of(off->code_flags, off->code_firstlineno, off->code_filename, none);
	if (val->frame_span.hi - val->frame_span.lo + 8 > PYBPF_BLOCK_SIZE ||
	    val->code_span.hi - val->code_span.lo + 8 > PYBPF_BLOCK_SIZE) {
		err_set(err, "PID %d: CPython %s: its objects are laid out too far apart to be read",
			t->pid, t->version);
		return -1;
	}
	return 0;
}

static int add_iterator(struct sampler *s, pid_t pid, struct pybpf_err *err)
{
	union bpf_iter_link_info linfo = { .task = { .pid = (__u32)pid } };
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &linfo,
		    .link_info_len = sizeof(linfo));
	struct bpf_link *link;

	if (s->niter_links == s->iter_cap) {
		size_t cap = s->iter_cap ? 2 * s->iter_cap : 8;
		struct bpf_link **l = realloc(s->iter_links, cap * sizeof(*l));

		if (!l) {
			err_set(err, "cannot sample PID %d: %s", pid, strerror(ENOMEM));
			return -1;
		}
		s->iter_links = l;
		s->iter_cap = cap;
	}
	link = bpf_program__attach_iter(s->skel->progs.pys_wall_tick, &opts);
	if (!link) {
		int e = errno;
		err_set(err, "cannot start the wall-clock sampler on PID %d: %s%s", pid,
			strerror(e), bpf_hint_for(e));
		return -1;
	}
	s->iter_links[s->niter_links++] = link;
	return 0;
}

int sampler__add_target(struct sampler *s, const struct python_target *t,
			const struct pybpf_offsets *off, struct pybpf_err *err)
{
	struct pybpf_sample_target val;
	__u32 pid = (__u32)t->pid;

	if (sample_target_of(t, off, &val, err))
		return -1;
	if (bpf_map__update_elem(s->skel->maps.sample_targets, &pid, sizeof(pid), &val,
				 sizeof(val), BPF_ANY)) {
		err_set(err, "cannot register PID %d: %s", t->pid, strerror(errno));
		return -1;
	}
	return samples_offcpu(s->mode) && !s->at_switch ? add_iterator(s, t->pid, err) : 0;
}

static int open_cpu_clock(int cpu, unsigned int hz)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = NSEC_PER_SEC / hz,
	};

	return (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

int sampler__start(struct sampler *s, struct pybpf_err *err)
{
	if (s->at_switch &&
	    !(s->skel->links.pys_switch = bpf_program__attach(s->skel->progs.pys_switch))) {
		err_set(err, "cannot attach to sched_switch: %s", strerror(errno));
		return -1;
	}
	if (!samples_cpu(s->mode))
		return 0;
	s->cpu_links = calloc(s->ncpus, sizeof(*s->cpu_links));
	if (!s->cpu_links) {
		err_set(err, "cannot start sampling: %s", strerror(ENOMEM));
		return -1;
	}
	for (size_t cpu = 0; cpu < s->ncpus; cpu++) {
		int fd = open_cpu_clock((int)cpu, s->hz), e;

		if (fd < 0 && errno == ENODEV)
			continue; /* a possible CPU that is not online */
		if (fd < 0) {
			e = errno;
			err_set(err, "cannot open a CPU-clock perf event on CPU %zu: %s%s", cpu,
				strerror(e), bpf_hint_for(e));
			return -1;
		}
		s->cpu_links[s->ncpu_links] = bpf_program__attach_perf_event(s->skel->progs.pys_cpu_sample, fd);
		if (!s->cpu_links[s->ncpu_links]) {
			e = errno;
			close(fd);
			err_set(err, "cannot attach the sampler to CPU %zu: %s%s", cpu, strerror(e),
				bpf_hint_for(e));
			return -1;
		}
		s->ncpu_links++;
	}
	return 0;
}

/* Runs one iterator to its end: the program does its work as it is read. */
static void run_iterator(struct bpf_link *link)
{
	char buf[64];
	int fd = bpf_iter_create(bpf_link__fd(link));

	if (fd < 0)
		return;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

void sampler__tick(struct sampler *s, uint64_t ns)
{
	if (!s || !s->skel->bss)
		return;
	s->skel->bss->tick_ns = ns;
	for (size_t i = 0; i < s->niter_links; i++)
		run_iterator(s->iter_links[i]);
}

void sampler__stop(struct sampler *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ncpu_links; i++)
		bpf_link__destroy(s->cpu_links[i]);
	s->ncpu_links = 0;
	for (size_t i = 0; i < s->niter_links; i++)
		bpf_link__destroy(s->iter_links[i]);
	s->niter_links = 0;
	bpf_link__destroy(s->skel->links.pys_switch);
	s->skel->links.pys_switch = NULL;
}

int sampler__foreach(struct sampler *s, int pid, sampler_stack_fn fn, void *ctx)
{
	struct bpf_map *counts = s->skel->maps.sample_counts;
	struct bpf_map *stacks = s->skel->maps.sample_stacks;
	struct pybpf_sample_key key, *prev = NULL, cur;
	struct pybpf_sample_stack *st = malloc(sizeof(*st));
	struct pybpf_sample_count c;
	int ret = 0;

	if (!st)
		return -ENOMEM;
	while (!ret && !bpf_map__get_next_key(counts, prev, &key, sizeof(key))) {
		cur = key;
		prev = &cur;
		if ((pid && (int)cur.pid != pid) ||
		    bpf_map__lookup_elem(counts, &cur, sizeof(cur), &c, sizeof(c), 0) ||
		    bpf_map__lookup_elem(stacks, &cur.stack_id, sizeof(cur.stack_id), st,
					 sizeof(*st), 0))
			continue;
		if (st->depth > PYBPF_SAMPLE_DEPTH)
			st->depth = PYBPF_SAMPLE_DEPTH;
		ret = fn(ctx, &cur, &c, st);
	}
	free(st);
	return ret;
}

int sampler__foreach_stack(struct sampler *s, sampler_stack_fn fn, void *ctx)
{
	struct bpf_map *stacks = s->skel->maps.sample_stacks;
	struct pybpf_sample_stack *st = malloc(sizeof(*st));
	__u64 key, cur, *prev = NULL;
	int ret = 0;

	if (!st)
		return -ENOMEM;
	while (!ret && !bpf_map__get_next_key(stacks, prev, &key, sizeof(key))) {
		cur = key;
		prev = &cur;
		if (bpf_map__lookup_elem(stacks, &cur, sizeof(cur), st, sizeof(*st), 0))
			continue;
		if (st->depth > PYBPF_SAMPLE_DEPTH)
			st->depth = PYBPF_SAMPLE_DEPTH;
		ret = fn(ctx, NULL, NULL, st);
	}
	free(st);
	return ret;
}

int sampler__consume_new(struct sampler *s, sampler_stack_fn fn, void *ctx)
{
	s->new_fn = fn;
	s->new_ctx = ctx;
	s->new_ret = 0;
	ring_buffer__consume(s->new_stacks);
	s->new_fn = NULL;
	return s->new_ret;
}

int sampler__new_stacks_fd(struct sampler *s)
{
	return s->new_stacks ? ring_buffer__epoll_fd(s->new_stacks) : -1;
}

uint64_t sampler__thread_state(struct sampler *s, uint32_t tid)
{
	__u64 ts = 0;

	if (bpf_map__lookup_elem(s->skel->maps.thread_states, &tid, sizeof(tid), &ts, sizeof(ts),
				 0))
		return 0;
	return ts;
}

uint64_t sampler__samples(struct sampler *s)
{
	uint64_t n = 0;

	bpfutil_sum_percpu(s->skel->maps.samples_counted, s->ncpus, &n, 1);
	return n;
}

void sampler__losses(struct sampler *s, struct sample_losses *out)
{
	uint64_t sum[PYBPF_SLOSS_NR] = { 0 };

	bpfutil_sum_percpu(s->skel->maps.sample_losses, s->ncpus, sum, PYBPF_SLOSS_NR);
	out->no_tstate = sum[PYBPF_SLOSS_NO_TSTATE];
	out->read_errors = sum[PYBPF_SLOSS_READ];
	out->stacks_full = sum[PYBPF_SLOSS_STACKS_FULL];
	out->counts_full = sum[PYBPF_SLOSS_COUNTS_FULL];
}

uint64_t sampler__map_bytes(struct sampler *s)
{
	return bpfutil_map_bytes(s->skel->obj, s->ncpus);
}

void sampler__close(struct sampler *s)
{
	if (!s)
		return;
	sampler__stop(s);
	ring_buffer__free(s->new_stacks);
	free(s->stack_buf);
	free(s->cpu_links);
	free(s->iter_links);
	sampler_bpf__destroy(s->skel);
	free(s);
}
