// SPDX-License-Identifier: GPL-2.0-only
/* elffile.c on the fixture binaries (tests/unit/fixtures): USDT notes,
 * symbols, bytes at a virtual address, segments, DT_NEEDED, and the
 * errors for files that are not ELF or not there. Expected values come from
 * libelf's section headers, read here independently of elffile.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elffile.h"

#define USDT_FIXTURE FIXTURE_DIR "/usdt_fixture"
#define PLAIN_FIXTURE FIXTURE_DIR "/plain_fixture"

static struct elf_file *open_ok(const char *path)
{
	struct elf_file *ef = elf_file__open(path);

	if (!ef)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	return ef;
}

/* The section holding vaddr, from the section headers: its type, and the
 * file offset of vaddr in it (for sections with bytes in the file). */
static void section_of_vaddr(const char *path, uint64_t vaddr, uint32_t *type, off_t *offset)
{
	int fd = open(path, O_RDONLY);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf *elf;
	bool found = false;

	assert_true(fd >= 0);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	while ((scn = elf_nextscn(elf, scn))) {
		assert_non_null(gelf_getshdr(scn, &sh));
		if (!(sh.sh_flags & SHF_ALLOC) || vaddr < sh.sh_addr ||
		    vaddr >= sh.sh_addr + sh.sh_size)
			continue;
		*type = sh.sh_type;
		*offset = (off_t)(sh.sh_offset + vaddr - sh.sh_addr);
		found = true;
		break;
	}
	elf_end(elf);
	close(fd);
	assert_true(found);
}

static void pread_exact(const char *path, off_t offset, void *buf, size_t n)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, n, offset), (ssize_t)n);
	close(fd);
}

/* A temporary file with the given bytes; its path is written to path. */
static void make_temp_file(char *path, size_t n, const void *bytes, size_t len)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd;

	assert_true((size_t)snprintf(path, n, "%s/test_elffile.XXXXXX", base) < n);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* ---- USDT notes ---- */

static void test_usdt_found(void **state)
{
	struct elf_file *ef = open_ok(USDT_FIXTURE);
	struct usdt_note_info info;

	(void)state;
	memset(&info, 0xff, sizeof(info));
	assert_int_equal(elf_file__usdt(ef, "python", "function__entry", &info), 0);
	assert_true(info.found);
	assert_true(info.has_semaphore);
	memset(&info, 0, sizeof(info));
	assert_int_equal(elf_file__usdt(ef, "python", "function__return", &info), 0);
	assert_true(info.found);
	assert_true(info.has_semaphore);
	elf_file__close(ef);
}

static void test_usdt_not_found(void **state)
{
	static const char *const misses[][2] = {
		{ "python", "line" },
		{ "python", "function__entr" },      /* a prefix of a real name */
		{ "python", "function__entryx" },
		{ "pytho", "function__entry" },
		{ "python3", "function__entry" },
		{ "other", "function__entry" },
		{ "function__entry", "python" },
		{ "", "" },
	};
	struct elf_file *ef = open_ok(USDT_FIXTURE);
	struct usdt_note_info info;

	(void)state;
	for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
		memset(&info, 0xff, sizeof(info));
		assert_int_equal(elf_file__usdt(ef, misses[i][0], misses[i][1], &info), 0);
		if (info.found || info.has_semaphore)
			fail_msg("%s:%s reported as found", misses[i][0], misses[i][1]);
	}
	elf_file__close(ef);

	ef = open_ok(PLAIN_FIXTURE);
	memset(&info, 0xff, sizeof(info));
	assert_int_equal(elf_file__usdt(ef, "python", "function__entry", &info), 0);
	assert_false(info.found);
	assert_false(info.has_semaphore);
	elf_file__close(ef);
}

enum note_patch {
	PATCH_NO_SEMAPHORE, /* the semaphore address zeroed */
	PATCH_TYPE,         /* n_type 3 -> 4 */
	PATCH_OWNER,        /* "stapsdt" -> "stapsdX" */
	PATCH_SHORT_DESC,   /* n_descsz below the three addresses */
};

/* A copy of the USDT fixture with the function__entry note changed; its
 * path is written to path. The note is found by its bytes: n_namesz,
 * n_descsz, n_type, "stapsdt\0", then pc, base, semaphore and the strings. */
