// SPDX-License-Identifier: GPL-2.0-only
#include "tracer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "aggregate.h"
#include "bpfutil.h"
#include "elffile.h"
#include "latency.h"
#include "offsets.h"
#include "pybpf.skel.h"
#include "strutil.h"
#include "testlimits.h"

#define EVAL_FRAME_FUNC "_PyEval_EvalFrameDefault"
#define FRAME_POP_FUNC "_PyEval_FrameClearAndPop"

/* An interpreter file with probes for every process that maps it. */
struct probed_file {
	dev_t dev;
	ino_t ino;
	const struct bpf_program *entry; /* which programs: backend, or the floor */
};

/* A descriptor of an interpreter file, held while probes named after it live. */
struct held_file {
	dev_t dev;
	ino_t ino;
	int fd;
};

struct tracer {
	struct pybpf_bpf *skel;
	struct bpf_link **links;
	size_t nlinks, links_cap;
	struct held_file *held;
	size_t nheld, held_cap;
	struct probed_file *files;
	size_t nfiles, files_cap;
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

static const struct tracer_limits default_limits = {
	.processes = PYBPF_MAX_TARGETS,
	.threads = PYBPF_MAX_THREADS,
	.functions = PYBPF_MAX_FUNCS,
};

/* Map sizes from the limits; the maps that allocate on demand cost only
 * what is used, the preallocated ones their full size. */
static void size_maps(struct tracer *tr, const struct tracer_limits *lim)
{
	struct pybpf_bpf *sk = tr->skel;

	bpf_map__set_max_entries(sk->maps.targets, lim->processes);
	bpf_map__set_max_entries(sk->maps.losses, 2 * lim->processes);
	bpf_map__set_max_entries(sk->maps.stacks, lim->threads);
	bpf_map__set_max_entries(sk->maps.funcs, lim->functions);
	bpf_map__set_max_entries(sk->maps.names, lim->functions);
	bpf_map__set_max_entries(sk->maps.pairs, 4 * lim->functions);
	if (!tr->latency)
		bpf_map__set_max_entries(sk->maps.latency, 1);
}

/* --all-python: forks, execs and exits, on a ring buffer. */
static int start_watch(struct tracer *tr, struct pybpf_err *err)
{
	struct pybpf_bpf *sk = tr->skel;

	if (attach_always(sk->progs.py_proc_fork, &sk->links.py_proc_fork, "sched_process_fork",
			  err) ||
	    attach_always(sk->progs.py_proc_exec, &sk->links.py_proc_exec, "sched_process_exec",
			  err) ||
	    attach_always(sk->progs.py_proc_exit, &sk->links.py_proc_exit, "sched_process_exit",
			  err))
		return -1;
	return 0;
}

struct tracer *tracer__open(const struct tracer_limits *lim, bool latency, bool watch,
			    bool count_calls, struct pybpf_err *err)
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
	tr->skel->rodata->calls_counted_enabled = count_calls;
	tr->latency = latency;
	size_maps(tr, lim ? lim : &default_limits);
	testlimits_cap_maps(tr->skel->obj);
	if (pybpf_bpf__load(tr->skel)) {
		bpfutil_load_failed(err, "BPF programs", errno);
		goto fail;
	}
	testlimits_note_maps(tr->skel->obj);
	if (attach_always(tr->skel->progs.py_thread_exit, &tr->skel->links.py_thread_exit,
			  "sched_process_exit", err) ||
	    attach_always(tr->skel->progs.py_sched_switch, &tr->skel->links.py_sched_switch,
			  "sched_switch", err))
		goto fail;
	if (watch && start_watch(tr, err))
		goto fail;
	return tr;
fail:
	tracer__close(tr);
	return NULL;
}

/* O_PATH descriptor of t's interpreter file, opened once per file and kept
 * until tracer__close: the kernel names our probes /proc/self/fd/N, which
 * then keeps naming that file (bpftool perf, tests) for the whole run. */
static int held_file_fd(struct tracer *tr, const struct python_target *t)
{
	struct held_file *v;
	struct stat st;
	int fd;

	mapped_file__stat(&t->file, &st);
	for (size_t i = 0; i < tr->nheld; i++)
		if (tr->held[i].dev == st.st_dev && tr->held[i].ino == st.st_ino)
			return tr->held[i].fd;
	fd = mapped_file__open_path(t->pid, &t->file);
	if (fd < 0)
		return fd;
	if (tr->nheld == tr->held_cap) {
		size_t cap = tr->held_cap ? 2 * tr->held_cap : 4;

		v = realloc(tr->held, cap * sizeof(*v));
		if (!v) {
			close(fd);
			return -ENOMEM;
		}
		tr->held = v;
		tr->held_cap = cap;
	}
	tr->held[tr->nheld++] = (struct held_file){ st.st_dev, st.st_ino, fd };
	return fd;
}

