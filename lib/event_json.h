/* Events rendered as JSON, one object each: the public contract the README documents. One
 * renderer serves every output that writes JSON (the agent's file sink, the collector's). */
#ifndef DNSVIGIL_EVENT_JSON_H
#define DNSVIGIL_EVENT_JSON_H

#include <stdbool.h>

#include "event.h"
#include "json.h"

/* Keeps the renderings that repeat (process objects, the host). Not thread-safe. */
struct event_json;

struct event_json *event_json_new(void); /* NULL when memory runs out */
void event_json_free(struct event_json *j);

/* The collector's: every event rendered after this carries "agent_id" and "agent_cert" (the
 * client certificate's identity, null in plaintext) after "host", until the next call;
 * agent_id NULL renders neither, as the agent does. Out of memory shows in the next render. */
void event_json_set_origin(struct event_json *j, const char *agent_id, const char *cert);

/* The agent's: every EVENT_DNS's dns was parsed from its raw bytes, so the same bytes render
 * the same. A message on loopback, captured leaving one socket and entering another, is then
 * rendered once for both. (Not the collector's: an agent's ship sink sends the fields it
 * parsed and, with --ship-raw, the bytes apart.) */
void event_json_reuse_dns(struct event_json *j);

/* Appends ev, an output event (event_type_name() not NULL), as one JSON object, without a
 * newline. Out of memory shows in b->failed. */
void event_json_render(struct event_json *j, struct jbuf *b, const struct event *ev);

#endif
