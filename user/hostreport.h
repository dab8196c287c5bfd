/* TEMPORARY stub interface until helper-report lands. */
#ifndef PYBPF_HOSTREPORT_H
#define PYBPF_HOSTREPORT_H
#include <stdio.h>
#include "hostrun.h"
#include "report.h"
#include "sreport.h"
struct hostreport_opts { enum pybpf_sort sort; long limit; bool latency; struct sreport_opts sample; };
int hostreport_print(FILE *out, const struct host_run *run, const struct hostreport_opts *o);
#endif
