// SPDX-License-Identifier: GPL-2.0-only
/* mappedfile: paths to a mapped file that the kernel resolves, checked to be
 * the very file mapped, whatever happens to its name on disk. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "mappedfile.h"

static void test_paths(void **state)
{
	char buf[64];

	(void)state;
	assert_true(mapped_file__path(1234, 0x7f0000001000, 0x7f0000003000, buf, sizeof(buf)));
	assert_string_equal(buf, "/proc/1234/map_files/7f0000001000-7f0000003000");
	assert_false(mapped_file__path(1234, 0x7f0000001000, 0x7f0000003000, buf, 20));
	assert_true(mapped_file__path(1, 0, 0xffffffffffffffff, buf, sizeof(buf)));
	assert_string_equal(buf, "/proc/1/map_files/0-ffffffffffffffff");
	assert_true(mapped_file__fd_path(7, buf, sizeof(buf)));
	assert_string_equal(buf, "/proc/self/fd/7");
	assert_false(mapped_file__fd_path(7, buf, 15));
	assert_false(mapped_file__fd_path(-1, buf, sizeof(buf)));
}

struct mapped {
	char dir[64], path[96];
	void *addr;
	struct mapped_file f;
};

/* A file "x" holding text, mapped here one page long. */
static void map_text(struct mapped *m, const char *text)
{
	struct stat st;
	int fd;

	snprintf(m->dir, sizeof(m->dir), "/tmp/pybpf-mapped-XXXXXX");
	assert_non_null(mkdtemp(m->dir));
	snprintf(m->path, sizeof(m->path), "%s/x", m->dir);
	fd = open(m->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fstat(fd, &st), 0);
	m->addr = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(m->addr != MAP_FAILED);
	close(fd);
	m->f = (struct mapped_file){ .start = (uintptr_t)m->addr,
				     .end = (uintptr_t)m->addr + 4096,
				     .dev_major = major(st.st_dev), .dev_minor = minor(st.st_dev),
				     .inode = st.st_ino };
}

static void unmap_text(struct mapped *m)
{
	char other[128];

	munmap(m->addr, 4096);
	unlink(m->path);
	snprintf(other, sizeof(other), "%s/y", m->dir);
	unlink(other);
	rmdir(m->dir);
}

/* What fd reads from its start. */
static void expect_reads(int fd, const char *want)
{
	char buf[64] = "";

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof(buf) - 1, 0), (ssize_t)strlen(want));
	assert_string_equal(buf, want);
	close(fd);
}

/* The mapped file is read, even once another file has taken its name. */
static void test_open_survives_rename(void **state)
{
	struct mapped m;
	char other[128];
	struct stat st;
	int fd;

	(void)state;
	map_text(&m, "mapped");
	fd = mapped_file__open_path(getpid(), &m.f);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(mapped_file__matches(&m.f, &st));
	close(fd);
	snprintf(other, sizeof(other), "%s/y", m.dir);
	fd = open(other, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "decoy", 5), 5);
	close(fd);
	assert_int_equal(rename(other, m.path), 0);
	expect_reads(mapped_file__open_read(getpid(), &m.f), "mapped");
	unmap_text(&m);
}

/* A stale range is looked for again by device and inode; a range that maps
 * another file, or a file mapped nowhere, gives no descriptor. */
static void test_open_checks_identity(void **state)
{
	struct mapped a, b;
	struct mapped_file moved, wrong, gone;
	struct stat st;

	(void)state;
	map_text(&a, "first");
	map_text(&b, "second");
	moved = a.f;
	moved.start += 0x1000000000; /* nothing mapped there */
	moved.end += 0x1000000000;
	expect_reads(mapped_file__open_read(getpid(), &moved), "first");
	wrong = a.f;
	wrong.start = b.f.start; /* b's range, a's inode */
	wrong.end = b.f.end;
	expect_reads(mapped_file__open_read(getpid(), &wrong), "first");
	gone = a.f;
	gone.inode = 1; /* an inode this process does not map */
	assert_int_equal(mapped_file__open_read(getpid(), &gone), -ESTALE);
	mapped_file__stat(&a.f, &st);
	assert_true(mapped_file__matches(&a.f, &st));
	assert_false(mapped_file__matches(&b.f, &st));
	st.st_mode = S_IFDIR;
	assert_false(mapped_file__matches(&a.f, &st));
	unmap_text(&a);
	unmap_text(&b);
	assert_true(mapped_file__open_path(getpid(), &a.f) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_open_survives_rename),
		cmocka_unit_test(test_open_checks_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
