/* The passive DNS store: see pdns.h. */
#include "pdns.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns.h"
#include "json.h"
#include "log.h"
#include "table.h"

/* A reader waits this long for a writer's checkpoint rather than fail at once. */
#define BUSY_TIMEOUT_MS 2000
/* rdata longer than this is not a record worth keeping (a TXT blob): refused, not cut. */
#define RDATA_MAX 4096

#define STR_(x) #x
#define STR(x) STR_(x)

/* WITHOUT ROWID: the key is the table, stored once. The last_seen index finds what to
 * evict; it is the price of a bounded file (one more b-tree write per row written: about
 * half the cost of a rewrite, bench_pdns). */
static const char schema[] =
	"BEGIN;"
	"CREATE TABLE rr (rrname TEXT NOT NULL, rrtype INTEGER NOT NULL, rdata TEXT NOT NULL,"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, count INTEGER NOT NULL,"
	" PRIMARY KEY (rrname, rrtype, rdata)) WITHOUT ROWID;"
	"CREATE INDEX rr_last_seen ON rr (last_seen);"
	"PRAGMA user_version = " STR(PDNS_SCHEMA_VERSION) ";"
	"COMMIT;";

/* WAL: readers (an export) never block the agent, and a commit is an append. NORMAL: no
 * fsync per commit, only at checkpoints; a power cut loses the last commits, never the file.
 * A checkpoint (copying the log into the file, with an fsync) every 8192 pages rather than
 * SQLite's 1000: a batch of scattered updates dirties a page or two per record, and the
 * checkpoints were a third of their cost (bench_pdns). The log is cut back to 32 MiB after
 * one, so the disk holds at most the file and that. */
static const char tuning[] = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			     " PRAGMA wal_autocheckpoint = 8192;"
			     " PRAGMA journal_size_limit = 33554432";

enum stmt {
	ST_UPSERT,
	ST_EVICT,
	ST_LOOKUP,
	ST_BEGIN,
	ST_COMMIT,
	N_STMTS,
};

static const char *const stmt_sql[N_STMTS] = {
	/* RETURNING count tells a new row (count ?4) from an updated one. */
	[ST_UPSERT] = "INSERT INTO rr VALUES (?1, ?2, ?3, ?5, ?6, ?4)"
		      " ON CONFLICT DO UPDATE SET count = count + excluded.count,"
		      " first_seen = min(first_seen, excluded.first_seen),"
		      " last_seen = max(last_seen, excluded.last_seen) RETURNING count",
	[ST_EVICT] = "DELETE FROM rr WHERE (rrname, rrtype, rdata) IN (SELECT rrname, rrtype,"
		     " rdata FROM rr ORDER BY last_seen LIMIT ?1)",
	[ST_LOOKUP] = "SELECT rrname, rrtype, rdata, first_seen, last_seen, count FROM rr"
		      " WHERE rrname = ?1 AND rrtype = ?2 ORDER BY last_seen DESC",
	[ST_BEGIN] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
};

/* domain.new's memory (pdns_known_open): the registered domains this host resolved, and
 * when its learning began (known_meta, key 'learning_start'). */
static const char known_schema[] =
	"CREATE TABLE IF NOT EXISTS known_domain (domain TEXT PRIMARY KEY,"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS known_last_seen ON known_domain (last_seen);"
	"CREATE TABLE IF NOT EXISTS known_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
	" WITHOUT ROWID;"
	"INSERT OR IGNORE INTO known_meta VALUES ('learning_start', %llu);";

enum known_stmt {
	KS_FIND,
	KS_ADD,
	KS_EVICT,
	N_KNOWN_STMTS,
};

static const char *const known_sql[N_KNOWN_STMTS] = {
	[KS_FIND] = "UPDATE known_domain SET last_seen = max(last_seen, ?2) WHERE domain = ?1"
		    " RETURNING first_seen",
	[KS_ADD] = "INSERT OR IGNORE INTO known_domain VALUES (?1, ?2, ?2)",
	[KS_EVICT] = "DELETE FROM known_domain WHERE domain IN (SELECT domain FROM known_domain"
		     " ORDER BY last_seen LIMIT ?1)",
};

/* Observations of one record waiting for the next write: a name looked up again and again
 * costs a table lookup, and one upsert per batch. Records longer than this are written
 * at once. */
#define PENDING_NAME 255
#define PENDING_RDATA 256
struct pending {
	char rrname[PENDING_NAME + 1];
	char rdata[PENDING_RDATA];
	uint16_t rrtype;
	uint32_t count;
	uint64_t first_seen, last_seen;
};

struct pending_key {
	const char *rrname, *rdata;
	uint16_t rrtype;
};

