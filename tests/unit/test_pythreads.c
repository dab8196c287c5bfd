// SPDX-License-Identifier: GPL-2.0-only
/* pythreads.c: thread lists and Thread names read from memory. A fake
 * CPython 3.11 built in this process's memory (no root needed) gives the
 * route and its hostile variants: loops, absurd sizes, wrong types, holes.
 * Then real interpreters, each running five named threads: pyenv 3.9-3.13,
 * Debian's 3.11, bullseye's 3.9, sid's 3.13-3.15 (chroot, root only);
 * those not found here are skipped, saying so. And Debian's 3.11 starting
 * and joining threads without pause while it is read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "offsets.h"
#include "pythreads.h"
#include "target.h"

/* ---- a fake CPython 3.11 in our memory ---- */

/* 3.11 layouts (the reference note and user/pythreads.c's table). */
#define F_INTERP_MAIN 0x30
#define F_THREADS_HEAD 0x10
#define F_MODULES 0x378
#define F_TSTATE_NEXT 0x08
#define F_TSTATE_INTERP 0x10
#define F_THREAD_ID 0x98
#define F_NATIVE_TID 0xa0
#define F_TP_FLAGS 0xa8
#define F_CACHED_KEYS 0x368
#define F_STR_DATA 0x30
#define F_STR_ASCII (0x20 | 0x40 | 1 << 2) /* compact, ascii, 1 byte per char */
#define FLAG_HEAPTYPE (1ull << 9)
#define FLAG_MANAGED_DICT (1ull << 4)
#define FLAG_LONG (1ull << 24)
#define FLAG_STR (1ull << 28)
#define FLAG_DICT (1ull << 29)
#define KIND_GENERAL 0
#define KIND_UNICODE 1
#define KIND_SPLIT 2

static uint64_t arena[16384];
static size_t arena_used;

static uint64_t fake_alloc(size_t n)
{
	uint64_t p = (uint64_t)(uintptr_t)&arena[arena_used];

	arena_used += (n + 7) / 8;
	assert_true(arena_used <= sizeof(arena) / 8);
	return p;
}

static void put64(uint64_t addr, uint64_t v)
{
	memcpy((void *)(uintptr_t)addr, &v, sizeof(v));
}

static void put32(uint64_t addr, uint32_t v)
{
	memcpy((void *)(uintptr_t)addr, &v, sizeof(v));
}

static void put8(uint64_t addr, uint8_t v)
{
	memcpy((void *)(uintptr_t)addr, &v, sizeof(v));
}

static const uint64_t fake_idents[3] = { 0x7f00aa001640, 0x7f00aa802640, 0x7f00ab003640 };

struct fake {
	uint64_t str_type, int_type, dict_type, module_type, thread_type;
	uint64_t runtime, interp, modules, threading, active_keys;
	uint64_t thread[2], values[2], name_str[2], ident_int[2]; /* MainThread, worker */
	uint64_t ts[3];
	struct python_target t;
	struct pybpf_offsets off;
};

static uint64_t fake_type(uint64_t flags)
{
	uint64_t t = fake_alloc(0x400);

	put64(t + F_TP_FLAGS, flags);
	return t;
}

static uint64_t fake_str(const struct fake *f, const char *s)
{
	size_t len = strlen(s);
	uint64_t o = fake_alloc(F_STR_DATA + len + 1);

	put64(o + 0x8, f->str_type);
	put64(o + 0x10, len);
	put32(o + 0x20, F_STR_ASCII);
	memcpy((void *)(uintptr_t)(o + F_STR_DATA), s, len);
	return o;
}

static uint64_t fake_int(const struct fake *f, uint64_t v)
{
	uint64_t o = fake_alloc(0x18 + 12);
	int n = 0;

	put64(o + 0x8, f->int_type);
	for (; v; v >>= 30)
		put32(o + 0x18 + 4 * n++, (uint32_t)(v & ((1u << 30) - 1)));
	put64(o + 0x10, (uint64_t)n);
	return o;
}

