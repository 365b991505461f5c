/* Threat intel: loading RPZ zones, plain lists and ThreatFox CSV from real temporary files,
 * and matching names and addresses against them. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "intel.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_intel.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* dir/name with content; the path, in a static buffer of its own per slot. */
static const char *put(int slot, const char *name, const char *content)
{
	static char paths[8][128];
	FILE *f;

	snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", dir, name);
	f = fopen(paths[slot], "w");
	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return paths[slot];
}

static struct intel *load1(const char *path)
{
	struct intel *in = NULL;

	assert_int_equal(intel_load(&path, 1, NULL, &in, NULL), 0);
	assert_non_null(in);
	return in;
}

static struct intel *load_text(const char *name, const char *content)
{
	return load1(put(0, name, content));
}

/* The action of the qname hit for name, or -1 when none. */
static int qname_action(const struct intel *in, const char *name)
{
	struct intel_hit hit;

	return intel_match_name(in, INTEL_QNAME, name, &hit) ? -1 : (int)hit.action;
}

static int addr_hit(const struct intel *in, enum intel_kind kind, const char *text,
		    struct intel_hit *hit)
{
	uint8_t a[16];
	int family = strchr(text, ':') ? 6 : 4;

	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, text, a), 1);
	return intel_match_addr(in, kind, family, a, hit);
}

static const char zone_head[] =
	"$TTL 300\n"
	"@ IN SOA localhost. root.localhost. (\n"
	"        1 ; serial\n"
	"        3600 600 86400 300 )\n"
	"  IN NS localhost.\n";

static void rpz_qname_policies_keep_their_actions(void **state)
{
	char text[1024];
	struct intel *in;
	struct intel_hit hit;

	(void)state;
	snprintf(text, sizeof(text),
		 "$ORIGIN rpz.local.\n%s"
		 "nx.example CNAME .\n"
		 "nodata.example CNAME *.\n"
		 "drop.example CNAME rpz-drop.\n"
		 "tcp.example CNAME rpz-tcp-only.\n"
		 "local.example A 10.0.0.1\n"
		 "garden.example CNAME walled.garden.example.\n"
		 "ok.example CNAME rpz-passthru.\n",
		 zone_head);
	in = load_text("policy.rpz", text);
	assert_int_equal(qname_action(in, "nx.example"), INTEL_NXDOMAIN);
	assert_int_equal(qname_action(in, "nodata.example"), INTEL_NODATA);
	assert_int_equal(qname_action(in, "drop.example"), INTEL_DROP);
	assert_int_equal(qname_action(in, "tcp.example"), INTEL_TCP_ONLY);
	assert_int_equal(qname_action(in, "local.example"), INTEL_LOCAL_DATA);
	assert_int_equal(qname_action(in, "garden.example"), INTEL_LOCAL_DATA);
	assert_int_equal(qname_action(in, "ok.example"), INTEL_PASSTHRU);
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "nx.example", &hit), 0);
	assert_int_equal(hit.format, INTEL_FORMAT_RPZ);
	assert_int_equal(hit.kind, INTEL_QNAME);
	assert_string_equal(hit.trigger, "nx.example");
	assert_int_equal(hit.line, 7);
	assert_string_equal(hit.tags, "");
	assert_int_equal(hit.confidence, INTEL_DEFAULT_CONFIDENCE);
	assert_int_equal(intel_stats(in)->by_kind[INTEL_QNAME], 7);
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_ZONE_APEX], 2);
	assert_int_equal(intel_stats(in)->files_by_format[INTEL_FORMAT_RPZ], 1);
	intel_free(in);
}

static void rpz_exact_entry_matches_only_that_name(void **state)
{
	struct intel *in;

	(void)state;
	in = load_text("exact.rpz", "$ORIGIN rpz.local.\n@ SOA a. b. 1 2 3 4 5\n"
				    "bad.example CNAME .\n");
	assert_int_equal(qname_action(in, "bad.example"), INTEL_NXDOMAIN);
	assert_int_equal(qname_action(in, "x.bad.example"), -1);
	assert_int_equal(qname_action(in, "example"), -1);
	intel_free(in);
}

static void rpz_wildcard_matches_subdomains_only(void **state)
{
	struct intel *in;
	struct intel_hit hit;

	(void)state;
	in = load_text("wild.rpz", "$ORIGIN rpz.local.\n@ SOA a. b. 1 2 3 4 5\n"
				   "*.bad.example CNAME .\n"
				   "*.both.example CNAME *.\n"
				   "both.example CNAME rpz-drop.\n");
	assert_int_equal(qname_action(in, "bad.example"), -1);
	assert_int_equal(qname_action(in, "x.bad.example"), INTEL_NXDOMAIN);
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "a.b.c.bad.example", &hit), 0);
	assert_string_equal(hit.trigger, "*.bad.example");
	assert_int_equal(hit.scope, INTEL_WILDCARD);
	/* the exact entry for the name, the wildcard for what is under it */
	assert_int_equal(qname_action(in, "both.example"), INTEL_DROP);
	assert_int_equal(qname_action(in, "www.both.example"), INTEL_NODATA);
	intel_free(in);
}

