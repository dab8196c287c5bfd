/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers shared by the unit tests (include after cmocka.h). */
#ifndef PYBPF_TESTUTIL_H
#define PYBPF_TESTUTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The whole file at path, malloc'ed (one spare byte at the end); fails the test otherwise. */
static inline char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Makes a fresh directory $TMPDIR/<prefix>.XXXXXX (or under /tmp) into dir. */
static inline void test_make_tmpdir(char *dir, size_t n, const char *prefix)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	assert_true((size_t)snprintf(dir, n, "%s/%s.XXXXXX", base, prefix) < n);
	assert_non_null(mkdtemp(dir));
}

/* Number of entries in dir other than . and .. */
static inline int test_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* Removes dir and what the tests put in it (files and empty directories). */
static inline void test_remove_tmpdir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path))
			rmdir(path);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
}

/* Runs fixed[] and then fn once per item of a table as one cmocka group:
 * n items of `size` bytes, each with its test name as its first member
 * (a const char *) and given to fn as its state. */
static inline int run_group_with_table(const char *group, const struct CMUnitTest *fixed,
				       size_t nfixed, CMUnitTestFunction fn, const void *items,
				       size_t n, size_t size)
{
	struct CMUnitTest *tests = calloc(nfixed + n, sizeof(*tests));
	int failed;

	if (!tests)
		return 1;
	memcpy(tests, fixed, nfixed * sizeof(*tests));
	for (size_t i = 0; i < n; i++) {
		const void *item = (const char *)items + i * size;

		tests[nfixed + i] = (struct CMUnitTest){ .name = *(const char *const *)item,
							 .test_func = fn,
							 .initial_state = (void *)item };
	}
	failed = _cmocka_run_group_tests(group, tests, nfixed + n, NULL, NULL);
	free(tests);
	return failed;
}

/* The PID of a child that has exited and been reaped: no such process. */
static inline pid_t gone_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

/* How many file descriptors this process has open. */
static inline int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* Starts argv (searched in PATH) with its stdout on a pipe and reads its
 * first line (the readiness handshake) into line; fails the test, killing
 * the child, if no line comes ("<what> did not start"). The child's pid. */
static inline pid_t spawn_argv(const char *const argv[], const char *what, char *line, int n)
{
	int fds[2];
	pid_t pid;
	FILE *f;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	assert_non_null(f);
	line[0] = '\0';
	if (!fgets(line, n, f)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fclose(f);
		fail_msg("%s did not start", what);
	}
	fclose(f);
	return pid;
}

/* spawn_argv() of `python -c code`. */
static inline pid_t spawn_python(const char *python, const char *code, char *line, int n)
{
	const char *argv[] = { python, "-c", code, NULL };

	return spawn_argv(argv, python, line, n);
}

/* A child with its stdin and stdout on pipes. */
struct test_child {
	pid_t pid;
	int in;    /* its stdin */
	FILE *out; /* its stdout */
};

/* Starts argv (argv[0] a path, inside root unless root is "") with its stdin
 * and stdout on pipes, killed if this process dies; envp NULL keeps ours. */
static inline void test_child_start(struct test_child *c, const char *root, char *const argv[],
				    char *const envp[])
{
	int in[2], out[2];

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (!c->pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		if (root[0] && (chroot(root) || chdir("/")))
			_exit(126);
		if (envp)
			execve(argv[0], argv, envp);
		else
			execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = fdopen(out[0], "r");
	assert_non_null(c->out);
}

/* Kills and reaps a child that did not start as it should. */
static inline void test_child_kill(const struct test_child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
}

#endif
