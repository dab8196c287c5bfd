// SPDX-License-Identifier: GPL-2.0-only
/* target.c: parsing /proc/PID/maps lines, versions from file names, and
 * inspecting processes: this one (not Python), one that is gone, and a
 * python3 child when /usr/bin/python3 exists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "target.h"

#define PYTHON "/usr/bin/python3"

/* ---- map_entry__parse ---- */

static void test_maps_line_with_path(void **state)
{
	struct map_entry m;

	(void)state;
	assert_true(map_entry__parse("7f1c2a400000-7f1c2a428000 r--p 00000000 fd:01 1835143"
				     "                    /usr/lib/x86_64-linux-gnu/"
				     "libpython3.9.so.1.0\n", &m));
	assert_int_equal(m.start, 0x7f1c2a400000ull);
	assert_int_equal(m.end, 0x7f1c2a428000ull);
	assert_int_equal(m.offset, 0);
	assert_int_equal(m.dev_major, 0xfd);
	assert_int_equal(m.dev_minor, 1);
	assert_int_equal(m.inode, 1835143);
	assert_string_equal(m.path, "/usr/lib/x86_64-linux-gnu/libpython3.9.so.1.0");

	/* A later segment of the same file, without the newline; big device numbers. */
	assert_true(map_entry__parse("55d0c8a4e000-55d0c8b9f000 r-xp 0012a000 103:02 98765432101 "
				     "/usr/bin/python3.11", &m));
	assert_int_equal(m.start, 0x55d0c8a4e000ull);
	assert_int_equal(m.end, 0x55d0c8b9f000ull);
	assert_int_equal(m.offset, 0x12a000);
	assert_int_equal(m.dev_major, 0x103);
	assert_int_equal(m.dev_minor, 2);
	assert_int_equal(m.inode, 98765432101ull);
	assert_string_equal(m.path, "/usr/bin/python3.11");
}

static void test_maps_line_without_file(void **state)
{
	static const char *const lines[] = {
		/* Anonymous mappings, with and without the padding and newline. */
		"7f1c2a600000-7f1c2a601000 rw-p 00000000 00:00 0 \n",
		"7f1c2a600000-7f1c2a601000 rw-p 00000000 00:00 0\n",
		"7f1c2a600000-7f1c2a601000 rw-p 00000000 00:00 0",
		"55d0c8c00000-55d0c8c21000 rw-p 00000000 00:00 0                      [heap]\n",
		"7ffd5e3a1000-7ffd5e3c2000 rw-p 00000000 00:00 0                      [stack]\n",
		"7ffd5e3fc000-7ffd5e3fe000 r-xp 00000000 00:00 0                      [vdso]\n",
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0          [vsyscall]\n",
		/* A file-backed mapping that is not a path. */
		"7f0000000000-7f0000001000 rw-p 00000000 00:0e 12345 anon_inode:[perf_event]\n",
		/* A path with no inode. */
		"7f0000000000-7f0000001000 rw-p 00000000 00:00 0 /not/really\n",
		/* Not maps lines at all. */
		"",
		"\n",
		"hello world",
		"7f0000000000-7f0000001000 rw-p",
		"zzzz-7f0000001000 rw-p 00000000 08:01 5 /bin/sh\n",
	};
	struct map_entry m;

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (map_entry__parse(lines[i], &m))
			fail_msg("line %zu '%s' parsed, path '%s'", i, lines[i], m.path);
	}
}

static void test_maps_line_odd_paths(void **state)
{
	struct map_entry m;

	(void)state;
	/* Spaces inside the path are kept, up to the end of the line. */
	assert_true(map_entry__parse("7f0000000000-7f0000001000 r--p 00000000 08:02 42      "
				     "/home/u/my project/lib python3.9.so\n", &m));
	assert_string_equal(m.path, "/home/u/my project/lib python3.9.so");
	assert_int_equal(m.inode, 42);

	/* A replaced file: the suffix goes. */
	assert_true(map_entry__parse("7f0000000000-7f0000001000 r-xp 00001000 08:02 43 "
				     "/usr/bin/python3.9 (deleted)\n", &m));
	assert_string_equal(m.path, "/usr/bin/python3.9");
	assert_int_equal(m.offset, 0x1000);
	assert_true(map_entry__parse("7f0000000000-7f0000001000 rw-s 00000000 00:01 44 "
				     "/memfd:jit (deleted)", &m));
	assert_string_equal(m.path, "/memfd:jit");

	/* " (deleted)" not at the end is part of the name. */
	assert_true(map_entry__parse("7f0000000000-7f0000001000 r--p 00000000 08:02 45 "
				     "/tmp/a (deleted)/lib.so\n", &m));
	assert_string_equal(m.path, "/tmp/a (deleted)/lib.so");
	assert_true(map_entry__parse("7f0000000000-7f0000001000 r--p 00000000 08:02 46 "
				     "/tmp/b (deleted)x\n", &m));
	assert_string_equal(m.path, "/tmp/b (deleted)x");
}

