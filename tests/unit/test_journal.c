/* The collector's durability with real files: the commit journal survives a torn record,
 * outputs are truncated back to their last committed position (also after a logrotate
 * rename), and a batch replayed after a restart is a duplicate. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "event_pb.h"
#include "feed.h"
#include "journal.h"
#include "ofile.h"
#include "output.h"
#include "samples.h"
#include "store.h"

struct tmp {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	snprintf(t->dir, sizeof(t->dir), "/tmp/test_journal.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/out.jsonl", t->dir);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? (uint64_t)-1 : (uint64_t)st.st_size;
}

static void append_raw(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), strlen(s));
	close(fd);
}

static struct journal_output out_at(const char *path, const struct ofile_pos *pos)
{
	struct journal_output o = { .name = "jsonl", .pos = *pos };

	snprintf(o.path, sizeof(o.path), "%s", path);
	return o;
}

static void journal_keeps_watermarks_and_drops_a_torn_record(void **state)
{
	struct tmp *t = *state;
	struct ofile_pos pos = { 1, 2, 300 };
	struct journal_output o = out_at(t->path, &pos);
	struct journal_batch b[] = { { "agent-a", 5 }, { "agent-b", 9 }, { "agent-a", 7 } };
	char jpath[160];
	struct journal *j;

	assert_int_equal(journal_open(t->dir, &j), 0);
	assert_int_equal(journal_commit(j, &o, 1, b, 3), 0);
	o.pos.off = 400;
	assert_int_equal(journal_commit(j, &o, 1, (struct journal_batch[]){ { "agent-b", 10 } }, 1), 0);
	journal_free(j);
	/* a record cut short by the crash: its header says more than there is */
	snprintf(jpath, sizeof(jpath), "%s/journal", t->dir);
	append_raw(jpath, "\x40\x00\x00\x00\x12\x34");

	assert_int_equal(journal_open(t->dir, &j), 0);
	assert_int_equal(journal_agent(j, "agent-a", false)->acked, 7);
	assert_int_equal(journal_agent(j, "agent-b", false)->acked, 10);
	assert_null(journal_agent(j, "agent-c", false));
	assert_int_equal(journal_output(j, "jsonl")->pos.off, 400);
	assert_string_equal(journal_output(j, "jsonl")->path, t->path);
	assert_null(journal_output(j, "pb"));
	journal_free(j);
	/* compacted on open: the torn bytes are gone and one record holds everything */
	assert_int_equal(journal_open(t->dir, &j), 0);
	assert_int_equal(journal_agent(j, "agent-a", false)->acked, 7);
	journal_free(j);
}

static void output_is_truncated_to_the_last_commit(void **state)
{
	struct tmp *t = *state;
	struct ofile_pos pos;
	struct ofile f;

	assert_int_equal(ofile_open(&f, t->path, NULL, NULL, NULL), 0);
	assert_int_equal(ofile_append(&f, "committed\n", 10), 0);
	assert_int_equal(ofile_sync(&f, &pos), 0);
	ofile_commit(&f);
	assert_int_equal(ofile_append(&f, "half a batch", 12), 0);
	assert_int_equal(ofile_sync(&f, &(struct ofile_pos){ 0 }), 0);
	ofile_close(&f); /* the crash: synced, never journaled */
	assert_int_equal(file_size(t->path), 22);

	assert_int_equal(ofile_open(&f, t->path, NULL, &pos, t->path), 0);
	assert_int_equal(file_size(t->path), 10);
	assert_int_equal(f.size, 10);
	ofile_close(&f);
}

static void logrotated_file_is_found_by_inode(void **state)
{
	struct tmp *t = *state;
	char rotated[160];
	struct ofile_pos pos;
	struct ofile f;

	snprintf(rotated, sizeof(rotated), "%s/out.jsonl.1", t->dir);
	assert_int_equal(ofile_open(&f, t->path, NULL, NULL, NULL), 0);
	assert_int_equal(ofile_append(&f, "one\n", 4), 0);
	assert_int_equal(ofile_sync(&f, &pos), 0);
	ofile_close(&f);
	/* logrotate renamed the file while a batch was half written, and created a new one that
	 * got part of the next batch before the crash */
	assert_int_equal(rename(t->path, rotated), 0);
	append_raw(rotated, "torn");
	append_raw(t->path, "uncommitted");

	assert_int_equal(ofile_open(&f, t->path, NULL, &pos, t->path), 0);
	assert_int_equal(file_size(rotated), 4);
	assert_int_equal(file_size(t->path), 0);
	ofile_close(&f);
}

