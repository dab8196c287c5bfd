// SPDX-License-Identifier: GPL-2.0-only
#include "profile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

void profile_init(struct pybpf_profile *p)
{
	memset(p, 0, sizeof(*p));
}

void profile_free(struct pybpf_profile *p)
{
	for (size_t i = 0; i < p->nfuncs; i++) {
		free(p->funcs[i].filename);
		free(p->funcs[i].name);
		free(p->funcs[i].callers);
		free(p->funcs[i].latency);
	}
	free(p->funcs);
	hash_index_free(&p->index);
	memset(p, 0, sizeof(*p));
}

static uint64_t label_hash(const char *filename, int32_t line, const char *name)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (const char *s = filename; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	h = (h ^ (uint32_t)line) * 1099511628211ull;
	for (const char *s = name; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int label_equal(const struct pybpf_func *f, const char *filename, int32_t line,
		       const char *name)
{
	return f->firstlineno == line && !strcmp(f->name, name) && !strcmp(f->filename, filename);
}

/* Slot of a label in the index: either holding it or empty. */
static size_t index_slot(const struct pybpf_profile *p, const char *filename, int32_t line,
			 const char *name)
{
	const struct hash_index *x = &p->index;
	size_t i = hash_index_start(x, label_hash(filename, line, name));
	while (x->slots[i] && !label_equal(&p->funcs[x->slots[i] - 1], filename, line, name))
		i = hash_index_next(x, i);
	return i;
}

static uint64_t label_hash_at(const void *ctx, size_t i)
{
	const struct pybpf_func *f = &((const struct pybpf_profile *)ctx)->funcs[i];

	return label_hash(f->filename, f->firstlineno, f->name);
}

/* Index of a label already made valid UTF-8, or -1. */
static long find_sanitized(const struct pybpf_profile *p, const char *filename,
			   int32_t firstlineno, const char *name)
{
	if (!p->index.cap)
		return -1;
	size_t slot = index_slot(p, filename, firstlineno, name);
	return p->index.slots[slot] ? (long)p->index.slots[slot] - 1 : -1;
}

long profile_find(const struct pybpf_profile *p, const char *filename, int32_t firstlineno,
		  const char *name)
{
	char *file_utf8 = utf8_sanitize(filename), *name_utf8 = utf8_sanitize(name);
	long found = file_utf8 && name_utf8 ? find_sanitized(p, file_utf8, firstlineno, name_utf8)
					    : -1;

	free(file_utf8);
	free(name_utf8);
	return found;
}

long profile_intern(struct pybpf_profile *p, const char *filename, int32_t firstlineno,
		    const char *name)
{
	char *file_utf8 = utf8_sanitize(filename), *name_utf8 = utf8_sanitize(name);
	long found = -1;

	if (!file_utf8 || !name_utf8)
		goto fail;
	found = find_sanitized(p, file_utf8, firstlineno, name_utf8);
	if (found >= 0) {
		free(file_utf8);
		free(name_utf8);
		return found;
	}
	if (hash_index_reserve(&p->index, p->nfuncs, 256, label_hash_at, p))
		goto fail;
	if (p->nfuncs == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 128;
		struct pybpf_func *funcs = realloc(p->funcs, cap * sizeof(*funcs));
		if (!funcs)
			goto fail;
		p->funcs = funcs;
		p->cap = cap;
	}
	struct pybpf_func *f = &p->funcs[p->nfuncs];
	memset(f, 0, sizeof(*f));
	f->filename = file_utf8;
	f->name = name_utf8;
	f->firstlineno = firstlineno;
	p->index.slots[index_slot(p, file_utf8, firstlineno, name_utf8)] = ++p->nfuncs;
	return (long)p->nfuncs - 1;
fail:
	free(file_utf8);
	free(name_utf8);
	return -1;
}

void stats_add(struct pybpf_stats *dst, const struct pybpf_stats *src)
{
	dst->ncalls += src->ncalls;
	dst->pcalls += src->pcalls;
	dst->tottime_ns += src->tottime_ns;
	dst->cumtime_ns += src->cumtime_ns;
	dst->offcpu_ns += src->offcpu_ns;
}

void profile_add(struct pybpf_profile *p, size_t func, const struct pybpf_stats *st)
{
	stats_add(&p->funcs[func].st, st);
}

int profile_add_caller(struct pybpf_profile *p, size_t callee, size_t caller,
		       const struct pybpf_stats *st)
{
	struct pybpf_func *f = &p->funcs[callee];
	for (size_t i = 0; i < f->ncallers; i++) {
		if (f->callers[i].func == caller) {
			stats_add(&f->callers[i].st, st);
			return 0;
		}
	}
	if (f->ncallers == f->callers_cap) {
		size_t cap = f->callers_cap ? f->callers_cap * 2 : 4;
		struct pybpf_caller *c = realloc(f->callers, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		f->callers = c;
		f->callers_cap = cap;
	}
	f->callers[f->ncallers].func = caller;
	f->callers[f->ncallers].st = *st;
	f->ncallers++;
	return 0;
}

int profile_add_latency(struct pybpf_profile *p, size_t func,
			const uint64_t slots[PYBPF_HIST_SLOTS])
{
	struct pybpf_func *f = &p->funcs[func];

	if (!f->latency) {
		f->latency = calloc(PYBPF_HIST_SLOTS, sizeof(*f->latency));
		if (!f->latency)
			return -ENOMEM;
	}
	for (size_t k = 0; k < PYBPF_HIST_SLOTS; k++)
		f->latency[k] += slots[k];
	return 0;
}

uint64_t profile_total_calls(const struct pybpf_profile *p)
{
	uint64_t n = 0;
	for (size_t i = 0; i < p->nfuncs; i++)
		n += p->funcs[i].st.ncalls;
	return n;
}

uint64_t profile_prim_calls(const struct pybpf_profile *p)
{
	uint64_t n = 0;
	for (size_t i = 0; i < p->nfuncs; i++)
		n += p->funcs[i].st.pcalls;
	return n;
}

uint64_t profile_total_tt_ns(const struct pybpf_profile *p)
{
	uint64_t n = 0;
	for (size_t i = 0; i < p->nfuncs; i++)
		n += p->funcs[i].st.tottime_ns;
	return n;
}

bool profile_mostly_unread(const struct pybpf_profile *p)
{
	uint64_t failed = p->losses.read_errors, calls = profile_total_calls(p);

	return failed + calls >= 100 && failed > calls;
}
