/* SPDX-License-Identifier: GPL-2.0-only */
/* The code objects of one target process, read from its memory once each:
 * name, file name, first line and line table, for the sampler's frames
 * (code object address, instruction index, first line). */
#ifndef PYBPF_CODECACHE_H
#define PYBPF_CODECACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pybpf.h"

#define CODECACHE_MAX_ENTRIES 65536 /* past this, code objects are resolved but not kept */
#define CODECACHE_NAME_MAX 1024     /* bytes of UTF-8 kept of co_name */
#define CODECACHE_FILENAME_MAX 4096 /* bytes of UTF-8 kept of co_filename */
#define CODECACHE_TABLE_MAX (1u << 20) /* bytes kept of a line table */

struct codeinfo {
	char *filename; /* valid UTF-8, truncated at a character; unescaped */
	char *name;
	int32_t firstlineno;
	uint8_t *linetable; /* co_lnotab (3.9) / co_linetable; NULL when empty */
	size_t linetable_len;
};

struct codecache;

/* A cache for process pid, running CPython 3.minor laid out as off (copied).
 * NULL with errno set: ENOMEM, or EINVAL when off lacks a code or str field. */
struct codecache *codecache__new(pid_t pid, int minor, const struct pybpf_offsets *off);
/* The code object at `code` as the sampler saw it: an address (code_ptr_mask
 * applied) with PYBPF_CODE_TAG of its co_filename in the top bits, and
 * firstlineno. Read once and cached under (code, firstlineno), failures too;
 * NULL when it cannot be read or its first line or tag differs (freed and
 * the memory reused: the caller counts the frame as unresolved). The object
 * is trusted as a code object when those match and its name, file name and
 * line table have sane str/bytes headers; its type pointer is not checked.
 * A code object freed and replaced at the same address by one with the same
 * first line and a file name whose address has the same 16-bit tag is not
 * noticed. The result lives until codecache__free; once
 * CODECACHE_MAX_ENTRIES are cached, a code object not among them is read
 * into one scratch entry that the next codecache__get call reuses. */
const struct codeinfo *codecache__get(struct codecache *c, uint64_t code, int32_t firstlineno);
/* The line running at instruction index lasti (2-byte code units) of that
 * code object; 0 for a NULL ci. */
int32_t codecache__line(const struct codeinfo *ci, int minor, int32_t lasti);
void codecache__free(struct codecache *c);

#endif
