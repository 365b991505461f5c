/* TLS for the feed with real OpenSSL handshakes over a socketpair: mutual authentication, the
 * dialled name checked, TLS 1.3 only, and the identity the collector records. Certificates are
 * made by the openssl command in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>

#include "tls.h"

static char dir[] = "/tmp/dv-test-tls-XXXXXX";

static void run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("failed: %s", cmd);
}

/* ca NAME: a self-signed CA; cert NAME CA SUBJECT SAN: a certificate it signs. */
static void make_ca(const char *name)
{
	run("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
	    "-subj /CN=%s -keyout %s.key -out %s.pem 2>/dev/null",
	    dir, name, name, name);
}

static void make_cert(const char *name, const char *ca, const char *subj, const char *san)
{
	run("cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj %s "
	    "-keyout %s.key -out %s.csr 2>/dev/null && printf 'subjectAltName=%s\\n' > %s.ext && "
	    "openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -CAcreateserial -days 2 "
	    "-extfile %s.ext -out %s.pem 2>/dev/null",
	    dir, subj, name, name, san, name, name, ca, ca, name, name);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	make_ca("ca");
	make_ca("other-ca");
	make_cert("collector", "ca", "/CN=collector", "IP:127.0.0.1,DNS:collector.test");
	make_cert("agent", "ca", "/O=example/CN=agent-7", "DNS:agent-7");
	make_cert("stranger", "other-ca", "/CN=stranger", "DNS:stranger");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	run("rm -rf %s", dir);
	return 0;
}

static SSL_CTX *ctx(enum tls_role role, const char *ca, const char *name)
{
	char ca_path[256], cert[256], key[256];
	struct tls_files f = { ca_path, cert, key };
	SSL_CTX *c = NULL;

	snprintf(ca_path, sizeof(ca_path), "%s/%s.pem", dir, ca);
	snprintf(cert, sizeof(cert), "%s/%s.pem", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	assert_int_equal(tls_ctx_new(role, &f, &c), 0);
	return c;
}

struct pair {
	SSL *client, *server;
	int fds[2];
};

/* Connects a client and a server context over a non-blocking socketpair; the client expects
 * the server to be host. */
static void pair_open(struct pair *p, SSL_CTX *client, SSL_CTX *server, const char *host)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fds), 0);
	for (int i = 0; i < 2; i++)
		fcntl(p->fds[i], F_SETFL, O_NONBLOCK);
	p->client = SSL_new(client);
	p->server = SSL_new(server);
	SSL_set_fd(p->client, p->fds[0]);
	SSL_set_fd(p->server, p->fds[1]);
	SSL_set_connect_state(p->client);
	SSL_set_accept_state(p->server);
	assert_int_equal(tls_expect_peer(p->client, host), 0);
}

/* Steps both handshakes until each has finished or failed: 1 when both succeeded. */
static int pair_handshake(struct pair *p)
{
	int done_c = 0, done_s = 0;

	for (int round = 0; round < 100 && (!done_c || !done_s); round++) {
		if (!done_c) {
			int r = SSL_do_handshake(p->client);

			if (r == 1)
				done_c = 1;
			else if (SSL_get_error(p->client, r) != SSL_ERROR_WANT_READ)
				done_c = -1;
		}
		if (!done_s) {
			int r = SSL_do_handshake(p->server);

			if (r == 1)
				done_s = 1;
			else if (SSL_get_error(p->server, r) != SSL_ERROR_WANT_READ)
				done_s = -1;
		}
		if (done_c < 0 || done_s < 0)
			break;
	}
	ERR_clear_error();
	if (done_c != 1 || done_s != 1)
		return 0;
	/* TLS 1.3 sends the client's certificate verdict after the client's handshake ends:
	 * data through both ways proves the server accepted it. */
	char buf[4];
	if (SSL_write(p->client, "ping", 4) != 4 || SSL_read(p->server, buf, 4) != 4)
		return 0;
	return 1;
}

static void pair_close(struct pair *p)
{
	SSL_free(p->client);
	SSL_free(p->server);
	close(p->fds[0]);
	close(p->fds[1]);
}

