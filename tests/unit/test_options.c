// SPDX-License-Identifier: GPL-2.0-only
/* options.c: the command line, valid and invalid, parsed several times in
 * one process (options_parse resets getopt itself). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

/* A NULL-terminated argv starting with the program name. */
#define ARGV(...) ((char *[]){ "pybpf-prof", __VA_ARGS__, NULL })

static int argv_len(char **argv)
{
	int n = 0;

	while (argv[n])
		n++;
	return n;
}

/* Parses argv into o and err, both filled with garbage first so that the
 * defaults and messages are known to come from options_parse. */
static enum options_result parse(char **argv, struct pybpf_options *o, struct pybpf_err *err)
{
	memset(o, 0xa5, sizeof(*o));
	memset(err, 0, sizeof(*err));
	return options_parse(argv_len(argv), argv, o, err);
}

/* A usage error whose message contains each of the given pieces. */
static void expect_usage(char **argv, const char *piece1, const char *piece2)
{
	struct pybpf_options o;
	struct pybpf_err err;

	assert_int_equal(parse(argv, &o, &err), OPTIONS_USAGE);
	if (!strstr(err.msg, piece1))
		fail_msg("argv[1] '%s': message '%s' lacks '%s'", argv[1] ? argv[1] : "(none)",
			 err.msg, piece1);
	if (piece2 && !strstr(err.msg, piece2))
		fail_msg("argv[1] '%s': message '%s' lacks '%s'", argv[1] ? argv[1] : "(none)",
			 err.msg, piece2);
	options_free(&o);
}

static void expect_defaults_but_pid(const struct pybpf_options *o)
{
	assert_null(o->cmd);
	assert_true(o->duration == 0.0);
	assert_null(o->output);
	assert_int_equal(o->sort, PYBPF_SORT_CUMULATIVE);
	assert_int_equal(o->limit, -1);
	assert_int_equal(o->backend, PYBPF_BACKEND_AUTO);
	assert_false(o->verbose);
	assert_false(o->probe_floor);
	assert_false(o->latency);
	assert_false(o->hook_only);
}

/* ---- valid command lines ---- */

static void test_pid(void **state)
{
	struct pybpf_options o;
	struct pybpf_err err;

	(void)state;
	assert_int_equal(parse(ARGV("-p", "1234"), &o, &err), OPTIONS_RUN);
	assert_int_equal(o.pid, 1234);
	expect_defaults_but_pid(&o);
	assert_string_equal(err.msg, "");

	assert_int_equal(parse(ARGV("--pid", "42"), &o, &err), OPTIONS_RUN);
	assert_int_equal(o.pid, 42);
	expect_defaults_but_pid(&o);

	assert_int_equal(parse(ARGV("--pid=7"), &o, &err), OPTIONS_RUN);
	assert_int_equal(o.pid, 7);

	assert_int_equal(parse(ARGV("-p99"), &o, &err), OPTIONS_RUN);
	assert_int_equal(o.pid, 99);

	assert_int_equal(parse(ARGV("-p", "2147483647"), &o, &err), OPTIONS_RUN);
	assert_int_equal(o.pid, 2147483647);
}

static void test_command_after_dashes(void **state)
{
	char **argv = ARGV("-v", "--", "python3", "-c", "print(1)");
	struct pybpf_options o;
	struct pybpf_err err;

	(void)state;
	assert_int_equal(parse(argv, &o, &err), OPTIONS_RUN);
	assert_int_equal(o.pid, 0);
	assert_true(o.verbose);
	assert_non_null(o.cmd);
	assert_ptr_equal(o.cmd, &argv[3]);
	assert_string_equal(o.cmd[0], "python3");
	assert_string_equal(o.cmd[1], "-c");
	assert_string_equal(o.cmd[2], "print(1)");
	assert_null(o.cmd[3]);
}

/* The command's own options are not ours: parsing stops at the command. */
static void test_command_without_dashes(void **state)
{
	char **argv = ARGV("-s", "tottime", "python3", "-p", "x", "--limit", "nope");
	struct pybpf_options o;
	struct pybpf_err err;

	(void)state;
	assert_int_equal(parse(argv, &o, &err), OPTIONS_RUN);
	assert_int_equal(o.pid, 0);
	assert_int_equal(o.sort, PYBPF_SORT_TIME);
	assert_int_equal(o.limit, -1);
	assert_ptr_equal(o.cmd, &argv[3]);
	assert_string_equal(o.cmd[0], "python3");
	assert_string_equal(o.cmd[1], "-p");
	assert_string_equal(o.cmd[4], "nope");
	assert_null(o.cmd[5]);
}

