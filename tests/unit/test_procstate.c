// SPDX-License-Identifier: GPL-2.0-only
/* procstate.c (a process's exit and exec, told from outside) and
 * testpoint.c (the test-only pause), against real child processes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procstate.h"
#include "testpoint.h"

static int marker = 42; /* an address mapped in every fork of this process */

/* A child that waits for a byte on fds[0], then runs cmd (NULL: exits 0)
 * with that pipe as its stdin; *exec_fd (if cmd) reads EOF once the exec
 * is done (its write end is close-on-exec). */
static pid_t child_waiting(int fds[2], char *const cmd[], int *exec_fd)
{
	int ex[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(pipe2(ex, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		close(ex[0]);
		if (read(fds[0], &c, 1) != 1)
			_exit(1);
		if (cmd) {
			dup2(fds[0], STDIN_FILENO);
			execv(cmd[0], cmd); /* reads the pipe: stays until fds[1] closes */
			_exit(127);
		}
		_exit(0);
	}
	close(fds[0]);
	close(ex[1]);
	if (exec_fd)
		*exec_fd = ex[0];
	else
		close(ex[0]);
	return pid;
}

static void test_exited(void **state)
{
	int fds[2], status;
	pid_t pid = child_waiting(fds, NULL, NULL);
	siginfo_t si;

	(void)state;
	assert_false(process_exited(pid));
	assert_int_equal(write(fds[1], "g", 1), 1);
	/* A zombie has exited; so has a reaped process. */
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_true(process_exited(pid));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(process_exited(pid));
	close(fds[1]);
}

static void test_execed(void **state)
{
	char *const cat[] = { "/bin/cat", NULL };
	int fds[2], mem, status, exec_fd;
	pid_t pid;
	char c;

	(void)state;
	if (access(cat[0], X_OK))
		skip();
	pid = child_waiting(fds, cat, &exec_fd);
	mem = process_mem_open(pid);
	if (mem < 0) { /* no ptrace access to a child here */
		close(fds[1]);
		waitpid(pid, &status, 0);
		skip();
	}
	assert_false(process_execed(pid, mem, (uint64_t)(uintptr_t)&marker));
	assert_int_equal(write(fds[1], "g", 1), 1);
	assert_int_equal(read(exec_fd, &c, 1), 0); /* exec'ed: cat now waits on the pipe */
	close(exec_fd);
	assert_true(process_execed(pid, mem, (uint64_t)(uintptr_t)&marker));
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(process_execed(pid, mem, (uint64_t)(uintptr_t)&marker)); /* exited: not an exec */
	close(mem);
	assert_false(process_execed(pid, -1, 0));
}

/* The pause stops the process at its point only, until SIGCONT. */
static void test_testpoint(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsetenv("PYBPF_TEST_PAUSE");
		testpoint("hook");
		setenv("PYBPF_TEST_PAUSE", "hook", 1);
		testpoint("attach");
		testpoint("hook");
		_exit(7);
	}
	assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
	assert_true(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
	assert_int_equal(kill(pid, SIGCONT), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exited),
		cmocka_unit_test(test_execed),
		cmocka_unit_test(test_testpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
