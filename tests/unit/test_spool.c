/* The agent's on-disk spool, in a temporary directory: order, seq continuity across restarts,
 * the cap, bad files and a kill -9 in the middle of appends. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "spool.h"

#define MiB (1u << 20)

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_spool.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char path[512];

	(void)state;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir);
}

/* Batch seq's bytes: its length and content both follow from seq, so a reader can tell a whole
 * batch from any other. */
static size_t batch_len(uint64_t seq)
{
	return 100 + seq * 37 % 3000;
}

static void batch_bytes(uint64_t seq, uint8_t *p)
{
	for (size_t i = 0; i < batch_len(seq); i++)
		p[i] = (uint8_t)(seq * 131 + i);
}

static void append(struct spool *s, uint64_t seq)
{
	uint8_t p[4096];

	batch_bytes(seq, p);
	assert_int_equal(spool_append(s, seq, p, batch_len(seq)), 0);
}

static struct spool *open_spool(uint64_t cap)
{
	struct spool *s = NULL;

	assert_int_equal(spool_open(dir, cap, &s), 0);
	assert_non_null(s);
	return s;
}

/* Reads every unacked batch in order, checks each is whole, and returns how many, with their
 * seqs in seqs. */
static size_t read_all(struct spool *s, uint64_t *seqs, size_t max)
{
	struct jbuf out = { 0 };
	uint64_t seq, after = 0;
	uint8_t want[4096];
	size_t n = 0;
	int rc;

	while ((rc = spool_next_unacked(s, after, &seq, &out)) == 1) {
		assert_true(n < max);
		assert_true(seq > after);
		batch_bytes(seq, want);
		assert_int_equal(out.len, batch_len(seq));
		assert_memory_equal(out.p, want, out.len);
		seqs[n++] = after = seq;
	}
	assert_int_equal(rc, 0);
	jbuf_free(&out);
	return n;
}

static uint64_t stat_value(struct spool *s, const char *name)
{
	struct stats_registry r = { 0 };
	const struct stats_entry *e;

	assert_int_equal(spool_declare_stats(s, &r), 0);
	e = stats_find(&r, name);
	assert_non_null(e);
	return *(const uint64_t *)e->value;
}

static void append_ack_reopen_keeps_order(void **state)
{
	struct spool *s = open_spool(MiB);
	uint64_t seqs[16];

	(void)state;
	assert_int_equal(spool_next_seq(s), 1);
	for (uint64_t seq = 1; seq <= 5; seq++)
		append(s, seq);
	assert_int_equal(read_all(s, seqs, 16), 5);
	assert_int_equal(seqs[0], 1);
	assert_int_equal(seqs[4], 5);

	assert_int_equal(spool_ack(s, 2), 0);
	assert_int_equal(read_all(s, seqs, 16), 3);
	assert_int_equal(seqs[0], 3);
	spool_close(s);

	/* After a restart the unacked batches come back, in order. */
	s = open_spool(MiB);
	assert_int_equal(spool_count(s), 3);
	assert_int_equal(read_all(s, seqs, 16), 3);
	assert_int_equal(seqs[0], 3);
	assert_int_equal(seqs[1], 4);
	assert_int_equal(seqs[2], 5);
	assert_int_equal(stat_value(s, "spool_batches"), 3);
	spool_close(s);
}

static void next_unacked_resends_from_any_point(void **state)
{
	struct spool *s = open_spool(MiB);
	struct jbuf out = { 0 };
	uint64_t seq;

	(void)state;
	for (uint64_t i = 1; i <= 3; i++)
		append(s, i);
	assert_int_equal(spool_next_unacked(s, 1, &seq, &out), 1);
	assert_int_equal(seq, 2);
	assert_int_equal(spool_next_unacked(s, 3, &seq, &out), 0);
	/* No ack came: the sender starts over from the oldest. */
	assert_int_equal(spool_next_unacked(s, 0, &seq, &out), 1);
	assert_int_equal(seq, 1);
	jbuf_free(&out);
	spool_close(s);
}

static void seq_continues_across_reopen_even_when_all_acked(void **state)
{
	struct spool *s = open_spool(MiB);

	(void)state;
	for (uint64_t seq = 1; seq <= 4; seq++)
		append(s, seq);
	spool_close(s);

	s = open_spool(MiB);
	assert_int_equal(spool_next_seq(s), 5);
	/* The seq never goes back. */
	assert_int_equal(spool_append(s, 4, "x", 1), -EINVAL);
	append(s, 9);
	assert_int_equal(spool_next_seq(s), 10);
	assert_int_equal(spool_ack(s, 9), 0);
	assert_int_equal(spool_count(s), 0);
	spool_close(s);

	/* An empty spool still knows where the seq was. */
	s = open_spool(MiB);
	assert_int_equal(spool_count(s), 0);
	assert_int_equal(spool_next_seq(s), 10);
	spool_close(s);
}

static void ack_of_a_batch_never_made_is_refused(void **state)
{
	struct spool *s = open_spool(MiB);

	(void)state;
	append(s, 1);
	assert_int_equal(spool_ack(s, 2), -EINVAL);
	assert_int_equal(spool_count(s), 1);
	spool_close(s);
}