static void rpz_ip_triggers_v4_and_v6_with_zz(void **state)
{
	struct intel *in;
	struct intel_hit hit;

	(void)state;
	in = load_text("ip.rpz", "$ORIGIN rpz.local.\n@ SOA a. b. 1 2 3 4 5\n"
				 "32.1.2.0.192.rpz-ip CNAME .\n"
				 "24.0.0.51.198.rpz-ip CNAME rpz-drop.\n"
				 "128.1.zz.db8.2001.rpz-ip CNAME .\n"
				 "48.zz.2.db8.2001.rpz-ip CNAME *.\n"
				 "64.zz.4.0.db8.2001.rpz-ip CNAME rpz-drop.\n");
	assert_int_equal(addr_hit(in, INTEL_IP, "192.0.2.1", &hit), 0);
	assert_string_equal(hit.trigger, "192.0.2.1/32");
	assert_int_equal(hit.action, INTEL_NXDOMAIN);
	assert_int_equal(addr_hit(in, INTEL_IP, "192.0.2.2", &hit), -ENOENT);
	assert_int_equal(addr_hit(in, INTEL_IP, "198.51.0.77", &hit), 0);
	assert_string_equal(hit.trigger, "198.51.0.0/24");
	assert_int_equal(addr_hit(in, INTEL_IP, "2001:db8::1", &hit), 0);
	assert_string_equal(hit.trigger, "2001:db8::1/128");
	assert_int_equal(addr_hit(in, INTEL_IP, "2001:db8:2:ffff::9", &hit), 0);
	assert_string_equal(hit.trigger, "2001:db8:2::/48");
	assert_int_equal(hit.action, INTEL_NODATA);
	assert_int_equal(addr_hit(in, INTEL_IP, "2001:db8:0:4::1", &hit), 0);
	assert_string_equal(hit.trigger, "2001:db8:0:4::/64");
	assert_int_equal(addr_hit(in, INTEL_IP, "2001:db8:0:5::1", &hit), -ENOENT);
	/* answer addresses only: not the client's */
	assert_int_equal(addr_hit(in, INTEL_CLIENT_IP, "192.0.2.1", &hit), -ENOENT);
	intel_free(in);
}

static void rpz_ip_bad_encodings_are_bad_lines(void **state)
{
	struct intel_errors errs;
	struct intel *in;
	const char *path;

	(void)state;
	path = put(0, "badip.rpz", "$ORIGIN rpz.local.\n@ SOA a. b. 1 2 3 4 5\n"
				   "33.1.2.0.192.rpz-ip CNAME .\n"         /* /33 of v4 */
				   "32.1.2.0.rpz-ip CNAME .\n"             /* 3 octets */
				   /* zz for no word */
				   "128.zz.2.0.0.0.0.0.db8.2001.rpz-ip CNAME .\n"
				   "64.zz.1.zz.2001.rpz-ip CNAME .\n"      /* two zz */
				   "24.0.2.0.192.rpz-ip CNAME .\n");
	assert_int_equal(intel_load(&path, 1, NULL, &in, &errs), 0);
	assert_int_equal(errs.count, 4);
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_BAD_ADDRESS], 4);
	assert_int_equal(intel_stats(in)->by_kind[INTEL_IP], 1);
	intel_errors_free(&errs);
	intel_free(in);
}

static void rpz_nsdname_nsip_and_client_ip_have_their_kinds(void **state)
{
	struct intel *in;
	struct intel_hit hit;

	(void)state;
	in = load_text("ns.rpz", "$ORIGIN rpz.local.\n@ SOA a. b. 1 2 3 4 5\n"
				 "ns1.evil.example.rpz-nsdname CNAME .\n"
				 "*.evilns.example.rpz-nsdname CNAME .\n"
				 "24.0.113.0.203.rpz-nsip CNAME .\n"
				 "128.1.zz.db8.2001.rpz-nsip CNAME .\n"
				 "32.7.0.0.10.rpz-client-ip CNAME rpz-drop.\n");
	assert_int_equal(intel_match_name(in, INTEL_NSDNAME, "ns1.evil.example", &hit), 0);
	assert_int_equal(hit.kind, INTEL_NSDNAME);
	assert_string_equal(hit.trigger, "ns1.evil.example");
	assert_int_equal(intel_match_name(in, INTEL_NSDNAME, "ns2.evil.example", &hit), -ENOENT);
	assert_int_equal(intel_match_name(in, INTEL_NSDNAME, "a.evilns.example", &hit), 0);
	/* an nsdname trigger is not a qname trigger */
	assert_int_equal(qname_action(in, "ns1.evil.example"), -1);
	assert_int_equal(addr_hit(in, INTEL_NSIP, "203.0.113.5", &hit), 0);
	assert_int_equal(hit.kind, INTEL_NSIP);
	assert_int_equal(addr_hit(in, INTEL_IP, "203.0.113.5", &hit), -ENOENT);
	assert_int_equal(addr_hit(in, INTEL_NSIP, "2001:db8::1", &hit), 0);
	assert_int_equal(addr_hit(in, INTEL_CLIENT_IP, "10.0.0.7", &hit), 0);
	assert_int_equal(hit.action, INTEL_DROP);
	assert_int_equal(intel_stats(in)->by_kind[INTEL_NSDNAME], 2);
	assert_int_equal(intel_stats(in)->by_kind[INTEL_NSIP], 2);
	assert_int_equal(intel_stats(in)->by_kind[INTEL_CLIENT_IP], 1);
	intel_free(in);
}

