// SPDX-License-Identifier: GPL-2.0-only
/* Python thread names read from a CPython's memory. The route:
 *   main interpreter -> sys.modules (interp->modules <=3.11,
 *   interp->imports.modules 3.12+) -> ["threading"] -> its md_dict ->
 *   ["_active"], a dict {ident: Thread} -> the Thread's "_name" attribute,
 * which lives in an instance dict (3.9/3.10), in a values array next to the
 * class's shared keys (3.11/3.12 managed dicts) or in values inlined after
 * the object (3.13+), unless the instance dict was materialised. Dict hashes
 * are randomised per process, so dicts are scanned entry by entry. Every
 * read is bounded and counted; whatever does not look right gives "". */
#include "pythreads.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "strutil.h"
#include "target.h"

/* Did not move in 3.9-3.15 (x86-64 GIL builds; offsetof() and live reads). */
#define OB_TYPE 0x08
#define TSTATE_INTERP 0x10 /* PyThreadState.interp */
#define OB_SIZE 0x10 /* PyVarObject.ob_size (ints <=3.11), PyLongObject.lv_tag (3.12+) */
#define MD_DICT 0x10 /* PyModuleObject.md_dict */
#define TPFLAGS_INLINE_VALUES (1ull << 2) /* 3.13+ */
#define TPFLAGS_MANAGED_DICT (1ull << 4)  /* 3.11+ */
#define TPFLAGS_HEAPTYPE (1ull << 9)
#define TPFLAGS_LONG_SUBCLASS (1ull << 24)
#define TPFLAGS_UNICODE_SUBCLASS (1ull << 28)
#define TPFLAGS_DICT_SUBCLASS (1ull << 29)
#define MANAGED_VALUES_BEFORE 32 /* 3.11: the values pointer sits at obj - 32 */
#define MANAGED_DICT_BEFORE 24   /* 3.11+: the dict pointer (3.12: or values - 1) at obj - 24 */
#define PYLONG_SHIFT 30
#define DICT_KEYS_SPLIT 2        /* dk_kind, 3.11+: GENERAL 0, UNICODE 1, SPLIT 2 */
#define STATE_COMPACT 0x20
#define STATE_ASCII 0x40

#define READ_BUDGET 100000       /* target reads per call: bounds a hostile target's cost */
#define DICT_MAX_ENTRIES 65536   /* entries scanned per dict */
#define DICT_MAX_LOG2 24
#define ENTRY_CHUNK 128          /* dict entries copied per read */
#define TYPE_CACHE 8
#define USER_END 0x800000000000ull /* x86-64 user space ends below */
#define WALK_TRIES 4             /* walks of a thread list that changed under us */

enum keys_layout {
	/* 3.9/3.10 (Objects/dict-common.h): dk_size 0x8, dk_nentries 0x20, indices
	 * at 0x28 (1, 2 or 4 bytes each by dk_size), entries {hash, key, value}. */
	KEYS_39,
	/* 3.11+: dk_log2_size 0x8, dk_log2_index_bytes 0x9, dk_kind 0xa,
	 * dk_nentries 0x18, indices at 0x20; entries {hash, key, value}, or
	 * {key, value} in str-keyed and split tables. */
	KEYS_311,
};

/* Where an instance keeps its attributes. */
enum attrs_layout {
	ATTRS_DICTOFFSET,  /* a dict at obj + tp_dictoffset (also types without a managed dict) */
	ATTRS_MANAGED_311, /* values at obj - 32, else a dict at obj - 24 */
	ATTRS_MANAGED_312, /* obj - 24 holds a dict, or values - 1 (bit 0 set) */
	ATTRS_INLINE_313,  /* a dict at obj - 24, else values at obj + tp_basicsize if valid */
};

struct layout {
	uint32_t interp_modules; /* PyInterpreterState: modules / imports.modules */
	uint32_t ht_cached_keys; /* PyHeapTypeObject: the keys its instances share */
	uint32_t type_flags, type_basicsize, type_dictoffset;
	uint32_t dict_keys, dict_values; /* PyDictObject.ma_keys, ma_values */
	uint32_t long_digits;    /* PyLongObject.ob_digit (30-bit digits in uint32) */
	uint8_t keys;            /* enum keys_layout */
	uint8_t attrs;           /* enum attrs_layout */
	uint8_t values_start;    /* PyDictValues.values: 8 from 3.13 (after capacity, size...) */
	bool long_tag;           /* 3.12+: lv_tag = ndigits << 3 | sign (0 +, 1 zero, 2 -) */
};