static void patched_fixture(char *path, size_t n, enum note_patch patch)
{
	static const char strings[] = "python\0function__entry";
	size_t len;
	char *bytes = test_read_file(USDT_FIXTURE, &len);
	char *prov = memmem(bytes, len, strings, sizeof(strings));
	char *desc, *owner, *hdr;
	uint32_t word;

	assert_non_null(prov);
	assert_true(prov - bytes >= 24 + 8 + 12);
	desc = prov - 24;
	owner = desc - 8;
	hdr = owner - 12;
	assert_memory_equal(owner, "stapsdt", 8);
	memcpy(&word, hdr, 4);
	assert_int_equal(word, 8);
	memcpy(&word, hdr + 8, 4);
	assert_int_equal(word, 3);
	switch (patch) {
	case PATCH_NO_SEMAPHORE:
		memset(desc + 16, 0, 8);
		break;
	case PATCH_TYPE:
		word = 4;
		memcpy(hdr + 8, &word, 4);
		break;
	case PATCH_OWNER:
		owner[6] = 'X';
		break;
	case PATCH_SHORT_DESC:
		word = 20;
		memcpy(hdr + 4, &word, 4);
		break;
	}
	make_temp_file(path, n, bytes, len);
	free(bytes);
}

/* Notes that differ from the real ones in one field each. */
static void test_usdt_patched_notes(void **state)
{
	char path[1024];
	struct elf_file *ef;
	struct usdt_note_info info;

	(void)state;
	/* One field patched in the entry note; the return note is untouched. */
	static const struct {
		int patch;
		bool entry_found, entry_semaphore;
	} cases[] = {
		{ PATCH_NO_SEMAPHORE, true, false }, /* still found, without a semaphore */
		{ PATCH_TYPE, false, false },        /* another note type: not stapsdt */
		{ PATCH_OWNER, false, false },       /* another owner: not stapsdt */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		patched_fixture(path, sizeof(path), cases[i].patch);
		ef = open_ok(path);
		assert_int_equal(elf_file__usdt(ef, "python", "function__entry", &info), 0);
		assert_int_equal(info.found, cases[i].entry_found);
		assert_int_equal(info.has_semaphore, cases[i].entry_semaphore);
		assert_int_equal(elf_file__usdt(ef, "python", "function__return", &info), 0);
		assert_true(info.found);
		assert_true(info.has_semaphore);
		elf_file__close(ef);
		assert_int_equal(unlink(path), 0);
	}

	/* A description too short for its addresses: skipped, and no read past it
	 * (what follows is then misparsed: the other note is not asserted). */
	patched_fixture(path, sizeof(path), PATCH_SHORT_DESC);
	ef = open_ok(path);
	assert_int_equal(elf_file__usdt(ef, "python", "function__entry", &info), 0);
	assert_false(info.found);
	elf_file__usdt(ef, "python", "function__return", &info);
	elf_file__close(ef);
	assert_int_equal(unlink(path), 0);
}

/* ---- symbols and bytes ---- */

static void test_symbols(void **state)
{
	struct elf_file *ef = open_ok(USDT_FIXTURE);
	uint64_t main_addr = 0, main_size = 0, entry = 0, ret = 0, size = 0;
	uint32_t type;
	off_t off;

	(void)state;
	assert_int_equal(elf_file__symbol(ef, "main", &main_addr, &main_size), 0);
	assert_true(main_addr != 0);
	assert_true(main_size > 0);
	section_of_vaddr(USDT_FIXTURE, main_addr, &type, &off);
	assert_int_equal(type, SHT_PROGBITS);

	assert_int_equal(elf_file__symbol(ef, "python_function__entry_semaphore", &entry, &size),
			 0);
	assert_int_equal(size, 2);
	assert_int_equal(elf_file__symbol(ef, "python_function__return_semaphore", &ret, NULL),
			 0);
	/* Both semaphores sit in .probes, one unsigned short apart. */
	assert_true(entry != 0 && ret != 0);
	assert_int_equal(ret > entry ? ret - entry : entry - ret, 2);
	assert_true(entry != main_addr);

	main_addr = 12345;
	assert_int_equal(elf_file__symbol(ef, "no_such_symbol", &main_addr, &size), -ENOENT);
	assert_int_equal(elf_file__symbol(ef, "mai", &main_addr, NULL), -ENOENT);
	assert_int_equal(main_addr, 12345);
	/* Undefined symbols (imports) are not definitions. */
	assert_int_equal(elf_file__symbol(ef, "__libc_start_main", &main_addr, NULL), -ENOENT);
	elf_file__close(ef);

	ef = open_ok(PLAIN_FIXTURE);
	assert_int_equal(elf_file__symbol(ef, "main", &main_addr, NULL), 0);
	assert_int_equal(elf_file__symbol(ef, "python_function__entry_semaphore", &entry, NULL),
			 -ENOENT);
	elf_file__close(ef);
}

