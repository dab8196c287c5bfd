// TEMPORARY stubs until helper-report lands.
#include "hostfiles.h"
#include "hostreport.h"
#include "progress.h"
#include "pstats.h"
int hostreport_print(FILE *out, const struct host_run *run, const struct hostreport_opts *o)
{
	fprintf(out, "Python processes traced: %zu for %.3f s, %zu not traced\n", run->nprocs, run->wall_seconds, run->nrefused);
	for (size_t i = 0; i < run->nprocs; i++) {
		const struct host_proc *p = &run->procs[i];
		fprintf(out, "\n======== PID %d", p->pid);
		if (p->ns_pid) fprintf(out, " (PID %d in its namespace)", p->ns_pid);
		fprintf(out, ": %s\nTraced from %.3f s to %.3f s of the run%s", p->cmdline, p->from_s, p->to_s,
			p->end == HOST_PROC_EXITED ? " (exited)" : p->end == HOST_PROC_EXECED ? " (exec'ed another program)" : "");
		if (p->forked_by) fprintf(out, "; forked by PID %d", p->forked_by);
		fprintf(out, "\n");
		report_print(out, p->exact, o->sort, o->limit, o->latency);
	}
	for (size_t i = 0; i < run->nrefused; i++)
		fprintf(out, "%sPID %d (%s): %s\n", i ? "" : "\n======== Not traced\n", run->refused[i].pid, run->refused[i].cmdline, run->refused[i].why);
	return 0;
}
int hostfiles_write_pstats(const struct host_run *run, const char *spec) { (void)run; (void)spec; return 0; }
int hostfiles_write_samples(const struct host_run *run, const struct sample_writer *w, const char *spec) { (void)run; (void)w; (void)spec; return 0; }
void progress_init(struct progress *p, int fd) { p->fd = fd; p->active = false; p->shown = false; }
void progress_show(struct progress *p, const char *text) { (void)p; (void)text; }
void progress_clear(struct progress *p) { (void)p; }
void progress_format(char *buf, size_t n, double secs, bool has_duration, size_t procs, uint64_t count, bool sampling) { (void)has_duration; (void)sampling; snprintf(buf, n, "%.0f %zu %llu", secs, procs, (unsigned long long)count); }