static void test_every_value(void **state)
{
	struct pybpf_options o;
	struct pybpf_err err;

	(void)state;
	assert_int_equal(parse(ARGV("-p", "5", "-d", "2.5", "-o", "f", "-s", "tottime",
				    "--limit", "10", "--backend", "usdt", "-v", "--probe-floor",
				    "--latency"),
			       &o, &err), OPTIONS_RUN);
	assert_int_equal(o.pid, 5);
	assert_null(o.cmd);
	assert_true(o.duration == 2.5);
	assert_non_null(o.output);
	assert_string_equal(o.output, "f");
	assert_int_equal(o.sort, PYBPF_SORT_TIME);
	assert_int_equal(o.limit, 10);
	assert_int_equal(o.backend, PYBPF_BACKEND_USDT);
	assert_true(o.verbose);
	assert_true(o.probe_floor);
	assert_true(o.latency);
	assert_false(o.hook_only);

	/* Long forms, and values that are the boundaries. */
	assert_int_equal(parse(ARGV("--duration=0.001", "--output", "a b.prof", "--sort=calls",
				    "--limit=0", "--backend=auto", "--verbose", "-p", "3"),
			       &o, &err), OPTIONS_RUN);
	assert_int_equal(o.pid, 3);
	assert_true(o.duration == 0.001);
	assert_string_equal(o.output, "a b.prof");
	assert_int_equal(o.sort, PYBPF_SORT_CALLS);
	assert_int_equal(o.limit, 0);
	assert_int_equal(o.backend, PYBPF_BACKEND_AUTO);
	assert_true(o.verbose);
	assert_false(o.probe_floor);
	assert_false(o.latency);

	/* The last occurrence wins. */
	assert_int_equal(parse(ARGV("-p", "3", "-s", "name", "-s", "pcalls", "-d", "1", "-d", "7"),
			       &o, &err), OPTIONS_RUN);
	assert_int_equal(o.sort, PYBPF_SORT_PCALLS);
	assert_true(o.duration == 7.0);
}

static void test_backend_name(void **state)
{
	(void)state;
	assert_string_equal(backend_name(PYBPF_BACKEND_AUTO), "auto");
	assert_string_equal(backend_name(PYBPF_BACKEND_USDT), "usdt");
	assert_string_equal(backend_name(PYBPF_BACKEND_EVALFRAME), "evalframe");
}

/* Each backend by name, in both forms; the last one given wins. */
static void test_backend(void **state)
{
	static const struct {
		const char *name;
		enum pybpf_backend b;
	} names[] = {
		{ "auto", PYBPF_BACKEND_AUTO },
		{ "usdt", PYBPF_BACKEND_USDT },
		{ "evalframe", PYBPF_BACKEND_EVALFRAME },
	};
	struct pybpf_options o;
	struct pybpf_err err;
	char eq[32];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(parse(ARGV("-p", "1", "--backend", (char *)names[i].name), &o,
				       &err), OPTIONS_RUN);
		assert_int_equal(o.backend, names[i].b);
		assert_string_equal(backend_name(o.backend), names[i].name);
		snprintf(eq, sizeof(eq), "--backend=%s", names[i].name);
		assert_int_equal(parse(ARGV(eq, "-p", "1"), &o, &err), OPTIONS_RUN);
		assert_int_equal(o.backend, names[i].b);
	}
	assert_int_equal(parse(ARGV("-p", "1", "--backend", "evalframe", "--backend", "usdt"),
			       &o, &err), OPTIONS_RUN);
	assert_int_equal(o.backend, PYBPF_BACKEND_USDT);
}