static void passthru_wins_over_every_block(void **state)
{
	const char *paths[2];
	struct intel *in = NULL;
	struct intel_hit hit;

	(void)state;
	paths[0] = put(0, "block.txt", "bad.example\n192.0.2.0/24\n10.1.2.3\n");
	paths[1] = put(1, "allow.rpz", "$ORIGIN allow.local.\n@ SOA a. b. 1 2 3 4 5\n"
				       "good.bad.example CNAME rpz-passthru.\n"
				       "old.bad.example CNAME old.bad.example.\n"
				       "32.7.2.0.192.rpz-ip CNAME rpz-passthru.\n"
				       "8.0.0.0.10.rpz-ip CNAME rpz-passthru.\n");
	assert_int_equal(intel_load(paths, 2, NULL, &in, NULL), 0);
	assert_int_equal(qname_action(in, "x.bad.example"), INTEL_LISTED);
	assert_int_equal(qname_action(in, "good.bad.example"), INTEL_PASSTHRU);
	assert_int_equal(qname_action(in, "old.bad.example"), INTEL_PASSTHRU);
	/* an exact passthru does not cover names under it */
	assert_int_equal(qname_action(in, "x.good.bad.example"), INTEL_LISTED);
	assert_int_equal(addr_hit(in, INTEL_IP, "192.0.2.8", &hit), 0);
	assert_int_equal(hit.action, INTEL_LISTED);
	assert_int_equal(addr_hit(in, INTEL_IP, "192.0.2.7", &hit), 0);
	assert_int_equal(hit.action, INTEL_PASSTHRU);
	/* a shorter passthru prefix wins over a longer block */
	assert_int_equal(addr_hit(in, INTEL_IP, "10.1.2.3", &hit), 0);
	assert_int_equal(hit.action, INTEL_PASSTHRU);
	assert_string_equal(hit.trigger, "10.0.0.0/8");
	assert_int_equal(intel_stats(in)->passthru, 4);
	intel_free(in);
}

static void rpz_zone_syntax_origin_owner_and_parentheses(void **state)
{
	struct intel *in;
	struct intel_hit hit;

	(void)state;
	in = load_text("syntax.rpz",
		       "; a comment\n"
		       "$TTL 1h\n"
		       "rpz.local. 3600 IN SOA ns.rpz.local. admin.rpz.local. (\n"
		       "    2026120201 ; serial\n"
		       "    3600 )  ; the rest\n"
		       "$ORIGIN rpz.local.\n"
		       "a.example 300 IN CNAME .\n"
		       "          IN TXT \"two words; not a comment\"\n"
		       "b.example IN 300 CNAME .  ; class before ttl\n"
		       "c.example.rpz.local. CNAME .\n"
		       "$ORIGIN sub.rpz.local.\n"
		       "d CNAME .\n"
		       "@ CNAME *.\n");
	assert_int_equal(qname_action(in, "a.example"), INTEL_NXDOMAIN);
	assert_int_equal(qname_action(in, "b.example"), INTEL_NXDOMAIN);
	assert_int_equal(qname_action(in, "c.example"), INTEL_NXDOMAIN);
	assert_int_equal(qname_action(in, "d.sub"), INTEL_NXDOMAIN);
	assert_int_equal(qname_action(in, "sub"), INTEL_NODATA);
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "d.sub", &hit), 0);
	assert_int_equal(hit.line, 12);
	/* the blank-owner TXT is a.example's too: the same trigger again, counted */
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_DUPLICATE], 1);
	assert_int_equal(intel_stats(in)->by_kind[INTEL_QNAME], 5);
	assert_int_equal(intel_stats(in)->bad_lines, 0);
	intel_free(in);
}

