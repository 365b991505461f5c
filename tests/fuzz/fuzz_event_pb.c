/* libFuzzer target for the collector's Event decoder (lib/event_pb.c). Whatever it accepts
 * must render, and must be stable through the agent's side: encoded again and decoded again,
 * it renders the same JSON. A refusal is one of the documented errors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event_json.h"
#include "event_pb.h"

/* The JSON of ev from a fresh renderer, NUL-terminated; NULL when it fails. */
static char *render(const struct event *ev)
{
	struct event_json *j = event_json_new();
	struct jbuf b = { 0 };

	if (!j)
		abort();
	event_json_render(j, &b, ev);
	jbuf_raw(&b, "", 1);
	event_json_free(j);
	if (b.failed)
		abort();
	return b.p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_pb *pb;
	struct event *ev, *again;
	const uint8_t *bytes;
	char *first, *second;
	size_t len;
	int err;

	if (!pb && !(pb = event_pb_new(EVENT_PB_RAW)))
		abort();
	err = event_pb_decode(data, size, &ev);
	if (err == -EBADMSG || err == -EMSGSIZE || err == -ENOMEM)
		return 0;
	if (err)
		abort();
	first = render(ev);
	/* what the collector decoded, as an agent would send it */
	if (event_pb_encode(pb, ev, &bytes, &len) || event_pb_decode(bytes, len, &again))
		abort();
	second = render(again);
	if (strcmp(first, second))
		abort();
	free(first);
	free(second);
	event_free(again);
	event_free(ev);
	return 0;
}
