// SPDX-License-Identifier: GPL-2.0-only
#include "tracer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "aggregate.h"
#include "bpfutil.h"
#include "elffile.h"
#include "latency.h"
#include "offsets.h"
#include "pybpf.skel.h"
#include "strutil.h"

#define MAX_LINKS 64
#define EVAL_FRAME_FUNC "_PyEval_EvalFrameDefault"
#define FRAME_POP_FUNC "_PyEval_FrameClearAndPop"

struct tracer {
	struct pybpf_bpf *skel;
	struct bpf_link *links[MAX_LINKS];
	size_t nlinks;
	size_t ncpus;
	bool latency;
};

/* Attaches a program that stays for the whole run (kept in the skeleton). */
static int attach_always(struct bpf_program *prog, struct bpf_link **link, const char *what,
			 struct pybpf_err *err)
{
	*link = bpf_program__attach(prog);
	if (*link)
		return 0;
	err_set(err, "cannot attach to %s: %s%s", what, strerror(errno), bpf_hint_for(errno));
	return -1;
}

struct tracer *tracer__open(bool latency, struct pybpf_err *err)
{
	struct tracer *tr = calloc(1, sizeof(*tr));

	if (!tr) {
		err_set(err, "cannot start: %s", strerror(ENOMEM));
		return NULL;
	}
	if (bpfutil_start(&tr->ncpus, err))
		goto fail;
	tr->skel = pybpf_bpf__open();
	if (!tr->skel) {
		err_set(err, "cannot open the BPF programs: %s", strerror(errno));
		goto fail;
	}
	tr->skel->rodata->latency_enabled = latency;
	tr->latency = latency;
	if (!latency)
		bpf_map__set_max_entries(tr->skel->maps.latency, 1);
	if (pybpf_bpf__load(tr->skel)) {
		bpfutil_load_failed(err, "BPF programs", errno);
		goto fail;
	}
	if (attach_always(tr->skel->progs.py_thread_exit, &tr->skel->links.py_thread_exit,
			  "sched_process_exit", err) ||
	    attach_always(tr->skel->progs.py_sched_switch, &tr->skel->links.py_sched_switch,
			  "sched_switch", err))
		goto fail;
	return tr;
fail:
	tracer__close(tr);
	return NULL;
}

static int attach_one(struct tracer *tr, struct bpf_program *prog, const struct python_target *t,
		      const char *probe, struct pybpf_err *err)
{
	struct bpf_link *link;

	if (tr->nlinks == MAX_LINKS) {
		err_set(err, "cannot attach to PID %d: too many probes", t->pid);
		return -1;
	}
	link = bpf_program__attach_usdt(prog, t->pid, t->open_path, "python", probe, NULL);
	if (!link) {
		int e = errno;
		err_set(err, "cannot attach to python:%s in %s (PID %d): %s%s", probe, t->binary,
			t->pid, strerror(e), bpf_hint_for(e));
		return -1;
	}
	tr->links[tr->nlinks++] = link;
	return 0;
}

/* Tells the BPF programs where things are in pid's interpreter. code_span
 * covers the fields read from a code object: the evalframe backend also
 * reads its name and file there. */
static int register_target(struct tracer *tr, const struct python_target *t,
			   const struct pybpf_offsets *off, uint32_t flags, bool names_from_code,
			   struct pybpf_err *err)
{
	struct pybpf_target val = { .runtime_addr = t->runtime_addr, .flags = flags, .off = *off };
	__u32 pid = (__u32)t->pid, none = PYBPF_NO_OFFSET;

	val.tstate_span = span_of(off->tstate_frame, off->tstate_thread_id, none, none);
	val.frame_span = span_of(off->frame_code, off->frame_owner, none, none);
	val.code_span = span_of(off->code_flags, off->code_firstlineno,
				names_from_code ? off->code_filename : none,
				names_from_code ? off->code_name : none);
	if (val.code_span.hi - val.code_span.lo + 8 > PYBPF_BLOCK_SIZE ||
	    val.frame_span.hi - val.frame_span.lo + 8 > PYBPF_BLOCK_SIZE) {
		err_set(err, "PID %d: CPython %s: its objects are laid out too far apart to be read",
			t->pid, t->version);
		return -1;
	}
	if (bpf_map__update_elem(tr->skel->maps.targets, &pid, sizeof(pid), &val, sizeof(val),
				 BPF_ANY)) {
		err_set(err, "cannot register PID %d: %s", t->pid, strerror(errno));
		return -1;
	}
	return 0;
}

