// SPDX-License-Identifier: GPL-2.0-only
#include "mappedfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "target.h"

bool mapped_file__path(pid_t pid, uint64_t start, uint64_t end, char *out, size_t n)
{
	int len = snprintf(out, n, "/proc/%d/map_files/%lx-%lx", (int)pid, (unsigned long)start,
			   (unsigned long)end);

	return len > 0 && (size_t)len < n;
}

bool mapped_file__fd_path(int fd, char *out, size_t n)
{
	int len = snprintf(out, n, "/proc/self/fd/%d", fd);

	return fd >= 0 && len > 0 && (size_t)len < n;
}

bool mapped_file__matches(const struct mapped_file *f, const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_ino == f->inode &&
	       major(st->st_dev) == f->dev_major && minor(st->st_dev) == f->dev_minor;
}

void mapped_file__stat(const struct mapped_file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG;
	st->st_dev = makedev(f->dev_major, f->dev_minor);
	st->st_ino = (ino_t)f->inode;
}

/* O_PATH descriptor of the file mapped at [start, end), if it is f's. */
static int open_range(pid_t pid, const struct mapped_file *f, uint64_t start, uint64_t end)
{
	char path[96];
	struct stat st;
	int fd;

	if (!mapped_file__path(pid, start, end, path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !mapped_file__matches(f, &st)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

struct range_search {
	const struct mapped_file *f;
	uint64_t start, end;
};

static bool maps_same_file(const char *line, void *ctx)
{
	struct range_search *s = ctx;
	struct map_entry m;

	if (!map_entry__parse(line, &m) || m.inode != s->f->inode ||
	    m.dev_major != s->f->dev_major || m.dev_minor != s->f->dev_minor)
		return false;
	s->start = m.start;
	s->end = m.end;
	return true;
}

int mapped_file__open_path(pid_t pid, const struct mapped_file *f)
{
	struct range_search s = { .f = f };
	int fd = open_range(pid, f, f->start, f->end);

	if (fd != -ENOENT && fd != -ESTALE)
		return fd;
	if (!proc_maps_any(pid, maps_same_file, &s))
		return fd;
	return open_range(pid, f, s.start, s.end);
}

int mapped_file__open_read(pid_t pid, const struct mapped_file *f)
{
	char path[64];
	int opath = mapped_file__open_path(pid, f), fd;

	if (opath < 0)
		return opath;
	mapped_file__fd_path(opath, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(opath);
	return fd;
}
