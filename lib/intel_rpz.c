/* RPZ zone files (BIND ARM "Response Policy Zones", draft-vixie-dnsop-dns-rpz) as intel.
 *
 * Zone-file syntax: $ORIGIN, $TTL ($INCLUDE is refused: it fails the load, the included file
 * belongs among the intel paths), ';' comments, "quoted strings", parentheses spanning lines,
 * a blank owner for the previous one, '@', names relative to $ORIGIN, optional TTL and
 * class in either order. The zone is the owner of the first SOA record (the $ORIGIN in force
 * when a record comes before any SOA; the root without either); a trigger is an owner name
 * with the zone cut off: bad.example (exact), *.bad.example (strict subdomains),
 * 32.1.2.0.192.rpz-ip, 48.zz.db8.2001.rpz-ip, ns.example.rpz-nsdname, ...rpz-nsip,
 * ...rpz-client-ip. The policy is in the record: CNAME . (NXDOMAIN), CNAME *. (NODATA),
 * CNAME rpz-passthru. (or, the older form, a CNAME to the trigger name itself), CNAME
 * rpz-drop., CNAME rpz-tcp-only., any other record local data. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intel_int.h"

#define ZTOK_MAX 8    /* owner, ttl, class, type and a few rdata words: all a trigger needs */
#define ZLINES_MAX 64 /* physical lines of one record in parentheses */

struct ztok {
	const char *p;
	size_t len;
};

/* One record or directive, its tokens pointing into the file. */
struct zrec {
	unsigned int line;
	bool blank_owner; /* began with white space: the previous owner's */
	size_t n;         /* tokens, also those past ZTOK_MAX */
	struct ztok tok[ZTOK_MAX];
};

struct zone {
	char origin[INTEL_NAME_MAX + 1]; /* "" for the root */
	char zone[INTEL_NAME_MAX + 1];
	char owner[INTEL_NAME_MAX + 3]; /* the last owner, absolute, "*." included */
	bool zone_set, have_owner;
};

static bool tok_is(struct ztok t, const char *word)
{
	return t.len == strlen(word) && !strncasecmp(t.p, word, t.len);
}

/* Reads the next record from *pos: 1 with *r (*bad: it does not parse, reported and to be
 * skipped), 0 at the end, or a negative errno from a report that fails the file. *lineno
 * counts physical lines. */
static int next_record(struct intel_build *b, const char **pos, const char *end,
		       unsigned int *lineno, struct zrec *r, bool *bad)
{
	const char *line;
	size_t len;
	int depth = 0, lines = 0, err = 0;

	*bad = false;
	r->n = 0;
	while (intel__take_line(b, pos, end, lineno, &line, &len, &err)) {
		const char *p = line, *e = line + len;

		if (!lines++) {
			r->line = *lineno;
			r->blank_owner = len && (*p == ' ' || *p == '\t');
		}
		while (p < e) {
			const char *s;

			if (*p == ' ' || *p == '\t') {
				p++;
				continue;
			}
			if (*p == ';')
				break;
			if (*p == '(' || *p == ')') {
				depth += *p++ == '(' ? 1 : -1;
				if (depth < 0)
					break;
				continue;
			}
			s = p;
			if (*p == '"') {
				for (p++; p < e && *p != '"'; p++)
					if (*p == '\\' && p + 1 < e)
						p++;
				if (p < e)
					p++;
			} else {
				/* memchr, not strchr: a NUL too is part of a word */
				while (p < e && !memchr(" \t;()\"", *p, 6))
					p++;
			}
			if (r->n < ZTOK_MAX)
				r->tok[r->n] = (struct ztok){ s, (size_t)(p - s) };
			r->n++;
		}
		if (depth < 0 || (depth > 0 && lines >= ZLINES_MAX) || (depth > 0 && *pos >= end)) {
			*bad = true;
			return intel__bad(b, r->line, INTEL_SKIP_BAD_RECORD,
					  "parentheses do not balance") ?: 1;
		}
		if (depth == 0) {
			if (r->n)
				return 1;
			lines = 0; /* blank or comment: on to the next line */
		}
	}
	return err;
}