struct pdns {
	sqlite3 *db;
	char *path;
	bool readonly;
	size_t max_rows;
	sqlite3_stmt *stmts[N_STMTS];
	struct table *pending; /* PDNS_BATCH distinct records */
	bool in_txn;
	uint64_t batch_obs; /* observations since the last commit */
	uint64_t batch_ts;  /* time of the first */
	struct pdns_stats stats;
	sqlite3_stmt *known_stmts[N_KNOWN_STMTS]; /* NULL until pdns_known_open */
	size_t known_max;
};

int pdns_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_FORMAT:
	case SQLITE_MISMATCH:
	case SQLITE_CONSTRAINT:
	case SQLITE_ERROR: /* SQL against a schema that is not ours */
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Logs the connection's last error with the file's name; the negative errno for rc. */
static int fail(struct pdns *p, int rc, const char *what)
{
	log_warnx("pdns: %s: %s: %s", p->path, what, sqlite3_errmsg(p->db));
	return pdns_errno(rc);
}

int pdns_name_norm(const char *s, char *buf, size_t size)
{
	size_t n = strlen(s), bs = 0;

	/* a trailing dot, unless escaped (an odd run of backslashes before it) */
	if (n > 1 && s[n - 1] == '.') {
		while (bs < n - 1 && s[n - 2 - bs] == '\\')
			bs++;
		if (!(bs & 1))
			n--;
	}
	if (!n)
		return -EINVAL;
	if (n >= size)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++)
		buf[i] = dns_ascii_lower(s[i]);
	buf[n] = '\0';
	return 0;
}

static bool rdata_is_name(uint16_t type)
{
	return type == DNS_TYPE_NS || type == DNS_TYPE_CNAME || type == DNS_TYPE_PTR ||
	       type == DNS_TYPE_DNAME;
}

/* Runs one statement that returns at most one integer (a pragma, a count) into *out. */
static int query_int(struct pdns *p, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && out)
			*out = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Ours (any version), new (empty), or neither: -EINVAL with the reason logged. */
