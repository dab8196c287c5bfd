// SPDX-License-Identifier: GPL-2.0-only
/* The profile as CPython marshal data, in the encodings of marshal format
 * version 2 (no reference flags, no short forms), which every Python 3 reads. */
#include "pstats.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "output.h"

#define TYPE_NULL '0'
#define TYPE_INT 'i'
#define TYPE_LONG 'l'
#define TYPE_BINARY_FLOAT 'g'
#define TYPE_UNICODE 'u'
#define TYPE_TUPLE '('
#define TYPE_DICT '{'

#define LONG_DIGIT_BITS 15 /* marshal's TYPE_LONG digits, whatever the build's digit size */

struct writer {
	FILE *out;
	int err; /* first error, a negative errno */
};

static void put_bytes(struct writer *w, const void *buf, size_t n)
{
	if (w->err)
		return;
	errno = 0;
	if (fwrite(buf, 1, n, w->out) != n)
		w->err = errno > 0 ? -errno : -EIO;
}

static void put_byte(struct writer *w, uint8_t b)
{
	put_bytes(w, &b, 1);
}

/* Little-endian whatever the host order, as marshal stores everything. */
static void put_le(struct writer *w, uint64_t v, size_t nbytes)
{
	uint8_t buf[8];

	for (size_t i = 0; i < nbytes; i++)
		buf[i] = (uint8_t)(v >> (8 * i));
	put_bytes(w, buf, nbytes);
}

static void put_int32(struct writer *w, int32_t v)
{
	put_byte(w, TYPE_INT);
	put_le(w, (uint32_t)v, 4);
}

/* TYPE_INT when it fits, else TYPE_LONG with the most significant digit non-zero
 * (readers reject unnormalized digits). */
static void put_uint(struct writer *w, uint64_t v)
{
	int32_t ndigits = 0;

	if (v <= INT32_MAX) {
		put_int32(w, (int32_t)v);
		return;
	}
	for (uint64_t t = v; t; t >>= LONG_DIGIT_BITS)
		ndigits++;
	put_byte(w, TYPE_LONG);
	put_le(w, (uint32_t)ndigits, 4);
	for (; v; v >>= LONG_DIGIT_BITS)
		put_le(w, v & ((1u << LONG_DIGIT_BITS) - 1), 2);
}

static void put_seconds(struct writer *w, uint64_t ns)
{
	double s = (double)ns / 1e9;
	uint64_t bits;

	memcpy(&bits, &s, sizeof(bits));
	put_byte(w, TYPE_BINARY_FLOAT);
	put_le(w, bits, 8);
}

static void put_str(struct writer *w, const char *s)
{
	size_t n = strlen(s);

	if (n > INT32_MAX) {
		if (!w->err)
			w->err = -EOVERFLOW;
		return;
	}
	put_byte(w, TYPE_UNICODE);
	put_le(w, (uint32_t)n, 4);
	put_bytes(w, s, n);
}

static void put_tuple_head(struct writer *w, uint32_t n)
{
	put_byte(w, TYPE_TUPLE);
	put_le(w, n, 4);
}

/* cProfile's label(code): (co_filename, co_firstlineno, co_name). */
static void put_label(struct writer *w, const struct pybpf_func *f)
{
	put_tuple_head(w, 3);
	put_str(w, f->filename);
	put_int32(w, f->firstlineno);
	put_str(w, f->name);
}

/* cProfile.snapshot_stats stores callers as (nc, cc, tt, ct): not the entry order. */
static void put_callers(struct writer *w, const struct pybpf_profile *p,
			const struct pybpf_func *f)
{
	put_byte(w, TYPE_DICT);
	for (size_t i = 0; i < f->ncallers; i++) {
		const struct pybpf_caller *c = &f->callers[i];

		put_label(w, &p->funcs[c->func]);
		put_tuple_head(w, 4);
		put_uint(w, c->st.ncalls);
		put_uint(w, c->st.pcalls);
		put_seconds(w, c->st.tottime_ns);
		put_seconds(w, c->st.cumtime_ns);
	}
	put_byte(w, TYPE_NULL);
}

/* An entry's value: (cc, nc, tt, ct, callers). */
static void put_entry(struct writer *w, const struct pybpf_profile *p,
		      const struct pybpf_func *f)
{
	put_tuple_head(w, 5);
	put_uint(w, f->st.pcalls);
	put_uint(w, f->st.ncalls);
	put_seconds(w, f->st.tottime_ns);
	put_seconds(w, f->st.cumtime_ns);
	put_callers(w, p, f);
}

int pstats_write(const struct pybpf_profile *p, FILE *out)
{
	struct writer w = { .out = out };

	put_byte(&w, TYPE_DICT);
	for (size_t i = 0; i < p->nfuncs; i++) {
		put_label(&w, &p->funcs[i]);
		put_entry(&w, p, &p->funcs[i]);
	}
	put_byte(&w, TYPE_NULL);
	if (w.err)
		return w.err;
	errno = 0;
	if (fflush(out))
		return errno > 0 ? -errno : -EIO;
	return 0;
}

static int write_profile(FILE *f, const void *p)
{
	return pstats_write(p, f);
}

int pstats_write_file(const struct pybpf_profile *p, const char *path)
{
	return output_write_atomic(path, write_profile, p);
}
