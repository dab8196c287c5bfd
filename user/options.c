// SPDX-License-Identifier: GPL-2.0-only
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PYBPF_VERSION
#define PYBPF_VERSION "0.1.0"
#endif

static const char usage_text[] =
	"Usage: pybpf-prof [OPTIONS] -p PID\n"
	"       pybpf-prof [OPTIONS] -- CMD [ARGS...]\n"
	"       pybpf-prof [OPTIONS] --all-python\n"
	"\n"
	"Exact cProfile-style profile of a running CPython process, from the outside,\n"
	"with eBPF: ncalls, tottime and cumtime per function, without restarting it.\n"
	"\n"
	"  -p, --pid PID          trace this process until Ctrl-C, SIGTERM, --duration\n"
	"                         or its exit\n"
	"  -- CMD [ARGS...]       launch CMD and trace it from its first Python call;\n"
	"                         the exit status of CMD is passed through\n"
	"  -d, --duration SECS    stop after SECS seconds\n"
	"  -o, --output FILE      also write the profile as a pstats file (snakeviz,\n"
	"                         gprof2dot, python -m pstats)\n"
	"  -s, --sort KEY         order of the table: calls, cumulative (default), cumtime,\n"
	"                         tottime, time, ncalls, pcalls, filename, file, module,\n"
	"                         name, line, nfl, stdname, offcpu\n"
	"      --limit N          print at most N rows\n"
	"      --latency          also print each function's distribution of call\n"
	"                         durations with p50 and p99 (as many as --limit, or 10)\n"
	"      --backend NAME     auto (default), usdt or evalframe\n"
	"      --all-python       every CPython process of the host, those that start or\n"
	"                         are forked during the run too (containers included):\n"
	"                         one section per process, then the hot spots of all\n"
	"      --exclude-pid PID[,PID...]  with --all-python: leave these out\n"
	"      --match REGEX      with --all-python: only processes whose command line\n"
	"                         (arguments joined by spaces) matches (POSIX ERE)\n"
	"      --max-processes N  processes traced at once (default 256, at most 1024)\n"
	"      --max-threads N    threads traced at once (default 8192)\n"
	"      --max-functions N  functions counted (default 65536)\n"
	"                         (with --all-python, -o DIR writes DIR/pid-PID.prof per\n"
	"                         process and DIR/index.tsv; -o 'x-{pid}.prof' a file each)\n"
	"  -v, --verbose          say more on stderr (libbpf's messages too)\n"
	"      --probe-floor      attach empty programs to the same probes and count\n"
	"                         nothing: the cost floor that make bench measures\n"
	"      --hook-only        evalframe backend: install CPython's eval-frame hook\n"
	"                         but attach no probes: the cost of the hook alone\n"
	"                         (benchmarks; not with --backend usdt or --probe-floor)\n"
	"\n"
	"Sampling (low overhead, for production; estimates instead of exact counts):\n"
	"      --sample           sample the Python stacks of every thread instead of\n"
	"                         tracing each call\n"
	"      --hz N             samples per second and thread, 1 to 10000 (default 99)\n"
	"      --mode MODE        wall (default): on-CPU and off-CPU time, shown apart;\n"
	"                         cpu: on-CPU only; offcpu: off-CPU only (sleep, I/O,\n"
	"                         locks, the GIL)\n"
	"      --lines            one row per source line instead of per function\n"
	"      --threads          also a table and hot spots per thread\n"
	"      --folded FILE      write collapsed stacks (flamegraph.pl, speedscope)\n"
	"      --flamegraph FILE  write an interactive flame graph (SVG)\n"
	"      --speedscope FILE  write a speedscope profile (JSON), one per thread\n"
	"      --offcpu-method M  tick (default): off-CPU stacks read at each tick;\n"
	"                         switch: at each switch out, exact time but a cost\n"
	"                         per context switch (benchmarks)\n"
	"      (-s with --sample: tottime (default), cumtime, nsamples, cumsamples,\n"
	"       offcpu, name, filename, line)\n"
	"\n"
	"  -h, --help             this help\n"
	"  -V, --version          the version\n"
	"\n"
	"Examples:\n"
	"  sudo pybpf-prof -p 1234\n"
	"  sudo pybpf-prof -p 1234 -d 30 -s tottime --limit 20 -o app.prof\n"
	"  sudo pybpf-prof -- python3 app.py\n"
	"  sudo pybpf-prof --sample -p 1234 -d 30 --flamegraph app.svg\n"
	"  sudo pybpf-prof --all-python -d 30 -o profiles/\n"
	"\n"
	"Exit status: 0 success (or CMD's own status), 1 runtime failure, 64 usage error.\n";

