// SPDX-License-Identifier: GPL-2.0-only
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freeze.h"
#include "procstate.h"
#include "target.h"

/* ld.so maps libpython within its first few hundred system calls. */
#define MAX_SYSCALL_STOPS 100000

static void child_exec(char **cmd, int report_fd)
{
	runloop_unblock_signals(); /* blocked by pybpf-prof, not by the command */
	int e;

	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
		execvp(cmd[0], cmd);
	e = errno;
	if (write(report_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Waits for the next stop; false (status set) once the child is gone. */
static bool wait_stop(pid_t pid, int *status)
{
	while (waitpid(pid, status, __WALL) < 0) {
		if (errno != EINTR)
			return false;
	}
	return WIFSTOPPED(*status);
}

static int gone(pid_t pid, char **cmd, struct pybpf_err *err)
{
	err_set(err, "cannot profile %s (PID %d): it ended before it ran a Python interpreter",
		cmd[0], pid);
	return -1;
}

/* Runs the child on to the next exec, passing on signals it receives. */
static bool run_to_exec(pid_t pid, int *status)
{
	int sig = 0;

	for (;;) {
		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig))
			return false;
		if (!wait_stop(pid, status))
			return false;
		if (*status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)))
			return true;
		sig = WSTOPSIG(*status) == SIGTRAP ? 0 : WSTOPSIG(*status);
	}
}

/* Runs the held child to its next system-call stop, handing it the signal
 * it was stopped for last time; keeps a signal it is stopped for now. */
static int step_syscall(struct launch *l)
{
	int status, sig = l->pending_sig;

	l->pending_sig = 0;
	if (ptrace(PTRACE_SYSCALL, l->pid, NULL, (void *)(long)sig))
		return -errno;
	if (!wait_stop(l->pid, &status))
		return -ESRCH;
	/* System-call stops report SIGTRAP; anything else is a signal for it. */
	if (WSTOPSIG(status) != SIGTRAP)
		l->pending_sig = WSTOPSIG(status);
	return 0;
}

/* A shared-libpython interpreter: step system calls until ld.so maps it. */
static bool run_to_libpython(struct launch *l)
{
	for (int i = 0; i < MAX_SYSCALL_STOPS; i++) {
		if (!python_target__awaits_libpython(l->pid))
			return true;
		if (step_syscall(l))
			return false;
	}
	return false;
}

static pid_t spawn(char **cmd, struct pybpf_err *err)
{
	int pipefd[2], child_errno = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC)) {
		err_set(err, "cannot launch %s: %s", cmd[0], strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0)
		child_exec(cmd, pipefd[1]);
	close(pipefd[1]);
	if (pid < 0) {
		err_set(err, "cannot launch %s: %s", cmd[0], strerror(errno));
		close(pipefd[0]);
		return -1;
	}
	/* EOF means the exec succeeded (the pipe is close-on-exec). */
	if (read(pipefd[0], &child_errno, sizeof(child_errno)) == sizeof(child_errno)) {
		close(pipefd[0]);
		waitpid(pid, NULL, 0);
		err_set(err, "cannot run %s: %s", cmd[0], strerror(child_errno));
		return -1;
	}
	close(pipefd[0]);
	return pid;
}

int launch_start(char **cmd, struct launch *l, struct pybpf_err *err)
{
	int status;
	pid_t pid = spawn(cmd, err);

	memset(l, 0, sizeof(*l));
	if (pid < 0)
		return -1;
	l->pid = pid;
	if (!wait_stop(pid, &status))
		return gone(pid, cmd, err);
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)(PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL));
	while (!python_target__is_python_exe(pid)) {
		if (!run_to_exec(pid, &status))
			return gone(pid, cmd, err);
	}
	if (!run_to_libpython(l))
		return gone(pid, cmd, err);
	return 0;
}

int launch_step(struct launch *l)
{
	return step_syscall(l);
}

int launch_resume(struct launch *l)
{
	return ptrace(PTRACE_DETACH, l->pid, NULL, (void *)(long)l->pending_sig) ? -errno : 0;
}

int launch_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

int launch_wait(pid_t pid)
{
	const struct timespec pause = { 0, 10000000 };
	int status = 0;
	pid_t r;

	for (;;) {
		/* A thread of the child that a freeze gave up on may stop meanwhile
		 * (freeze.h): it must be let go, or the child may never end. */
		freeze_settle();
		r = waitpid(pid, &status, freeze_has_stragglers() ? WNOHANG : 0);
		if (r < 0 && errno != EINTR)
			return 1;
		if (r == 0)
			nanosleep(&pause, NULL);
		else if (r == pid && WIFSTOPPED(status))
			freeze_let_go(pid, status);
		else if (r == pid)
			return launch_exit_code(status);
	}
}

int launch_run(char **cmd, const struct launch_ops *ops, void *ctx)
{
	struct pybpf_err err = { { 0 } };
	struct launch l;
	int ret;

	/* A command that never runs Python is a failure to profile, whatever its status. */
	if (launch_start(cmd, &l, &err)) {
		pybpf_warn("%s", err.msg);
		return PYBPF_EXIT_FAIL;
	}
	if (ops->start(ctx, &l, &err)) {
		if (process_exited(l.pid))
			err_set(&err, "cannot profile %s (PID %d): it exited while pybpf-prof was "
				      "attaching", cmd[0], l.pid);
		pybpf_warn("%s", err.msg);
		ops->cleanup(ctx);
		kill(l.pid, SIGKILL);
		launch_wait(l.pid);
		return PYBPF_EXIT_FAIL;
	}
	launch_resume(&l);
	if (ops->run(ctx) == STOP_SIGTERM)
		kill(l.pid, SIGTERM);
	ret = ops->finish(ctx);
	/* The report is out: a further Ctrl-C may end pybpf-prof while it waits. */
	runloop_unblock_signals();
	ops->cleanup(ctx);
	int child = launch_wait(l.pid);
	return ret ? ret : child;
}
