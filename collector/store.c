/* Batches to outputs, group-committed through the journal: see store.h. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_pb.h"
#include "journal.h"
#include "log.h"

struct store {
	struct journal *journal;
	struct output *outputs[STORE_MAX_OUTPUTS];
	size_t n_outputs;
	struct journal_batch *pending; /* the batches of this round */
	size_t n_pending, cap_pending;
	char stat_names[STORE_MAX_OUTPUTS][2][48];
	bool failed; /* an output failed this round: the commit rolls it back */
	bool render; /* an output renders: events are decoded, not only checked */
	uint64_t batches, duplicates, events_stored, commits, commit_errors;
};

static int commit(struct store *s);

int store_open(const char *state_dir, struct output **outputs, size_t n, struct store **out)
{
	struct store *s = calloc(1, sizeof(*s));
	int err;

	if (!s || n > STORE_MAX_OUTPUTS) {
		for (size_t i = 0; i < n; i++)
			outputs[i]->ops->free(outputs[i]);
		free(s);
		return s ? -EINVAL : -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		s->outputs[i] = outputs[i];
		s->render |= outputs[i]->ops->renders;
	}
	s->n_outputs = n;
	err = journal_open(state_dir, &s->journal);
	for (size_t i = 0; !err && i < n; i++) {
		struct output *o = s->outputs[i];
		const struct journal_output *jo = journal_output(s->journal, o->name);

		err = o->ops->open(o, jo ? &jo->pos : NULL, jo ? jo->path : NULL);
	}
	/* Opening may have moved an output to a new file (dnstap starts one per run) and
	 * written to it: the journal names the files of this run from the start. */
	if (!err)
		err = commit(s);
	if (err) {
		store_free(s);
		return err;
	}
	*out = s;
	return 0;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_outputs; i++)
		s->outputs[i]->ops->free(s->outputs[i]);
	journal_free(s->journal);
	free(s->pending);
	free(s);
}

int store_acked(struct store *s, const char *agent_id, uint64_t *seq)
{
	struct journal_agent *a = journal_agent(s->journal, agent_id, true);

	if (!a)
		return -ENOSPC;
	*seq = a->acked;
	return 0;
}