/* Fields at the same place in 3.9-3.15. */
#define SAME .type_flags = 0xa8, .type_basicsize = 0x20, .type_dictoffset = 0x120, \
	     .dict_keys = 0x20, .dict_values = 0x28, .long_digits = 0x18

/* offsetof() compiled with -DPy_BUILD_CORE against pyenv's 3.9.18, 3.10.13,
 * 3.11.7, 3.12.1 and 3.13.0 headers (scripts/pythreads-offsets.c prints
 * them), except the 3.9/3.10 keys objects
 * (Objects/dict-common.h, not installed: from the source). All, and sid's
 * 3.14.10 and 3.15.2 (no headers there), checked with ctypes in live
 * processes; tests/unit/test_pythreads.c reads names from each of them. From
 * 3.13 the target's _Py_DebugOffsets overrides what it describes
 * (debug_fields), e.g. imports.modules, which moved in 3.14.5. */
static const struct layout layouts[] = {
	[9] = { SAME, .interp_modules = 0x358, .ht_cached_keys = 0x360, .keys = KEYS_39,
		.attrs = ATTRS_DICTOFFSET },
	[10] = { SAME, .interp_modules = 0x358, .ht_cached_keys = 0x368, .keys = KEYS_39,
		 .attrs = ATTRS_DICTOFFSET },
	[11] = { SAME, .interp_modules = 0x378, .ht_cached_keys = 0x368, .keys = KEYS_311,
		 .attrs = ATTRS_MANAGED_311 },
	[12] = { SAME, .interp_modules = 0x3b0, .ht_cached_keys = 0x370, .keys = KEYS_311,
		 .attrs = ATTRS_MANAGED_312, .long_tag = true },
	[13] = { SAME, .interp_modules = 0x1de8, .ht_cached_keys = 0x370, .keys = KEYS_311,
		 .attrs = ATTRS_INLINE_313, .values_start = 8, .long_tag = true },
	[14] = { SAME, .interp_modules = 0x1e08, .ht_cached_keys = 0x370, .keys = KEYS_311,
		 .attrs = ATTRS_INLINE_313, .values_start = 8, .long_tag = true },
	[15] = { SAME, .interp_modules = 0x1da8, .ht_cached_keys = 0x378, .keys = KEYS_311,
		 .attrs = ATTRS_INLINE_313, .values_start = 8, .long_tag = true },
};

/* Members of _Py_DebugOffsets (3.13+) that give a layout field: where the
 * member and its group's size sit in the block. 3.13: offsetof() on pyenv
 * 3.13.0's pycore_runtime.h; 3.14/3.15: the member order of the reference
 * note §5 laid over blocks dumped from 3.14.10 and 3.15.2
 * (tests/unit/fixtures/debugoffsets), each value matching the table. */
#define LF(f) ((uint16_t)offsetof(struct layout, f))
#define CHECK_LV_TAG 0xffff /* not stored: must say lv_tag is at OB_SIZE */
static const struct {
	int minor;
	uint16_t block_size;
	int n;
	struct {
		uint16_t pos, size_pos, dest;
	} f[9];
} debug_fields[] = {
	{ 13, 584, 6, { { 88, 48, LF(interp_modules) }, { 392, 368, LF(type_flags) },
			{ 456, 448, LF(dict_keys) }, { 464, 448, LF(dict_values) },
			{ 504, 488, LF(long_digits) }, { 496, 488, CHECK_LV_TAG } } },
	{ 14, 760, 6, { { 96, 48, LF(interp_modules) }, { 440, 416, LF(type_flags) },
			{ 536, 528, LF(dict_keys) }, { 544, 528, LF(dict_values) },
			{ 584, 568, LF(long_digits) }, { 576, 568, CHECK_LV_TAG } } },
	{ 15, 888, 9, { { 96, 48, LF(interp_modules) }, { 504, 480, LF(type_flags) },
			{ 632, 624, LF(dict_keys) }, { 640, 624, LF(dict_values) },
			{ 680, 664, LF(long_digits) }, { 672, 664, CHECK_LV_TAG },
			{ 512, 480, LF(type_basicsize) }, { 520, 480, LF(type_dictoffset) },
			{ 536, 528, LF(ht_cached_keys) } } },
};
#define DEBUG_BLOCK_MAX 1024