static void mutual_tls_13_and_the_agent_identity(void **state)
{
	SSL_CTX *c = ctx(TLS_CLIENT, "ca", "agent"), *s = ctx(TLS_SERVER, "ca", "collector");
	char id[256];
	struct pair p;

	(void)state;
	pair_open(&p, c, s, "127.0.0.1");
	assert_int_equal(pair_handshake(&p), 1);
	assert_string_equal(SSL_get_version(p.server), "TLSv1.3");
	assert_true(tls_peer_identity(p.server, id, sizeof(id)) > 0);
	/* subject, most specific first, then the certificate's SHA-256 */
	assert_true(strncmp(id, "CN=agent-7,O=example sha256:", 28) == 0);
	assert_int_equal(strlen(id), 28 + 64);
	pair_close(&p);

	pair_open(&p, c, s, "collector.test");
	assert_int_equal(pair_handshake(&p), 1);
	pair_close(&p);
	SSL_CTX_free(c);
	SSL_CTX_free(s);
}

static void agent_from_another_ca_is_refused(void **state)
{
	SSL_CTX *c = ctx(TLS_CLIENT, "ca", "stranger"), *s = ctx(TLS_SERVER, "ca", "collector");
	struct pair p;

	(void)state;
	pair_open(&p, c, s, "127.0.0.1");
	assert_int_equal(pair_handshake(&p), 0);
	pair_close(&p);
	SSL_CTX_free(c);
	SSL_CTX_free(s);
}

static void collector_from_another_ca_or_name_is_refused(void **state)
{
	SSL_CTX *c = ctx(TLS_CLIENT, "other-ca", "agent"), *s = ctx(TLS_SERVER, "ca", "collector");
	SSL_CTX *c_ok = ctx(TLS_CLIENT, "ca", "agent");
	struct pair p;

	(void)state;
	pair_open(&p, c, s, "127.0.0.1");
	assert_int_equal(pair_handshake(&p), 0);
	pair_close(&p);
	/* right CA, but the certificate names neither 127.0.0.2 nor evil.test */
	pair_open(&p, c_ok, s, "127.0.0.2");
	assert_int_equal(pair_handshake(&p), 0);
	pair_close(&p);
	pair_open(&p, c_ok, s, "evil.test");
	assert_int_equal(pair_handshake(&p), 0);
	pair_close(&p);
	SSL_CTX_free(c);
	SSL_CTX_free(c_ok);
	SSL_CTX_free(s);
}

static void client_without_certificate_is_refused(void **state)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method()), *s = ctx(TLS_SERVER, "ca", "collector");
	struct pair p;

	(void)state;
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	pair_open(&p, c, s, "127.0.0.1");
	assert_int_equal(pair_handshake(&p), 0);
	pair_close(&p);
	SSL_CTX_free(c);
	SSL_CTX_free(s);
}

static void tls_12_client_is_refused(void **state)
{
	SSL_CTX *c = ctx(TLS_CLIENT, "ca", "agent"), *s = ctx(TLS_SERVER, "ca", "collector");
	struct pair p;

	(void)state;
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
	pair_open(&p, c, s, "127.0.0.1");
	assert_int_equal(pair_handshake(&p), 0);
	pair_close(&p);
	SSL_CTX_free(c);
	SSL_CTX_free(s);
}

static void bad_files_are_named(void **state)
{
	char ca[256], cert[256], key[256];
	struct tls_files f = { ca, cert, key };
	SSL_CTX *c = NULL;

	(void)state;
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(cert, sizeof(cert), "%s/agent.pem", dir);
	snprintf(key, sizeof(key), "%s/collector.key", dir); /* not the agent's key */
	assert_int_equal(tls_ctx_new(TLS_CLIENT, &f, &c), -EINVAL);
	snprintf(key, sizeof(key), "%s/missing.key", dir);
	assert_int_equal(tls_ctx_new(TLS_CLIENT, &f, &c), -EINVAL);
	f.ca = NULL;
	assert_int_equal(tls_ctx_new(TLS_SERVER, &f, &c), -EINVAL);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mutual_tls_13_and_the_agent_identity),
		cmocka_unit_test(agent_from_another_ca_is_refused),
		cmocka_unit_test(collector_from_another_ca_or_name_is_refused),
		cmocka_unit_test(client_without_certificate_is_refused),
		cmocka_unit_test(tls_12_client_is_refused),
		cmocka_unit_test(bad_files_are_named),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