/* --latency and --hook-only are flags that imply nothing else. */
static void test_latency_and_hook_only(void **state)
{
	struct pybpf_options o;
	struct pybpf_err err;

	(void)state;
	assert_int_equal(parse(ARGV("--latency", "-p", "9"), &o, &err), OPTIONS_RUN);
	assert_true(o.latency);
	assert_false(o.hook_only);
	assert_int_equal(o.pid, 9);
	assert_int_equal(o.limit, -1);
	assert_int_equal(o.backend, PYBPF_BACKEND_AUTO);

	assert_int_equal(parse(ARGV("--hook-only", "-p", "9"), &o, &err), OPTIONS_RUN);
	assert_true(o.hook_only);
	assert_false(o.latency);
	assert_false(o.probe_floor);
	assert_int_equal(o.backend, PYBPF_BACKEND_AUTO);

	assert_int_equal(parse(ARGV("--backend", "evalframe", "--hook-only", "--latency", "--",
				    "python3", "app.py"), &o, &err), OPTIONS_RUN);
	assert_true(o.hook_only);
	assert_true(o.latency);
	assert_int_equal(o.backend, PYBPF_BACKEND_EVALFRAME);
	assert_string_equal(o.cmd[0], "python3");
	assert_string_equal(err.msg, "");

	/* Flags take no value. */
	expect_usage(ARGV("-p", "1", "--latency=yes"), "option '--latency' takes no value",
		     "--help");
	expect_usage(ARGV("-p", "1", "--hook-only=1"), "option '--hook-only' takes no value",
		     NULL);
}

/* --hook-only measures the evalframe hook: not with usdt nor --probe-floor,
 * in either order; the last --backend is the one checked. */
static void test_hook_only_conflicts(void **state)
{
	struct pybpf_options o;
	struct pybpf_err err;

	(void)state;
	expect_usage(ARGV("-p", "1", "--hook-only", "--backend", "usdt"), "--hook-only",
		     "--backend usdt");
	expect_usage(ARGV("--backend=usdt", "--hook-only", "-p", "1"), "--hook-only",
		     "--backend usdt");
	expect_usage(ARGV("-p", "1", "--hook-only", "--probe-floor"), "--hook-only",
		     "--probe-floor");
	expect_usage(ARGV("--probe-floor", "--hook-only", "--", "cmd"), "--hook-only",
		     "--probe-floor");
	expect_usage(ARGV("--backend", "evalframe", "--probe-floor", "--hook-only", "-p", "1"),
		     "exclude each other", "--help");
	assert_int_equal(parse(ARGV("--backend", "usdt", "--hook-only", "--backend", "auto", "-p",
				    "1"), &o, &err), OPTIONS_RUN);
	assert_true(o.hook_only);
	/* The probe floor alone, with usdt, is still fine. */
	assert_int_equal(parse(ARGV("--backend", "usdt", "--probe-floor", "-p", "1"), &o, &err),
			 OPTIONS_RUN);
	assert_true(o.probe_floor);
	assert_false(o.hook_only);
}

/* parse() with stdout going to a buffer: what --help and --version print. */
static enum options_result parse_captured(char **argv, struct pybpf_options *o,
					  struct pybpf_err *err, char *out, size_t n)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDOUT_FILENO);
	enum options_result r;
	size_t got;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	assert_int_equal(fflush(stdout), 0);
	assert_true(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
	r = parse(argv, o, err);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	got = fread(out, 1, n - 1, tmp);
	out[got] = '\0';
	fclose(tmp);
	return r;
}

/* --help and --version print on stdout and stop, whatever else is on the line. */
static void test_help_version(void **state)
{
	static char *const help[] = { "--help", "-h", "-vh" };
	static char *const version[] = { "--version", "-V" };
	struct pybpf_options o;
	struct pybpf_err err;
	char out[8192];

	(void)state;
	for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++) {
		assert_int_equal(parse_captured(ARGV(help[i]), &o, &err, out, sizeof(out)),
				 OPTIONS_EXIT);
		assert_non_null(strstr(out, "Usage: pybpf-prof [OPTIONS] -p PID\n"));
		assert_non_null(strstr(out, "--limit N"));
		assert_non_null(strstr(out, "--backend NAME     auto (default), usdt or evalframe\n"));
		assert_non_null(strstr(out, "\n      --latency  "));
		assert_non_null(strstr(out, "\n      --hook-only  "));
		assert_non_null(strstr(out, "stdname, offcpu\n"));
		assert_string_equal(err.msg, "");
	}
	for (size_t i = 0; i < sizeof(version) / sizeof(version[0]); i++) {
		assert_int_equal(parse_captured(ARGV(version[i]), &o, &err, out, sizeof(out)),
				 OPTIONS_EXIT);
		assert_int_equal(strncmp(out, "pybpf-prof ", 11), 0);
		assert_int_equal(strchr(out, '\n') - out, (long)strlen(out) - 1);
	}
	/* Stops at --help: neither the conflict nor the bad limit after it is seen. */
	assert_int_equal(parse_captured(ARGV("-p", "1", "--help", "--limit", "x", "--", "cmd"),
					&o, &err, out, sizeof(out)), OPTIONS_EXIT);
	assert_non_null(strstr(out, "Usage: "));
	assert_string_equal(err.msg, "");
}