enum {
	OPT_LIMIT = 256, OPT_BACKEND, OPT_PROBE_FLOOR, OPT_LATENCY, OPT_HOOK_ONLY, OPT_SAMPLE,
	OPT_HZ, OPT_MODE, OPT_LINES, OPT_THREADS, OPT_FOLDED, OPT_FLAMEGRAPH, OPT_SPEEDSCOPE,
	OPT_OFFCPU_METHOD, OPT_ALL_PYTHON, OPT_EXCLUDE_PID, OPT_MATCH, OPT_MAX_PROCESSES,
	OPT_MAX_THREADS, OPT_MAX_FUNCTIONS,
};

#define BACKEND_NAMES "auto, usdt or evalframe"

static const struct option long_options[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "duration", required_argument, NULL, 'd' },
	{ "output", required_argument, NULL, 'o' },
	{ "sort", required_argument, NULL, 's' },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "verbose", no_argument, NULL, 'v' },
	{ "probe-floor", no_argument, NULL, OPT_PROBE_FLOOR },
	{ "latency", no_argument, NULL, OPT_LATENCY },
	{ "hook-only", no_argument, NULL, OPT_HOOK_ONLY },
	{ "sample", no_argument, NULL, OPT_SAMPLE },
	{ "hz", required_argument, NULL, OPT_HZ },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "lines", no_argument, NULL, OPT_LINES },
	{ "threads", no_argument, NULL, OPT_THREADS },
	{ "folded", required_argument, NULL, OPT_FOLDED },
	{ "flamegraph", required_argument, NULL, OPT_FLAMEGRAPH },
	{ "speedscope", required_argument, NULL, OPT_SPEEDSCOPE },
	{ "offcpu-method", required_argument, NULL, OPT_OFFCPU_METHOD },
	{ "all-python", no_argument, NULL, OPT_ALL_PYTHON },
	{ "exclude-pid", required_argument, NULL, OPT_EXCLUDE_PID },
	{ "match", required_argument, NULL, OPT_MATCH },
	{ "max-processes", required_argument, NULL, OPT_MAX_PROCESSES },
	{ "max-threads", required_argument, NULL, OPT_MAX_THREADS },
	{ "max-functions", required_argument, NULL, OPT_MAX_FUNCTIONS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static const char *const backend_names[] = {
	[PYBPF_BACKEND_AUTO] = "auto",
	[PYBPF_BACKEND_USDT] = "usdt",
	[PYBPF_BACKEND_EVALFRAME] = "evalframe",
};

const char *backend_name(enum pybpf_backend b)
{
	if ((unsigned int)b >= sizeof(backend_names) / sizeof(backend_names[0]))
		return "auto";
	return backend_names[b];
}

static bool parse_backend(const char *s, enum pybpf_backend *out)
{
	for (size_t i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++) {
		if (!strcmp(s, backend_names[i])) {
			*out = (enum pybpf_backend)i;
			return true;
		}
	}
	return false;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e9)
		return false;
	*out = v;
	return true;
}

static bool parse_mode(const char *s, enum sample_mode *out)
{
	static const enum sample_mode modes[] = { SAMPLE_MODE_WALL, SAMPLE_MODE_CPU,
						  SAMPLE_MODE_OFFCPU };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(s, sample_mode_name(modes[i]))) {
			*out = modes[i];
			return true;
		}
	}
	return false;
}

static enum options_result apply_sampling(int c, const char *arg, struct pybpf_options *o,
					  struct pybpf_err *err);

/* --exclude-pid's value: PIDs separated by commas, added to o->exclude. */
static enum options_result parse_exclude(const char *arg, struct pybpf_options *o,
					 struct pybpf_err *err)
{
	const char *p = arg;

