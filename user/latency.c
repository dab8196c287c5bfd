// SPDX-License-Identifier: GPL-2.0-only
/* Call-duration histograms: percentiles by linear interpolation inside a
 * log2 bucket, and the funclatency-style text of the buckets. */
#include "latency.h"

#include <inttypes.h>
#include <string.h>

#define LAST_SLOT (PYBPF_HIST_SLOTS - 1)

uint64_t latency_slot_lo(unsigned int k)
{
	if (k > LAST_SLOT)
		k = LAST_SLOT;
	return k ? 1ull << k : 0;
}

uint64_t latency_slot_hi(unsigned int k)
{
	return k >= LAST_SLOT ? UINT64_MAX : 1ull << (k + 1);
}

unsigned int latency_slot_of(uint64_t ns)
{
	unsigned int k = 0;

	while (k < LAST_SLOT && ns >> (k + 1))
		k++;
	return k;
}

uint64_t latency_count(const uint64_t slots[PYBPF_HIST_SLOTS])
{
	uint64_t n = 0;

	for (unsigned int k = 0; k < PYBPF_HIST_SLOTS; k++)
		n += slots[k];
	return n;
}

int latency_percentile(const uint64_t slots[PYBPF_HIST_SLOTS], double q, double *ns)
{
	uint64_t total = latency_count(slots), before = 0;
	double rank;

	*ns = 0;
	if (!total || !(q >= 0 && q <= 100))
		return -1;
	rank = q * (double)total / 100;
	for (unsigned int k = 0; k < PYBPF_HIST_SLOTS; k++) {
		double lo = (double)latency_slot_lo(k);

		if (!slots[k] || (double)(before + slots[k]) < rank) {
			before += slots[k];
			continue;
		}
		if (k == LAST_SLOT) {
			*ns = lo;
			return 1;
		}
		*ns = lo + ((double)latency_slot_hi(k) - lo) * (rank - (double)before) /
				   (double)slots[k];
		return 0;
	}
	return -1; /* not reached: the running count ends at total >= rank */
}

char *latency_format_ns(char *buf, size_t n, double ns)
{
	static const struct {
		double scale;
		const char *unit;
	} units[] = { { 1e3, "us" }, { 1e6, "ms" }, { 1e9, "s" } };
	size_t u = 0;
	double v;

	/* The unit is picked on the rounded value, so 999.7 us reads 1.00 ms. */
	if (ns < 999.5) {
		snprintf(buf, n, "%.0f ns", ns);
		return buf;
	}
	while (u + 1 < sizeof(units) / sizeof(units[0]) && ns >= 999.5 * units[u].scale)
		u++;
	v = ns / units[u].scale;
	snprintf(buf, n, v < 9.995 ? "%.2f %s" : v < 99.95 ? "%.1f %s" : "%.0f %s", v,
		 units[u].unit);
	return buf;
}

void latency_print_hist(FILE *out, const uint64_t slots[PYBPF_HIST_SLOTS], const char *indent)
{
	unsigned int first = PYBPF_HIST_SLOTS, last = 0;
	uint64_t max = 0;
	char bar[LATENCY_BAR_WIDTH + 1], lo[32], hi[32];

	for (unsigned int k = 0; k < PYBPF_HIST_SLOTS; k++) {
		if (!slots[k])
			continue;
		if (first == PYBPF_HIST_SLOTS)
			first = k;
		last = k;
		if (slots[k] > max)
			max = slots[k];
	}
	if (!max)
		return;
	fprintf(out, "%s%-20s : %10s  %s\n", indent, "        duration", "calls", "distribution");
	for (unsigned int k = first; k <= last; k++) {
		size_t stars = (size_t)((double)slots[k] * LATENCY_BAR_WIDTH / (double)max);

		if (stars > LATENCY_BAR_WIDTH)
			stars = LATENCY_BAR_WIDTH;
		memset(bar, '*', stars);
		memset(bar + stars, ' ', LATENCY_BAR_WIDTH - stars);
		bar[LATENCY_BAR_WIDTH] = '\0';
		latency_format_ns(lo, sizeof(lo), (double)latency_slot_lo(k));
		if (k == LAST_SLOT)
			snprintf(hi, sizeof(hi), "longer");
		else
			latency_format_ns(hi, sizeof(hi), (double)latency_slot_hi(k));
		fprintf(out, "%s%8s -> %-8s : %10" PRIu64 " |%s|\n", indent, lo, hi, slots[k], bar);
	}
}