/* ---- usage errors ---- */

static void test_bad_pid(void **state)
{
	(void)state;
	expect_usage(ARGV("-p", "abc"), "invalid PID 'abc'", "positive integer");
	expect_usage(ARGV("-p", "0"), "invalid PID '0'", NULL);
	expect_usage(ARGV("-p", "-5"), "invalid PID '-5'", NULL);
	expect_usage(ARGV("-p", "12x"), "invalid PID '12x'", NULL);
	expect_usage(ARGV("-p", ""), "invalid PID ''", NULL);
	expect_usage(ARGV("-p", "2147483648"), "invalid PID '2147483648'", NULL);
	expect_usage(ARGV("-p", "99999999999999999999999"), "invalid PID", NULL);
}

static void test_bad_duration(void **state)
{
	(void)state;
	expect_usage(ARGV("-p", "1", "-d", "-1"), "invalid duration '-1'", "seconds > 0");
	expect_usage(ARGV("-p", "1", "-d", "0"), "invalid duration '0'", NULL);
	expect_usage(ARGV("-p", "1", "-d", "nan"), "invalid duration 'nan'", NULL);
	expect_usage(ARGV("-p", "1", "-d", "inf"), "invalid duration 'inf'", NULL);
	expect_usage(ARGV("-p", "1", "-d", "1e300"), "invalid duration '1e300'", NULL);
	expect_usage(ARGV("-p", "1", "-d", "2s"), "invalid duration '2s'", NULL);
	expect_usage(ARGV("-p", "1", "--duration="), "invalid duration ''", NULL);
}

static void test_bad_sort(void **state)
{
	(void)state;
	expect_usage(ARGV("-p", "1", "-s", "bogus"), "invalid sort key 'bogus'", "tottime");
	expect_usage(ARGV("-p", "1", "--sort", "TIME"), "invalid sort key 'TIME'", NULL);
	expect_usage(ARGV("-p", "1", "-s", "off-cpu"), "invalid sort key 'off-cpu'", "offcpu");
}

static void test_bad_limit(void **state)
{
	(void)state;
	expect_usage(ARGV("-p", "1", "--limit", "-1"), "invalid limit '-1'", ">= 0");
	expect_usage(ARGV("-p", "1", "--limit", "ten"), "invalid limit 'ten'", NULL);
	expect_usage(ARGV("-p", "1", "--limit=1.5"), "invalid limit '1.5'", NULL);
}

static void test_bad_backend(void **state)
{
	(void)state;
	expect_usage(ARGV("-p", "1", "--backend", "nope"), "invalid backend 'nope'",
		     "expected auto, usdt or evalframe");
	expect_usage(ARGV("-p", "1", "--backend", "USDT"), "invalid backend 'USDT'", NULL);
	expect_usage(ARGV("-p", "1", "--backend", "eval"), "invalid backend 'eval'", NULL);
	expect_usage(ARGV("-p", "1", "--backend="), "invalid backend ''",
		     "auto, usdt or evalframe");
	/* No value at all: the message lists the three too. */
	expect_usage(ARGV("-p", "1", "--backend"), "option '--backend' needs a value",
		     "auto, usdt or evalframe");
}

static void test_target_conflicts(void **state)
{
	(void)state;
	expect_usage(ARGV("-p", "1", "--", "cmd"), "exclude each other", NULL);
	expect_usage(ARGV("-p", "1", "cmd"), "exclude each other", NULL);
	/* Nothing at all, only options, or "--" with no command after it. */
	expect_usage((char *[]){ "pybpf-prof", NULL }, "nothing to trace", "-p PID");
	expect_usage(ARGV("-v", "-s", "time"), "nothing to trace", NULL);
	expect_usage(ARGV("--"), "nothing to trace", NULL);
}

