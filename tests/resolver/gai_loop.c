/* The workload of scripts/bench-resolver.sh: getaddrinfo(NAME) for TCP, any address family
 * (what most programs ask), COUNT times after a warm-up, and the mean nanoseconds per call on
 * stdout.
 *
 *   gai-loop NAME COUNT
 *
 * Exits 1 if any call fails: a benchmark of failing lookups would measure something else. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define WARMUP 200

static int lookup(const char *name)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res;
	int rc = getaddrinfo(name, NULL, &hints, &res);

	if (rc) {
		fprintf(stderr, "gai-loop: %s: %s\n", name, gai_strerror(rc));
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long count = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
	double start;

	if (count <= 0) {
		fprintf(stderr, "usage: gai-loop NAME COUNT\n");
		return 2;
	}
	for (int i = 0; i < WARMUP; i++)
		if (lookup(argv[1]))
			return 1;
	start = now_ns();
	for (long i = 0; i < count; i++)
		if (lookup(argv[1]))
			return 1;
	printf("%.0f\n", (now_ns() - start) / count);
	return 0;
}