static int keep_link(struct tracer *tr, struct bpf_link *link)
{
	if (tr->nlinks == tr->links_cap) {
		size_t cap = tr->links_cap ? 2 * tr->links_cap : 16;
		struct bpf_link **v = realloc(tr->links, cap * sizeof(*v));

		if (!v) {
			bpf_link__destroy(link);
			return -ENOMEM;
		}
		tr->links = v;
		tr->links_cap = cap;
	}
	tr->links[tr->nlinks++] = link;
	return 0;
}

/* pid -1: every process that maps the file. */
static int attach_one(struct tracer *tr, struct bpf_program *prog, const struct python_target *t,
		      pid_t pid, const char *probe, struct pybpf_err *err)
{
	struct bpf_link *link = NULL;
	char path[64];
	int fd = held_file_fd(tr, t), e = -fd;

	/* Through our descriptor: the kernel probes the inode the process maps. */
	if (fd >= 0) {
		mapped_file__fd_path(fd, path, sizeof(path));
		link = bpf_program__attach_usdt(prog, pid, path, "python", probe, NULL);
		e = errno;
	}
	if (!link || keep_link(tr, link)) {
		e = link ? ENOMEM : e;
		err_set(err, "cannot attach to python:%s in %s (PID %d): %s%s", probe, t->binary,
			t->pid, strerror(e), bpf_hint_for(e));
		return -1;
	}
	return 0;
}

static bool find_file(const struct tracer *tr, const struct stat *st,
		      const struct bpf_program *entry)
{
	for (size_t i = 0; i < tr->nfiles; i++)
		if (tr->files[i].dev == st->st_dev && tr->files[i].ino == st->st_ino &&
		    tr->files[i].entry == entry)
			return true;
	return false;
}

/* Are t's interpreter file's probes there for every process already? */
static bool file_probed(const struct tracer *tr, const struct python_target *t,
			const struct bpf_program *entry)
{
	struct stat st;

	mapped_file__stat(&t->file, &st);
	return find_file(tr, &st, entry);
}

/* Notes that they are from now on. */
static void note_probed(struct tracer *tr, const struct python_target *t,
			const struct bpf_program *entry)
{
	struct stat st;

	mapped_file__stat(&t->file, &st);
	if (find_file(tr, &st, entry))
		return;
	if (tr->nfiles == tr->files_cap) {
		size_t cap = tr->files_cap ? 2 * tr->files_cap : 8;
		struct probed_file *v = realloc(tr->files, cap * sizeof(*v));

		if (!v)
			return; /* a later process of this file gets its own probes */
		tr->files = v;
		tr->files_cap = cap;
	}
	tr->files[tr->nfiles++] = (struct probed_file){ st.st_dev, st.st_ino, entry };
}

size_t tracer__probed_files(const struct tracer *tr)
{
	return tr->nfiles;
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
			bool every_process, struct pybpf_err *err)
{
	if (register_target(tr, t, off, flags, false, err))
		return -1;
	struct bpf_program *entry = tr->skel->progs.py_function_entry;
	struct bpf_program *ret = tr->skel->progs.py_function_return;
	if (floor_only) {
		entry = tr->skel->progs.py_floor_entry;
		ret = tr->skel->progs.py_floor_return;
	}
	if (every_process && file_probed(tr, t, entry))
		return 0;
	pid_t pid = every_process ? -1 : t->pid;
	/* Returns first: a return seen before its entry is harmless, the reverse is not. */
	if (attach_one(tr, ret, t, pid, "function__return", err) ||
	    attach_one(tr, entry, t, pid, "function__entry", err))
		return -1;
	if (every_process)
		note_probed(tr, t, entry);
	return 0;
}