static int add_pending(struct store *s, const char *agent_id, uint64_t seq)
{
	if (s->n_pending == s->cap_pending) {
		size_t cap = s->cap_pending ? 2 * s->cap_pending : 64;
		struct journal_batch *p = realloc(s->pending, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->pending = p;
		s->cap_pending = cap;
	}
	s->pending[s->n_pending++] = (struct journal_batch){ agent_id, seq };
	return 0;
}

/* Drops a half-written batch from every output. */
static int abort_batch(struct store *s)
{
	int err = 0;

	for (size_t i = 0; i < s->n_outputs; i++) {
		int rc = s->outputs[i]->ops->abort(s->outputs[i]);

		err = err ?: rc;
	}
	return err;
}

int store_batch(struct store *s, const struct batch_origin *o, struct feed_batch *b,
		const char **why)
{
	struct journal_agent *a = journal_agent(s->journal, o->agent_id, true);
	const uint8_t *pb;
	size_t len, n = 0;
	int err = 0;

	*why = "";
	if (!a) {
		*why = "too many agents";
		return -ENOSPC;
	}
	if (o->seq <= a->acked || o->seq <= a->pending) {
		s->duplicates++;
		return 1;
	}
	for (size_t i = 0; i < s->n_outputs; i++)
		s->outputs[i]->ops->begin(s->outputs[i], o);
	/* One event at a time, decoded (or only checked, when every output passes the bytes
	 * on), written everywhere and freed. A bad event half way takes the batch's written
	 * part back out. */
	while (feed_batch_next(b, &pb, &len) == 1) {
		struct event *ev = NULL;

		err = s->render ? event_pb_decode(pb, len, &ev) : event_pb_check(pb, len);
		if (err) {
			*why = err == -EMSGSIZE ? "event over size cap" : "event is no valid Event";
			err = err == -ENOMEM ? err : -EBADMSG;
			goto abort;
		}
		for (size_t i = 0; i < s->n_outputs && err >= 0; i++)
			err = s->outputs[i]->ops->write(s->outputs[i], ev, pb, len);
		event_free(ev);
		if (err < 0) {
			*why = "writing an output failed";
			goto abort;
		}
		n++;
	}
	err = add_pending(s, a->id, o->seq);
	if (err)
		goto abort;
	a->pending = o->seq;
	s->batches++;
	s->events_stored += n;
	return 0;
abort:
	/* Outputs that cannot take it back leave the round to the commit's rollback. */
	if (abort_batch(s))
		s->failed = true;
	return err;
}

bool store_pending(const struct store *s)
{
	return s->n_pending > 0;
}

static void rollback(struct store *s)
{
	for (size_t i = 0; i < s->n_outputs; i++)
		s->outputs[i]->ops->rollback(s->outputs[i]);
	for (size_t i = 0; i < s->n_pending; i++) {
		struct journal_agent *a = journal_agent(s->journal, s->pending[i].agent_id, false);

		if (a)
			a->pending = 0;
	}
	s->n_pending = 0;
	s->failed = false;
}

/* Syncs the outputs and journals their positions with the pending batches. */
static int commit(struct store *s)
{
	struct journal_output outs[STORE_MAX_OUTPUTS] = { 0 };
	int err = s->failed ? -EIO : 0;

	for (size_t i = 0; !err && i < s->n_outputs; i++) {
		struct output *o = s->outputs[i];

		snprintf(outs[i].name, sizeof(outs[i].name), "%s", o->name);
		snprintf(outs[i].path, sizeof(outs[i].path), "%s", o->path);
		err = o->ops->sync(o, &outs[i].pos);
	}
	if (!err)
		err = journal_commit(s->journal, outs, s->n_outputs, s->pending, s->n_pending);
	if (err) {
		s->commit_errors++;
		log_warnx("commit of %zu batches failed (%s): dropped, their agents send them again",
			  s->n_pending, strerror(-err));
		rollback(s);
		return err;
	}
	for (size_t i = 0; i < s->n_outputs; i++)
		s->outputs[i]->ops->commit(s->outputs[i]);
	s->commits++;
	s->n_pending = 0;
	return 0;
}

int store_commit(struct store *s)
{
	return s->n_pending || s->failed ? commit(s) : 0;
}

int store_maintain(struct store *s, bool reopen, uint64_t now_ns)
{
	bool moved = false;
	int err = store_commit(s);

	if (err)
		return err;
	for (size_t i = 0; i < s->n_outputs; i++) {
		struct output *o = s->outputs[i];
		int rc = o->ops->maintain(o, reopen, now_ns);

		if (rc < 0)
			err = rc;
		else if (rc)
			moved = true;
	}
	/* The journal learns of the new files now rather than at the next batch. */
	if (moved) {
		int rc = commit(s);

		err = err ? err : rc;
	}
	return err;
}

int store_declare_stats(struct store *s, struct stats_registry *r)
{
	int err = stats_u64(r, "store_batches", &s->batches);

	err = err ?: stats_u64(r, "store_duplicates", &s->duplicates);
	err = err ?: stats_u64(r, "store_events", &s->events_stored);
	err = err ?: stats_u64(r, "store_commits", &s->commits);
	err = err ?: stats_u64(r, "store_commit_errors", &s->commit_errors);
	for (size_t i = 0; !err && i < s->n_outputs; i++) {
		struct output *o = s->outputs[i];

		snprintf(s->stat_names[i][0], sizeof(s->stat_names[i][0]), "output_%s_events",
			 o->name);
		snprintf(s->stat_names[i][1], sizeof(s->stat_names[i][1]), "output_%s_skipped",
			 o->name);
		err = stats_u64(r, s->stat_names[i][0], &o->events);
		err = err ?: stats_u64(r, s->stat_names[i][1], &o->skipped);
	}
	return err;
}