struct type_info {
	uint64_t addr, flags, cached_keys;
	int64_t basicsize, dictoffset;
};

struct walk {
	pid_t pid;
	const struct pybpf_offsets *off;
	struct layout l;
	unsigned int reads;
	int last_error; /* of the last failed read: -errno */
	struct type_info types[TYPE_CACHE];
	unsigned int ntypes;
};

/* One dict's entries, wherever they are. */
struct table {
	uint64_t entries; /* address of entry 0 */
	uint64_t values;  /* split tables: address of values[0], else 0 */
	uint32_t n;       /* entries to scan */
	uint8_t entry_size, key_at, value_at;
};

typedef bool (*entry_fn)(struct walk *w, uint64_t key, uint64_t value, void *ctx);

static uint64_t get_u64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get_u32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static bool rd(struct walk *w, uint64_t addr, void *buf, size_t n)
{
	if (addr < 4096 || addr >= USER_END || n > USER_END - addr || w->reads >= READ_BUDGET) {
		w->last_error = -EFAULT;
		return false;
	}
	w->reads++;
	w->last_error = python_target__read(w->pid, addr, buf, n);
	return !w->last_error;
}

static bool rd_u64(struct walk *w, uint64_t addr, uint64_t *v)
{
	return rd(w, addr, v, sizeof(*v));
}

/* ---- layouts ---- */

static bool debug_field_ok(uint64_t v, uint64_t size)
{
	return v % 4 == 0 && size <= (1u << 20) && v + 8 <= size;
}

/* 3.13+: takes what the target's _Py_DebugOffsets says about our fields. */
static bool layout_from_debug(struct walk *w, uint64_t runtime, int minor)
{
	unsigned char b[DEBUG_BLOCK_MAX];

	for (size_t i = 0; i < sizeof(debug_fields) / sizeof(debug_fields[0]); i++) {
		if (debug_fields[i].minor != minor)
			continue;
		if (!rd(w, runtime, b, debug_fields[i].block_size) || memcmp(b, "xdebugpy", 8) ||
		    (get_u64(b + 8) >> 16) != (uint64_t)(0x300 | minor) || get_u64(b + 16))
			return false;
		for (int k = 0; k < debug_fields[i].n; k++) {
			uint64_t v = get_u64(b + debug_fields[i].f[k].pos);
			uint16_t dest = debug_fields[i].f[k].dest;
			uint32_t v32 = (uint32_t)v;

			if (!debug_field_ok(v, get_u64(b + debug_fields[i].f[k].size_pos)))
				return false;
			if (dest == CHECK_LV_TAG) {
				if (v != OB_SIZE)
					return false;
				continue;
			}
			memcpy((char *)&w->l + dest, &v32, sizeof(v32));
		}
	}
	return true;
}

/* ---- objects ---- */

/* The fields of obj's type that are read, cached by type address. */
static bool type_of(struct walk *w, uint64_t obj, struct type_info *out)
{
	const struct layout *l = &w->l;
	uint32_t lo = l->type_basicsize, hi = l->type_basicsize;
	unsigned char buf[512];
	struct type_info ti;
	uint64_t tp;

	if (!rd_u64(w, obj + OB_TYPE, &tp))
		return false;
	for (unsigned int i = 0; i < w->ntypes; i++) {
		if (w->types[i].addr == tp) {
			*out = w->types[i];
			return true;
		}
	}
	lo = l->type_flags < lo ? l->type_flags : lo;
	lo = l->type_dictoffset < lo ? l->type_dictoffset : lo;
	hi = l->type_flags > hi ? l->type_flags : hi;
	hi = l->type_dictoffset > hi ? l->type_dictoffset : hi;
	if (hi + 8 - lo > sizeof(buf) || !rd(w, tp + lo, buf, hi + 8 - lo))
		return false;
	ti.addr = tp;
	ti.flags = get_u64(buf + l->type_flags - lo);
	ti.basicsize = (int64_t)get_u64(buf + l->type_basicsize - lo);
	ti.dictoffset = (int64_t)get_u64(buf + l->type_dictoffset - lo);
	ti.cached_keys = 0;
	/* Only heap types (classes) are big enough to have shared keys. */
	if ((ti.flags & TPFLAGS_HEAPTYPE) && !rd_u64(w, tp + l->ht_cached_keys, &ti.cached_keys))
		return false;
	if (w->ntypes < TYPE_CACHE)
		w->ntypes++;
	else
		memmove(w->types, w->types + 1, sizeof(w->types) - sizeof(w->types[0]));
	w->types[w->ntypes - 1] = ti;
	*out = ti;
	return true;
}

