/* crash.c — a small C program that crashes the way argv[1] says, for the
 * crashstream minidump corpus. Built at -O0 with frame pointers and at -O2
 * without them (see ../generate.sh). Modes:
 *   null     write through a NULL pointer (SIGSEGV, address 0)
 *   abort    abort() after a failed check (SIGABRT via libc)
 *   overflow unbounded recursion until the stack guard page (SIGSEGV)
 *   recurse  mutual recursion 100 deep, then a NULL read at the bottom
 *   lib      fault inside libcrashlib.so
 *   libcb    fault in a callback called from libcrashlib.so
 *   thread   NULL write on the third of four named worker threads
 *   fpe      integer division by zero (SIGFPE)
 *   ill      __builtin_trap, ud2 on x86-64 (SIGILL)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crashlib.h"

struct config {
	const char *name;
	int *counter;
};

static void bump(struct config *c)
{
	(*c->counter)++; /* inlined at -O2 */
}

__attribute__((noinline)) static void crash_null(struct config *c)
{
	bump(c);
	printf("%s\n", c->name);
}

static void check_invariant(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "invariant failed: %s\n", what);
		abort();
	}
}

__attribute__((noinline)) static void crash_abort(int value)
{
	check_invariant(value > 0, "value > 0");
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
__attribute__((noinline)) static int overflow(int depth)
{
	volatile char frame[1024];
	frame[0] = (char)depth;
	frame[sizeof frame - 1] = 0;
	return overflow(depth + 1) + frame[0] + frame[sizeof frame - 1];
}

static volatile int *bottom;

__attribute__((noinline)) static int ping(int depth);

__attribute__((noinline)) static int pong(int depth)
{
	if (depth <= 0)
		return *bottom; /* NULL read */
	return ping(depth - 1) + 1;
}

__attribute__((noinline)) static int ping(int depth)
{
	return pong(depth - 1) + 1;
}

static int weights[4] = {1, 2, 3, 4};

__attribute__((noinline)) static int crash_lib(void)
{
	struct crashlib_item items[4] = {
		{"a", &weights[0]}, {"b", &weights[1]}, {"c", &weights[2]}, {"d", NULL}};
	return crashlib_total(items, 4);
}

static int visit_item(const struct crashlib_item *item)
{
	return (int)strlen(item->name) * *item->weight;
}

__attribute__((noinline)) static int crash_libcb(void)
{
	struct crashlib_item items[3] = {{"a", &weights[0]}, {"bb", NULL}, {"c", &weights[2]}};
	return crashlib_visit(items, 3, visit_item);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

struct worker {
	pthread_t thread;
	int index;
	int *slot;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];
	snprintf(name, sizeof name, "worker-%d", w->index);
	pthread_setname_np(pthread_self(), name);
	if (w->index == 2) {
		usleep(100 * 1000); /* let the others block first */
		*w->slot = w->index; /* NULL write */
	}
	pthread_mutex_lock(&mu);
	for (;;)
		pthread_cond_wait(&never, &mu);
	return NULL;
}

__attribute__((noinline)) static void crash_thread(void)
{
	static int slots[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i].index = i;
		w[i].slot = i == 2 ? NULL : &slots[i];
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(w[i].thread, NULL);
}

__attribute__((noinline)) static int crash_fpe(int n)
{
	volatile int zero = 0;
	return n / zero;
}

__attribute__((noinline)) static void crash_ill(void)
{
	__builtin_trap();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "null") == 0) {
		struct config c = {"null", NULL};
		crash_null(&c);
	} else if (strcmp(mode, "abort") == 0) {
		crash_abort(argc - 2);
	} else if (strcmp(mode, "overflow") == 0) {
		return overflow(0);
	} else if (strcmp(mode, "recurse") == 0) {
		return ping(100);
	} else if (strcmp(mode, "lib") == 0) {
		return crash_lib();
	} else if (strcmp(mode, "libcb") == 0) {
		return crash_libcb();
	} else if (strcmp(mode, "thread") == 0) {
		crash_thread();
	} else if (strcmp(mode, "fpe") == 0) {
		return crash_fpe(argc);
	} else if (strcmp(mode, "ill") == 0) {
		crash_ill();
	}
	fprintf(stderr, "usage: %s null|abort|overflow|recurse|lib|libcb|thread|fpe|ill\n", argv[0]);
	return 2;
}
