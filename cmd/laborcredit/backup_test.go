package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// TestBackupRestore fills a database through the demo's procedure, backs it
// up with `laborcredit backup` while another connection keeps writing,
// restores the copy into a fresh database, and checks the copy: its audit
// log verifies, and it holds exactly the writes of one moment between the
// start and the end of the backup (a prefix of the writer's, none torn).
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     func(t *testing.T) string
		restore func(t *testing.T, file string) string
	}{
		{
			name: "sqlite",
			url:  func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "live.db") },
			restore: func(t *testing.T, file string) string {
				// Restoring is putting the file in place (the server stopped).
				dst := filepath.Join(t.TempDir(), "restored.db")
				copyFile(t, file, dst)
				return "sqlite://" + dst
			},
		},
		{
			name: "postgres",
			url:  func(t *testing.T) string { return ratingstest.EmptyPostgresURL(t) },
			restore: func(t *testing.T, file string) string {
				dst := ratingstest.EmptyPostgresURL(t)
				bin, err := pgTool("pg_restore")
				require.NoError(t, err)
				out, err := exec.CommandContext(t.Context(), bin, "--no-owner", "--exit-on-error", "--dbname="+dst, file).CombinedOutput()
				require.NoError(t, err, string(out))
				return dst
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			live := tt.url(t)
			demo := runCLI(t, "", "demo", "--no-serve", "--employers", "40", "--db", live)
			require.Equal(t, exitOK, demo.code, demo.stderr)

			ctx := context.Background()
			db, err := ratings.Open(ctx, live)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			svc, err := ratings.NewService(db, ratings.ServiceParams{})
			require.NoError(t, err)
			ratingsBefore := count(t, db, "ratings", "1 = 1")
			auditBefore := count(t, db, "audit_log", "1 = 1")

			// The writer: one user after another, each in its own
			// transaction with its audit entry; acked counts the commits.
			var acked atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					_, _, err := svc.CreateUser(ctx, ratings.System, fmt.Sprintf("backup writer %05d", i), ratings.RoleCounty, "420102", "")
					if err != nil {
						t.Errorf("writer %d: %v", i, err)
						return
					}
					acked.Add(1)
				}
			})
			require.Eventually(t, func() bool { return acked.Load() >= 5 }, 30*time.Second, 5*time.Millisecond)
			ackedBefore := acked.Load()
			file := filepath.Join(t.TempDir(), "laborcredit.backup")
			backup := runCLI(t, "", "backup", "--out", file, "--db", live)
			ackedAfter := acked.Load()
			for acked.Load() < ackedAfter+3 { // writes went on during and after it
				time.Sleep(time.Millisecond)
			}
			close(stop)
			wg.Wait()
			require.Equal(t, exitOK, backup.code, backup.stderr)
			require.Contains(t, backup.stdout, "backed up ")
			require.NotContains(t, backup.stdout, "password")
			writers := count(t, db, "users", "name LIKE 'backup writer %'")
			perWrite := (count(t, db, "audit_log", "1 = 1") - auditBefore) / writers
			require.Positive(t, perWrite)
			again := runCLI(t, "", "backup", "--out", file, "--db", live)
			require.Equal(t, exitFailure, again.code)
			require.Contains(t, again.stderr, "exists")

			restored := tt.restore(t, file)
			verify := runCLI(t, "", "audit", "verify", "--db", restored)
			require.Equal(t, exitOK, verify.code, verify.stderr)
			cp, err := ratings.Open(ctx, restored)
			require.NoError(t, err)
			t.Cleanup(func() { cp.Close() })
			_, err = ratings.VerifyAudit(ctx, cp)
			require.NoError(t, err)
			k := count(t, cp, "users", "name LIKE 'backup writer %'")
			require.GreaterOrEqual(t, k, ackedBefore, "the copy lacks writes acknowledged before the backup began")
			require.LessOrEqual(t, k, ackedAfter+1, "the copy holds writes made after the backup ended")
			var names []string
			require.NoError(t, cp.NewSelect().Table("users").Column("name").Where("name LIKE 'backup writer %'").Order("name").Scan(ctx, &names))
			for i, n := range names {
				require.Equal(t, fmt.Sprintf("backup writer %05d", i), n, "the copy is not one moment of the writer")
			}
			require.Equal(t, auditBefore+k*perWrite, count(t, cp, "audit_log", "1 = 1"))
			require.Equal(t, ratingsBefore, count(t, cp, "ratings", "1 = 1"))
			require.Equal(t, count(t, db, "employers", "1 = 1"), count(t, cp, "employers", "1 = 1"))
			t.Logf("backup holds %d of the writer's users (%d acknowledged when it began, %d when it ended)", k, ackedBefore, ackedAfter)
		})
	}
}

// count counts a table's rows.
func count(t *testing.T, db bun.IDB, table, where string) int64 {
	t.Helper()
	n, err := db.NewSelect().Table(table).Where(where).Count(context.Background())
	require.NoError(t, err)
	return int64(n)
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.Create(dst)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}

func TestBackupUsage(t *testing.T) {
	t.Parallel()
	got := runCLI(t, "", "backup")
	require.Equal(t, exitUsage, got.code)
	require.Contains(t, got.stderr, "--out is required")
	// A directory that does not exist is named before any work, not as
	// "vacuum into: unable to open database file" of a hidden temporary.
	missing := filepath.Join(t.TempDir(), "no-such-dir", "copy.backup")
	got = runCLI(t, "", "backup", "--out", missing, "--db", ratingstest.SQLiteURL(t))
	require.Equal(t, exitFailure, got.code)
	require.Contains(t, got.stderr, filepath.Dir(missing)+" does not exist")
	conn, pw, err := splitPassword("postgres://u:s3cret@h:5432/db?sslmode=disable&password=other")
	require.NoError(t, err)
	require.Equal(t, "other", pw)
	require.False(t, strings.Contains(conn, "s3cret") || strings.Contains(conn, "other"), conn)
}