/* A 3.11 keys object of 8 slots holding n entries. */
static uint64_t fake_keys(int kind, const uint64_t *keys, const uint64_t *values, int n)
{
	size_t entry = kind == KIND_GENERAL ? 24 : 16;
	uint64_t k = fake_alloc(0x20 + 8 + 5 * entry);

	assert_true(n <= 5);
	put8(k + 0x8, 3);
	put8(k + 0x9, 3);
	put8(k + 0xa, (uint8_t)kind);
	put64(k + 0x18, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		uint64_t e = k + 0x28 + i * entry;

		put64(e + (kind == KIND_GENERAL ? 8 : 0), keys[i]);
		if (kind != KIND_SPLIT)
			put64(e + (kind == KIND_GENERAL ? 16 : 8), values[i]);
	}
	return k;
}

static uint64_t fake_dict(const struct fake *f, uint64_t keys)
{
	uint64_t d = fake_alloc(0x30);

	put64(d + 0x8, f->dict_type);
	put64(d + 0x20, keys);
	return d;
}

/* A Thread whose attributes sit in a values array beside the class's keys. */
static void fake_thread(struct fake *f, int i, const char *name)
{
	uint64_t base = fake_alloc(32 + 16);

	f->thread[i] = base + 32;
	f->values[i] = fake_alloc(16);
	f->name_str[i] = fake_str(f, name);
	put64(f->values[i] + 8, f->name_str[i]); /* the second shared key, "_name" */
	put64(base, f->values[i]);
	put64(f->thread[i] + 0x8, f->thread_type);
	f->ident_int[i] = fake_int(f, fake_idents[i]);
}

/* Three thread states; threading knows the first two as MainThread and worker. */
static void fake_build(struct fake *f)
{
	uint64_t shared, keys[3], values[3], md_dict, active;

	memset(arena, 0, sizeof(arena));
	arena_used = 0;
	memset(f, 0, sizeof(*f));
	f->str_type = fake_type(FLAG_STR);
	f->int_type = fake_type(FLAG_LONG);
	f->dict_type = fake_type(FLAG_DICT);
	f->module_type = fake_type(0);
	f->thread_type = fake_type(FLAG_HEAPTYPE | FLAG_MANAGED_DICT);

	keys[0] = fake_str(f, "_target");
	keys[1] = fake_str(f, "_name");
	shared = fake_keys(KIND_SPLIT, keys, NULL, 2);
	put64(f->thread_type + F_CACHED_KEYS, shared);
	fake_thread(f, 0, "MainThread");
	fake_thread(f, 1, "worker");
	f->active_keys = fake_keys(KIND_GENERAL, f->ident_int, f->thread, 2);
	active = fake_dict(f, f->active_keys);
	keys[0] = fake_str(f, "_limbo");
	keys[1] = fake_str(f, "_active");
	values[0] = values[1] = active;
	md_dict = fake_dict(f, fake_keys(KIND_UNICODE, keys, values, 2));
	f->threading = fake_alloc(0x30);
	put64(f->threading + 0x8, f->module_type);
	put64(f->threading + 0x10, md_dict);
	keys[0] = fake_str(f, "sys");
	keys[1] = fake_str(f, "threadin"); /* a near miss first */
	keys[2] = fake_str(f, "threading");
	values[0] = values[1] = f->module_type;
	values[2] = f->threading;
	f->modules = fake_dict(f, fake_keys(KIND_UNICODE, keys, values, 3));

	f->runtime = fake_alloc(0x40);
	f->interp = fake_alloc(0x400);
	put64(f->runtime + F_INTERP_MAIN, f->interp);
	put64(f->interp + F_MODULES, f->modules);
	for (int i = 0; i < 3; i++) {
		f->ts[i] = fake_alloc(0xb0);
		put64(f->ts[i] + F_TSTATE_INTERP, f->interp);
		put64(f->ts[i] + F_THREAD_ID, fake_idents[i]);
		put64(f->ts[i] + F_NATIVE_TID, 1000 + (uint64_t)i);
		if (i)
			put64(f->ts[i - 1] + F_TSTATE_NEXT, f->ts[i]);
	}
	put64(f->interp + F_THREADS_HEAD, f->ts[0]);

	f->t.pid = getpid();
	f->t.major = 3;
	f->t.minor = 11;
	f->t.runtime_addr = f->runtime;
	snprintf(f->t.version, sizeof(f->t.version), "3.11");
	f->off = *offsets_for(3, 11);
}

