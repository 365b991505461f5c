/* RDATA decoders for the types whose fields depend on each other: a type byte that picks the
 * next field's shape, lengths that size later fields, encodings a layout string cannot say.
 * Each checks its type's layout and returns -EBADMSG when the RDATA breaks it, so that dns.c
 * shows the record in RFC 3597 form instead of a shortened or invented text.
 */
#include "array.h"
#include "dns_int.h"

/* ---- LOC (RFC 1876) ---- */

/* A size or precision byte, mantissa and power of ten of centimetres, as dig prints it */
static int put_loc_size(struct dns_parser *p, uint8_t v)
{
	static const uint32_t pow10[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000 };
	unsigned int mantissa = v >> 4, exponent = v & 15;
	int err = reserve(p, 16);

	if (err)
		return err;
	*p->cur++ = ' ';
	if (exponent >= 2) {
		p->cur = fmt_u32(p->cur, mantissa * pow10[exponent - 2]);
	} else {
		memcpy(p->cur, "0.", 2);
		p->cur = fmt_2digits(p->cur + 2, mantissa * pow10[exponent]);
	}
	*p->cur++ = 'm';
	return 0;
}

/* Latitude or longitude: thousandths of an arc second from 2^31, as "d m s.sss H" */
static int put_loc_angle(struct dns_parser *p, uint32_t v, uint32_t max_deg, const char *hemi)
{
	uint32_t off = v >= 0x80000000u ? v - 0x80000000u : 0x80000000u - v;
	int err;

	if (off > max_deg * 3600000u)
		return bad(p, "bad LOC coordinate");
	err = reserve(p, 24);
	if (err)
		return err;
	p->cur = fmt_u32(p->cur, off / 3600000);
	*p->cur++ = ' ';
	p->cur = fmt_u32(p->cur, off / 60000 % 60);
	*p->cur++ = ' ';
	p->cur = fmt_u32(p->cur, off / 1000 % 60);
	*p->cur++ = '.';
	*p->cur++ = (char)('0' + off % 1000 / 100);
	p->cur = fmt_2digits(p->cur, off % 100);
	*p->cur++ = ' ';
	*p->cur++ = hemi[v < 0x80000000u];
	return 0;
}

int dns_rd_loc(struct dns_parser *p, size_t *pos, size_t end)
{
	const uint8_t *b = p->msg + *pos;
	uint32_t alt, cm;
	int err;

	if (end - *pos != 16)
		return mismatch(p);
	if (b[0] != 0)
		return bad(p, "bad LOC version");
	for (int i = 1; i <= 3; i++) {
		if (b[i] >> 4 > 9 || (b[i] & 15) > 9)
			return bad(p, "bad LOC precision");
	}
	err = put_loc_angle(p, get32(b + 4), 90, "NS");
	if (!err)
		err = put_char(p, ' ');
	if (!err)
		err = put_loc_angle(p, get32(b + 8), 180, "EW");
	if (!err)
		err = reserve(p, 16);
	if (err)
		return err;
	/* altitude: centimetres above 100 000 m below the WGS 84 spheroid */
	alt = get32(b + 12);
	*p->cur++ = ' ';
	if (alt < 10000000u)
		*p->cur++ = '-';
	cm = alt < 10000000u ? 10000000u - alt : alt - 10000000u;
	p->cur = fmt_u32(p->cur, cm / 100);
	*p->cur++ = '.';
	p->cur = fmt_2digits(p->cur, cm % 100);
	*p->cur++ = 'm';
	for (int i = 1; !err && i <= 3; i++)
		err = put_loc_size(p, b[i]);
	*pos = end;
	return err;
}

/* ---- addresses ---- */

/* A6 (RFC 2874): prefix length, the address bits after it, the prefix's name */
int dns_rd_a6(struct dns_parser *p, size_t *pos, size_t end)
{
	uint8_t addr[16] = { 0 };
	size_t prefix, n;
	int err;

	if (!avail(*pos, end, 1) || p->msg[*pos] > 128)
		return mismatch(p);
	prefix = p->msg[(*pos)++];
	n = 16 - prefix / 8;
	if (!avail(*pos, end, n))
		return mismatch(p);
	memcpy(addr + 16 - n, p->msg + *pos, n);
	if (n && prefix % 8)
		addr[16 - n] &= (uint8_t)(0xff >> prefix % 8); /* the prefix's bits are not ours */
	*pos += n;
	err = reserve(p, 4);
	if (err)
		return err;
	/* the address field is there even when empty: prefix 128 reads "128  name." */
	p->cur = fmt_u32(p->cur, (uint32_t)prefix);
	*p->cur++ = ' ';
	if (n)
		err = dns_put_ipv6(p, addr);
	if (!err && prefix) {
		err = put_char(p, ' ');
		if (!err)
			err = dns_put_layout(p, "n", pos, end);
	}
	return err;
}

