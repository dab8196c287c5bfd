/* SPDX-License-Identifier: GPL-2.0-only */
/* The sampled profile, resolved: distinct frames as labels, stacks of frame
 * indices with their sample counts, per thread. What the sampler drains,
 * what the report and every output format read. */
#ifndef PYBPF_SAMPLEPROF_H
#define PYBPF_SAMPLEPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashindex.h"
#include "pybpf.h"

/* One distinct (function, line): a function is (filename, firstlineno, name),
 * cProfile's label; line is the line that was running (0 when unknown). */
struct sample_frame {
	char *filename; /* valid UTF-8, unescaped: each writer escapes for its format */
	char *name;
	int32_t firstlineno;
	int32_t line;
};

struct sample_thread {
	uint32_t tid;    /* host TID */
	char name[64];   /* Python thread name (threading.Thread.name), else the OS name; UTF-8 */
};

struct sample_stack {
	size_t thread;   /* index in threads */
	size_t *frames;  /* indices in frames, ROOT FIRST: frames[nframes - 1] was running */
	size_t nframes;  /* 0: the thread was in no Python frame */
	bool truncated;  /* frames beyond PYBPF_SAMPLE_DEPTH on the root side were dropped */
	uint64_t samples[PYBPF_SAMPLE_KINDS]; /* by enum pybpf_sample_kind */
	uint64_t ns[PYBPF_SAMPLE_KINDS];      /* time those samples stand for */
};

/* Samples not in any stack, by cause (printed under the report). */
struct sample_losses {
	uint64_t no_tstate;     /* thread with no Python thread state (native thread) */
	uint64_t read_errors;   /* target memory unreadable while walking */
	uint64_t stacks_full;   /* stacks map full */
	uint64_t counts_full;   /* counts map full */
	uint64_t unresolved;    /* frames whose code object was gone or changed before it was read */
};

enum sample_mode { SAMPLE_MODE_CPU, SAMPLE_MODE_OFFCPU, SAMPLE_MODE_WALL };

struct sample_profile {
	/* Header facts. */
	int pid;
	char comm[64];
	char python_version[32];
	char binary[4096];
	char build[16];          /* "static" or "shared" */
	enum sample_mode mode;
	unsigned int hz;
	double wall_seconds;     /* time sampled */
	struct sample_losses losses;
	/* Data. */
	struct sample_frame *frames;
	size_t nframes, frames_cap;
	struct sample_thread *threads;
	size_t nthreads, threads_cap;
	struct sample_stack *stacks;
	size_t nstacks, stacks_cap;
	struct hash_index frame_index; /* internal */
	struct hash_index stack_index; /* internal */
};

void sample_profile_init(struct sample_profile *p);
void sample_profile_free(struct sample_profile *p);
/* Index of the frame with this label and line, added (strings copied and
 * made valid UTF-8) if new; -1 on ENOMEM. */
long sample_profile_frame(struct sample_profile *p, const char *filename, int32_t firstlineno,
			  const char *name, int32_t line);
/* Index of thread tid, added with `name` if new (made valid UTF-8, cut at a
 * whole character to fit; NULL is ""); a known thread with no name yet takes
 * `name`. -1 on ENOMEM. */
long sample_profile_thread(struct sample_profile *p, uint32_t tid, const char *name);
/* Adds a stack (frames root first, copied); merges into an equal stack of
 * the same thread and truncation. 0, -ENOMEM, or -EINVAL for a thread, frame
 * or kind out of range (nothing added). */
int sample_profile_add(struct sample_profile *p, size_t thread, const size_t *frames,
		       size_t nframes, bool truncated, enum pybpf_sample_kind kind,
		       uint64_t samples, uint64_t ns);
/* Samples in stacks, of one kind or (kind < 0) of all. */
uint64_t sample_profile_total(const struct sample_profile *p, int kind);
const char *sample_mode_name(enum sample_mode m);
/* Most samples could not be read (a layout that reads garbage): more found
 * no Python thread state or unreadable memory than were recorded, out of at
 * least 20 samples, or none was recorded at all. */
bool sample_profile_mostly_lost(const struct sample_profile *p);
/* The indices of all stacks grouped by thread (threads in index order), each
 * thread's in insertion order: the order every writer uses. Malloc'ed
 * (p->nstacks entries, never NULL for 0 stacks); NULL on ENOMEM. */
size_t *sample_profile_stacks_by_thread(const struct sample_profile *p);

#endif