static bool has_type_flag(struct walk *w, uint64_t obj, uint64_t flag)
{
	struct type_info ti;

	return type_of(w, obj, &ti) && (ti.flags & flag);
}

/* ---- dicts ---- */

/* Index bytes per slot of a 3.11+ table: log2 of it. */
static unsigned int log2_index_width(unsigned int log2_size)
{
	return log2_size < 8 ? 0 : log2_size < 16 ? 1 : log2_size < 32 ? 2 : 3;
}

static bool keys_39(struct walk *w, uint64_t keys, struct table *t, uint64_t *nentries)
{
	unsigned char h[0x28];
	uint64_t size, width;

	if (!rd(w, keys, h, sizeof(h)))
		return false;
	size = get_u64(h + 0x8);
	*nentries = get_u64(h + 0x20);
	if (size < 8 || size > (1ull << DICT_MAX_LOG2) || (size & (size - 1)) || *nentries > size)
		return false;
	width = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
	t->entries = keys + 0x28 + size * width;
	t->entry_size = 24;
	t->key_at = 8;
	t->value_at = 16;
	return true;
}

static bool keys_311(struct walk *w, uint64_t keys, bool split, struct table *t,
		     uint64_t *nentries)
{
	unsigned char h[0x20];
	unsigned int log2_size, log2_bytes, kind;

	if (!rd(w, keys, h, sizeof(h)))
		return false;
	log2_size = h[0x8];
	log2_bytes = h[0x9];
	kind = h[0xa];
	*nentries = get_u64(h + 0x18);
	if (log2_size < 3 || log2_size > DICT_MAX_LOG2 ||
	    log2_bytes != log2_size + log2_index_width(log2_size) || kind > DICT_KEYS_SPLIT ||
	    (kind == DICT_KEYS_SPLIT) != split || *nentries > (1ull << log2_size))
		return false;
	t->entries = keys + 0x20 + (1ull << log2_bytes);
	t->entry_size = kind ? 16 : 24;
	t->key_at = kind ? 0 : 8;
	t->value_at = kind ? 8 : 16;
	return true;
}

/* The entries of a keys object, with the values array of a split table.
 * inline_values: 3.13+ values after an object, used only when valid. */
static bool table_of_keys(struct walk *w, uint64_t keys, uint64_t values, bool inline_values,
			  struct table *t)
{
	uint64_t n = 0;
	bool ok;

	memset(t, 0, sizeof(*t));
	if (w->l.keys == KEYS_39)
		ok = keys_39(w, keys, t, &n);
	else
		ok = keys_311(w, keys, values != 0, t, &n);
	if (!ok)
		return false;
	if (values && w->l.values_start) {
		unsigned char h[4]; /* capacity, size, embedded, valid */

		if (!rd(w, values, h, sizeof(h)) || (inline_values && !h[3]))
			return false;
		n = n < h[0] ? n : h[0];
	}
	t->values = values ? values + w->l.values_start : 0;
	t->n = (uint32_t)(n < DICT_MAX_ENTRIES ? n : DICT_MAX_ENTRIES);
	return true;
}

static bool table_of_dict(struct walk *w, uint64_t dict, struct table *t)
{
	uint64_t keys, values;

	if (!has_type_flag(w, dict, TPFLAGS_DICT_SUBCLASS) ||
	    !rd_u64(w, dict + w->l.dict_keys, &keys) ||
	    !rd_u64(w, dict + w->l.dict_values, &values))
		return false;
	return table_of_keys(w, keys, values, false, t);
}