static void test_read_vaddr(void **state)
{
	struct elf_file *ef = open_ok(USDT_FIXTURE);
	unsigned char got[16], want[16];
	uint64_t main_addr, sem;
	uint32_t type;
	off_t off;

	(void)state;
	/* The first bytes of main, against the same bytes read at the offset the
	 * section headers give. */
	assert_int_equal(elf_file__symbol(ef, "main", &main_addr, NULL), 0);
	section_of_vaddr(USDT_FIXTURE, main_addr, &type, &off);
	pread_exact(USDT_FIXTURE, off, want, sizeof(want));
	memset(got, 0, sizeof(got));
	assert_int_equal(elf_file__read_vaddr(ef, main_addr, got, sizeof(got)), 0);
	assert_memory_equal(got, want, sizeof(want));
	/* Not all zero: it really is code. */
	memset(want, 0, sizeof(want));
	assert_memory_not_equal(got, want, sizeof(want));
	/* One byte in, too. */
	assert_int_equal(elf_file__read_vaddr(ef, main_addr + 1, got, 4), 0);
	pread_exact(USDT_FIXTURE, off + 1, want, 4);
	assert_memory_equal(got, want, 4);

	/* The semaphore: zero bytes in the file when .probes has file bytes;
	 * with no bytes in the file (NOBITS) there is nothing to read. */
	assert_int_equal(elf_file__symbol(ef, "python_function__entry_semaphore", &sem, NULL), 0);
	section_of_vaddr(USDT_FIXTURE, sem, &type, &off);
	memset(got, 0xee, sizeof(got));
	if (type == SHT_PROGBITS) {
		pread_exact(USDT_FIXTURE, off, want, 2);
		assert_int_equal(elf_file__read_vaddr(ef, sem, got, 2), 0);
		assert_memory_equal(got, want, 2);
		assert_int_equal(got[0], 0);
		assert_int_equal(got[1], 0);
	} else {
		assert_int_equal(type, SHT_NOBITS);
		assert_int_equal(elf_file__read_vaddr(ef, sem, got, 2), -ENOENT);
	}

	/* Addresses no segment backs. */
	assert_int_equal(elf_file__read_vaddr(ef, 0x7fff00000000ull, got, 1), -ENOENT);
	assert_int_equal(elf_file__read_vaddr(ef, UINT64_MAX - 8, got, 4), -ENOENT);
	/* vaddr + n wraps past 2^64: never a success (elffile.c answers -EIO
	 * there rather than -ENOENT, as its bounds check wraps too). */
	assert_int_not_equal(elf_file__read_vaddr(ef, UINT64_MAX - 1, got, 4), 0);
	elf_file__close(ef);
}

/* A read must lie inside one segment's file bytes: one byte past the end of
 * the last segment's file bytes is not there (it is .bss or nothing). */
static void test_read_vaddr_segment_edges(void **state)
{
	struct elf_file *ef = open_ok(USDT_FIXTURE);
	struct elf_load loads[ELF_MAX_LOADS];
	unsigned char got[2], want[2];
	size_t n = elf_file__loads(ef, loads, ELF_MAX_LOADS);
	struct elf_load *last;

	(void)state;
	assert_true(n >= 1);
	last = &loads[n - 1];
	assert_true(last->filesz >= 2);
	assert_int_equal(elf_file__read_vaddr(ef, last->vaddr + last->filesz - 2, got, 2), 0);
	pread_exact(USDT_FIXTURE, (off_t)(last->offset + last->filesz - 2), want, 2);
	assert_memory_equal(got, want, 2);
	assert_int_equal(elf_file__read_vaddr(ef, last->vaddr + last->filesz - 1, got, 2),
			 -ENOENT);
	assert_int_equal(elf_file__read_vaddr(ef, last->vaddr + last->filesz, got, 1), -ENOENT);
	elf_file__close(ef);
}

/* ---- segments and the dynamic section ---- */

static void test_loads(void **state)
{
	struct elf_file *ef = open_ok(USDT_FIXTURE);
	struct elf_load loads[ELF_MAX_LOADS], one[1];
	size_t n = elf_file__loads(ef, loads, ELF_MAX_LOADS);
	uint64_t main_addr;
	bool main_in_load = false;

	(void)state;
	assert_true(n >= 1);
	assert_true(n <= ELF_MAX_LOADS);
	assert_int_equal(elf_file__symbol(ef, "main", &main_addr, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		assert_true(loads[i].memsz >= loads[i].filesz);
		if (i)
			assert_true(loads[i].offset >= loads[i - 1].offset);
		if (main_addr >= loads[i].vaddr && main_addr < loads[i].vaddr + loads[i].filesz)
			main_in_load = true;
	}
	assert_true(main_in_load);
	/* The first segment maps the ELF header (page-aligned, offset 0). */
	assert_int_equal(loads[0].offset, 0);
	/* max caps the count and keeps file order. */
	assert_int_equal(elf_file__loads(ef, one, 1), 1);
	assert_memory_equal(&one[0], &loads[0], sizeof(one[0]));
	assert_int_equal(elf_file__loads(ef, one, 0), 0);
	elf_file__close(ef);
}

static void test_needed(void **state)
{
	static const char *const paths[] = { USDT_FIXTURE, PLAIN_FIXTURE };

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct elf_file *ef = open_ok(paths[i]);
		const char *lib = elf_file__needed(ef, 0);

		assert_non_null(lib);
		assert_string_equal(lib, "libc.so.6");
		assert_null(elf_file__needed(ef, 1));
		assert_null(elf_file__needed(ef, 1000));
		assert_null(elf_file__runpath(ef));
		elf_file__close(ef);
	}
}