static void test_unknown_option(void **state)
{
	(void)state;
	expect_usage(ARGV("--frobnicate", "-p", "1"), "unknown option '--frobnicate'", "--help");
	expect_usage(ARGV("-p", "1", "--frobnicate=3"), "unknown option '--frobnicate=3'", NULL);
	expect_usage(ARGV("-x", "-p", "1"), "unknown option '-x'", NULL);
}

static void test_missing_value(void **state)
{
	(void)state;
	expect_usage(ARGV("-p"), "option '-p' needs a value", "--help");
	expect_usage(ARGV("--pid"), "option '--pid' needs a value", NULL);
	expect_usage(ARGV("-p", "1", "-d"), "option '-d' needs a value", NULL);
	expect_usage(ARGV("-p", "1", "-o"), "option '-o' needs a value", NULL);
	expect_usage(ARGV("-p", "1", "-s"), "option '-s' needs a value", NULL);
	expect_usage(ARGV("-p", "1", "--limit"), "option '--limit' needs a value", NULL);
	expect_usage(ARGV("-p", "1", "--backend"), "option '--backend' needs a value", NULL);
	expect_usage(ARGV("-p", "1", "--output"), "option '--output' needs a value", NULL);
}

/* Each call starts from scratch: an error or an early stop in one parse
 * leaves nothing behind for the next (getopt's state included). */
static void test_parse_again(void **state)
{
	struct pybpf_options o;
	struct pybpf_err err;

	(void)state;
	for (int i = 0; i < 3; i++) {
		char out[8192];

		/* Stops in the middle of a cluster of short options: the rest of it
		 * ("v") must not leak into the next parse. */
		assert_int_equal(parse_captured(ARGV("-Vv", "-p", "1"), &o, &err, out,
						sizeof(out)), OPTIONS_EXIT);
		assert_int_equal(strncmp(out, "pybpf-prof ", 11), 0);
		assert_int_equal(parse(ARGV("cmd", "-v"), &o, &err), OPTIONS_RUN);
		assert_false(o.verbose);
		assert_string_equal(o.cmd[0], "cmd");
		assert_string_equal(o.cmd[1], "-v");
		/* An error in the middle of a cluster, too. */
		expect_usage(ARGV("-p", "3", "-d", "-1", "-vx"), "invalid duration '-1'", NULL);
		expect_usage(ARGV("-vdv"), "invalid duration 'v'", NULL);
		assert_int_equal(parse(ARGV("--", "cmd"), &o, &err), OPTIONS_RUN);
		assert_false(o.verbose);
		assert_true(o.duration == 0.0);
		expect_usage(ARGV("-p", "2", "--limit", "x", "-s", "name"), "invalid limit 'x'",
			     NULL);
		assert_int_equal(parse(ARGV("-vp", "8", "-s", "name"), &o, &err), OPTIONS_RUN);
		assert_int_equal(o.pid, 8);
		assert_true(o.verbose);
		assert_int_equal(o.sort, PYBPF_SORT_NAME);
		assert_int_equal(o.limit, -1);
		assert_string_equal(err.msg, "");
		assert_int_equal(parse(ARGV("cmd", "arg"), &o, &err), OPTIONS_RUN);
		assert_int_equal(o.pid, 0);
		assert_string_equal(o.cmd[0], "cmd");
		assert_false(o.verbose);
		assert_int_equal(o.sort, PYBPF_SORT_CUMULATIVE);
		/* A conflict found after the loop leaves nothing behind either. */
		expect_usage(ARGV("--hook-only", "--probe-floor", "-p", "1"), "--hook-only", NULL);
		assert_int_equal(parse(ARGV("-p", "1", "--backend", "usdt"), &o, &err),
				 OPTIONS_RUN);
		assert_false(o.hook_only);
		assert_false(o.probe_floor);
		assert_false(o.latency);
	}
}

