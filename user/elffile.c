// SPDX-License-Identifier: GPL-2.0-only
#include "elffile.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STAPSDT_NOTE_TYPE 3

struct elf_file {
	int fd;
	Elf *elf;
};

struct elf_file *elf_file__open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? NULL : elf_file__open_fd(fd);
}

struct elf_file *elf_file__open_fd(int fd)
{
	struct elf_file *ef = calloc(1, sizeof(*ef));

	if (!ef) {
		close(fd);
		return NULL;
	}
	ef->fd = fd;
	if (elf_version(EV_CURRENT) == EV_NONE)
		goto fail_errno;
	ef->elf = elf_begin(ef->fd, ELF_C_READ, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF || gelf_getclass(ef->elf) != ELFCLASS64)
		goto fail_errno;
	return ef;
fail_errno:
	errno = ENOEXEC;
	elf_file__close(ef);
	return NULL;
}

void elf_file__close(struct elf_file *ef)
{
	int saved = errno;

	if (!ef)
		return;
	if (ef->elf)
		elf_end(ef->elf);
	if (ef->fd >= 0)
		close(ef->fd);
	free(ef);
	errno = saved;
}

static Elf_Scn *section_of_type(struct elf_file *ef, Elf64_Word type, Elf_Scn *after)
{
	Elf_Scn *scn = after;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			return scn;
	}
	return NULL;
}

static int symbol_in(struct elf_file *ef, Elf64_Word type, const char *name, uint64_t *value,
		     uint64_t *size)
{
	Elf_Scn *scn = section_of_type(ef, type, NULL);
	GElf_Shdr sh;
	Elf_Data *data;
	GElf_Sym sym;

	if (!scn || !gelf_getshdr(scn, &sh) || !sh.sh_entsize || !(data = elf_getdata(scn, NULL)))
		return -ENOENT;
	for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
		if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
		    GELF_ST_TYPE(sym.st_info) == STT_FILE || GELF_ST_TYPE(sym.st_info) == STT_SECTION)
			continue;
		const char *s = elf_strptr(ef->elf, sh.sh_link, sym.st_name);
		if (s && !strcmp(s, name)) {
			*value = sym.st_value;
			if (size)
				*size = sym.st_size;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__symbol(struct elf_file *ef, const char *name, uint64_t *value, uint64_t *size)
{
	if (!symbol_in(ef, SHT_DYNSYM, name, value, size))
		return 0;
	return symbol_in(ef, SHT_SYMTAB, name, value, size);
}

size_t elf_file__loads(struct elf_file *ef, struct elf_load *out, size_t max)
{
	size_t nph = 0, n = 0;
	GElf_Phdr ph;

	if (elf_getphdrnum(ef->elf, &nph))
		return 0;
	for (size_t i = 0; i < nph && n < max; i++) {
		if (!gelf_getphdr(ef->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		out[n++] = (struct elf_load){ ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz };
	}
	return n;
}

int elf_file__read_vaddr(struct elf_file *ef, uint64_t vaddr, void *buf, size_t n)
{
	struct elf_load loads[ELF_MAX_LOADS];
	size_t nl = elf_file__loads(ef, loads, ELF_MAX_LOADS);

	for (size_t i = 0; i < nl; i++) {
		struct elf_load *l = &loads[i];
		if (vaddr < l->vaddr || vaddr - l->vaddr > l->filesz || n > l->filesz - (vaddr - l->vaddr))
			continue;
		ssize_t got = pread(ef->fd, buf, n, (off_t)(l->offset + vaddr - l->vaddr));
		return got == (ssize_t)n ? 0 : -EIO;
	}
	return -ENOENT;
}

/* One stapsdt note: three addresses, then provider, name and args strings. */
static void match_stapsdt(const char *desc, size_t len, const char *provider, const char *name,
			  struct usdt_note_info *out)
{
	const size_t addrs = 3 * sizeof(uint64_t);
	uint64_t semaphore;

	if (len <= addrs || desc[len - 1] != '\0')
		return;
	const char *prov = desc + addrs;
	const char *probe = prov + strnlen(prov, len - addrs) + 1;
	if (probe >= desc + len || strcmp(prov, provider) || strcmp(probe, name))
		return;
	memcpy(&semaphore, desc + 2 * sizeof(uint64_t), sizeof(semaphore));
	out->found = true;
	out->has_semaphore = semaphore != 0;
}

int elf_file__usdt(struct elf_file *ef, const char *provider, const char *name,
		   struct usdt_note_info *out)
{
	Elf_Scn *scn = NULL;

	memset(out, 0, sizeof(*out));
	while ((scn = section_of_type(ef, SHT_NOTE, scn))) {
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;

		while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const char *base = data->d_buf;
			if (nh.n_type != STAPSDT_NOTE_TYPE || nh.n_namesz != sizeof("stapsdt") ||
			    memcmp(base + name_off, "stapsdt", sizeof("stapsdt")))
				continue;
			match_stapsdt(base + desc_off, nh.n_descsz, provider, name, out);
			if (out->found)
				return 0;
		}
	}
	return 0;
}

/* The string of dynamic entry number `want` among those with tag `tag`. */
static const char *dynamic_string(struct elf_file *ef, Elf64_Sxword tag, size_t want)
{
	Elf_Scn *scn = section_of_type(ef, SHT_DYNAMIC, NULL);
	GElf_Shdr sh;
	Elf_Data *data;
	GElf_Dyn dyn;
	size_t seen = 0;

	if (!scn || !gelf_getshdr(scn, &sh) || !sh.sh_entsize || !(data = elf_getdata(scn, NULL)))
		return NULL;
	for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
		if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag == tag && seen++ == want)
			return elf_strptr(ef->elf, sh.sh_link, dyn.d_un.d_val);
	}
	return NULL;
}