int tracer__attach_usdt(struct tracer *tr, const struct python_target *t,
			const struct pybpf_offsets *off, uint32_t flags, bool floor_only,
			struct pybpf_err *err)
{
	if (register_target(tr, t, off, flags, false, err))
		return -1;
	struct bpf_program *entry = tr->skel->progs.py_function_entry;
	struct bpf_program *ret = tr->skel->progs.py_function_return;
	if (floor_only) {
		entry = tr->skel->progs.py_floor_entry;
		ret = tr->skel->progs.py_floor_return;
	}
	/* Returns first: a return seen before its entry is harmless, the reverse is not. */
	if (attach_one(tr, ret, t, "function__return", err) ||
	    attach_one(tr, entry, t, "function__entry", err))
		return -1;
	return 0;
}

/* Where to probe func: past an endbr64 (CET builds, e.g. Debian's recent
 * ones), which the kernel cannot emulate and single-steps out of line, an
 * order of magnitude slower per hit. The stack is untouched there, so the
 * arguments and the return address are where a probe at entry sees them. */
static size_t probe_offset(struct elf_file *ef, const char *func)
{
	static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	uint8_t code[4] = { 0 };
	uint64_t addr;

	if (ef && !elf_file__symbol(ef, func, &addr, NULL) &&
	    !elf_file__read_vaddr(ef, addr, code, sizeof(code)) && !memcmp(code, endbr64, 4))
		return sizeof(endbr64);
	return 0;
}

static int attach_eval(struct tracer *tr, struct bpf_program *prog, const struct python_target *t,
		       const char *func, size_t offset, bool retprobe, struct pybpf_err *err)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = func, .retprobe = retprobe);
	struct bpf_link *link;

	if (tr->nlinks == MAX_LINKS) {
		err_set(err, "cannot attach to PID %d: too many probes", t->pid);
		return -1;
	}
	link = bpf_program__attach_uprobe_opts(prog, t->pid, t->open_path, offset, &opts);
	if (!link) {
		int e = errno;
		err_set(err, "cannot attach a %s to %s in %s (PID %d): %s%s",
			retprobe ? "uretprobe" : "uprobe", func, t->binary, t->pid,
			strerror(e), e == ENOENT ? " (hint: the symbol is missing)" : bpf_hint_for(e));
		return -1;
	}
	tr->links[tr->nlinks++] = link;
	return 0;
}

int tracer__attach_evalframe(struct tracer *tr, const struct python_target *t,
			     const struct pybpf_offsets *off, bool floor_only, struct pybpf_err *err)
{
	struct bpf_program *entry = tr->skel->progs.py_eval_entry;
	struct bpf_program *ret = tr->skel->progs.py_eval_return;
	/* 3.13's specialized class call runs __init__ past the hook: count it
	 * where its frame is popped. */
	bool init_pop = t->major == 3 && t->minor == 13 && !floor_only;
	struct elf_file *ef = elf_file__open(t->open_path);
	size_t eval_at = probe_offset(ef, EVAL_FRAME_FUNC);
	size_t pop_at = init_pop ? probe_offset(ef, FRAME_POP_FUNC) : 0;

	elf_file__close(ef);
	if (floor_only) {
		entry = tr->skel->progs.py_eval_floor_entry;
		ret = tr->skel->progs.py_eval_floor_return;
	}
	if (register_target(tr, t, off, 0, true, err))
		return -1;
	/* Returns first: an evaluation entered in between is an unpaired return
	 * (counted), while an entry without its return would stay open. */
	if (attach_eval(tr, ret, t, EVAL_FRAME_FUNC, eval_at, true, err) ||
	    attach_eval(tr, entry, t, EVAL_FRAME_FUNC, eval_at, false, err))
		return -1;
	if (init_pop && attach_eval(tr, tr->skel->progs.py_init_pop, t, FRAME_POP_FUNC, pop_at,
				    false, err))
		return -1;
	return 0;
}

/* The probes go, which takes milliseconds each, in the order they were
 * attached: return probes first. Removing a uretprobe waits until no
 * return of the target holds it, and the kernel lets go of those only
 * once the thread stops making new ones, which the entry probe's site
 * keeps doing while any return probe shares it (seen: a detach that
 * lasted until the target exited). */
void tracer__detach(struct tracer *tr)
{
	if (tr->skel->bss)
		tr->skel->bss->tracing_stopped = true;
	for (size_t i = 0; i < tr->nlinks; i++)
		bpf_link__destroy(tr->links[i]);
	tr->nlinks = 0;
}

