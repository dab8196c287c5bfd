/* SPDX-License-Identifier: GPL-2.0-only */
/* stderr is talk: one line per error, "pybpf-prof: <what failed>: <why>". */
#ifndef PYBPF_LOG_H
#define PYBPF_LOG_H

#include <stdbool.h>

#define PYBPF_EXIT_OK 0
#define PYBPF_EXIT_FAIL 1
#define PYBPF_EXIT_USAGE 64

/* An error message kept for the caller to print (or test). */
struct pybpf_err {
	char msg[1024];
};

void err_set(struct pybpf_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "pybpf-prof: " fmt "\n" on stderr. */
void pybpf_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Called by pybpf_warn before it writes, when set: erases the progress line. */
extern void (*pybpf_before_warn)(void);
extern bool pybpf_verbose;

#endif
