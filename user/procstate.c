// SPDX-License-Identifier: GPL-2.0-only
#include "procstate.h"

#include <errno.h>
#include <poll.h>
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