	do {
		char one[32];
		size_t len = strcspn(p, ",");
		long v;

		snprintf(one, sizeof(one), "%.*s", (int)(len < sizeof(one) ? len : sizeof(one) - 1), p);
		if (len >= sizeof(one) || !parse_long(one, 1, INT_MAX, &v)) {
			err_set(err, "invalid --exclude-pid '%s': expected PIDs separated by commas", arg);
			return OPTIONS_USAGE;
		}
		pid_t *grown = realloc(o->exclude, (o->nexclude + 1) * sizeof(*grown));
		if (!grown) {
			err_set(err, "cannot parse the options: %s", strerror(ENOMEM));
			return OPTIONS_USAGE;
		}
		o->exclude = grown;
		o->exclude[o->nexclude++] = (pid_t)v;
		p += len;
	} while (*p++ == ',');
	return OPTIONS_RUN;
}

static enum options_result parse_limit(const char *arg, const char *name, long max,
				       unsigned int *out, struct pybpf_err *err)
{
	long v;

	if (!parse_long(arg, 1, max, &v)) {
		err_set(err, "invalid --%s '%s': expected an integer from 1 to %ld", name, arg, max);
		return OPTIONS_USAGE;
	}
	*out = (unsigned int)v;
	return OPTIONS_RUN;
}

#define MATCH_MAX_LEN 256
#define MATCH_MAX_COUNT 32

/* The end of the bracket expression starting at p ('['), or NULL if unterminated. */
static const char *bracket_end(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p && *p != ']'; p++) {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			const char *close = strchr(p + 2, p[1]);

			while (close && close[1] != ']')
				close = strchr(close + 1, p[1]);
			if (!close)
				return NULL;
			p = close + 1;
		}
	}
	return *p ? p : NULL;
}

/* The '}' of the interval "{m}", "{m,}", "{m,n}" or "{,n}" at p, or NULL if p starts none
 * (then '{' is an ordinary character, or an error regcomp reports). */
static const char *interval_end(const char *p)
{
	size_t digits = strspn(p + 1, "0123456789"), more = 0;

	p += 1 + digits;
	if (*p == ',') {
		more = strspn(p + 1, "0123456789");
		p += 1 + more;
	}
	return *p == '}' && digits + more ? p : NULL;
}

/* The largest count of the interval at p, saturated. */
static unsigned long interval_max(const char *p)
{
	char *end;
	unsigned long m = strtoul(p + 1, &end, 10), n = 0;

	if (*end == ',')
		n = strtoul(end + 1, NULL, 10);
	return m > n ? m : n;
}

/* glibc's regcomp copies the tree under each '+' and {m,n}, and its closure computations
 * blow up when repetitions nest: "a++++++++++" or "(a*|b*){4}+" take seconds to minutes.
 * So: no repetition of a repetition, directly or through a group, and counts up to 32. */
static bool match_too_costly(const char *re)
{
	bool group_repeats[MATCH_MAX_LEN + 1] = { false }; /* per open group: has a repetition */
	bool prev_repeats = false; /* the atom just before is a repetition or such a group */
	size_t depth = 0;

	if (strlen(re) > MATCH_MAX_LEN)
		return true;
	for (const char *p = re; *p; p++) {
		const char *close = *p == '{' ? interval_end(p) : NULL;

		if (*p == '*' || *p == '+' || *p == '?' || close) {
			if (prev_repeats || (close && interval_max(p) > MATCH_MAX_COUNT))
				return true;
			if (close)
				p = close;
			group_repeats[depth] = true;
			prev_repeats = true;
			continue;
		}
		prev_repeats = false;
		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '[') {
			p = bracket_end(p);
			if (!p)
				return false; /* regcomp refuses it */
		} else if (*p == '(') {
			group_repeats[++depth] = false;
		} else if (*p == ')' && depth) {
			prev_repeats = group_repeats[depth--];
			group_repeats[depth] |= prev_repeats;
		}
	}
	return false;
}

static enum options_result apply_host(int c, const char *arg, struct pybpf_options *o,
				      struct pybpf_err *err)
{
	regex_t re;
	int e;