static void rpz_include_fails_the_load(void **state)
{
	struct intel_errors errs;
	struct intel *in = (struct intel *)1;
	const char *path;

	(void)state;
	path = put(0, "inc.rpz", "$ORIGIN rpz.local.\n@ SOA a. b. 1 2 3 4 5\n"
				 "$INCLUDE other.zone\nbad.example CNAME .\n");
	assert_int_equal(intel_load(&path, 1, NULL, &in, &errs), -EINVAL);
	assert_null(in);
	assert_int_equal(errs.n_msgs, 1);
	assert_non_null(strstr(errs.msgs[0], "inc.rpz:3: $INCLUDE is not supported"));
	intel_errors_free(&errs);
}

static void rpz_owner_outside_the_zone_is_a_bad_line(void **state)
{
	struct intel_errors errs;
	struct intel *in;
	const char *path;
	char want[256];

	(void)state;
	path = put(0, "out.rpz", "$ORIGIN rpz.local.\n@ SOA a. b. 1 2 3 4 5\n"
				 "bad.example. CNAME .\nok.example CNAME .\n");
	assert_int_equal(intel_load(&path, 1, NULL, &in, &errs), 0);
	snprintf(want, sizeof(want), "%s:3: bad.example is outside the zone rpz.local", path);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msgs[0], want);
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_BAD_RECORD], 1);
	assert_int_equal(qname_action(in, "ok.example"), INTEL_NXDOMAIN);
	intel_errors_free(&errs);
	intel_free(in);
}

static void rpz_records_after_a_bad_owner_are_not_taken_for_another(void **state)
{
	struct intel_errors errs;
	struct intel *in;
	const char *path;

	(void)state;
	path = put(0, "owner.rpz", "$ORIGIN rpz.local.\n@ SOA a. b. 1 2 3 4 5\n"
				   "good.example CNAME .\n"
				   "bad.]example CNAME .\n"
				   "   TXT \"belongs to the bad owner\"\n"
				   "next.example CNAME *.\n");
	assert_int_equal(intel_load(&path, 1, NULL, &in, &errs), 0);
	assert_int_equal(errs.count, 2);
	assert_non_null(strstr(errs.msgs[1], "owner.rpz:5: no owner name"));
	assert_int_equal(intel_stats(in)->by_kind[INTEL_QNAME], 2);
	assert_int_equal(qname_action(in, "bad"), -1);
	assert_int_equal(qname_action(in, "good.example"), INTEL_NXDOMAIN);
	assert_int_equal(qname_action(in, "next.example"), INTEL_NODATA);
	intel_errors_free(&errs);
	intel_free(in);
}

/* A NUL byte is a character like any other: it ends no word (a fuzzer found the loop that
 * did not advance past one). */
static void rpz_nul_byte_is_part_of_a_bad_name(void **state)
{
	static const char text[] = "$ORIGIN rpz.local.\n@ SOA a. b. 1 2 3 4 5\n"
				   "ba\0d.example CNAME .\nok.example CNAME .\n";
	struct intel_errors errs;
	struct intel *in;
	const char *path = put(0, "nul.rpz", "");
	FILE *f = fopen(path, "w");

	(void)state;
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(intel_load(&path, 1, NULL, &in, &errs), 0);
	assert_int_equal(errs.count, 1);
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_BAD_NAME], 1);
	assert_int_equal(qname_action(in, "ok.example"), INTEL_NXDOMAIN);
	intel_errors_free(&errs);
	intel_free(in);
}

static void list_entry_matches_the_name_and_every_subdomain(void **state)
{
	struct intel *in;
	struct intel_hit hit;

	(void)state;
	in = load_text("list.txt",
		       "# a comment\n\nbad.example\nx.bad.example\n*.star.example\nzip\n");
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "bad.example", &hit), 0);
	assert_int_equal(hit.line, 3);
	assert_int_equal(hit.scope, INTEL_SUFFIX);
	assert_int_equal(hit.action, INTEL_LISTED);
	assert_int_equal(hit.format, INTEL_FORMAT_LIST);
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "a.b.bad.example", &hit), 0);
	assert_int_equal(hit.line, 3);
	/* the most specific entry wins */
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "y.x.bad.example", &hit), 0);
	assert_int_equal(hit.line, 4);
	assert_string_equal(hit.trigger, "x.bad.example");
	assert_int_equal(qname_action(in, "star.example"), INTEL_LISTED);
	assert_int_equal(qname_action(in, "notbad.example"), -1);
	assert_int_equal(qname_action(in, "example"), -1);
	assert_int_equal(qname_action(in, "bad.example.com"), -1);
	/* a top-level domain is a name like any other */
	assert_int_equal(qname_action(in, "files.example.zip"), INTEL_LISTED);
	assert_int_equal(qname_action(in, "zip"), INTEL_LISTED);
	intel_free(in);
}