const char *elf_file__needed(struct elf_file *ef, size_t i)
{
	return dynamic_string(ef, DT_NEEDED, i);
}

const char *elf_file__runpath(struct elf_file *ef)
{
	const char *r = dynamic_string(ef, DT_RUNPATH, 0);

	return r ? r : dynamic_string(ef, DT_RPATH, 0);
}

static Elf_Scn *section_named(struct elf_file *ef, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(ef->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(ef->elf, scn))) {
		const char *n = gelf_getshdr(scn, &sh) ? elf_strptr(ef->elf, shstrndx, sh.sh_name) : NULL;
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* "3.<minor>.<micro>" alone between NULs, an optional "+" or release tag after. */
static bool is_version_string(const char *s, size_t len, const char *prefix, int *micro)
{
	size_t plen = strlen(prefix), i = plen;

	if (len <= plen || len > plen + 12 || memcmp(s, prefix, plen))
		return false;
	if (s[i] < '0' || s[i] > '9')
		return false;
	int m = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		m = m * 10 + (s[i] - '0');
	for (; i < len; i++) {
		if (!strchr("abrc+0123456789", s[i]))
			return false;
	}
	*micro = m;
	return true;
}

int elf_file__find_version(struct elf_file *ef, int minor, int *micro)
{
	Elf_Scn *scn = section_named(ef, ".rodata");
	Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
	char prefix[16];

	if (!data || !data->d_buf)
		return -ENOENT;
	snprintf(prefix, sizeof(prefix), "3.%d.", minor);
	const char *buf = data->d_buf;
	for (size_t i = 0; i < data->d_size;) {
		const char *end = memchr(buf + i, '\0', data->d_size - i);
		size_t len = end ? (size_t)(end - (buf + i)) : data->d_size - i;
		if ((i == 0 || buf[i - 1] == '\0') && is_version_string(buf + i, len, prefix, micro))
			return 0;
		i += len + 1;
	}
	return -ENOENT;
}