	switch (c) {
	case OPT_ALL_PYTHON:
		o->all_python = true;
		return OPTIONS_RUN;
	case OPT_EXCLUDE_PID:
		return parse_exclude(arg, o, err);
	case OPT_MATCH:
		if (match_too_costly(arg)) {
			err_set(err, "invalid --match: over %d bytes, a repetition of a repetition "
				"or a count over %d (too slow to compile)", MATCH_MAX_LEN,
				MATCH_MAX_COUNT);
			return OPTIONS_USAGE;
		}
		e = regcomp(&re, arg, REG_EXTENDED | REG_NOSUB);
		if (e) {
			char why[256];
			regerror(e, &re, why, sizeof(why));
			err_set(err, "invalid --match '%s': %s", arg, why);
			return OPTIONS_USAGE;
		}
		regfree(&re);
		o->match = arg;
		return OPTIONS_RUN;
	case OPT_MAX_PROCESSES:
		return parse_limit(arg, "max-processes", PYBPF_MAX_TARGETS, &o->max_processes, err);
	case OPT_MAX_THREADS:
		return parse_limit(arg, "max-threads", 1 << 20, &o->max_threads, err);
	default:
		return parse_limit(arg, "max-functions", 1 << 22, &o->max_functions, err);
	}
}

static enum options_result apply(int c, const char *arg, struct pybpf_options *o,
				 struct pybpf_err *err)
{
	long v;

	switch (c) {
	case 'p':
		if (!parse_long(arg, 1, INT_MAX, &v)) {
			err_set(err, "invalid PID '%s': expected a positive integer", arg);
			return OPTIONS_USAGE;
		}
		o->pid = (pid_t)v;
		return OPTIONS_RUN;
	case 'd':
		if (!parse_seconds(arg, &o->duration)) {
			err_set(err, "invalid duration '%s': expected seconds > 0", arg);
			return OPTIONS_USAGE;
		}
		return OPTIONS_RUN;
	case 'o':
		o->output = arg;
		return OPTIONS_RUN;
	case 's':
		o->sort_key = arg; /* its meaning depends on --sample */
		return OPTIONS_RUN;
	case OPT_LIMIT:
		if (!parse_long(arg, 0, LONG_MAX, &o->limit)) {
			err_set(err, "invalid limit '%s': expected an integer >= 0", arg);
			return OPTIONS_USAGE;
		}
		return OPTIONS_RUN;
	case OPT_BACKEND:
		o->backend_given = true;
		if (parse_backend(arg, &o->backend))
			return OPTIONS_RUN;
		err_set(err, "invalid backend '%s': expected " BACKEND_NAMES, arg);
		return OPTIONS_USAGE;
	case 'v':
		o->verbose = true;
		return OPTIONS_RUN;
	case OPT_PROBE_FLOOR:
		o->probe_floor = true;
		return OPTIONS_RUN;
	case OPT_LATENCY:
		o->latency = true;
		return OPTIONS_RUN;
	case OPT_HOOK_ONLY:
		o->hook_only = true;
		return OPTIONS_RUN;
	case OPT_ALL_PYTHON:
	case OPT_EXCLUDE_PID:
	case OPT_MATCH:
	case OPT_MAX_PROCESSES:
	case OPT_MAX_THREADS:
	case OPT_MAX_FUNCTIONS:
		return apply_host(c, arg, o, err);
	default:
		return apply_sampling(c, arg, o, err);
	}
}

static enum options_result apply_sampling(int c, const char *arg, struct pybpf_options *o,
					  struct pybpf_err *err)
{
	long v;

