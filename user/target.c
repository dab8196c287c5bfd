// SPDX-License-Identifier: GPL-2.0-only
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#define PY_DEBUG_COOKIE "xdebugpy"

bool map_entry__parse(const char *line, struct map_entry *out)
{
	int path_at = 0;

	memset(out, 0, sizeof(*out));
	if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &out->start, &out->end, out->perms,
		   &out->offset, &out->dev_major, &out->dev_minor, &out->inode, &path_at) < 7)
		return false;
	if (!path_at || line[path_at] != '/' || !out->inode)
		return false;
	snprintf(out->path, sizeof(out->path), "%s", line + path_at);
	out->path[strcspn(out->path, "\n")] = '\0';
	/* A replaced file shows as "path (deleted)": keep the path, map_files still works. */
	size_t len = strlen(out->path), tail = strlen(" (deleted)");
	if (len > tail && !strcmp(out->path + len - tail, " (deleted)"))
		out->path[len - tail] = '\0';
	return true;
}

bool python_version_from_name(const char *name, int *major, int *minor)
{
	const char *base = strrchr(name, '/');
	const char *p;
	char *end;

	base = base ? base + 1 : name;
	p = strstr(base, "python3.");
	if (!p)
		return false;
	p += strlen("python3.");
	if (*p < '0' || *p > '9')
		return false;
	long m = strtol(p, &end, 10);
	if (end == p || m < 0 || m > 99)
		return false;
	*major = 3;
	*minor = (int)m;
	return true;
}

static bool is_libpython(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libpython3.", strlen("libpython3.")) && strstr(base, ".so");
}

bool maps_read_line(FILE *f, char *line, size_t n)
{
	while (fgets(line, (int)n, f)) {
		size_t len = strlen(line);
		int c;

		if ((len && line[len - 1] == '\n') || feof(f))
			return true;
		while ((c = getc(f)) != EOF && c != '\n')
			; /* the rest of an overlong line, which could pass for a line of its own */
	}
	return false;
}

static void mapped_file_of(const struct map_entry *m, struct mapped_file *f)
{
	*f = (struct mapped_file){ .start = m->start, .end = m->end, .dev_major = m->dev_major,
				   .dev_minor = m->dev_minor, .inode = m->inode };
}

static bool same_inode(const struct map_entry *a, const struct map_entry *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major && a->dev_minor == b->dev_minor;
}

#define LIB_CANDIDATES 8

/* The libpython files a process maps (offset-0 mappings) and which of them
 * it maps both executable and writable, as the dynamic loader does (code,
 * and the data that holds _PyRuntime): a file merely mmap'ed under that
 * name is no interpreter. */
struct lib_candidates {
	struct map_entry m[LIB_CANDIDATES];
	bool exec[LIB_CANDIDATES], writable[LIB_CANDIDATES];
	size_t n;
};

static void note_lib_mapping(struct lib_candidates *c, const struct map_entry *m)
{
	size_t i;

	for (i = 0; i < c->n && !same_inode(&c->m[i], m); i++)
		;
	if (i == c->n) {
		if (c->n == LIB_CANDIDATES)
			return;
		c->m[c->n++] = *m;
		c->m[i].offset = UINT64_MAX; /* no offset-0 mapping seen yet */
	}
	if (m->offset == 0 && c->m[i].offset != 0)
		c->m[i] = *m;
	if (m->perms[2] == 'x')
		c->exec[i] = true;
	if (m->perms[1] == 'w')
		c->writable[i] = true;
}

/* The mapping of the interpreter: a libpython, else the main executable. */
static int find_interpreter_mapping(pid_t pid, struct map_entry *lib, struct map_entry *exe,
				    bool *have_lib, bool *have_exe)
{
	char path[64], line[PATH_MAX + 128];
	struct lib_candidates libs = { .n = 0 };
	struct stat exe_st;
	struct map_entry m;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	bool exe_known = !stat(path, &exe_st);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	*have_lib = *have_exe = false;
	while (maps_read_line(f, line, sizeof(line))) {
		if (!map_entry__parse(line, &m))
			continue;
		if (is_libpython(m.path))
			note_lib_mapping(&libs, &m);
		if (!*have_exe && exe_known && m.inode == exe_st.st_ino &&
		    major(exe_st.st_dev) == m.dev_major && minor(exe_st.st_dev) == m.dev_minor &&
		    m.offset == 0) {
			*exe = m;
			*have_exe = true;
		}
	}
	fclose(f);
	for (size_t i = 0; i < libs.n && !*have_lib; i++) {
		if (libs.exec[i] && libs.writable[i] && libs.m[i].offset == 0) {
			*lib = libs.m[i];
			*have_lib = true;
		}
	}
	return 0;
}