/* A name token as an absolute name in dst: "@" the origin, "name." absolute, else relative to
 * the origin. *wildcard for a leading "*.". The length, or -EINVAL. */
static int abs_name(const struct zone *z, struct ztok t, char *dst, bool *wildcard)
{
	char text[INTEL_NAME_MAX * 2 + 4];
	size_t n = 0;

	*wildcard = false;
	if (tok_is(t, "@"))
		return (int)strlen(strcpy(dst, z->origin));
	if (tok_is(t, "."))
		return (int)(dst[0] = '\0');
	if (t.len > INTEL_NAME_MAX + 1)
		return -EINVAL;
	memcpy(text, t.p, t.len);
	n = t.len;
	if (t.p[t.len - 1] != '.' && z->origin[0]) {
		text[n++] = '.';
		n += (size_t)stpcpy(text + n, z->origin) - (size_t)(text + n);
	}
	return intel__name_norm(text, n, dst, wildcard);
}

/* rpz-ip style "prefix.reversed.address" (the labels before ".rpz-ip"): v4 as
 * prefix.d.c.b.a, v6 as prefix and reversed hex words with one "zz" for "::" (one or more
 * zero words, as "::" in RFC 4291). */
static int rpz_addr(const char *s, size_t len, struct intel_addr *a)
{
	const char *labels[18], *end = s + len;
	size_t lens[18], n = 0, zz = SIZE_MAX;
	unsigned long v;
	char *e;

	for (const char *p = s; p <= end && n < 18;) {
		const char *dot = memchr(p, '.', (size_t)(end - p));

		labels[n] = p;
		lens[n++] = (size_t)((dot ?: end) - p);
		p = (dot ?: end) + 1;
	}
	*a = (struct intel_addr){ 0 };
	if (n < 2 || n > 17 || !isdigit((unsigned char)labels[0][0]))
		return -EINVAL;
	v = strtoul(labels[0], &e, 10);
	if (e != labels[0] + lens[0] || v < 1 || v > 128)
		return -EINVAL;
	a->plen = (uint8_t)v;
	if (n == 5 && v <= 32 && !memmem(s, len, "zz", 2)) {
		a->family = 4;
		for (size_t i = 1; i < 5; i++) {
			if (!lens[i] || lens[i] > 3 || !isdigit((unsigned char)labels[i][0]))
				return -EINVAL;
			v = strtoul(labels[i], &e, 10);
			if (e != labels[i] + lens[i] || v > 255)
				return -EINVAL;
			a->bytes[4 - i] = (uint8_t)v;
		}
		intel__mask(a);
		return 0;
	}
	a->family = 6;
	for (size_t i = 1; i < n; i++)
		if (lens[i] == 2 && !strncasecmp(labels[i], "zz", 2)) {
			if (zz != SIZE_MAX)
				return -EINVAL;
			zz = i;
		}
	/* words: n - 1 labels, zz standing for 8 - (n - 2) zero words */
	if (zz == SIZE_MAX ? n - 1 != 8 : n - 2 >= 8)
		return -EINVAL;
	for (size_t i = n - 1, w = 0; i >= 1; i--) {
		if (i == zz) {
			w += 8 - (n - 2);
			continue;
		}
		if (!lens[i] || lens[i] > 4 || !isxdigit((unsigned char)labels[i][0]))
			return -EINVAL;
		v = strtoul(labels[i], &e, 16);
		if (e != labels[i] + lens[i])
			return -EINVAL;
		a->bytes[w * 2] = (uint8_t)(v >> 8);
		a->bytes[w * 2 + 1] = (uint8_t)v;
		w++;
	}
	intel__mask(a);
	return 0;
}

