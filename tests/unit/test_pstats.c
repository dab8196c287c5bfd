// SPDX-License-Identifier: GPL-2.0-only
/* pstats.c: exact marshal bytes, a round trip through Python's pstats, and
 * the atomic file write. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "profile.h"
#include "pstats.h"

#define PYTHON "/usr/bin/python3"
#define DIR_MAX 1024 /* the test directory's path; files in it fit PATH_MAX */

static struct pybpf_stats stats(uint64_t nc, uint64_t cc, uint64_t tt_ns, uint64_t ct_ns)
{
	return (struct pybpf_stats){ .ncalls = nc, .pcalls = cc, .tottime_ns = tt_ns,
				     .cumtime_ns = ct_ns };
}

static size_t add_func(struct pybpf_profile *p, const char *file, int32_t line, const char *name,
		       struct pybpf_stats st)
{
	long i = profile_intern(p, file, line, name);

	assert_true(i >= 0);
	profile_add(p, (size_t)i, &st);
	return (size_t)i;
}

static void add_caller(struct pybpf_profile *p, size_t callee, size_t caller,
		       struct pybpf_stats st)
{
	assert_int_equal(profile_add_caller(p, callee, caller, &st), 0);
}

/* pstats_write's output, malloc'ed. */
static char *write_mem(const struct pybpf_profile *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(pstats_write(p, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* Two functions; every value kind: small and boundary ints, TYPE_LONG with
 * 3, 4 and 5 digits (inner zero digits too), floats, non-ASCII unicode. */
static void build_tiny(struct pybpf_profile *p)
{
	size_t f, m;

	profile_init(p);
	f = add_func(p, "/tmp/\xc3\xa4.py", 7, "f",
		     stats(1ull << 31, 2, 1500000000, 250000000));
	m = add_func(p, "~", 0, "<m>", stats(INT32_MAX, 1, 0, 0));
	add_caller(p, f, m, stats(UINT64_MAX, (1ull << 46) + 3, 0, 1));
}

static const unsigned char tiny_bytes[] = {
	'{',
	/* key ("/tmp/ä.py", 7, "f") */
	'(', 3, 0, 0, 0,
	'u', 10, 0, 0, 0, '/', 't', 'm', 'p', '/', 0xc3, 0xa4, '.', 'p', 'y',
	'i', 7, 0, 0, 0,
	'u', 1, 0, 0, 0, 'f',
	/* (cc, nc, tt, ct, callers) */
	'(', 5, 0, 0, 0,
	'i', 2, 0, 0, 0,
	'l', 3, 0, 0, 0, 0, 0, 0, 0, 2, 0,    /* 2^31 = 2 * 2^30 */
	'g', 0, 0, 0, 0, 0, 0, 0xf8, 0x3f,    /* 1.5 */
	'g', 0, 0, 0, 0, 0, 0, 0xd0, 0x3f,    /* 0.25 */
	'{',
	'(', 3, 0, 0, 0,
	'u', 1, 0, 0, 0, '~',
	'i', 0, 0, 0, 0,
	'u', 3, 0, 0, 0, '<', 'm', '>',
	/* (nc, cc, tt, ct) */
	'(', 4, 0, 0, 0,
	'l', 5, 0, 0, 0, 0xff, 0x7f, 0xff, 0x7f, 0xff, 0x7f, 0xff, 0x7f, 0x0f, 0, /* 2^64-1 */
	'l', 4, 0, 0, 0, 3, 0, 0, 0, 0, 0, 2, 0,                          /* 2^46+3 */
	'g', 0, 0, 0, 0, 0, 0, 0, 0,                                      /* 0.0 */
	'g', 0x95, 0xd6, 0x26, 0xe8, 0x0b, 0x2e, 0x11, 0x3e,              /* 1e-9 */
	'0',
	/* key ("~", 0, "<m>") */
	'(', 3, 0, 0, 0,
	'u', 1, 0, 0, 0, '~',
	'i', 0, 0, 0, 0,
	'u', 3, 0, 0, 0, '<', 'm', '>',
	'(', 5, 0, 0, 0,
	'i', 1, 0, 0, 0,
	'i', 0xff, 0xff, 0xff, 0x7f, /* INT32_MAX still fits TYPE_INT */
	'g', 0, 0, 0, 0, 0, 0, 0, 0,
	'g', 0, 0, 0, 0, 0, 0, 0, 0,
	'{', '0',
	'0',
};

static void test_tiny_bytes(void **state)
{
	struct pybpf_profile p;
	size_t len;
	char *buf;

	(void)state;
	build_tiny(&p);
	buf = write_mem(&p, &len);
	assert_int_equal(len, sizeof(tiny_bytes));
	assert_memory_equal(buf, tiny_bytes, sizeof(tiny_bytes));
	free(buf);
	profile_free(&p);
}

static void test_empty(void **state)
{
	struct pybpf_profile p;
	size_t len;
	char *buf;

	(void)state;
	profile_init(&p);
	buf = write_mem(&p, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(buf, "{0", 2);
	free(buf);
	profile_free(&p);
}

static void test_stream_error(void **state)
{
	struct pybpf_profile p;
	FILE *f = fopen("/dev/full", "wb");

	(void)state;
	if (!f)
		skip();
	build_tiny(&p);
	assert_int_equal(pstats_write(&p, f), -ENOSPC);
	fclose(f);
	profile_free(&p);
}

/* A recursive fib called from <module>, a built-in called from both, and a
 * non-ASCII entry with counts past 2^31. */
static void build_program(struct pybpf_profile *p)
{
	size_t mod, fib, len, u;

	profile_init(p);
	mod = add_func(p, "main.py", 1, "<module>", stats(1, 1, 1000, 5000000000ull));
	fib = add_func(p, "main.py", 3, "fib", stats(15, 1, 123456789, 4999990000ull));
	len = add_func(p, "~", 0, "<built-in method builtins.len>", stats(20, 20, 777, 777));
	u = add_func(p, "/tmp/\xc3\xbcn\xc3\xaf.py", INT32_MAX, "\xe5\x90\x8d\xe5\x89\x8d",
		     stats(1ull << 40, 3000000000ull, 1ull << 60, UINT64_MAX));
	add_caller(p, fib, mod, stats(1, 1, 9000, 4999990000ull));
	add_caller(p, fib, fib, stats(14, 0, 123447789, 4200000000ull));
	add_caller(p, len, fib, stats(15, 15, 700, 700));
	add_caller(p, len, mod, stats(5, 5, 77, 77));
	add_caller(p, u, u, stats((1ull << 40) - 3000000000ull, 0, 1, 2));
	add_caller(p, u, mod, stats(3000000000ull, 3000000000ull, 3, 4));
}

/* Loads the file with marshal and with pstats.Stats, and checks it against
 * the dict cProfile would have built, order included; exit 0 iff equal. */
static const char check_script[] =
	"import io, marshal, pstats, sys\n"
	"path = sys.argv[1]\n"
	"def t(ns): return ns / 1e9\n"
	"M = ('main.py', 1, '<module>')\n"
	"F = ('main.py', 3, 'fib')\n"
	"L = ('~', 0, '<built-in method builtins.len>')\n"
	"U = ('/tmp/\\u00fcn\\u00ef.py', 2147483647, '\\u540d\\u524d')\n"
	"exp = {\n"
	"    M: (1, 1, t(1000), t(5000000000), {}),\n"
	"    F: (1, 15, t(123456789), t(4999990000),\n"
	"        {M: (1, 1, t(9000), t(4999990000)), F: (14, 0, t(123447789), t(4200000000))}),\n"
	"    L: (20, 20, t(777), t(777), {F: (15, 15, t(700), t(700)), M: (5, 5, t(77), t(77))}),\n"
	"    U: (3000000000, 2**40, t(2**60), t(2**64 - 1),\n"
	"        {U: (2**40 - 3000000000, 0, t(1), t(2)),\n"
	"         M: (3000000000, 3000000000, t(3), t(4))}),\n"
	"}\n"
	"def same(a, b):\n"
	"    return a == b and list(a) == list(b) and all(\n"
	"        list(a[k][4]) == list(b[k][4]) for k in b)\n"
	"with open(path, 'rb') as f:\n"
	"    raw = f.read()\n"
	"    f.seek(0)\n"
	"    got = marshal.load(f)\n"
	"ok = same(got, exp)\n"
	"ok = ok and raw == marshal.dumps(exp, 2)\n"
	"st = pstats.Stats(path, stream=io.StringIO())\n"
	"ok = ok and same(st.stats, exp)\n"
	"ok = ok and st.total_calls == sum(v[1] for v in exp.values())\n"
	"ok = ok and st.prim_calls == sum(v[0] for v in exp.values())\n"
	"ok = ok and st.total_tt == sum(v[2] for v in exp.values())\n"
	"st.sort_stats('cumulative').print_stats()\n"
	"st.print_callers()\n"
	"if not ok:\n"
	"    print('got', got, 'expected', exp, sep='\\n', file=sys.stderr)\n"
	"sys.exit(0 if ok else 1)\n";

static void test_python_round_trip(void **state)
{
	char dir[DIR_MAX], script[PATH_MAX], prof[PATH_MAX], cmd[3 * PATH_MAX];
	struct pybpf_profile p;
	FILE *f;
	int status;

	(void)state;
	if (access(PYTHON, X_OK))
		skip();
	test_make_tmpdir(dir, sizeof(dir), "test_pstats");
	snprintf(script, sizeof(script), "%s/check.py", dir);
	snprintf(prof, sizeof(prof), "%s/out.prof", dir);
	f = fopen(script, "w");
	assert_non_null(f);
	assert_int_equal(fputs(check_script, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	build_program(&p);
	assert_int_equal(pstats_write_file(&p, prof), 0);
	snprintf(cmd, sizeof(cmd), "%s -I '%s' '%s'", PYTHON, script, prof);
	status = system(cmd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	profile_free(&p);
	test_remove_tmpdir(dir);
}

/* Same bytes as pstats_write, replaces an existing file, leaves no temporary,
 * and gets 0666 & ~umask as cProfile's open() would. */
static void test_write_file(void **state)
{
	char dir[DIR_MAX], prof[PATH_MAX];
	struct pybpf_profile p;
	size_t mem_len, file_len;
	char *mem, *file;
	struct stat sb;
	mode_t old_mask = umask(022);
	FILE *f;

	(void)state;
	test_make_tmpdir(dir, sizeof(dir), "test_pstats");
	snprintf(prof, sizeof(prof), "%s/out.prof", dir);
	f = fopen(prof, "w");
	assert_non_null(f);
	fputs("old contents, longer than the new profile........................................"
	      "..........................................................................",
	      f);
	assert_int_equal(fclose(f), 0);
	build_tiny(&p);
	assert_int_equal(pstats_write_file(&p, prof), 0);
	mem = write_mem(&p, &mem_len);
	file = test_read_file(prof, &file_len);
	assert_int_equal(file_len, mem_len);
	assert_memory_equal(file, mem, mem_len);
	assert_int_equal(test_count_entries(dir), 1);
	assert_int_equal(stat(prof, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	umask(old_mask);
	free(mem);
	free(file);
	profile_free(&p);
	test_remove_tmpdir(dir);
}

static void test_write_file_errors(void **state)
{
	char dir[DIR_MAX], path[PATH_MAX];
	struct pybpf_profile p;
	FILE *f;

	(void)state;
	test_make_tmpdir(dir, sizeof(dir), "test_pstats");
	build_tiny(&p);
	snprintf(path, sizeof(path), "%s/missing/out.prof", dir);
	assert_int_equal(pstats_write_file(&p, path), -ENOENT);
	/* The parent is a regular file. */
	snprintf(path, sizeof(path), "%s/file", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fclose(f), 0);
	snprintf(path, sizeof(path), "%s/file/out.prof", dir);
	assert_int_equal(pstats_write_file(&p, path), -ENOTDIR);
	/* The rename fails (target is a directory): the temporary must go. */
	snprintf(path, sizeof(path), "%s/subdir", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(pstats_write_file(&p, path), -EISDIR);
	assert_int_equal(test_count_entries(dir), 2);
	profile_free(&p);
	test_remove_tmpdir(dir);
}

/* Root ignores directory permissions, so this one needs another user. */
static void test_write_file_unwritable_dir(void **state)
{
	char dir[DIR_MAX], ro[DIR_MAX + 8], path[PATH_MAX];
	struct pybpf_profile p;
	int ret;

	(void)state;
	if (geteuid() == 0)
		skip();
	test_make_tmpdir(dir, sizeof(dir), "test_pstats");
	snprintf(ro, sizeof(ro), "%s/ro", dir);
	assert_int_equal(mkdir(ro, 0500), 0);
	snprintf(path, sizeof(path), "%s/out.prof", ro);
	build_tiny(&p);
	ret = pstats_write_file(&p, path);
	assert_int_equal(ret, -EACCES);
	assert_int_equal(test_count_entries(ro), 0);
	profile_free(&p);
	test_remove_tmpdir(dir);
}

/* Writing to a device must not replace it (the file is renamed into place
 * only for regular files). */
static void test_write_file_device(void **state)
{
	struct pybpf_profile p;
	struct stat st;

	(void)state;
	profile_init(&p);
	assert_int_equal(profile_intern(&p, "a.py", 1, "f"), 0);
	assert_int_equal(pstats_write_file(&p, "/dev/null"), 0);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	profile_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tiny_bytes),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_stream_error),
		cmocka_unit_test(test_python_round_trip),
		cmocka_unit_test(test_write_file),
		cmocka_unit_test(test_write_file_errors),
		cmocka_unit_test(test_write_file_device),
		cmocka_unit_test(test_write_file_unwritable_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
