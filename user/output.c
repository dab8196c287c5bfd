// SPDX-License-Identifier: GPL-2.0-only
/* A profile file is complete or absent: written to a temporary file beside
 * the target, synced, then renamed over it. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TEMP_SUFFIX ".tmpXXXXXX"
#define TEMP_ATTEMPTS 100

/* The error of a failed stdio call: stdio need not set errno. */
static int stdio_error(void)
{
	return errno > 0 ? -errno : -EIO;
}

int output_stream_error(FILE *f)
{
	if (fflush(f) == 0 && !ferror(f))
		return 0;
	return stdio_error();
}

int output_print_error(FILE *f, int print_err)
{
	int e = output_stream_error(f);

	if (e)
		return -e;
	if (print_err)
		return print_err < -1 ? -print_err : EIO;
	return 0;
}

void sink_put(struct sink *out, const char *s)
{
	if (out->err)
		return;
	errno = 0;
	if (fputs(s, out->f) == EOF)
		out->err = stdio_error();
}

void sink_putc(struct sink *out, char c)
{
	if (out->err)
		return;
	errno = 0;
	if (fputc(c, out->f) == EOF)
		out->err = stdio_error();
}

/* Writes the six X of tmp's suffix from the clock, the PID and the attempt. */
static void temp_name(char *tmp, unsigned int attempt)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char *x = tmp + strlen(tmp) - 6;
	struct timespec ts;
	uint64_t v;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	v = (uint64_t)ts.tv_nsec * 2654435761u + (uint64_t)getpid() * 40503u + attempt;
	for (int i = 0; i < 6; i++, v /= sizeof(alphabet) - 1)
		x[i] = alphabet[v % (sizeof(alphabet) - 1)];
}

/* Creates tmp (ending in XXXXXX) exclusively, mode 0666 & ~umask like any
 * file a program creates (mkstemp would force 0600). The fd or -errno. */
static int create_temp(char *tmp)
{
	for (unsigned int attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
		int fd;

		temp_name(tmp, attempt);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* Writes to fd with write(f, arg) and closes it. A late error (ENOSPC and
 * EDQUOT show up at fflush, fsync or close) counts as much as an early one.
 * 0 or -errno. */
static int write_fd(output_write_fn write, const void *arg, int fd, bool sync)
{
	FILE *f = fdopen(fd, "w");
	int err;

	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	err = write(f, arg);
	errno = 0;
	if (!err && fflush(f))
		err = stdio_error();
	if (!err && sync && fsync(fd))
		err = -errno;
	errno = 0;
	if (fclose(f) && !err)
		err = stdio_error();
	return err;
}

int output_write_atomic(const char *path, output_write_fn write, const void *arg)
{
	size_t n = strlen(path);
	struct stat st;
	char *tmp;
	int fd, err;

	/* A device or FIFO (/dev/stdout, a pipe) is written in place: a rename
	 * would replace it with a regular file. */
	if (!stat(path, &st) && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		return fd < 0 ? -errno : write_fd(write, arg, fd, false);
	}
	tmp = malloc(n + sizeof(TEMP_SUFFIX));
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, n);
	memcpy(tmp + n, TEMP_SUFFIX, sizeof(TEMP_SUFFIX));
	fd = create_temp(tmp);
	if (fd < 0) {
		free(tmp);
		return fd;
	}
	err = write_fd(write, arg, fd, true);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

struct sample_job {
	const struct sample_writer *w;
	const struct sample_profile *p;
};

static int write_sample_job(FILE *f, const void *arg)
{
	const struct sample_job *job = arg;

	return job->w->write(f, job->p);
}

int output_write_file(const struct sample_writer *w, const struct sample_profile *p,
		      const char *path)
{
	struct sample_job job = { w, p };

	return output_write_atomic(path, write_sample_job, &job);
}
