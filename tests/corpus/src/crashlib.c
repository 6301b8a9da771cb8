/* crashlib.c — libcrashlib.so for the minidump corpus (see crashlib.h). */
#include "crashlib.h"

static int weight_of(const struct crashlib_item *item)
{
	return *item->weight; /* NULL weight: SIGSEGV at address 0 */
}

__attribute__((noinline)) static int total_range(const struct crashlib_item *items, size_t lo,
						 size_t hi)
{
	int sum = 0;
	for (size_t i = lo; i < hi; i++)
		sum += weight_of(&items[i]);
	return sum;
}

int crashlib_total(const struct crashlib_item *items, size_t n)
{
	return total_range(items, 0, n / 2) + total_range(items, n / 2, n);
}

__attribute__((noinline)) static int visit_one(const struct crashlib_item *item,
					       int (*visit)(const struct crashlib_item *))
{
	return visit(item) + 1;
}

int crashlib_visit(const struct crashlib_item *items, size_t n,
		   int (*visit)(const struct crashlib_item *))
{
	int acc = 0;
	for (size_t i = 0; i < n; i++)
		acc += visit_one(&items[i], visit);
	return acc;
}
