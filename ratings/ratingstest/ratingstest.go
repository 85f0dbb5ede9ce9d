// Package ratingstest gives tests a fresh, migrated database on each of the
// dialects: SQLite always, PostgreSQL when LABORCREDIT_TEST_DATABASE_URL is
// set. Every test gets a database of its own, so tests run in parallel and
// the code under test may open and commit its own transactions.
package ratingstest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/lib/pq"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
)

// EnvURL names the variable that points the tests at a PostgreSQL server.
const EnvURL = "LABORCREDIT_TEST_DATABASE_URL"

// ForEachDB runs fn as a subtest on a fresh migrated SQLite database and,
// when EnvURL is set, on a fresh migrated PostgreSQL database.
func ForEachDB(t *testing.T, fn func(t *testing.T, db *bun.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, SQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, Postgres(t))
	})
}

// SQLite returns a migrated database in a file under t.TempDir().
func SQLite(t testing.TB) *bun.DB {
	t.Helper()
	ctx := context.Background()
	db, err := ratings.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := ratings.MigrateUp(ctx, db); err != nil {
		t.Fatal(err)
	}
	return db
}

// SQLiteURL returns the URL of a migrated SQLite file under t.TempDir(),
// for tests that open the database themselves (or in another process).
func SQLiteURL(t testing.TB) string {
	t.Helper()
	u := "sqlite://" + filepath.Join(t.TempDir(), "test.db")
	db, err := ratings.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := ratings.MigrateUp(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return u
}

var (
	templateOnce sync.Once
	templateErr  error
	templateName string
)

// Postgres returns a migrated PostgreSQL database of the test's own, made
// from a migrated template database, and dropped when the test ends. It
// skips the test when EnvURL is not set.
func Postgres(t testing.TB) *bun.DB {
	t.Helper()
	u := PostgresURL(t)
	db, err := ratings.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL is Postgres for tests that open the database themselves.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: set %s to a database URL (see .ci/run)", EnvURL)
	}
	templateOnce.Do(func() { templateName, templateErr = makeTemplate(base) })
	if templateErr != nil {
		t.Fatalf("PostgreSQL template: %v", templateErr)
	}
	name := createDatabase(t, base, "lc_test_", templateName)
	return withDatabase(base, name)
}

// EmptyPostgresURL returns the URL of a new, empty PostgreSQL database
// (no migrations), dropped when the test ends. It skips without EnvURL.
func EmptyPostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: set %s to a database URL (see .ci/run)", EnvURL)
	}
	name := createDatabase(t, base, "lc_empty_", "")
	return withDatabase(base, name)
}

// createDatabase creates a database named prefix+random (from a template
// when one is given) and drops it when the test ends.
func createDatabase(t testing.TB, base, prefix, template string) string {
	t.Helper()
	name := prefix + randomHex(6)
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	q := "CREATE DATABASE " + name
	if template != "" {
		q += " TEMPLATE " + template
	}
	if _, err := admin.Exec(q); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("postgres", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)) //nolint:errcheck // best effort
	})
	return name
}

// makeTemplate creates a fresh database, migrates it, and returns its name.
func makeTemplate(base string) (string, error) {
	name := "lc_template_" + randomHex(6)
	admin, err := sql.Open("postgres", base)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		return "", err
	}
	db, err := ratings.Open(context.Background(), withDatabase(base, name))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := ratings.MigrateUp(context.Background(), db); err != nil {
		return "", err
	}
	return name, nil
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + strings.TrimPrefix(name, "/")
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
