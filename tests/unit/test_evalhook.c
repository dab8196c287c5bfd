// SPDX-License-Identifier: GPL-2.0-only
/* evalhook.c: the eval_frame offset decoder on byte arrays, on a fixture and
 * on every CPython 3.11+ found here (against the reference note's table);
 * install, remove, refusals and the guardian against a fake interpreter in
 * memory (this process, or a forked copy of it: no root needed); and, as
 * root, the same against real CPython processes, asking each one whether
 * its calls still specialize (PEP 523 active stops CALL_PY_EXACT_ARGS). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evalhook.h"
#include "offsets.h"
#include "target.h"

#define FIXTURE FIXTURE_DIR "/evalhook_fixture"
#define PLAIN_FIXTURE FIXTURE_DIR "/plain_fixture"
#define FIXTURE_OFFSET 0x1238 /* the disp32 of its _PyInterpreterState_GetEvalFrameFunc */
#define FOREIGN_HOOK 0x1234   /* someone else's eval_frame (never run: see the callers) */

/* ---- helpers ---- */

static uint64_t peek(pid_t pid, uint64_t addr)
{
	uint64_t v = 0;
	int ret = python_target__read(pid, addr, &v, sizeof(v));

	if (ret)
		fail_msg("cannot read 0x%lx in PID %d: %s", (unsigned long)addr, pid, strerror(-ret));
	return v;
}

static void poke(pid_t pid, uint64_t addr, uint64_t v)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &v, sizeof(v), (off_t)addr), sizeof(v));
	close(fd);
}

static uint64_t fixture_symbol(const char *path, const char *name)
{
	struct elf_file *ef = elf_file__open(path);
	uint64_t v = 0;

	assert_non_null(ef);
	if (elf_file__symbol(ef, name, &v, NULL))
		fail_msg("no %s in %s", name, path);
	elf_file__close(ef);
	return v;
}