/* --sample and what goes with it. */
static void test_sample_options(void **state)
{
	struct pybpf_options o;
	struct pybpf_err err;

	(void)state;
	assert_int_equal(parse(ARGV("--sample", "-p", "7"), &o, &err), OPTIONS_RUN);
	assert_true(o.sample);
	assert_int_equal(o.hz, 0); /* the default rate is applied when the run starts */
	assert_int_equal(o.mode, SAMPLE_MODE_WALL);
	assert_int_equal(o.sample_sort, SREPORT_SORT_TOTTIME);
	assert_int_equal(parse(ARGV("-s", "cumsamples", "--sample", "--hz", "999", "--mode", "cpu",
				    "--lines", "--threads", "--folded", "f", "--flamegraph", "g.svg",
				    "--speedscope", "s.json", "-o", "p.prof", "--", "python3"),
			       &o, &err),
			 OPTIONS_RUN);
	assert_int_equal(o.hz, 999);
	assert_int_equal(o.mode, SAMPLE_MODE_CPU);
	assert_int_equal(o.sample_sort, SREPORT_SORT_CUMSAMPLES);
	assert_true(o.lines && o.threads);
	assert_string_equal(o.folded, "f");
	assert_string_equal(o.flamegraph, "g.svg");
	assert_string_equal(o.speedscope, "s.json");
	assert_string_equal(o.cmd[0], "python3");
	assert_int_equal(parse(ARGV("--sample", "--mode", "offcpu", "-p", "7"), &o, &err),
			 OPTIONS_RUN);
	assert_int_equal(o.mode, SAMPLE_MODE_OFFCPU);
}

static void test_sample_bad_input(void **state)
{
	(void)state;
	expect_usage(ARGV("--sample", "--hz", "0", "-p", "7"), "--hz '0'", "1 to 10000");
	expect_usage(ARGV("--sample", "--hz", "10001", "-p", "7"), "--hz '10001'", NULL);
	expect_usage(ARGV("--sample", "--hz", "9x", "-p", "7"), "--hz '9x'", NULL);
	expect_usage(ARGV("--sample", "--mode", "gil", "-p", "7"), "mode 'gil'", "wall, cpu");
	expect_usage(ARGV("--lines", "-p", "7"), "--lines needs --sample", NULL);
	expect_usage(ARGV("--threads", "-p", "7"), "--threads needs --sample", NULL);
	expect_usage(ARGV("--folded", "f", "-p", "7"), "--folded needs --sample", NULL);
	expect_usage(ARGV("--hz", "99", "-p", "7"), "--hz needs --sample", NULL);
	expect_usage(ARGV("--sample", "--latency", "-p", "7"), "--latency is for exact", NULL);
	expect_usage(ARGV("--backend", "usdt", "--sample", "-p", "7"), "--backend is for exact",
		     NULL);
	expect_usage(ARGV("--sample", "-s", "ncalls", "-p", "7"), "sort key 'ncalls'",
		     "for --sample");
	expect_usage(ARGV("-s", "cumsamples", "-p", "7"), "sort key 'cumsamples'", NULL);
	expect_usage(ARGV("--sample"), "nothing to trace", NULL);
}

/* ---- --all-python ---- */

static void test_all_python(void **state)
{
	struct pybpf_options o;
	struct pybpf_err err;

	(void)state;
	assert_int_equal(parse(ARGV("--all-python", "-d", "30"), &o, &err), OPTIONS_RUN);
	assert_true(o.all_python);
	assert_int_equal(o.pid, 0);
	assert_null(o.cmd);
	assert_int_equal(o.nexclude, 0);
	assert_null(o.match);
	assert_int_equal(o.max_processes, 0);
	options_free(&o);
	assert_int_equal(parse(ARGV("--all-python", "--exclude-pid", "5,7", "--exclude-pid=9",
				    "--match", "gunicorn|celery", "--max-processes", "1024",
				    "--max-threads", "100", "--max-functions", "1000", "--sample"),
			       &o, &err), OPTIONS_RUN);
	assert_int_equal(o.nexclude, 3);
	assert_int_equal(o.exclude[0], 5);
	assert_int_equal(o.exclude[1], 7);
	assert_int_equal(o.exclude[2], 9);
	assert_string_equal(o.match, "gunicorn|celery");
	assert_int_equal(o.max_processes, 1024);
	assert_int_equal(o.max_threads, 100);
	assert_int_equal(o.max_functions, 1000);
	assert_true(o.sample);
	options_free(&o);
}

