/* What this machine charges for the things the capture path does most, to read the capture
 * figures against:
 *   syscall  a null system call (getppid);
 *   switch   a context switch: two processes on one CPU pass a byte through two pipes, each
 *            round trip is two switches and four system calls (taken out at the null call's
 *            cost);
 *   miss     a load that misses every cache: a chase through a random cycle of pointers
 *            spread over MISS_BYTES, each load waiting for the one before.
 * On a virtual machine that traps to its hypervisor for each kernel entry the first two are
 * several times a bare-metal host's. Prints "<name> <ns>" per line, the best of a few
 * rounds. */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define SYSCALLS 200000
#define ROUND_TRIPS 20000
#define ROUNDS 5
#define MISS_BYTES (256u << 20)
#define MISS_LOADS 2000000

static double syscall_ns(void)
{
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);

	for (int i = 0; i < SYSCALLS; i++)
		syscall(SYS_getppid);
	return (double)(clock_ns(CLOCK_MONOTONIC) - t0) / SYSCALLS;
}

/* The cycle visits every slot once in a random order (Sattolo's shuffle), one slot per
 * cache line, so the prefetchers cannot guess the next line. */
static size_t *miss_cycle(void)
{
	size_t stride = 64 / sizeof(size_t), n = MISS_BYTES / 64;
	size_t *order = malloc(n * sizeof(*order));
	size_t *slots = malloc(MISS_BYTES);

	if (!order || !slots) {
		free(order);
		free(slots);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	srandom(1);
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)random() % i, t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		slots[order[i] * stride] = order[(i + 1) % n] * stride;
	free(order);
	return slots;
}

static double miss_ns(const size_t *slots)
{
	volatile size_t sink;
	size_t at = 0;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);

	for (int i = 0; i < MISS_LOADS; i++)
		at = slots[at];
	sink = at;
	(void)sink;
	return (double)(clock_ns(CLOCK_MONOTONIC) - t0) / MISS_LOADS;
}

static int pin_to_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* One round trip's ns, or -1. The child echoes until its pipe closes. */
static double round_trip_ns(void)
{
	int to_child[2], to_parent[2];
	uint64_t t0, t1;
	char byte = 0;
	pid_t child;

	if (pipe(to_child) || pipe(to_parent))
		return -1;
	child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		pin_to_cpu0();
		while (read(to_child[0], &byte, 1) == 1 && write(to_parent[1], &byte, 1) == 1)
			;
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < ROUND_TRIPS; i++) {
		if (write(to_child[1], &byte, 1) != 1 || read(to_parent[0], &byte, 1) != 1) {
			kill(child, SIGKILL);
			break;
		}
	}
	t1 = clock_ns(CLOCK_MONOTONIC);
	close(to_child[1]);
	close(to_parent[0]);
	waitpid(child, NULL, 0);
	return (double)(t1 - t0) / ROUND_TRIPS;
}

int main(void)
{
	double best_syscall = 1e18, best_trip = 1e18, best_miss = 1e18;
	size_t *slots = miss_cycle();

	if (!slots) {
		perror("bench_machine: malloc");
		return 1;
	}
	if (pin_to_cpu0()) {
		perror("bench_machine: sched_setaffinity");
		return 1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		double s = syscall_ns(), t = round_trip_ns(), m = miss_ns(slots);

		if (t < 0) {
			perror("bench_machine: pipe/fork");
			return 1;
		}
		if (s < best_syscall)
			best_syscall = s;
		if (t < best_trip)
			best_trip = t;
		if (m < best_miss)
			best_miss = m;
	}
	free(slots);
	printf("syscall %.0f\n", best_syscall);
	printf("switch %.0f\n", (best_trip - 4 * best_syscall) / 2);
	printf("miss %.0f\n", best_miss);
	return 0;
}