static void read_proc_line(pid_t pid, const char *file, const char *key, char *out, size_t n)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	f = fopen(path, "re");
	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	out[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, strlen(key))) {
			snprintf(out, n, "%s", line + strlen(key));
			out[strcspn(out, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
}

/* What the guardian must look like: named, in its own session, child of
 * parent, deaf to terminal and kill signals, holding only /dev/null on
 * stdio, its socket and the target's memory. */
static void check_guardian(pid_t g, pid_t parent, pid_t target)
{
	char buf[256], path[320], link[PATH_MAX], want[64];
	unsigned long long ign = 0;
	int ppid = 0, sockets = 0, mems = 0, others = 0;
	struct dirent *e;
	DIR *d;

	assert_true(g > 0);
	read_proc_line(g, "comm", "", buf, sizeof(buf));
	assert_string_equal(buf, EVALHOOK_GUARD_NAME);
	assert_int_equal(getsid(g), g);
	read_proc_line(g, "status", "PPid:", buf, sizeof(buf));
	assert_int_equal(sscanf(buf, "%d", &ppid), 1);
	assert_int_equal(ppid, parent);
	read_proc_line(g, "status", "SigIgn:", buf, sizeof(buf));
	assert_int_equal(sscanf(buf, "%llx", &ign), 1);
	assert_true(ign & (1ull << (SIGHUP - 1)));
	assert_true(ign & (1ull << (SIGINT - 1)));
	assert_true(ign & (1ull << (SIGTERM - 1)));
	assert_true(ign & (1ull << (SIGPIPE - 1)));

	snprintf(path, sizeof(path), "/proc/%d/fd", g);
	snprintf(want, sizeof(want), "/proc/%d/mem", target);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", g, e->d_name);
		ssize_t len = readlink(path, link, sizeof(link) - 1);
		assert_true(len > 0);
		link[len] = '\0';
		int fd = atoi(e->d_name);
		if (fd <= STDERR_FILENO) {
			if (strcmp(link, "/dev/null"))
				fail_msg("guardian fd %d is %s, not /dev/null", fd, link);
		} else if (!strncmp(link, "socket:", 7)) {
			sockets++;
		} else if (!strcmp(link, want)) {
			mems++;
		} else {
			others++;
			print_message("guardian fd %d: %s\n", fd, link);
		}
	}
	closedir(d);
	assert_int_equal(sockets, 1);
	assert_int_equal(mems, 1);
	assert_int_equal(others, 0);
}

/* The exit status of the guardian, which must be our child by now. */
static int guard_status(pid_t g)
{
	int status = 0;
	pid_t r;

	while ((r = waitpid(g, &status, 0)) < 0 && errno == EINTR)
		;
	if (r != g)
		fail_msg("guardian %d is not our child: %s", g, strerror(errno));
	if (!WIFEXITED(status))
		fail_msg("guardian %d ended by signal %d", g, WTERMSIG(status));
	return WEXITSTATUS(status);
}

static void assert_reaped(pid_t g)
{
	assert_int_equal(waitpid(g, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* A stand-in for pybpf-prof: a forked process that installs the hook into
 * t, reports, and then waits to be killed or to exit without removing it. */
struct helper {
	pid_t pid, guard;
	int ctl, ret;
	char msg[512];
};

static void helper_start(const struct python_target *t, struct helper *hp)
{
	int rep[2], hold[2];
	pid_t pid;

	assert_int_equal(pipe2(rep, O_CLOEXEC), 0);
	assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct pybpf_err err = { "" };
		struct evalhook h;
		struct helper out = { 0 };
		char c;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(rep[0]);
		close(hold[1]);
		out.ret = evalhook__install(t, &h, &err);
		out.guard = h.guard_pid;
		snprintf(out.msg, sizeof(out.msg), "%s", err.msg);
		if (write(rep[1], &out, sizeof(out)) != sizeof(out))
			_exit(1);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0); /* no evalhook__remove: as if pybpf-prof forgot */
	}
	close(rep[1]);
	close(hold[0]);
	memset(hp, 0, sizeof(*hp));
	assert_int_equal(read(rep[0], hp, sizeof(*hp)), sizeof(*hp));
	close(rep[0]);
	hp->pid = pid;
	hp->ctl = hold[1];
}

/* Ends the helper (SIGKILL, or a plain exit) and returns its guardian's status. */
static int helper_end(struct helper *hp, bool sigkill)
{
	int status;

	if (sigkill)
		kill(hp->pid, SIGKILL);
	close(hp->ctl);
	assert_int_equal(waitpid(hp->pid, &status, 0), hp->pid);
	if (sigkill)
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	else
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The orphaned guardian is reparented to us (a subreaper) before the
	 * helper can be reaped, so this wait is the synchronisation. */
	return guard_status(hp->guard);
}

/* ---- the decoder ---- */

struct code_case {
	const char *what;
	uint8_t code[16];
	size_t n;     /* bytes given */
	size_t len;   /* bytes the instructions need (good cases) */
	uint32_t want;
};

static void test_decode_good(void **state)
{
	static const struct code_case good[] = {
		{ "disp32 (Debian 3.11)", { 0x48, 0x8b, 0x87, 0x90, 0x05, 0x00, 0x00 }, 7, 7, 0x590 },
		{ "disp32, code after (pyenv 3.12)",
		  { 0x48, 0x8b, 0x87, 0xd0, 0x06, 0x00, 0x00, 0x48, 0x85, 0xc0, 0x74, 0x04 }, 12, 7,
		  0x6d0 },
		{ "endbr64 + disp32 (sid 3.14)",
		  { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x8b, 0x87, 0x48, 0x21, 0x00, 0x00, 0xba }, 12, 11,
		  0x2148 },
		{ "disp32, all four bytes", { 0x48, 0x8b, 0x87, 0x08, 0x34, 0x12, 0x01 }, 7, 7,
		  0x01123408 },
		{ "disp8", { 0x48, 0x8b, 0x47, 0x40 }, 4, 4, 0x40 },
		{ "endbr64 + disp8", { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x8b, 0x47, 0x78, 0xc3 }, 9, 8,
		  0x78 },
	};
	uint32_t off;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const struct code_case *c = &good[i];
		for (size_t n = c->len; n <= c->n; n++) {
			off = 0xdead;
			if (evalhook_offset_from_code(c->code, n, &off))
				fail_msg("%s (%zu bytes): not decoded", c->what, n);
			if (off != c->want)
				fail_msg("%s: 0x%x, want 0x%x", c->what, off, c->want);
		}
		/* One byte short: refused, and nothing written. */
		off = 0xdead;
		assert_int_equal(evalhook_offset_from_code(c->code, c->len - 1, &off), -ENOENT);
		assert_int_equal(off, 0xdead);
	}
}

static void test_decode_garbage(void **state)
{
	static const struct code_case bad[] = {
		{ "nothing", { 0 }, 0, 0, 0 },
		{ "endbr64 alone", { 0xf3, 0x0f, 0x1e, 0xfa }, 4, 0, 0 },
		{ "push %rbp first", { 0x55, 0x48, 0x8b, 0x87, 0x90, 0x05, 0x00, 0x00 }, 8, 0, 0 },
		{ "32-bit load", { 0x8b, 0x87, 0x90, 0x05, 0x00, 0x00, 0xc3 }, 7, 0, 0 },
		{ "into %rdx", { 0x48, 0x8b, 0x97, 0x90, 0x05, 0x00, 0x00 }, 7, 0, 0 },
		{ "from %rsi", { 0x48, 0x8b, 0x86, 0x90, 0x05, 0x00, 0x00 }, 7, 0, 0 },
		{ "into %r8", { 0x4c, 0x8b, 0x87, 0x90, 0x05, 0x00, 0x00 }, 7, 0, 0 },
		{ "from %r15", { 0x49, 0x8b, 0x87, 0x90, 0x05, 0x00, 0x00 }, 7, 0, 0 },
		{ "lea", { 0x48, 0x8d, 0x87, 0x90, 0x05, 0x00, 0x00 }, 7, 0, 0 },
		{ "store", { 0x48, 0x89, 0x87, 0x90, 0x05, 0x00, 0x00 }, 7, 0, 0 },
		{ "RIP-relative", { 0x48, 0x8b, 0x05, 0x90, 0x05, 0x00, 0x00 }, 7, 0, 0 },
		{ "no displacement", { 0x48, 0x8b, 0x07, 0xc3 }, 4, 0, 0 },
		{ "zero disp8", { 0x48, 0x8b, 0x47, 0x00 }, 4, 0, 0 },
		{ "negative disp8", { 0x48, 0x8b, 0x47, 0xf8 }, 4, 0, 0 },
		{ "negative disp32", { 0x48, 0x8b, 0x87, 0xf8, 0xff, 0xff, 0xff }, 7, 0, 0 },
		{ "misaligned disp32", { 0x48, 0x8b, 0x87, 0x91, 0x05, 0x00, 0x00 }, 7, 0, 0 },
		{ "misaligned disp8", { 0x48, 0x8b, 0x47, 0x44 }, 4, 0, 0 },
		{ "endbr32", { 0xf3, 0x0f, 0x1e, 0xfb, 0x48, 0x8b, 0x87, 0x90, 0x05, 0x00, 0x00 },
		  11, 0, 0 },
		{ "two endbr64", { 0xf3, 0x0f, 0x1e, 0xfa, 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x8b, 0x87,
				   0x90, 0x05, 0x00, 0x00 }, 15, 0, 0 },
		{ "jmp", { 0xe9, 0x10, 0x20, 0x30, 0x00, 0x48, 0x8b, 0x87 }, 8, 0, 0 },
		{ "all ones", { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				0xff, 0xff, 0xff, 0xff, 0xff }, 16, 0, 0 },
	};
	uint32_t off = 0xdead;

	(void)state;
	assert_int_equal(evalhook_offset_from_code(NULL, 0, &off), -ENOENT);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t n = 0; n <= bad[i].n; n++) {
			if (evalhook_offset_from_code(bad[i].code, n, &off) != -ENOENT)
				fail_msg("%s (%zu bytes) decoded as 0x%x", bad[i].what, n, off);
		}
	}
	assert_int_equal(off, 0xdead);
}