/* ---- errors ---- */

static void test_open_missing(void **state)
{
	(void)state;
	errno = 0;
	assert_null(elf_file__open(FIXTURE_DIR "/no_such_fixture"));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(elf_file__open(""));
	assert_int_equal(errno, ENOENT);
}

static void test_open_not_elf(void **state)
{
	static const char text[] = "just some text\nnot an ELF file\n";
	/* An ELF identification for a 32-bit file: ELF, but not what is read. */
	static const unsigned char elf32[52] = {
		0x7f, 'E', 'L', 'F', 1 /* ELFCLASS32 */, 1 /* LSB */, 1 /* EV_CURRENT */, 0,
		[16] = 2, 0,   /* ET_EXEC */
		[18] = 3, 0,   /* EM_386 */
		[20] = 1, 0, 0, 0,
		[40] = 52, 0,  /* e_ehsize */
	};
	char path[1024];
	int before = count_open_fds();

	(void)state;
	make_temp_file(path, sizeof(path), text, sizeof(text) - 1);
	errno = 0;
	assert_null(elf_file__open(path));
	assert_int_equal(errno, ENOEXEC);
	assert_int_equal(unlink(path), 0);

	make_temp_file(path, sizeof(path), "", 0);
	errno = 0;
	assert_null(elf_file__open(path));
	assert_int_equal(errno, ENOEXEC);
	assert_int_equal(unlink(path), 0);

	make_temp_file(path, sizeof(path), elf32, sizeof(elf32));
	errno = 0;
	assert_null(elf_file__open(path));
	assert_int_equal(errno, ENOEXEC);
	assert_int_equal(unlink(path), 0);

	/* A /proc file (size 0 to stat) is no ELF either. */
	errno = 0;
	assert_null(elf_file__open("/proc/self/status"));
	assert_int_equal(errno, ENOEXEC);
	/* Failed opens leave no descriptor behind. */
	assert_int_equal(count_open_fds(), before);
}

/* Opening and closing many times leaks no descriptor; close(NULL) is a no-op
 * and close keeps errno. */
static void test_open_close_no_leak(void **state)
{
	int before = count_open_fds();

	(void)state;
	for (int i = 0; i < 200; i++) {
		struct elf_file *ef = open_ok(i % 2 ? USDT_FIXTURE : PLAIN_FIXTURE);

		errno = EAGAIN;
		elf_file__close(ef);
		assert_int_equal(errno, EAGAIN);
	}
	elf_file__close(NULL);
	assert_int_equal(count_open_fds(), before);
}

/* PY_VERSION's string in .rodata gives the micro version of old CPythons. */
static void test_find_version(void **state)
{
	struct elf_file *ef = elf_file__open(PLAIN_FIXTURE);
	int micro = -1;

	(void)state;
	assert_non_null(ef);
	assert_int_equal(elf_file__find_version(ef, 9, &micro), 0);
	assert_int_equal(micro, 7);
	assert_int_equal(elf_file__find_version(ef, 10, &micro), -ENOENT);
	elf_file__close(ef);
	ef = elf_file__open(USDT_FIXTURE);
	assert_non_null(ef);
	assert_int_equal(elf_file__find_version(ef, 9, &micro), -ENOENT);
	elf_file__close(ef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usdt_found),
		cmocka_unit_test(test_usdt_not_found),
		cmocka_unit_test(test_usdt_patched_notes),
		cmocka_unit_test(test_symbols),
		cmocka_unit_test(test_read_vaddr),
		cmocka_unit_test(test_read_vaddr_segment_edges),
		cmocka_unit_test(test_loads),
		cmocka_unit_test(test_needed),
		cmocka_unit_test(test_open_missing),
		cmocka_unit_test(test_open_not_elf),
		cmocka_unit_test(test_open_close_no_leak),
		cmocka_unit_test(test_find_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
