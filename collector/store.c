/* Batches to outputs, group-committed through the journal: see store.h. */
#include "store.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "event_pb.h"
#include "journal.h"
#include "log.h"

/* A list of batches: those written and waiting for a commit, and those of the commit in
 * flight. */
struct batch_list {
	struct journal_batch *v;
	size_t n, cap;
};

struct store {
	struct journal *journal;
	struct output *outputs[STORE_MAX_OUTPUTS];
	size_t n_outputs;
	struct batch_list pending, inflight;
	/* The commit in flight: its thread syncs the outputs and writes the journal record for
	 * outs and inflight, then writes to done_fd. */
	bool busy;
	pthread_t thread;
	int sync_err;
	int done_fd;
	struct journal_output outs[STORE_MAX_OUTPUTS];
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
	s->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	err = s->done_fd < 0 ? -errno : journal_open(state_dir, &s->journal);
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
	store_commit_done(s, true); /* the commit thread ends */
	for (size_t i = 0; i < s->n_outputs; i++)
		s->outputs[i]->ops->free(s->outputs[i]);
	journal_free(s->journal);
	if (s->done_fd >= 0)
		close(s->done_fd);
	free(s->pending.v);
	free(s->inflight.v);
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
	struct batch_list *l = &s->pending;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct journal_batch *p = realloc(l->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = (struct journal_batch){ agent_id, seq };
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
	return s->pending.n > 0;
}

bool store_busy(const struct store *s)
{
	return s->busy;
}

int store_event_fd(const struct store *s)
{
	return s->done_fd;
}

static void forget_pending(struct store *s, struct batch_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct journal_agent *a = journal_agent(s->journal, l->v[i].agent_id, false);

		if (a)
			a->pending = 0;
	}
	l->n = 0;
}

/* Drops from the outputs everything not committed: the batches in flight and pending. */
static void rollback(struct store *s)
{
	for (size_t i = 0; i < s->n_outputs; i++)
		s->outputs[i]->ops->rollback(s->outputs[i]);
	forget_pending(s, &s->inflight);
	forget_pending(s, &s->pending);
	s->failed = false;
}

/* The commit thread: the outputs' fdatasyncs, then the journal record's. */
static void *sync_thread(void *arg)
{
	struct store *s = arg;
	uint64_t one = 1;
	int err = 0;

	for (size_t i = 0; !err && i < s->n_outputs; i++)
		err = s->outputs[i]->ops->sync(s->outputs[i]);
	s->sync_err = err ?: journal_write(s->journal);
	if (write(s->done_fd, &one, sizeof(one)) < 0) {
		/* cannot happen for an eventfd below its maximum; the join still ends the commit */
	}
	return NULL;
}

static int commit_failed(struct store *s, int err, size_t n_batches)
{
	s->commit_errors++;
	log_warnx("commit of %zu batches failed (%s): dropped, their agents send them again",
		  n_batches, strerror(-err));
	rollback(s);
	return err;
}

/* Starts committing what is pending: the outputs flushed and their positions and the
 * batches journaled, synced in the commit thread. With nothing pending, 0 at once, unless
 * always: a record of the outputs' files alone. */
static int commit_start(struct store *s, bool always)
{
	struct batch_list t;
	int err = s->failed ? -EIO : 0;

	if (!err && !s->pending.n && !always)
		return 0;
	for (size_t i = 0; !err && i < s->n_outputs; i++) {
		struct output *o = s->outputs[i];

		snprintf(s->outs[i].name, sizeof(s->outs[i].name), "%s", o->name);
		snprintf(s->outs[i].path, sizeof(s->outs[i].path), "%s", o->path);
		err = o->ops->flush(o, &s->outs[i].pos);
	}
	err = err ?: journal_prepare(s->journal, s->outs, s->n_outputs, s->pending.v,
				     s->pending.n);
	if (err)
		return commit_failed(s, err, s->pending.n);
	t = s->inflight; /* empty: its memory is reused */
	s->inflight = s->pending;
	s->pending = t;
	s->pending.n = 0;
	err = -pthread_create(&s->thread, NULL, sync_thread, s);
	if (err)
		return commit_failed(s, err, s->inflight.n);
	s->busy = true;
	return 0;
}

int store_commit_done(struct store *s, bool wait)
{
	uint64_t n;
	int err;

	if (!s->busy)
		return 0;
	if (wait) {
		struct pollfd p = { .fd = s->done_fd, .events = POLLIN };

		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
	}
	if (read(s->done_fd, &n, sizeof(n)) != sizeof(n))
		return 1; /* still syncing */
	pthread_join(s->thread, NULL);
	s->busy = false;
	err = s->sync_err;
	if (err)
		return commit_failed(s, err, s->inflight.n);
	journal_apply(s->journal, s->outs, s->n_outputs, s->inflight.v, s->inflight.n);
	for (size_t i = 0; i < s->n_outputs; i++)
		s->outputs[i]->ops->commit(s->outputs[i], &s->outs[i].pos);
	s->commits++;
	s->inflight.n = 0;
	return 0;
}

int store_commit_start(struct store *s)
{
	return s->busy ? 0 : commit_start(s, false);
}

int store_commit(struct store *s)
{
	int err = store_commit_done(s, true);

	err = err ?: commit_start(s, false);
	return err ?: store_commit_done(s, true);
}

/* The journal names the outputs' files now: store_open's first commit and a rotation's. */
static int commit(struct store *s)
{
	int err = store_commit_done(s, true);

	err = err ?: commit_start(s, true);
	return err ?: store_commit_done(s, true);
}

int store_maintain(struct store *s, bool reopen, uint64_t now_ns)
{
	bool moved = false;
	int err = store_commit(s); /* rotation wants nothing in flight */

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
