// SPDX-License-Identifier: GPL-2.0-only
#include "evalhook.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "freeze.h"
#include "offsets.h"
#include "testpoint.h"

#define GET_EVAL_FRAME "_PyInterpreterState_GetEvalFrameFunc"
#define EVAL_DEFAULT "_PyEval_EvalFrameDefault"
#define PERF_TRAMPOLINE "py_trampoline_evaluator" /* static: only in unstripped builds */

#define MSG_READY 'R' /* guardian -> us: armed */
#define MSG_DONE 'D'  /* us -> guardian: hook removed, exit without touching memory */

int evalhook_offset_from_code(const uint8_t *code, size_t n, uint32_t *offset)
{
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	uint32_t disp;
	size_t i = 0;

	if (n >= sizeof(endbr64) && !memcmp(code, endbr64, sizeof(endbr64)))
		i = sizeof(endbr64);
	/* REX.W 8b /r with ModRM reg=rax, rm=rdi: 0x87 disp32, 0x47 disp8. */
	if (n - i < 4 || code[i] != 0x48 || code[i + 1] != 0x8b)
		return -ENOENT;
	if (code[i + 2] == 0x87 && n - i >= 7) {
		disp = (uint32_t)code[i + 3] | (uint32_t)code[i + 4] << 8 |
		       (uint32_t)code[i + 5] << 16 | (uint32_t)code[i + 6] << 24;
		if (disp & 0x80000000u)
			return -ENOENT;
	} else if (code[i + 2] == 0x47) {
		if (code[i + 3] & 0x80)
			return -ENOENT;
		disp = code[i + 3];
	} else {
		return -ENOENT;
	}
	/* A pointer field: never first in the struct, always 8-aligned. */
	if (!disp || disp % 8)
		return -ENOENT;
	*offset = disp;
	return 0;
}

int evalhook_offset_from_elf(struct elf_file *ef, uint32_t *offset)
{
	uint8_t code[16];
	uint64_t addr, size = 0;
	size_t n = sizeof(code);
	int ret;

	if (elf_file__symbol(ef, GET_EVAL_FRAME, &addr, &size))
		return -ENOENT;
	if (size && size < n)
		n = (size_t)size;
	ret = elf_file__read_vaddr(ef, addr, code, n);
	if (ret)
		return ret;
	return evalhook_offset_from_code(code, n, offset);
}

/* 0, -ESRCH when the target's memory is gone (a /proc/PID/mem fd reads
 * nothing once its process has exited or exec'ed), or -errno. */
static int mem_read_u64(int fd, uint64_t addr, uint64_t *v)
{
	ssize_t n = pread(fd, v, sizeof(*v), (off_t)addr);

	if (n == (ssize_t)sizeof(*v))
		return 0;
	return n < 0 ? -errno : -ESRCH;
}

static int mem_write_u64(int fd, uint64_t addr, uint64_t v)
{
	ssize_t n = pwrite(fd, &v, sizeof(v), (off_t)addr);

	if (n == (ssize_t)sizeof(v))
		return 0;
	return n < 0 ? -errno : -ESRCH;
}

/* Writes v at addr with every thread of pid in a ptrace stop (freeze.h):
 * a write to /proc/PID/mem is a kernel copy, not one guaranteed 8-byte
 * store, so a thread reading the field meanwhile could see half of each
 * value. Threads that cannot be stopped (one under a debugger) are not. */
static int write_still(pid_t pid, int fd, uint64_t addr, uint64_t v)
{
	struct freeze f = { 0 };
	int ret;

	freeze_process(&f, pid);
	ret = mem_write_u64(fd, addr, v);
	freeze_release(&f);
	return ret;
}

/* NULL back into the field if it holds our value: 1 if written, 0 if it
 * was NULL already, -EBUSY if it holds another value, or -errno. Checked
 * again with the target still, so that a hook it sets meanwhile stays. */