static int check_schema(struct pdns *p)
{
	int64_t version = 0, tables = 0;
	int rc;

	rc = query_int(p, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = query_int(p, "SELECT count(*) FROM sqlite_master", &tables);
	if (rc != SQLITE_OK)
		return fail(p, rc, "not a passive DNS store"); /* "file is not a database" */
	if (version == PDNS_SCHEMA_VERSION)
		return 0;
	if (version == 0 && tables == 0) {
		if (p->readonly) {
			log_warnx("pdns: %s: an empty database, no passive DNS store", p->path);
			return -ENOENT;
		}
		/* one transaction: a file with the tables has the version, or is still empty */
		rc = sqlite3_exec(p->db, schema, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
		return rc == SQLITE_OK ? 0 : fail(p, rc, "creating the tables");
	}
	if (version == 0)
		log_warnx("pdns: %s: an SQLite database of another program (%lld tables, no "
			  "schema version), not a passive DNS store: move it away", p->path,
			  (long long)tables);
	else
		log_warnx("pdns: %s: schema version %lld, this dnsvigil reads version %d: move "
			  "the file away or use the dnsvigil that wrote it", p->path,
			  (long long)version, PDNS_SCHEMA_VERSION);
	return -EINVAL;
}

static int open_store(const char *dir, bool readonly, size_t max_rows, struct pdns **out)
{
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	struct pdns *p;
	int64_t rows = 0;
	int rc, err;

	*out = NULL;
	if (!(p = calloc(1, sizeof(*p))))
		return -ENOMEM;
	p->readonly = readonly;
	p->max_rows = max_rows;
	if (asprintf(&p->path, "%s/%s", dir, PDNS_FILE) < 0) {
		p->path = NULL;
		err = -ENOMEM;
		goto cleanup;
	}
	if (!readonly && !(p->pending = table_new(&(struct table_opts){
				   .max_entries = PDNS_BATCH, .entry_size = sizeof(struct pending),
				   .when_full = TABLE_REFUSE }))) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (!readonly && mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		log_warn("pdns: mkdir %s", dir);
		goto cleanup;
	}
	if (readonly && access(p->path, F_OK)) {
		err = -errno;
		log_warn("pdns: %s", p->path);
		goto cleanup;
	}
	rc = sqlite3_open_v2(p->path, &p->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = p->db ? fail(p, rc, "open") : -ENOMEM;
		goto cleanup;
	}
	sqlite3_busy_timeout(p->db, BUSY_TIMEOUT_MS);
	err = check_schema(p);
	if (err)
		goto cleanup;
	if (!readonly) {
		rc = sqlite3_exec(p->db, tuning, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			err = fail(p, rc, "setting WAL mode");
			goto cleanup;
		}
	}
	for (int i = 0; i < N_STMTS; i++) {
		if (readonly && (i == ST_UPSERT || i == ST_EVICT))
			continue;
		rc = sqlite3_prepare_v3(p->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&p->stmts[i], NULL);
		if (rc != SQLITE_OK) {
			err = fail(p, rc, "not a passive DNS store");
			goto cleanup;
		}
	}
	rc = query_int(p, "SELECT count(*) FROM rr", &rows);
	if (rc != SQLITE_OK) {
		err = fail(p, rc, "counting rows");
		goto cleanup;
	}
	p->stats.rows = (uint64_t)rows;
	*out = p;
	return 0;

cleanup:
	pdns_close(p);
	return err;
}

static int step_done(struct pdns *p, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(p, rc, what);
}

/* Evicts the least recently seen rows beyond max_rows. */
static int trim(struct pdns *p)
{
	sqlite3_stmt *st = p->stmts[ST_EVICT];
	uint64_t over;
	int err;

	if (p->stats.rows <= p->max_rows)
		return 0;
	over = p->stats.rows - p->max_rows;
	sqlite3_bind_int64(st, 1, (int64_t)over);
	err = step_done(p, st, "evicting");
	if (err)
		return err;
	over = (uint64_t)sqlite3_changes(p->db);
	p->stats.rows -= over;
	p->stats.evicted += over;
	return 0;
}

int pdns_begin(struct pdns *p)
{
	int err;

	if (p->in_txn)
		return 0;
	if (p->readonly)
		return -EROFS;
	err = step_done(p, p->stmts[ST_BEGIN], "begin");
	if (err)
		return err;
	p->in_txn = true;
	return 0;
}

static int upsert(struct pdns *p, const char *rrname, uint16_t rrtype, const char *rdata,
		  uint32_t count, uint64_t first_seen, uint64_t last_seen)
{
	sqlite3_stmt *st = p->stmts[ST_UPSERT];
	int rc, err = pdns_begin(p);

	if (err)
		return err;
	sqlite3_bind_text(st, 1, rrname, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, rrtype);
	sqlite3_bind_text(st, 3, rdata, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, count);
	sqlite3_bind_int64(st, 5, (int64_t)first_seen);
	sqlite3_bind_int64(st, 6, (int64_t)last_seen);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == count)
		p->stats.rows++;
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(p, rc, "storing a record");
}

/* Writes the pending records into the open transaction (not committed), oldest first, then
 * evicts what is over the bound: once per batch, one statement. */
static int write_pending(struct pdns *p)
{
	struct pending *e, *next;
	int err = 0;

	if (!p->pending)
		return 0;
	for (e = table_oldest(p->pending); e; e = next) {
		int e_err = upsert(p, e->rrname, e->rrtype, e->rdata, e->count, e->first_seen,
				   e->last_seen);

		if (e_err) {
			p->stats.errors += e->count;
			err = err ?: e_err;
		}
		next = table_newer(p->pending, e);
		table_remove(p->pending, e);
	}
	return trim(p) ?: err;
}

int pdns_flush(struct pdns *p)
{
	int64_t rows = 0;
	int err = write_pending(p);

	if (!p->in_txn)
		goto done;
	err = step_done(p, p->stmts[ST_COMMIT], "commit") ?: err;
	if (err) {
		/* A failed COMMIT (disk full) may leave the transaction open: end it, so that
		 * the next batch starts clean. Its observations are lost. */
		if (!sqlite3_get_autocommit(p->db))
			sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
		p->stats.errors += p->batch_obs;
		/* the rows the rollback took back in */
		if (query_int(p, "SELECT count(*) FROM rr", &rows) == SQLITE_OK)
			p->stats.rows = (uint64_t)rows;
	}
	p->in_txn = false;
done:
	p->batch_obs = 0;
	return err;
}

static bool pending_eq(const void *entry, const void *key)
{
	const struct pending *e = entry;
	const struct pending_key *k = key;

	return e->rrtype == k->rrtype && !strcmp(e->rrname, k->rrname) &&
	       !strcmp(e->rdata, k->rdata);
}

/* Coalesces one observation into the pending records; false when it does not fit there. */
static bool add_pending(struct pdns *p, const char *rrname, uint16_t rrtype, const char *rdata,
			uint64_t ts)
{
	struct pending_key k = { rrname, rdata, rrtype };
	size_t name_len = strlen(rrname), rdata_len = strlen(rdata);
	uint64_t h;
	struct pending *e;

	if (name_len > PENDING_NAME || rdata_len >= PENDING_RDATA)
		return false;
	h = hash_bytes(hash_bytes(table_seed(p->pending), rrname, name_len + 1), rdata,
		       rdata_len);
	h = hash_finish(h ^ rrtype);
	if ((e = table_find_eq(p->pending, h, pending_eq, &k))) {
		if (e->count < UINT32_MAX) /* a saturated count, not a wrapped one */
			e->count++;
		if (ts < e->first_seen)
			e->first_seen = ts;
		if (ts > e->last_seen)
			e->last_seen = ts;
		return true;
	}
	if (!(e = table_insert(p->pending, h, NULL, 0)))
		return false; /* never: the batch is written when the table is full */
	memcpy(e->rrname, rrname, name_len + 1);
	memcpy(e->rdata, rdata, rdata_len + 1);
	e->rrtype = rrtype;
	e->count = 1;
	e->first_seen = e->last_seen = ts;
	return true;
}

int pdns_observe(struct pdns *p, const char *rrname, uint16_t rrtype, const char *rdata,
		 uint64_t ts)
{
	char name[DNS_MAX_PRESENTATION + 1], data[DNS_MAX_PRESENTATION + 1];
	size_t rdata_len = strlen(rdata);
	int err;

	if (pdns_name_norm(rrname, name, sizeof(name)) || !rdata_len || rdata_len > RDATA_MAX)
		return -EINVAL;
	if (rdata_is_name(rrtype)) {
		if (pdns_name_norm(rdata, data, sizeof(data)))
			return -EINVAL;
		rdata = data;
	}
	if (p->readonly)
		return -EROFS;
	if (ts > INT64_MAX)
		ts = INT64_MAX;
	if (!p->batch_obs)
		p->batch_ts = ts;
	if (!add_pending(p, name, rrtype, rdata, ts) && (err = upsert(p, name, rrtype, rdata, 1,
								      ts, ts))) {
		p->stats.errors++;
		return err;
	}
	p->stats.observed++;
	p->batch_obs++;
	if (table_count(p->pending) >= PDNS_BATCH || ts >= p->batch_ts + 1)
		return pdns_flush(p);
	return 0;
}

static int each_row(struct pdns *p, sqlite3_stmt *st, pdns_row_fn fn, void *ctx)
{
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct pdns_row row = {
			.rrname = (const char *)sqlite3_column_text(st, 0),
			.rrtype = (uint16_t)sqlite3_column_int(st, 1),
			.rdata = (const char *)sqlite3_column_text(st, 2),
			.first_seen = (uint64_t)sqlite3_column_int64(st, 3),
			.last_seen = (uint64_t)sqlite3_column_int64(st, 4),
			.count = (uint64_t)sqlite3_column_int64(st, 5),
		};

		if (!row.rrname || !row.rdata)
			continue; /* NULL in a NOT NULL column: only a damaged file */
		if ((ret = fn(ctx, &row)))
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = fail(p, rc, "reading");
	sqlite3_reset(st);
	return ret;
}

int pdns_lookup(struct pdns *p, const char *rrname, uint16_t rrtype, pdns_row_fn fn, void *ctx)
{
	sqlite3_stmt *st = p->stmts[ST_LOOKUP];
	char name[DNS_MAX_PRESENTATION + 1];

	int err;

	if (pdns_name_norm(rrname, name, sizeof(name)))
		return -EINVAL;
	if ((err = write_pending(p))) /* this connection sees them before the commit */
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, rrtype);
	return each_row(p, st, fn, ctx);
}

