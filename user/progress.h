/* TEMPORARY stub interface until helper-report lands. */
#ifndef PYBPF_PROGRESS_H
#define PYBPF_PROGRESS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
struct progress { int fd; bool active, shown; };
void progress_init(struct progress *p, int fd);
void progress_show(struct progress *p, const char *text);
void progress_clear(struct progress *p);
void progress_format(char *buf, size_t n, double secs, bool has_duration, size_t procs, uint64_t count, bool sampling);
#endif
