// Package migrations holds the database schema as SQL migrations for
// PostgreSQL and SQLite, identical in meaning and with the same ids, run
// with bun's migrator (`laborcredit migrate up|down|status`).
package migrations

import (
	"embed"
	"fmt"
	"io/fs"

	"github.com/uptrace/bun/migrate"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// New returns the migrations of one dialect: "pg" or "sqlite".
func New(dialect string) (*migrate.Migrations, error) {
	dir := map[string]string{"pg": "postgres", "sqlite": "sqlite"}[dialect]
	if dir == "" {
		return nil, fmt.Errorf("migrations: unknown dialect %q (want pg or sqlite)", dialect)
	}
	sub, err := fs.Sub(files, dir)
	if err != nil {
		return nil, err
	}
	m := migrate.NewMigrations()
	if err := m.Discover(sub); err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return m, nil
}

// Files exposes the SQL files (for the parity test).
func Files() fs.FS { return files }