/* APL (RFC 3123): items "[!]family:address/prefix", the address's trailing zeros left off on
 * the wire and its length bounded by the family */
int dns_rd_apl(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = 0;

	while (!err && *pos < end) {
		const uint8_t *b = p->msg + *pos;
		uint8_t addr[16] = { 0 };
		size_t afi, alen, len;

		if (!avail(*pos, end, 4))
			return mismatch(p);
		afi = get16(b);
		alen = afi == 1 ? 4 : afi == 2 ? 16 : 0;
		len = b[3] & 0x7f;
		if (!avail(*pos + 4, end, len))
			return mismatch(p);
		if (!alen || b[2] > alen * 8 || len > alen || (len && b[4 + len - 1] == 0))
			return bad(p, "bad APL item");
		memcpy(addr, b + 4, len);
		err = reserve(p, 6);
		if (err)
			return err;
		if (p->cur != p->str) /* not the first item */
			*p->cur++ = ' ';
		if (b[3] & 0x80)
			*p->cur++ = '!';
		*p->cur++ = (char)('0' + afi);
		*p->cur++ = ':';
		err = alen == 4 ? dns_put_ipv4(p, addr) : dns_put_ipv6(p, addr);
		if (!err)
			err = reserve(p, 4);
		if (!err) {
			*p->cur++ = '/';
			p->cur = fmt_u32(p->cur, b[2]);
		}
		*pos += 4 + len;
	}
	return err;
}

/* The gateway or relay of IPSECKEY (RFC 4025) and AMTRELAY (RFC 8777), by its type byte */
static int put_gateway(struct dns_parser *p, uint8_t type, size_t *pos, size_t end)
{
	switch (type) {
	case 0:
		return put_char(p, '.');
	case 1:
		return dns_put_layout(p, "a", pos, end);
	case 2:
		return dns_put_layout(p, "A", pos, end);
	case 3:
		return dns_put_layout(p, "n", pos, end);
	default:
		return bad(p, "bad gateway type");
	}
}

int dns_rd_ipseckey(struct dns_parser *p, size_t *pos, size_t end)
{
	uint8_t type = avail(*pos, end, 3) ? p->msg[*pos + 1] : 0;
	int err = dns_put_layout(p, "111", pos, end);

	if (!err)
		err = put_char(p, ' ');
	if (!err)
		err = put_gateway(p, type, pos, end);
	if (!err && *pos < end) {
		err = put_char(p, ' ');
		if (!err)
			err = dns_put_layout(p, "b", pos, end);
	}
	return err;
}

int dns_rd_amtrelay(struct dns_parser *p, size_t *pos, size_t end)
{
	const uint8_t *b = p->msg + *pos;
	int err;

	if (!avail(*pos, end, 2))
		return mismatch(p);
	err = reserve(p, 10);
	if (err)
		return err;
	p->cur = fmt_u32(p->cur, b[0]);
	*p->cur++ = ' ';
	*p->cur++ = b[1] & 0x80 ? '1' : '0'; /* discovery optional */
	*p->cur++ = ' ';
	p->cur = fmt_u32(p->cur, b[1] & 0x7f);
	*p->cur++ = ' ';
	*pos += 2;
	return put_gateway(p, b[1] & 0x7f, pos, end);
}

/* ---- keys and certificates ---- */

/* HIP (RFC 8005): HIT length, algorithm, key length, HIT, key, rendezvous servers */
int dns_rd_hip(struct dns_parser *p, size_t *pos, size_t end)
{
	const uint8_t *b = p->msg + *pos;
	size_t hit, key;
	int err;

	if (!avail(*pos, end, 4))
		return mismatch(p);
	hit = b[0];
	key = get16(b + 2);
	if (!hit || !key || !avail(*pos + 4, end, hit + key))
		return mismatch(p);
	err = reserve(p, 4);
	if (err)
		return err;
	p->cur = fmt_u32(p->cur, b[1]);
	*p->cur++ = ' ';
	err = dns_put_hex(p, b + 4, hit, dns_hex_upper);
	if (!err)
		err = put_char(p, ' ');
	if (!err)
		err = dns_put_base64(p, b + 4 + hit, key);
	*pos += 4 + hit + key;
	while (!err && *pos < end) {
		err = put_char(p, ' ');
		if (!err)
			err = dns_put_layout(p, "n", pos, end);
	}
	return err;
}