void tracer__unregister(struct tracer *tr, pid_t pid)
{
	__u32 key = (__u32)pid;

	bpf_map__delete_elem(tr->skel->maps.targets, &key, sizeof(key), 0);
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
		       pid_t pid, const char *func, size_t offset, bool retprobe,
		       struct pybpf_err *err)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = func, .retprobe = retprobe);
	struct bpf_link *link = NULL;
	char path[64];
	int fd = held_file_fd(tr, t), e = -fd;

	if (fd >= 0) {
		mapped_file__fd_path(fd, path, sizeof(path));
		link = bpf_program__attach_uprobe_opts(prog, pid, path, offset, &opts);
		e = errno;
	}
	if (!link || keep_link(tr, link)) {
		e = link ? ENOMEM : e;
		err_set(err, "cannot attach a %s to %s in %s (PID %d): %s%s",
			retprobe ? "uretprobe" : "uprobe", func, t->binary, t->pid,
			strerror(e), e == ENOENT ? " (hint: the symbol is missing)" : bpf_hint_for(e));
		return -1;
	}
	return 0;
}

int tracer__attach_evalframe(struct tracer *tr, const struct python_target *t,
			     const struct pybpf_offsets *off, bool floor_only, bool every_process,
			     struct pybpf_err *err)
{
	struct bpf_program *entry = tr->skel->progs.py_eval_entry;
	struct bpf_program *ret = tr->skel->progs.py_eval_return;
	/* 3.13's specialized class call runs __init__ past the hook: count it
	 * where its frame is popped. */
	bool init_pop = t->major == 3 && t->minor == 13 && !floor_only;

	if (floor_only) {
		entry = tr->skel->progs.py_eval_floor_entry;
		ret = tr->skel->progs.py_eval_floor_return;
	}
	if (register_target(tr, t, off, 0, true, err))
		return -1;
	if (every_process && file_probed(tr, t, entry))
		return 0;

	struct elf_file *ef = python_target__open_elf(t);
	size_t eval_at = probe_offset(ef, EVAL_FRAME_FUNC);
	size_t pop_at = init_pop ? probe_offset(ef, FRAME_POP_FUNC) : 0;
	pid_t pid = every_process ? -1 : t->pid;

