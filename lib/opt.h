/* Command-line numbers: every one goes through opt_parse_int (the agent's and the
 * collector's options alike). */
#ifndef DNSVIGIL_OPT_H
#define DNSVIGIL_OPT_H

/* A decimal integer in [min, max], the whole of arg. 0, or -EINVAL. */
int opt_parse_int(const char *arg, long *out, long min, long max);

#endif