static void test_decode_fixture(void **state)
{
	struct elf_file *ef;
	uint32_t off = 0;

	(void)state;
	ef = elf_file__open(FIXTURE);
	assert_non_null(ef);
	assert_int_equal(evalhook_offset_from_elf(ef, &off), 0);
	assert_int_equal(off, FIXTURE_OFFSET);
	elf_file__close(ef);
	ef = elf_file__open(PLAIN_FIXTURE);
	assert_non_null(ef);
	off = 0xdead;
	assert_int_equal(evalhook_offset_from_elf(ef, &off), -ENOENT);
	assert_int_equal(off, 0xdead);
	elf_file__close(ef);
}

/* ---- the interpreters on this machine ---- */

enum where { HOST, PYENV, SID };

struct interp {
	const char *test_name;
	enum where where;
	const char *version; /* pyenv's directory name */
	int minor;
	uint32_t eval_frame; /* the reference note, §1b */
};

static const struct interp interps[] = {
	{ "real_debian_python3.11", HOST, NULL, 11, 0x590 },
	{ "real_pyenv_3.11.7", PYENV, "3.11.7", 11, 0x590 },
	{ "real_pyenv_3.12.1", PYENV, "3.12.1", 12, 0x6d0 },
	{ "real_pyenv_3.13.0", PYENV, "3.13.0", 13, 0x2118 },
	{ "real_sid_python3.13", SID, NULL, 13, 0x2118 },
	{ "real_sid_python3.14", SID, NULL, 14, 0x2148 },
	{ "real_sid_python3.15", SID, NULL, 15, 0x2118 },
};

struct interp_paths {
	char root[256]; /* chroot to run it in, or "" */
	char exe[512];  /* inside root */
	char file[1024]; /* the file with the symbols, from here */
};

