/* wild.c — crashes through bad pointers and bad jumps, for the crashstream
 * minidump corpus: the cases minidump-stackwalk's instruction analysis
 * (crash_info.instruction, memory_accesses, adjusted_address,
 * possible_bit_flips, instruction_pointer_update) is made for. x86-64 only.
 * Modes:
 *   wild      read through a pointer far from any mapping
 *   noncanon  read through a non-canonical pointer (a valid address with
 *             bit 63 set): a general protection fault, reported as
 *             SIGSEGV / SI_KERNEL at address 0
 *   bitflip   write through a valid heap pointer with bit 40 flipped
 *   callnull  call through a function pointer member of a NULL struct
 *             (call qword [rax + 0x8])
 *   badcall   call through a non-canonical function pointer: the call
 *             itself faults
 *   badjump   call through a function pointer into unmapped memory: the
 *             fault is the instruction fetch at the target
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ops {
	const char *name;
	int (*run)(int);
};

static int twice(int x) { return 2 * x; }

/* volatile so that the compiler keeps every bad access as written. */
static volatile uintptr_t sink;

__attribute__((noinline)) static int read_through(const int *p) { return *p; }

__attribute__((noinline)) static void write_through(long *p, long v) { *p = v; }

__attribute__((noinline)) static int call_member(const struct ops *o, int x) { return o->run(x); }

__attribute__((noinline)) static int call_ptr(int (*f)(int), int x) { return f(x); }

static int g_value = 42;

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	struct ops ok = {"twice", twice};
	sink = (uintptr_t)&ok;
	if (strcmp(mode, "wild") == 0) {
		return read_through((const int *)(uintptr_t)0x0000123456789abcULL);
	} else if (strcmp(mode, "noncanon") == 0) {
		return read_through((const int *)((uintptr_t)&g_value | (1ULL << 63)));
	} else if (strcmp(mode, "bitflip") == 0) {
		long *heap = malloc(64);
		heap[0] = 1;
		write_through((long *)((uintptr_t)heap ^ (1ULL << 40)), 7);
		free(heap);
		return 0;
	} else if (strcmp(mode, "callnull") == 0) {
		const struct ops *none = (const struct ops *)(uintptr_t)sink;
		none = argc > 2 ? none : NULL;
		return call_member(none, 1);
	} else if (strcmp(mode, "badcall") == 0) {
		return call_ptr((int (*)(int))((uintptr_t)twice | (1ULL << 62)), 1);
	} else if (strcmp(mode, "badjump") == 0) {
		return call_ptr((int (*)(int))(uintptr_t)0x0000414141414141ULL, 1);
	}
	fprintf(stderr, "usage: %s wild|noncanon|bitflip|callnull|badcall|badjump\n", argv[0]);
	return 2;
}
