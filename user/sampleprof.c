// SPDX-License-Identifier: GPL-2.0-only
/* The resolved sampled profile: frames interned by label and line, threads
 * by TID, stacks merged by (thread, frames, truncation), each through an
 * open-addressing hash of slot + 1 (0 is an empty slot). */
#include "sampleprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

void sample_profile_init(struct sample_profile *p)
{
	memset(p, 0, sizeof(*p));
}

void sample_profile_free(struct sample_profile *p)
{
	for (size_t i = 0; i < p->nframes; i++) {
		free(p->frames[i].filename);
		free(p->frames[i].name);
	}
	for (size_t i = 0; i < p->nstacks; i++)
		free(p->stacks[i].frames);
	free(p->frames);
	free(p->threads);
	free(p->stacks);
	hash_index_free(&p->frame_index);
	hash_index_free(&p->stack_index);
	memset(p, 0, sizeof(*p));
}

/* Items of a growing array with room for one more (n used of *cap), or NULL
 * on ENOMEM with items and *cap unchanged. */
static void *reserve(void *items, size_t *cap, size_t n, size_t size)
{
	size_t new_cap;
	void *grown;

	if (n < *cap)
		return items;
	new_cap = *cap ? *cap * 2 : 64;
	grown = realloc(items, new_cap * size);
	if (grown)
		*cap = new_cap;
	return grown;
}

/* ---- frames ---- */

static uint64_t hash_bytes(uint64_t h, const void *buf, size_t n)
{
	const unsigned char *b = buf;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * FNV_PRIME;
	return h;
}

static uint64_t frame_hash(const char *filename, int32_t firstlineno, const char *name,
			   int32_t line)
{
	uint64_t h = hash_bytes(FNV_OFFSET, filename, strlen(filename) + 1);

	h = hash_bytes(h, &firstlineno, sizeof(firstlineno));
	h = hash_bytes(h, name, strlen(name) + 1);
	return hash_bytes(h, &line, sizeof(line));
}

static bool frame_equal(const struct sample_frame *f, const char *filename, int32_t firstlineno,
			const char *name, int32_t line)
{
	return f->firstlineno == firstlineno && f->line == line && !strcmp(f->name, name) &&
	       !strcmp(f->filename, filename);
}

/* Slot of a frame in the index: either holding it or empty. */
static size_t frame_slot(const struct sample_profile *p, const char *filename,
			 int32_t firstlineno, const char *name, int32_t line)
{
	const struct hash_index *x = &p->frame_index;
	size_t i = hash_index_start(x, frame_hash(filename, firstlineno, name, line));

	while (x->slots[i] &&
	       !frame_equal(&p->frames[x->slots[i] - 1], filename, firstlineno, name, line))
		i = hash_index_next(x, i);
	return i;
}

static uint64_t frame_hash_at(const void *ctx, size_t i)
{
	const struct sample_frame *f = &((const struct sample_profile *)ctx)->frames[i];

	return frame_hash(f->filename, f->firstlineno, f->name, f->line);
}

/* Adds a frame known to be new, taking ownership of the sanitized strings. */
static long frame_append(struct sample_profile *p, char *filename, int32_t firstlineno,
			 char *name, int32_t line)
{
	struct sample_frame *frames, *f;

	if (hash_index_reserve(&p->frame_index, p->nframes, 256, frame_hash_at, p))
		return -1;
	frames = reserve(p->frames, &p->frames_cap, p->nframes, sizeof(*frames));
	if (!frames)
		return -1;
	p->frames = frames;
	f = &frames[p->nframes];
	*f = (struct sample_frame){ .filename = filename, .name = name,
				    .firstlineno = firstlineno, .line = line };
	p->frame_index.slots[frame_slot(p, filename, firstlineno, name, line)] = ++p->nframes;
	return (long)p->nframes - 1;
}