struct cof_ctx {
	struct jbuf b;
	FILE *out;
};

static int write_cof(void *ctx, const struct pdns_row *row)
{
	struct cof_ctx *c = ctx;
	char type_buf[DNS_MNEMONIC_LEN];

	jbuf_reset(&c->b);
	jbuf_lit(&c->b, "{");
	jbuf_key(&c->b, "rrname", true);
	jbuf_str(&c->b, row->rrname);
	jbuf_key(&c->b, "rrtype", false);
	jbuf_str(&c->b, dns_type_str(row->rrtype, type_buf));
	jbuf_key(&c->b, "rdata", false);
	jbuf_str(&c->b, row->rdata);
	jbuf_key(&c->b, "time_first", false);
	jbuf_u64(&c->b, row->first_seen);
	jbuf_key(&c->b, "time_last", false);
	jbuf_u64(&c->b, row->last_seen);
	jbuf_key(&c->b, "count", false);
	jbuf_u64(&c->b, row->count);
	jbuf_lit(&c->b, "}\n");
	if (c->b.failed)
		return -ENOMEM;
	return fwrite(c->b.p, 1, c->b.len, c->out) == c->b.len ? 0 : -EIO;
}

int pdns_export_cof(struct pdns *p, FILE *out)
{
	static const char sql[] = "SELECT rrname, rrtype, rdata, first_seen, last_seen, count"
				  " FROM rr ORDER BY rrname, rrtype, rdata";
	struct cof_ctx c = { .out = out };
	sqlite3_stmt *st = NULL;
	int rc, err;

	if ((err = write_pending(p)))
		goto cleanup;
	rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = fail(p, rc, "export");
		goto cleanup;
	}
	err = each_row(p, st, write_cof, &c);
	if (!err && fflush(out))
		err = -EIO;

