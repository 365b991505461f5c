/* The passive DNS store (agent/pdns.c) on real SQLite files in temporary directories:
 * upserts, the row bound, reopening, files that are not ours, batching, the COF export. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "pdns.h"

#define TYPE_A 1
#define TYPE_NS 2
#define TYPE_TXT 16
#define TYPE_AAAA 28

static char dir[64];
static char file[96];

static int make_dir(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_pdns.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/%s", dir, PDNS_FILE);
	return 0;
}

static int remove_dir(void **state)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char path[128];

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", file, suffixes[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

static struct pdns *open_store(size_t max_rows)
{
	struct pdns *p = NULL;

	assert_int_equal(pdns_open(dir, max_rows, &p), 0);
	assert_non_null(p);
	return p;
}

/* One row as pdns_lookup found it. */
struct found {
	int n;
	struct pdns_row row;
	char rrname[256], rdata[256];
};

static int keep_row(void *ctx, const struct pdns_row *row)
{
	struct found *f = ctx;

	if (!f->n++) {
		f->row = *row;
		snprintf(f->rrname, sizeof(f->rrname), "%s", row->rrname);
		snprintf(f->rdata, sizeof(f->rdata), "%s", row->rdata);
	}
	return 0;
}

static struct found lookup(struct pdns *p, const char *name, uint16_t type)
{
	struct found f = { 0 };

	assert_int_equal(pdns_lookup(p, name, type, keep_row, &f), 0);
	return f;
}

static void an_upsert_counts_and_widens_first_and_last_seen(void **state)
{
	struct pdns *p = open_store(100);
	struct found f;

	(void)state;
	assert_int_equal(pdns_observe(p, "WWW.Example.COM.", TYPE_A, "192.0.2.1", 100), 0);
	assert_int_equal(pdns_observe(p, "www.example.com", TYPE_A, "192.0.2.1", 50), 0);
	assert_int_equal(pdns_observe(p, "www.example.com.", TYPE_A, "192.0.2.1", 200), 0);
	assert_int_equal(pdns_observe(p, "www.example.com", TYPE_A, "192.0.2.2", 200), 0);
	/* a name in rdata is normalised like rrname */
	assert_int_equal(pdns_observe(p, "example.com", TYPE_NS, "NS1.Provider.NET.", 200), 0);
	assert_int_equal(pdns_flush(p), 0);
	f = lookup(p, "www.EXAMPLE.com.", TYPE_A);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.rrname, "www.example.com");
	f = lookup(p, "example.com", TYPE_NS);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.rdata, "ns1.provider.net");
	assert_int_equal(pdns_stats(p)->observed, 5);
	assert_int_equal(pdns_stats(p)->rows, 3);
	assert_int_equal(pdns_stats(p)->evicted, 0);
	assert_int_equal(pdns_stats(p)->errors, 0);
	pdns_close(p);

	/* the counted row on its own, as the file holds it */
	p = open_store(100);
	{
		sqlite3 *db = pdns_db(p);
		sqlite3_stmt *st;

		static const char sql[] = "SELECT first_seen, last_seen, count FROM rr"
					  " WHERE rdata = '192.0.2.1'";

		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(st, 0), 50);
		assert_int_equal(sqlite3_column_int64(st, 1), 200);
		assert_int_equal(sqlite3_column_int64(st, 2), 3);
		sqlite3_finalize(st);
	}
	pdns_close(p);
}

