// SPDX-License-Identifier: Apache-2.0
/* Function symbols by mangled-name prefix with libelf (see symbols.h for the matching rule).
 * The file belongs to a watched process's owner, who may truncate it while we read:
 * libelf reads it with pread (ELF_C_READ), never through a mapping (ELF_C_READ_MMAP
 * faults with SIGBUS on a truncated file and kills the agent); a short read is an
 * error libelf reports. The open is non-blocking and the fd checked to be a regular
 * file of bounded size before libelf reads a byte. */
#include "track/symbols.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"

/* The largest Node binary or libnode we read (Node 20: ~100 MB). */
#define SYMBOLS_FILE_MAX ((off_t)1 << 30)

bool symbols_name_matches(const char *name, const char *prefix, bool *clone, bool *cold)
{
	size_t plen = strlen(prefix);
	const char *rest;

	if (strncmp(name, prefix, plen) != 0)
		return false;
	rest = name + plen;
	/* After a closed mangled name ("...E") only a parameter list or a clone suffix can
	 * follow; after a plain name only a clone suffix may. */
	if (*rest && *rest != '.' && !(plen && prefix[plen - 1] == 'E'))
		return false;
	if (clone)
		*clone = strchr(rest, '.') != NULL;
	if (cold)
		*cold = strstr(rest, ".cold") != NULL;
	return true;
}

const struct sym_match *symbols_entry(const struct sym_query *q)
{
	for (int i = 0; i < q->count; i++)
		if (!q->match[i].cold)
			return &q->match[i];
	return NULL;
}

static bool already_have(const struct sym_query *q, uint64_t vaddr)
{
	for (int i = 0; i < q->count; i++)
		if (q->match[i].vaddr == vaddr)
			return true;
	return false;
}

/* Keep non-clone matches first: replace the last clone when full. */
static void add_match(struct sym_query *q, const struct sym_match *m)
{
	int slot = q->count;

	if (already_have(q, m->vaddr))
		return;
	if (slot == SYM_MAX_MATCHES) {
		if (m->clone || !q->match[slot - 1].clone)
			return;
		slot--;
	} else {
		q->count++;
	}
	q->match[slot] = *m;
	for (int i = slot; i > 0 && q->match[i - 1].clone && !q->match[i].clone; i--) {
		struct sym_match t = q->match[i - 1];
		q->match[i - 1] = q->match[i];
		q->match[i] = t;
	}
}

static bool file_offset_of(Elf *elf, const GElf_Sym *sym, uint64_t *offset)
{
	Elf_Scn *scn;
	GElf_Shdr sh;

	if (sym->st_shndx == SHN_UNDEF || sym->st_shndx >= SHN_LORESERVE)
		return false;
	scn = elf_getscn(elf, sym->st_shndx);
	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
		return false;
	if (sym->st_value < sh.sh_addr || sym->st_value >= sh.sh_addr + sh.sh_size)
		return false;
	*offset = sym->st_value - sh.sh_addr + sh.sh_offset;
	return true;
}

static void scan_table(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct sym_query *queries,
		       size_t nqueries, struct sym_file_info *info)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	bool symtab = sh->sh_type == SHT_SYMTAB;

	for (size_t i = 0; data && i < n; i++) {
		GElf_Sym sym;
		const char *name;
		struct sym_match m = { .from_symtab = symtab };

		if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC)
			continue;
		info->function_symbols++;
		name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name)
			continue;
		for (size_t q = 0; q < nqueries; q++) {
			if (!symbols_name_matches(name, queries[q].prefix, &m.clone, &m.cold))
				continue;
			if (!file_offset_of(elf, &sym, &m.offset))
				continue;
			m.vaddr = sym.st_value;
			m.size = sym.st_size;
			add_match(&queries[q], &m);
		}
	}
}

static void scan_tables(Elf *elf, Elf64_Word type, struct sym_query *queries, size_t nqueries,
			struct sym_file_info *info)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type)
			continue;
		if (type == SHT_SYMTAB)
			info->has_symtab = true;
		else
			info->has_dynsym = true;
		scan_table(elf, scn, &sh, queries, nqueries, info);
	}
}

int symbols_resolve(const char *path, struct sym_query *queries, size_t nqueries,
		    struct sym_file_info *info, char *err, size_t errlen)
{
	struct sym_file_info local = { 0 };
	Elf *elf = NULL;
	int fd, found = 0;

	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	for (size_t q = 0; q < nqueries; q++)
		queries[q].count = 0;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		return -ENOTSUP;
	}
	/* followed: the callers pass /proc/PID/exe and /proc/PID/map_files/... links */
	fd = open_untrusted(AT_FDCWD, path, true, SYMBOLS_FILE_MAX, NULL);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 fd == -EINVAL ? "not a regular file" : fd == -EFBIG ? "larger than 1 GiB" : strerror(-fd));
		return fd;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		snprintf(err, errlen, "%s: not an ELF file", path);
		found = -ENOEXEC;
		goto cleanup;
	}
	scan_tables(elf, SHT_SYMTAB, queries, nqueries, info);
	scan_tables(elf, SHT_DYNSYM, queries, nqueries, info);
	for (size_t q = 0; q < nqueries; q++)
		if (symbols_entry(&queries[q]))
			found++;
cleanup:
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}
