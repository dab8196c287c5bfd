// SPDX-License-Identifier: GPL-2.0-only
#include "discover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target.h"

int discover_each_pid(int (*fn)(void *ctx, pid_t pid), void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t self = getpid();
	int ret = 0;

	if (!d)
		return -errno;
	while (!ret && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || pid <= 0 || pid == self)
			continue;
		ret = fn(ctx, (pid_t)pid);
	}
	closedir(d);
	return ret;
}

static bool names_libpython(const char *line, void *ctx)
{
	(void)ctx;
	return strstr(line, "/libpython3.") != NULL;
}

/* A libpython among pid's mappings (an embedding program, a shared build). */
static bool maps_libpython(pid_t pid)
{
	return proc_maps_any(pid, names_libpython, NULL);
}

static struct exe_seen *seen_find(struct discovery *d, const struct stat *st)
{
	for (size_t i = 0; i < d->nseen; i++)
		if (d->seen[i].dev == st->st_dev && d->seen[i].ino == st->st_ino)
			return &d->seen[i];
	return NULL;
}

static void seen_add(struct discovery *d, const struct stat *st, bool python)
{
	if (d->nseen == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		struct exe_seen *v = realloc(d->seen, cap * sizeof(*v));

		if (!v)
			return; /* looked at again next time */
		d->seen = v;
		d->cap = cap;
	}
	d->seen[d->nseen++] = (struct exe_seen){ st->st_dev, st->st_ino, python };
}

bool discover_maybe_python(struct discovery *d, pid_t pid)
{
	char path[64];
	struct exe_seen *known;
	struct stat st;
	bool python;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st))
		return false; /* a kernel thread, or gone */
	known = seen_find(d, &st);
	if (known && known->python)
		return true;
	if (maps_libpython(pid))
		return true;
	if (known)
		return false;
	python = python_target__is_python_exe(pid);
	seen_add(d, &st, python);
	return python;
}

void discovery_free(struct discovery *d)
{
	free(d->seen);
	memset(d, 0, sizeof(*d));
}

void proc_cmdline(pid_t pid, char *out, size_t n)
{
	char path[64];
	ssize_t got = 0;
	int fd;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	got = read(fd, out, n - 1);
	close(fd);
	if (got <= 0) {
		out[0] = '\0';
		return;
	}
	while (got > 0 && out[got - 1] == '\0')
		got--;
	for (ssize_t i = 0; i < got; i++)
		if (out[i] == '\0')
			out[i] = ' ';
	out[got] = '\0';
}

pid_t parse_nspid(const char *line)
{
	const char *p;
	pid_t inner = 0;

	if (strncmp(line, "NSpid:", 6))
		return -1;
	p = line + 6;
	/* Host PID first, the innermost namespace's last. */
	for (;;) {
		char *end;
		long v;

		p += strspn(p, " \t\n");
		if (!*p)
			break;
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p)
			return 0;
		inner = errno || v <= 0 || v > INT_MAX ? 0 : (pid_t)v;
		p = end;
	}
	return inner;
}

pid_t proc_ns_pid(pid_t pid)
{
	char path[64], line[256];
	pid_t inner = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		inner = parse_nspid(line);
		if (inner >= 0)
			break;
		inner = 0;
	}
	fclose(f);
	return inner == pid ? 0 : inner;
}
