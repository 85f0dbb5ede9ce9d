package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"laborcredit/ratings"
)

func backupCommand() *command {
	return &command{name: "backup", short: "copy the database to a file while the service runs (SQLite: VACUUM INTO; PostgreSQL: pg_dump -Fc)", run: runBackup}
}

// runBackup writes a consistent copy of the database to --out while others
// keep writing: on SQLite with VACUUM INTO (one read transaction, so one
// moment), on PostgreSQL by running pg_dump -Fc (one snapshot). pg_dump is
// the tool pg_restore, point-in-time recovery aside, is made for; a copy
// written by hand in Go would be neither faster nor restorable with the
// standard tools. The copy is written under a temporary name and renamed
// when complete, so --out is never a half-written file.
func runBackup(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "backup", "laborcredit backup --out FILE [--db URL]")
	dbf := dbFlag(fs)
	out := fs.String("out", "", "the file to write (required; must not exist)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("backup: unexpected argument %q", pos[0])
	}
	if *out == "" {
		return usagef("backup: --out is required")
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("backup: %s exists; choose a new file", *out)
	}
	if st, err := os.Stat(filepath.Dir(*out)); err != nil || !st.IsDir() {
		return fmt.Errorf("backup: the directory %s does not exist; create it first (mkdir -p %s)", filepath.Dir(*out), filepath.Dir(*out))
	}
	u := dbURL(*dbf)
	tmp := filepath.Join(filepath.Dir(*out), "."+filepath.Base(*out)+".partial")
	os.Remove(tmp) //nolint:errcheck // a leftover of an interrupted backup
	defer os.Remove(tmp)
	var what string
	if strings.HasPrefix(u, "sqlite://") {
		what, err = backupSQLite(ctx, u, tmp)
	} else {
		what, err = backupPostgres(ctx, u, tmp)
	}
	if err != nil {
		return fmt.Errorf("backup %s: %w", ratings.Redact(u), err)
	}
	if err := os.Rename(tmp, *out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	st, err := os.Stat(*out)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(e.stdout, "backed up %s to %s (%d bytes): %s\n", ratings.Redact(u), *out, st.Size(), what)
	return nil
}

// backupSQLite copies the database with VACUUM INTO, then opens the copy
// and checks its audit chain, and says how many entries it holds.
func backupSQLite(ctx context.Context, u, tmp string) (string, error) {
	db, err := openDB(ctx, u)
	if err != nil {
		return "", err
	}
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", tmp)
	db.Close()
	if err != nil {
		return "", fmt.Errorf("vacuum into: %w", err)
	}
	cp, err := ratings.Open(ctx, "sqlite://"+tmp)
	if err != nil {
		return "", fmt.Errorf("open the copy: %w", err)
	}
	defer cp.Close()
	var check string
	if err := cp.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil {
		return "", fmt.Errorf("check the copy: %w", err)
	}
	if check != "ok" {
		return "", fmt.Errorf("the copy fails its integrity check: %s", check)
	}
	n, err := ratings.VerifyAudit(ctx, cp)
	if err != nil {
		return "", fmt.Errorf("the copy's audit log: %w", err)
	}
	// Back to the rollback journal: the copy is one file, as it should
	// be to move around.
	if _, err := cp.ExecContext(ctx, "PRAGMA journal_mode=DELETE"); err != nil {
		return "", fmt.Errorf("close the copy: %w", err)
	}
	return fmt.Sprintf("audit log of the copy intact, %d entries", n), nil
}

// backupPostgres runs pg_dump -Fc on the database. The password, if the
// URL has one, goes to pg_dump in PGPASSWORD rather than on its command
// line, where any user of the host could read it.
func backupPostgres(ctx context.Context, u, tmp string) (string, error) {
	db, err := openDB(ctx, u) // the schema must be current, as for the server
	if err != nil {
		return "", err
	}
	db.Close()
	bin, err := pgTool("pg_dump")
	if err != nil {
		return "", err
	}
	conn, password, err := splitPassword(u)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, "--format=custom", "--no-owner", "--file="+tmp, "--dbname="+conn)
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", bin, err, strings.TrimSpace(string(out)))
	}
	return "pg_dump custom format; restore with pg_restore --no-owner --dbname=URL (docs/OPERATIONS.md)", nil
}

// pgTool finds a PostgreSQL client program: in $LABORCREDIT_PG_BIN if
// set, else on the PATH, else in Debian's /usr/lib/postgresql/*/bin (the
// newest version).
func pgTool(name string) (string, error) {
	if dir := os.Getenv("LABORCREDIT_PG_BIN"); dir != "" {
		return filepath.Join(dir, name), nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name); len(m) > 0 {
		return m[len(m)-1], nil
	}
	return "", errors.New(name + " not found: install the PostgreSQL client of the server's version or set LABORCREDIT_PG_BIN")
}

// splitPassword takes the password out of a postgres:// URL (user:password@
// or ?password=).
func splitPassword(u string) (conn, password string, err error) {
	pu, err := url.Parse(u)
	if err != nil {
		return "", "", fmt.Errorf("database URL: %w", err)
	}
	if pu.User != nil {
		password, _ = pu.User.Password()
		pu.User = url.User(pu.User.Username())
	}
	if q := pu.Query(); q.Has("password") {
		password = q.Get("password")
		q.Del("password")
		pu.RawQuery = q.Encode()
	}
	return pu.String(), password, nil
}
