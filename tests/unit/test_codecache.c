// SPDX-License-Identifier: GPL-2.0-only
/* codecache.c: code objects made up in this process's memory (str headers,
 * bytes sizes, the first-line guard, caching, a full cache), then, as root,
 * code objects of live CPython children (bullseye 3.9, pyenv 3.9-3.13,
 * Debian 3.11, sid 3.13-3.15, each where present): names and file names
 * with Latin-1, UCS-2 and UCS-4 characters, truncated ones, and the line a
 * suspended generator stands at, against what the child says. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codecache.h"
#include "offsets.h"
#include "target.h"

/* ---- made-up objects, laid out as CPython 3.12's ---- */

#define STATE_COMPACT 0x20
#define STATE_ASCII 0x40
#define KIND(k) ((k) << 2)
#define LOC(kind, units) ((uint8_t)(0x80 | (kind) << 3 | ((units) - 1)))

static const struct pybpf_offsets *layout(void)
{
	return offsets_for(3, 12);
}

static uint64_t addr_of(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* A str object: header with state and length, then nbytes of data where a
 * compact ASCII (ascii) or compact non-ASCII str keeps it. */
static unsigned char *fake_str(uint32_t state, int64_t length, const void *data, size_t nbytes)
{
	const struct pybpf_offsets *o = layout();
	unsigned char *s = calloc(1, 64 + nbytes + 4);
	size_t at = state & STATE_ASCII ? o->unicode_ascii_data : o->unicode_compact_data;

	assert_non_null(s);
	memcpy(s + o->unicode_state, &state, sizeof(state));
	memcpy(s + o->unicode_length, &length, sizeof(length));
	memcpy(s + at, data, nbytes);
	return s;
}

static unsigned char *ascii_str(const char *text)
{
	return fake_str(STATE_COMPACT | STATE_ASCII | KIND(1), (int64_t)strlen(text), text,
			strlen(text));
}

/* A bytes object of ob_size size holding n bytes of data. */
static unsigned char *fake_bytes(int64_t size, const void *data, size_t n)
{
	unsigned char *b = calloc(1, 0x20 + n);

	assert_non_null(b);
	memcpy(b + 0x10, &size, sizeof(size));
	memcpy(b + 0x20, data, n);
	return b;
}

struct fake_code {
	unsigned char obj[256];
	unsigned char *name, *filename, *table;
};

static void set_ptr(struct fake_code *c, uint32_t off, const void *p)
{
	uint64_t v = addr_of(p);

	memcpy(c->obj + off, &v, sizeof(v));
}

/* A code object at line 40 named "fn" in "\u51fd\u6570.py" (UCS-2): units
 * 0-1 on line 40, 2-4 on line 42. */
static void fake_code_init(struct fake_code *c)
{
	static const uint16_t file[] = { 0x51fd, 0x6570, '.', 'p', 'y' };
	static const uint8_t table[] = { LOC(10, 2), 0, 1, LOC(12, 3), 0, 1 };
	const struct pybpf_offsets *o = layout();
	int32_t line = 40;

	memset(c, 0, sizeof(*c));
	c->name = ascii_str("fn");
	c->filename = fake_str(STATE_COMPACT | KIND(2), 5, file, sizeof(file));
	c->table = fake_bytes(sizeof(table), table, sizeof(table));
	memcpy(c->obj + o->code_firstlineno, &line, sizeof(line));
	set_ptr(c, o->code_name, c->name);
	set_ptr(c, o->code_filename, c->filename);
	set_ptr(c, o->code_linetable, c->table);
}

/* The code object's key as the sampler gives it: address and file tag. */
static uint64_t key_of(const struct fake_code *c)
{
	return addr_of(c->obj) | PYBPF_CODE_TAG(addr_of(c->filename));
}

static void fake_code_free(struct fake_code *c)
{
	free(c->name);
	free(c->filename);
	free(c->table);
}

static struct codecache *own_cache(void)
{
	struct codecache *cc = codecache__new(getpid(), 12, layout());

	assert_non_null(cc);
	return cc;
}

static void test_made_up_code(void **state)
{
	struct codecache *cc = own_cache();
	const struct codeinfo *ci;
	struct fake_code c;

	(void)state;
	fake_code_init(&c);
	ci = codecache__get(cc, key_of(&c), 40);
	assert_non_null(ci);
	assert_string_equal(ci->name, "fn");
	assert_string_equal(ci->filename, "\u51fd\u6570.py");
	assert_int_equal(ci->firstlineno, 40);
	assert_int_equal(ci->linetable_len, 6);
	assert_int_equal(codecache__line(ci, 12, -1), 40);
	assert_int_equal(codecache__line(ci, 12, 1), 40);
	assert_int_equal(codecache__line(ci, 12, 2), 42);
	assert_int_equal(codecache__line(ci, 12, 4), 42);
	assert_int_equal(codecache__line(NULL, 12, 4), 0);

	/* Read once: a change in the target is not seen; the same entry comes back. */
	c.name[layout()->unicode_ascii_data] = 'X';
	assert_ptr_equal(codecache__get(cc, key_of(&c), 40), ci);
	assert_string_equal(ci->name, "fn");
	/* Another first line at that address: not this code object. */
	assert_null(codecache__get(cc, key_of(&c), 41));
	/* Another file name's tag: another code object that had this address. */
	assert_null(codecache__get(cc, addr_of(c.obj) | PYBPF_CODE_TAG(addr_of(c.filename) + 8),
				   40));
	/* Unmapped memory, or no address at all. */
	assert_null(codecache__get(cc, 8, 40));
	assert_null(codecache__get(cc, 0, 40));
	codecache__free(cc);
	fake_code_free(&c);
}

/* Each broken part alone makes the object unreadable (NULL). */
static void test_bad_headers(void **state)
{
	static const uint16_t ucs2[] = { 0x51fd };
	const struct pybpf_offsets *o = layout();
	struct {
		const char *what;
		uint32_t field; /* the pointer replaced */
		unsigned char *obj;
	} cases[] = {
		{ "legacy (not compact) str", o->code_name,
		  fake_str(KIND(1) | STATE_ASCII, 2, "fn", 2) },
		{ "kind 3", o->code_name, fake_str(STATE_COMPACT | KIND(3), 1, "abc", 3) },
		{ "kind 0", o->code_filename, fake_str(STATE_COMPACT, 1, "a", 1) },
		{ "negative length", o->code_name,
		  fake_str(STATE_COMPACT | STATE_ASCII | KIND(1), -1, "fn", 2) },
		{ "ASCII flag on a UCS-2 str", o->code_name,
		  fake_str(STATE_COMPACT | STATE_ASCII | KIND(2), 1, ucs2, 2) },
		{ "ASCII str with a byte >= 0x80", o->code_filename,
		  fake_str(STATE_COMPACT | STATE_ASCII | KIND(1), 2, "f\xe9", 2) },
		{ "negative bytes size", o->code_linetable, fake_bytes(-1, "", 0) },
		{ "absurd bytes size", o->code_linetable, fake_bytes(INT64_C(1) << 40, "", 0) },
		{ "NULL name", o->code_name, NULL },
		{ "NULL line table", o->code_linetable, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct codecache *cc = own_cache();
		const void *good;
		struct fake_code c;

		fake_code_init(&c);
		good = c.table;
		if (cases[i].field == o->code_name)
			good = c.name;
		else if (cases[i].field == o->code_filename)
			good = c.filename;
		set_ptr(&c, cases[i].field, cases[i].obj);
		if (codecache__get(cc, key_of(&c), 40))
			fail_msg("%s: resolved", cases[i].what);
		/* The failure is kept: fixed, the object still is not read again. */
		set_ptr(&c, cases[i].field, good);
		assert_null(codecache__get(cc, key_of(&c), 40));
		codecache__free(cc);
		/* A new cache reads the fixed object. */
		cc = own_cache();
		assert_non_null(codecache__get(cc, key_of(&c), 40));
		codecache__free(cc);
		fake_code_free(&c);
		free(cases[i].obj);
	}
}

/* Names and file names are cut at their bounds, at a whole character; line
 * tables past 1 MiB are kept in part; an empty one gives the first line. */
static void test_bounds(void **state)
{
	const size_t big = 3 * CODECACHE_TABLE_MAX / 2;
	const struct pybpf_offsets *o = layout();
	struct codecache *cc = own_cache();
	uint32_t *emoji = malloc(300 * 4);
	char *long_ascii = malloc(5001), *want = malloc(4097);
	uint8_t *table = calloc(1, big);
	const struct codeinfo *ci;
	struct fake_code c;

	(void)state;
	assert_true(emoji && long_ascii && want && table);
	for (int i = 0; i < 300; i++)
		emoji[i] = 0x1f600;
	memset(long_ascii, 'f', 5000);
	long_ascii[5000] = '\0';
	fake_code_init(&c);
	free(c.name);
	free(c.filename);
	free(c.table);
	c.name = fake_str(STATE_COMPACT | KIND(4), 300, emoji, 300 * 4);
	c.filename = ascii_str(long_ascii);
	table[0] = LOC(13, 1), table[1] = 10; /* +5 lines, then padding */
	c.table = fake_bytes((int64_t)big, table, big);
	set_ptr(&c, o->code_name, c.name);
	set_ptr(&c, o->code_filename, c.filename);
	set_ptr(&c, o->code_linetable, c.table);
	ci = codecache__get(cc, key_of(&c), 40);
	assert_non_null(ci);
	assert_int_equal(strlen(ci->name), CODECACHE_NAME_MAX); /* 256 whole emoji */
	for (int i = 0; i < CODECACHE_NAME_MAX / 4; i++)
		assert_memory_equal(ci->name + 4 * i, "\xf0\x9f\x98\x80", 4);
	memset(want, 'f', 4096);
	want[4096] = '\0';
	assert_string_equal(ci->filename, want);
	assert_int_equal(ci->linetable_len, CODECACHE_TABLE_MAX);
	assert_int_equal(codecache__line(ci, 12, 0), 45);

	/* An empty line table. */
	free(c.table);
	c.table = fake_bytes(0, "", 0);
	set_ptr(&c, o->code_linetable, c.table);
	memcpy(c.obj + o->code_firstlineno, &(int32_t){ 41 }, 4);
	ci = codecache__get(cc, key_of(&c), 41);
	assert_non_null(ci);
	assert_null(ci->linetable);
	assert_int_equal(ci->linetable_len, 0);
	assert_int_equal(codecache__line(ci, 12, 3), 41);
	codecache__free(cc);
	fake_code_free(&c);
	free(emoji);
	free(long_ascii);
	free(want);
	free(table);
}

/* Past CODECACHE_MAX_ENTRIES, code objects are still resolved (into one
 * scratch entry); those cached before stay. */
static void test_full_cache(void **state)
{
	struct codecache *cc = own_cache();
	const struct codeinfo *ci;
	struct fake_code c, d;

	(void)state;
	fake_code_init(&c);
	fake_code_init(&d);
	memcpy(d.obj + layout()->code_firstlineno, &(int32_t){ 77 }, 4);
	assert_non_null(codecache__get(cc, key_of(&c), 40));
	/* Address 0 is never read: a cheap way to fill the cache with failures. */
	for (int32_t i = 1; i < CODECACHE_MAX_ENTRIES; i++)
		assert_null(codecache__get(cc, 0, i));
	ci = codecache__get(cc, key_of(&d), 77);
	assert_non_null(ci);
	assert_string_equal(ci->name, "fn");
	assert_int_equal(ci->firstlineno, 77);
	ci = codecache__get(cc, key_of(&d), 77);
	assert_non_null(ci);
	assert_int_equal(codecache__line(ci, 12, 2), 79);
	/* The one cached first is still there, and still the same. */
	c.name[layout()->unicode_ascii_data] = 'X';
	ci = codecache__get(cc, key_of(&c), 40);
	assert_non_null(ci);
	assert_string_equal(ci->name, "fn");
	codecache__free(cc);
	fake_code_free(&c);
	fake_code_free(&d);
}

/* A str whose characters run into unmapped memory. */
static void test_str_past_mapped_memory(void **state)
{
	const struct pybpf_offsets *o = layout();
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *str = pages + page - 64;
	uint32_t st = STATE_COMPACT | STATE_ASCII | KIND(1);
	int64_t length = 100;
	struct codecache *cc = own_cache();
	struct fake_code c;

	(void)state;
	assert_true(pages != MAP_FAILED);
	assert_int_equal(munmap(pages + page, page), 0);
	memset(str, 'a', 64);
	memcpy(str + o->unicode_state, &st, sizeof(st));
	memcpy(str + o->unicode_length, &length, sizeof(length));
	fake_code_init(&c);
	set_ptr(&c, o->code_name, str);
	assert_null(codecache__get(cc, key_of(&c), 40));
	/* 24 characters fit before the hole. */
	length = 64 - o->unicode_ascii_data;
	memcpy(str + o->unicode_length, &length, sizeof(length));
	assert_null(codecache__get(cc, key_of(&c), 40)); /* the failure is kept */
	codecache__free(cc);
	cc = own_cache();
	assert_non_null(codecache__get(cc, key_of(&c), 40));
	codecache__free(cc);
	fake_code_free(&c);
	munmap(pages, page);
}

static void test_new_refuses_bad_offsets(void **state)
{
	struct pybpf_offsets off = *layout();

	(void)state;
	errno = 0;
	assert_null(codecache__new(getpid(), 12, NULL));
	assert_int_equal(errno, EINVAL);
	off.code_linetable = PYBPF_NO_OFFSET;
	errno = 0;
	assert_null(codecache__new(getpid(), 12, &off));
	assert_int_equal(errno, EINVAL);
	off = *layout();
	off.unicode_compact_data = 100000;
	assert_null(codecache__new(getpid(), 12, &off));
	codecache__free(NULL);
}

/* ---- live interpreters (root) ---- */

enum where { HOST, PYENV, BULLSEYE, SID };

struct interp {
	const char *name; /* the test's */
	enum where where;
	const char *version; /* pyenv's directory name */
	int minor;
};

static const struct interp interps[] = {
	{ "live_bullseye_python3.9", BULLSEYE, NULL, 9 },
	{ "live_pyenv_3.9.18", PYENV, "3.9.18", 9 },
	{ "live_pyenv_3.10.13", PYENV, "3.10.13", 10 },
	{ "live_debian_python3.11", HOST, NULL, 11 },
	{ "live_pyenv_3.11.7", PYENV, "3.11.7", 11 },
	{ "live_pyenv_3.12.1", PYENV, "3.12.1", 12 },
	{ "live_pyenv_3.13.0", PYENV, "3.13.0", 13 },
	{ "live_sid_python3.13", SID, NULL, 13 },
	{ "live_sid_python3.14", SID, NULL, 14 },
	{ "live_sid_python3.15", SID, NULL, 15 },
};

/* Where an interpreter is: a chroot to run it in ("" for none) and its path
 * in there. False when it is not on this machine. */
static bool interp_find(const struct interp *ip, char *root, size_t rn, char *exe, size_t en)
{
	const char *env = getenv("PYBPF_INTERP_DIR"), *home = getenv("HOME");
	const char *dir = env && *env ? env : "/var/lib/pybpf-prof/interp";
	char here[1024];

	root[0] = '\0';
	switch (ip->where) {
	case HOST:
		snprintf(exe, en, "/usr/bin/python3.%d", ip->minor);
		break;
	case PYENV:
		env = getenv("PYENV_ROOT");
		if (env && *env)
			snprintf(exe, en, "%s/versions/%s/bin/python3.%d", env, ip->version,
				 ip->minor);
		else
			snprintf(exe, en, "%s/.pyenv/versions/%s/bin/python3.%d",
				 home && *home ? home : "/root", ip->version, ip->minor);
		break;
	case BULLSEYE:
		snprintf(exe, en, "%s/bullseye/usr/bin/python3.%d", dir, ip->minor);
		break;
	case SID:
		snprintf(root, rn, "%s/sid", dir);
		snprintf(exe, en, "/usr/bin/python3.%d", ip->minor);
		break;
	}
	snprintf(here, sizeof(here), "%s%s", root, exe);
	return !access(here, X_OK);
}

/* The child: three suspended generators whose code objects have ASCII,
 * Latin-1 and UCS-2 names and ASCII, Latin-1 and UCS-4 file names, each
 * stopped on a line 200 lines and hundreds of bytes of bytecode past its
 * first; and four copies of the first with over-long names. It prints, on
 * one line, key(code) co_firstlineno lasti f_lineno for each generator (lasti
 * in code units, as the sampler gives it), then key(code) co_firstlineno for
 * each copy, and waits to be killed; key() is the code object's address with
 * PYBPF_CODE_TAG of its file name's, as the sampler gives it. */
static const char child_code[] =
	"import time\n"
	"def key(c): return id(c) | (((id(c.co_filename) >> 3) & 0xffff) << 48)\n"
	"SRC = '\\n'.join(['def NAME():', '    x = 1', '    x = ' + ' + '.join(['x'] * 200)]\n"
	"                 + [''] * 200 + ['    yield x', '    yield x', ''])\n"
	"def gen(k, name, filename):\n"
	"    ns = {}\n"
	"    exec(compile('\\n' * k + SRC.replace('NAME', name), filename, 'exec'), ns)\n"
	"    g = ns[name]()\n"
	"    next(g)\n"
	"    return g\n"
	"keep = [gen(3, 'plain', 'plain.py'), gen(5, 'f\\u00fcnf', '/tmp/t\\u00ebst.py'),\n"
	"        gen(7, '\\u51fd\\u6570', '/tmp/\\U0001f600/\\u00e9moji.py')]\n"
	"c = keep[0].gi_code\n"
	"copies = [c.replace(co_name='a' * 2000, co_filename='f' * 5000),\n"
	"          c.replace(co_name='\\u00e9' * 700), c.replace(co_name='\\u51fd' * 400),\n"
	"          c.replace(co_name='\\U0001f600' * 300)]\n"
	"out = ['%d %d %d %d' % (key(g.gi_code), g.gi_code.co_firstlineno,\n"
	"                        g.gi_frame.f_lasti // 2, g.gi_frame.f_lineno) for g in keep]\n"
	"out += ['%d %d' % (key(c), c.co_firstlineno) for c in copies]\n"
	"print(' '.join(out), flush=True)\n"
	"time.sleep(60)\n";

struct child_report {
	uint64_t gen_code[3];
	int32_t gen_first[3], gen_lasti[3], gen_line[3];
	uint64_t copy_code[4];
	int32_t copy_first[4];
};

static pid_t start_child(const char *root, const char *exe, char *line, int n)
{
	const char *argv[] = { "chroot", root, exe, "-c", child_code, NULL };
	char what[PATH_MAX + 64];

	snprintf(what, sizeof(what), "%s%s", root, exe);
	return spawn_argv(root[0] ? argv : argv + 2, what, line, n);
}

static bool parse_report(const char *line, struct child_report *r)
{
	int used;

	for (int i = 0; i < 3; i++, line += used) {
		used = 0;
		if (sscanf(line, "%" SCNu64 " %d %d %d%n", &r->gen_code[i], &r->gen_first[i],
			   &r->gen_lasti[i], &r->gen_line[i], &used) != 4 || !used)
			return false;
	}
	for (int i = 0; i < 4; i++, line += used) {
		used = 0;
		if (sscanf(line, "%" SCNu64 " %d%n", &r->copy_code[i], &r->copy_first[i],
			   &used) != 2 || !used)
			return false;
	}
	return true;
}

static char *repeat(const char *s, int times)
{
	size_t n = strlen(s);
	char *out = malloc(n * times + 1);

	assert_non_null(out);
	for (int i = 0; i < times; i++)
		memcpy(out + n * i, s, n);
	out[n * times] = '\0';
	return out;
}

static void expect_name(const struct codeinfo *ci, const char *unit, int times, const char *what)
{
	char *want = repeat(unit, times);

	assert_non_null(ci);
	if (strcmp(ci->name, want))
		fail_msg("%s: name of %zu bytes, want %d x '%s'", what, strlen(ci->name), times,
			 unit);
	free(want);
}

static void check_child(const struct interp *ip, struct codecache *cc,
			const struct child_report *r)
{
	static const char *const names[] = { "plain", "f\u00fcnf", "\u51fd\u6570" };
	static const char *const files[] = { "plain.py", "/tmp/t\u00ebst.py",
					     "/tmp/\U0001f600/\u00e9moji.py" };
	const struct codeinfo *ci;
	char *f4096;

	for (int i = 0; i < 3; i++) {
		ci = codecache__get(cc, r->gen_code[i], r->gen_first[i]);
		if (!ci)
			fail_msg("%s: code object '%s' at 0x%" PRIx64 " not resolved", ip->name,
				 names[i], r->gen_code[i]);
		assert_string_equal(ci->name, names[i]);
		assert_string_equal(ci->filename, files[i]);
		assert_int_equal(ci->firstlineno, r->gen_first[i]);
		assert_int_equal(r->gen_first[i], 4 + 2 * i);
		assert_int_equal(codecache__line(ci, ip->minor, r->gen_lasti[i]), r->gen_line[i]);
		assert_int_equal(r->gen_line[i], r->gen_first[i] + 203);
		assert_int_equal(codecache__line(ci, ip->minor, -1), r->gen_first[i]);
		assert_ptr_equal(codecache__get(cc, r->gen_code[i], r->gen_first[i]), ci);
		assert_null(codecache__get(cc, r->gen_code[i], r->gen_first[i] + 1));
	}
	ci = codecache__get(cc, r->copy_code[0], r->copy_first[0]);
	expect_name(ci, "a", CODECACHE_NAME_MAX, "2000 x 'a'");
	f4096 = repeat("f", CODECACHE_FILENAME_MAX);
	assert_string_equal(ci->filename, f4096);
	free(f4096);
	expect_name(codecache__get(cc, r->copy_code[1], r->copy_first[1]), "\u00e9",
		    CODECACHE_NAME_MAX / 2, "700 x U+00E9");
	expect_name(codecache__get(cc, r->copy_code[2], r->copy_first[2]), "\u51fd",
		    CODECACHE_NAME_MAX / 3, "400 x U+51FD");
	expect_name(codecache__get(cc, r->copy_code[3], r->copy_first[3]), "\U0001f600",
		    CODECACHE_NAME_MAX / 4, "300 x U+1F600");
}

static void test_live(void **state)
{
	const struct interp *ip = *state;
	char root[512], exe[512], line[4096];
	struct pybpf_err err = { "" };
	struct pybpf_offsets off;
	struct python_target t;
	struct child_report r;
	struct codecache *cc;
	const struct codeinfo *ci;
	pid_t pid;

	if (geteuid()) {
		print_message("    skipped: reading a child's memory needs root here\n");
		skip();
	}
	if (!interp_find(ip, root, sizeof(root), exe, sizeof(exe))) {
		print_message("    skipped: no %s%s on this machine\n", root, exe);
		skip();
	}
	pid = start_child(root, exe, line, sizeof(line));
	if (!parse_report(line, &r) || python_target__inspect(pid, &t, &err) ||
	    offsets_for_target(&t, &off, &err)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("%s%s: '%s' %s", root, exe, line, err.msg);
	}
	assert_int_equal(t.minor, ip->minor);
	cc = codecache__new(pid, t.minor, &off);
	assert_non_null(cc);
	check_child(ip, cc, &r);
	print_message("    %s %s: names, file names and lines %d/%d/%d resolved\n",
		      ip->name + 5, t.version, r.gen_line[0], r.gen_line[1], r.gen_line[2]);

	/* Gone: what was read stays; nothing new can be read. */
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	ci = codecache__get(cc, r.gen_code[1], r.gen_first[1]);
	assert_non_null(ci);
	assert_string_equal(ci->name, "f\u00fcnf");
	assert_null(codecache__get(cc, r.gen_code[1] + 0x40, r.gen_first[1]));
	codecache__free(cc);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_made_up_code),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_full_cache),
		cmocka_unit_test(test_str_past_mapped_memory),
		cmocka_unit_test(test_new_refuses_bad_offsets),
	};

	return run_group_with_table("test_codecache", fixed, sizeof(fixed) / sizeof(fixed[0]),
				    test_live, interps, sizeof(interps) / sizeof(interps[0]),
				    sizeof(interps[0]));
}
