package ratings_test

import (
	"context"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// Migrations go up, down and up again on an empty database of each dialect.
func TestMigrateUpDownUp(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var db = ratingstest.SQLite(t)
			if name == "postgres" {
				db = ratingstest.Postgres(t)
			}
			for range 2 {
				g, err := ratings.MigrateDown(ctx, db)
				require.NoError(t, err)
				require.False(t, g.IsZero(), "down rolled nothing back")
				var n int
				require.NoError(t, db.NewSelect().ColumnExpr("count(*)").Table("bun_migrations").Scan(ctx, &n))
				require.Zero(t, n)
				g, err = ratings.MigrateUp(ctx, db)
				require.NoError(t, err)
				require.False(t, g.IsZero())
				ms, err := ratings.MigrationStatus(ctx, db)
				require.NoError(t, err)
				require.Empty(t, ms.Unapplied())
			}
		})
	}
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	t.Parallel()
	_, err := ratings.Open(context.Background(), "mysql://u:secret@h/db")
	require.EqualError(t, err, `open database: "mysql://u:***@h/db": want sqlite://PATH or postgres://…`)
	_, err = ratings.Open(context.Background(), "sqlite://")
	require.Error(t, err)
}

// TestMigrationStatusOnlyReads checks what /readyz relies on: on a
// database never migrated every migration is pending and nothing is
// created, and on a read-only PostgreSQL (a streaming standby) the status
// still reads.
func TestMigrationStatusOnlyReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("never migrated", func(t *testing.T) {
		t.Parallel()
		db, err := ratings.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "empty.db"))
		require.NoError(t, err)
		defer db.Close()
		ms, err := ratings.MigrationStatus(ctx, db)
		require.NoError(t, err)
		require.NotEmpty(t, ms)
		require.Len(t, ms.Unapplied(), len(ms))
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n))
		require.Zero(t, n, "reading the status created tables")
	})
	t.Run("read-only postgres", func(t *testing.T) {
		t.Parallel()
		url := ratingstest.PostgresURL(t) // migrated
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		db, err := ratings.Open(ctx, url+sep+"default_transaction_read_only=on")
		require.NoError(t, err)
		defer db.Close()
		_, err = db.ExecContext(ctx, "CREATE TABLE probe (id int)")
		require.Error(t, err, "the connection should be read-only")
		ms, err := ratings.MigrationStatus(ctx, db)
		require.NoError(t, err)
		require.NotEmpty(t, ms)
		require.Empty(t, ms.Unapplied())
	})
}

// TestOpenSaysSSLModeDisable: lib/pq requires TLS unless the URL says
// otherwise, so a URL without sslmode to a server without TLS (as
// pg_restore and psql accept it) fails; the error says what to add.
func TestOpenSaysSSLModeDisable(t *testing.T) {
	t.Parallel()
	base := os.Getenv("LABORCREDIT_TEST_DATABASE_URL")
	if base == "" {
		t.Skip("LABORCREDIT_TEST_DATABASE_URL not set")
	}
	u, err := neturl.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("sslmode", "require")
	u.RawQuery = q.Encode()
	db, err := ratings.Open(context.Background(), u.String())
	if err == nil {
		db.Close()
		t.Skip("the test server speaks TLS")
	}
	require.ErrorContains(t, err, "SSL is not enabled on the server")
	require.ErrorContains(t, err, "sslmode=disable")
}