static bool interp_find(const struct interp *ip, struct interp_paths *p)
{
	const char *env, *home;
	char dir[128], exe_here[1024];

	memset(p, 0, sizeof(*p));
	switch (ip->where) {
	case HOST:
		snprintf(p->exe, sizeof(p->exe), "/usr/bin/python3.%d", ip->minor);
		snprintf(p->file, sizeof(p->file), "%s", p->exe);
		break;
	case PYENV:
		env = getenv("PYENV_ROOT");
		home = getenv("HOME");
		if (env && *env)
			snprintf(dir, sizeof(dir), "%s", env);
		else
			snprintf(dir, sizeof(dir), "%s/.pyenv", home && *home ? home : "/root");
		snprintf(p->exe, sizeof(p->exe), "%s/versions/%s/bin/python3.%d", dir, ip->version,
			 ip->minor);
		snprintf(p->file, sizeof(p->file), "%s/versions/%s/lib/libpython3.%d.so.1.0", dir,
			 ip->version, ip->minor);
		break;
	case SID:
		env = getenv("PYBPF_INTERP_DIR");
		snprintf(p->root, sizeof(p->root), "%s/sid",
			 env && *env ? env : "/var/lib/pybpf-prof/interp");
		snprintf(p->exe, sizeof(p->exe), "/usr/bin/python3.%d", ip->minor);
		snprintf(p->file, sizeof(p->file), "%s%s", p->root, p->exe);
		break;
	}
	snprintf(exe_here, sizeof(exe_here), "%s%s", p->root, p->exe);
	return !access(exe_here, X_OK) && !access(p->file, R_OK);
}

/* The offset decoded from each interpreter file here, against the table. */
static void test_decode_interpreters(void **state)
{
	struct interp_paths p;
	int found = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(interps) / sizeof(interps[0]); i++) {
		struct elf_file *ef;
		uint32_t off = 0;

		if (!interp_find(&interps[i], &p))
			continue;
		ef = elf_file__open(p.file);
		assert_non_null(ef);
		if (evalhook_offset_from_elf(ef, &off))
			fail_msg("%s: no eval_frame offset decoded", p.file);
		elf_file__close(ef);
		print_message("    %-24s eval_frame at 0x%x (%s)\n", interps[i].test_name + 5, off,
			      p.file);
		if (off != interps[i].eval_frame)
			fail_msg("%s: 0x%x, the reference note says 0x%x", p.file, off,
				 interps[i].eval_frame);
		found++;
	}
	if (!found) {
		print_message("    skipped: no CPython 3.11+ found\n");
		skip();
	}
}

/* ---- a fake interpreter in this process's memory ---- */

#define FAKE_MINOR 11
#define FAKE_INTERP_MAIN 0x30 /* 3.11's _PyRuntime.interpreters.main */

static uint64_t fake_runtime[16];
static uint64_t fake_interp[FIXTURE_OFFSET / 8 + 8];

static uint64_t fake_field(void)
{
	return (uint64_t)(uintptr_t)fake_interp + FIXTURE_OFFSET;
}

/* t->file: a page of file mapped here, kept (forked copies map it too);
 * nothing when file cannot be opened. */
static void map_interpreter_file(struct python_target *t, const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *p;

	if (fd < 0)
		return;
	assert_int_equal(fstat(fd, &st), 0);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(p != MAP_FAILED);
	close(fd);
	t->file = (struct mapped_file){ .start = (uintptr_t)p, .end = (uintptr_t)p + 4096,
					.dev_major = major(st.st_dev),
					.dev_minor = minor(st.st_dev), .inode = st.st_ino };
}

/* A target whose "interpreter" is the fixture file with bias 0, and whose
 * _PyRuntime is fake_runtime in process pid (this one or a forked copy). */
static void fake_target(struct python_target *t, pid_t pid, const char *file)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->major = 3;
	t->minor = FAKE_MINOR;
	t->micro = 0;
	snprintf(t->version, sizeof(t->version), "3.%d.0", FAKE_MINOR);
	snprintf(t->binary, sizeof(t->binary), "%s", file);
	map_interpreter_file(t, file);
	t->runtime_addr = (uint64_t)(uintptr_t)fake_runtime;
	memset(fake_interp, 0, sizeof(fake_interp));
	memset(fake_runtime, 0, sizeof(fake_runtime));
	fake_runtime[FAKE_INTERP_MAIN / 8] = (uint64_t)(uintptr_t)fake_interp;
	assert_int_equal(offsets_for(3, FAKE_MINOR)->runtime_interp_main, FAKE_INTERP_MAIN);
}

