/* SPDX-License-Identifier: GPL-2.0-only */
/* The file behind a mapping of a target process, reached only through
 * /proc/PID/map_files/START-END: the kernel hands over the inode the process
 * really maps, so no path is resolved in our root or in the target's (whose
 * symlinks may point anywhere, and whose files may be swapped under us). */
#ifndef PYBPF_MAPPEDFILE_H
#define PYBPF_MAPPEDFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct mapped_file {
	uint64_t start, end; /* one mapping of the file, as /proc/PID/maps gave it */
	unsigned int dev_major, dev_minor;
	uint64_t inode;
};

/* "/proc/PID/map_files/START-END" into out (size n). False if it does not fit. */
bool mapped_file__path(pid_t pid, uint64_t start, uint64_t end, char *out, size_t n);
/* "/proc/self/fd/FD" into out (size n). False if it does not fit. */
bool mapped_file__fd_path(int fd, char *out, size_t n);
/* Is st the regular file f names (same device and inode)? */
bool mapped_file__matches(const struct mapped_file *f, const struct stat *st);
/* f's device and inode in st (as stat gives them), the rest zeroed. */
void mapped_file__stat(const struct mapped_file *f, struct stat *st);
/* An O_PATH descriptor of f's file as pid maps it, checked to be f's regular
 * file; the mapping is looked for again in pid's maps when its range is gone
 * (the loader splits and moves segments). The descriptor, or -errno
 * (-ESTALE: that range now maps another file). */
int mapped_file__open_path(pid_t pid, const struct mapped_file *f);
/* The same file opened for reading (O_RDONLY | O_CLOEXEC), or -errno. */
int mapped_file__open_read(pid_t pid, const struct mapped_file *f);

#endif
