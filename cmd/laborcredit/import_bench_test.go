package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// The import benchmark needs PostgreSQL and time, so it runs only when
// asked:
//
//	LABORCREDIT_BENCH_IMPORT=1000000 LABORCREDIT_TEST_DATABASE_URL=postgres://… \
//	  go test ./cmd/laborcredit -run '^$' -bench ImportEmployers -benchtime 1x -timeout 1h
//
// It writes a CSV of N valid employers, then, each on a fresh migrated
// database, times PostgreSQL's own `psql \copy employers(…) FROM file CSV
// HEADER` and `laborcredit import employers FILE`.
func BenchmarkImportEmployers(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("LABORCREDIT_BENCH_IMPORT"))
	if n <= 0 {
		b.Skip("set LABORCREDIT_BENCH_IMPORT to the number of employers to run the import benchmark")
	}
	file := filepath.Join(b.TempDir(), "employers.csv")
	importBenchCSV(b, file, n)
	syscall.Sync()
	st, err := os.Stat(file)
	require.NoError(b, err)
	b.Logf("%d employers, %.1f MB of CSV", n, float64(st.Size())/1e6)
	var copyTook, importTook time.Duration
	for b.Loop() {
		// Which goes first alternates from run to run (-count), so that a
		// trend in the machine's load favours neither.
		if importBenchRuns++; importBenchRuns%2 == 1 {
			copyTook = importBenchCopy(b, file, n)
			importTook = importBenchImport(b, file, n)
		} else {
			importTook = importBenchImport(b, file, n)
			copyTook = importBenchCopy(b, file, n)
		}
		b.Logf("psql \\copy %.2f s; laborcredit import %.2f s; ratio %.2f", copyTook.Seconds(), importTook.Seconds(),
			importTook.Seconds()/copyTook.Seconds())
	}
	b.ReportMetric(copyTook.Seconds(), "copy-s")
	b.ReportMetric(importTook.Seconds(), "import-s")
	b.ReportMetric(importTook.Seconds()/copyTook.Seconds(), "ratio")
	b.Logf("peak RSS of the test process: %s", importPeakRSS())
}

// importBenchRuns counts the runs of BenchmarkImportEmployers in this process.
var importBenchRuns int

// importBenchDatabase is a new, migrated PostgreSQL database.
func importBenchDatabase(b *testing.B) string {
	url := ratingstest.EmptyPostgresURL(b)
	ctx := context.Background()
	db, err := ratings.Open(ctx, url)
	require.NoError(b, err)
	defer db.Close()
	_, err = ratings.MigrateUp(ctx, db)
	require.NoError(b, err)
	return url
}

// importBenchDone checks that a side loaded every employer, then drops its
// database and has the kernel write out the dirty pages, so that the next
// side starts from the same quiet state.
func importBenchDone(b *testing.B, url string, n int) {
	ctx := context.Background()
	db, err := ratings.Open(ctx, url)
	require.NoError(b, err)
	var got int
	require.NoError(b, db.QueryRowContext(ctx, "SELECT count(*) FROM employers").Scan(&got))
	require.Equal(b, n, got)
	require.NoError(b, db.Close())
	u, err := neturl.Parse(url)
	require.NoError(b, err)
	admin, err := ratings.Open(ctx, os.Getenv(ratingstest.EnvURL))
	require.NoError(b, err)
	defer admin.Close()
	_, err = admin.ExecContext(ctx, "DROP DATABASE "+strings.TrimPrefix(u.Path, "/")+" WITH (FORCE)")
	require.NoError(b, err)
	_, err = admin.ExecContext(ctx, "CHECKPOINT")
	require.NoError(b, err)
	syscall.Sync()
	time.Sleep(2 * time.Second)
}

func importBenchCopy(b *testing.B, file string, n int) time.Duration {
	url := importBenchDatabase(b)
	cmd := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c",
		`\copy employers (uscc, name, region, industry, employees) FROM '`+file+`' CSV HEADER`)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	require.NoError(b, err, string(out))
	importBenchDone(b, url, n)
	return took
}

func importBenchImport(b *testing.B, file string, n int) time.Duration {
	url := importBenchDatabase(b)
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"import", "employers", file, "--db", url}, strings.NewReader(""), &stdout, &stderr)
	took := time.Since(start)
	require.Equal(b, exitOK, code, stderr.String())
	require.Contains(b, stdout.String(), fmt.Sprintf("%d inserted, 0 updated, 0 unchanged, 0 rejected", n))
	importBenchDone(b, url, n)
	return took
}

// importBenchCSV writes n valid employers over ten Hubei counties.
func importBenchCSV(b *testing.B, path string, n int) {
	f, err := os.Create(path)
	require.NoError(b, err)
	w := bufio.NewWriterSize(f, 1<<20)
	regions := []string{"420102", "420103", "420104", "420105", "420106", "420111", "420881", "420202", "420302", "420502"}
	industries := []string{"construction", "manufacturing", "services", "retail", "logistics"}
	w.WriteString("uscc,name,region,industry,employees\n")
	for i := 1; i <= n; i++ {
		region := regions[i%len(regions)]
		fmt.Fprintf(w, "%s,湖北示例企业%07d有限公司,%s,%s,%d\n", importBenchCode(b, region, i), i, region, industries[i%len(industries)], 10+i%300)
	}
	require.NoError(b, w.Flush())
	require.NoError(b, f.Close())
}

// importBenchCode is a valid USCC for a region and a serial number: the
// organisation code's check character and the code's own both right.
func importBenchCode(b *testing.B, region string, n int) string {
	org := fmt.Sprintf("MA%06d", n%1000000)
	if n >= 1000000 {
		org = fmt.Sprintf("MB%06d", n%1000000)
	}
	oc, err := engine.OrgCheckChar(org)
	require.NoError(b, err)
	first := "91" + region + org + string(oc)
	c, err := engine.USCCCheckChar(first)
	require.NoError(b, err)
	return first + string(c)
}

// importPeakRSS is the peak resident memory of this process.
func importPeakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