static void test_fake_install_remove(void **state)
{
	struct pybpf_err err = { "" };
	struct python_target t;
	struct evalhook h, zero = { 0 };
	int fds = count_open_fds();
	uint64_t value = fixture_symbol(FIXTURE, "_PyEval_EvalFrameDefault");
	pid_t g;

	(void)state;
	assert_int_equal(evalhook__remove(&zero), 0); /* a zeroed one is not installed */
	fake_target(&t, getpid(), FIXTURE);
	if (evalhook__install(&t, &h, &err))
		fail_msg("install: %s", err.msg);
	assert_true(h.installed);
	assert_int_equal(h.pid, getpid());
	assert_int_equal(h.offset, FIXTURE_OFFSET);
	assert_int_equal(h.field, fake_field());
	assert_int_equal(h.value, value);
	assert_int_equal(peek(getpid(), fake_field()), value);
	g = h.guard_pid;
	check_guardian(g, getpid(), getpid());
	assert_int_equal(count_open_fds(), fds + 2); /* the memory and the socket */

	assert_int_equal(evalhook__remove(&h), 0);
	assert_int_equal(peek(getpid(), fake_field()), 0);
	assert_false(h.installed);
	assert_reaped(g);
	assert_int_equal(count_open_fds(), fds);
	assert_int_equal(evalhook__remove(&h), 0);
	assert_int_equal(count_open_fds(), fds);
}

/* A field someone else has set: refused, named, untouched, nothing left open. */
static void test_fake_refuses_foreign_hook(void **state)
{
	const struct {
		uint64_t value;
		const char *says;
	} cases[] = {
		{ fixture_symbol(FIXTURE, "py_trampoline_evaluator"), "the perf trampoline (-X perf" },
		{ fixture_symbol(FIXTURE, "_PyEval_EvalFrameDefault"), "another pybpf-prof" },
		{ FOREIGN_HOOK, "another PEP 523 hook (0x1234), from -X perf, a debugger" },
	};
	struct pybpf_err err;
	struct python_target t;
	struct evalhook h;
	int fds = count_open_fds();
	char want[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_target(&t, getpid(), FIXTURE);
		poke(getpid(), fake_field(), cases[i].value);
		memset(&err, 0, sizeof(err));
		assert_int_equal(evalhook__install(&t, &h, &err), -EBUSY);
		snprintf(want, sizeof(want), "eval-frame hook in PID %d: ", getpid());
		if (!strstr(err.msg, want) || !strstr(err.msg, cases[i].says) ||
		    !strstr(err.msg, "leaving it alone"))
			fail_msg("case %zu: '%s'", i, err.msg);
		assert_int_equal(peek(getpid(), fake_field()), cases[i].value);
		assert_false(h.installed);
		assert_int_equal(h.guard_pid, 0);
		assert_int_equal(count_open_fds(), fds);
		assert_int_equal(evalhook__remove(&h), 0);
	}
}

static void expect_install_error(struct python_target *t, int want_ret, const char *says)
{
	struct pybpf_err err = { "" };
	struct evalhook h;
	int fds = count_open_fds();
	int ret = evalhook__install(t, &h, &err);

	if (ret != want_ret || !strstr(err.msg, says))
		fail_msg("got %d '%s', want %d '...%s...'", ret, err.msg, want_ret, says);
	assert_false(h.installed);
	assert_int_equal(h.guard_pid, 0);
	assert_int_equal(count_open_fds(), fds);
	assert_int_equal(evalhook__remove(&h), 0);
}

static void test_fake_install_errors(void **state)
{
	struct python_target t;

	(void)state;
	fake_target(&t, getpid(), FIXTURE);
	t.minor = 10;
	snprintf(t.version, sizeof(t.version), "3.10.13");
	expect_install_error(&t, -EOPNOTSUPP, "CPython 3.10.13 needs no eval-frame hook");

	fake_target(&t, getpid(), FIXTURE);
	fake_runtime[FAKE_INTERP_MAIN / 8] = 0; /* launch mode, before Py_Initialize */
	expect_install_error(&t, -EAGAIN, "its interpreter is not initialised yet");

	fake_target(&t, getpid(), PLAIN_FIXTURE);
	expect_install_error(&t, -ENOENT, "has no _PyEval_EvalFrameDefault symbol");

	fake_target(&t, getpid(), FIXTURE_DIR "/no_such_file");
	expect_install_error(&t, -ENOENT, "cannot read " FIXTURE_DIR "/no_such_file of PID");

	fake_target(&t, gone_pid(), FIXTURE); /* its files are gone with it */
	expect_install_error(&t, -ENOENT, "cannot read " FIXTURE " of PID");

	fake_target(&t, getpid(), FIXTURE);
	t.runtime_addr = 8; /* page 0 */
	expect_install_error(&t, -EIO, "cannot read the interpreter state of PID");
	assert_int_equal(peek(getpid(), fake_field()), 0);
}

