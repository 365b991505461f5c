/* The collector's network side: one epoll loop over a listening socket and every agent's
 * connection, non-blocking sockets and non-blocking OpenSSL. Each connection runs the feed's
 * conversation (lib/feed.h): TLS handshake (client certificate required), Hello answered with
 * the agent's highest stored seq, then batches handed to the store. Each round of the loop
 * ends with one store_commit for every batch it read, and only then are their acks sent.
 * Any error closes that connection alone, logged with the peer's address, its certificate's
 * identity and the reason, and counted by reason. */
#ifndef DNSVIGIL_SERVER_H
#define DNSVIGIL_SERVER_H

#include <stdbool.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "frame.h"
#include "stats.h"
#include "store.h"

#define SERVER_MAX_CONNS 4096
/* A connection must have finished its TLS handshake and sent its Hello by then: slots are not
 * held by peers that never speak. */
#define SERVER_HELLO_TIMEOUT_NS (10ull * 1000000000)

struct server_opts {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	SSL_CTX *tls; /* NULL: plaintext (--insecure-plaintext) */
	struct frame_decoder_opts caps;
};

/* "ADDR:PORT" or "[ADDR]:PORT", numeric only (no name lookup). 0 or -EINVAL. */
int server_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

struct server;

/* Binds and listens. 0 and *out, or a negative errno (logged). */
int server_new(const struct server_opts *opts, struct store *store, struct server **out);
/* Closes every connection. */
void server_free(struct server *s);

/* One round: waits up to timeout_ms for sockets and the commit in flight, serves every ready
 * socket, sends the acks of a commit that is done, and starts the next commit (store.h) of
 * what was delivered. 0, or a negative errno for a failure of the loop itself. */
int server_round(struct server *s, int timeout_ms);

/* Before exit: every batch delivered is committed and acked. */
int server_drain(struct server *s);

/* Closes the connections that have not said Hello within SERVER_HELLO_TIMEOUT_NS. Between
 * rounds. */
void server_sweep(struct server *s, uint64_t now_ns);

/* Stops accepting connections (draining before exit). */
void server_stop_listening(struct server *s);

/* conns_accepted, conns_open, conns_refused, tls_failures, hellos, batches_in, events_in,
 * bytes_in, acks_sent, rejected {reason: count}. */
int server_declare_stats(struct server *s, struct stats_registry *r);

#endif
