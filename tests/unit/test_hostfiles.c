// SPDX-License-Identifier: GPL-2.0-only
/* hostfiles.c: the -o directory (pstats files equal to what pstats_write
 * gives for each profile, index.tsv byte for byte), the {pid} pattern, files
 * that cannot be written while the others are, and the merged sampled
 * profile as the folded, flame-graph and speedscope writers take it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostfiles.h"
#include "hostrun_fixture.h"
#include "output.h"
#include "pstats.h"
#include "sample_pstats.h"
#include "sampleprof_fixture.h"

#define CPU PYBPF_SAMPLE_CPU
#define OFF PYBPF_SAMPLE_OFFCPU
#define DIR_MAX 1024
#define PATH_BUF (DIR_MAX + 256)

struct tmp {
	char dir[DIR_MAX];
	int saved_stderr;
};

/* A fresh directory; stderr goes to <dir>.stderr until tmp_stderr(). */
static void tmp_start(struct tmp *t)
{
	char path[DIR_MAX + 16];
	int fd;

	test_make_tmpdir(t->dir, sizeof(t->dir), "hostfiles");
	snprintf(path, sizeof(path), "%s.stderr", t->dir);
	fflush(stderr);
	t->saved_stderr = dup(STDERR_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(t->saved_stderr >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

/* What was written on stderr since tmp_start (malloc'ed); stderr is back. */
static char *tmp_stderr(struct tmp *t)
{
	char path[DIR_MAX + 16], *text;
	size_t len;

	fflush(stderr);
	assert_int_equal(dup2(t->saved_stderr, STDERR_FILENO), STDERR_FILENO);
	close(t->saved_stderr);
	snprintf(path, sizeof(path), "%s.stderr", t->dir);
	text = test_read_file(path, &len);
	text[len] = '\0';
	unlink(path);
	return text;
}

/* "<dir>/<name>" in a static buffer (one at a time). */
static const char *in(const struct tmp *t, const char *name)
{
	static char path[PATH_BUF];

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	return path;
}

static char *read_text(const char *path)
{
	size_t len;
	char *text = test_read_file(path, &len);

	text[len] = '\0';
	return text;
}

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/* Removes what a test left in a directory below the tmp one, then that. */
static void remove_subdir(const struct tmp *t, const char *name)
{
	char dir[PATH_BUF];

	snprintf(dir, sizeof(dir), "%s", in(t, name));
	test_remove_tmpdir(dir);
}

/* The file at path holds exactly what pstats_write gives for p. */
static void assert_pstats_file(const char *path, const struct pybpf_profile *p)
{
	char *want = NULL, *got;
	size_t want_len = 0, got_len;
	FILE *f = open_memstream(&want, &want_len);

	assert_non_null(f);
	assert_int_equal(pstats_write(p, f), 0);
	assert_int_equal(fclose(f), 0);
	got = test_read_file(path, &got_len);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	free(got);
	free(want);
}

/* The sampled profile's pstats estimates are in path. */
static void assert_sampled_pstats_file(const char *path, const struct sample_profile *sp)
{
	struct pybpf_profile conv;

	assert_int_equal(sample_profile_to_profile(sp, &conv), 0);
	assert_pstats_file(path, &conv);
	profile_free(&conv);
}

/* What writer w writes for p, malloc'ed. */
static char *written_by(const struct sample_writer *w, const struct sample_profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(w->write(f, p), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* 1234 (namespace PID 7, exited; its command has a tab, a backslash, a
 * newline and \x01), 1300 (running), 1100 (namespace PID the same, exec'ed). */
static void build_exact(struct fixture *fx)
{
	static const struct fig app[] = {
		{ "app.py", 6, "main", 1, 1, 100 * MS, 1200 * MS },
		{ "app.py", 12, "fetch", 10, 10, 1000 * MS, 1000 * MS },
	};
	static const struct fig job[] = { { "job.py", 9, "fact", 500, 100, 200 * MS, 200 * MS } };
	struct host_proc *hp;

	fixture_init(fx, false, 10.004);
	hp = fixture_proc(fx, 1234, "python3 app.py\t--x\\y\n\x01", 0.412, 3.210);
	hp->ns_pid = 7;
	hp->end = HOST_PROC_EXITED;
	hp->exact = exact_profile(1234, app, 2);
	hp = fixture_proc(fx, 1300, "python3 job.py", 1.002, 10.004);
	hp->exact = exact_profile(1300, job, 1);
	strcpy(hp->exact->backend, "usdt");
	strcpy(hp->exact->python_version, "3.9.2");
	strcpy(hp->exact->build, "static");
	hp = fixture_proc(fx, 1100, "python3 \xc3\xa9t\xc3\xa9.py", 0, 5.5);
	hp->ns_pid = 1100;
	hp->end = HOST_PROC_EXECED;
	hp->exact = exact_profile(1100, job, 1);
}

#define INDEX_HEADER                                                                      \
	"file\tpid\tns_pid\tcommand\tversion\tbuild\tbackend\tfrom_s\tto_s\tend\tncalls\n"
#define ROW_1234                                                                          \
	"pid-1234.prof\t1234\t7\tpython3 app.py\\t--x\\\\y\\n\\x01\t3.12.1\tshared\t"         \
	"evalframe\t0.412\t3.210\texited\t11\n"
#define ROW_1300 "pid-1300.prof\t1300\t1300\tpython3 job.py\t3.9.2\tstatic\tusdt\t1.002\t"  \
		 "10.004\trunning\t500\n"
#define ROW_1100 "pid-1100.prof\t1100\t1100\tpython3 \xc3\xa9t\xc3\xa9.py\t3.12.1\tshared\t" \
		 "evalframe\t0.000\t5.500\texec\t500\n"

/* A missing directory is created 0755, with one file per process and the index. */
static void test_dir(void **state)
{
	struct fixture fx;
	struct tmp t;
	struct stat st;
	char out[PATH_BUF], *err, *index;
	mode_t mask = umask(022);

	(void)state;
	umask(mask);
	build_exact(&fx);
	tmp_start(&t);
	snprintf(out, sizeof(out), "%s", in(&t, "out"));
	assert_int_equal(hostfiles_write_pstats(&fx.run, out), 0);
	err = tmp_stderr(&t);
	assert_string_equal(err, "");
	assert_int_equal(stat(out, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0755 & ~mask);
	assert_int_equal(test_count_entries(out), 4);
	assert_pstats_file(in(&t, "out/pid-1234.prof"), fx.procs[0].exact);
	assert_pstats_file(in(&t, "out/pid-1300.prof"), fx.procs[1].exact);
	assert_pstats_file(in(&t, "out/pid-1100.prof"), fx.procs[2].exact);
	index = read_text(in(&t, "out/" HOSTFILES_INDEX));
	assert_string_equal(index, INDEX_HEADER ROW_1234 ROW_1300 ROW_1100);
	/* Again into the directory that is there now: replaced, nothing more. */
	assert_int_equal(hostfiles_write_pstats(&fx.run, out), 0);
	assert_int_equal(test_count_entries(out), 4);
	free(index);
	free(err);
	remove_subdir(&t, "out");
	test_remove_tmpdir(t.dir);
	fixture_free(&fx);
}

/* A file in the way of one pstats file: that one is reported and left out
 * of the index, the others are written. */
static void test_dir_one_file_fails(void **state)
{
	struct fixture fx;
	struct tmp t;
	char out[PATH_BUF], want[PATH_BUF * 3], *err, *index;

	(void)state;
	build_exact(&fx);
	tmp_start(&t);
	snprintf(out, sizeof(out), "%s", in(&t, "out"));
	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(mkdir(in(&t, "out/pid-1300.prof"), 0755), 0);
	assert_int_equal(hostfiles_write_pstats(&fx.run, out), 1);
	err = tmp_stderr(&t);
	snprintf(want, sizeof(want), "pybpf-prof: cannot write %s/pid-1300.prof: %s\n", out,
		 strerror(EISDIR));
	assert_string_equal(err, want);
	assert_pstats_file(in(&t, "out/pid-1234.prof"), fx.procs[0].exact);
	assert_pstats_file(in(&t, "out/pid-1100.prof"), fx.procs[2].exact);
	index = read_text(in(&t, "out/" HOSTFILES_INDEX));
	assert_string_equal(index, INDEX_HEADER ROW_1234 ROW_1100);
	assert_int_equal(test_count_entries(out), 4); /* 2 files, the index, the obstacle */
	assert_int_equal(rmdir(in(&t, "out/pid-1300.prof")), 0);
	free(index);
	free(err);
	remove_subdir(&t, "out");
	test_remove_tmpdir(t.dir);
	fixture_free(&fx);
}

/* -o DIR whose parent is missing, or a file: one line, status 1. */
static void test_dir_cannot_be_made(void **state)
{
	struct fixture fx;
	struct tmp t;
	char missing[PATH_BUF], file[PATH_BUF], want[PATH_BUF * 3], *err;
	FILE *f;

	(void)state;
	build_exact(&fx);
	tmp_start(&t);
	snprintf(missing, sizeof(missing), "%s", in(&t, "no/out"));
	snprintf(file, sizeof(file), "%s", in(&t, "a-file"));
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(hostfiles_write_pstats(&fx.run, missing), 1);
	assert_int_equal(hostfiles_write_pstats(&fx.run, file), 1);
	err = tmp_stderr(&t);
	snprintf(want, sizeof(want),
		 "pybpf-prof: cannot write %s: %s\npybpf-prof: cannot write %s: %s\n", missing,
		 strerror(ENOENT), file, strerror(ENOTDIR));
	assert_string_equal(err, want);
	assert_int_equal(test_count_entries(t.dir), 1);
	free(err);
	unlink(file);
	test_remove_tmpdir(t.dir);
	fixture_free(&fx);
}

/* {pid} anywhere, as often as given; a PID seen again gets -2. */
static void test_pattern(void **state)
{
	static const struct fig again[] = { { "b.py", 1, "b", 2, 2, MS, MS } };
	struct fixture fx;
	struct host_proc *hp;
	struct tmp t;
	char spec[PATH_BUF], *err;

	(void)state;
	build_exact(&fx);
	hp = fixture_proc(&fx, 1300, "python3 b.py", 4, 10.004); /* 1300 exec'ed b.py */
	hp->exact = exact_profile(1300, again, 1);
	fx.procs[1].end = HOST_PROC_EXECED;
	tmp_start(&t);
	snprintf(spec, sizeof(spec), "%s", in(&t, "p{pid}.x{pid}.prof"));
	assert_int_equal(hostfiles_write_pstats(&fx.run, spec), 0);
	err = tmp_stderr(&t);
	assert_string_equal(err, "");
	assert_int_equal(test_count_entries(t.dir), 4);
	assert_pstats_file(in(&t, "p1234.x1234.prof"), fx.procs[0].exact);
	assert_pstats_file(in(&t, "p1300.x1300.prof"), fx.procs[1].exact);
	assert_pstats_file(in(&t, "p1100.x1100.prof"), fx.procs[2].exact);
	assert_pstats_file(in(&t, "p1300-2.x1300-2.prof"), fx.procs[3].exact);
	free(err);
	test_remove_tmpdir(t.dir);
	fixture_free(&fx);
}

/* A pattern whose directory exists for one PID only, and one under /proc
 * (where no file can be made): each failure is a line, the others are written. */
static void test_pattern_some_fail(void **state)
{
	struct fixture fx;
	struct tmp t;
	char spec[PATH_BUF], want[PATH_BUF * 3], *err;

	(void)state;
	build_exact(&fx);
	tmp_start(&t);
	assert_int_equal(mkdir(in(&t, "1300"), 0755), 0);
	snprintf(spec, sizeof(spec), "%s", in(&t, "{pid}/x.prof"));
	assert_int_equal(hostfiles_write_pstats(&fx.run, spec), 1);
	fx.run.nprocs = 1;
	assert_int_equal(hostfiles_write_pstats(&fx.run, "/proc/{pid}.prof"), 1);
	fx.run.nprocs = 3;
	err = tmp_stderr(&t);
	assert_pstats_file(in(&t, "1300/x.prof"), fx.procs[1].exact);
	snprintf(want, sizeof(want), "pybpf-prof: cannot write %s/1234/x.prof: %s\n"
		 "pybpf-prof: cannot write %s/1100/x.prof: %s\n", t.dir, strerror(ENOENT), t.dir,
		 strerror(ENOENT));
	assert_memory_equal(err, want, strlen(want));
	assert_true(!strncmp(err + strlen(want), "pybpf-prof: cannot write /proc/1234.prof: ", 42));
	assert_non_null(strchr(err + strlen(want), '\n'));
	assert_false(exists("/proc/1234.prof"));
	free(err);
	remove_subdir(&t, "1300");
	test_remove_tmpdir(t.dir);
	fixture_free(&fx);
}

/* Two sampled processes: 1234 (two threads, a stack of each kind), 1300
 * (one thread, a stack with no Python frame), losses on both. */
static void build_sampled(struct fixture *fx)
{
	struct sample_profile *a = sampled_profile(1234), *b = sampled_profile(1300);
	size_t ta = thread(a, 1234, "MainThread"), tw = thread(a, 1240, "worker");
	size_t m = frame(a, "app.py", 1, "main", 3), f = frame(a, "app.py", 5, "f", 6);
	size_t tb = thread(b, 1300, "MainThread"), j = frame(b, "job.py", 2, "run", 2);
	size_t mf[] = { m, f };
	struct host_proc *hp;

	add(a, ta, mf, 2, false, CPU, 5, 50 * MS);
	add(a, tw, &f, 1, false, OFF, 3, 30 * MS);
	add(a, ta, &m, 1, false, OFF, 2, 20 * MS);
	add(b, tb, &j, 1, false, CPU, 4, 40 * MS);
	add(b, tb, NULL, 0, false, OFF, 1, 10 * MS);
	a->losses.no_tstate = 2;
	a->losses.unresolved = 1;
	b->losses.no_tstate = 3;
	b->losses.counts_full = 4;
	b->mode = SAMPLE_MODE_CPU; /* not used: the first process's mode is */
	fixture_init(fx, true, 6.5);
	hp = fixture_proc(fx, 1234, "python3 app.py", 0, 6.5);
	hp->sampled = a;
	hp = fixture_proc(fx, 1300, "python3 job.py x;y", 1, 6.5);
	hp->ns_pid = 3;
	hp->sampled = b;
}

static const char merged_folded[] =
	"all-python-0;PID 1234 MainThread-1234;PID 1234: python3 app.py (:0);main (app.py:3);"
	"f (app.py:6) 5\n"
	"all-python-0;PID 1234 MainThread-1234;PID 1234: python3 app.py (:0);main (app.py:3);"
	"[off-CPU] 2\n"
	"all-python-0;PID 1234 worker-1240;PID 1234: python3 app.py (:0);f (app.py:6);"
	"[off-CPU] 3\n"
	"all-python-0;PID 1300 MainThread-1300;PID 1300: python3 job.py x,y (:0);"
	"run (job.py:2) 4\n"
	"all-python-0;PID 1300 MainThread-1300;PID 1300: python3 job.py x,y (:0);[off-CPU] 1\n";

/* The merged profile's facts, and its folded text. */
static void test_merge(void **state)
{
	struct sample_profile m;
	struct fixture fx;
	char *folded;

	(void)state;
	build_sampled(&fx);
	assert_int_equal(hostfiles_merge_samples(&fx.run, &m), 0);
	assert_string_equal(m.comm, "all-python");
	assert_int_equal(m.pid, 0);
	assert_int_equal(m.mode, SAMPLE_MODE_WALL);
	assert_int_equal(m.hz, 100);
	assert_true(m.wall_seconds == 6.5);
	assert_int_equal(m.losses.no_tstate, 5);
	assert_int_equal(m.losses.counts_full, 4);
	assert_int_equal(m.losses.unresolved, 1);
	assert_int_equal(m.nthreads, 3);
	assert_int_equal(m.nstacks, 5);
	assert_int_equal(sample_profile_total(&m, -1), 15);
	folded = written_by(&output_folded, &m);
	assert_string_equal(folded, merged_folded);
	free(folded);
	sample_profile_free(&m);
	fixture_free(&fx);
}

/* Without {pid}: one file per format for the host, each writer taking the
 * merged profile; a -o directory of the same run has the sampled index. */
static void test_merged_files(void **state)
{
	struct fixture fx;
	struct tmp t;
	char spec[PATH_BUF], *text, *err;

	(void)state;
	build_sampled(&fx);
	tmp_start(&t);
	snprintf(spec, sizeof(spec), "%s", in(&t, "host.folded"));
	assert_int_equal(hostfiles_write_samples(&fx.run, &output_folded, spec), 0);
	snprintf(spec, sizeof(spec), "%s", in(&t, "host.svg"));
	assert_int_equal(hostfiles_write_samples(&fx.run, &output_flamegraph, spec), 0);
	snprintf(spec, sizeof(spec), "%s", in(&t, "host.json"));
	assert_int_equal(hostfiles_write_samples(&fx.run, &output_speedscope, spec), 0);
	snprintf(spec, sizeof(spec), "%s", in(&t, "out"));
	assert_int_equal(hostfiles_write_pstats(&fx.run, spec), 0);
	err = tmp_stderr(&t);
	assert_string_equal(err, "");
	text = read_text(in(&t, "host.folded"));
	assert_string_equal(text, merged_folded);
	free(text);
	text = read_text(in(&t, "host.svg"));
	assert_non_null(strstr(text, "PID 1300: python3 job.py x;y"));
	assert_non_null(strstr(text, "PID 1234 worker (1240)"));
	free(text);
	text = read_text(in(&t, "host.json"));
	assert_non_null(strstr(text, "\"name\":\"PID 1234 MainThread (1234)\""));
	assert_non_null(strstr(text, "\"name\":\"PID 1300: python3 job.py x;y\""));
	free(text);
	text = read_text(in(&t, "out/" HOSTFILES_INDEX));
	assert_string_equal(text, INDEX_HEADER
			    "pid-1234.prof\t1234\t1234\tpython3 app.py\t3.11.2\tstatic\tsample\t"
			    "0.000\t6.500\trunning\t10\n"
			    "pid-1300.prof\t1300\t3\tpython3 job.py x;y\t3.11.2\tstatic\tsample\t"
			    "1.000\t6.500\trunning\t5\n");
	free(text);
	assert_sampled_pstats_file(in(&t, "out/pid-1234.prof"), fx.procs[0].sampled);
	assert_sampled_pstats_file(in(&t, "out/pid-1300.prof"), fx.procs[1].sampled);
	free(err);
	remove_subdir(&t, "out");
	test_remove_tmpdir(t.dir);
	fixture_free(&fx);
}

/* With {pid}: each process's own file, as -p writes it. A merged file whose
 * directory is missing fails alone: the pstats files still go out. */
static void test_samples_by_pattern(void **state)
{
	struct fixture fx;
	struct tmp t;
	char spec[PATH_BUF], want[PATH_BUF * 3], *text, *err, *own;

	(void)state;
	build_sampled(&fx);
	tmp_start(&t);
	snprintf(spec, sizeof(spec), "%s", in(&t, "s-{pid}.folded"));
	assert_int_equal(hostfiles_write_samples(&fx.run, &output_folded, spec), 0);
	snprintf(spec, sizeof(spec), "%s", in(&t, "no/host.folded"));
	assert_int_equal(hostfiles_write_samples(&fx.run, &output_folded, spec), 1);
	snprintf(spec, sizeof(spec), "%s", in(&t, "{pid}.prof"));
	assert_int_equal(hostfiles_write_pstats(&fx.run, spec), 0);
	err = tmp_stderr(&t);
	snprintf(want, sizeof(want), "pybpf-prof: cannot write %s/no/host.folded: %s\n", t.dir,
		 strerror(ENOENT));
	assert_string_equal(err, want);
	for (size_t i = 0; i < 2; i++) {
		char name[32];

		snprintf(name, sizeof(name), "s-%d.folded", (int)fx.procs[i].pid);
		text = read_text(in(&t, name));
		own = written_by(&output_folded, fx.procs[i].sampled);
		assert_string_equal(text, own);
		free(text);
		free(own);
		snprintf(name, sizeof(name), "%d.prof", (int)fx.procs[i].pid);
		assert_sampled_pstats_file(in(&t, name), fx.procs[i].sampled);
	}
	assert_int_equal(test_count_entries(t.dir), 4);
	free(err);
	test_remove_tmpdir(t.dir);
	fixture_free(&fx);
}

/* The root frame: the command cut to 60 bytes before a whole character; a
 * stack at the depth limit gives its outermost frame to the root frame. */
static void test_root_frame_and_depth(void **state)
{
	size_t deep[PYBPF_SAMPLE_DEPTH], th;
	struct sample_profile *sp, m;
	struct fixture fx;
	struct host_proc *hp;
	char cmd[128], want[128];
	const struct sample_stack *s;

	(void)state;
	memset(cmd, 'a', 56);
	snprintf(cmd + 56, sizeof(cmd) - 56, "\xc3\xa9%s", "bbbbbbbbbbbbbbbbbbbb");
	sp = sampled_profile(5);
	th = thread(sp, 5, "MainThread");
	for (size_t i = 0; i < PYBPF_SAMPLE_DEPTH; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%zu", i);
		deep[i] = frame(sp, "d.py", (int32_t)i + 1, name, (int32_t)i + 1);
	}
	add(sp, th, deep, PYBPF_SAMPLE_DEPTH, true, CPU, 1, MS);
	add(sp, th, deep, PYBPF_SAMPLE_DEPTH - 1, false, CPU, 2, 2 * MS);
	fixture_init(&fx, true, 1);
	hp = fixture_proc(&fx, 5, cmd, 0, 1);
	hp->sampled = sp;
	assert_int_equal(hostfiles_merge_samples(&fx.run, &m), 0);
	assert_int_equal(m.nstacks, 2);
	s = &m.stacks[0];
	memset(want, 'a', 56);
	strcpy(want + 56, "...");
	assert_string_equal(m.frames[s->frames[0]].name + strlen("PID 5: "), want);
	assert_int_equal(strlen(m.frames[s->frames[0]].name), strlen("PID 5: ") + 59);
	assert_int_equal(s->nframes, PYBPF_SAMPLE_DEPTH);
	assert_true(s->truncated);
	assert_string_equal(m.frames[s->frames[1]].name, "f1");
	assert_string_equal(m.frames[s->frames[PYBPF_SAMPLE_DEPTH - 1]].name, "f127");
	s = &m.stacks[1];
	assert_int_equal(s->nframes, PYBPF_SAMPLE_DEPTH);
	assert_false(s->truncated);
	assert_string_equal(m.frames[s->frames[1]].name, "f0");
	sample_profile_free(&m);
	fixture_free(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir),
		cmocka_unit_test(test_dir_one_file_fails),
		cmocka_unit_test(test_dir_cannot_be_made),
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_pattern_some_fail),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merged_files),
		cmocka_unit_test(test_samples_by_pattern),
		cmocka_unit_test(test_root_frame_and_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
