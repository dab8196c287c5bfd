// SPDX-License-Identifier: GPL-2.0-only
/* progress.c: the bytes a terminal (a pseudo-terminal in raw mode, read on
 * its master side) receives for each call, pybpf_warn erasing the line
 * first, nothing at all on a pipe, and the texts of progress_format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "progress.h"

#define READ_TIMEOUT_MS 5000 /* a failure bound only: the bytes are already written */
#define MARK "<end>"
#define LEFT_12 "pybpf-prof: 12 s left, 6 processes traced, 1234567 calls counted"

struct pty {
	int master, slave;
	FILE *f; /* the slave side, what the progress line writes to */
};

static void pty_open(struct pty *t)
{
	struct termios tio;
	const char *name;

	t->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(t->master >= 0);
	assert_int_equal(grantpt(t->master), 0);
	assert_int_equal(unlockpt(t->master), 0);
	name = ptsname(t->master);
	assert_non_null(name);
	t->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(t->slave >= 0);
	/* Raw: bytes pass unchanged ("\n" is not turned into "\r\n"). */
	assert_int_equal(tcgetattr(t->slave, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(t->slave, TCSANOW, &tio), 0);
	t->f = fdopen(dup(t->slave), "w");
	assert_non_null(t->f);
}

static void pty_close(struct pty *t)
{
	fclose(t->f);
	close(t->slave);
	close(t->master);
}

/* Reads from the master exactly what `want` has: the bytes written before
 * MARK (which the test writes last), so nothing else can hide in between. */
static void expect(struct pty *t, const char *want)
{
	size_t n = strlen(want), got = 0;
	char buf[512];

	fputs(MARK, t->f);
	fflush(t->f);
	assert_true(n + strlen(MARK) < sizeof(buf));
	while (got < n + strlen(MARK)) {
		struct pollfd p = { .fd = t->master, .events = POLLIN };
		ssize_t r;

		assert_int_equal(poll(&p, 1, READ_TIMEOUT_MS), 1);
		r = read(t->master, buf + got, n + strlen(MARK) - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	buf[got] = '\0';
	assert_memory_equal(buf, want, n);
	assert_string_equal(buf + n, MARK);
}

static void test_terminal(void **state)
{
	struct progress p;
	struct pty t;

	(void)state;
	pty_open(&t);
	progress_init(&p, t.f);
	assert_true(p.active);
	progress_clear(&p); /* nothing shown: nothing written */
	expect(&t, "");
	progress_show(&p, "pybpf-prof: 12 s left");
	progress_show(&p, "short");
	expect(&t, "\rpybpf-prof: 12 s left\033[K\rshort\033[K");
	progress_clear(&p);
	progress_clear(&p);
	expect(&t, "\r\033[K");
	progress_show(&p, "again");
	progress_end(&p);
	progress_show(&p, "after the end");
	expect(&t, "\ragain\033[K\r\033[K");
	pty_close(&t);
}

/* pybpf_warn erases the line before it writes; the next show redraws. */
static void test_warn_erases(void **state)
{
	int saved = dup(STDERR_FILENO);
	struct progress p;
	struct pty t;

	(void)state;
	pty_open(&t);
	fflush(stderr);
	assert_int_equal(dup2(t.slave, STDERR_FILENO), STDERR_FILENO);
	progress_init(&p, t.f);
	pybpf_warn("first, nothing shown");
	progress_show(&p, "5 s left");
	pybpf_warn("PID %d exited", 42);
	progress_show(&p, "4 s left");
	expect(&t, "pybpf-prof: first, nothing shown\n\r5 s left\033[K\r\033[Kpybpf-prof: PID 42 "
		   "exited\n\r4 s left\033[K");
	progress_end(&p);
	assert_null(pybpf_before_warn);
	pybpf_warn("after");
	expect(&t, "\r\033[Kpybpf-prof: after\n");
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	pty_close(&t);
}

/* The text is cut to the terminal's width less one column, never inside a
 * UTF-8 character. */
static void test_width(void **state)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 10 };
	struct progress p;
	struct pty t;

	(void)state;
	pty_open(&t);
	assert_int_equal(ioctl(t.slave, TIOCSWINSZ, &ws), 0);
	progress_init(&p, t.f);
	progress_show(&p, "pybpf-prof: 12 s left");
	progress_show(&p, "abcdefgh\xc3\xa9xyz");
	progress_show(&p, "123456789");
	expect(&t, "\rpybpf-pro\033[K\rabcdefgh\033[K\r123456789\033[K");
	progress_end(&p);
	expect(&t, "\r\033[K");
	pty_close(&t);
}

/* Not a terminal: nothing is ever written, and pybpf_warn is not hooked. */
static void test_pipe(void **state)
{
	struct progress p;
	int fds[2];
	char buf[64];
	FILE *f;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	f = fdopen(fds[1], "w");
	assert_non_null(f);
	progress_init(&p, f);
	assert_false(p.active);
	assert_null(pybpf_before_warn);
	progress_show(&p, "pybpf-prof: 12 s left");
	progress_clear(&p);
	progress_end(&p);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(read(fds[0], buf, sizeof(buf)), 0);
	close(fds[0]);
}

static void test_format(void **state)
{
	char buf[128];

	(void)state;
	progress_format(buf, sizeof(buf), 12.0, true, 6, 1234567, false);
	assert_string_equal(buf, LEFT_12);
	progress_format(buf, sizeof(buf), 11.2, true, 6, 1234567, false);
	assert_string_equal(buf, LEFT_12);
	progress_format(buf, sizeof(buf), 12.9, false, 1, 1, false);
	assert_string_equal(buf, "pybpf-prof: 12 s so far, 1 process traced, 1 call counted");
	progress_format(buf, sizeof(buf), 3.5, false, 2, 99, true);
	assert_string_equal(buf, "pybpf-prof: 3 s so far, 2 processes sampled, 99 samples");
	progress_format(buf, sizeof(buf), -0.2, true, 0, 1, true);
	assert_string_equal(buf, "pybpf-prof: 0 s left, 0 processes sampled, 1 sample");
	progress_format(buf, 12, 1e300, true, 0, 0, false);
	assert_string_equal(buf, "pybpf-prof:");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_terminal),
		cmocka_unit_test(test_warn_erases),
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_pipe),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