static int restore_if_ours(pid_t pid, int fd, uint64_t field, uint64_t value)
{
	struct freeze f = { 0 };
	uint64_t cur;
	int ret = mem_read_u64(fd, field, &cur);

	if (ret)
		return ret;
	if (cur == 0)
		return 0;
	if (cur != value)
		return -EBUSY;
	freeze_process(&f, pid);
	ret = mem_read_u64(fd, field, &cur);
	if (!ret && cur != value)
		ret = cur ? -EBUSY : 0;
	else if (!ret && !(ret = mem_write_u64(fd, field, 0)))
		ret = 1;
	freeze_release(&f);
	return ret;
}

/* ---- the guardian (a forked child of single-threaded pybpf-prof: libc is
 * usable there, malloc included) ---- */

static void close_fds(unsigned int lo, unsigned int hi, long max_fd)
{
	if (lo > hi)
		return;
	if (!close_range(lo, hi, 0) || errno != ENOSYS)
		return;
	for (long fd = lo; fd <= (long)hi && fd < max_fd; fd++)
		close((int)fd);
}

/* fd itself, or a copy of it at 3 or above so that stdio can be replaced. */
static int above_stdio(int fd)
{
	return fd > STDERR_FILENO ? fd : fcntl(fd, F_DUPFD, STDERR_FILENO + 1);
}

static void guardian_detach(int *sock, int *mem_fd, long max_fd)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP,
				       SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2 };
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigset_t none;
	int null_fd;

	/* Out of pybpf-prof's process group and terminal: a kill of the group
	 * (Ctrl-C, a test harness) must not take the guardian with it. */
	setsid();
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, EVALHOOK_GUARD_NAME, 0, 0, 0);

	/* Keep only the socket and the target's memory; stdio on /dev/null, so
	 * that nobody waiting for pybpf-prof's output waits for us too. */
	*sock = above_stdio(*sock);
	*mem_fd = above_stdio(*mem_fd);
	if (*sock < 0 || *mem_fd < 0)
		return;
	null_fd = open("/dev/null", O_RDWR);
	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		if (null_fd < 0)
			close(fd);
		else if (null_fd != fd)
			dup2(null_fd, fd);
	}
	int lo = *sock < *mem_fd ? *sock : *mem_fd, hi = *sock < *mem_fd ? *mem_fd : *sock;
	close_fds(STDERR_FILENO + 1, (unsigned int)lo - 1, max_fd);
	close_fds((unsigned int)lo + 1, (unsigned int)hi - 1, max_fd);
	close_fds((unsigned int)hi + 1, ~0u, max_fd);
}

