// SPDX-License-Identifier: GPL-2.0-only
#include "codecache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "linetable.h"
#include "strutil.h"
#include "target.h"

/* PyBytesObject, the same in 3.9-3.15 (cpython-internals.md §3). */
#define BYTES_SIZE 0x10 /* ob_size */
#define BYTES_DATA 0x20 /* ob_sval */
/* A larger ob_size is not a line table: no sane code object has one. */
#define BYTES_SANE_MAX (256u << 20)

/* PyASCIIObject.state bits (§4). */
#define STR_COMPACT 0x20
#define STR_ASCII 0x40
#define STR_KIND(state) (((state) >> 2) & 7)

#define HEADER_MAX 256 /* the code and str fields read lie below this */
#define INITIAL_SLOTS 1024

struct slot {
	uint64_t code;
	int32_t firstlineno;
	bool used;
	struct codeinfo *ci; /* NULL: that object could not be read */
};

struct codecache {
	pid_t pid;
	int minor;
	struct pybpf_offsets off;
	size_t code_header, str_header; /* bytes read at the start of each object */
	struct slot *slots;
	size_t nslots; /* a power of two, at most half full */
	size_t count;
	struct codeinfo *scratch; /* the last one read once the cache is full */
};

static size_t field_end(size_t end, uint32_t off, size_t width)
{
	return off + width > end ? off + width : end;
}

static bool offsets_usable(const struct pybpf_offsets *o)
{
	const uint32_t used[] = { o->code_firstlineno, o->code_name, o->code_filename,
				  o->code_linetable, o->unicode_state, o->unicode_length,
				  o->unicode_ascii_data, o->unicode_compact_data };

	for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
		if (used[i] == PYBPF_NO_OFFSET || used[i] + 8 > HEADER_MAX)
			return false;
	}
	return true;
}

struct codecache *codecache__new(pid_t pid, int minor, const struct pybpf_offsets *off)
{
	struct codecache *c;

	if (!off || !offsets_usable(off)) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->slots = calloc(INITIAL_SLOTS, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return NULL;
	}
	c->nslots = INITIAL_SLOTS;
	c->pid = pid;
	c->minor = minor;
	c->off = *off;
	c->code_header = field_end(0, off->code_firstlineno, 4);
	c->code_header = field_end(c->code_header, off->code_name, 8);
	c->code_header = field_end(c->code_header, off->code_filename, 8);
	c->code_header = field_end(c->code_header, off->code_linetable, 8);
	c->str_header = field_end(field_end(0, off->unicode_state, 4), off->unicode_length, 8);
	return c;
}

static void codeinfo_free(struct codeinfo *ci)
{
	if (!ci)
		return;
	free(ci->filename);
	free(ci->name);
	free(ci->linetable);
	free(ci);
}

void codecache__free(struct codecache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nslots; i++)
		codeinfo_free(c->slots[i].ci);
	codeinfo_free(c->scratch);
	free(c->slots);
	free(c);
}

/* ---- reading objects from the target ---- */

/* n characters of a compact ASCII str: NULL if any is not ASCII (no str). */
static char *read_ascii(const struct codecache *c, uint64_t data, size_t n)
{
	char *s = malloc(n + 1);

	if (!s || python_target__read(c->pid, data, s, n))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			goto fail;
	}
	s[n] = '\0';
	return s;
fail:
	free(s);
	return NULL;
}

/* n characters of `kind` bytes each, as UTF-8 of at most limit bytes. */
static char *read_ucs(const struct codecache *c, uint64_t data, size_t n, unsigned int kind,
		      size_t limit)
{
	size_t bytes = n * kind;
	void *raw = malloc(bytes ? bytes : 1);
	char *s = malloc(limit + 1);

	if (!raw || !s || python_target__read(c->pid, data, raw, bytes)) {
		free(raw);
		free(s);
		return NULL;
	}
	ucs_to_utf8(raw, bytes, kind, s, limit + 1);
	free(raw);
	return s;
}

/* A str object as UTF-8 of at most limit bytes (cut at a character), or
 * NULL when it cannot be read or its header is not a compact str's. */
static char *read_str(const struct codecache *c, uint64_t addr, size_t limit)
{
	const struct pybpf_offsets *o = &c->off;
	unsigned char hdr[HEADER_MAX];
	unsigned int kind;
	uint32_t state;
	int64_t length;
	size_t n;

	if (!addr || python_target__read(c->pid, addr, hdr, c->str_header))
		return NULL;
	memcpy(&state, hdr + o->unicode_state, sizeof(state));
	memcpy(&length, hdr + o->unicode_length, sizeof(length));
	kind = STR_KIND(state);
	if (length < 0 || !(state & STR_COMPACT) || (kind != 1 && kind != 2 && kind != 4) ||
	    ((state & STR_ASCII) && kind != 1))
		return NULL;
	/* Each character is at least one byte of UTF-8: limit characters suffice. */
	n = (uint64_t)length < limit ? (size_t)length : limit;
	if (state & STR_ASCII)
		return read_ascii(c, addr + o->unicode_ascii_data, n);
	return read_ucs(c, addr + o->unicode_compact_data, n, kind, limit);
}

