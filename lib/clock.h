/* Nanosecond clock readings, as the kernel programs' bpf_ktime_get_ns() gives them
 * (CLOCK_MONOTONIC) and as events show time (CLOCK_REALTIME). */
#ifndef DNSVIGIL_CLOCK_H
#define DNSVIGIL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* What turns a CLOCK_MONOTONIC time into CLOCK_REALTIME now (it moves when the clock is set). */
static inline uint64_t clock_realtime_offset_ns(void)
{
	return clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
}

#endif
