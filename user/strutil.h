/* SPDX-License-Identifier: GPL-2.0-only */
/* Strings from the target are untrusted: make them valid UTF-8, and escape
 * control characters before they reach a terminal. */
#ifndef PYBPF_STRUTIL_H
#define PYBPF_STRUTIL_H

#include <stddef.h>

/* A malloc'ed copy of s with each invalid UTF-8 byte replaced by U+FFFD. */
char *utf8_sanitize(const char *s);
/* Writes s into buf (size n, always terminated) with control characters,
 * backslash and DEL escaped as \n, \t, \\ or \xHH. Returns buf. */
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
