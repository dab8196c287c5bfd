// SPDX-License-Identifier: GPL-2.0-only
/* freeze.c against forked children of this test (tracing one's own
 * children needs no root): every thread of a busy process in a ptrace stop
 * and let go again; a thread that cannot stop (a vfork parent, in the
 * kernel until its child ends) is not waited for beyond the bound, stops
 * when it comes back, and freeze_settle() lets it go, so that it runs on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "freeze.h"

#define SPINNERS 3

/* 'R', 'S', 't' (ptrace stop), ...: the state field of a thread's stat. */
static char thread_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512], *close;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	close = strrchr(buf, ')');
	assert_non_null(close);
	return close[2];
}

/* How many of pid's threads are in state. */
static int threads_in(pid_t pid, char state)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && thread_state(pid, atoi(e->d_name)) == state)
			n++;
	closedir(d);
	return n;
}

static void *spin(void *arg)
{
	volatile unsigned long *n = arg;

	for (;;)
		(*n)++;
	return NULL;
}

/* A child with SPINNERS spinning threads and its main thread blocked on a
 * pipe; it says 'r' once they all run. */
static pid_t busy_child(int *ready_fd)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static volatile unsigned long counts[SPINNERS];
		pthread_t t;
		char c = 'r';

		close(p[0]);
		for (int i = 0; i < SPINNERS; i++)
			if (pthread_create(&t, NULL, spin, (void *)&counts[i]))
				_exit(2);
		if (write(p[1], &c, 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	close(p[1]);
	*ready_fd = p[0];
	return pid;
}

static void end_child(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void test_freeze_and_release(void **state)
{
	struct freeze f = { 0 };
	int ready;
	char c;
	pid_t pid = busy_child(&ready);

	(void)state;
	assert_int_equal(read(ready, &c, 1), 1);
	assert_int_equal(freeze_process(&f, pid), SPINNERS + 1);
	assert_int_equal(threads_in(pid, 't'), SPINNERS + 1);
	assert_false(freeze_has_stragglers());
	freeze_release(&f);
	assert_int_equal(threads_in(pid, 't'), 0);
	assert_int_equal(f.n, 0);
	close(ready);
	end_child(pid);
}

/* A child whose main thread is a vfork parent: it cannot stop until its
 * vfork child (which says 'v' first) ends, on a line on `go`. Then it
 * says 'a' and exits 0. */
static pid_t vfork_parent(int *talk_fd, int *go_fd)
{
	int talk[2], go[2];
	pid_t pid;

	assert_int_equal(pipe(talk), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c = 'v';
		pid_t child;

		close(talk[0]);
		close(go[1]);
		child = vfork();
		if (child == 0) {
			/* Only system calls here: this runs on the parent's stack. */
			if (write(talk[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
				_exit(3);
			_exit(0);
		}
		c = 'a';
		_exit(child > 0 && write(talk[1], &c, 1) == 1 ? 0 : 2);
	}
	close(talk[1]);
	close(go[0]);
	*talk_fd = talk[0];
	*go_fd = go[1];
	return pid;
}

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_unstoppable_thread_is_not_waited_for(void **state)
{
	struct freeze f = { 0 };
	int talk, go, status;
	long long deadline;
	char c;
	pid_t pid = vfork_parent(&talk, &go);

	(void)state;
	assert_int_equal(read(talk, &c, 1), 1);
	assert_int_equal(c, 'v'); /* the parent is in its vfork wait from now on */
	assert_int_equal(freeze_process(&f, pid), 0);
	assert_true(freeze_has_stragglers());
	freeze_release(&f);
	assert_true(freeze_has_stragglers()); /* still in the kernel: nothing to let go yet */

	assert_int_equal(write(go, "g", 1), 1); /* the vfork child ends: the parent comes back */
	/* Its pending interrupt stops it on the way back; settle lets it go.
	 * Polled: a straggler's stop is only seen through waitpid. */
	deadline = monotonic_ms() + 30000;
	while (freeze_has_stragglers() && monotonic_ms() < deadline) {
		struct timespec pause = { 0, 1000000 };

		freeze_settle();
		nanosleep(&pause, NULL);
	}
	assert_false(freeze_has_stragglers());
	assert_int_equal(read(talk, &c, 1), 1);
	assert_int_equal(c, 'a'); /* it ran on */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(talk);
	close(go);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_freeze_and_release),
		cmocka_unit_test(test_unstoppable_thread_is_not_waited_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