/* Calls fn for each live entry until it returns false. */
static void table_each(struct walk *w, const struct table *t, entry_fn fn, void *ctx)
{
	unsigned char buf[ENTRY_CHUNK * 24];
	uint64_t values[ENTRY_CHUNK];

	for (uint32_t i = 0; i < t->n; i += ENTRY_CHUNK) {
		uint32_t k = t->n - i < ENTRY_CHUNK ? t->n - i : ENTRY_CHUNK;
		uint64_t at = t->entries + (uint64_t)i * t->entry_size;

		if (!rd(w, at, buf, (size_t)k * t->entry_size))
			return;
		if (t->values && !rd(w, t->values + (uint64_t)i * 8, values, (size_t)k * 8))
			return;
		for (uint32_t j = 0; j < k; j++) {
			const unsigned char *e = buf + (size_t)j * t->entry_size;
			uint64_t key = get_u64(e + t->key_at);
			uint64_t value = t->values ? values[j] : get_u64(e + t->value_at);

			if (key && value && !fn(w, key, value, ctx))
				return;
		}
	}
}

/* s is the compact ASCII str `want` (len bytes, short). */
static bool str_equals(struct walk *w, uint64_t s, const char *want, size_t len)
{
	const struct pybpf_offsets *o = w->off;
	unsigned char buf[0x30 + 16];

	if (o->unicode_ascii_data + len > sizeof(buf) || o->unicode_length + 8 > sizeof(buf) ||
	    o->unicode_state + 4 > sizeof(buf) || !rd(w, s, buf, o->unicode_ascii_data + len))
		return false;
	return get_u64(buf + o->unicode_length) == len &&
	       (get_u32(buf + o->unicode_state) & (STATE_COMPACT | STATE_ASCII)) ==
		       (STATE_COMPACT | STATE_ASCII) &&
	       !memcmp(buf + o->unicode_ascii_data, want, len);
}

struct find_str {
	const char *want;
	uint64_t value;
};

static bool find_str_entry(struct walk *w, uint64_t key, uint64_t value, void *ctx)
{
	struct find_str *f = ctx;

	if (!str_equals(w, key, f->want, strlen(f->want)) ||
	    !has_type_flag(w, key, TPFLAGS_UNICODE_SUBCLASS))
		return true;
	f->value = value;
	return false;
}

static uint64_t table_find_str(struct walk *w, const struct table *t, const char *key)
{
	struct find_str f = { key, 0 };

	table_each(w, t, find_str_entry, &f);
	return f.value;
}

/* dict[key] for a str key, or 0. */
static uint64_t dict_find_str(struct walk *w, uint64_t dict, const char *key)
{
	struct table t;

	return table_of_dict(w, dict, &t) ? table_find_str(w, &t, key) : 0;
}

/* ---- ints, strs, attributes ---- */

/* A non-negative int that fits 64 bits. */
static bool long_value(struct walk *w, uint64_t obj, uint64_t *v)
{
	unsigned char buf[0x40];
	uint64_t size, ndigits;

	if (w->l.long_digits + 12 > sizeof(buf) || !rd(w, obj, buf, w->l.long_digits + 12))
		return false;
	size = get_u64(buf + OB_SIZE);
	if (w->l.long_tag && (size & 3) == 2)
		return false;
	ndigits = w->l.long_tag ? size >> 3 : size; /* ob_size < 0: negative, too big */
	if (ndigits > 3 || !has_type_flag(w, obj, TPFLAGS_LONG_SUBCLASS))
		return false;
	*v = 0;
	for (unsigned int i = 0; i < ndigits; i++) {
		uint64_t d = get_u32(buf + w->l.long_digits + 4 * i);

		if (d >> PYLONG_SHIFT || (i == 2 && d >> (64 - 2 * PYLONG_SHIFT)))
			return false;
		*v |= d << (PYLONG_SHIFT * i);
	}
	return true;
}

