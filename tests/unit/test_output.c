// SPDX-License-Identifier: GPL-2.0-only
/* output_folded.c, output_speedscope.c and output.c: a golden folded file,
 * the speedscope JSON as Python reads it (and, when speedscope's schema is
 * cached, validated against it), and files that are complete or absent. */
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

#include "output.h"
#include "sampleprof.h"
#include "sampleprof_fixture.h"

#define PYTHON "/usr/bin/python3"
#define DIR_MAX 1024
#define SCHEMA_IN_PACKAGE "/node_modules/speedscope/dist/release/file-format-schema.json"
#define EXIT_SKIP 77 /* validate_speedscope.py: python3-jsonschema is missing */

/* Two threads (one named with ';' and '\n'), recursion, a truncated stack,
 * off-CPU stacks, an empty one, a line-less frame, control characters, a bidi
 * override, an invalid UTF-8 byte (U+FFFD once stored) and a character to keep. */
static void build_small(struct sample_profile *p)
{
	size_t t0, t1, m, f5, f6, w, c;

	sample_profile_init(p);
	p->pid = 42;
	snprintf(p->comm, sizeof(p->comm), "py;app");
	t0 = (size_t)sample_profile_thread(p, 100, "MainThread");
	t1 = (size_t)sample_profile_thread(p, 101, "wo;rk\ner");
	m = frame(p, "main.py", 1, "<module>", 10);
	f5 = frame(p, "main.py", 3, "fib", 5);
	f6 = frame(p, "main.py", 3, "fib", 6);
	w = frame(p, "lib/w;x.py", 20, "wait\nfor", 0);
	c = frame(p, "main.py", 30, "ctl\x01\x7f\xc2\x85x\"\\\xc3\xa9\xe2\x80\xae\xff", 31);
	size_t fib[] = { m, f5, f5, f6 }, trunc[] = { f5, f6 }, waiting[] = { w }, ctl[] = { m, c };

	add(p, t0, fib, 4, false, PYBPF_SAMPLE_CPU, 5, 50);
	add(p, t1, waiting, 1, false, PYBPF_SAMPLE_OFFCPU, 3, 3000);
	add(p, t1, waiting, 1, false, PYBPF_SAMPLE_CPU, 1, 10);
	add(p, t0, trunc, 2, true, PYBPF_SAMPLE_CPU, 2, 20);
	add(p, t1, NULL, 0, false, PYBPF_SAMPLE_OFFCPU, 4, 40);
	add(p, t0, ctl, 2, false, PYBPF_SAMPLE_CPU, 1, 10);
	add(p, t0, fib, 4, false, PYBPF_SAMPLE_CPU, 2, 20);
	assert_int_equal(p->nstacks, 5);
}

static const char small_folded[] =
	"py,app-42;MainThread-100;<module> (main.py:10);fib (main.py:5);fib (main.py:5);"
	"fib (main.py:6) 7\n"
	"py,app-42;MainThread-100;[truncated];fib (main.py:5);fib (main.py:6) 2\n"
	"py,app-42;MainThread-100;<module> (main.py:10);ctl???x\"\\\xc3\xa9?\xef\xbf\xbd (main.py:31) 1\n"
	"py,app-42;wo,rk?er-101;wait?for (lib/w,x.py:20) 1\n"
	"py,app-42;wo,rk?er-101;wait?for (lib/w,x.py:20);[off-CPU] 3\n"
	"py,app-42;wo,rk?er-101;[off-CPU] 4\n";