/* Reads f, expecting n threads, named names[i] ("" where unknown). */
static void fake_expect(const struct fake *f, size_t n, const char *const *names)
{
	struct pybpf_err err = { "" };
	struct pythread *th = (void *)1;
	size_t got = 99;

	if (pythreads_read(&f->t, &f->off, &th, &got, &err))
		fail_msg("pythreads_read: %s", err.msg);
	assert_int_equal(got, n);
	for (size_t i = 0; i < n && i < 3; i++) {
		assert_int_equal(th[i].ident, fake_idents[i]);
		assert_int_equal(th[i].native_tid, 1000 + i);
		assert_string_equal(th[i].name, names[i]);
	}
	free(th);
}

static const char *const named[3] = { "MainThread", "worker", "" };
static const char *const unnamed[3] = { "", "", "" };

static void test_fake_route(void **state)
{
	struct fake f;

	(void)state;
	fake_build(&f);
	fake_expect(&f, 3, named);
}

/* Thread lists that loop or never end stop, with what was read. */
static void test_fake_thread_lists(void **state)
{
	struct pybpf_err err = { "" };
	const size_t many = PYTHREADS_MAX + 100;
	uint64_t *ts = calloc(many, 0xb0);
	struct pythread *th;
	struct fake f;
	size_t n;

	(void)state;
	fake_build(&f);
	put64(f.ts[2] + F_TSTATE_NEXT, f.ts[0]);
	fake_expect(&f, 3, named);
	put64(f.ts[2] + F_TSTATE_NEXT, f.ts[2]);
	fake_expect(&f, 3, named);
	/* A next pointer into nowhere, or to a state of another interpreter
	 * (freed, reused): the list ends there. */
	put64(f.ts[1] + F_TSTATE_NEXT, 0x10);
	fake_expect(&f, 2, named);
	put64(f.ts[1] + F_TSTATE_NEXT, f.ts[2]);
	put64(f.ts[2] + F_TSTATE_NEXT, 0);
	put64(f.ts[2] + F_TSTATE_INTERP, f.interp + 8);
	fake_expect(&f, 2, named);

	assert_non_null(ts);
	for (size_t i = 0; i < many; i++) {
		uint64_t a = (uint64_t)(uintptr_t)ts + i * 0xb0;

		put64(a + F_TSTATE_NEXT, i + 1 < many ? a + 0xb0 : 0);
		put64(a + F_TSTATE_INTERP, f.interp);
		put64(a + F_THREAD_ID, i);
	}
	put64(f.interp + F_THREADS_HEAD, (uint64_t)(uintptr_t)ts);
	assert_int_equal(pythreads_read(&f.t, &f.off, &th, &n, &err), 0);
	assert_int_equal(n, PYTHREADS_MAX);
	assert_int_equal(th[PYTHREADS_MAX - 1].ident, PYTHREADS_MAX - 1);
	free(th);
	free(ts);
}

/* A mapped page that cannot be read, even through /proc/PID/mem (which
 * reads PROT_NONE pages): a shared mapping of an empty file. */
static void *unreadable_page(void)
{
	int fd = memfd_create("pythreads-hole", MFD_CLOEXEC);
	void *p;

	assert_true(fd >= 0);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(p != MAP_FAILED);
	return p;
}

enum damage {
	MODULES_NOT_DICT, MODULES_UNREADABLE, NO_THREADING, MD_DICT_NULL, TABLE_TOO_BIG,
	INDEX_BYTES_WRONG, KIND_UNKNOWN, ENTRIES_BEYOND, NAME_NOT_STR, NAME_NOT_COMPACT,
	IDENT_TOO_BIG, NAME_SLOT_EMPTY, KEYS_NOT_SPLIT, CLASS_KEYS_NULL, MAIN_HAS_DICT,
};