	switch (c) {
	case OPT_SAMPLE:
		o->sample = true;
		return OPTIONS_RUN;
	case OPT_HZ:
		if (!parse_long(arg, 1, PYBPF_MAX_HZ, &v)) {
			err_set(err, "invalid rate --hz '%s': expected samples per second from 1 to %d",
				arg, PYBPF_MAX_HZ);
			return OPTIONS_USAGE;
		}
		o->hz = (unsigned int)v;
		return OPTIONS_RUN;
	case OPT_MODE:
		o->mode_given = true;
		if (parse_mode(arg, &o->mode))
			return OPTIONS_RUN;
		err_set(err, "invalid mode '%s': expected wall, cpu or offcpu", arg);
		return OPTIONS_USAGE;
	case OPT_LINES:
		o->lines = true;
		return OPTIONS_RUN;
	case OPT_THREADS:
		o->threads = true;
		return OPTIONS_RUN;
	case OPT_FOLDED:
		o->folded = arg;
		return OPTIONS_RUN;
	case OPT_FLAMEGRAPH:
		o->flamegraph = arg;
		return OPTIONS_RUN;
	case OPT_SPEEDSCOPE:
		o->speedscope = arg;
		return OPTIONS_RUN;
	case OPT_OFFCPU_METHOD:
		if (strcmp(arg, "tick") && strcmp(arg, "switch")) {
			err_set(err, "invalid --offcpu-method '%s': expected tick or switch", arg);
			return OPTIONS_USAGE;
		}
		o->offcpu_at_switch = !strcmp(arg, "switch");
		return OPTIONS_RUN;
	case 'h':
		fputs(usage_text, stdout);
		return OPTIONS_EXIT;
	case 'V':
		printf("pybpf-prof %s\n", PYBPF_VERSION);
		return OPTIONS_EXIT;
	default:
		return OPTIONS_USAGE; /* message set by the caller */
	}
}

/* The option, among those that only sampling has, that was given, or NULL. */
static const char *sampling_only_option(const struct pybpf_options *o)
{
	if (o->lines)
		return "--lines";
	if (o->threads)
		return "--threads";
	if (o->folded)
		return "--folded";
	if (o->flamegraph)
		return "--flamegraph";
	if (o->speedscope)
		return "--speedscope";
	if (o->hz)
		return "--hz";
	if (o->mode_given)
		return "--mode";
	return NULL;
}

/* The option, among those that only exact tracing has, that was given, or NULL. */
static const char *exact_only_option(const struct pybpf_options *o)
{
	if (o->latency)
		return "--latency";
	if (o->backend_given)
		return "--backend";
	if (o->probe_floor)
		return "--probe-floor";
	if (o->hook_only)
		return "--hook-only";
	return NULL;
}

static enum options_result check_sort(struct pybpf_options *o, struct pybpf_err *err)
{
	if (!o->sort_key)
		return OPTIONS_RUN;
	if (o->sample && sreport_parse_sort(o->sort_key, &o->sample_sort)) {
		err_set(err, "invalid sort key '%s' for --sample: expected one of tottime, cumtime, "
			     "nsamples, cumsamples, offcpu, name, filename, line", o->sort_key);
		return OPTIONS_USAGE;
	}
	if (!o->sample && report_parse_sort(o->sort_key, &o->sort)) {
		err_set(err, "invalid sort key '%s': expected one of calls, cumulative, cumtime, "
			     "tottime, time, ncalls, pcalls, filename, file, module, name, "
			     "line, nfl, stdname, offcpu", o->sort_key);
		return OPTIONS_USAGE;
	}
	return OPTIONS_RUN;
}

static enum options_result check_sampling(struct pybpf_options *o, struct pybpf_err *err)
{
	const char *opt = o->sample ? exact_only_option(o) : sampling_only_option(o);

	if (opt && o->sample) {
		err_set(err, "%s is for exact tracing: it cannot be used with --sample "
			     "(hint: pybpf-prof --help)", opt);
		return OPTIONS_USAGE;
	}
	if (opt) {
		err_set(err, "%s needs --sample (hint: pybpf-prof --help)", opt);
		return OPTIONS_USAGE;
	}
	return check_sort(o, err);
}

/* Options that exclude each other, whatever their order. */
static enum options_result check_modes(struct pybpf_options *o, struct pybpf_err *err)
{
	if (o->hook_only && o->backend == PYBPF_BACKEND_USDT) {
		err_set(err, "--hook-only measures the evalframe backend's hook: it cannot be used "
			     "with --backend usdt (hint: pybpf-prof --help)");
		return OPTIONS_USAGE;
	}
	if (o->hook_only && o->probe_floor) {
		err_set(err, "--hook-only and --probe-floor exclude each other: the hook alone, or "
			     "empty programs on the probes (hint: pybpf-prof --help)");
		return OPTIONS_USAGE;
	}
	return check_sampling(o, err);
}

/* The option, among those that only --all-python has, that was given, or NULL. */
static const char *host_only_option(const struct pybpf_options *o)
{
	if (o->nexclude)
		return "--exclude-pid";
	if (o->match)
		return "--match";
	return NULL;
}

