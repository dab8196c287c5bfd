// SPDX-License-Identifier: GPL-2.0-only
#include "linetable.h"

#include <stdbool.h>

/* Lines add up in 64 bits, held within +-2^40 (a delta is below 2^36, see
 * VARINT_MAX_CHUNKS) so no table can overflow them, then are brought back
 * into an int32 line. */
#define LINE_CAP (INT64_C(1) << 40)

static int64_t add_line(int64_t line, int64_t delta)
{
	line += delta;
	return line > LINE_CAP ? LINE_CAP : line < -LINE_CAP ? -LINE_CAP : line;
}

static int32_t clamp_line(int64_t line)
{
	if (line < 0)
		return 0;
	if (line > INT32_MAX)
		return INT32_MAX;
	return (int32_t)line;
}

/* 3.9 co_lnotab: (byte increment, signed line increment) pairs; the line of
 * the byte offset is the sum of the increments whose offset is not past it. */
static int64_t lnotab_line(const uint8_t *t, size_t n, int64_t line, int64_t lasti)
{
	int64_t addr = 0;

	for (size_t i = 0; i + 1 < n; i += 2) {
		addr += t[i];
		if (addr > lasti * 2)
			break;
		line = add_line(line, (int8_t)t[i + 1]);
	}
	return line;
}

#define NO_LINE_310 (-128)

/* 3.10 co_linetable: (byte length, signed line delta) pairs, each a range
 * starting where the previous ended; a delta of -128 marks a range with no
 * line, which leaves the running line, the last range's, as it was. */
static int64_t linetable310_line(const uint8_t *t, size_t n, int64_t line, int64_t lasti)
{
	int64_t end = 0;

	for (size_t i = 0; i + 1 < n; i += 2) {
		int8_t delta = (int8_t)t[i + 1];

		end += t[i];
		if (delta != NO_LINE_310)
			line = add_line(line, delta);
		if (lasti * 2 < end)
			break;
	}
	return line;
}

/* 3.11+ location table (CPython's Objects/locations.md): an entry starts
 * with a byte that has bit 7 set, giving a kind and a length of 1-8 code
 * units; varint bytes never have bit 7 set. */
#define LOC_ENTRY_START 0x80
#define LOC_NO_COLUMNS 13
#define LOC_LONG 14
#define LOC_NONE 15
#define LOC_ONE_LINE0 10
#define LOC_ONE_LINE2 12
#define VARINT_MAX_CHUNKS 6 /* 36 bits: more than any real delta, and no shift overflows */

/* A signed varint (6-bit little-endian chunks, 0x40 = more follow; the
 * value's low bit is the sign) from [p, end); a truncated one counts what
 * was read. */
static int64_t read_svarint(const uint8_t *p, const uint8_t *end)
{
	uint64_t v = 0;

	for (int k = 0; p < end && k < VARINT_MAX_CHUNKS; k++, p++) {
		v |= (uint64_t)(*p & 0x3f) << (6 * k);
		if (!(*p & 0x40))
			break;
	}
	return v & 1 ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
}

/* How the entry starting at p (first byte b) moves the line. */
static int64_t loc_line_delta(uint8_t b, const uint8_t *p, const uint8_t *end)
{
	int kind = (b >> 3) & 15;

	if (kind == LOC_NO_COLUMNS || kind == LOC_LONG)
		return read_svarint(p + 1, end);
	if (kind >= LOC_ONE_LINE0 && kind <= LOC_ONE_LINE2)
		return kind - LOC_ONE_LINE0;
	return 0; /* short forms: the same line; LOC_NONE: no line, no change */
}

static int64_t locations_line(const uint8_t *t, size_t n, int64_t line, int64_t lasti)
{
	const uint8_t *end = t + n;
	int64_t addr = 0, known = line;

	for (const uint8_t *p = t; p < end;) {
		uint8_t b = *p;
		bool none = ((b >> 3) & 15) == LOC_NONE;

		if (!(b & LOC_ENTRY_START)) {
			p++; /* not an entry's start: malformed, look for the next one */
			continue;
		}
		line = add_line(line, loc_line_delta(b, p, end));
		addr += (b & 7) + 1;
		if (lasti < addr)
			return none ? known : line;
		if (!none)
			known = line;
		for (p++; p < end && !(*p & LOC_ENTRY_START); p++)
			;
	}
	return known;
}

int32_t linetable_line(int minor, const uint8_t *table, size_t n, int32_t firstlineno,
		       int32_t lasti)
{
	if (lasti < 0)
		return clamp_line(firstlineno);
	if (!table)
		n = 0;
	if (minor <= 9)
		return clamp_line(lnotab_line(table, n, firstlineno, lasti));
	if (minor == 10)
		return clamp_line(linetable310_line(table, n, firstlineno, lasti));
	return clamp_line(locations_line(table, n, firstlineno, lasti));
}