static void fake_damage(struct fake *f, enum damage d, uint64_t gone)
{
	uint64_t shared = f->thread_type + F_CACHED_KEYS, keys[1], values[1];

	switch (d) {
	case MODULES_NOT_DICT: put64(f->modules + 0x8, f->module_type); break;
	case MODULES_UNREADABLE: put64(f->interp + F_MODULES, gone); break;
	case NO_THREADING: put64(f->modules + 0x20, f->active_keys); break;
	case MD_DICT_NULL: put64(f->threading + 0x10, 0); break;
	case TABLE_TOO_BIG: put8(f->active_keys + 0x8, 60); break;
	case INDEX_BYTES_WRONG: put8(f->active_keys + 0x9, 4); break;
	case KIND_UNKNOWN: put8(f->active_keys + 0xa, 7); break;
	case ENTRIES_BEYOND: put64(f->active_keys + 0x18, 9); break;
	case NAME_NOT_STR: put64(f->name_str[1] + 0x8, f->int_type); break;
	case NAME_NOT_COMPACT: put32(f->name_str[1] + 0x20, F_STR_ASCII & ~0x20); break;
	case IDENT_TOO_BIG: put64(f->ident_int[0] + 0x10, 4); break;
	case NAME_SLOT_EMPTY: put64(f->values[1] + 8, 0); break;
	case KEYS_NOT_SPLIT: put8(*(uint64_t *)(uintptr_t)shared + 0xa, KIND_UNICODE); break;
	case CLASS_KEYS_NULL: put64(shared, 0); break;
	case MAIN_HAS_DICT:
		keys[0] = fake_str(f, "_name");
		values[0] = f->name_str[0];
		put64(f->thread[0] - 32, 0);
		put64(f->thread[0] - 24, fake_dict(f, fake_keys(KIND_UNICODE, keys, values, 1)));
		break;
	}
}

/* Each damage to the route costs the names it touches, nothing else; the
 * last case is a materialised instance dict, which must be read. */
static void test_fake_damaged_route(void **state)
{
	static const char *const worker_only[3] = { "", "worker", "" };
	static const char *const main_only[3] = { "MainThread", "", "" };
	static const struct {
		const char *what;
		enum damage d;
		const char *const *names;
	} cases[] = {
		{ "sys.modules not a dict", MODULES_NOT_DICT, unnamed },
		{ "sys.modules unreadable", MODULES_UNREADABLE, unnamed },
		{ "no threading module", NO_THREADING, unnamed },
		{ "md_dict NULL", MD_DICT_NULL, unnamed },
		{ "2^60 slots", TABLE_TOO_BIG, unnamed },
		{ "index bytes inconsistent", INDEX_BYTES_WRONG, unnamed },
		{ "unknown keys kind", KIND_UNKNOWN, unnamed },
		{ "more entries than slots", ENTRIES_BEYOND, unnamed },
		{ "worker's _name an int", NAME_NOT_STR, main_only },
		{ "worker's _name not compact", NAME_NOT_COMPACT, main_only },
		{ "main's ident of 4 digits", IDENT_TOO_BIG, worker_only },
		{ "worker's _name slot empty", NAME_SLOT_EMPTY, main_only },
		{ "class keys not split", KEYS_NOT_SPLIT, unnamed },
		{ "class keys NULL", CLASS_KEYS_NULL, unnamed },
		{ "main's attributes in a dict", MAIN_HAS_DICT, named },
	};
	void *hole = unreadable_page();
	struct fake f;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("    %s\n", cases[i].what);
		fake_build(&f);
		fake_damage(&f, cases[i].d, (uint64_t)(uintptr_t)hole);
		fake_expect(&f, 3, cases[i].names);
	}
	munmap(hole, 4096);
}

static void test_fake_errors(void **state)
{
	struct pybpf_err err = { "" };
	struct pythread *th = (void *)1;
	void *hole = unreadable_page();
	struct fake f;
	size_t n = 7;

	(void)state;
	fake_build(&f);
	put64(f.runtime + F_INTERP_MAIN, 0);
	assert_int_equal(pythreads_read(&f.t, &f.off, &th, &n, &err), -1);
	assert_null(th);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err.msg, "has no main interpreter"));

	f.t.runtime_addr = (uint64_t)(uintptr_t)hole;
	assert_int_equal(pythreads_read(&f.t, &f.off, &th, &n, &err), -1);
	assert_non_null(strstr(err.msg, "cannot read the thread list of CPython 3.11"));

	f.t.runtime_addr = f.runtime;
	put64(f.runtime + F_INTERP_MAIN, f.interp);
	put64(f.interp + F_THREADS_HEAD, 0);
	th = (void *)1;
	assert_int_equal(pythreads_read(&f.t, &f.off, &th, &n, &err), 0);
	assert_null(th);
	assert_int_equal(n, 0);

	f.t.pid = gone_pid();
	assert_int_equal(pythreads_read(&f.t, &f.off, &th, &n, &err), -1);
	assert_non_null(strstr(err.msg, "the process is gone"));
	munmap(hole, 4096);
}