static _Noreturn void guardian_main(int sock, pid_t pid, int mem_fd, uint64_t field,
				    uint64_t value, long max_fd)
{
	char c = MSG_READY;
	ssize_t n;

	guardian_detach(&sock, &mem_fd, max_fd);
	if (sock < 0 || mem_fd < 0)
		_exit(EVALHOOK_GUARD_GONE); /* seen as a failed start: nothing was written */
	if (write(sock, &c, 1) != 1)
		_exit(EVALHOOK_GUARD_DONE); /* nobody to guard for: nothing was written */
	/* EOF (or an error) means pybpf-prof is gone, however it went. */
	for (;;) {
		n = read(sock, &c, 1);
		if (n == 1 && c == MSG_DONE)
			_exit(EVALHOOK_GUARD_DONE);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	switch (restore_if_ours(pid, mem_fd, field, value)) {
	case 1:
		_exit(EVALHOOK_GUARD_RESTORED);
	case 0: /* someone cleared it already */
	case -EBUSY:
		_exit(EVALHOOK_GUARD_NOT_OURS);
	default:
		_exit(EVALHOOK_GUARD_GONE);
	}
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Tells the guardian we are done (it exits without touching memory), reaps it. */
static void guardian_stop(struct evalhook *h)
{
	char c = MSG_DONE;

	if (h->guard_fd >= 0) {
		/* A socket, so that a dead guardian gives EPIPE, not SIGPIPE. */
		(void)send(h->guard_fd, &c, 1, MSG_NOSIGNAL);
		close(h->guard_fd);
		h->guard_fd = -1;
	}
	if (h->guard_pid > 0)
		reap(h->guard_pid);
	h->guard_pid = 0;
}

/* Forks the guardian and waits until it is armed. 0 or -errno. */
static int guardian_start(struct evalhook *h)
{
	long max_fd = sysconf(_SC_OPEN_MAX);
	int sv[2];
	pid_t pid;
	char c;
	ssize_t n;

	if (max_fd < 0)
		max_fd = 1024;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int ret = -errno;
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	if (pid == 0)
		guardian_main(sv[1], h->pid, h->mem_fd, h->field, h->value, max_fd);
	close(sv[1]);
	h->guard_fd = sv[0];
	h->guard_pid = pid;
	do
		n = read(h->guard_fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && c == MSG_READY)
		return 0;
	guardian_stop(h);
	return -ECHILD;
}

/* ---- install and remove ---- */

static void describe_hook(struct elf_file *ef, const struct python_target *t, uint64_t cur,
			  char *out, size_t n)
{
	uint64_t sym;

	if (!elf_file__symbol(ef, EVAL_DEFAULT, &sym, NULL) && cur == sym + t->bias)
		snprintf(out, n, "%s, as pybpf-prof sets it: is another pybpf-prof tracing it?",
			 EVAL_DEFAULT);
	else if (!elf_file__symbol(ef, PERF_TRAMPOLINE, &sym, NULL) && cur == sym + t->bias)
		snprintf(out, n, "the perf trampoline (-X perf, PYTHONPERFSUPPORT=1 or "
				 "sys.activate_stack_trampoline)");
	else
		snprintf(out, n, "another PEP 523 hook (0x%lx), from -X perf, a debugger or "
				 "another profiler", (unsigned long)cur);
}

static void close_hook(struct evalhook *h)
{
	if (h->mem_fd >= 0)
		close(h->mem_fd);
	h->mem_fd = -1;
	h->installed = false;
}

int evalhook__install(const struct python_target *t, struct evalhook *h, struct pybpf_err *err)
{
	const struct pybpf_offsets *off = offsets_for(t->major, t->minor);
	struct elf_file *ef = NULL;
	uint64_t sym, interp, cur;
	char path[64], what[256];
	int ret;

	memset(h, 0, sizeof(*h));
	h->pid = t->pid;
	h->mem_fd = h->guard_fd = -1;
	if (t->major != 3 || t->minor < 11) {
		err_set(err, "PID %d: CPython %s needs no eval-frame hook: every frame already "
			     "goes through %s", t->pid, t->version, EVAL_DEFAULT);
		return -EOPNOTSUPP;
	}
	if (!off || off->runtime_interp_main == PYBPF_NO_OFFSET) {
		err_set(err, "cannot set the eval-frame hook in PID %d: CPython %s is not supported",
			t->pid, t->version);
		return -EOPNOTSUPP;
	}

	/* The field's offset and the value, from the interpreter file. */
	ef = python_target__open_elf(t);
	if (!ef) {
		ret = -errno;
		err_set(err, "cannot read %s of PID %d: %s", t->binary, t->pid, strerror(-ret));
		return ret;
	}
	ret = elf_file__symbol(ef, EVAL_DEFAULT, &sym, NULL);
	if (ret) {
		err_set(err, "cannot set the eval-frame hook in PID %d: %s has no %s symbol", t->pid,
			t->binary, EVAL_DEFAULT);
		goto out;
	}
	h->value = sym + t->bias;
	ret = evalhook_offset_from_elf(ef, &h->offset);
	if (ret) {
		err_set(err, "cannot find the eval_frame field of CPython %s in %s: %s", t->version,
			t->binary, ret == -ENOENT ? GET_EVAL_FRAME " is missing or does not start "
			"with a load from the interpreter state" : strerror(-ret));
		goto out;
	}

	/* The main interpreter and its eval_frame, in the target. */
	snprintf(path, sizeof(path), "/proc/%d/mem", t->pid);
	h->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (h->mem_fd < 0) {
		ret = -errno;
		err_set(err, "cannot open the memory of PID %d for writing: %s%s", t->pid,
			strerror(-ret), ret == -EACCES || ret == -EPERM ? " (needs root)" : "");
		goto out;
	}
	ret = mem_read_u64(h->mem_fd, t->runtime_addr + off->runtime_interp_main, &interp);
	if (!ret && !interp)
		ret = -EAGAIN;
	if (!ret) {
		h->field = interp + h->offset;
		ret = mem_read_u64(h->mem_fd, h->field, &cur);
	}
	if (ret == -EAGAIN) {
		err_set(err, "cannot set the eval-frame hook in PID %d: its interpreter is not "
			     "initialised yet", t->pid);
		goto out;
	}
	if (ret) {
		err_set(err, "cannot read the interpreter state of PID %d: %s", t->pid,
			ret == -ESRCH ? "the process has exited" : strerror(-ret));
		goto out;
	}
	if (cur) {
		describe_hook(ef, t, cur, what, sizeof(what));
		err_set(err, "cannot set the eval-frame hook in PID %d: its eval_frame is already "
			     "set to %s; leaving it alone", t->pid, what);
		ret = -EBUSY;
		goto out;
	}

	/* Guardian first: from the write on, someone puts NULL back. */
	ret = guardian_start(h);
	if (ret) {
		err_set(err, "cannot start the guardian of the eval-frame hook: %s",
			ret == -ECHILD ? "it exited at once" : strerror(-ret));
		goto out;
	}
	testpoint("hook");
	ret = write_still(h->pid, h->mem_fd, h->field, h->value);
	if (ret) {
		guardian_stop(h);
		err_set(err, "cannot write to the memory of PID %d: %s", t->pid,
			ret == -ESRCH ? "the process has exited" : strerror(-ret));
		goto out;
	}
	h->installed = true;
out:
	if (ret)
		close_hook(h);
	elf_file__close(ef);
	return ret;
}

int evalhook__remove(struct evalhook *h)
{
	int ret;

	if (!h->installed)
		return 0;
	ret = restore_if_ours(h->pid, h->mem_fd, h->field, h->value);
	if (ret > 0 || ret == -ESRCH)
		ret = 0; /* restored, or the target is gone: nothing to restore */
	guardian_stop(h);
	close_hook(h);
	return ret;
}

int evalhook__adopt(const struct evalhook *parent, pid_t child, struct evalhook *h,
		    struct pybpf_err *err)
{
	char path[64];
	uint64_t cur;
	int ret;

	memset(h, 0, sizeof(*h));
	h->pid = child;
	h->mem_fd = h->guard_fd = -1;
	h->offset = parent->offset;
	h->field = parent->field;
	h->value = parent->value;
	snprintf(path, sizeof(path), "/proc/%d/mem", child);
	h->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (h->mem_fd < 0) {
		ret = -errno;
		err_set(err, "cannot open the memory of PID %d: %s", child, strerror(-ret));
		return ret;
	}
	/* A child that exec'ed since, or set its own hook, holds something else. */
	ret = mem_read_u64(h->mem_fd, h->field, &cur);
	if (!ret && cur != h->value)
		ret = -ENOENT;
	if (!ret)
		ret = guardian_start(h);
	if (ret) {
		err_set(err, "cannot take over the eval-frame hook of PID %d: %s", child,
			ret == -ENOENT ? "it no longer holds ours" : strerror(-ret));
		close_hook(h);
		return ret;
	}
	h->installed = true;
	return 0;
}
