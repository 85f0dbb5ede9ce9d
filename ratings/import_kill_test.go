package ratings_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// importHelperEnv carries "URL|FILE" to TestHelperImportProcess in a
// child process of the test binary.
const importHelperEnv = "LABORCREDIT_TEST_IMPORT_HELPER"

// killImportRows and killImportBatch size the file the child imports.
const (
	killImportRows  = 20000
	killImportBatch = 500
)

// TestHelperImportProcess is not a test: run as a child process (with
// importHelperEnv set) it imports employers slowly, printing its progress,
// until it is killed.
func TestHelperImportProcess(t *testing.T) {
	t.Parallel()
	env := os.Getenv(importHelperEnv)
	if env == "" {
		return
	}
	url, file, _ := strings.Cut(env, "|")
	ctx := context.Background()
	db, err := ratings.Open(ctx, url)
	require.NoError(t, err)
	defer db.Close()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	_, err = newService(t, db).Import(ctx, ratings.System, ratings.ImportParams{Kind: "employers", FileName: file, Reader: f,
		BatchSize: killImportBatch, Progress: func(done, total int) {
			fmt.Printf("progress %d\n", done)
			time.Sleep(10 * time.Millisecond)
		}})
	require.NoError(t, err)
	fmt.Println("finished")
}

// writeEmployersCSV writes n valid employers to a file.
func writeEmployersCSV(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "employers.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "uscc,name,region,industry,employees")
	for i := range n {
		region := counties[i%len(counties)]
		fmt.Fprintf(w, "%s,湖北导入企业%06d有限公司,%s,construction,%d\n", code(t, region, 100000+i), i, region, i%500)
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	return path
}

// An import killed with SIGKILL part way leaves no record and no audit
// entry, and the audit chain still verifies; importing again works.
func TestImportSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var url string
			if dialect == "sqlite" {
				url = ratingstest.SQLiteURL(t)
			} else {
				url = ratingstest.PostgresURL(t)
			}
			db, err := ratings.Open(ctx, url)
			require.NoError(t, err)
			defer db.Close()
			svc := newService(t, db)
			// Something audited before, so the chain has a head to keep.
			_, err = svc.AddEmployer(ctx, admin, ratings.Employer{USCC: code(t, "420102", 1), Name: "已有企业", Region: "420102"})
			require.NoError(t, err)
			before := dumpTables(t, db)
			file := writeEmployersCSV(t, killImportRows)

			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperImportProcess$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), importHelperEnv+"="+url+"|"+file)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			// Kill it somewhere after a quarter of the file is staged.
			sc := bufio.NewScanner(out)
			var seen []string
			for sc.Scan() {
				line := sc.Text()
				seen = append(seen, line)
				if n, ok := strings.CutPrefix(line, "progress "); ok {
					if done, _ := strconv.Atoi(n); done >= killImportRows/4 {
						break
					}
				}
				require.NotEqual(t, "finished", line, "the child finished before it was killed")
			}
			time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
			require.NoError(t, cmd.Process.Kill())
			_, _ = io.Copy(io.Discard, out) // to the end, before Wait
			err = cmd.Wait()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "output: %v", seen)
			ws, ok := exit.Sys().(syscall.WaitStatus)
			require.True(t, ok)
			require.True(t, ws.Signaled(), "the child was not killed by a signal: %v; output: %v", err, seen)
			require.NoError(t, db.Close())

			// As a fresh process would see it.
			db, err = ratings.Open(ctx, url)
			require.NoError(t, err)
			defer db.Close()
			require.Equal(t, before, dumpTables(t, db), "the killed import left something")
			n, err := ratings.VerifyAudit(ctx, db)
			require.NoError(t, err)
			require.EqualValues(t, 1, n)

			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			rep, err := newService(t, db).Import(ctx, ratings.System, ratings.ImportParams{Kind: "employers", FileName: file, Reader: f})
			if errors.Is(err, context.DeadlineExceeded) {
				require.FailNow(t, "the import after the kill did not finish: a lock left behind?")
			}
			require.NoError(t, err)
			require.Equal(t, killImportRows, rep.Inserted)
			n, err = ratings.VerifyAudit(ctx, db)
			require.NoError(t, err)
			require.EqualValues(t, 2, n)
		})
	}
}