cleanup:
	sqlite3_finalize(st);
	jbuf_free(&c.b);
	return err;
}

const struct pdns_stats *pdns_stats(const struct pdns *p)
{
	return &p->stats;
}

struct sqlite3 *pdns_db(struct pdns *p)
{
	return p->db;
}

void pdns_close(struct pdns *p)
{
	if (!p)
		return;
	if (p->db) {
		pdns_flush(p);
		for (int i = 0; i < N_STMTS; i++)
			sqlite3_finalize(p->stmts[i]);
		for (int i = 0; i < N_KNOWN_STMTS; i++)
			sqlite3_finalize(p->known_stmts[i]);
		sqlite3_close(p->db);
	}
	table_free(p->pending);
	free(p->path);
	free(p);
}

int pdns_open(const char *dir, size_t max_rows, struct pdns **out)
{
	struct pdns *p;
	int err;

	if (!max_rows || max_rows > INT64_MAX)
		return -EINVAL;
	err = open_store(dir, false, max_rows, &p);
	if (err)
		return err;
	/* A file written with a larger bound: down to this one now. */
	err = trim(p);
	if (err) {
		pdns_close(p);
		return err;
	}
	*out = p;
	return 0;
}

int pdns_open_readonly(const char *dir, struct pdns **out)
{
	return open_store(dir, true, SIZE_MAX, out);
}

int pdns_known_open(struct pdns *p, size_t max, uint64_t now, uint64_t *learning_start)
{
	char sql[sizeof(known_schema) + 24];
	int64_t start = 0, rows = 0;
	int rc;

	if (!max || max > INT64_MAX)
		return -EINVAL;
	if (p->readonly)
		return -EROFS;
	snprintf(sql, sizeof(sql), known_schema, (unsigned long long)now);
	rc = sqlite3_exec(p->db, sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = query_int(p, "SELECT value FROM known_meta WHERE key = 'learning_start'",
			       &start);
	if (rc == SQLITE_OK)
		rc = query_int(p, "SELECT count(*) FROM known_domain", &rows);
	for (int i = 0; i < N_KNOWN_STMTS && rc == SQLITE_OK; i++)
		if (!p->known_stmts[i])
			rc = sqlite3_prepare_v3(p->db, known_sql[i], -1,
						SQLITE_PREPARE_PERSISTENT, &p->known_stmts[i],
						NULL);
	if (rc != SQLITE_OK)
		return fail(p, rc, "opening the known domains");
	p->known_max = max;
	p->stats.known = (uint64_t)rows;
	*learning_start = (uint64_t)start;
	return 0;
}

int pdns_known_seen(struct pdns *p, const char *domain, uint64_t ts, uint64_t *first_seen)
{
	sqlite3_stmt *st = p->known_stmts[KS_FIND];
	char name[256];
	bool found;
	int rc, err;

	if (!st)
		return -EINVAL;
	if ((err = pdns_name_norm(domain, name, sizeof(name))) || (err = pdns_begin(p)))
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)ts);
	rc = sqlite3_step(st);
	if ((found = rc == SQLITE_ROW))
		*first_seen = (uint64_t)sqlite3_column_int64(st, 0);
	while (rc == SQLITE_ROW) /* RETURNING: the update is done when the statement is */
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(p, rc, "looking up a known domain");
	if (found)
		return 1;
	st = p->known_stmts[KS_ADD];
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)ts);
	if ((err = step_done(p, st, "adding a known domain")))
		return err;
	*first_seen = ts;
	if (++p->stats.known <= p->known_max)
		return 0;
	st = p->known_stmts[KS_EVICT];
	sqlite3_bind_int64(st, 1, (int64_t)(p->stats.known - p->known_max));
	if ((err = step_done(p, st, "evicting known domains")))
		return err;
	p->stats.known -= (uint64_t)sqlite3_changes(p->db);
	p->stats.known_evicted += (uint64_t)sqlite3_changes(p->db);
	return 0;
}