static void test_fake_remove_leaves_foreign_hook(void **state)
{
	struct pybpf_err err = { "" };
	struct python_target t;
	struct evalhook h;
	int fds = count_open_fds();
	pid_t g;

	(void)state;
	fake_target(&t, getpid(), FIXTURE);
	if (evalhook__install(&t, &h, &err))
		fail_msg("install: %s", err.msg);
	g = h.guard_pid;
	poke(getpid(), fake_field(), FOREIGN_HOOK);
	assert_int_equal(evalhook__remove(&h), -EBUSY);
	assert_int_equal(peek(getpid(), fake_field()), FOREIGN_HOOK);
	assert_reaped(g);
	assert_int_equal(count_open_fds(), fds);
	assert_int_equal(evalhook__remove(&h), 0);
}

static void set_subreaper(bool on)
{
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0), 0);
}

/* pybpf-prof dies (SIGKILL, or an exit without cleanup): the guardian puts
 * NULL back, or leaves a value that is no longer ours. The target is this
 * process; the dying "pybpf-prof" a forked helper. */
static void test_fake_guardian(void **state)
{
	struct python_target t;
	struct helper hp;
	uint64_t value = fixture_symbol(FIXTURE, "_PyEval_EvalFrameDefault");

	(void)state;
	set_subreaper(true);
	for (int mode = 0; mode < 3; mode++) {
		fake_target(&t, getpid(), FIXTURE);
		helper_start(&t, &hp);
		if (hp.ret == -EACCES || hp.ret == -EPERM) {
			helper_end(&hp, true);
			set_subreaper(false);
			print_message("    skipped: a child may not write our memory: %s\n", hp.msg);
			skip();
		}
		if (hp.ret)
			fail_msg("helper's install: %s", hp.msg);
		assert_int_equal(peek(getpid(), fake_field()), value);
		check_guardian(hp.guard, hp.pid, getpid());
		if (mode == 2)
			poke(getpid(), fake_field(), FOREIGN_HOOK);
		int st = helper_end(&hp, mode != 1);
		if (mode == 2) {
			assert_int_equal(st, EVALHOOK_GUARD_NOT_OURS);
			assert_int_equal(peek(getpid(), fake_field()), FOREIGN_HOOK);
		} else {
			assert_int_equal(st, EVALHOOK_GUARD_RESTORED);
			assert_int_equal(peek(getpid(), fake_field()), 0);
		}
	}
	set_subreaper(false);
}

/* A forked copy of this process, whose fake interpreter is at the same
 * addresses, blocked until its pipe closes. */
static pid_t start_copy(int *ctl)
{
	int fds[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(fds[1]);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(fds[0]);
	*ctl = fds[1];
	return pid;
}

static void kill_copy(pid_t pid, int ctl)
{
	kill(pid, SIGKILL);
	close(ctl);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* The target exits first: remove and the guardian give up quietly. */
static void test_fake_target_exits_first(void **state)
{
	struct pybpf_err err = { "" };
	struct python_target t;
	struct evalhook h;
	struct helper hp;
	int ctl, fds = count_open_fds();
	pid_t copy, g;

	(void)state;
	fake_target(&t, 0, FIXTURE);
	copy = start_copy(&ctl);
	t.pid = copy;
	if (evalhook__install(&t, &h, &err))
		fail_msg("install into a forked copy: %s", err.msg);
	g = h.guard_pid;
	assert_int_equal(peek(copy, fake_field()), h.value);
	assert_int_equal(peek(getpid(), fake_field()), 0); /* copy-on-write: ours is untouched */
	kill_copy(copy, ctl);
	assert_int_equal(evalhook__remove(&h), 0);
	assert_reaped(g);
	assert_int_equal(count_open_fds(), fds);

	set_subreaper(true);
	fake_target(&t, 0, FIXTURE);
	copy = start_copy(&ctl);
	t.pid = copy;
	helper_start(&t, &hp);
	if (hp.ret)
		fail_msg("helper's install into a forked copy: %s", hp.msg);
	kill_copy(copy, ctl);
	assert_int_equal(helper_end(&hp, true), EVALHOOK_GUARD_GONE);
	set_subreaper(false);
}

/* ---- real interpreters (root) ---- */

/* Waits on stdin; for each line, says whether a fresh function's call to
 * another Python function specializes, which CPython refuses while a PEP
 * 523 hook is set (specialize.c: SPEC_FAIL_CALL_PEP_523). */
static const char PY_SCRIPT[] =
	"import dis, os, sys\n"
	"def callee():\n"
	"    pass\n"
	"def specialized():\n"
	"    ns = {'callee': callee}\n"
	"    exec('def probe():\\n    callee()\\n', ns)\n"
	"    for _ in range(300):\n"
	"        ns['probe']()\n"
	"    ops = [i.opname for i in dis.get_instructions(ns['probe'], adaptive=True)]\n"
	"    return any(op.startswith('CALL_PY') for op in ops)\n"
	"print('ready', os.getpid(), flush=True)\n"
	"for line in sys.stdin:\n"
	"    print('specialized' if specialized() else 'generic', flush=True)\n";

struct pychild {
	pid_t pid;
	int in;
	FILE *out;
	const struct interp_paths *p;
	bool perf;
};

static void pychild_start(const struct interp_paths *p, bool perf, struct pychild *c)
{
	char *perf_argv[] = { (char *)p->exe, "-I", "-X", "perf", "-c", (char *)PY_SCRIPT, NULL };
	char *argv[] = { (char *)p->exe, "-I", "-c", (char *)PY_SCRIPT, NULL };
	char line[128] = "";
	struct test_child tc;
	int nspid = 0;

	c->p = p;
	c->perf = perf;
	test_child_start(&tc, p->root, perf ? perf_argv : argv, NULL);
	c->pid = tc.pid;
	c->in = tc.in;
	c->out = tc.out;
	if (!fgets(line, sizeof(line), c->out) || sscanf(line, "ready %d", &nspid) != 1) {
		test_child_kill(&tc);
		fail_msg("%s%s did not start: '%s'", p->root, p->exe, line);
	}
	assert_int_equal(nspid, c->pid);
}

/* "specialized" or "generic", from the child itself. */
static bool pychild_specializes(struct pychild *c)
{
	char line[64] = "";

	assert_int_equal(write(c->in, "check\n", 6), 6);
	if (!fgets(line, sizeof(line), c->out))
		fail_msg("PID %d gave no answer", c->pid);
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, "specialized") && strcmp(line, "generic"))
		fail_msg("PID %d answered '%s'", c->pid, line);
	return !strcmp(line, "specialized");
}

