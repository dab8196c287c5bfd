/* SPDX-License-Identifier: GPL-2.0-only */
/* What pybpf-prof needs from an ELF file on disk: symbols, bytes at a
 * virtual address, load segments, USDT notes and dynamic dependencies. */
#ifndef PYBPF_ELFFILE_H
#define PYBPF_ELFFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file;

#define ELF_MAX_LOADS 16

struct elf_load {
	uint64_t vaddr, offset, filesz, memsz;
};

/* NULL (errno set) if the file cannot be opened or is not ELF. */
struct elf_file *elf_file__open(const char *path);
/* The same on an open descriptor, which the elf_file owns from then on
 * (closed here on failure too). */
struct elf_file *elf_file__open_fd(int fd);
void elf_file__close(struct elf_file *ef);

/* Symbol value from .dynsym, else .symtab. 0 or -ENOENT. */
int elf_file__symbol(struct elf_file *ef, const char *name, uint64_t *value, uint64_t *size);
/* Bytes of the file that back [vaddr, vaddr+n). 0 or -ENOENT/-EIO. */
int elf_file__read_vaddr(struct elf_file *ef, uint64_t vaddr, void *buf, size_t n);
/* The PT_LOAD segments, in file order. Returns their number. */
size_t elf_file__loads(struct elf_file *ef, struct elf_load *out, size_t max);

struct usdt_note_info {
	bool found;
	bool has_semaphore;
};
/* Looks for provider:name in .note.stapsdt. 0 or a negative errno. */
int elf_file__usdt(struct elf_file *ef, const char *provider, const char *name,
		   struct usdt_note_info *out);

/* A NUL-delimited string in .rodata of the form "3.<minor>.<micro>..."
 * (CPython's PY_VERSION before Py_Version existed). 0 and *micro set, or -ENOENT. */
int elf_file__find_version(struct elf_file *ef, int minor, int *micro);

/* DT_NEEDED entry i (NULL past the end), and DT_RUNPATH or DT_RPATH (NULL if none).
 * Pointers stay valid until close. */
const char *elf_file__needed(struct elf_file *ef, size_t i);
const char *elf_file__runpath(struct elf_file *ef);

#endif
