// SPDX-License-Identifier: GPL-2.0-only
#include "procstate.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int open_pidfd(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* A pidfd turns readable when its process exits. */
static bool exited_within(int pidfd, int timeout_ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

bool process_exited(pid_t pid)
{
	int fd = open_pidfd(pid);
	bool exited;

	if (fd < 0)
		return errno == ESRCH;
	exited = exited_within(fd, PROCESS_EXIT_GRACE_MS);
	close(fd);
	return exited;
}

int process_pidfd(pid_t pid, struct pybpf_err *err)
{
	int fd = open_pidfd(pid);

	if (fd < 0)
		err_set(err, "cannot watch PID %d: %s", pid, strerror(errno));
	return fd;
}

bool pidfd_exited(int pidfd)
{
	return exited_within(pidfd, 0);
}

int process_mem_open(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Whether pid has an address space now: a fresh fd on its memory reads
 * nothing without one (an exiting process has dropped it already). */
static bool has_memory(pid_t pid, uint64_t addr)
{
	int fd = process_mem_open(pid);
	ssize_t n;
	char c;

	if (fd < 0)
		return false;
	n = pread(fd, &c, 1, (off_t)addr);
	if (n < 0 && errno == EIO)
		n = 1; /* a new program without addr mapped, but with memory */
	close(fd);
	return n == 1;
}

bool process_execed(pid_t pid, int mem_fd, uint64_t addr)
{
	char c;

	/* The fd holds the old address space: 0 bytes once it is gone, by an
	 * exec (a new one is there) or while the process exits (none is). */
	return mem_fd >= 0 && pread(mem_fd, &c, 1, (off_t)addr) == 0 && has_memory(pid, addr) &&
	       !process_exited(pid);
}