static void read_comm(pid_t pid, char *out, size_t n)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	out[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)n, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/* Load bias from the mapping at file offset 0 and the first PT_LOAD (offset 0). */
static int compute_bias(struct elf_file *ef, const struct map_entry *m, uint64_t *bias)
{
	struct elf_load loads[ELF_MAX_LOADS];
	size_t n = elf_file__loads(ef, loads, ELF_MAX_LOADS);

	if (!n)
		return -ENOEXEC;
	/* The offset-0 mapping starts at the page of the first segment. */
	*bias = m->start - (loads[0].vaddr & ~0xfffull);
	return 0;
}

static void set_version(struct python_target *t, uint32_t hex)
{
	t->major = (int)(hex >> 24) & 0xff;
	t->minor = (int)(hex >> 16) & 0xff;
	t->micro = (int)(hex >> 8) & 0xff;
}

/* "3.15.2", or "3.9" when the micro version is unknown (-1). */
static void name_version(struct python_target *t)
{
	if (t->micro >= 0)
		snprintf(t->version, sizeof(t->version), "%d.%d.%d", t->major, t->minor, t->micro);
	else
		snprintf(t->version, sizeof(t->version), "%d.%d", t->major, t->minor);
}

bool python_micro_from_path(const char *path, int minor, int *micro)
{
	char prefix[16];
	size_t n = (size_t)snprintf(prefix, sizeof(prefix), "3.%d.", minor);

	for (const char *p = strstr(path, prefix); p; p = strstr(p + 1, prefix)) {
		const char *q = p + n;
		char *end;
		long m;

		if (p != path && p[-1] != '/' && p[-1] != '-')
			continue;
		if (*q < '0' || *q > '9')
			continue;
		m = strtol(q, &end, 10);
		if ((*end == '/' || *end == '\0') && m >= 0 && m < 100) {
			*micro = (int)m;
			return true;
		}
	}
	return false;
}

/* Py_Version (3.11+) from the file; else the file name, with the micro
 * version from PY_VERSION's string when the file has it (optimisers fold
 * it away: pyenv's 3.9/3.10), or from a directory named for the version
 * (pyenv's versions/3.9.18/, python.org's Python-3.9.18/). */
static int detect_version(struct elf_file *ef, struct python_target *t, const char *exe_path)
{
	uint64_t addr;
	uint32_t hex;

	if (!elf_file__symbol(ef, "Py_Version", &addr, NULL) &&
	    !elf_file__read_vaddr(ef, addr, &hex, sizeof(hex)) && (hex >> 24) == 3) {
		set_version(t, hex);
		return 0;
	}
	if (!python_version_from_name(t->binary, &t->major, &t->minor) &&
	    !python_version_from_name(exe_path, &t->major, &t->minor))
		return -ENOENT;
	if (elf_file__find_version(ef, t->minor, &t->micro) &&
	    !python_micro_from_path(t->binary, t->minor, &t->micro))
		t->micro = -1;
	return 0;
}

static int read_proc_mem(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, buf, n, (off_t)addr) != (ssize_t)n)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

/* One system call per read (the sampler reads many small objects while the
 * target runs); /proc/PID/mem where process_vm_readv is not allowed. */
int python_target__read(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	struct iovec local = { .iov_base = buf, .iov_len = n };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = n };
	ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (got == (ssize_t)n)
		return 0;
	if (got >= 0)
		return -EIO;
	if (errno == ESRCH)
		return -ENOENT; /* as /proc/PID/mem says of a process that is gone */
	if (errno == EPERM || errno == ENOSYS)
		return read_proc_mem(pid, addr, buf, n);
	return -errno;
}

