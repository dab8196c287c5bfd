/* TEMPORARY stub interface until helper-report lands. */
#ifndef PYBPF_HOSTFILES_H
#define PYBPF_HOSTFILES_H
#include "hostrun.h"
#include "output.h"
int hostfiles_write_pstats(const struct host_run *run, const char *spec);
int hostfiles_write_samples(const struct host_run *run, const struct sample_writer *w, const char *spec);
#endif
