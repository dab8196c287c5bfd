/* SPDX-License-Identifier: GPL-2.0-only */
/* Finding the CPython interpreter that runs a process, from the outside:
 * which file holds it, where it is loaded, which version it is, which
 * probes it has. Works through /proc/PID/root for chroots and containers. */
#ifndef PYBPF_TARGET_H
#define PYBPF_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <stdio.h>

#include "elffile.h"
#include "log.h"
#include "mappedfile.h"
#include "pybpf.h"

struct python_target {
	pid_t pid;
	char comm[32];
	char binary[PATH_MAX];    /* the interpreter file as the process maps it */
	struct mapped_file file;  /* that file: opened and probed only through map_files */
	bool shared;              /* libpython*.so rather than the executable */
	uint64_t bias;            /* runtime address = ELF vaddr + bias */
	uint64_t runtime_addr;    /* &_PyRuntime */
	int major, minor, micro;  /* micro -1 when unknown */
	char version[32];         /* "3.9" or "3.15.2" */
	struct usdt_note_info entry_probe, return_probe;
};

/* One line of /proc/PID/maps. */
struct map_entry {
	uint64_t start, end, offset, inode;
	unsigned int dev_major, dev_minor;
	char perms[8]; /* "r-xp" */
	char path[PATH_MAX];
};

/* The micro version from a path component named 3.<minor>.<micro> (or
 * ending in -3.<minor>.<micro>), e.g. pyenv's versions/3.9.18/. */
bool python_micro_from_path(const char *path, int minor, int *micro);
/* Reads the next line of a maps file that fits in line (size n), '\n'
 * included; a longer one is skipped whole, so that its tail is never read
 * as a line of its own. False at the end. */
bool maps_read_line(FILE *f, char *line, size_t n);
/* Parses a maps line; false for lines without a file path. */
bool map_entry__parse(const char *line, struct map_entry *out);
/* Version from a file name such as "libpython3.9.so.1.0" or "python3.12". */
bool python_version_from_name(const char *name, int *major, int *minor);

/* True if match says yes to a line of pid's /proc/PID/maps. */
bool proc_maps_any(pid_t pid, bool (*match)(const char *line, void *ctx), void *ctx);
/* 0, or -1 with err set. -ESRCH-like cases are worded for the user. */
int python_target__inspect(pid_t pid, struct python_target *t, struct pybpf_err *err);
/* t's interpreter file, opened through map_files; NULL with errno set. */
struct elf_file *python_target__open_elf(const struct python_target *t);
/* True if the process maps a file that is, or will load, a CPython. */
bool python_target__is_python_exe(pid_t pid);
/* The executable needs a libpython that is not mapped yet (launch mode). */
bool python_target__awaits_libpython(pid_t pid);
/* The main interpreter exists and has a thread state: a launched CPython
 * is far enough into its start for its interpreter state to be written. */
bool python_target__interp_ready(const struct python_target *t, const struct pybpf_offsets *off);
/* A launched CPython asked for the perf trampoline (-X perf, -X perf_jit,
 * PYTHONPERFSUPPORT, PYTHON_PERF_JIT_SUPPORT): a PEP 523 hook of its own,
 * which it refuses to start with if another is set. */
bool python_target__wants_perf_trampoline(pid_t pid);
/* Reads n bytes of target memory at addr. 0 or -errno. */
int python_target__read(pid_t pid, uint64_t addr, void *buf, size_t n);

#endif