long sample_profile_frame(struct sample_profile *p, const char *filename, int32_t firstlineno,
			  const char *name, int32_t line)
{
	char *file_utf8 = utf8_sanitize(filename), *name_utf8 = utf8_sanitize(name);
	long found = -1;

	if (!file_utf8 || !name_utf8)
		goto out;
	if (p->frame_index.cap) {
		size_t slot = frame_slot(p, file_utf8, firstlineno, name_utf8, line);

		if (p->frame_index.slots[slot]) {
			found = (long)p->frame_index.slots[slot] - 1;
			goto out;
		}
	}
	found = frame_append(p, file_utf8, firstlineno, name_utf8, line);
	if (found >= 0)
		return found;
out:
	free(file_utf8);
	free(name_utf8);
	return found;
}

/* ---- threads ---- */

/* Copies s into dst (size n, terminated), valid UTF-8, cut at a whole character. */
static int copy_thread_name(char *dst, size_t n, const char *s)
{
	char *utf8 = utf8_sanitize(s ? s : "");
	size_t len;

	if (!utf8)
		return -ENOMEM;
	len = strlen(utf8);
	if (len >= n) {
		len = n - 1;
		while (len && ((unsigned char)utf8[len] & 0xc0) == 0x80)
			len--; /* utf8[len] continues a character: cut before it */
	}
	memcpy(dst, utf8, len);
	dst[len] = '\0';
	free(utf8);
	return 0;
}

/* Threads are few (one per sampled Python thread): a linear search. */
long sample_profile_thread(struct sample_profile *p, uint32_t tid, const char *name)
{
	struct sample_thread *threads, *t;

	for (size_t i = 0; i < p->nthreads; i++) {
		t = &p->threads[i];
		if (t->tid != tid)
			continue;
		if (!t->name[0] && name && name[0] &&
		    copy_thread_name(t->name, sizeof(t->name), name))
			return -1;
		return (long)i;
	}
	threads = reserve(p->threads, &p->threads_cap, p->nthreads, sizeof(*threads));
	if (!threads)
		return -1;
	p->threads = threads;
	t = &threads[p->nthreads];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	if (copy_thread_name(t->name, sizeof(t->name), name))
		return -1;
	return (long)p->nthreads++;
}

/* ---- stacks ---- */

static uint64_t stack_hash(size_t thread, const size_t *frames, size_t nframes, bool truncated)
{
	uint64_t h = hash_bytes(FNV_OFFSET, &thread, sizeof(thread));

	h = hash_bytes(h, &truncated, sizeof(truncated));
	h = hash_bytes(h, &nframes, sizeof(nframes));
	return hash_bytes(h, frames, nframes * sizeof(*frames));
}

static bool stack_equal(const struct sample_stack *s, size_t thread, const size_t *frames,
			size_t nframes, bool truncated)
{
	return s->thread == thread && s->truncated == truncated && s->nframes == nframes &&
	       (!nframes || !memcmp(s->frames, frames, nframes * sizeof(*frames)));
}

static size_t stack_slot(const struct sample_profile *p, size_t thread, const size_t *frames,
			 size_t nframes, bool truncated)
{
	const struct hash_index *x = &p->stack_index;
	size_t i = hash_index_start(x, stack_hash(thread, frames, nframes, truncated));

	while (x->slots[i] &&
	       !stack_equal(&p->stacks[x->slots[i] - 1], thread, frames, nframes, truncated))
		i = hash_index_next(x, i);
	return i;
}

static uint64_t stack_hash_at(const void *ctx, size_t i)
{
	const struct sample_stack *s = &((const struct sample_profile *)ctx)->stacks[i];

	return stack_hash(s->thread, s->frames, s->nframes, s->truncated);
}