static void hosts_lines_give_each_name_and_skip_localhost(void **state)
{
	struct intel *in;

	(void)state;
	in = load_text("hosts", "127.0.0.1 localhost\n::1 ip6-localhost ip6-loopback\n"
				"0.0.0.0 0.0.0.0\n"
				"0.0.0.0 ads.example tracker.example # inline comment\n"
				"127.0.0.1\tmalware.example\n");
	assert_int_equal(qname_action(in, "ads.example"), INTEL_LISTED);
	assert_int_equal(qname_action(in, "tracker.example"), INTEL_LISTED);
	assert_int_equal(qname_action(in, "cdn.malware.example"), INTEL_LISTED);
	assert_int_equal(qname_action(in, "localhost"), -1);
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_HOSTS_LOCAL], 4);
	assert_int_equal(intel_stats(in)->by_kind[INTEL_QNAME], 3);
	assert_int_equal(intel_stats(in)->by_kind[INTEL_IP], 0);
	intel_free(in);
}

static void cidr_longest_prefix_wins_v4_and_v6(void **state)
{
	struct intel *in;
	struct intel_hit hit;

	(void)state;
	in = load_text("ips.txt", "10.0.0.0/8\n10.1.0.0/16\n10.1.2.0/24\n10.1.2.3\n"
				  "172.16.5.4/12\n" /* host bits: taken as 172.16.0.0/12 */
				  "2001:db8::/32\n2001:db8:1::/48\n2001:db8:1:2::/64\n"
				  "2001:db8:1:2::5\n");
	assert_int_equal(addr_hit(in, INTEL_IP, "10.1.2.3", &hit), 0);
	assert_string_equal(hit.trigger, "10.1.2.3/32");
	assert_int_equal(addr_hit(in, INTEL_IP, "10.1.2.4", &hit), 0);
	assert_string_equal(hit.trigger, "10.1.2.0/24");
	assert_int_equal(addr_hit(in, INTEL_IP, "10.1.3.4", &hit), 0);
	assert_string_equal(hit.trigger, "10.1.0.0/16");
	assert_int_equal(addr_hit(in, INTEL_IP, "10.2.3.4", &hit), 0);
	assert_string_equal(hit.trigger, "10.0.0.0/8");
	assert_int_equal(hit.line, 1);
	assert_int_equal(addr_hit(in, INTEL_IP, "11.0.0.1", &hit), -ENOENT);
	assert_int_equal(addr_hit(in, INTEL_IP, "172.31.255.255", &hit), 0);
	assert_string_equal(hit.trigger, "172.16.0.0/12");
	assert_int_equal(addr_hit(in, INTEL_IP, "2001:db8:1:2::5", &hit), 0);
	assert_string_equal(hit.trigger, "2001:db8:1:2::5/128");
	assert_int_equal(addr_hit(in, INTEL_IP, "2001:db8:1:2::6", &hit), 0);
	assert_string_equal(hit.trigger, "2001:db8:1:2::/64");
	assert_int_equal(addr_hit(in, INTEL_IP, "2001:db8:1:3::6", &hit), 0);
	assert_string_equal(hit.trigger, "2001:db8:1::/48");
	assert_int_equal(addr_hit(in, INTEL_IP, "2001:db8:2::", &hit), 0);
	assert_string_equal(hit.trigger, "2001:db8::/32");
	assert_int_equal(addr_hit(in, INTEL_IP, "2001:db9::", &hit), -ENOENT);
	/* a v4 address is not looked up among v6 prefixes, nor the other way */
	assert_int_equal(addr_hit(in, INTEL_IP, "::ffff:10.1.2.3", &hit), -ENOENT);
	assert_int_equal(intel_match_addr(in, INTEL_IP, 5, "", &hit), -EINVAL);
	assert_int_equal(intel_match_addr(in, INTEL_QNAME, 4, "\1\2\3\4", &hit), -EINVAL);
	intel_free(in);
}

static const char tf_header[] =
	"################################################################\n"
	"# ThreatFox IOCs: CSV export                                   #\n"
	"################################################################\n"
	"#\n"
	"# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\","
	"\"fk_malware\",\"malware_alias\",\"malware_printable\",\"last_seen_utc\","
	"\"confidence_level\",\"reference\",\"tags\",\"anonymous\",\"reporter\"\n";

