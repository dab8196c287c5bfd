// SPDX-License-Identifier: GPL-2.0-only
/* Prints the offsets of user/pythreads.c's table for one CPython 3.9-3.13
 * from its installed headers. Not built by the Makefile; for 3.X.Y in pyenv:
 *   I=~/.pyenv/versions/3.X.Y/include/python3.X
 *   cc -DPy_BUILD_CORE -I$I -I$I/internal scripts/pythreads-offsets.c -o /tmp/o && /tmp/o
 * 3.9/3.10 do not install their dict keys layout (Objects/dict-common.h) nor,
 * for 3.9, PyModuleObject: those come from the source. 3.14+ ship
 * _Py_DebugOffsets, which pythreads.c reads from the target. */
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#include "internal/pycore_interp.h"
#if PY_MINOR_VERSION >= 11
#include "internal/pycore_dict.h"
#endif
#if PY_MINOR_VERSION >= 12
#include "internal/pycore_long.h"
#endif
#if PY_MINOR_VERSION >= 10
#include "internal/pycore_moduleobject.h"
#endif

#define P(name, v) printf("%-26s 0x%zx\n", name, (size_t)(v))

int main(void)
{
	printf("CPython %s\n", PY_VERSION);
#if PY_MINOR_VERSION >= 12
	P("interp_modules", offsetof(PyInterpreterState, imports.modules));
#else
	P("interp_modules", offsetof(PyInterpreterState, modules));
#endif
	P("ht_cached_keys", offsetof(PyHeapTypeObject, ht_cached_keys));
	P("type_flags", offsetof(PyTypeObject, tp_flags));
	P("type_basicsize", offsetof(PyTypeObject, tp_basicsize));
	P("type_dictoffset", offsetof(PyTypeObject, tp_dictoffset));
	P("dict_keys", offsetof(PyDictObject, ma_keys));
	P("dict_values", offsetof(PyDictObject, ma_values));
#if PY_MINOR_VERSION >= 10
	P("md_dict", offsetof(PyModuleObject, md_dict));
#endif
#if PY_MINOR_VERSION >= 12
	P("long lv_tag", offsetof(PyLongObject, long_value.lv_tag));
	P("long_digits", offsetof(PyLongObject, long_value.ob_digit));
#else
	P("long ob_size", offsetof(PyVarObject, ob_size));
	P("long_digits", offsetof(PyLongObject, ob_digit));
#endif
#if PY_MINOR_VERSION >= 11
	P("keys dk_log2_size", offsetof(PyDictKeysObject, dk_log2_size));
	P("keys dk_log2_index_bytes", offsetof(PyDictKeysObject, dk_log2_index_bytes));
	P("keys dk_kind", offsetof(PyDictKeysObject, dk_kind));
	P("keys dk_nentries", offsetof(PyDictKeysObject, dk_nentries));
	P("keys dk_indices", offsetof(PyDictKeysObject, dk_indices));
	P("sizeof(PyDictKeyEntry)", sizeof(PyDictKeyEntry));
	P("sizeof(PyDictUnicodeEntry)", sizeof(PyDictUnicodeEntry));
	P("values_start", offsetof(PyDictValues, values));
	P("Py_TPFLAGS_MANAGED_DICT", Py_TPFLAGS_MANAGED_DICT);
#endif
#ifdef Py_TPFLAGS_INLINE_VALUES
	P("Py_TPFLAGS_INLINE_VALUES", Py_TPFLAGS_INLINE_VALUES);
#endif
	return 0;
}