static void bad_names_and_rdata_are_refused(void **state)
{
	struct pdns *p = open_store(100);
	char huge[5000];

	(void)state;
	memset(huge, 'x', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	assert_int_equal(pdns_observe(p, "", TYPE_A, "192.0.2.1", 1), -EINVAL);
	assert_int_equal(pdns_observe(p, "a.example", TYPE_A, "", 1), -EINVAL);
	assert_int_equal(pdns_observe(p, "a.example", TYPE_TXT, huge, 1), -EINVAL);
	assert_int_equal(pdns_stats(p)->rows, 0);
	pdns_close(p);
}

static void the_least_recently_seen_row_is_evicted_at_the_bound(void **state)
{
	struct pdns *p = open_store(3);

	(void)state;
	assert_int_equal(pdns_observe(p, "one.example", TYPE_A, "192.0.2.1", 1), 0);
	assert_int_equal(pdns_observe(p, "two.example", TYPE_A, "192.0.2.2", 2), 0);
	assert_int_equal(pdns_observe(p, "three.example", TYPE_A, "192.0.2.3", 3), 0);
	/* one is seen again: two is now the least recently seen */
	assert_int_equal(pdns_observe(p, "one.example", TYPE_A, "192.0.2.1", 4), 0);
	assert_int_equal(pdns_observe(p, "four.example", TYPE_A, "192.0.2.4", 5), 0);
	assert_int_equal(pdns_flush(p), 0); /* rows are counted as they are written */
	assert_int_equal(pdns_stats(p)->rows, 3);
	assert_int_equal(pdns_stats(p)->evicted, 1);
	assert_int_equal(lookup(p, "two.example", TYPE_A).n, 0);
	assert_int_equal(lookup(p, "one.example", TYPE_A).n, 1);
	assert_int_equal(lookup(p, "four.example", TYPE_A).n, 1);
	pdns_close(p);
}

static void rows_survive_a_reopen_and_a_smaller_bound_trims_them(void **state)
{
	struct pdns *p = open_store(10);
	struct found f;

	(void)state;
	for (int i = 0; i < 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "h%d.example.org", i);
		assert_int_equal(pdns_observe(p, name, TYPE_AAAA, "2001:db8::1", 1000 + i), 0);
	}
	pdns_close(p); /* commits what is pending */
	p = open_store(10);
	assert_int_equal(pdns_stats(p)->rows, 5);
	f = lookup(p, "h3.example.org", TYPE_AAAA);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.row.first_seen, 1003);
	assert_int_equal(f.row.count, 1);
	pdns_close(p);
	/* opened with a bound of 2: the three least recently seen go */
	p = open_store(2);
	assert_int_equal(pdns_stats(p)->rows, 2);
	assert_int_equal(pdns_stats(p)->evicted, 3);
	assert_int_equal(lookup(p, "h0.example.org", TYPE_AAAA).n, 0);
	assert_int_equal(lookup(p, "h4.example.org", TYPE_AAAA).n, 1);
	pdns_close(p);
}