/* ---- real interpreters ---- */

enum where { HOST, PYENV, BULLSEYE, SID };

struct interp {
	const char *test_name;
	enum where where;
	const char *version; /* pyenv's directory name */
	int minor;
};

static const struct interp interps[] = {
	{ "real_pyenv_3.9.18", PYENV, "3.9.18", 9 },
	{ "real_bullseye_python3.9", BULLSEYE, NULL, 9 },
	{ "real_pyenv_3.10.13", PYENV, "3.10.13", 10 },
	{ "real_pyenv_3.11.7", PYENV, "3.11.7", 11 },
	{ "real_debian_python3.11", HOST, NULL, 11 },
	{ "real_pyenv_3.12.1", PYENV, "3.12.1", 12 },
	{ "real_pyenv_3.13.0", PYENV, "3.13.0", 13 },
	{ "real_sid_python3.13", SID, NULL, 13 },
	{ "real_sid_python3.14", SID, NULL, 14 },
	{ "real_sid_python3.15", SID, NULL, 15 },
};

/* The threads' names, and what Thread.name must read as: 63 bytes at most,
 * cut at a character. One per str width: ASCII, Latin-1, UCS-2, UCS-4. */
#define NNAMED 5
static const char *const py_names = "['worker-\\u03b1', 'db-pool-1', 'x' * 80, '\\xe9' * 40, "
				    "'\\U0001f9f5-thread']";
static const char *const want_names[NNAMED] = {
	"worker-\xce\xb1",
	"db-pool-1",
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	"\xc3\xa9",
	"\xf0\x9f\xa7\xb5-thread",
};

/* Threads that register, meet the main thread at a barrier, then wait; the
 * readiness line gives every (ident, native id), main's first. Stray
 * entries in _active (a str key, a negative key, a non-Thread value) must
 * be skipped; they go before exit. EOF on stdin ends it all. */
#define PY_SCRIPT_FMT                                                                       \
	"import sys, threading\n"                                                           \
	"names = %s\n"                                                                      \
	"ev = threading.Event()\n"                                                          \
	"ids = [None] * len(names)\n"                                                       \
	"met = threading.Barrier(len(names) + 1)\n"                                         \
	"def run(i):\n"                                                                     \
	"    ids[i] = (threading.get_ident(), threading.get_native_id())\n"                 \
	"    met.wait()\n"                                                                  \
	"    ev.wait()\n"                                                                   \
	"ts = [threading.Thread(target=run, args=(i,), name=n) for i, n in enumerate(names)]\n" \
	"for t in ts:\n"                                                                    \
	"    t.start()\n"                                                                   \
	"met.wait()\n"                                                                      \
	"threading._active['stray'] = object()\n"                                          \
	"threading._active[-5] = 'x'\n"                                                     \
	"print('ready', threading.get_ident(), threading.get_native_id(),\n"                \
	"      *['%%d %%d' %% p for p in ids], flush=True)\n"                               \
	"sys.stdin.read()\n"                                                                \
	"del threading._active['stray'], threading._active[-5]\n"                           \
	"ev.set()\n"                                                                        \
	"for t in ts:\n"                                                                    \
	"    t.join()\n"

struct interp_paths {
	char root[256]; /* chroot to run it in, or "" */
	char exe[512];  /* inside root */
};