static enum options_result check_host(struct pybpf_options *o, struct pybpf_err *err)
{
	const char *opt = host_only_option(o);

	if (!o->all_python && opt) {
		err_set(err, "%s needs --all-python (hint: pybpf-prof --help)", opt);
		return OPTIONS_USAGE;
	}
	if (o->all_python && (o->pid || o->cmd)) {
		err_set(err, "--all-python traces every Python process: it cannot be used with %s "
			     "(hint: pybpf-prof --help)", o->pid ? "-p" : "a command");
		return OPTIONS_USAGE;
	}
	if (o->all_python && o->hook_only) {
		err_set(err, "--hook-only is for one process: it cannot be used with --all-python");
		return OPTIONS_USAGE;
	}
	return OPTIONS_RUN;
}

static enum options_result check_target(struct pybpf_options *o, struct pybpf_err *err)
{
	if (check_host(o, err) != OPTIONS_RUN)
		return OPTIONS_USAGE;
	if (o->all_python)
		return OPTIONS_RUN;
	if (o->pid && o->cmd) {
		err_set(err, "-p and a command exclude each other: attach to a PID or launch a "
			     "command (hint: pybpf-prof --help)");
		return OPTIONS_USAGE;
	}
	if (!o->pid && !o->cmd) {
		err_set(err, "nothing to trace: give -p PID, -- CMD or --all-python (hint: "
			     "pybpf-prof --help)");
		return OPTIONS_USAGE;
	}
	return OPTIONS_RUN;
}

/* The long option named by "--name" or "--name=value", or NULL. */
static const struct option *long_option_of(const char *arg)
{
	size_t len = strcspn(arg + 2, "=");

	for (const struct option *o = long_options; o->name; o++) {
		if (strlen(o->name) == len && !strncmp(o->name, arg + 2, len))
			return o;
	}
	return NULL;
}

/* getopt's '?': say which option and what is wrong with it. */
static void explain_bad_option(const char *arg, struct pybpf_err *err)
{
	const struct option *lo = !strncmp(arg, "--", 2) ? long_option_of(arg) : NULL;

	if (lo && lo->val == OPT_BACKEND)
		err_set(err, "option '--backend' needs a value: " BACKEND_NAMES
			     " (hint: pybpf-prof --help)");
	else if (lo && lo->has_arg == required_argument)
		err_set(err, "option '--%s' needs a value (hint: pybpf-prof --help)", lo->name);
	else if (lo)
		err_set(err, "option '--%s' takes no value (hint: pybpf-prof --help)", lo->name);
	else if (optopt && optopt < 256 && strchr("pdos", optopt))
		err_set(err, "option '-%c' needs a value (hint: pybpf-prof --help)", optopt);
	else if (optopt && optopt < 256)
		err_set(err, "unknown option '-%c' (hint: pybpf-prof --help)", optopt);
	else
		err_set(err, "unknown option '%s' (hint: pybpf-prof --help)", arg);
}

enum options_result options_parse(int argc, char **argv, struct pybpf_options *o,
				  struct pybpf_err *err)
{
	int c;

	memset(o, 0, sizeof(*o)); /* the caller's: may hold anything */
	o->sort = PYBPF_SORT_CUMULATIVE;
	o->sample_sort = SREPORT_SORT_TOTTIME;
	o->mode = SAMPLE_MODE_WALL;
	o->limit = -1;
	opterr = 0;
	optind = 0; /* full reset, so tests can parse again */
	while ((c = getopt_long(argc, argv, "+p:d:o:s:vhV", long_options, NULL)) != -1) {
		if (c == '?' || c == ':') {
			explain_bad_option(argv[optind - 1], err);
			return OPTIONS_USAGE;
		}
		enum options_result r = apply(c, optarg, o, err);
		if (r != OPTIONS_RUN)
			return r;
	}
	if (optind < argc)
		o->cmd = &argv[optind];
	if (check_modes(o, err) != OPTIONS_RUN)
		return OPTIONS_USAGE;
	return check_target(o, err);
}

void options_free(struct pybpf_options *o)
{
	free(o->exclude);
	memset(o, 0, sizeof(*o));
}