	elf_file__close(ef);
	/* Returns first: an evaluation entered in between is an unpaired return
	 * (counted), while an entry without its return would stay open. */
	if (attach_eval(tr, ret, t, pid, EVAL_FRAME_FUNC, eval_at, true, err) ||
	    attach_eval(tr, entry, t, pid, EVAL_FRAME_FUNC, eval_at, false, err))
		return -1;
	if (init_pop && attach_eval(tr, tr->skel->progs.py_init_pop, t, pid, FRAME_POP_FUNC,
				    pop_at, false, err))
		return -1;
	if (every_process)
		note_probed(tr, t, entry);
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

/* Adds one closed call into a per-CPU map's CPU 0 slot; 0, or -1 when the
 * map had no room (or memory ran out). */
static int map_add(struct tracer *tr, struct bpf_map *map, const void *key, size_t key_size,
		   const struct pybpf_counts *delta)
{
	struct pybpf_counts *vals = calloc(tr->ncpus, sizeof(*vals));
	int ret;

	if (!vals)
		return -1;
	bpf_map__lookup_elem(map, key, key_size, vals, tr->ncpus * sizeof(*vals), 0);
	vals[0].callcount += delta->callcount;
	vals[0].reccallcount += delta->reccallcount;
	vals[0].inlinetime += delta->inlinetime;
	vals[0].totaltime += delta->totaltime;
	vals[0].offcputime += delta->offcputime;
	ret = bpf_map__update_elem(map, key, key_size, vals, tr->ncpus * sizeof(*vals), BPF_ANY);
	free(vals);
	return ret ? -1 : 0;
}

/* A call closed at the stop goes in its function's histogram too; 0, or -1
 * when the map had no room. */
static int hist_add(struct tracer *tr, const struct pybpf_func_key *key, unsigned long long ns)
{
	struct pybpf_hist h = { { 0 } };

	if (!tr->latency)
		return 0;
	bpf_map__lookup_elem(tr->skel->maps.latency, key, sizeof(*key), &h, sizeof(h), 0);
	h.slot[latency_slot_of(ns)]++;
	return bpf_map__update_elem(tr->skel->maps.latency, key, sizeof(*key), &h, sizeof(h),
				    BPF_ANY) ? -1 : 0;
}

/* A loss met in user space (closing calls at the stop), added to pid's
 * counters on CPU 0's copy, as the BPF side would have. */
static void loss_add(struct tracer *tr, __u32 pid, enum pybpf_loss what)
{
	struct pybpf_loss_counts *vals = calloc(tr->ncpus, sizeof(*vals));
	struct bpf_map *map = tr->skel->maps.losses;

	if (!vals)
		return;
	bpf_map__lookup_elem(map, &pid, sizeof(pid), vals, tr->ncpus * sizeof(*vals), 0);
	vals[0].n[what]++;
	bpf_map__update_elem(map, &pid, sizeof(pid), vals, tr->ncpus * sizeof(*vals), BPF_ANY);
	free(vals);
}

static void flush_into_maps(void *ctx, const struct pybpf_func_key *callee,
			    const struct pybpf_func_key *caller, const struct pybpf_counts *call,
			    const struct pybpf_counts *pair, unsigned long long duration)
{
	struct tracer *tr = ctx;
	struct pybpf_pair_key pk = { .callee = *callee };

	/* As in the BPF side's account(): no row, no histogram or pair either. */
	if (map_add(tr, tr->skel->maps.funcs, callee, sizeof(*callee), call)) {
		loss_add(tr, callee->pid, PYBPF_LOSS_FUNCS_FULL);
		return;
	}
	if (hist_add(tr, callee, duration))
		loss_add(tr, callee->pid, PYBPF_LOSS_LATENCY_FULL);
	if (!caller)
		return;
	pk.caller = *caller;
	if (map_add(tr, tr->skel->maps.pairs, &pk, sizeof(pk), pair))
		loss_add(tr, callee->pid, PYBPF_LOSS_PAIRS_FULL);
}

/* Calls still active in pid's threads (every traced thread: pid 0) count
 * up to now, like cProfile's disable(). Stacks of threads that ended before
 * the stop are gone. */
static uint64_t flush_stacks(struct tracer *tr, int pid, unsigned long long now)
{
	struct bpf_map *map = tr->skel->maps.stacks;
	struct pybpf_stack *st = malloc(sizeof(*st));
	__u32 *tids = NULL, next, last, *prev = NULL;
	size_t n = 0, cap = 0;
	uint64_t closed = 0;

	/* The keys first: an update moves its element to the head of its hash
	 * bucket, so updating while walking would revisit the bucket forever. */
	while (st && !bpf_map__get_next_key(map, prev, &next, sizeof(next))) {
		if (n == cap) {
			__u32 *v = realloc(tids, (cap = cap ? 2 * cap : 256) * sizeof(*v));

			if (!v)
				break; /* the stacks not flushed count up to their last return */
			tids = v;
		}
		tids[n++] = last = next;
		prev = &last;
	}
	for (size_t i = 0; i < n; i++) {
		if (bpf_map__lookup_elem(map, &tids[i], sizeof(tids[i]), st, sizeof(*st), 0) ||
		    (pid && (int)st->pid != pid))
			continue;
		closed += stack_flush(st, now, flush_into_maps, tr);
		bpf_map__update_elem(map, &tids[i], sizeof(tids[i]), st, sizeof(*st), BPF_ANY);
	}
	free(tids);
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

/* The profile entry for a function key, named from the names map (*named
 * false when the map has no name for it). */
static long func_index_named(struct tracer *tr, struct pybpf_profile *p,
			     const struct pybpf_func_key *k, bool *named)
{
	struct pybpf_names n;
	char fallback[64];

	*named = !bpf_map__lookup_elem(tr->skel->maps.names, k, sizeof(*k), &n, sizeof(n), 0);
	if (!*named) {
		snprintf(fallback, sizeof(fallback), "<name at 0x%llx>",
			 (unsigned long long)k->name_tag);
		return profile_intern(p, "<unknown>", k->firstlineno, fallback);
	}
	names_to_utf8(&n);
	return profile_intern(p, n.filename, n.firstlineno, n.name);
}

static long func_index(struct tracer *tr, struct pybpf_profile *p, const struct pybpf_func_key *k)
{
	bool named;

	return func_index_named(tr, p, k, &named);
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
	bool named;
	long i = func_index_named(tr, p, key, &named);

	/* Counted but nameless: the names map was full when it was first met. */
	if (!named)
		p->losses.unnamed_funcs++;

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

/* Hands fn the summed figures of every key in a per-CPU map whose keys
 * start with a function key (funcs, or pairs with the callee first), with
 * the profile of the key's process (keys of no profile are skipped). */
static int drain_map(struct tracer *tr, struct bpf_map *map, size_t key_size,
		     tracer_profile_fn profile_of, void *ctx, drain_fn fn)
{
	struct pybpf_pair_key key, cur; /* room for either key */
	struct pybpf_profile *p;
	struct pybpf_stats st;
	void *prev = NULL;

	while (!bpf_map__get_next_key(map, prev, &key, key_size)) {
		memcpy(&cur, &key, key_size);
		prev = &cur;
		p = profile_of(ctx, (int)cur.callee.pid);
		if (!p || read_percpu(tr, map, &cur, key_size, &st))
			continue;
		if (fn(tr, p, &cur, &st))
			return -ENOMEM;
	}
	return 0;
}

static void add_losses(struct pybpf_losses *l, const uint64_t *sum)
{
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
	l->latency_map_full += sum[PYBPF_LOSS_LATENCY_FULL];
}

/* Each process's loss counters, summed over the CPUs. */
static int drain_losses(struct tracer *tr, tracer_profile_fn profile_of, void *ctx)
{
	struct pybpf_loss_counts *vals = calloc(tr->ncpus, sizeof(*vals));
	struct bpf_map *map = tr->skel->maps.losses;
	__u32 pid, next, *prev = NULL;
	struct pybpf_profile *p;

	if (!vals)
		return -ENOMEM;
	while (!bpf_map__get_next_key(map, prev, &next, sizeof(next))) {
		uint64_t sum[PYBPF_LOSS_NR] = { 0 };

		pid = next;
		prev = &pid;
		p = profile_of(ctx, (int)pid);
		if (!p || bpf_map__lookup_elem(map, &pid, sizeof(pid), vals,
					       tr->ncpus * sizeof(*vals), 0))
			continue;
		for (size_t c = 0; c < tr->ncpus; c++)
			for (int k = 0; k < PYBPF_LOSS_NR; k++)
				sum[k] += vals[c].n[k];
		add_losses(&p->losses, sum);
	}
	free(vals);
	return 0;
}

/* Per-function histograms of call durations (--latency). */
static int drain_latency(struct tracer *tr, tracer_profile_fn profile_of, void *ctx)
{
	struct bpf_map *map = tr->skel->maps.latency;
	struct pybpf_func_key key, cur;
	uint64_t sum[PYBPF_HIST_SLOTS];
	struct pybpf_profile *p;
	struct pybpf_hist h;
	void *prev = NULL;
	int ret = 0;

	while (!ret && !bpf_map__get_next_key(map, prev, &key, sizeof(key))) {
		cur = key;
		prev = &cur;
		p = profile_of(ctx, (int)cur.pid);
		if (!p || bpf_map__lookup_elem(map, &cur, sizeof(cur), &h, sizeof(h), 0))
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

int tracer__drain_all(struct tracer *tr, tracer_profile_fn profile_of, void *ctx,
		      struct pybpf_err *err)
{
	if (drain_map(tr, tr->skel->maps.funcs, sizeof(struct pybpf_func_key), profile_of, ctx,
		      add_func) ||
	    drain_map(tr, tr->skel->maps.pairs, sizeof(struct pybpf_pair_key), profile_of, ctx,
		      add_pair) ||
	    drain_latency(tr, profile_of, ctx) || drain_losses(tr, profile_of, ctx)) {
		err_set(err, "cannot build the profile: %s", strerror(ENOMEM));
		return -1;
	}
	return 0;
}

static struct pybpf_profile *the_profile(void *ctx, int pid)
{
	struct pybpf_profile *p = ctx;

	return p->pid == pid ? p : NULL;
}

int tracer__drain(struct tracer *tr, int pid, struct pybpf_profile *p, struct pybpf_err *err)
{
	p->pid = pid;
	return tracer__drain_all(tr, the_profile, p, err);
}

uint64_t tracer__calls(struct tracer *tr)
{
	uint64_t n = 0;

	bpfutil_sum_percpu(tr->skel->maps.calls_counted, tr->ncpus, &n, 1);
	return n;
}

uint64_t tracer__map_bytes(struct tracer *tr)
{
	return bpfutil_map_bytes(tr->skel->obj, tr->ncpus);
}

int tracer__proc_events_map(struct tracer *tr)
{
	return bpf_map__fd(tr->skel->maps.proc_events);
}

uint64_t tracer__events_lost(struct tracer *tr)
{
	return tr->skel->bss ? tr->skel->bss->proc_events_lost : 0;
}

void tracer__close(struct tracer *tr)
{
	if (!tr)
		return;
	tracer__detach(tr);
	pybpf_bpf__destroy(tr->skel);
	for (size_t i = 0; i < tr->nheld; i++)
		close(tr->held[i].fd);
	free(tr->held);
	free(tr->links);
	free(tr->files);
	free(tr);
}
