// SPDX-License-Identifier: GPL-2.0-only
#include "layoutcheck.h"

#include <stdbool.h>
#include <stdint.h>

#define CHECK_THREADS 16
#define CHECK_FRAMES 32
#define OB_TYPE 8 /* PyObject.ob_type, in every non-debug build */

struct live_types {
	uint64_t code, unicode; /* &PyCode_Type, &PyUnicode_Type in the target */
};

struct walk_count {
	unsigned int frames, codes;
};

static bool read_ptr(pid_t pid, uint64_t addr, uint64_t *v)
{
	return addr && !python_target__read(pid, addr, v, sizeof(*v));
}

static bool is_type(pid_t pid, uint64_t obj, uint64_t type)
{
	uint64_t tp;

	return read_ptr(pid, obj + OB_TYPE, &tp) && tp == type;
}

static bool holds_code(const struct python_target *t, const struct pybpf_offsets *off,
		       const struct live_types *ty, uint64_t frame)
{
	uint64_t code, name, file;

	if (!read_ptr(t->pid, frame + off->frame_code, &code))
		return false;
	code &= off->code_ptr_mask ? off->code_ptr_mask : ~0ull;
	return is_type(t->pid, code, ty->code) &&
	       read_ptr(t->pid, code + off->code_name, &name) && is_type(t->pid, name, ty->unicode) &&
	       read_ptr(t->pid, code + off->code_filename, &file) && is_type(t->pid, file, ty->unicode);
}

/* Frames of the first threads, innermost first, as off reads them. */
static void walk(const struct python_target *t, const struct pybpf_offsets *off,
		 const struct live_types *ty, struct walk_count *c)
{
	uint64_t interp, tstate, frame;

	*c = (struct walk_count){ 0, 0 };
	if (!read_ptr(t->pid, t->runtime_addr + off->runtime_interp_main, &interp) ||
	    !read_ptr(t->pid, interp + off->interp_threads_head, &tstate))
		return;
	for (int i = 0; i < CHECK_THREADS && tstate; i++) {
		if (!read_ptr(t->pid, tstate + off->tstate_frame, &frame))
			frame = 0;
		for (int j = 0; j < CHECK_FRAMES && frame; j++) {
			c->frames++;
			c->codes += holds_code(t, off, ty, frame);
			if (!read_ptr(t->pid, frame + off->frame_previous, &frame))
				break;
		}
		if (!read_ptr(t->pid, tstate + off->tstate_next, &tstate))
			break;
	}
}

static bool live_types_of(const struct python_target *t, struct live_types *ty)
{
	struct elf_file *ef = python_target__open_elf(t);
	bool ok = ef && !elf_file__symbol(ef, "PyCode_Type", &ty->code, NULL) &&
		  !elf_file__symbol(ef, "PyUnicode_Type", &ty->unicode, NULL);

	elf_file__close(ef);
	ty->code += t->bias;
	ty->unicode += t->bias;
	return ok;
}

int layout_check_live(const struct python_target *t, const struct pybpf_offsets *off,
		      struct pybpf_err *err)
{
	struct live_types ty;
	struct walk_count c = { 0, 0 };

	if (!live_types_of(t, &ty))
		return 0;
	/* Twice before refusing: a frame may be popped while it is read. */
	for (int pass = 0; pass < 2; pass++) {
		walk(t, off, &ty, &c);
		if (!c.frames || c.codes)
			return 0;
	}
	err_set(err, "PID %d: CPython %s: the layout its _Py_DebugOffsets gives finds %u frames "
		     "and no code object in them: memory layout unknown, refusing to read it",
		t->pid, t->version, c.frames);
	return -1;
}
