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

/* Appends ev, an output event (event_type_name() not NULL), as one JSON object, without a
 * newline. Out of memory shows in b->failed. */
void event_json_render(struct event_json *j, struct jbuf *b, const struct event *ev);

#endif