/* DNSSEC algorithm mnemonics (RFC 8624 and the IANA registry), as CERT presents them */
static const char *const secalg_names[] = {
	[1] = "RSAMD5", [2] = "DH", [3] = "DSA", [5] = "RSASHA1", [6] = "NSEC3DSA",
	[7] = "NSEC3RSASHA1", [8] = "RSASHA256", [10] = "RSASHA512", [12] = "ECCGOST",
	[13] = "ECDSAP256SHA256", [14] = "ECDSAP384SHA384", [15] = "ED25519", [16] = "ED448",
	[252] = "INDIRECT", [253] = "PRIVATEDNS", [254] = "PRIVATEOID",
};

/* The mnemonic, or the number for values without one */
static int put_mnemonic(struct dns_parser *p, const char *const *names, size_t n, uint32_t v)
{
	int err;

	if (v < n && names[v])
		return dns_put_str(p, names[v]);
	err = reserve(p, 10);
	if (!err)
		p->cur = fmt_u32(p->cur, v);
	return err;
}

/* CERT (RFC 4398): certificate type, key tag, algorithm, certificate */
int dns_rd_cert(struct dns_parser *p, size_t *pos, size_t end)
{
	static const char *const cert_names[] = {
		[1] = "PKIX", [2] = "SPKI", [3] = "PGP", [4] = "IPKIX", [5] = "ISPKI",
		[6] = "IPGP", [7] = "ACPKIX", [8] = "IACPKIX", [253] = "URI", [254] = "OID",
	};
	const uint8_t *b = p->msg + *pos;
	int err;

	if (!avail(*pos, end, 5))
		return mismatch(p);
	err = put_mnemonic(p, cert_names, ARRAY_LEN(cert_names), get16(b));
	if (!err)
		err = dns_put_sp_u32(p, get16(b + 2));
	if (!err)
		err = put_char(p, ' ');
	if (!err)
		err = put_mnemonic(p, secalg_names, ARRAY_LEN(secalg_names), b[4]);
	*pos += 5;
	if (!err && *pos < end) {
		err = put_char(p, ' ');
		if (!err)
			err = dns_put_layout(p, "b", pos, end);
	}
	return err;
}

/* ---- other encodings ---- */

/* ATMA (ATM Forum af-saa-0069): format 0 is an AESA in hex, format 1 E.164 digits */
int dns_rd_atma(struct dns_parser *p, size_t *pos, size_t end)
{
	const uint8_t *b = p->msg + *pos;
	size_t n = end - *pos;
	int err;

	if (n < 2 || b[0] > 1)
		return mismatch(p);
	*pos = end;
	if (b[0] == 0)
		return dns_put_hex(p, b + 1, n - 1, dns_hex_lower);
	for (size_t i = 1; i < n; i++) {
		if (b[i] < '0' || b[i] > '9')
			return bad(p, "bad ATMA address");
	}
	err = put_char(p, '+');
	return err ? err : dns_put_bytes(p, (const char *)b + 1, n - 1);
}

/* DOA (draft-durand-doa-over-dns): enterprise, type, location, media type, data or "-" */
int dns_rd_doa(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = dns_put_layout(p, "441s", pos, end);

	if (!err)
		err = put_char(p, ' ');
	if (!err)
		err = *pos < end ? dns_put_layout(p, "b", pos, end) : put_char(p, '-');
	return err;
}

/* ---- SVCB / HTTPS (RFC 9460) ---- */

enum {
	SVC_MANDATORY,
	SVC_ALPN,
	SVC_NO_DEFAULT_ALPN,
	SVC_PORT,
	SVC_IPV4HINT,
	SVC_ECH,
	SVC_IPV6HINT,
};

/* The keys dig 9.18 names: dohpath (7, RFC 9461) and ohttp (8, RFC 9540) come out there as
 * key7 and key8 with their values quoted, like any key it does not know, and so here. */
