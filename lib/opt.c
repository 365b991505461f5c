#include "opt.h"

#include <errno.h>
#include <stdlib.h>

int opt_parse_int(const char *arg, long *out, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}