/* w's output, malloc'ed. */
static char *write_mem(const struct sample_writer *w, const struct sample_profile *p)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(w->write(f, p), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Runs a shell command; its exit status, or fails the test if it did not exit. */
static int run(const char *cmd)
{
	int status = system(cmd);

	assert_true(status != -1 && WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* ---- folded ---- */

static void test_folded_golden(void **state)
{
	struct sample_profile p;
	char *out;

	(void)state;
	build_small(&p);
	out = write_mem(&output_folded, &p);
	assert_string_equal(out, small_folded);
	free(out);
	sample_profile_free(&p);
}

/* Every line is "STACK COUNT" with no control character; the counts add up
 * to every sample of the profile. */
static void test_folded_counts_sum(void **state)
{
	struct sample_profile p;
	uint64_t sum = 0;
	char *out, *line, *save = NULL;

	(void)state;
	build_small(&p);
	out = write_mem(&output_folded, &p);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *space = strrchr(line, ' '), *end;

		assert_non_null(space);
		sum += strtoull(space + 1, &end, 10);
		assert_int_equal(*end, '\0');
		for (const char *c = line; *c; c++)
			assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
	}
	assert_int_equal(sum, sample_profile_total(&p, -1));
	assert_int_equal(sum, 18);
	free(out);
	sample_profile_free(&p);
}

/* A thread whose name could not be read (and a process without a command
 * name) still gets a readable field: thread-TID, process-PID. */
static void test_folded_nameless_thread(void **state)
{
	struct sample_profile p;
	size_t t, m;
	char *out;

	(void)state;
	sample_profile_init(&p);
	p.pid = 7;
	t = (size_t)sample_profile_thread(&p, 700, "");
	m = frame(&p, "main.py", 1, "<module>", 2);
	add(&p, t, &m, 1, false, PYBPF_SAMPLE_CPU, 3, 30);
	out = write_mem(&output_folded, &p);
	assert_string_equal(out, "process-7;thread-700;<module> (main.py:2) 3\n");
	free(out);
	sample_profile_free(&p);
}

static void test_folded_empty(void **state)
{
	struct sample_profile p;
	char *out;

	(void)state;
	sample_profile_init(&p);
	out = write_mem(&output_folded, &p);
	assert_string_equal(out, "");
	free(out);
	sample_profile_free(&p);
}

static void test_folded_stream_error(void **state)
{
	struct sample_profile p;
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0); /* the error at the first write, not at fclose */
	build_small(&p);
	assert_int_equal(output_folded.write(f, &p), -ENOSPC);
	fclose(f);
	sample_profile_free(&p);
}

/* The error of a report printed to a stream: the stream's own first. */
static void test_print_error(void **state)
{
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	assert_int_equal(output_print_error(stdout, 0), 0);
	assert_int_equal(output_print_error(stdout, -ENOMEM), ENOMEM);
	assert_int_equal(output_print_error(stdout, -1), EIO);
	if (!f)
		skip();
	errno = 0;
	fputs("buffered until the flush", f);
	assert_int_equal(output_stream_error(f), -ENOSPC);
	assert_int_equal(output_print_error(f, -1), ENOSPC); /* the stream's cause wins */
	fclose(f);
}

/* ---- speedscope ---- */

/* Loads the file as JSON and compares it with what build_small must give. */
static const char speedscope_check[] =
	"import json, sys\n"
	"d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
	"frames = [\n"
	"    {'name': '<module>', 'file': 'main.py', 'line': 10},\n"
	"    {'name': 'fib', 'file': 'main.py', 'line': 5},\n"
	"    {'name': 'fib', 'file': 'main.py', 'line': 6},\n"
	"    {'name': 'wait\\nfor', 'file': 'lib/w;x.py', 'line': 20},\n"
	"    {'name': 'ctl\\x01\\x7f\\x85x\"\\\\\xc3\xa9\\u202e\\ufffd', 'file': 'main.py', 'line': 31},\n"
	"    {'name': '[truncated]'}, {'name': '[off-CPU]'}]\n"
	"def prof(name, samples, weights):\n"
	"    return {'type': 'sampled', 'name': name, 'unit': 'nanoseconds',\n"
	"            'startValue': 0, 'endValue': sum(weights),\n"
	"            'samples': samples, 'weights': weights}\n"
	"exp = {\n"
	"    '$schema': 'https://www.speedscope.app/file-format-schema.json',\n"
	"    'name': 'py;app 42', 'exporter': 'pybpf-prof',\n"
	"    'shared': {'frames': frames},\n"
	"    'profiles': [\n"
	"        prof('MainThread (100)', [[0, 1, 1, 2], [5, 1, 2], [0, 4]], [70, 20, 10]),\n"
	"        prof('wo;rk\\ner (101)', [[3], [3, 6], [6]], [10, 3000, 40])]}\n"
	"if d != exp:\n"
	"    print('got', d, 'expected', exp, sep='\\n', file=sys.stderr)\n"
	"    sys.exit(1)\n";

static void test_speedscope_json(void **state)
{
	char dir[DIR_MAX], script[PATH_MAX], out[PATH_MAX], cmd[3 * PATH_MAX];
	struct sample_profile p;

	(void)state;
	if (access(PYTHON, X_OK))
		skip();
	test_make_tmpdir(dir, sizeof(dir), "test_output");
	snprintf(script, sizeof(script), "%s/check.py", dir);
	snprintf(out, sizeof(out), "%s/out.speedscope.json", dir);
	write_text(script, speedscope_check);
	build_small(&p);
	assert_int_equal(output_write_file(&output_speedscope, &p, out), 0);
	snprintf(cmd, sizeof(cmd), "%s -I '%s' '%s'", PYTHON, script, out);
	assert_int_equal(run(cmd), 0);
	sample_profile_free(&p);
	test_remove_tmpdir(dir);
}

/* Only the control characters (C0, DEL, C1, bidi overrides) are escaped, as
 * \uXXXX; other UTF-8 passes. */
static void test_speedscope_escapes(void **state)
{
	struct sample_profile p;
	char *out;

	(void)state;
	build_small(&p);
	out = write_mem(&output_speedscope, &p);
	assert_non_null(strstr(out, "{\"name\":\"ctl\\u0001\\u007f\\u0085x\\\"\\\\\xc3\xa9\\u202e\xef\xbf\xbd\","
				    "\"file\":\"main.py\",\"line\":31}"));
	assert_non_null(strstr(out, "\"name\":\"wo;rk\\u000aer (101)\""));
	free(out);
	sample_profile_free(&p);
}

/* No thread, no frame: still a file speedscope's schema accepts. */
static void test_speedscope_empty(void **state)
{
	struct sample_profile p;
	char *out;

	(void)state;
	sample_profile_init(&p);
	p.pid = 7;
	snprintf(p.comm, sizeof(p.comm), "x");
	out = write_mem(&output_speedscope, &p);
	assert_string_equal(out, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\""
				 ",\n\"name\":\"x 7\",\n\"exporter\":\"pybpf-prof\",\n"
				 "\"shared\":{\"frames\":[]},\n\"profiles\":[]}\n");
	free(out);
	sample_profile_free(&p);
}

/* The schema of the npm package, where fetch_speedscope_schema.sh caches it. */
static bool cached_schema(char *path, size_t n)
{
	const char *dir = getenv("PYBPF_SPEEDSCOPE_DIR");

	snprintf(path, n, "%s" SCHEMA_IN_PACKAGE, dir ? dir : "/var/lib/pybpf-prof/speedscope");
	return !access(path, R_OK);
}

/* tests/integration/validate_speedscope.py, found from this file's path
 * (make runs the tests from the top directory). */
static bool validator(char *path, size_t n)
{
	const char *slash = strrchr(__FILE__, '/');
	int dirlen = slash ? (int)(slash - __FILE__) : 1;

	snprintf(path, n, "%.*s/../integration/validate_speedscope.py", dirlen,
		 slash ? __FILE__ : ".");
	return !access(path, R_OK);
}

static void test_speedscope_schema(void **state)
{
	char dir[DIR_MAX], schema[PATH_MAX], script[PATH_MAX], out[PATH_MAX], cmd[4 * PATH_MAX];
	struct sample_profile p;
	int ret;

	(void)state;
	if (access(PYTHON, X_OK) || !validator(script, sizeof(script))) {
		print_message("skipped: no %s or no validate_speedscope.py\n", PYTHON);
		skip();
	}
	if (!cached_schema(schema, sizeof(schema))) {
		print_message("skipped: no speedscope schema at %s "
			      "(tests/integration/fetch_speedscope_schema.sh caches it)\n", schema);
		skip();
	}
	test_make_tmpdir(dir, sizeof(dir), "test_output");
	snprintf(out, sizeof(out), "%s/out.speedscope.json", dir);
	build_small(&p);
	assert_int_equal(output_write_file(&output_speedscope, &p, out), 0);
	snprintf(cmd, sizeof(cmd), "%s -I '%s' --schema '%s' '%s'", PYTHON, script, schema, out);
	ret = run(cmd);
	sample_profile_free(&p);
	test_remove_tmpdir(dir);
	if (ret == EXIT_SKIP) {
		print_message("skipped: python3-jsonschema is not installed\n");
		skip();
	}
	assert_int_equal(ret, 0);
}

/* ---- files ---- */

/* The file holds what the writer gives and replaces an older one; no
 * temporary is left. */
static void test_write_file(void **state)
{
	char dir[DIR_MAX], path[PATH_MAX];
	struct sample_profile p;
	struct stat sb;
	size_t len;
	char *text;
	mode_t old_mask = umask(022);

	(void)state;
	test_make_tmpdir(dir, sizeof(dir), "test_output");
	snprintf(path, sizeof(path), "%s/out.folded", dir);
	write_text(path, "an older, longer file ......................................................"
			 "............................................................................"
			 "............................................................................"
			 "............................................................................"
			 "............................................................................"
			 "............................................................................\n");
	build_small(&p);
	assert_int_equal(output_write_file(&output_folded, &p, path), 0);
	text = test_read_file(path, &len);
	assert_int_equal(len, strlen(small_folded));
	assert_memory_equal(text, small_folded, len);
	assert_int_equal(test_count_entries(dir), 1);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	umask(old_mask);
	free(text);
	sample_profile_free(&p);
	test_remove_tmpdir(dir);
}

/* Errors come back as -errno and leave nothing behind. */
static void test_write_file_errors(void **state)
{
	char dir[DIR_MAX], path[PATH_MAX];
	struct sample_profile p;

	(void)state;
	test_make_tmpdir(dir, sizeof(dir), "test_output");
	build_small(&p);
	snprintf(path, sizeof(path), "%s/missing/out.folded", dir);
	assert_int_equal(output_write_file(&output_folded, &p, path), -ENOENT);
	assert_int_equal(test_count_entries(dir), 0);
	/* The rename fails (the target is a directory): the temporary goes. */
	snprintf(path, sizeof(path), "%s/subdir", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(output_write_file(&output_speedscope, &p, path), -EISDIR);
	assert_int_equal(test_count_entries(dir), 1);
	sample_profile_free(&p);
	test_remove_tmpdir(dir);
}

static int failing_write(FILE *f, const struct sample_profile *p)
{
	(void)p;
	fputs("partial", f);
	return -ENOSPC;
}

/* A writer that fails half-way: its error comes back, no file is left. */
static void test_write_file_writer_fails(void **state)
{
	static const struct sample_writer failing = { "failing", failing_write };
	char dir[DIR_MAX], path[PATH_MAX];
	struct sample_profile p;

	(void)state;
	test_make_tmpdir(dir, sizeof(dir), "test_output");
	sample_profile_init(&p);
	snprintf(path, sizeof(path), "%s/out", dir);
	assert_int_equal(output_write_file(&failing, &p, path), -ENOSPC);
	assert_int_equal(test_count_entries(dir), 0);
	sample_profile_free(&p);
	test_remove_tmpdir(dir);
}

/* A device is written in place, never replaced; /dev/full's ENOSPC, met
 * only when the buffer is flushed, is reported. */
static void test_write_file_devices(void **state)
{
	struct sample_profile p;
	struct stat st;

	(void)state;
	build_small(&p);
	assert_int_equal(output_write_file(&output_folded, &p, "/dev/null"), 0);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	if (!access("/dev/full", W_OK))
		assert_int_equal(output_write_file(&output_speedscope, &p, "/dev/full"), -ENOSPC);
	sample_profile_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded_golden),
		cmocka_unit_test(test_folded_counts_sum),
		cmocka_unit_test(test_folded_nameless_thread),
		cmocka_unit_test(test_folded_empty),
		cmocka_unit_test(test_folded_stream_error),
		cmocka_unit_test(test_print_error),
		cmocka_unit_test(test_speedscope_json),
		cmocka_unit_test(test_speedscope_escapes),
		cmocka_unit_test(test_speedscope_empty),
		cmocka_unit_test(test_speedscope_schema),
		cmocka_unit_test(test_write_file),
		cmocka_unit_test(test_write_file_errors),
		cmocka_unit_test(test_write_file_writer_fails),
		cmocka_unit_test(test_write_file_devices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