static void test_all_python_bad_input(void **state)
{
	(void)state;
	expect_usage(ARGV("--all-python", "-p", "1"), "--all-python", "-p");
	expect_usage(ARGV("--all-python", "--", "python3"), "--all-python", "a command");
	expect_usage(ARGV("--all-python", "--exclude-pid", "x"), "invalid --exclude-pid 'x'", NULL);
	expect_usage(ARGV("--all-python", "--exclude-pid", "5,"), "invalid --exclude-pid", NULL);
	expect_usage(ARGV("--all-python", "--exclude-pid", "5", "--exclude-pid", "0"),
		     "invalid --exclude-pid '0'", NULL);
	expect_usage(ARGV("--all-python", "--match", "("), "invalid --match '('", NULL);
	expect_usage(ARGV("-p", "1", "--match", "x"), "--match needs --all-python", NULL);
	expect_usage(ARGV("-p", "1", "--exclude-pid", "2"), "--exclude-pid needs --all-python", NULL);
	expect_usage(ARGV("--all-python", "--max-processes", "0"), "invalid --max-processes '0'",
		     "1 to 1024");
	expect_usage(ARGV("--all-python", "--max-processes", "1025"), "--max-processes", NULL);
	expect_usage(ARGV("--all-python", "--max-threads", "-1"), "--max-threads", NULL);
	expect_usage(ARGV("--all-python", "--max-functions", "x"), "--max-functions", NULL);
	expect_usage(ARGV("--all-python", "--hook-only"), "--hook-only", "--all-python");
}

static void expect_run(char **argv)
{
	struct pybpf_options o;
	struct pybpf_err err;

	assert_int_equal(parse(argv, &o, &err), OPTIONS_RUN);
	options_free(&o);
}

/* Fuzzing found glibc's regcomp taking seconds to minutes on repeated repetitions
 * (stacked, or through a group): refused before it is called. */
static void test_match_too_costly(void **state)
{
	static const char *const slow[] = {
		"gunicorn|celer++++++++++++++++++++++++++++++++++++++++++++++++++++++-exd&e-pid=4,7",
		"2*++++++++++", "22222+++\xff\xff\xff++--l-p9", "a**", "a{2}+", "(a*|b*|c*)+",
		"(a*|b*){4}+", "((a{2}){2}){2}", "x(y(z+))*", "a{1,5000}", "a{33}", "a{,40}",
	};
	static const char *const fine[] = {
		"gunicorn|celery", "python3\\.[0-9]{1,2}|uwsgi+|celery+", "(gunicorn|celery)+",
		"a\\++\\++\\++", "[+*]+x{32}", "[[:alpha:]]+[]+]*", "(a)(b*)(c)+",
	};
	char long_re[300];

	(void)state;
	for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++)
		expect_usage(ARGV("--all-python", "--match", (char *)slow[i]), "invalid --match",
			     "too slow");
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		expect_run(ARGV("--all-python", "--match", (char *)fine[i]));
	memset(long_re, 'a', sizeof(long_re) - 1);
	long_re[sizeof(long_re) - 1] = '\0';
	expect_usage(ARGV("--all-python", "--match", long_re), "invalid --match", "256 bytes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid),
		cmocka_unit_test(test_command_after_dashes),
		cmocka_unit_test(test_command_without_dashes),
		cmocka_unit_test(test_every_value),
		cmocka_unit_test(test_backend_name),
		cmocka_unit_test(test_backend),
		cmocka_unit_test(test_latency_and_hook_only),
		cmocka_unit_test(test_hook_only_conflicts),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_bad_pid),
		cmocka_unit_test(test_bad_duration),
		cmocka_unit_test(test_bad_sort),
		cmocka_unit_test(test_bad_limit),
		cmocka_unit_test(test_bad_backend),
		cmocka_unit_test(test_target_conflicts),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_missing_value),
		cmocka_unit_test(test_parse_again),
		cmocka_unit_test(test_sample_options),
		cmocka_unit_test(test_sample_bad_input),
		cmocka_unit_test(test_all_python),
		cmocka_unit_test(test_all_python_bad_input),
		cmocka_unit_test(test_match_too_costly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