static void rotation_keeps_the_old_file_whole(void **state)
{
	struct tmp *t = *state;
	struct ofile_rotate rot = { .max_bytes = 8 };
	struct ofile_pos pos;
	struct ofile f;

	assert_int_equal(ofile_open(&f, t->path, &rot, NULL, NULL), 0);
	assert_false(ofile_rotate_due(&f, 0));
	assert_int_equal(ofile_append(&f, "0123456789\n", 11), 0);
	assert_int_equal(ofile_sync(&f, &pos), 0);
	ofile_commit(&f);
	assert_true(ofile_rotate_due(&f, 0));
	assert_int_equal(ofile_rotate(&f), 0);
	assert_int_equal(f.size, 0);
	assert_int_equal(file_size(t->path), 0);
	assert_int_not_equal(f.ino, pos.ino);
	ofile_close(&f);
}

/* A batch of n dns events from the samples; with bad_at < n, event bad_at is garbage. */
static void make_batch(struct jbuf *b, const char *agent, uint64_t seq, size_t n, size_t bad_at)
{
	struct feed_batch_header h = { agent, "host-a", "boot", seq };
	struct event_pb *pb = event_pb_new(0);
	struct dns_parser *parser = dns_parser_new();
	struct event ev = net_event(EVENT_DNS);
	struct dns_msg msg;
	uint8_t raw[4096];
	size_t raw_len = read_fixture("a-query.bin", raw, sizeof(raw));

	assert_int_equal(dns_parse(parser, raw, raw_len, &msg), 0);
	ev.dns = &msg;
	ev.raw = raw;
	ev.raw_len = raw_len;
	feed_batch_begin(b, &h);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *bytes;
		size_t len;

		ev.ts_ns += 1000;
		assert_int_equal(event_pb_encode(pb, &ev, &bytes, &len), 0);
		if (i == bad_at)
			feed_batch_add(b, (const uint8_t *)"\xff\xff\xff", 3);
		else
			feed_batch_add(b, bytes, len);
	}
	assert_false(b->failed);
	event_pb_free(pb);
	dns_parser_free(parser);
}

static size_t count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static int store_bad(struct store *s, const char *agent, uint64_t seq, size_t n, size_t bad_at)
{
	struct batch_origin o = { agent, "CN=test sha256:00", seq };
	struct jbuf b = { 0 };
	struct feed_batch fb;
	const char *why;
	int rc;

	make_batch(&b, agent, seq, n, bad_at);
	assert_int_equal(feed_batch_parse((const uint8_t *)b.p, b.len, &fb, &why), 0);
	rc = store_batch(s, &o, &fb, &why);
	jbuf_free(&b);
	return rc;
}

static int store_one(struct store *s, const char *agent, uint64_t seq, size_t n)
{
	return store_bad(s, agent, seq, n, SIZE_MAX);
}

static struct store *open_store(struct tmp *t)
{
	struct output_opts opts = { .path = t->path };
	struct output *o;
	struct store *s;

	assert_int_equal(output_jsonl_new(&opts, &o), 0);
	assert_int_equal(store_open(t->dir, &o, 1, &s), 0);
	return s;
}

static void replay_after_restart_is_stored_once(void **state)
{
	struct tmp *t = *state;
	struct store *s = open_store(t);
	uint64_t acked;

	assert_int_equal(store_one(s, "agent-a", 1, 3), 0);
	assert_int_equal(store_one(s, "agent-a", 1, 3), 1); /* the same round: pending */
	assert_int_equal(store_commit(s), 0);
	/* batch 2 written, not committed: the kill -9 comes before the journal record */
	assert_int_equal(store_one(s, "agent-a", 2, 4), 0);
	store_free(s);
	append_raw(t->path, "{\"type\":\"dns\",\"ts\":"); /* what reached the disk of it */
	s = open_store(t);
	assert_int_equal(count_lines(t->path), 3);
	assert_int_equal(store_acked(s, "agent-a", &acked), 0);
	assert_int_equal(acked, 1);
	/* the agent replays both */
	assert_int_equal(store_one(s, "agent-a", 1, 3), 1);
	assert_int_equal(store_one(s, "agent-a", 2, 4), 0);
	assert_int_equal(store_commit(s), 0);
	store_free(s);
	assert_int_equal(count_lines(t->path), 7);
}

static void batch_with_a_bad_event_is_stored_not_at_all(void **state)
{
	struct tmp *t = *state;
	struct store *s = open_store(t);
	uint64_t acked;

	assert_int_equal(store_one(s, "agent-a", 1, 2), 0);
	/* three events make it into the outputs' buffers before the bad one */
	assert_int_equal(store_bad(s, "agent-a", 2, 5, 3), -EBADMSG);
	assert_int_equal(store_one(s, "agent-b", 1, 1), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_acked(s, "agent-a", &acked), 0);
	assert_int_equal(acked, 1);
	store_free(s);
	assert_int_equal(count_lines(t->path), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(journal_keeps_watermarks_and_drops_a_torn_record,
						setup, teardown),
		cmocka_unit_test_setup_teardown(output_is_truncated_to_the_last_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(logrotated_file_is_found_by_inode, setup, teardown),
		cmocka_unit_test_setup_teardown(rotation_keeps_the_old_file_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(replay_after_restart_is_stored_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(batch_with_a_bad_event_is_stored_not_at_all, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
