/* Registered domains through libpsl: see regdom.h. */
#include "regdom.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "dns.h"
#include "log.h"

#define DEBIAN_PSL "/usr/share/publicsuffix/public_suffix_list.dafsa"

struct regdom {
	psl_ctx_t *psl;
};

int regdom_open(const char *file, struct regdom **out)
{
	struct regdom *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->psl = file ? psl_load_file(file) : psl_latest(DEBIAN_PSL);
	if (!r->psl) {
		log_warnx("no public suffix list could be loaded from %s", file ? file : DEBIAN_PSL);
		free(r);
		return -ENOENT;
	}
	*out = r;
	return 0;
}

void regdom_free(struct regdom *r)
{
	if (!r)
		return;
	psl_free(r->psl);
	free(r);
}

int regdom_of(const struct regdom *r, const char *name, char *buf, size_t size)
{
	char lower[REGDOM_NAME_MAX + 2];
	size_t n = strlen(name);
	const char *reg;

	if (n && name[n - 1] == '.')
		n--;
	if (!n)
		return -ENOENT;
	if (n > REGDOM_NAME_MAX)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		lower[i] = dns_ascii_lower(c); /* libpsl wants lower case */
		if (c == '.' && (i == 0 || name[i - 1] == '.'))
			return -EINVAL;
	}
	lower[n] = '\0';
	reg = psl_registrable_domain(r->psl, lower);
	if (!reg)
		return -ENOENT;
	if (strlen(reg) >= size)
		return -ENAMETOOLONG;
	memcpy(buf, reg, strlen(reg) + 1);
	return 0;
}