static void threatfox_csv_keeps_tags_malware_and_confidence(void **state)
{
	char text[4096];
	struct intel *in;
	struct intel_hit hit;

	(void)state;
	snprintf(text, sizeof(text),
		 "%s"
		 "\"2026-12-01 10:00:00\", \"1001\", \"c2.evil.example\", \"domain\", "
		 "\"botnet_cc\", \"win.cobalt_strike\", \"\", \"Cobalt Strike\", \"\", \"100\", "
		 "\"None\", \"c2,CobaltStrike\", \"0\", \"abuse_ch\"\n"
		 "\"2026-12-01 10:00:01\",\"1002\",\"192.0.2.66:443\",\"ip:port\",\"botnet_cc\","
		 "\"win.qakbot\",\"\",\"QakBot \"\"Qbot\"\"\",\"\",\"75\",\"None\",\"None\","
		 "\"0\",\"x\"\n"
		 "\"2026-12-01 10:00:02\",\"1003\","
		 "\"https://user@shared.example:8443/payload?x=1\",\"url\",\"payload_delivery\","
		 "\"\",\"\",\"Emotet\",\"\",\"50\",\"\",\"exe\",\"0\",\"x\"\n"
		 "\"2026-12-01 10:00:03\",\"1004\",\"[2001:db8::66]:8080\",\"ip:port\","
		 "\"botnet_cc\",\"\",\"\",\"Sliver\",\"\",\"80\",\"\",\"\",\"0\",\"x\"\n"
		 "\"2026-12-01 10:00:04\",\"1005\",\"d41d8cd98f00b204e9800998ecf8427e\","
		 "\"md5_hash\",\"payload\",\"\",\"\",\"Emotet\",\"\",\"50\",\"\",\"\",\"0\","
		 "\"x\"\n"
		 "# \"Number of entries: 5\"\n",
		 tf_header);
	in = load_text("full.csv", text);
	assert_int_equal(intel_stats(in)->files_by_format[INTEL_FORMAT_THREATFOX], 1);
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "x.c2.evil.example", &hit), 0);
	assert_int_equal(hit.format, INTEL_FORMAT_THREATFOX);
	assert_string_equal(hit.malware, "Cobalt Strike");
	assert_string_equal(hit.tags, "c2,CobaltStrike");
	assert_int_equal(hit.confidence, 100);
	assert_int_equal(hit.line, 6);
	assert_int_equal(addr_hit(in, INTEL_IP, "192.0.2.66", &hit), 0);
	assert_string_equal(hit.malware, "QakBot \"Qbot\"");
	assert_string_equal(hit.tags, "");
	assert_int_equal(hit.confidence, 75);
	assert_int_equal(addr_hit(in, INTEL_IP, "2001:db8::66", &hit), 0);
	assert_string_equal(hit.malware, "Sliver");
	/* a url's host alone, not the names under it */
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "shared.example", &hit), 0);
	assert_int_equal(hit.scope, INTEL_EXACT);
	assert_string_equal(hit.tags, "exe");
	assert_int_equal(qname_action(in, "other.shared.example"), -1);
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_UNSUPPORTED], 1);
	assert_int_equal(intel_stats(in)->indicators, 4);
	intel_free(in);
}

static void threatfox_columns_are_mapped_from_the_header(void **state)
{
	struct intel *in;
	struct intel_hit hit;

	(void)state;
	in = load_text("reordered.csv",
		       "# \"ioc_type\",\"confidence_level\",\"ioc_value\",\"tags\"\n"
		       "\"domain\",\"30\",\"moved.example\",\"a,b\"\n"
		       "domain, 40, \"plain.example\", None\n");
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "moved.example", &hit), 0);
	assert_int_equal(hit.confidence, 30);
	assert_string_equal(hit.tags, "a,b");
	assert_string_equal(hit.malware, "");
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "plain.example", &hit), 0);
	assert_int_equal(hit.confidence, 40);
	intel_free(in);
}

static void threatfox_bad_lines_are_reported(void **state)
{
	struct intel_errors errs;
	struct intel *in;
	const char *path;
	char want[256];

	(void)state;
	path = put(0, "bad.csv", "# \"ioc_value\",\"ioc_type\",\"confidence_level\"\n"
				 "\"ok.example\",\"domain\",\"50\"\n"
				 "\"open.example,\"domain\",\"50\"\n"
				 "\"short.example\",\"domain\"\n"
				 "\"conf.example\",\"domain\",\"150\"\n"
				 "\"bad name.example\",\"domain\",\"50\"\n");
	assert_int_equal(intel_load(&path, 1, NULL, &in, &errs), 0);
	assert_int_equal(errs.count, 4);
	snprintf(want, sizeof(want), "%s:3: a quote is not closed", path);
	assert_string_equal(errs.msgs[0], want);
	snprintf(want, sizeof(want), "%s:4: 2 fields, the header names 3", path);
	assert_string_equal(errs.msgs[1], want);
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_BAD_CSV], 3);
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_BAD_NAME], 1);
	assert_int_equal(intel_stats(in)->indicators, 1);
	intel_errors_free(&errs);
	intel_free(in);
}