/* EOF on its stdin: it must exit 0, so nothing we did broke it. */
static void pychild_stop(struct pychild *c)
{
	char path[PATH_MAX + 64];
	int status;

	close(c->in);
	fclose(c->out);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	if (c->perf) {
		snprintf(path, sizeof(path), "%s/tmp/perf-%d.map", c->p->root, c->pid);
		unlink(path);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("PID %d ended with status 0x%x", c->pid, status);
}

/* Where the field and the value must be, computed without evalhook.c:
 * the reference note's offset, and the function's code bytes checked in
 * the target's memory against the file. */
static void expect_site(const struct python_target *t, const struct interp *ip, uint64_t *field,
			uint64_t *value)
{
	const struct pybpf_offsets *off = offsets_for(t->major, t->minor);
	struct elf_file *ef = python_target__open_elf(t);
	uint8_t in_file[32], in_target[32];
	uint64_t sym;

	assert_non_null(off);
	assert_non_null(ef);
	assert_int_equal(elf_file__symbol(ef, "_PyEval_EvalFrameDefault", &sym, NULL), 0);
	assert_int_equal(elf_file__read_vaddr(ef, sym, in_file, sizeof(in_file)), 0);
	elf_file__close(ef);
	*value = sym + t->bias;
	assert_int_equal(python_target__read(t->pid, *value, in_target, sizeof(in_target)), 0);
	assert_memory_equal(in_file, in_target, sizeof(in_file));
	*field = peek(t->pid, t->runtime_addr + off->runtime_interp_main) + ip->eval_frame;
}

static void inspect_ok(pid_t pid, const struct interp *ip, struct python_target *t)
{
	struct pybpf_err err = { "" };

	if (python_target__inspect(pid, t, &err))
		fail_msg("inspect: %s", err.msg);
	assert_int_equal(t->major, 3);
	assert_int_equal(t->minor, ip->minor);
}

static void test_real_python(void **state)
{
	const struct interp *ip = *state;
	struct interp_paths p;
	struct pybpf_err err = { "" };
	struct python_target t;
	struct pychild c;
	struct evalhook h;
	struct helper hp;
	uint64_t field, value;
	pid_t g;

	if (geteuid()) {
		print_message("    skipped: needs root\n");
		skip();
	}
	if (!interp_find(ip, &p)) {
		print_message("    skipped: no %s%s\n", p.root, p.exe);
		skip();
	}
	pychild_start(&p, false, &c);
	assert_true(pychild_specializes(&c)); /* the probe works: no hook yet */
	inspect_ok(c.pid, ip, &t);
	expect_site(&t, ip, &field, &value);
	assert_int_equal(peek(c.pid, field), 0);

	/* Install: the field, the guardian, and the child's own view. */
	if (evalhook__install(&t, &h, &err))
		fail_msg("install into %s: %s", t.binary, err.msg);
	assert_int_equal(h.offset, ip->eval_frame);
	assert_int_equal(h.field, field);
	assert_int_equal(h.value, value);
	assert_int_equal(peek(c.pid, field), value);
	g = h.guard_pid;
	check_guardian(g, getpid(), c.pid);
	assert_false(pychild_specializes(&c));

	/* Remove: NULL again, guardian reaped, calls specialize again. */
	assert_int_equal(evalhook__remove(&h), 0);
	assert_int_equal(peek(c.pid, field), 0);
	assert_reaped(g);
	assert_int_equal(evalhook__remove(&h), 0);
	assert_true(pychild_specializes(&c));

	/* pybpf-prof killed, or exiting without removing: the guardian restores. */
	set_subreaper(true);
	for (int mode = 0; mode < 2; mode++) {
		helper_start(&t, &hp);
		if (hp.ret)
			fail_msg("helper's install: %s", hp.msg);
		assert_int_equal(peek(c.pid, field), value);
		assert_false(pychild_specializes(&c));
		assert_int_equal(helper_end(&hp, mode == 0), EVALHOOK_GUARD_RESTORED);
		assert_int_equal(peek(c.pid, field), 0);
		assert_true(pychild_specializes(&c));
	}

	/* Someone else's hook is left alone by install, remove and the guardian.
	 * A valid one first (what another pybpf-prof writes): the child runs with it. */
	poke(c.pid, field, value);
	assert_int_equal(evalhook__install(&t, &h, &err), -EBUSY);
	if (!strstr(err.msg, "another pybpf-prof") || !strstr(err.msg, "leaving it alone"))
		fail_msg("refusal: '%s'", err.msg);
	assert_int_equal(peek(c.pid, field), value);
	assert_false(pychild_specializes(&c));
	poke(c.pid, field, 0);
	/* Then a bogus one, while the child waits in read(), running no Python. */
	if (evalhook__install(&t, &h, &err))
		fail_msg("install: %s", err.msg);
	g = h.guard_pid;
	poke(c.pid, field, FOREIGN_HOOK);
	assert_int_equal(evalhook__remove(&h), -EBUSY);
	assert_int_equal(peek(c.pid, field), FOREIGN_HOOK);
	assert_reaped(g);
	helper_start(&t, &hp); /* refused: nothing to guard */
	assert_int_equal(hp.ret, -EBUSY);
	assert_int_equal(hp.guard, 0);
	close(hp.ctl);
	assert_int_equal(waitpid(hp.pid, NULL, 0), hp.pid);
	poke(c.pid, field, 0);
	helper_start(&t, &hp);
	if (hp.ret)
		fail_msg("helper's install: %s", hp.msg);
	poke(c.pid, field, FOREIGN_HOOK);
	assert_int_equal(helper_end(&hp, true), EVALHOOK_GUARD_NOT_OURS);
	assert_int_equal(peek(c.pid, field), FOREIGN_HOOK);
	poke(c.pid, field, 0);
	set_subreaper(false);

	assert_true(pychild_specializes(&c));
	pychild_stop(&c);

	/* -X perf (3.12+): its trampoline holds the field; we refuse and say why. */
	if (ip->minor < 12)
		return;
	pychild_start(&p, true, &c);
	assert_false(pychild_specializes(&c));
	inspect_ok(c.pid, ip, &t);
	expect_site(&t, ip, &field, &value);
	uint64_t perf_hook = peek(c.pid, field);
	assert_true(perf_hook != 0 && perf_hook != value);
	memset(&err, 0, sizeof(err));
	assert_int_equal(evalhook__install(&t, &h, &err), -EBUSY);
	print_message("    -X perf: %s\n", err.msg);
	if (!strstr(err.msg, "perf") || !strstr(err.msg, "leaving it alone"))
		fail_msg("refusal under -X perf: '%s'", err.msg);
	assert_false(h.installed);
	assert_int_equal(peek(c.pid, field), perf_hook);
	assert_false(pychild_specializes(&c));
	pychild_stop(&c);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_decode_good),
		cmocka_unit_test(test_decode_garbage),
		cmocka_unit_test(test_decode_fixture),
		cmocka_unit_test(test_decode_interpreters),
		cmocka_unit_test(test_fake_install_remove),
		cmocka_unit_test(test_fake_refuses_foreign_hook),
		cmocka_unit_test(test_fake_install_errors),
		cmocka_unit_test(test_fake_remove_leaves_foreign_hook),
		cmocka_unit_test(test_fake_guardian),
		cmocka_unit_test(test_fake_target_exits_first),
	};
	/* Writes to a child that died must fail a test, not kill the binary;
	 * and a hang anywhere (say, a guardian that never exits) ends it. */
	signal(SIGPIPE, SIG_IGN);
	alarm(300);
	return run_group_with_table("test_evalhook", fixed, sizeof(fixed) / sizeof(fixed[0]),
				    test_real_python, interps, sizeof(interps) / sizeof(interps[0]),
				    sizeof(interps[0]));
}
