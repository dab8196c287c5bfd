#!/bin/bash
# Mean cost per run of each pybpf-prof BPF program, from the kernel's own
# accounting (kernel.bpf_stats_enabled), over one traced run of a workload.
# Usage (root): tests/bench/progcost.sh [PYTHON] [pybpf-prof options...]
# e.g. tests/bench/progcost.sh /root/.pyenv/versions/3.12.1/bin/python3.12 --backend evalframe
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prof=${PYBPF_PROF:-$here/../../pybpf-prof}
python=${1:-python3}
shift || true
was=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -qw kernel.bpf_stats_enabled=$was' EXIT
sysctl -qw kernel.bpf_stats_enabled=1
"$prof" "$@" -- "$python" "$here/callheavy.py" >/dev/null 2>"${TMPDIR:-/tmp}/progcost.err" &
pid=$!
last=""
# Our programs' figures vanish with them: keep the last reading before exit.
while kill -0 "$pid" 2>/dev/null; do
	cur=$(bpftool prog show 2>/dev/null | grep -E "name py_" | grep run_cnt || true)
	[ -n "$cur" ] && last=$cur
	sleep 0.05
done
wait "$pid"
echo "$last" | awk '{ for (i = 1; i <= NF; i++) { if ($i == "name") n = $(i + 1);
	if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") c = $(i + 1) }
	if (c > 1000) printf "%-22s %9d runs %6.0f ns/run\n", n, c, t / c }' | sort -u
grep BENCH_ELAPSED "${TMPDIR:-/tmp}/progcost.err" || true