/* A bytes object's first CODECACHE_TABLE_MAX bytes into ci; 0 or -1. */
static int read_table(const struct codecache *c, uint64_t addr, struct codeinfo *ci)
{
	int64_t size;

	if (!addr || python_target__read(c->pid, addr + BYTES_SIZE, &size, sizeof(size)))
		return -1;
	if (size < 0 || (uint64_t)size > BYTES_SANE_MAX)
		return -1;
	if (!size)
		return 0;
	ci->linetable_len = CODECACHE_TABLE_MAX;
	if ((uint64_t)size < CODECACHE_TABLE_MAX)
		ci->linetable_len = (size_t)size;
	ci->linetable = malloc(ci->linetable_len);
	if (!ci->linetable ||
	    python_target__read(c->pid, addr + BYTES_DATA, ci->linetable, ci->linetable_len))
		return -1;
	return 0;
}

static uint64_t header_u64(const unsigned char *hdr, uint32_t off)
{
	uint64_t v;

	memcpy(&v, hdr + off, sizeof(v));
	return v;
}

/* The code object at code (an address with PYBPF_CODE_TAG's bits), if its
 * first line is still firstlineno and its file name's tag still matches. */
static struct codeinfo *read_code(const struct codecache *c, uint64_t code, int32_t firstlineno)
{
	const struct pybpf_offsets *o = &c->off;
	uint64_t addr = code & PYBPF_CODE_ADDR_MASK;
	unsigned char hdr[HEADER_MAX];
	struct codeinfo *ci;
	int32_t line;

	if (!addr || python_target__read(c->pid, addr, hdr, c->code_header))
		return NULL;
	memcpy(&line, hdr + o->code_firstlineno, sizeof(line));
	if (line != firstlineno ||
	    PYBPF_CODE_TAG(header_u64(hdr, o->code_filename)) != (code & ~PYBPF_CODE_ADDR_MASK))
		return NULL;
	ci = calloc(1, sizeof(*ci));
	if (!ci)
		return NULL;
	ci->firstlineno = line;
	ci->name = read_str(c, header_u64(hdr, o->code_name), CODECACHE_NAME_MAX);
	ci->filename = read_str(c, header_u64(hdr, o->code_filename), CODECACHE_FILENAME_MAX);
	if (!ci->name || !ci->filename ||
	    read_table(c, header_u64(hdr, o->code_linetable), ci)) {
		codeinfo_free(ci);
		return NULL;
	}
	return ci;
}

/* ---- the table ---- */

static size_t slot_hash(uint64_t code, int32_t firstlineno)
{
	uint64_t h = code ^ ((uint64_t)(uint32_t)firstlineno << 32);

	/* splitmix64's finalizer: code addresses differ mostly in middle bits */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return (size_t)h;
}

/* The slot holding (code, firstlineno), or the empty one where it goes. */
static struct slot *slot_find(struct slot *slots, size_t nslots, uint64_t code,
			      int32_t firstlineno)
{
	size_t i = slot_hash(code, firstlineno) & (nslots - 1);

	while (slots[i].used && (slots[i].code != code || slots[i].firstlineno != firstlineno))
		i = (i + 1) & (nslots - 1);
	return &slots[i];
}

/* Room for one more entry: doubles the table when it is half full. 0 or -1. */
static int make_room(struct codecache *c)
{
	size_t nslots = c->nslots * 2;
	struct slot *slots;

	if (c->count + 1 <= c->nslots / 2)
		return 0;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < c->nslots; i++) {
		if (c->slots[i].used)
			*slot_find(slots, nslots, c->slots[i].code, c->slots[i].firstlineno) =
				c->slots[i];
	}
	free(c->slots);
	c->slots = slots;
	c->nslots = nslots;
	return 0;
}

const struct codeinfo *codecache__get(struct codecache *c, uint64_t code, int32_t firstlineno)
{
	struct slot *s = slot_find(c->slots, c->nslots, code, firstlineno);
	struct codeinfo *ci;

	if (s->used)
		return s->ci;
	ci = read_code(c, code, firstlineno);
	if (c->count >= CODECACHE_MAX_ENTRIES || make_room(c)) {
		codeinfo_free(c->scratch);
		c->scratch = ci;
		return ci;
	}
	s = slot_find(c->slots, c->nslots, code, firstlineno);
	*s = (struct slot){ .code = code, .firstlineno = firstlineno, .used = true, .ci = ci };
	c->count++;
	return ci;
}

int32_t codecache__line(const struct codeinfo *ci, int minor, int32_t lasti)
{
	if (!ci)
		return 0;
	return linetable_line(minor, ci->linetable, ci->linetable_len, ci->firstlineno, lasti);
}