/* 3.13+ keep _Py_DebugOffsets at &_PyRuntime: check it names our version. */
static int check_debug_offsets(const struct python_target *t, struct pybpf_err *err)
{
	struct {
		char cookie[8];
		uint64_t version;
		uint64_t free_threaded;
	} hdr;

	if (t->minor < 13)
		return 0;
	if (python_target__read(t->pid, t->runtime_addr, &hdr, sizeof(hdr)))
		return 0; /* not readable yet (launch stop): checked by the offsets themselves */
	if (memcmp(hdr.cookie, PY_DEBUG_COOKIE, 8) || (hdr.version >> 16) != (uint64_t)(0x300 | t->minor)) {
		err_set(err, "PID %d: CPython %s: _PyRuntime does not start with this version's "
			     "debug offsets; refusing to read its memory", t->pid, t->version);
		return -1;
	}
	if (hdr.free_threaded == 1) { /* other values: offsets_from_debug says what they are */
		err_set(err, "PID %d: CPython %s is a free-threaded build, which is not supported",
			t->pid, t->version);
		return -1;
	}
	return 0;
}

struct elf_file *python_target__open_elf(const struct python_target *t)
{
	int fd = mapped_file__open_read(t->pid, &t->file);

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	return elf_file__open_fd(fd);
}

/* The interpreter file of t, or NULL with err set. */
static struct elf_file *open_interpreter(struct python_target *t, uint64_t *sym,
					 struct pybpf_err *err)
{
	struct elf_file *ef = python_target__open_elf(t);

	if (!ef) {
		err_set(err, "cannot read %s of PID %d: %s", t->binary, t->pid,
			errno == ENOEXEC ? "not an ELF file" : strerror(errno));
		return NULL;
	}
	if (elf_file__symbol(ef, "_PyRuntime", sym, NULL)) {
		err_set(err, "PID %d (%s) is not a Python process: %s has no _PyRuntime symbol",
			t->pid, t->comm, t->binary);
		elf_file__close(ef);
		return NULL;
	}
	return ef;
}

static int inspect_file(struct python_target *t, const struct map_entry *m, const char *exe,
			bool shared, struct pybpf_err *err)
{
	struct elf_file *ef;
	uint64_t sym;
	int ret = -1;

	t->shared = shared;
	snprintf(t->binary, sizeof(t->binary), "%s", m->path);
	mapped_file_of(m, &t->file);
	ef = open_interpreter(t, &sym, err);
	if (!ef)
		return -1;
	if (compute_bias(ef, m, &t->bias) || detect_version(ef, t, exe)) {
		err_set(err, "PID %d: cannot tell which CPython version %s is", t->pid, t->binary);
		goto out;
	}
	name_version(t);
	t->runtime_addr = sym + t->bias;
	elf_file__usdt(ef, "python", "function__entry", &t->entry_probe);
	elf_file__usdt(ef, "python", "function__return", &t->return_probe);
	ret = check_debug_offsets(t, err);
out:
	elf_file__close(ef);
	return ret;
}

int python_target__inspect(pid_t pid, struct python_target *t, struct pybpf_err *err)
{
	struct map_entry lib, exe;
	bool have_lib, have_exe;
	char exe_path[PATH_MAX] = "", link[64];
	int ret;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	read_comm(pid, t->comm, sizeof(t->comm));
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	ssize_t len = readlink(link, exe_path, sizeof(exe_path) - 1);
	exe_path[len > 0 ? len : 0] = '\0';
	ret = find_interpreter_mapping(pid, &lib, &exe, &have_lib, &have_exe);
	if (ret == -ENOENT || (ret == 0 && kill(pid, 0) && errno == ESRCH)) {
		err_set(err, "cannot trace PID %d: no such process", pid);
		return -1;
	}
	if (ret) {
		err_set(err, "cannot read the memory map of PID %d: %s", pid, strerror(-ret));
		return -1;
	}
	if (!have_lib && !have_exe) {
		err_set(err, "PID %d (%s) is not a Python process: no interpreter is mapped", pid,
			t->comm);
		return -1;
	}
	if (!have_lib)
		return inspect_file(t, &exe, exe_path, false, err);
	struct python_target clean = *t;
	if (!inspect_file(t, &lib, exe_path, true, err))
		return 0;
	if (!have_exe)
		return -1;
	/* A libpython that is not a usable interpreter: maybe the executable is one
	 * (a static CPython that maps such a file); else the library's reason. */
	struct pybpf_err lib_err = *err;
	struct python_target lib_t = *t;
	*t = clean;
	if (!inspect_file(t, &exe, exe_path, false, err))
		return 0;
	*t = lib_t;
	*err = lib_err;
	return -1;
}

