package ratings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	neturl "net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq" // PostgreSQL driver "postgres"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"

	"laborcredit/migrations"
)

// DefaultDB is the database used when none is configured: an SQLite file
// in the working directory.
const DefaultDB = "sqlite://laborcredit.db"

// Open opens the database named by url: sqlite://PATH (the embedded
// default; the file is created if missing) or postgres://… (lib/pq).
func Open(ctx context.Context, url string) (*bun.DB, error) {
	var db *bun.DB
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		path := strings.TrimPrefix(url, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("open database: sqlite:// needs a file path, e.g. sqlite://laborcredit.db")
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		// Foreign keys on, writers wait for each other, and every
		// transaction takes the write lock at BEGIN, so two writers never
		// deadlock on a lock upgrade. A 64 MiB page cache (the default is
		// 2 MiB) keeps a county's ratings in memory across the steps of a
		// period instead of re-reading them from the file. LIKE is
		// case-sensitive, as on PostgreSQL, which lets SQLite walk the
		// region index for the region filters (region LIKE '4201%').
		dsn := "file:" + path + sep + "_pragma=foreign_keys(1)&_pragma=busy_timeout(30000)" +
			"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-65536)&_pragma=case_sensitive_like(1)&_txlock=immediate"
		sqldb, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		// One connection: SQLite has one writer, and a single connection
		// makes transactions strictly serial without busy errors.
		sqldb.SetMaxOpenConns(1)
		db = bun.NewDB(sqldb, sqlitedialect.New())
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		conn, err := newPGConnector(withConnectTimeout(url))
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", Redact(url), err)
		}
		sqldb := sql.OpenDB(conn)
		// A bounded pool: when the server is slow or gone, requests queue
		// for one of PoolSize connections (each request's context bounds
		// the wait) instead of opening connections without end. Idle
		// connections are closed after a while, so that connections to a
		// server that restarted are replaced rather than found broken.
		sqldb.SetMaxOpenConns(PoolSize)
		sqldb.SetMaxIdleConns(PoolSize)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		sqldb.SetConnMaxLifetime(time.Hour)
		db = bun.NewDB(sqldb, pgdialect.New())
	default:
		return nil, fmt.Errorf("open database: %q: want sqlite://PATH or postgres://…", Redact(url))
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		if errors.Is(err, pq.ErrSSLNotSupported) {
			// lib/pq requires TLS by default, where psql and pg_restore fall back.
			return nil, fmt.Errorf("open database %s: %w (the server has no TLS: add sslmode=disable to the URL, as in ?sslmode=disable, on a trusted network only)",
				Redact(url), err)
		}
		return nil, fmt.Errorf("open database %s: %w", Redact(url), err)
	}
	return db, nil
}

// PoolSize is the most connections Open keeps to PostgreSQL (SQLite uses
// one).
const PoolSize = 32

// ConnectTimeout bounds how long connecting to PostgreSQL may take, when
// the URL does not set connect_timeout (in seconds, lib/pq's parameter).
const ConnectTimeout = 5 * time.Second

// withConnectTimeout adds connect_timeout to a PostgreSQL URL that lacks
// one: without it, lib/pq waits for the operating system's TCP timeout
// (minutes) when the server's host does not answer.
func withConnectTimeout(url string) string {
	if strings.Contains(url, "connect_timeout=") {
		return url
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "connect_timeout=" + strconv.Itoa(int(ConnectTimeout/time.Second))
}

// Redact hides the passwords in a database URL or DSN, for messages and
// logs: the password of user:password@ (with or without a scheme, however
// encoded), and the value of every parameter whose name contains "pass"
// (password, sslpassword, …; names URL-decoded), in a URL's query or in a
// key=value DSN (quoted values included). Each becomes ***.
func Redact(url string) string {
	scheme := strings.Index(url, "://")
	if scheme < 0 && strings.Contains(url, "=") {
		return dsnPassword.ReplaceAllString(url, "$1$2=***")
	}
	start := 0
	if scheme >= 0 {
		start = scheme + 3
	}
	head, query, hasQuery := strings.Cut(url[start:], "?")
	var frag string
	if hasQuery {
		if i := strings.IndexByte(query, '#'); i >= 0 {
			query, frag = query[:i], query[i:]
		}
	}
	if at := strings.LastIndex(head, "@"); at >= 0 {
		if i := strings.IndexByte(head[:at], ':'); i >= 0 {
			head = head[:i] + ":***" + head[at:]
		}
	}
	out := url[:start] + head
	if !hasQuery {
		return out
	}
	params := strings.Split(query, "&")
	for i, p := range params {
		k, _, hasValue := strings.Cut(p, "=")
		name, err := neturl.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if strings.Contains(strings.ToLower(name), "pass") {
			if hasValue {
				params[i] = k + "=***"
			} else {
				params[i] = "***"
			}
		}
	}
	return out + "?" + strings.Join(params, "&") + frag
}

// dsnPassword is a password parameter of a key=value DSN.
var dsnPassword = regexp.MustCompile(`(?i)(^|\s)(\w*pass\w*)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`)

// IsPostgres reports whether db is PostgreSQL.
func IsPostgres(db bun.IDB) bool { return db.Dialect().Name() == dialect.PG }

// Migrator returns bun's migrator over the embedded migrations of db's
// dialect.
func Migrator(db *bun.DB) (*migrate.Migrator, error) {
	name := "sqlite"
	if IsPostgres(db) {
		name = "pg"
	}
	ms, err := migrations.New(name)
	if err != nil {
		return nil, err
	}
	return migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true)), nil
}

// MigrateUp applies every pending migration.
func MigrateUp(ctx context.Context, db *bun.DB) (*migrate.MigrationGroup, error) {
	return withMigrator(ctx, db, "migrate up", (*migrate.Migrator).Migrate)
}

// MigrateDown rolls back the last group of migrations.
func MigrateDown(ctx context.Context, db *bun.DB) (*migrate.MigrationGroup, error) {
	return withMigrator(ctx, db, "migrate down", (*migrate.Migrator).Rollback)
}

// withMigrator runs one migration step with the migrator's table created
// and its lock held.
func withMigrator(ctx context.Context, db *bun.DB, what string,
	step func(*migrate.Migrator, context.Context, ...migrate.MigrationOption) (*migrate.MigrationGroup, error)) (*migrate.MigrationGroup, error) {
	m, err := Migrator(db)
	if err != nil {
		return nil, err
	}
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := m.Lock(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer m.Unlock(ctx) //nolint:errcheck // a failed unlock leaves a row an admin can clear
	g, err := step(m, ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return g, nil
}

// MigrationStatus lists every migration with whether it is applied. It
// only reads, so it works on a read-only standby; on a database never
// migrated every migration is pending.
func MigrationStatus(ctx context.Context, db *bun.DB) (migrate.MigrationSlice, error) {
	m, err := Migrator(db)
	if err != nil {
		return nil, err
	}
	q := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'bun_migrations'"
	if IsPostgres(db) {
		q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'bun_migrations'"
	}
	var n int
	if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	if n == 0 {
		name := "sqlite"
		if IsPostgres(db) {
			name = "pg"
		}
		ms, err := migrations.New(name)
		if err != nil {
			return nil, err
		}
		return ms.Sorted(), nil
	}
	return m.MigrationsWithStatus(ctx)
}
