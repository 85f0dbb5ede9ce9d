package ratings_test

import (
	"context"
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