/* A str as UTF-8 in out (PYTHREADS_NAME_LEN bytes), cut at a character. */
static bool str_utf8(struct walk *w, uint64_t s, char *out)
{
	const struct pybpf_offsets *o = w->off;
	unsigned char h[0x30], raw[(PYTHREADS_NAME_LEN - 1) * 4];
	uint32_t state, kind;
	uint64_t data;
	int64_t len;

	if (o->unicode_ascii_data > sizeof(h) || o->unicode_length + 8 > o->unicode_ascii_data ||
	    o->unicode_state + 4 > o->unicode_ascii_data || !rd(w, s, h, o->unicode_ascii_data) ||
	    !has_type_flag(w, s, TPFLAGS_UNICODE_SUBCLASS))
		return false;
	state = get_u32(h + o->unicode_state);
	kind = (state >> 2) & 7;
	len = (int64_t)get_u64(h + o->unicode_length);
	if (!(state & STATE_COMPACT) || (kind != 1 && kind != 2 && kind != 4) || len < 0 ||
	    ((state & STATE_ASCII) && kind != 1))
		return false;
	data = s + (state & STATE_ASCII ? o->unicode_ascii_data : o->unicode_compact_data);
	len = len < PYTHREADS_NAME_LEN - 1 ? len : PYTHREADS_NAME_LEN - 1;
	if (len && !rd(w, data, raw, (size_t)len * kind))
		return false;
	ucs_to_utf8(raw, (size_t)len * kind, kind, out, PYTHREADS_NAME_LEN);
	return true;
}

static uint64_t values_find_str(struct walk *w, const struct type_info *ti, uint64_t values,
				bool inline_values, const char *name)
{
	struct table t;

	if (!ti->cached_keys || !table_of_keys(w, ti->cached_keys, values, inline_values, &t))
		return 0;
	return table_find_str(w, &t, name);
}

/* The value of obj's instance attribute `name` (not looked up in its class), or 0. */
static uint64_t attr_of(struct walk *w, uint64_t obj, const char *name)
{
	uint64_t pre[4], dict; /* pre: obj - 32 .. obj */
	struct type_info ti;

	if (!type_of(w, obj, &ti))
		return 0;
	if (w->l.attrs == ATTRS_DICTOFFSET || !(ti.flags & TPFLAGS_MANAGED_DICT)) {
		if (ti.dictoffset <= 0 || ti.dictoffset > 4096 ||
		    !rd_u64(w, obj + (uint64_t)ti.dictoffset, &dict))
			return 0;
		return dict ? dict_find_str(w, dict, name) : 0;
	}
	if (!rd(w, obj - MANAGED_VALUES_BEFORE, pre, sizeof(pre)))
		return 0;
	dict = pre[(MANAGED_VALUES_BEFORE - MANAGED_DICT_BEFORE) / 8];
	switch (w->l.attrs) {
	case ATTRS_MANAGED_311:
		if (pre[0])
			return values_find_str(w, &ti, pre[0], false, name);
		break;
	case ATTRS_MANAGED_312:
		if (dict & 1)
			return values_find_str(w, &ti, dict + 1, false, name);
		break;
	case ATTRS_INLINE_313:
		if (!dict && (ti.flags & TPFLAGS_INLINE_VALUES) && ti.basicsize > 0 &&
		    ti.basicsize <= 4096)
			return values_find_str(w, &ti, obj + (uint64_t)ti.basicsize, true, name);
		break;
	}
	return dict ? dict_find_str(w, dict, name) : 0;
}

/* ---- threads ---- */

struct by_ident {
	uint64_t ident;
	size_t index;
};

static int by_ident_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct by_ident *)a)->ident, y = ((const struct by_ident *)b)->ident;

	return x < y ? -1 : x > y;
}

struct naming {
	struct pythread *threads;
	const struct by_ident *sorted;
	size_t n, named;
};

/* One entry of threading._active: {ident: Thread}. */
static bool name_entry(struct walk *w, uint64_t key, uint64_t value, void *ctx)
{
	struct naming *nm = ctx;
	struct by_ident want, *hit;
	struct pythread *th;
	uint64_t name;

	if (!long_value(w, key, &want.ident))
		return true;
	hit = bsearch(&want, nm->sorted, nm->n, sizeof(*nm->sorted), by_ident_cmp);
	if (!hit || nm->threads[hit->index].name[0])
		return true;
	th = &nm->threads[hit->index];
	name = attr_of(w, value, "_name");
	if (name && str_utf8(w, name, th->name) && th->name[0])
		nm->named++;
	return nm->named < nm->n;
}