/* Adds one closed call into a per-CPU map's CPU 0 slot. */
static void map_add(struct tracer *tr, struct bpf_map *map, const void *key, size_t key_size,
		    const struct pybpf_counts *delta)
{
	struct pybpf_counts *vals = calloc(tr->ncpus, sizeof(*vals));

	if (!vals)
		return;
	bpf_map__lookup_elem(map, key, key_size, vals, tr->ncpus * sizeof(*vals), 0);
	vals[0].callcount += delta->callcount;
	vals[0].reccallcount += delta->reccallcount;
	vals[0].inlinetime += delta->inlinetime;
	vals[0].totaltime += delta->totaltime;
	vals[0].offcputime += delta->offcputime;
	bpf_map__update_elem(map, key, key_size, vals, tr->ncpus * sizeof(*vals), BPF_ANY);
	free(vals);
}

/* A call closed at the stop goes in its function's histogram too. */
static void hist_add(struct tracer *tr, const struct pybpf_func_key *key, unsigned long long ns)
{
	struct pybpf_hist h = { { 0 } };

	if (!tr->latency)
		return;
	bpf_map__lookup_elem(tr->skel->maps.latency, key, sizeof(*key), &h, sizeof(h), 0);
	h.slot[latency_slot_of(ns)]++;
	bpf_map__update_elem(tr->skel->maps.latency, key, sizeof(*key), &h, sizeof(h), BPF_ANY);
}

static void flush_into_maps(void *ctx, const struct pybpf_func_key *callee,
			    const struct pybpf_func_key *caller, const struct pybpf_counts *call,
			    const struct pybpf_counts *pair, unsigned long long duration)
{
	struct tracer *tr = ctx;
	struct pybpf_pair_key pk = { .callee = *callee };

	map_add(tr, tr->skel->maps.funcs, callee, sizeof(*callee), call);
	hist_add(tr, callee, duration);
	if (!caller)
		return;
	pk.caller = *caller;
	map_add(tr, tr->skel->maps.pairs, &pk, sizeof(pk), pair);
}

/* Calls still active in pid's threads count up to now, like cProfile's
 * disable(). Stacks of threads that ended before the stop are gone. */
static uint64_t flush_stacks(struct tracer *tr, int pid, unsigned long long now)
{
	struct bpf_map *map = tr->skel->maps.stacks;
	struct pybpf_stack *st = malloc(sizeof(*st));
	__u32 tid, next, *prev = NULL;
	uint64_t closed = 0;

	if (!st)
		return 0;
	while (!bpf_map__get_next_key(map, prev, &next, sizeof(next))) {
		tid = next;
		prev = &tid;
		if (bpf_map__lookup_elem(map, &tid, sizeof(tid), st, sizeof(*st), 0) ||
		    (int)st->pid != pid)
			continue;
		closed += stack_flush(st, now, flush_into_maps, tr);
		bpf_map__update_elem(map, &tid, sizeof(tid), st, sizeof(*st), BPF_ANY);
	}
	free(st);
	return closed;
}

/* Names read from str objects are in CPython's storage: make them UTF-8. */
static void decode_name(char *s, size_t size, __u8 kind, __u32 len)
{
	char raw[PYBPF_FILE_LEN];

	if (kind == PYBPF_STR_UTF8) {
		s[size - 1] = '\0';
		return;
	}
	len = len < size ? len : (__u32)size;
	memcpy(raw, s, len);
	ucs_to_utf8(raw, len, kind, s, size);
}

static void names_to_utf8(struct pybpf_names *n)
{
	decode_name(n->filename, sizeof(n->filename), n->filename_kind, n->filename_len);
	decode_name(n->name, sizeof(n->name), n->name_kind, n->name_len);
}

/* The profile entry for a function key, named from the names map. */
static long func_index(struct tracer *tr, struct pybpf_profile *p, const struct pybpf_func_key *k)
{
	struct pybpf_names n;
	char fallback[64];

	if (bpf_map__lookup_elem(tr->skel->maps.names, k, sizeof(*k), &n, sizeof(n), 0)) {
		snprintf(fallback, sizeof(fallback), "<name at 0x%llx>",
			 (unsigned long long)k->name_tag);
		return profile_intern(p, "<unknown>", k->firstlineno, fallback);
	}
	names_to_utf8(&n);
	return profile_intern(p, n.filename, n.firstlineno, n.name);
}

static int read_percpu(struct tracer *tr, struct bpf_map *map, const void *key, size_t key_size,
		       struct pybpf_stats *out)
{
	struct pybpf_counts *vals = calloc(tr->ncpus, sizeof(*vals)), sum;

	if (!vals)
		return -ENOMEM;
	if (bpf_map__lookup_elem(map, key, key_size, vals, tr->ncpus * sizeof(*vals), 0)) {
		free(vals);
		return -errno;
	}
	counts_sum(vals, tr->ncpus, &sum);
	stats_from_counts(&sum, out);
	free(vals);
	return 0;
}

static int add_func(struct tracer *tr, struct pybpf_profile *p, const void *key,
		    const struct pybpf_stats *st)
{
	long i = func_index(tr, p, key);

	if (i < 0)
		return -ENOMEM;
	profile_add(p, (size_t)i, st);
	return 0;
}