/* ---- python_version_from_name ---- */

static void test_version_from_name(void **state)
{
	static const struct {
		const char *name;
		int minor;
	} good[] = {
		{ "libpython3.9.so.1.0", 9 },
		{ "/usr/bin/python3.15", 15 },
		{ "python3.11", 11 },
		{ "/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0", 12 },
		{ "/opt/py/bin/python3.13t", 13 },
		{ "python3.0", 0 },
		{ "python3.99", 99 },
	};
	static const char *const bad[] = {
		"python3",
		"python3.x",
		"python3.",
		"/usr/bin/python",
		"python2.7",
		"python3.100",
		"libpython.so",
		"",
		/* Only the file name counts, not the directories. */
		"/usr/lib/python3.11/lib-dynload/_ssl.so",
		"/opt/python3.12/bin/python",
	};
	int major, minor;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		major = minor = -7;
		if (!python_version_from_name(good[i].name, &major, &minor))
			fail_msg("no version in '%s'", good[i].name);
		assert_int_equal(major, 3);
		assert_int_equal(minor, good[i].minor);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		major = minor = -7;
		if (python_version_from_name(bad[i], &major, &minor))
			fail_msg("'%s' gave %d.%d", bad[i], major, minor);
		assert_int_equal(major, -7);
		assert_int_equal(minor, -7);
	}
}

/* ---- maps_read_line ---- */

/* A line longer than the buffer is skipped whole: its tail, which here
 * looks like a maps line naming a libpython, is never returned. */
static void test_maps_overlong_line_skipped(void **state)
{
	static const char maps[] =
		"00400000-00401000 r-xp 00000000 08:01 11 /bin/a\n"
		"00500000-00501000 r-xp 00000000 08:01 12 /very/long/"
		"7f00-7f01 r-xp 00000000 08:01 13 /usr/lib/libpython3.12.so\n"
		"00600000-00601000 r-xp 00000000 08:01 14 /bin/c";
	char line[64];
	struct map_entry m;
	FILE *f;

	(void)state;
	f = fmemopen((void *)maps, sizeof(maps) - 1, "r");
	assert_non_null(f);
	assert_true(maps_read_line(f, line, sizeof(line)));
	assert_true(map_entry__parse(line, &m));
	assert_string_equal(m.path, "/bin/a");
	/* The next one is the last line, unterminated: still a line. */
	assert_true(maps_read_line(f, line, sizeof(line)));
	assert_true(map_entry__parse(line, &m));
	assert_string_equal(m.path, "/bin/c");
	assert_false(maps_read_line(f, line, sizeof(line)));
	fclose(f);

	/* Every line overlong: nothing at all. */
	f = fmemopen((void *)maps, sizeof(maps) - 1, "r");
	assert_non_null(f);
	assert_false(maps_read_line(f, line, 8));
	fclose(f);
}

/* ---- inspecting processes ---- */

static void test_inspect_self(void **state)
{
	struct python_target t;
	struct pybpf_err err;
	char want[PATH_MAX + 64], exe[PATH_MAX], comm[32] = "";
	ssize_t len;
	FILE *f;

	(void)state;
	memset(&err, 0, sizeof(err));
	memset(&t, 0xa5, sizeof(t));
	assert_int_equal(python_target__inspect(getpid(), &t, &err), -1);
	snprintf(want, sizeof(want), "PID %d (", getpid());
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, "is not a Python process"));
	/* The message names the file it looked in: this executable. */
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(len > 0);
	exe[len] = '\0';
	assert_non_null(strstr(err.msg, exe));
	assert_string_equal(t.binary, exe);
	assert_int_equal(t.pid, getpid());
	f = fopen("/proc/self/comm", "r");
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	assert_string_equal(t.comm, comm);

	assert_false(python_target__is_python_exe(getpid()));
	assert_false(python_target__awaits_libpython(getpid()));
}

static void test_inspect_no_process(void **state)
{
	struct python_target t;
	struct pybpf_err err;
	char want[64];
	pid_t pid = gone_pid();

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(python_target__inspect(pid, &t, &err), -1);
	/* Worded for the user ("no process with PID N", or "cannot trace PID N:
	 * no such process"), never as a process that is not Python. */
	snprintf(want, sizeof(want), "PID %d", pid);
	if (!strstr(err.msg, want) ||
	    (!strstr(err.msg, "no such process") && !strstr(err.msg, "no process with PID")) ||
	    strstr(err.msg, "Python"))
		fail_msg("gone PID %d: '%s'", pid, err.msg);
	assert_false(python_target__is_python_exe(pid));
	assert_false(python_target__awaits_libpython(pid));
	assert_int_equal(python_target__read(pid, 0x1000, want, 8), -ENOENT);
}

