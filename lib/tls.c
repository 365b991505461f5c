/* TLS contexts for the collector feed (lib/tls.h). */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"

const char *tls_error_string(char *buf, size_t len)
{
	size_t used = 0;
	unsigned long e;

	buf[0] = '\0';
	while ((e = ERR_get_error()) && used + 3 < len) {
		if (used) {
			memcpy(buf + used, "; ", 3);
			used += 2;
		}
		ERR_error_string_n(e, buf + used, len - used);
		used += strlen(buf + used);
	}
	if (!used)
		snprintf(buf, len, "no OpenSSL error queued");
	return buf;
}

int tls_ctx_new(enum tls_role role, const struct tls_files *f, SSL_CTX **out)
{
	SSL_CTX *ctx = SSL_CTX_new(role == TLS_SERVER ? TLS_server_method() : TLS_client_method());
	const char *what;
	char why[256];

	if (!ctx) {
		what = "creating a TLS context";
		goto fail;
	}
	what = "requiring TLS 1.3";
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
		goto fail;
	what = f->ca ? f->ca : "no --tls-ca";
	if (!f->ca || SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1)
		goto fail;
	what = f->cert ? f->cert : "no --tls-cert";
	if (!f->cert || SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1)
		goto fail;
	what = f->key ? f->key : "no --tls-key";
	if (!f->key || SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1)
		goto fail;
	what = "--tls-key does not match --tls-cert";
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	/* Both sides authenticate: the server asks for a client certificate and refuses the
	 * handshake without one. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (role == TLS_SERVER)
		/* Agents reconnect after every outage: no session cache to grow, no tickets. */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	*out = ctx;
	return 0;
fail:
	if (ERR_peek_error())
		log_warnx("tls: %s: %s", what, tls_error_string(why, sizeof(why)));
	else
		log_warnx("tls: %s", what);
	SSL_CTX_free(ctx);
	return -EINVAL;
}

int tls_expect_peer(SSL *ssl, const char *host)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);

	if (ip) {
		/* An address literal: match the certificate's IP subjectAltNames, no SNI (RFC 6066
		 * forbids literals there). */
		ASN1_OCTET_STRING_free(ip);
		return X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1 ? 0 : -EINVAL;
	}
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (X509_VERIFY_PARAM_set1_host(param, host, 0) != 1 ||
	    SSL_set_tlsext_host_name(ssl, host) != 1)
		return -EINVAL;
	return 0;
}

int tls_peer_identity(SSL *ssl, char *buf, size_t len)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	size_t used;
	BIO *bio;
	int n;

	buf[0] = '\0';
	if (!cert)
		return -ENOENT;
	bio = BIO_new(BIO_s_mem());
	if (bio) {
		/* RFC 2253 order, most specific first, without spaces: "CN=agent-7,O=example" */
		X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
		n = BIO_read(bio, buf, (int)len - 1);
		buf[n > 0 ? n : 0] = '\0';
		BIO_free(bio);
	}
	if (X509_digest(cert, EVP_sha256(), md, &md_len) == 1) {
		used = strlen(buf);
		used += (size_t)snprintf(buf + used, len - used, " sha256:");
		for (unsigned int i = 0; i < md_len && used + 3 <= len; i++)
			used += (size_t)snprintf(buf + used, len - used, "%02x", md[i]);
	}
	X509_free(cert);
	return (int)strlen(buf);
}
