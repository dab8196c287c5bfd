/* SPDX-License-Identifier: GPL-2.0-only */
/* Strings from the target are untrusted: make them valid UTF-8, and escape
 * control characters before they reach a terminal. */
#ifndef PYBPF_STRUTIL_H
#define PYBPF_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A malloc'ed copy of s with each invalid UTF-8 byte replaced by U+FFFD. */
char *utf8_sanitize(const char *s);
/* The length of the valid UTF-8 character at s (1 for ASCII, 0 if invalid)
 * and, when valid, its code point in *cp. */
size_t utf8_char(const char *s, uint32_t *cp);
/* Characters that are valid UTF-8 but act on a terminal or reorder what it
 * shows: C1 controls, bidi embeddings, overrides and isolates, U+2028/2029. */
bool is_invisible_control(uint32_t cp);
/* Writes s into buf (size n, always terminated) with control characters,
 * backslash and DEL escaped as \n, \t, \\ or \xHH, invalid UTF-8 bytes as
 * \xHH and the characters of is_invisible_control() as \uHHHH; a piece is
 * never split by truncation. Returns buf. */
char *escape_for_print(const char *s, char *buf, size_t n);
/* escape_for_print() into a malloc'ed string of the whole escaped form of
 * at most max bytes of s (an unterminated field may fill its array), or NULL. */
char *escaped_ndup(const char *s, size_t max);
/* escaped_ndup() of all of s. */
char *escaped_dup(const char *s);

/* Decodes n bytes of a CPython str's storage, `width` bytes per code point
 * (1 Latin-1, 2 UCS-2, 4 UCS-4, little-endian), into UTF-8 in buf (size
 * bufsz, always terminated, truncated at a whole character). Code points
 * that are not valid Unicode scalars become U+FFFD; a partial unit at the
 * end is dropped. Returns buf. */
char *ucs_to_utf8(const void *raw, size_t n, unsigned int width, char *buf, size_t bufsz);

#endif
