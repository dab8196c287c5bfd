// SPDX-License-Identifier: GPL-2.0-only
/* Files of a host-wide run: one per process, or one for the host (the -o
 * directory with its index, a merged sampled profile). Each file is written
 * atomically by pstats_write_file or output_write_file; one that fails is
 * reported and the others are still written. */
#include "hostfiles.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "profile.h"
#include "pstats.h"
#include "sample_pstats.h"
#include "strutil.h"

#define PID_PATTERN "{pid}"
#define MERGED_COMM "all-python"
#define NO_COMMAND "[no command line]"
#define ID_MAX 32

static const char index_header[] = "file\tpid\tns_pid\tcommand\tversion\tbuild\tbackend\tfrom_s\t"
				   "to_s\tend\tncalls\n";

static int report_failure(const char *path, int err)
{
	pybpf_warn("cannot write %s: %s", path, strerror(-err));
	return 1;
}

/* "1234", or "1234-<n>" for the n-th entry of PID 1234 in run->procs. */
static void proc_id(const struct host_run *run, size_t i, char *buf, size_t n)
{
	unsigned int nth = 1;

	for (size_t j = 0; j < i; j++)
		nth += run->procs[j].pid == run->procs[i].pid;
	if (nth == 1)
		snprintf(buf, n, "%d", (int)run->procs[i].pid);
	else
		snprintf(buf, n, "%d-%u", (int)run->procs[i].pid, nth);
}

/* spec with every "{pid}" replaced by id; malloc'ed, NULL on ENOMEM. */
static char *pattern_path(const char *spec, const char *id)
{
	size_t plen = strlen(PID_PATTERN), n = 0, ilen = strlen(id);
	char *path, *o;

	for (const char *s = strstr(spec, PID_PATTERN); s; s = strstr(s + plen, PID_PATTERN))
		n++;
	path = malloc(strlen(spec) + n * ilen + 1);
	if (!path)
		return NULL;
	o = path;
	for (const char *s = spec, *hit; *s; s = hit + plen) {
		hit = strstr(s, PID_PATTERN);
		if (!hit) {
			strcpy(o, s);
			return path;
		}
		memcpy(o, s, (size_t)(hit - s));
		o += hit - s;
		memcpy(o, id, ilen);
		o += ilen;
	}
	*o = '\0';
	return path;
}

/* ---- pstats ---- */

/* A process's pstats file: its exact profile, or its samples' estimates. */
static int write_proc_pstats(const struct host_proc *hp, const char *path)
{
	struct pybpf_profile conv;
	int err;

	if (hp->exact)
		return pstats_write_file(hp->exact, path);
	err = sample_profile_to_profile(hp->sampled, &conv);
	if (err)
		return err;
	err = pstats_write_file(&conv, path);
	profile_free(&conv);
	return err;
}

/* Writes one process's file at path; the failure is reported. 0 or 1. */
static int pstats_at(const struct host_proc *hp, const char *path)
{
	int err = path ? write_proc_pstats(hp, path) : -ENOMEM;

	return err ? report_failure(path ? path : "a pstats file", err) : 0;
}

static bool has_profile(const struct host_proc *hp)
{
	return hp->exact || hp->sampled;
}

static int pstats_by_pattern(const struct host_run *run, const char *spec)
{
	int status = 0;

	for (size_t i = 0; i < run->nprocs; i++) {
		char id[ID_MAX], *path;

		if (!has_profile(&run->procs[i]))
			continue;
		proc_id(run, i, id, sizeof(id));
		path = pattern_path(spec, id);
		status |= pstats_at(&run->procs[i], path);
		free(path);
	}
	return status;
}

