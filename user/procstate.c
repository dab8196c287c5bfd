// SPDX-License-Identifier: GPL-2.0-only
#include "procstate.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

bool process_exited(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p;
	bool exited;

	if (fd < 0)
		return errno == ESRCH;
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	exited = poll(&p, 1, 0) == 1;
	close(fd);
	return exited;
}

int process_mem_open(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

bool process_execed(pid_t pid, int mem_fd, uint64_t addr)
{
	char c;

	/* The fd holds the old address space: 0 bytes once it is gone. */
	return mem_fd >= 0 && pread(mem_fd, &c, 1, (off_t)addr) == 0 && !process_exited(pid);
}