/* A new, empty stack (frames copied) at the end; NULL on ENOMEM. */
static struct sample_stack *stack_append(struct sample_profile *p, size_t thread,
					 const size_t *frames, size_t nframes, bool truncated)
{
	struct sample_stack *stacks, *s;
	size_t *copy = NULL;

	if (hash_index_reserve(&p->stack_index, p->nstacks, 1024, stack_hash_at, p))
		return NULL;
	stacks = reserve(p->stacks, &p->stacks_cap, p->nstacks, sizeof(*stacks));
	if (!stacks)
		return NULL;
	p->stacks = stacks;
	if (nframes) {
		copy = malloc(nframes * sizeof(*copy));
		if (!copy)
			return NULL;
		memcpy(copy, frames, nframes * sizeof(*copy));
	}
	s = &p->stacks[p->nstacks];
	*s = (struct sample_stack){ .thread = thread, .frames = copy, .nframes = nframes,
				    .truncated = truncated };
	p->stack_index.slots[stack_slot(p, thread, copy, nframes, truncated)] = ++p->nstacks;
	return s;
}

static bool stack_valid(const struct sample_profile *p, size_t thread, const size_t *frames,
			size_t nframes, enum pybpf_sample_kind kind)
{
	if (thread >= p->nthreads || (unsigned int)kind >= PYBPF_SAMPLE_KINDS ||
	    (nframes && !frames))
		return false;
	for (size_t i = 0; i < nframes; i++) {
		if (frames[i] >= p->nframes)
			return false;
	}
	return true;
}

int sample_profile_add(struct sample_profile *p, size_t thread, const size_t *frames,
		       size_t nframes, bool truncated, enum pybpf_sample_kind kind,
		       uint64_t samples, uint64_t ns)
{
	struct sample_stack *s = NULL;

	if (!stack_valid(p, thread, frames, nframes, kind))
		return -EINVAL;
	if (p->stack_index.cap) {
		size_t slot = stack_slot(p, thread, frames, nframes, truncated);

		if (p->stack_index.slots[slot])
			s = &p->stacks[p->stack_index.slots[slot] - 1];
	}
	if (!s)
		s = stack_append(p, thread, frames, nframes, truncated);
	if (!s)
		return -ENOMEM;
	s->samples[kind] += samples;
	s->ns[kind] += ns;
	return 0;
}

uint64_t sample_profile_total(const struct sample_profile *p, int kind)
{
	uint64_t n = 0;

	if (kind >= PYBPF_SAMPLE_KINDS)
		return 0;
	for (size_t i = 0; i < p->nstacks; i++) {
		for (int k = 0; k < PYBPF_SAMPLE_KINDS; k++) {
			if (kind < 0 || k == kind)
				n += p->stacks[i].samples[k];
		}
	}
	return n;
}

const char *sample_mode_name(enum sample_mode m)
{
	switch (m) {
	case SAMPLE_MODE_CPU:
		return "cpu";
	case SAMPLE_MODE_OFFCPU:
		return "offcpu";
	case SAMPLE_MODE_WALL:
		return "wall";
	}
	return "unknown";
}

/* A counting sort by thread: stable, so each thread keeps insertion order. */
size_t *sample_profile_stacks_by_thread(const struct sample_profile *p)
{
	size_t *order = malloc((p->nstacks ? p->nstacks : 1) * sizeof(*order));
	size_t *start = calloc(p->nthreads + 1, sizeof(*start));

	if (!order || !start) {
		free(order);
		free(start);
		return NULL;
	}
	for (size_t i = 0; i < p->nstacks; i++)
		start[p->stacks[i].thread + 1]++;
	for (size_t t = 0; t < p->nthreads; t++)
		start[t + 1] += start[t];
	for (size_t i = 0; i < p->nstacks; i++)
		order[start[p->stacks[i].thread]++] = i;
	free(start);
	return order;
}

bool sample_profile_mostly_lost(const struct sample_profile *p)
{
	uint64_t lost = p->losses.no_tstate + p->losses.read_errors;
	uint64_t kept = sample_profile_total(p, -1);

	return lost > kept && (kept == 0 || lost + kept >= 20);
}
