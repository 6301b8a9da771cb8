/* crashlib.h — the interface of libcrashlib.so, a shared library the corpus
 * crashers call so that some crashes happen inside (or through) a .so. */
#ifndef CRASHLIB_H
#define CRASHLIB_H

#include <stddef.h>

struct crashlib_item {
	const char *name;
	int *weight; /* NULL makes crashlib_total fault inside the library */
};

/* Sums *weight over items; faults in the library on a NULL weight. */
int crashlib_total(const struct crashlib_item *items, size_t n);

/* Calls visit(item) for each item; the crash then happens in the caller's
 * callback with library frames below it. */
int crashlib_visit(const struct crashlib_item *items, size_t n,
		   int (*visit)(const struct crashlib_item *));

#endif