static bool interp_find(const struct interp *ip, struct interp_paths *p)
{
	const char *env = NULL, *home;
	char here[1024];

	memset(p, 0, sizeof(*p));
	switch (ip->where) {
	case HOST:
		snprintf(p->exe, sizeof(p->exe), "/usr/bin/python3.%d", ip->minor);
		break;
	case PYENV:
		env = getenv("PYENV_ROOT");
		home = getenv("HOME");
		if (env && *env)
			snprintf(p->exe, sizeof(p->exe), "%s/versions/%s/bin/python3.%d", env,
				 ip->version, ip->minor);
		else
			snprintf(p->exe, sizeof(p->exe), "%s/.pyenv/versions/%s/bin/python3.%d",
				 home && *home ? home : "/root", ip->version, ip->minor);
		break;
	case BULLSEYE:
		env = getenv("PYBPF_PY39");
		if (env && *env)
			snprintf(p->exe, sizeof(p->exe), "%s", env);
		else
			snprintf(p->exe, sizeof(p->exe),
				 "/var/lib/pybpf-prof/interp/bullseye/usr/bin/python3.9");
		break;
	case SID:
		env = getenv("PYBPF_SID_ROOT");
		snprintf(p->root, sizeof(p->root), "%s",
			 env && *env ? env : "/var/lib/pybpf-prof/interp/sid");
		snprintf(p->exe, sizeof(p->exe), "/usr/bin/python3.%d", ip->minor);
		break;
	}
	snprintf(here, sizeof(here), "%s%s", p->root, p->exe);
	return !access(here, X_OK);
}

struct pychild {
	pid_t pid;
	int in;
	uint64_t ident[NNAMED + 1]; /* main's first */
	uint32_t native[NNAMED + 1];
};

/* Starts the script in p and reads its readiness line into line. */
static void pychild_spawn(const struct interp_paths *p, const char *script, struct pychild *c,
			  char *line, int len)
{
	char *argv[] = { (char *)p->exe, "-I", "-c", (char *)script, NULL };
	char *envp[] = { NULL };
	struct test_child tc;

	test_child_start(&tc, p->root, argv, envp);
	c->pid = tc.pid;
	c->in = tc.in;
	line[0] = '\0';
	if (!fgets(line, len, tc.out) || strncmp(line, "ready", 5)) {
		test_child_kill(&tc);
		fclose(tc.out);
		fail_msg("%s%s did not start: '%s'", p->root, p->exe, line);
	}
	fclose(tc.out);
}

static void pychild_start(const struct interp_paths *p, struct pychild *c)
{
	char script[2048], line[1024], *s, *end;

	snprintf(script, sizeof(script), PY_SCRIPT_FMT, py_names);
	pychild_spawn(p, script, c, line, sizeof(line));
	s = line + 5;
	for (int i = 0; i <= NNAMED; i++) {
		c->ident[i] = strtoull(s, &end, 10);
		assert_true(end > s);
		c->native[i] = (uint32_t)strtoul(end, &s, 10);
		assert_true(s > end);
	}
}

/* EOF on its stdin: it must exit 0, so reading it did not disturb it. */
static void pychild_stop(struct pychild *c)
{
	int status;

	close(c->in);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("PID %d ended with status 0x%x", c->pid, status);
}

static const struct pythread *thread_of(const struct pythread *th, size_t n, uint64_t ident)
{
	for (size_t i = 0; i < n; i++) {
		if (th[i].ident == ident)
			return &th[i];
	}
	fail_msg("no thread state with ident %llu", (unsigned long long)ident);
	return NULL;
}

static void check_threads(const struct interp *ip, const struct pychild *c,
			  const struct pythread *th, size_t n)
{
	assert_int_equal(n, NNAMED + 1);
	for (int i = 0; i <= NNAMED; i++) {
		const struct pythread *t = thread_of(th, n, c->ident[i]);
		const char *want = i ? want_names[i - 1] : "MainThread";

		if (strcmp(t->name, want))
			fail_msg("thread %llu: name '%s', want '%s'", (unsigned long long)t->ident,
				 t->name, want);
		assert_int_equal(t->native_tid, ip->minor >= 11 ? c->native[i] : 0);
	}
}

static void test_real_python(void **state)
{
	const struct interp *ip = *state;
	struct pybpf_err err = { "" };
	struct interp_paths p;
	struct python_target t;
	struct pybpf_offsets off;
	struct pythread *th;
	struct pychild c;
	size_t n;

	if (!interp_find(ip, &p)) {
		print_message("    skipped: no %s%s\n", p.root, p.exe);
		skip();
	}
	if (p.root[0] && geteuid()) {
		print_message("    skipped: chroot needs root\n");
		skip();
	}
	pychild_start(&p, &c);
	if (python_target__inspect(c.pid, &t, &err) || offsets_for_target(&t, &off, &err))
		fail_msg("inspect: %s", err.msg);
	assert_int_equal(t.minor, ip->minor);
	if (pythreads_read(&t, &off, &th, &n, &err))
		fail_msg("pythreads_read: %s", err.msg);
	check_threads(ip, &c, th, n);
	print_message("    %s: %zu threads named, e.g. '%s'\n", t.version, n, th[0].name);
	free(th);
	pychild_stop(&c);
}

