/* TLS for the collector feed, agent and collector alike (OpenSSL): TLS 1.3 only, and both
 * sides prove who they are. The agent checks that the collector's certificate chains to
 * --tls-ca and names the host it dialled; the collector requires a client certificate that
 * chains to its --tls-ca and records the certificate's identity with every batch. */
#ifndef DNSVIGIL_TLS_H
#define DNSVIGIL_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

struct tls_files {
	const char *ca;   /* PEM CA bundle that the peer's certificate must chain to */
	const char *cert; /* PEM certificate (chain) this side presents */
	const char *key;  /* PEM private key of cert */
};

enum tls_role { TLS_CLIENT, TLS_SERVER };

/* A context for role: TLS 1.3 only, peer certificate required and verified against f->ca.
 * Returns 0 and *out, or -EINVAL with the reason (which file, OpenSSL's words) logged. */
int tls_ctx_new(enum tls_role role, const struct tls_files *f, SSL_CTX **out);

/* Client side, before the handshake: the server's certificate must name host (a DNS name, or
 * an IP address literal matched against its IP subjectAltNames); also sets SNI for names.
 * 0 or -EINVAL. */
int tls_expect_peer(SSL *ssl, const char *host);

/* The verified peer certificate's identity after the handshake: its subject as one line
 * ("CN=agent-7,O=example") and its SHA-256 fingerprint, as "subject sha256:hex". Returns the
 * length, or -ENOENT when the peer sent no certificate; buf always holds a string. */
int tls_peer_identity(SSL *ssl, char *buf, size_t len);

/* OpenSSL's queued errors for this thread, drained into one line of buf (for a log line). */
const char *tls_error_string(char *buf, size_t len);

#endif