/* Rows in the file as another connection sees them: what has been committed. */
static int64_t committed_rows(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM rr", -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void observations_commit_in_batches_not_one_by_one(void **state)
{
	struct pdns *p = open_store(100000);
	char name[32];
	int64_t ts = 5000;

	(void)state;
	assert_int_equal(pdns_observe(p, "a.example", TYPE_A, "192.0.2.1", ts), 0);
	assert_int_equal(pdns_observe(p, "b.example", TYPE_A, "192.0.2.1", ts), 0);
	assert_int_equal(committed_rows(), 0); /* the same second: still pending */
	assert_int_equal(pdns_flush(p), 0);
	assert_int_equal(committed_rows(), 2);
	/* a second later the batch commits by itself */
	assert_int_equal(pdns_observe(p, "c.example", TYPE_A, "192.0.2.1", ts), 0);
	assert_int_equal(pdns_observe(p, "d.example", TYPE_A, "192.0.2.1", ts + 1), 0);
	assert_int_equal(committed_rows(), 4);
	/* and after PDNS_BATCH observations within one second */
	for (int i = 0; i < PDNS_BATCH; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		assert_int_equal(pdns_observe(p, name, TYPE_A, "192.0.2.9", ts + 2), 0);
	}
	assert_int_equal(committed_rows(), 4 + PDNS_BATCH);
	pdns_close(p);
}

/* Runs pdns_open on the file as it is, with stderr caught: the error and what was logged. */
static int open_logged(char *log, size_t size)
{
	char path[128];
	struct pdns *p = NULL;
	int saved = dup(2), fd, err;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	err = pdns_open(dir, 100, &p);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, log, size - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	assert_null(p);
	return err;
}

static void write_file(const char *bytes, size_t n)
{
	FILE *f = fopen(file, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	fclose(f);
}

static void sql_file(const char *sql)
{
	sqlite3 *db;

	unlink(file);
	assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void a_file_that_is_not_a_store_is_refused_naming_it(void **state)
{
	static const char garbage[] = "this is a text file, not a database, padded to be long "
				      "enough that SQLite reads a header from it..............";
	char log[1024];

	(void)state;
	write_file(garbage, sizeof(garbage));
	assert_int_equal(open_logged(log, sizeof(log)), -EINVAL);
	assert_non_null(strstr(log, file));
	assert_non_null(strstr(log, "not a database"));

	/* an SQLite file of someone else's */
	sql_file("CREATE TABLE mail (id INTEGER, body TEXT)");
	assert_int_equal(open_logged(log, sizeof(log)), -EINVAL);
	assert_non_null(strstr(log, file));
	assert_non_null(strstr(log, "another program"));

	/* a store of a later schema version */
	sql_file("CREATE TABLE rr (x); PRAGMA user_version = 7");
	assert_int_equal(open_logged(log, sizeof(log)), -EINVAL);
	assert_non_null(strstr(log, file));
	assert_non_null(strstr(log, "schema version 7"));

	/* a store whose header survived and whose pages did not */
	sql_file("PRAGMA page_size = 1024; CREATE TABLE t (x); PRAGMA user_version = 1;");
	{
		FILE *f = fopen(file, "r+b");
		char junk[1024];

		memset(junk, 0xa5, sizeof(junk));
		assert_non_null(f);
		fseek(f, 1024, SEEK_SET);
		fwrite(junk, 1, sizeof(junk), f);
		fclose(f);
	}
	assert_int_equal(open_logged(log, sizeof(log)), -EINVAL);
	assert_non_null(strstr(log, file));
	unlink(file);
}

static void a_read_only_open_needs_a_store(void **state)
{
	struct pdns *p = NULL;

	(void)state;
	assert_int_equal(pdns_open_readonly(dir, &p), -ENOENT);
	assert_null(p);
	p = open_store(10);
	assert_int_equal(pdns_observe(p, "a.example", TYPE_A, "192.0.2.1", 1), 0);
	pdns_close(p);
	assert_int_equal(pdns_open_readonly(dir, &p), 0);
	assert_int_equal(pdns_stats(p)->rows, 1);
	assert_int_equal(pdns_observe(p, "b.example", TYPE_A, "192.0.2.1", 1), -EROFS);
	pdns_close(p);
}

static void the_cof_export_is_one_json_object_per_row(void **state)
{
	struct pdns *p = open_store(100), *r = NULL;
	char *text = NULL, *line, *save = NULL;
	size_t size = 0;
	FILE *out;
	int lines = 0;

	(void)state;
	assert_int_equal(pdns_observe(p, "www.example.com", TYPE_A, "192.0.2.1", 1700000000), 0);
	assert_int_equal(pdns_observe(p, "www.example.com", TYPE_A, "192.0.2.1", 1700000100), 0);
	assert_int_equal(pdns_observe(p, "example.com", TYPE_NS, "ns1.provider.net.", 1700000000),
			 0);
	/* what a sender controls must not break the line */
	assert_int_equal(pdns_observe(p, "t.example.com", TYPE_TXT, "\"a\\\"b\nc\"", 1700000000),
			 0);
	assert_int_equal(pdns_observe(p, "x.example.com", 65534, "\\# 1 ff", 1700000000), 0);
	assert_int_equal(pdns_flush(p), 0);
	/* exported from a second, read-only connection while the writer is open */
	assert_int_equal(pdns_open_readonly(dir, &r), 0);
	assert_non_null(out = open_memstream(&text, &size));
	assert_int_equal(pdns_export_cof(r, out), 0);
	fclose(out);
	pdns_close(r);
	pdns_close(p);

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t jerr;
		json_t *o = json_loads(line, 0, &jerr);
		const char *rrname;

		assert_non_null(o);
		assert_true(json_is_object(o));
		assert_int_equal(json_object_size(o), 6);
		rrname = json_string_value(json_object_get(o, "rrname"));
		assert_non_null(rrname);
		assert_true(json_is_string(json_object_get(o, "rrtype")));
		assert_true(json_is_string(json_object_get(o, "rdata")));
		assert_true(json_is_integer(json_object_get(o, "time_first")));
		assert_true(json_is_integer(json_object_get(o, "time_last")));
		assert_true(json_is_integer(json_object_get(o, "count")));
		if (!strcmp(rrname, "www.example.com")) {
			assert_string_equal(json_string_value(json_object_get(o, "rrtype")), "A");
			assert_string_equal(json_string_value(json_object_get(o, "rdata")),
					    "192.0.2.1");
			assert_int_equal(json_integer_value(json_object_get(o, "time_first")),
					 1700000000);
			assert_int_equal(json_integer_value(json_object_get(o, "time_last")),
					 1700000100);
			assert_int_equal(json_integer_value(json_object_get(o, "count")), 2);
		} else if (!strcmp(rrname, "example.com")) {
			assert_string_equal(json_string_value(json_object_get(o, "rrtype")), "NS");
			assert_string_equal(json_string_value(json_object_get(o, "rdata")),
					    "ns1.provider.net");
		} else if (!strcmp(rrname, "t.example.com")) {
			assert_string_equal(json_string_value(json_object_get(o, "rdata")),
					    "\"a\\\"b\nc\"");
		} else {
			assert_string_equal(rrname, "x.example.com");
			assert_string_equal(json_string_value(json_object_get(o, "rrtype")),
					    "TYPE65534");
		}
		json_decref(o);
		lines++;
	}
	assert_int_equal(lines, 4); /* www.example.com twice: one row */
	free(text);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, make_dir, remove_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(an_upsert_counts_and_widens_first_and_last_seen),
		TEST(bad_names_and_rdata_are_refused),
		TEST(the_least_recently_seen_row_is_evicted_at_the_bound),
		TEST(rows_survive_a_reopen_and_a_smaller_bound_trims_them),
		TEST(observations_commit_in_batches_not_one_by_one),
		TEST(a_file_that_is_not_a_store_is_refused_naming_it),
		TEST(a_read_only_open_needs_a_store),
		TEST(the_cof_export_is_one_json_object_per_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