/* Threads started and joined without pause while the list and the names
 * are read: a walk may meet a thread state being freed, but a changing
 * target gives names that are "" or right: MainThread and churner only on
 * their own idents. */
#define CHURN_SCRIPT                                                                   \
	"import sys, threading\n"                                                      \
	"stop = threading.Event()\n"                                                   \
	"def churn():\n"                                                               \
	"    while not stop.is_set():\n"                                               \
	"        ts = [threading.Thread(target=int, name='churn-%d' % i) for i in range(8)]\n" \
	"        for t in ts:\n"                                                       \
	"            t.start()\n"                                                      \
	"        for t in ts:\n"                                                       \
	"            t.join()\n"                                                       \
	"c = threading.Thread(target=churn, name='churner')\n"                         \
	"c.start()\n"                                                                  \
	"print('ready', threading.get_ident(), c.ident, flush=True)\n"                 \
	"sys.stdin.read()\n"                                                           \
	"stop.set()\n"                                                                 \
	"c.join()\n"
#define CHURN_READS 20

static bool churn_name_ok(const struct pythread *t, uint64_t main_ident,
			  uint64_t churner_ident)
{
	const char *name = t->name;

	if (!strcmp(name, "MainThread"))
		return t->ident == main_ident;
	if (!strcmp(name, "churner"))
		return t->ident == churner_ident;
	return !name[0] || (t->ident != main_ident && t->ident != churner_ident &&
			    !strncmp(name, "churn-", 6) && name[6] >= '0' && name[6] <= '7' &&
			    !name[7]);
}

static void test_real_changing_target(void **state)
{
	static const struct interp host = { "host", HOST, NULL, 11 };
	const struct interp *ip = &host;
	struct pybpf_err err = { "" };
	struct interp_paths p;
	struct python_target t;
	struct pybpf_offsets off;
	unsigned long long main_ident = 0, churner_ident = 0;
	int main_named = 0, churner_named = 0;
	struct pychild c;
	char line[128];

	(void)state;
	if (!interp_find(ip, &p)) {
		print_message("    skipped: no %s\n", p.exe);
		skip();
	}
	pychild_spawn(&p, CHURN_SCRIPT, &c, line, sizeof(line));
	assert_int_equal(sscanf(line, "ready %llu %llu", &main_ident, &churner_ident), 2);
	if (python_target__inspect(c.pid, &t, &err) || offsets_for_target(&t, &off, &err))
		fail_msg("inspect: %s", err.msg);
	for (int r = 0; r < CHURN_READS; r++) {
		struct pythread *th;
		size_t n;

		if (pythreads_read(&t, &off, &th, &n, &err))
			fail_msg("read %d: %s", r, err.msg);
		assert_true(n <= PYTHREADS_MAX);
		for (size_t i = 0; i < n; i++) {
			if (!churn_name_ok(&th[i], main_ident, churner_ident))
				fail_msg("read %d: thread %llu named '%s'", r,
					 (unsigned long long)th[i].ident, th[i].name);
			main_named += !strcmp(th[i].name, "MainThread");
			churner_named += !strcmp(th[i].name, "churner");
		}
		free(th);
	}
	print_message("    MainThread named in %d/%d reads, churner in %d\n", main_named,
		      CHURN_READS, churner_named);
	/* A walk is redone when it meets a freed state: all of them failing
	 * in every read is not what a working reader does. */
	assert_true(main_named > 0 && churner_named > 0);
	pychild_stop(&c);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_fake_route),
		cmocka_unit_test(test_fake_thread_lists),
		cmocka_unit_test(test_fake_damaged_route),
		cmocka_unit_test(test_fake_errors),
		cmocka_unit_test(test_real_changing_target),
	};

	signal(SIGPIPE, SIG_IGN);
	alarm(120);
	return run_group_with_table("test_pythreads", fixed, sizeof(fixed) / sizeof(fixed[0]),
				    test_real_python, interps, sizeof(interps) / sizeof(interps[0]),
				    sizeof(interps[0]));
}
