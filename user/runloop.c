// SPDX-License-Identifier: GPL-2.0-only
#include "runloop.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "freeze.h"

static void stop_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGTERM);
}

void runloop_block_signals(void)
{
	sigset_t mask;

	stop_signals(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);
}

void runloop_unblock_signals(void)
{
	sigset_t mask;

	stop_signals(&mask);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
}

static struct timespec timespec_of_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	if (!ts.tv_sec && !ts.tv_nsec)
		ts.tv_nsec = 1;
	return ts;
}

static int timer_fd(uint64_t first_ns, uint64_t period_ns)
{
	struct itimerspec its = { .it_value = timespec_of_ns(first_ns) };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (period_ns)
		its.it_interval = timespec_of_ns(period_ns);
	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL)) {
		close(fd);
		return -1;
	}
	return fd;
}

int runloop_open(struct runloop *r, int target_pidfd, double duration)
{
	sigset_t mask;

	for (int i = 0; i < RUNLOOP_NFDS; i++)
		r->fds[i] = (struct pollfd){ .fd = -1, .events = POLLIN };
	stop_signals(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	r->fds[RUNLOOP_SIGNALS].fd = signalfd(-1, &mask, SFD_CLOEXEC);
	r->fds[RUNLOOP_TARGET].fd = target_pidfd;
	if (duration > 0)
		r->fds[RUNLOOP_DURATION].fd = timer_fd((uint64_t)(duration * 1e9), 0);
	if (r->fds[RUNLOOP_SIGNALS].fd < 0 || (duration > 0 && r->fds[RUNLOOP_DURATION].fd < 0))
		return -1;
	return 0;
}

int runloop_set_tick(struct runloop *r, uint64_t period_ns)
{
	r->fds[RUNLOOP_TICK].fd = timer_fd(period_ns, period_ns);
	return r->fds[RUNLOOP_TICK].fd < 0 ? -1 : 0;
}

void runloop_watch(struct runloop *r, int fd)
{
	r->fds[RUNLOOP_EXTRA].fd = fd;
}

bool runloop_extra_ready(const struct runloop *r)
{
	return r->fds[RUNLOOP_EXTRA].fd >= 0 && r->fds[RUNLOOP_EXTRA].revents;
}

static enum stop_reason read_signal(int fd)
{
	struct signalfd_siginfo si;
	ssize_t got = read(fd, &si, sizeof(si));

	return got == sizeof(si) && si.ssi_signo == SIGTERM ? STOP_SIGTERM : STOP_SIGINT;
}

enum stop_reason runloop_wait(struct runloop *r, uint64_t *expirations)
{
	int woke;

	*expirations = 0;
	/* A thread a freeze gave up on stops later: let it go within 10 ms. */
	while ((woke = poll(r->fds, RUNLOOP_NFDS, freeze_has_stragglers() ? 10 : -1)) <= 0) {
		if (woke < 0 && errno != EINTR)
			return STOP_ERROR;
		freeze_settle();
	}
	freeze_settle();
	if (r->fds[RUNLOOP_SIGNALS].revents)
		return read_signal(r->fds[RUNLOOP_SIGNALS].fd);
	if (r->fds[RUNLOOP_TARGET].revents)
		return STOP_TARGET_EXIT;
	if (r->fds[RUNLOOP_DURATION].revents)
		return STOP_DURATION;
	if (r->fds[RUNLOOP_TICK].revents &&
	    read(r->fds[RUNLOOP_TICK].fd, expirations, sizeof(*expirations)) != sizeof(*expirations))
		*expirations = 0;
	return STOP_NONE;
}

void runloop_close(struct runloop *r)
{
	r->fds[RUNLOOP_EXTRA].fd = r->fds[RUNLOOP_TARGET].fd = -1; /* not ours */
	for (int i = 0; i < RUNLOOP_NFDS; i++) {
		if (r->fds[i].fd >= 0)
			close(r->fds[i].fd);
		r->fds[i].fd = -1;
	}
}