static const char *const svc_key_names[] = {
	"mandatory", "alpn", "no-default-alpn", "port", "ipv4hint", "ech", "ipv6hint",
};

static int put_svc_key(struct dns_parser *p, uint16_t key)
{
	int err;

	if (key < ARRAY_LEN(svc_key_names))
		return dns_put_str(p, svc_key_names[key]);
	err = reserve(p, 3 + 5);
	if (!err) {
		memcpy(p->cur, "key", 3);
		p->cur = fmt_u32(p->cur + 3, key);
	}
	return err;
}

/* Comma-separated addresses of alen bytes each */
static int put_svc_hints(struct dns_parser *p, const uint8_t *b, size_t n, size_t alen)
{
	int err = 0;

	if (!n || n % alen)
		return bad(p, "bad SVCB parameter");
	for (size_t i = 0; !err && i < n; i += alen) {
		if (i)
			err = put_char(p, ',');
		if (!err)
			err = alen == 4 ? dns_put_ipv4(p, b + i) : dns_put_ipv6(p, b + i);
	}
	return err;
}

/* The alpn ids, quoted as dig prints them: the value list escapes "," and "\" inside an id
 * (RFC 9460 A.1), and the quoted string escapes that backslash again: the id h2,x reads
 * h2\\,x and a backslash four of them. */
static int put_svc_alpn(struct dns_parser *p, const uint8_t *b, size_t n)
{
	int err;

	if (!n)
		return bad(p, "bad SVCB parameter");
	err = put_char(p, '"');
	for (size_t i = 0; !err && i < n; i += 1 + b[i]) {
		if (!b[i] || b[i] >= n - i)
			return bad(p, "bad SVCB parameter");
		err = reserve(p, 1 + 4 * (size_t)b[i]);
		if (err)
			return err;
		if (i)
			*p->cur++ = ',';
		for (size_t j = i + 1; j <= i + b[i]; j++) {
			if (b[j] == ',' || b[j] == '\\') {
				*p->cur++ = '\\';
				*p->cur++ = '\\';
			}
			p->cur = fmt_escaped(p->cur, b + j, 1, DDD_QUOTED, BS_QUOTED);
		}
	}
	return err ? err : put_char(p, '"');
}

/* The value of one SvcParam (b[0..n) is in bounds), after the "=" its caller wrote when n > 0 */
static int put_svc_value(struct dns_parser *p, uint16_t key, const uint8_t *b, size_t n)
{
	int err = 0;

	switch (key) {
	case SVC_MANDATORY:
		if (!n || n % 2)
			return bad(p, "bad SVCB parameter");
		for (size_t i = 0; !err && i < n; i += 2) {
			if (i)
				err = put_char(p, ',');
			if (!err)
				err = put_svc_key(p, get16(b + i));
		}
		return err;
	case SVC_ALPN:
		return put_svc_alpn(p, b, n);
	case SVC_NO_DEFAULT_ALPN:
		return n ? bad(p, "bad SVCB parameter") : 0;
	case SVC_PORT:
		if (n != 2)
			return bad(p, "bad SVCB parameter");
		err = reserve(p, 5);
		if (!err)
			p->cur = fmt_u32(p->cur, get16(b));
		return err;
	case SVC_IPV4HINT:
		return put_svc_hints(p, b, n, 4);
	case SVC_IPV6HINT:
		return put_svc_hints(p, b, n, 16);
	case SVC_ECH:
		err = reserve(p, (n + 2) / 3 * 4);
		if (!err)
			p->cur = dns_fmt_base64(p->cur, b, n);
		return err;
	default:
		return n ? dns_put_quoted(p, b, n) : 0;
	}
}

int dns_rd_svcb(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = dns_put_layout(p, "2n", pos, end);

	while (!err && *pos < end) {
		const uint8_t *b = p->msg + *pos;
		uint16_t key, n;

		if (!avail(*pos, end, 4) || !avail(*pos + 4, end, get16(b + 2)))
			return mismatch(p);
		key = get16(b);
		n = get16(b + 2);
		err = put_char(p, ' ');
		if (!err)
			err = put_svc_key(p, key);
		if (!err && n)
			err = put_char(p, '=');
		if (!err)
			err = put_svc_value(p, key, b + 4, n);
		*pos += 4 + (size_t)n;
	}
	return err;
}