static void bad_line_gives_file_line_reason_and_is_counted(void **state)
{
	struct intel_errors errs;
	struct intel *in;
	const char *path;
	char want[256], text[10000];

	(void)state;
	snprintf(text, sizeof(text),
		 "good.example\nbad_because space.example x\nbad..example\n10.0.0.0/33\n"
		 "also-good.example\n%09000d.example\nlast.example\n", 0);
	path = put(0, "mixed.txt", text);
	assert_int_equal(intel_load(&path, 1, NULL, &in, &errs), 0);
	assert_int_equal(errs.count, 4);
	snprintf(want, sizeof(want), "%s:2: expected a name, an address or a hosts-file line",
		 path);
	assert_string_equal(errs.msgs[0], want);
	snprintf(want, sizeof(want), "%s:3: not a domain name: \"bad..example\"", path);
	assert_string_equal(errs.msgs[1], want);
	snprintf(want, sizeof(want), "%s:6: longer than 8192 bytes", path);
	assert_string_equal(errs.msgs[3], want);
	assert_int_equal(intel_stats(in)->bad_lines, 4);
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_BAD_LINE], 2);
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_BAD_NAME], 1);
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_BAD_ADDRESS], 1);
	assert_int_equal(intel_stats(in)->lines, 7);
	assert_int_equal(qname_action(in, "also-good.example"), INTEL_LISTED);
	assert_int_equal(qname_action(in, "last.example"), INTEL_LISTED);
	intel_errors_free(&errs);
	intel_free(in);
}

static void broken_file_fails_the_load_and_the_old_snapshot_still_answers(void **state)
{
	struct intel_opts opts;
	struct intel_errors errs;
	struct intel *old, *next = (struct intel *)1;
	const char *paths[2], *missing;

	(void)state;
	old = load_text("intel.txt", "bad.example\n");
	intel_opts_default(&opts);
	opts.max_bad_lines = 2;
	/* a reload: the file now has three bad lines, over the threshold */
	paths[0] = put(0, "intel.txt", "bad.example\nnew-bad.example\n!\n?\n#ok\n%\n");
	assert_int_equal(intel_load(paths, 1, &opts, &next, &errs), -EINVAL);
	assert_null(next);
	assert_int_equal(errs.count, 4);
	assert_non_null(strstr(errs.msgs[3], "intel.txt: more than 2 bad lines: file refused"));
	intel_errors_free(&errs);
	assert_int_equal(qname_action(old, "www.bad.example"), INTEL_LISTED);
	assert_int_equal(qname_action(old, "new-bad.example"), -1);
	/* an unreadable file fails the load as well */
	missing = put(1, "present.txt", "x.example\n");
	paths[0] = missing;
	paths[1] = "/nonexistent/intel.txt";
	assert_int_equal(intel_load(paths, 2, NULL, &next, &errs), -ENOENT);
	assert_null(next);
	assert_string_equal(errs.msgs[0],
			    "/nonexistent/intel.txt: cannot read: No such file or directory");
	intel_errors_free(&errs);
	assert_int_equal(qname_action(old, "bad.example"), INTEL_LISTED);
	intel_free(old);
}

static void directory_loads_its_regular_files_by_name(void **state)
{
	char sub[128], subdir[160];
	const char *path = sub;
	struct intel *in;
	struct intel_hit hit;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/feeds", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(subdir, sizeof(subdir), "%s/nested", sub);
	assert_int_equal(mkdir(subdir, 0700), 0);
	put(0, "feeds/b.txt", "dup.example\nb.example\n");
	put(1, "feeds/a.rpz", "$ORIGIN rpz.local.\n@ SOA a. b. 1 2 3 4 5\ndup.example CNAME .\n");
	put(2, "feeds/.hidden", "hidden.example\n");
	put(3, "feeds/nested/c.txt", "nested.example\n");
	in = load1(path);
	assert_int_equal(intel_stats(in)->files, 2);
	assert_int_equal(intel_stats(in)->dir_entries_ignored, 2);
	assert_int_equal(qname_action(in, "b.example"), INTEL_LISTED);
	assert_int_equal(qname_action(in, "hidden.example"), -1);
	assert_int_equal(qname_action(in, "nested.example"), -1);
	/* a.rpz is read first; its exact entry and b.txt's suffix entry both hold */
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "dup.example", &hit), 0);
	assert_non_null(strstr(hit.source, "/feeds/a.rpz"));
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "x.dup.example", &hit), 0);
	assert_non_null(strstr(hit.source, "/feeds/b.txt"));
	intel_free(in);
}

static void duplicates_keep_the_first_and_are_counted(void **state)
{
	struct intel *in;
	struct intel_hit hit;

	(void)state;
	in = load_text("dups.txt", "dup.example\nDUP.example.\n192.0.2.1\n192.0.2.1/32\n");
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_DUPLICATE], 2);
	assert_int_equal(intel_stats(in)->indicators, 2);
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "dup.example", &hit), 0);
	assert_int_equal(hit.line, 1);
	intel_free(in);
}

static void names_match_case_insensitively_with_or_without_the_dot(void **state)
{
	struct intel *in;

	(void)state;
	in = load_text("case.txt", "Bad.EXAMPLE.\r\nother.example   \t\r\n");
	assert_int_equal(qname_action(in, "bad.example"), INTEL_LISTED);
	assert_int_equal(qname_action(in, "WWW.Bad.Example."), INTEL_LISTED);
	assert_int_equal(qname_action(in, "other.example."), INTEL_LISTED);
	assert_int_equal(qname_action(in, "OTHER.EXAMPLE"), INTEL_LISTED);
	assert_int_equal(intel_stats(in)->bad_lines, 0);
	intel_free(in);
}