static void cap_drops_oldest_and_counts(void **state)
{
	/* Room for about five of the ten batches (137..470 bytes each, and a 24-byte header). */
	struct spool *s = open_spool(1500);
	uint64_t seqs[16], dropped_bytes = 0;
	size_t n;

	(void)state;
	for (uint64_t seq = 1; seq <= 10; seq++)
		append(s, seq);
	n = read_all(s, seqs, 16);
	assert_true(n >= 2 && n <= 6);
	/* The newest survive, contiguous up to the last. */
	assert_int_equal(seqs[n - 1], 10);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(seqs[i], seqs[i - 1] + 1);
	assert_true(stat_value(s, "spool_bytes") <= 1500);
	assert_int_equal(stat_value(s, "spool_dropped_batches"), 10 - n);
	for (uint64_t seq = 1; seq < seqs[0]; seq++)
		dropped_bytes += 24 + batch_len(seq);
	assert_int_equal(stat_value(s, "spool_dropped_bytes"), dropped_bytes);
	assert_int_equal(spool_append(s, 11, seqs, 1500), -EFBIG);
	spool_close(s);

	/* The drops stay dropped after a restart. */
	s = open_spool(1500);
	assert_int_equal(read_all(s, seqs, 16), n);
	assert_int_equal(spool_next_seq(s), 11);
	spool_close(s);
}

static void write_file(const char *name, const void *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
}

static void batch_path(char *path, size_t size, uint64_t seq)
{
	snprintf(path, size, "%s/%020" PRIu64 ".batch", dir, seq);
}

static void bad_files_are_skipped(void **state)
{
	struct spool *s = open_spool(MiB);
	uint64_t seqs[16];
	char path[512];
	FILE *f;
	int c;

	(void)state;
	for (uint64_t seq = 1; seq <= 5; seq++)
		append(s, seq);
	spool_close(s);

	batch_path(path, sizeof(path), 2); /* truncated */
	assert_int_equal(truncate(path, 60), 0);
	batch_path(path, sizeof(path), 4); /* one flipped bit in the payload */
	f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, 50, SEEK_SET);
	c = fgetc(f);
	fseek(f, 50, SEEK_SET); /* a stream switches from reading to writing only after a seek */
	fputc(c ^ 1, f);
	fclose(f);
	write_file("README", "hello", 5);                     /* foreign */
	write_file("00000000000000000007.batch", "DVSB", 4); /* a header cut short */
	write_file("0000000000000000000x.batch", "", 0);     /* a name that is not a seq */
	write_file(".tmp-00000000000000000006.batch", "DVSB\0\0", 6); /* cut by a crash */

	s = open_spool(MiB);
	assert_int_equal(read_all(s, seqs, 16), 3);
	assert_int_equal(seqs[0], 1);
	assert_int_equal(seqs[1], 3);
	assert_int_equal(seqs[2], 5);
	assert_int_equal(stat_value(s, "spool_bad_files"), 3);
	snprintf(path, sizeof(path), "%s/.tmp-00000000000000000006.batch", dir);
	assert_int_equal(access(path, F_OK), -1); /* removed, not replayed */
	/* The highest good batch gives the next seq. */
	assert_int_equal(spool_next_seq(s), 6);
	spool_close(s);

	/* A batch that goes bad while the agent runs is skipped when read. */
	s = open_spool(MiB);
	batch_path(path, sizeof(path), 3);
	assert_int_equal(truncate(path, 30), 0);
	assert_int_equal(read_all(s, seqs, 16), 2);
	assert_int_equal(seqs[1], 5);
	assert_int_equal(stat_value(s, "spool_bad_files"), 1);
	spool_close(s);
}

/* The child appends batches from the spool's next seq on, as fast as it can, until it is
 * killed. */
static _Noreturn void append_forever(void)
{
	struct spool *s = NULL;

	if (spool_open(dir, 64 * MiB, &s))
		_exit(1);
	for (uint64_t seq = spool_next_seq(s);; seq++) {
		uint8_t p[4096];

		batch_bytes(seq, p);
		if (spool_append(s, seq, p, batch_len(seq)))
			_exit(1);
	}
}

/* Whole batches: a .tmp- file is one being written, which a reopen removes. */
static size_t count_batches(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.' && strstr(de->d_name, ".batch") != NULL;
	closedir(d);
	return n;
}

static void kill_9_mid_append_replays_only_whole_batches(void **state)
{
	uint64_t seqs[4096], first = 1;
	struct spool *s;
	int status;
	size_t n;

	(void)state;
	for (int round = 0; round < 5; round++) {
		struct timespec pause = { 0, (round + 1) * 3000000L };
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0)
			append_forever();
		/* Let it append a few batches, then kill it wherever it is. */
		while (count_batches() < 10)
			nanosleep(&pause, NULL);
		nanosleep(&pause, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));

		s = open_spool(64 * MiB);
		n = read_all(s, seqs, 4096);
		/* Every batch that is there is whole (read_all checks), and they run without a gap
		 * from where the last round's ack left the seq. */
		assert_true(n >= 10);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(seqs[i], first + i);
		assert_int_equal(spool_next_seq(s), first + n);
		assert_int_equal(stat_value(s, "spool_bad_files"), 0);
		assert_int_equal(spool_ack(s, first + n - 1), 0);
		first += n;
		spool_close(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(append_ack_reopen_keeps_order, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(next_unacked_resends_from_any_point, make_dir,
						remove_dir),
		cmocka_unit_test_setup_teardown(seq_continues_across_reopen_even_when_all_acked,
						make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(ack_of_a_batch_never_made_is_refused, make_dir,
						remove_dir),
		cmocka_unit_test_setup_teardown(cap_drops_oldest_and_counts, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(bad_files_are_skipped, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(kill_9_mid_append_replays_only_whole_batches,
						make_dir, remove_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