static void test_read_self(void **state)
{
	static const unsigned char pattern[16] = "\x11\x22\x33\x44pybpf\x00\xff\x7f\x80\x01\x02";
	unsigned char got[16];

	(void)state;
	memset(got, 0, sizeof(got));
	assert_int_equal(python_target__read(getpid(), (uint64_t)(uintptr_t)pattern, got,
					     sizeof(got)), 0);
	assert_memory_equal(got, pattern, sizeof(got));
	/* Page 0 is never mapped. */
	assert_true(python_target__read(getpid(), 0, got, 8) < 0);
}

/* A real interpreter: what inspect finds matches what it says about itself. */
static void test_inspect_python_child(void **state)
{
	struct python_target t;
	struct pybpf_err err;
	int major = 0, minor = 0, micro = 0, status;
	char line[128] = "";
	uint64_t first;
	pid_t pid;

	(void)state;
	if (access(PYTHON, X_OK))
		skip();
	pid = spawn_python(PYTHON, "import sys, time; v = sys.version_info; "
				   "print(v.major, v.minor, v.micro, flush=True); time.sleep(60)",
			   line, sizeof(line));
	if (sscanf(line, "%d %d %d", &major, &minor, &micro) != 3) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("%s did not start: '%s'", PYTHON, line);
	}

	memset(&err, 0, sizeof(err));
	int ret = python_target__inspect(pid, &t, &err);
	bool is_py = python_target__is_python_exe(pid);
	bool awaits = python_target__awaits_libpython(pid);
	int read_ret = ret ? -1 : python_target__read(pid, t.runtime_addr, &first, sizeof(first));

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (ret)
		fail_msg("inspect of %s (%d.%d.%d): %s", PYTHON, major, minor, micro, err.msg);
	assert_int_equal(t.pid, pid);
	assert_int_equal(t.major, major);
	assert_int_equal(t.minor, minor);
	if (t.micro != -1)
		assert_int_equal(t.micro, micro);
	if (t.micro == -1)
		snprintf(line, sizeof(line), "%d.%d", major, minor);
	else
		snprintf(line, sizeof(line), "%d.%d.%d", major, minor, micro);
	assert_string_equal(t.version, line);
	assert_true(t.runtime_addr != 0);
	/* Reading a child's memory is allowed unless Yama forbids it to non-root. */
	if (geteuid() == 0 || (read_ret != -EPERM && read_ret != -EACCES))
		assert_int_equal(read_ret, 0);
	assert_int_equal(t.shared, strstr(t.binary, "/libpython3.") != NULL);
	assert_non_null(strstr(t.binary, "python3."));
	assert_true(t.file.inode != 0 && t.file.start < t.file.end);
	assert_true(is_py);
	assert_false(awaits);
}

static void test_micro_from_path(void **state)
{
	int micro = -7;

	(void)state;
	assert_true(python_micro_from_path("/root/.pyenv/versions/3.9.18/lib/libpython3.9.so.1.0", 9,
					   &micro));
	assert_int_equal(micro, 18);
	assert_true(python_micro_from_path("/opt/Python-3.10.13/libpython3.10.so", 10, &micro));
	assert_int_equal(micro, 13);
	micro = -7;
	/* Another minor, a name that only contains it, a non-number: no answer. */
	assert_false(python_micro_from_path("/root/.pyenv/versions/3.9.18/lib/x.so", 10, &micro));
	assert_false(python_micro_from_path("/opt/my3.9.18/lib/x.so", 9, &micro));
	assert_false(python_micro_from_path("/opt/3.9.x/lib/x.so", 9, &micro));
	assert_false(python_micro_from_path("/opt/3.9.18rc1/x.so", 9, &micro));
	assert_int_equal(micro, -7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_line_with_path),
		cmocka_unit_test(test_maps_line_without_file),
		cmocka_unit_test(test_maps_line_odd_paths),
		cmocka_unit_test(test_version_from_name),
		cmocka_unit_test(test_maps_overlong_line_skipped),
		cmocka_unit_test(test_inspect_self),
		cmocka_unit_test(test_inspect_no_process),
		cmocka_unit_test(test_read_self),
		cmocka_unit_test(test_inspect_python_child),
		cmocka_unit_test(test_micro_from_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
