// SPDX-License-Identifier: GPL-2.0-only
#include "strutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s, or 0 if it is not valid. */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t len;
	unsigned int cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

char *utf8_sanitize(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1), *o = out; /* each bad byte grows to 3 */
	const unsigned char *p = (const unsigned char *)s;

	if (!out)
		return NULL;
	while (*p) {
		size_t len = utf8_seq_len(p);
		if (len) {
			memcpy(o, p, len);
			o += len;
			p += len;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		}
	}
	*o = '\0';
	return out;
}

/* The code point of the valid len-byte UTF-8 sequence at s. */
static uint32_t utf8_code_point(const unsigned char *s, size_t len)
{
	uint32_t cp = len == 2 ? s[0] & 0x1f : len == 3 ? s[0] & 0x0f : s[0] & 0x07;

	for (size_t i = 1; i < len; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

size_t utf8_char(const char *s, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = utf8_seq_len(u);

	*cp = len > 1 ? utf8_code_point(u, len) : u[0];
	return len;
}

bool is_invisible_control(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) ||	    /* C1 controls (CSI, NEL ...) */
	       (cp >= 0x202a && cp <= 0x202e) ||    /* bidi embeddings and overrides */
	       (cp >= 0x2066 && cp <= 0x2069) ||    /* bidi isolates */
	       cp == 0x2028 || cp == 0x2029;	    /* line and paragraph separators */
}

char *escape_for_print(const char *s, char *buf, size_t n)
{
	size_t o = 0;

	if (!n)
		return buf;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char tmp[8];
		const char *piece = tmp;

		size_t seq = *p >= 0x80 ? utf8_seq_len(p) : 0;
		if (seq > 1 && is_invisible_control(utf8_code_point(p, seq))) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", utf8_code_point(p, seq));
			if (o + 6 >= n)
				break;
			memcpy(buf + o, tmp, 6);
			o += 6;
			p += seq - 1;
			continue;
		}
		if (seq > 1) { /* a whole character, never split by truncation */
			if (o + seq >= n)
				break;
			memcpy(buf + o, p, seq);
			o += seq;
			p += seq - 1;
			continue;
		}
		if (*p == '\n')
			piece = "\\n";
		else if (*p == '\t')
			piece = "\\t";
		else if (*p == '\\')
			piece = "\\\\";
		else if (*p < 0x20 || *p >= 0x7f) /* control, DEL, invalid UTF-8 */
			snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		else
			tmp[0] = (char)*p, tmp[1] = '\0';
		size_t len = strlen(piece);
		if (o + len >= n)
			break;
		memcpy(buf + o, piece, len);
		o += len;
	}
	buf[o] = '\0';
	return buf;
}

/* Each byte becomes at most 4 characters ("\xHH"; "\uHHHH" stands for 2 or 3). */
char *escaped_ndup(const char *s, size_t max)
{
	char *raw = strndup(s, max), *buf = NULL;

	if (raw) {
		size_t n = strlen(raw) * 4 + 1;
		buf = malloc(n);
		if (buf)
			escape_for_print(raw, buf, n);
	}
	free(raw);
	return buf;
}

char *escaped_dup(const char *s)
{
	return escaped_ndup(s, SIZE_MAX);
}

/* UTF-8 encoding of cp into out (room for 4); its length. */
static size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

char *ucs_to_utf8(const void *raw, size_t n, unsigned int width, char *buf, size_t bufsz)
{
	const uint8_t *p = raw;
	size_t len = 0;
	char enc[4];

	if (!bufsz)
		return buf;
	buf[0] = '\0';
	if (width != 1 && width != 2 && width != 4)
		return buf;
	for (size_t i = 0; i + width <= n; i += width) {
		uint32_t cp = p[i];
		size_t k;

		if (width >= 2)
			cp |= (uint32_t)p[i + 1] << 8;
		if (width == 4)
			cp |= (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24;
		if (!cp)
			break;
		k = utf8_encode(cp, enc);
		if (len + k >= bufsz)
			break;
		memcpy(buf + len, enc, k);
		len += k;
	}
	buf[len] = '\0';
	return buf;
}