/* dir exists (as a directory) or is created 0755. 0 or -errno. */
static int ensure_dir(const char *dir)
{
	struct stat st;

	if (!mkdir(dir, 0755))
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(dir, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* "<dir>/<name>", malloc'ed, NULL on ENOMEM. */
static char *dir_path(const char *dir, const char *name)
{
	char *path;

	return asprintf(&path, "%s/%s", dir, name) < 0 ? NULL : path;
}

/* ---- index.tsv ---- */

struct index_job {
	const struct host_run *run;
	const bool *written; /* by process: its file is there */
};

static const char *end_word(enum host_proc_end end)
{
	switch (end) {
	case HOST_PROC_EXITED:
		return "exited";
	case HOST_PROC_EXECED:
		return "exec";
	case HOST_PROC_RUNNING:
		break;
	}
	return "running";
}

/* Writes the string fields of a row, each escaped and followed by a tab. */
static int put_fields(FILE *f, const char *const *fields, const size_t *sizes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *esc = escaped_ndup(fields[i], sizes[i]);

		if (!esc)
			return -ENOMEM;
		fprintf(f, "%s\t", esc);
		free(esc);
	}
	return 0;
}

/* command, version, build, backend: escaped, each followed by a tab. */
static int put_descr(FILE *f, const struct host_proc *hp)
{
	const char *fields[4] = { hp->cmdline };
	size_t sizes[4] = { sizeof(hp->cmdline) };

	if (hp->exact) {
		fields[1] = hp->exact->python_version, sizes[1] = sizeof(hp->exact->python_version);
		fields[2] = hp->exact->build, sizes[2] = sizeof(hp->exact->build);
		fields[3] = hp->exact->backend, sizes[3] = sizeof(hp->exact->backend);
	} else {
		fields[1] = hp->sampled->python_version;
		sizes[1] = sizeof(hp->sampled->python_version);
		fields[2] = hp->sampled->build, sizes[2] = sizeof(hp->sampled->build);
		fields[3] = "sample", sizes[3] = sizeof("sample");
	}
	return put_fields(f, fields, sizes, 4);
}

static int put_index_row(FILE *f, const struct host_run *run, size_t i)
{
	const struct host_proc *hp = &run->procs[i];
	uint64_t count = hp->exact ? profile_total_calls(hp->exact)
				   : sample_profile_total(hp->sampled, -1);
	char id[ID_MAX];
	int err;

	proc_id(run, i, id, sizeof(id));
	fprintf(f, "pid-%s.prof\t%d\t%d\t", id, (int)hp->pid,
		(int)(hp->ns_pid ? hp->ns_pid : hp->pid));
	err = put_descr(f, hp);
	if (!err)
		fprintf(f, "%.3f\t%.3f\t%s\t%" PRIu64 "\n", hp->from_s, hp->to_s,
			end_word(hp->end), count);
	return err;
}

static int write_index(FILE *f, const void *arg)
{
	const struct index_job *job = arg;
	int err = 0;

	fputs(index_header, f);
	for (size_t i = 0; i < job->run->nprocs && !err; i++) {
		if (job->written[i])
			err = put_index_row(f, job->run, i);
	}
	if (!err && ferror(f))
		err = -EIO;
	return err;
}

/* ---- the -o directory ---- */

/* Each process's pid-<ID>.prof in dir; written[i] says which are there. */
static int pstats_files_in_dir(const struct host_run *run, const char *dir, bool *written)
{
	int status = 0;

	for (size_t i = 0; i < run->nprocs; i++) {
		char id[ID_MAX], name[ID_MAX + 16], *path;

		if (!has_profile(&run->procs[i]))
			continue;
		proc_id(run, i, id, sizeof(id));
		snprintf(name, sizeof(name), "pid-%s.prof", id);
		path = dir_path(dir, name);
		written[i] = !pstats_at(&run->procs[i], path);
		status |= !written[i];
		free(path);
	}
	return status;
}

static int pstats_in_dir(const struct host_run *run, const char *dir)
{
	bool *written = calloc(run->nprocs + 1, sizeof(*written));
	struct index_job job = { .run = run, .written = written };
	char *index = dir_path(dir, HOSTFILES_INDEX);
	int err = written && index ? ensure_dir(dir) : -ENOMEM, status;

	if (err) {
		free(written);
		free(index);
		return report_failure(dir, err);
	}
	status = pstats_files_in_dir(run, dir, written);
	err = output_write_atomic(index, write_index, &job);
	if (err)
		status = report_failure(index, err);
	free(written);
	free(index);
	return status;
}

int hostfiles_write_pstats(const struct host_run *run, const char *spec)
{
	if (strstr(spec, PID_PATTERN))
		return pstats_by_pattern(run, spec);
	return pstats_in_dir(run, spec);
}

/* ---- sampled formats ---- */

/* At most HOSTFILES_ROOT_CMD_MAX bytes of the command, cut before a whole
 * character and ending in "..." when cut. buf has room for that. */
static void cut_command(const char *cmdline, char *buf)
{
	size_t len = strnlen(cmdline, HOST_CMDLINE_MAX);

	if (len > HOSTFILES_ROOT_CMD_MAX) {
		len = HOSTFILES_ROOT_CMD_MAX - 3;
		while (len > 0 && ((unsigned char)cmdline[len] & 0xc0) == 0x80)
			len--; /* a UTF-8 continuation byte: the character starts before */
		memcpy(buf, cmdline, len);
		strcpy(buf + len, "...");
		return;
	}
	memcpy(buf, cmdline, len);
	buf[len] = '\0';
}

/* The index of the frame "PID <pid>: <command>" in m, -1 on ENOMEM. */
static long root_frame(struct sample_profile *m, const struct host_proc *hp)
{
	char cmd[HOSTFILES_ROOT_CMD_MAX + 1], name[sizeof(cmd) + 32];

	cut_command(hp->cmdline, cmd);
	snprintf(name, sizeof(name), "PID %d: %s", (int)hp->pid, cmd[0] ? cmd : NO_COMMAND);
	return sample_profile_frame(m, "", 0, name, 0);
}

/* Index maps from one process's profile into the merged one. */
struct merge_maps {
	size_t *frame, *thread;
	size_t *stack; /* room for the deepest stack and its root frame */
};

static void merge_maps_free(struct merge_maps *mm)
{
	free(mm->frame);
	free(mm->thread);
	free(mm->stack);
}

static int map_threads(struct sample_profile *m, const struct host_proc *hp, size_t *map)
{
	const struct sample_profile *sp = hp->sampled;

	for (size_t i = 0; i < sp->nthreads; i++) {
		const struct sample_thread *t = &sp->threads[i];
		char name[sizeof(t->name) + 32];
		long at;

		snprintf(name, sizeof(name), "PID %d %.*s", (int)hp->pid,
			 (int)strnlen(t->name, sizeof(t->name)), t->name);
		at = sample_profile_thread(m, t->tid, name);
		if (at < 0)
			return -ENOMEM;
		map[i] = (size_t)at;
	}
	return 0;
}

static int map_frames(struct sample_profile *m, const struct sample_profile *sp, size_t *map)
{
	for (size_t i = 0; i < sp->nframes; i++) {
		const struct sample_frame *f = &sp->frames[i];
		long at = sample_profile_frame(m, f->filename, f->firstlineno, f->name, f->line);

		if (at < 0)
			return -ENOMEM;
		map[i] = (size_t)at;
	}
	return 0;
}

static int merge_maps_make(struct merge_maps *mm, struct sample_profile *m,
			   const struct host_proc *hp)
{
	const struct sample_profile *sp = hp->sampled;
	size_t deepest = 0;

	for (size_t i = 0; i < sp->nstacks; i++) {
		if (sp->stacks[i].nframes > deepest)
			deepest = sp->stacks[i].nframes;
	}
	mm->frame = calloc(sp->nframes + 1, sizeof(*mm->frame));
	mm->thread = calloc(sp->nthreads + 1, sizeof(*mm->thread));
	mm->stack = calloc(deepest + 1, sizeof(*mm->stack));
	if (!mm->frame || !mm->thread || !mm->stack)
		return -ENOMEM;
	if (map_threads(m, hp, mm->thread) || map_frames(m, sp, mm->frame))
		return -ENOMEM;
	return 0;
}

/* One stack, below the root frame (in mm->stack[0]), both kinds. */
static int merge_stack(struct sample_profile *m, const struct sample_profile *sp,
		       const struct sample_stack *s, const struct merge_maps *mm)
{
	/* Keep the root frame within the depth every writer draws. */
	size_t skip = s->nframes >= PYBPF_SAMPLE_DEPTH ? s->nframes + 1 - PYBPF_SAMPLE_DEPTH : 0;
	size_t n = 1;
	int err = 0;

	if (s->thread >= sp->nthreads)
		return -EINVAL;
	for (size_t i = skip; i < s->nframes; i++) {
		if (s->frames[i] >= sp->nframes)
			return -EINVAL;
		mm->stack[n++] = mm->frame[s->frames[i]];
	}
	for (int kind = 0; kind < PYBPF_SAMPLE_KINDS && !err; kind++) {
		if (s->samples[kind])
			err = sample_profile_add(m, mm->thread[s->thread], mm->stack, n,
						 s->truncated || skip, kind, s->samples[kind],
						 s->ns[kind]);
	}
	return err;
}

static void add_losses(struct sample_losses *dst, const struct sample_losses *src)
{
	dst->no_tstate += src->no_tstate;
	dst->read_errors += src->read_errors;
	dst->stacks_full += src->stacks_full;
	dst->counts_full += src->counts_full;
	dst->unresolved += src->unresolved;
}

static int merge_proc(struct sample_profile *m, const struct host_proc *hp)
{
	struct merge_maps mm = { 0 };
	long root = root_frame(m, hp);
	int err = root < 0 ? -ENOMEM : merge_maps_make(&mm, m, hp);

	if (!err)
		mm.stack[0] = (size_t)root;
	for (size_t i = 0; i < hp->sampled->nstacks && !err; i++)
		err = merge_stack(m, hp->sampled, &hp->sampled->stacks[i], &mm);
	if (!err)
		add_losses(&m->losses, &hp->sampled->losses);
	merge_maps_free(&mm);
	return err;
}

int hostfiles_merge_samples(const struct host_run *run, struct sample_profile *out)
{
	bool first = true;
	int err = 0;

	sample_profile_init(out);
	snprintf(out->comm, sizeof(out->comm), "%s", MERGED_COMM);
	out->wall_seconds = run->wall_seconds;
	for (size_t i = 0; i < run->nprocs && !err; i++) {
		const struct host_proc *hp = &run->procs[i];

		if (!hp->sampled)
			continue;
		if (first) {
			out->mode = hp->sampled->mode;
			out->hz = hp->sampled->hz;
			first = false;
		}
		err = merge_proc(out, hp);
	}
	if (err)
		sample_profile_free(out);
	return err;
}

static int samples_by_pattern(const struct host_run *run, const struct sample_writer *w,
			      const char *spec)
{
	int status = 0;

	for (size_t i = 0; i < run->nprocs; i++) {
		char id[ID_MAX], *path;
		int err;

		if (!run->procs[i].sampled)
			continue;
		proc_id(run, i, id, sizeof(id));
		path = pattern_path(spec, id);
		err = path ? output_write_file(w, run->procs[i].sampled, path) : -ENOMEM;
		if (err)
			status = report_failure(path ? path : spec, err);
		free(path);
	}
	return status;
}

int hostfiles_write_samples(const struct host_run *run, const struct sample_writer *w,
			    const char *spec)
{
	struct sample_profile merged;
	int err;

	if (strstr(spec, PID_PATTERN))
		return samples_by_pattern(run, w, spec);
	err = hostfiles_merge_samples(run, &merged);
	if (err)
		return report_failure(spec, err);
	err = output_write_file(w, &merged, spec);
	sample_profile_free(&merged);
	return err ? report_failure(spec, err) : 0;
}