static int add_pair(struct tracer *tr, struct pybpf_profile *p, const void *key,
		    const struct pybpf_stats *st)
{
	const struct pybpf_pair_key *pk = key;
	long callee = func_index(tr, p, &pk->callee), caller = func_index(tr, p, &pk->caller);

	if (callee < 0 || caller < 0 || profile_add_caller(p, (size_t)callee, (size_t)caller, st))
		return -ENOMEM;
	return 0;
}

typedef int (*drain_fn)(struct tracer *tr, struct pybpf_profile *p, const void *key,
			const struct pybpf_stats *st);

/* Hands fn the summed figures of every key of pid in a per-CPU map whose
 * keys start with a function key (funcs, or pairs with the callee first). */
static int drain_map(struct tracer *tr, struct bpf_map *map, size_t key_size, int pid,
		     struct pybpf_profile *p, drain_fn fn)
{
	struct pybpf_pair_key key, cur; /* room for either key */
	struct pybpf_stats st;
	void *prev = NULL;

	while (!bpf_map__get_next_key(map, prev, &key, key_size)) {
		memcpy(&cur, &key, key_size);
		prev = &cur;
		if ((int)cur.callee.pid != pid || read_percpu(tr, map, &cur, key_size, &st))
			continue;
		if (fn(tr, p, &cur, &st))
			return -ENOMEM;
	}
	return 0;
}

static void drain_losses(struct tracer *tr, struct pybpf_losses *l)
{
	uint64_t sum[PYBPF_LOSS_NR] = { 0 };

	bpfutil_sum_percpu(tr->skel->maps.losses, tr->ncpus, sum, PYBPF_LOSS_NR);
	l->unpaired_returns += sum[PYBPF_LOSS_UNPAIRED_RETURN];
	l->unpaired_calls += sum[PYBPF_LOSS_UNPAIRED_CALL];
	l->depth_overflow += sum[PYBPF_LOSS_DEPTH];
	l->funcs_map_full += sum[PYBPF_LOSS_FUNCS_FULL];
	l->pairs_map_full += sum[PYBPF_LOSS_PAIRS_FULL];
	l->stacks_map_full += sum[PYBPF_LOSS_STACKS_FULL];
	l->read_errors += sum[PYBPF_LOSS_READ];
	l->untimed_throws += sum[PYBPF_LOSS_UNTIMED_THROW];
	l->norets_closed += sum[PYBPF_LOSS_NORET_CLOSED];
	l->untimed_inits += sum[PYBPF_LOSS_UNTIMED_INIT];
}

/* Per-function histograms of call durations (--latency). */
static int drain_latency(struct tracer *tr, int pid, struct pybpf_profile *p)
{
	struct bpf_map *map = tr->skel->maps.latency;
	struct pybpf_func_key key, cur;
	uint64_t sum[PYBPF_HIST_SLOTS];
	struct pybpf_hist h;
	void *prev = NULL;
	int ret = 0;

	while (!ret && !bpf_map__get_next_key(map, prev, &key, sizeof(key))) {
		cur = key;
		prev = &cur;
		if ((int)cur.pid != pid ||
		    bpf_map__lookup_elem(map, &cur, sizeof(cur), &h, sizeof(h), 0))
			continue;
		for (int k = 0; k < PYBPF_HIST_SLOTS; k++)
			sum[k] = h.slot[k];
		long i = func_index(tr, p, &cur);
		ret = i < 0 ? -ENOMEM : profile_add_latency(p, (size_t)i, sum);
	}
	return ret;
}

uint64_t tracer__stop(struct tracer *tr, int pid, unsigned long long now_ns)
{
	if (tr->skel->bss)
		tr->skel->bss->tracing_stopped = true;
	return flush_stacks(tr, pid, now_ns);
}

int tracer__drain(struct tracer *tr, int pid, struct pybpf_profile *p, struct pybpf_err *err)
{
	if (drain_map(tr, tr->skel->maps.funcs, sizeof(struct pybpf_func_key), pid, p, add_func) ||
	    drain_map(tr, tr->skel->maps.pairs, sizeof(struct pybpf_pair_key), pid, p, add_pair)) {
		err_set(err, "cannot build the profile: %s", strerror(ENOMEM));
		return -1;
	}
	if (drain_latency(tr, pid, p)) {
		err_set(err, "cannot build the profile: %s", strerror(ENOMEM));
		return -1;
	}
	drain_losses(tr, &p->losses);
	return 0;
}

void tracer__close(struct tracer *tr)
{
	if (!tr)
		return;
	tracer__detach(tr);
	pybpf_bpf__destroy(tr->skel);
	free(tr);
}