static int directive(struct intel_build *b, struct zone *z, const struct zrec *r)
{
	char name[INTEL_NAME_MAX + 1];
	bool wild;
	int len;

	if (tok_is(r->tok[0], "$INCLUDE"))
		return intel__fail(b, r->line, "$INCLUDE is not supported: name the included file "
				   "among the intel paths instead");
	if (tok_is(r->tok[0], "$TTL"))
		return r->n == 2 ? 0 : intel__bad(b, r->line, INTEL_SKIP_BAD_RECORD,
						  "$TTL takes one value");
	if (!tok_is(r->tok[0], "$ORIGIN"))
		return intel__bad(b, r->line, INTEL_SKIP_BAD_RECORD, "unknown directive %.*s",
				  (int)(r->tok[0].len > 40 ? 40 : r->tok[0].len), r->tok[0].p);
	if (r->n != 2 || (len = abs_name(z, r->tok[1], name, &wild)) < 0 || wild)
		return intel__bad(b, r->line, INTEL_SKIP_BAD_NAME, "$ORIGIN takes one domain name");
	memcpy(z->origin, name, (size_t)len + 1);
	return 0;
}

/* The policy of a record: its type and, for a CNAME, the target. */
static enum intel_action policy(const struct zone *z, const struct zrec *r, size_t type,
				const char *trigger, bool wild)
{
	char target[INTEL_NAME_MAX + 1];
	bool twild;
	struct ztok t;

	if (!tok_is(r->tok[type], "CNAME") || type + 1 >= r->n || type + 1 >= ZTOK_MAX)
		return INTEL_LOCAL_DATA;
	t = r->tok[type + 1];
	if (tok_is(t, "."))
		return INTEL_NXDOMAIN;
	if (tok_is(t, "*."))
		return INTEL_NODATA;
	if (tok_is(t, "rpz-passthru."))
		return INTEL_PASSTHRU;
	if (tok_is(t, "rpz-drop."))
		return INTEL_DROP;
	if (tok_is(t, "rpz-tcp-only."))
		return INTEL_TCP_ONLY;
	/* The older passthru: a CNAME to the trigger name itself. */
	if (abs_name(z, t, target, &twild) >= 0 && twild == wild && !strcmp(target, trigger))
		return INTEL_PASSTHRU;
	return INTEL_LOCAL_DATA;
}

/* The trigger's kind from its last label; the name with that label cut off. */
static enum intel_kind trigger_kind(char *rel, size_t *len)
{
	static const struct {
		const char *label;
		enum intel_kind kind;
	} special[] = {
		{ ".rpz-ip", INTEL_IP },
		{ ".rpz-nsip", INTEL_NSIP },
		{ ".rpz-client-ip", INTEL_CLIENT_IP },
		{ ".rpz-nsdname", INTEL_NSDNAME },
	};

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		size_t n = strlen(special[i].label);

		if (*len > n && !strcmp(rel + *len - n, special[i].label)) {
			*len -= n;
			rel[*len] = '\0';
			return special[i].kind;
		}
	}
	return INTEL_QNAME;
}