static bool exe_needs_libpython(struct elf_file *ef)
{
	const char *needed;

	for (size_t i = 0; (needed = elf_file__needed(ef, i)); i++) {
		if (is_libpython(needed))
			return true;
	}
	return false;
}

/* Opens the running executable of pid through /proc (works across chroots). */
static struct elf_file *open_exe(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return elf_file__open(path);
}

bool python_target__is_python_exe(pid_t pid)
{
	struct elf_file *ef = open_exe(pid);
	uint64_t sym;
	bool yes;

	if (!ef)
		return false;
	yes = !elf_file__symbol(ef, "_PyRuntime", &sym, NULL) || exe_needs_libpython(ef);
	elf_file__close(ef);
	return yes;
}

bool proc_maps_any(pid_t pid, bool (*match)(const char *line, void *ctx), void *ctx)
{
	char path[64], line[PATH_MAX + 128];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && maps_read_line(f, line, sizeof(line)))
		found = match(line, ctx);
	fclose(f);
	return found;
}

static bool writable_mapping_of(const char *line, void *ctx)
{
	struct map_entry m;

	return map_entry__parse(line, &m) && m.inode == *(uint64_t *)ctx && m.perms[1] == 'w';
}

/* ld.so maps a library's segments one by one, the writable data (which
 * holds _PyRuntime) last: until then its address range shows other bytes. */
static bool maps_writable(pid_t pid, uint64_t inode)
{
	return proc_maps_any(pid, writable_mapping_of, &inode);
}

bool python_target__awaits_libpython(pid_t pid)
{
	struct map_entry lib, exe;
	bool have_lib = false, have_exe = false, needs;
	struct elf_file *ef = open_exe(pid);

	if (!ef)
		return false;
	needs = exe_needs_libpython(ef);
	elf_file__close(ef);
	if (!needs)
		return false;
	if (find_interpreter_mapping(pid, &lib, &exe, &have_lib, &have_exe))
		return false;
	return !have_lib || !maps_writable(pid, lib.inode);
}

bool python_target__interp_ready(const struct python_target *t, const struct pybpf_offsets *off)
{
	uint64_t interp = 0, thread = 0;

	return !python_target__read(t->pid, t->runtime_addr + off->runtime_interp_main, &interp,
				    sizeof(interp)) && interp &&
	       !python_target__read(t->pid, interp + off->interp_threads_head, &thread,
				    sizeof(thread)) && thread;
}

/* Reads a NUL-separated /proc file (cmdline, environ); its length or -1. */
static ssize_t read_proc_list(pid_t pid, const char *what, char *buf, size_t n)
{
	char path[64];
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	got = read(fd, buf, n - 1);
	close(fd);
	if (got >= 0)
		buf[got] = '\0';
	return got;
}

static bool perf_option(const char *arg, const char *next)
{
	const char *x = !strcmp(arg, "-X") ? next : !strncmp(arg, "-X", 2) ? arg + 2 : NULL;

	return x && (!strcmp(x, "perf") || !strcmp(x, "perf_jit"));
}

static bool perf_variable(const char *var)
{
	const char *names[] = { "PYTHONPERFSUPPORT=", "PYTHON_PERF_JIT_SUPPORT=" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (!strncmp(var, names[i], n) && var[n] && strcmp(var + n, "0"))
			return true;
	}
	return false;
}

bool python_target__wants_perf_trampoline(pid_t pid)
{
	static char buf[65536];
	ssize_t n = read_proc_list(pid, "cmdline", buf, sizeof(buf));
	const char *end = buf + (n > 0 ? n : 0);

	for (const char *arg = buf; arg < end; arg += strlen(arg) + 1) {
		const char *next = arg + strlen(arg) + 1;
		if (perf_option(arg, next < end ? next : ""))
			return true;
	}
	n = read_proc_list(pid, "environ", buf, sizeof(buf));
	end = buf + (n > 0 ? n : 0);
	for (const char *var = buf; var < end; var += strlen(var) + 1)
		if (perf_variable(var))
			return true;
	return false;
}