static void names_fill(struct walk *w, uint64_t interp, struct pythread *th, size_t n)
{
	struct naming nm = { th, NULL, n, 0 };
	struct by_ident *sorted;
	uint64_t modules, threading, md_dict, active;
	struct table t;

	if (!n || !rd_u64(w, interp + w->l.interp_modules, &modules) ||
	    !(threading = dict_find_str(w, modules, "threading")) ||
	    !rd_u64(w, threading + MD_DICT, &md_dict) ||
	    !(active = dict_find_str(w, md_dict, "_active")) || !table_of_dict(w, active, &t))
		return;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return;
	for (size_t i = 0; i < n; i++)
		sorted[i] = (struct by_ident){ th[i].ident, i };
	qsort(sorted, n, sizeof(*sorted), by_ident_cmp);
	nm.sorted = sorted;
	table_each(w, &t, name_entry, &nm);
	free(sorted);
}

static bool seen(const uint64_t *addrs, size_t n, uint64_t a)
{
	for (size_t i = 0; i < n; i++) {
		if (addrs[i] == a)
			return true;
	}
	return false;
}

/* The thread states of interp, newest first, at most PYTHREADS_MAX. A
 * thread that ends while we walk frees its state, whose next pointer then
 * leads nowhere: the walk is clean only if it ends at NULL with every state
 * naming interp. */
static bool threads_walk(struct walk *w, uint64_t interp, struct pythread *th, uint64_t *addrs,
			 size_t *n)
{
	const struct pybpf_offsets *o = w->off;
	uint32_t span = o->tstate_next > o->tstate_thread_id ? o->tstate_next : o->tstate_thread_id;
	bool has_native = o->tstate_native_tid != PYBPF_NO_OFFSET;
	unsigned char buf[512];
	uint64_t ts;

	*n = 0;
	if (has_native && o->tstate_native_tid > span)
		span = o->tstate_native_tid;
	span = (span > TSTATE_INTERP ? span : TSTATE_INTERP) + 8;
	if (span > sizeof(buf) || !rd_u64(w, interp + o->interp_threads_head, &ts))
		return false;
	for (; ts; ts = get_u64(buf + o->tstate_next)) {
		uint64_t native;

		if (*n == PYTHREADS_MAX)
			return true;
		if (seen(addrs, *n, ts) || !rd(w, ts, buf, span) ||
		    get_u64(buf + TSTATE_INTERP) != interp)
			return false;
		memset(&th[*n], 0, sizeof(th[*n]));
		th[*n].ident = get_u64(buf + o->tstate_thread_id);
		native = has_native ? get_u64(buf + o->tstate_native_tid) : 0;
		th[*n].native_tid = native <= UINT32_MAX ? (uint32_t)native : 0;
		addrs[(*n)++] = ts;
	}
	return true;
}

int pythreads_read(const struct python_target *t, const struct pybpf_offsets *off,
		   struct pythread **out, size_t *n, struct pybpf_err *err)
{
	struct walk w = { .pid = t->pid, .off = off };
	bool names = t->major == 3 && t->minor >= 9 &&
		     t->minor < (int)(sizeof(layouts) / sizeof(layouts[0]));
	uint64_t interp, head = 0, *addrs;
	struct pythread *th;
	int tries = 0;

	*out = NULL;
	*n = 0;
	if (!rd_u64(&w, t->runtime_addr + off->runtime_interp_main, &interp) ||
	    (interp && !rd_u64(&w, interp + off->interp_threads_head, &head))) {
		err_set(err, "PID %d: cannot read the thread list of CPython %s: %s", t->pid,
			t->version, w.last_error == -ESRCH || w.last_error == -ENOENT ?
			"the process is gone" : strerror(-w.last_error));
		return -1;
	}
	if (!interp) {
		err_set(err, "PID %d: CPython %s has no main interpreter (starting or exiting)",
			t->pid, t->version);
		return -1;
	}
	th = malloc(PYTHREADS_MAX * sizeof(*th));
	addrs = malloc(PYTHREADS_MAX * sizeof(*addrs));
	if (!th || !addrs) {
		free(th);
		free(addrs);
		err_set(err, "PID %d: cannot list its Python threads: %s", t->pid,
			strerror(ENOMEM));
		return -1;
	}
	while (!threads_walk(&w, interp, th, addrs, n) && ++tries < WALK_TRIES)
		;
	free(addrs);
	if (names) {
		w.l = layouts[t->minor];
		if (layout_from_debug(&w, t->runtime_addr, t->minor))
			names_fill(&w, interp, th, *n);
	}
	if (!*n) {
		free(th);
		return 0;
	}
	*out = realloc(th, *n * sizeof(*th));
	if (!*out)
		*out = th;
	return 0;
}