/* n bytes of name: labels of 63 'a's (and a shorter last one) joined by dots, then suffix. */
static void long_name(char *buf, size_t n, const char *suffix)
{
	size_t i = 0, s = strlen(suffix);

	while (i < n - s) {
		buf[i] = (i + 1) % 64 == 0 || i + 1 == n - s ? '.' : 'a';
		i++;
	}
	strcpy(buf + n - s, suffix);
}

static void names_at_the_255_byte_bound(void **state)
{
	char at[300], over[300], query[320], text[700];
	struct intel *in;
	struct intel_hit hit;
	struct intel_errors errs;
	const char *path;

	(void)state;
	long_name(at, INTEL_NAME_MAX, "x.example");  /* 253 bytes: 255 in wire form */
	long_name(over, INTEL_NAME_MAX + 1, "y.example");
	assert_int_equal(strlen(at), 253);
	snprintf(text, sizeof(text), "%s\n%s\nshort.example\n", at, over);
	path = put(0, "long.txt", text);
	assert_int_equal(intel_load(&path, 1, NULL, &in, &errs), 0);
	assert_int_equal(errs.count, 1);
	assert_int_equal(intel_stats(in)->skipped[INTEL_SKIP_BAD_NAME], 1);
	assert_int_equal(intel_match_name(in, INTEL_QNAME, at, &hit), 0);
	assert_int_equal(strlen(hit.trigger), 253);
	snprintf(query, sizeof(query), "%s.", at); /* the trailing dot is allowed past 253 */
	assert_int_equal(intel_match_name(in, INTEL_QNAME, query, &hit), 0);
	assert_int_equal(intel_match_name(in, INTEL_QNAME, over, &hit), -EINVAL);
	long_name(query, 280, "short.example");
	assert_int_equal(intel_match_name(in, INTEL_QNAME, query, &hit), -EINVAL);
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "", &hit), -EINVAL);
	assert_int_equal(intel_match_name(in, INTEL_QNAME, ".", &hit), -EINVAL);
	assert_int_equal(intel_match_name(in, INTEL_QNAME, "a..short.example", &hit), -EINVAL);
	assert_int_equal(intel_match_name(in, INTEL_IP, "short.example", &hit), -EINVAL);
	/* 126 one-letter labels and the suffix: the most labels a name can have */
	for (int i = 0; i < 120; i++)
		memcpy(query + i * 2, "a.", 2);
	strcpy(query + 240, "short.example");
	assert_int_equal(intel_match_name(in, INTEL_QNAME, query, &hit), 0);
	intel_errors_free(&errs);
	intel_free(in);
}

static void too_many_indicators_fail_the_load(void **state)
{
	struct intel_opts opts;
	struct intel *in = (struct intel *)1;
	const char *path;

	(void)state;
	intel_opts_default(&opts);
	opts.max_indicators = 2;
	path = put(0, "three.txt", "a.example\nb.example\nc.example\n");
	assert_int_equal(intel_load(&path, 1, &opts, &in, NULL), -E2BIG);
	assert_null(in);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		TEST(rpz_qname_policies_keep_their_actions),
		TEST(rpz_exact_entry_matches_only_that_name),
		TEST(rpz_wildcard_matches_subdomains_only),
		TEST(rpz_ip_triggers_v4_and_v6_with_zz),
		TEST(rpz_ip_bad_encodings_are_bad_lines),
		TEST(rpz_nsdname_nsip_and_client_ip_have_their_kinds),
		TEST(passthru_wins_over_every_block),
		TEST(rpz_zone_syntax_origin_owner_and_parentheses),
		TEST(rpz_include_fails_the_load),
		TEST(rpz_owner_outside_the_zone_is_a_bad_line),
		TEST(rpz_records_after_a_bad_owner_are_not_taken_for_another),
		TEST(rpz_nul_byte_is_part_of_a_bad_name),
		TEST(list_entry_matches_the_name_and_every_subdomain),
		TEST(hosts_lines_give_each_name_and_skip_localhost),
		TEST(cidr_longest_prefix_wins_v4_and_v6),
		TEST(threatfox_csv_keeps_tags_malware_and_confidence),
		TEST(threatfox_columns_are_mapped_from_the_header),
		TEST(threatfox_bad_lines_are_reported),
		TEST(bad_line_gives_file_line_reason_and_is_counted),
		TEST(broken_file_fails_the_load_and_the_old_snapshot_still_answers),
		TEST(directory_loads_its_regular_files_by_name),
		TEST(duplicates_keep_the_first_and_are_counted),
		TEST(names_match_case_insensitively_with_or_without_the_dot),
		TEST(names_at_the_255_byte_bound),
		TEST(too_many_indicators_fail_the_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
