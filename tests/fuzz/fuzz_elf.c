// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer harness: an ELF file as found in a target's (container's) root,
 * written to a memfd and read through /proc/self/fd like any path. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elffile.h"

static void read_all(struct elf_file *ef)
{
	static const char *const names[] = { "_PyRuntime", "Py_Version", "PyEval_EvalFrameDefault",
					     "_PyEval_EvalFrameDefault", "main" };
	struct elf_load loads[ELF_MAX_LOADS];
	struct usdt_note_info note;
	uint64_t value, sz;
	uint8_t buf[64];
	size_t nloads;
	int micro;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!elf_file__symbol(ef, names[i], &value, &sz))
			elf_file__read_vaddr(ef, value, buf, sz < sizeof(buf) ? sz : sizeof(buf));
	nloads = elf_file__loads(ef, loads, ELF_MAX_LOADS);
	for (size_t i = 0; i < nloads && i < ELF_MAX_LOADS; i++)
		elf_file__read_vaddr(ef, loads[i].vaddr, buf, sizeof(buf));
	elf_file__usdt(ef, "python", "function__entry", &note);
	elf_file__find_version(ef, 9, &micro);
	elf_file__find_version(ef, 12, &micro);
	for (size_t i = 0; elf_file__needed(ef, i) && i < 1024; i++)
		;
	elf_file__runpath(ef);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct elf_file *ef;

	if (fd < 0) {
		fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
		if (fd < 0)
			return 0;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	ef = elf_file__open(path);
	if (!ef)
		return 0;
	read_all(ef);
	elf_file__close(ef);
	return 0;
}