static int record(struct intel_build *b, struct zone *z, const struct zrec *r)
{
	char owner[INTEL_NAME_MAX + 1], *rel;
	size_t i = r->blank_owner ? 0 : 1, type, zlen, len;
	enum intel_action action;
	enum intel_kind kind;
	struct intel_addr a;
	bool wild, other_class = false;
	int n;

	if (!r->blank_owner) {
		/* A bad owner leaves none for the blank-owner records after it: they are its. */
		z->have_owner = false;
		n = abs_name(z, r->tok[0], owner, &wild);
		if (n < 0)
			return intel__bad(b, r->line, INTEL_SKIP_BAD_NAME,
					  "owner \"%.*s\" is not a domain name",
					  (int)(r->tok[0].len > 80 ? 80 : r->tok[0].len),
					  r->tok[0].p);
		/* remembered with its "*." */
		snprintf(z->owner, sizeof(z->owner), "%s%s", wild ? "*." : "", owner);
		z->have_owner = true;
	} else if (!z->have_owner) {
		return intel__bad(b, r->line, INTEL_SKIP_BAD_RECORD, "no owner name");
	}
	/* [ttl] [class] type, ttl and class in either order */
	for (int k = 0; k < 2 && i < r->n && i < ZTOK_MAX; k++) {
		struct ztok t = r->tok[i];

		if (tok_is(t, "CH") || tok_is(t, "HS") || tok_is(t, "CS") || tok_is(t, "ANY"))
			other_class = true;
		else if (!isdigit((unsigned char)t.p[0]) && !tok_is(t, "IN"))
			break;
		i++;
	}
	if (i >= r->n || i >= ZTOK_MAX)
		return intel__bad(b, r->line, INTEL_SKIP_BAD_RECORD, "no record type");
	type = i;
	if (type + 1 >= r->n)
		return intel__bad(b, r->line, INTEL_SKIP_BAD_RECORD, "%.*s record without data",
				  (int)(r->tok[type].len > 16 ? 16 : r->tok[type].len), r->tok[type].p);
	if (other_class) {
		intel__skip(b, INTEL_SKIP_UNSUPPORTED); /* not IN: not RPZ data */
		return 0;
	}
	wild = !strncmp(z->owner, "*.", 2);
	strcpy(owner, z->owner + (wild ? 2 : 0));
	if (!z->zone_set) {
		strcpy(z->zone, tok_is(r->tok[type], "SOA") && !wild ? owner : z->origin);
		z->zone_set = true;
	}
	zlen = strlen(z->zone);
	len = strlen(owner);
	if (!strcmp(owner, z->zone) || (!zlen && !len)) {
		if (wild)
			return intel__bad(b, r->line, INTEL_SKIP_BAD_NAME,
					  "a wildcard at the zone apex would match every name");
		intel__skip(b, INTEL_SKIP_ZONE_APEX);
		return 0;
	}
	if (zlen && (len <= zlen + 1 || owner[len - zlen - 1] != '.' ||
		     strcmp(owner + len - zlen, z->zone)))
		return intel__bad(b, r->line, INTEL_SKIP_BAD_RECORD, "%s is outside the zone %s",
				  owner, z->zone);
	if (zlen) {
		len -= zlen + 1;
		owner[len] = '\0';
	}
	rel = owner;
	if (tok_is(r->tok[type], "SOA") || tok_is(r->tok[type], "NS") ||
	    tok_is(r->tok[type], "DNAME")) {
		intel__skip(b, INTEL_SKIP_UNSUPPORTED); /* no policy below the apex */
		return 0;
	}
	kind = trigger_kind(rel, &len);
	action = policy(z, r, type, rel, wild);
	if (kind == INTEL_QNAME || kind == INTEL_NSDNAME)
		return intel__add_name(b, r->line, kind, wild ? INTEL_WILDCARD : INTEL_EXACT,
				       action, rel, len, NULL);
	if (wild || rpz_addr(rel, len, &a))
		return intel__bad(b, r->line, INTEL_SKIP_BAD_ADDRESS,
				  "\"%s\" is not a prefix length and reversed address", rel);
	return intel__add_addr(b, r->line, kind, action, &a, NULL);
}

int intel__parse_rpz(struct intel_build *b, const char *data, size_t size)
{
	const char *pos = data;
	unsigned int lineno = 0;
	struct zone z = { 0 };
	struct zrec r;
	bool bad;
	int err;

	while ((err = next_record(b, &pos, data + size, &lineno, &r, &bad)) > 0) {
		if (bad)
			continue;
		if (!r.blank_owner && r.tok[0].p[0] == '$')
			err = directive(b, &z, &r);
		else
			err = record(b, &z, &r);
		if (err)
			return err;
	}
	return err;
}
