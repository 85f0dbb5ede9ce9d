package ratings_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// The rating-cycle benchmark needs a database and time, so it runs only
// when asked:
//
//	LABORCREDIT_BENCH_EMPLOYERS=1000000 LABORCREDIT_TEST_DATABASE_URL=postgres://… \
//	  go test ./ratings -run '^$' -bench RateCycle -benchtime 1x -timeout 1h
//
// It loads N employers (each with an annual review, 2% with a case), then
// in the same run measures the baseline — PostgreSQL's own COPY of the same
// input rows out and of the result rows in — and the rating cycle.
func benchEmployers(b *testing.B) int {
	n, _ := strconv.Atoi(os.Getenv("LABORCREDIT_BENCH_EMPLOYERS"))
	if n <= 0 {
		b.Skip("set LABORCREDIT_BENCH_EMPLOYERS to run the rating-cycle benchmark")
	}
	return n
}

// loadBenchData fills a migrated database quickly: COPY on PostgreSQL,
// multi-row inserts on SQLite.
func loadBenchData(b *testing.B, db *bun.DB, n int) {
	ctx := context.Background()
	regions := []string{"420102", "420103", "420104", "420105", "420106", "420111", "420881", "420202", "420302", "420502"}
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ins := newBulk(ctx, tx, "employers", "uscc", "name", "region", "industry", "employees")
		for i := 1; i <= n; i++ {
			region := regions[i%len(regions)]
			if err := ins.add(code(b, region, i), fmt.Sprintf("湖北示例企业%07d有限公司", i), region, "construction", 10+i%300); err != nil {
				return err
			}
		}
		if err := ins.flush(); err != nil {
			return err
		}
		ins = newBulk(ctx, tx, "annual_reviews", "employer_id", "period", "submitted", "on_time", "employees", "contracts_signed", "insured", "roster_complete")
		for i := 1; i <= n; i++ {
			emp := 10 + i%300
			if err := ins.add(i, 2026, i%40 != 0, i%10 != 0 && i%40 != 0, emp, emp-i%3, emp-i%5, i%7 != 0); err != nil {
				return err
			}
		}
		if err := ins.flush(); err != nil {
			return err
		}
		ins = newBulk(ctx, tx, "cases", "case_no", "employer_id", "source", "opened", "concluded", "outcome", "order_refused", "back_wages", "workers_affected")
		nc := 0
		for i := 1; i <= n; i++ {
			if i%50 != 7 {
				continue
			}
			nc++
			if err := ins.add(fmt.Sprintf("HB-2026-%07d", i), i, "complaint", "2026-03-02", "2026-05-20", "rectified", i%1000 == 7, 20000.5, 3); err != nil {
				return err
			}
		}
		if err := ins.flush(); err != nil {
			return err
		}
		ins = newBulk(ctx, tx, "case_violations", "case_id", "violation")
		for c := 1; c <= nc; c++ {
			if err := ins.add(c, "wage_arrears"); err != nil {
				return err
			}
		}
		return ins.flush()
	})
	require.NoError(b, err)
}

// bulk writes rows with COPY on PostgreSQL and batched INSERTs on SQLite.
type bulk struct {
	ctx   context.Context
	tx    bun.Tx
	table string
	cols  []string
	stmt  *sql.Stmt
	rows  [][]any
}

func newBulk(ctx context.Context, tx bun.Tx, table string, cols ...string) *bulk {
	return &bulk{ctx: ctx, tx: tx, table: table, cols: cols}
}

func (b *bulk) add(vals ...any) error {
	if ratings.IsPostgres(b.tx) {
		if b.stmt == nil {
			st, err := b.tx.Tx.PrepareContext(b.ctx, "COPY "+b.table+" ("+strings.Join(b.cols, ", ")+") FROM STDIN")
			if err != nil {
				return err
			}
			b.stmt = st
		}
		_, err := b.stmt.ExecContext(b.ctx, vals...)
		return err
	}
	b.rows = append(b.rows, vals)
	if len(b.rows) == 500 {
		return b.flush()
	}
	return nil
}

func (b *bulk) flush() error {
	if b.stmt != nil {
		if _, err := b.stmt.ExecContext(b.ctx); err != nil {
			return err
		}
		err := b.stmt.Close()
		b.stmt = nil
		return err
	}
	if len(b.rows) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO " + b.table + " (" + strings.Join(b.cols, ", ") + ") VALUES ")
	var args []any
	for i, r := range b.rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(" + strings.TrimSuffix(strings.Repeat("?, ", len(r)), ", ") + ")")
		args = append(args, r...)
	}
	b.rows = b.rows[:0]
	_, err := b.tx.ExecContext(b.ctx, q.String(), args...)
	return err
}

func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "?"
}

func BenchmarkRateCycle(b *testing.B) {
	n := benchEmployers(b)
	for _, dialect := range []string{"postgres", "sqlite"} {
		b.Run(dialect, func(b *testing.B) {
			var db *bun.DB
			var pgURL string
			var baseline time.Duration
			if dialect == "postgres" {
				pgURL = ratingstest.PostgresURL(b)
				var err error
				db, err = ratings.Open(context.Background(), pgURL)
				require.NoError(b, err)
				defer db.Close()
			} else {
				db = ratingstest.SQLite(b)
			}
			ctx := context.Background()
			svc := newService(b, db)
			activateNational(b, svc, 2026)
			loadBenchData(b, db, n)
			if dialect == "postgres" {
				_, err := db.ExecContext(ctx, "VACUUM ANALYZE")
				require.NoError(b, err)
				benchURL = pgURL
				baseline = copyBaseline(b, db, n)
				b.Logf("postgres: COPY baseline (input rows out, result rows in) %.2f s", baseline.Seconds())
			}
			runtime.GC()
			var rep ratings.RateReport
			var took time.Duration
			for b.Loop() {
				var err error
				start := time.Now()
				rep, err = svc.Rate(ctx, admin, ratings.RateParams{Period: 2026, Region: "420000"})
				require.NoError(b, err)
				took = time.Since(start)
			}
			require.Equal(b, n, rep.Rated)
			b.Logf("%s: rate %.2f s for %d employers; peak RSS of the test process %s", dialect, took.Seconds(), rep.Rated, peakRSS())
			if baseline > 0 {
				b.Logf("%s: rate / COPY baseline = %.2f", dialect, took.Seconds()/baseline.Seconds())
			}
		})
	}
}

var benchURL string

// copyBaseline times PostgreSQL's own COPY (psql's \copy) of the rating
// cycle's input rows out (employers, annual reviews, cases, violations) and
// of the result rows in (one rating row per employer, of the size a rating
// row has: the same facts and result JSON), the latter in a transaction
// that is rolled back.
func copyBaseline(b *testing.B, db *bun.DB, n int) time.Duration {
	ctx := context.Background()
	var start time.Time
	// The result rows, in COPY's text format, written before the clock
	// starts; psql's \copy reads them back in, in a transaction rolled back.
	facts := `{"period":2026,"employer":{"uscc":"91420102MA0000010X","name":"湖北示例企业0000010有限公司","region":"420102","industry":"construction","employees":20},"annual_review":{"submitted":true,"on_time":true,"employees":20,"contracts_signed":19,"insured":20,"roster_complete":true},"cases":null,"complaints":0,"wage_deposit":{"required":false,"paid":false},"blacklisted":false,"history":null}`
	result := `{"uscc":"91420102MA0000010X","period":2026,"rule_set":"national-2016","rule_set_hash":"sha256:81020c5227d9e3141c57154782be03b92d73045cd1c1a9c3de9a54dc96e26195","grade":"A","score":null,"fired":[],"awards":[]}`
	var rsID int64
	require.NoError(b, db.QueryRowContext(ctx, "SELECT rule_set_id FROM periods WHERE year = 2026").Scan(&rsID))
	file := filepath.Join(b.TempDir(), "ratings.copy")
	f, err := os.Create(file)
	require.NoError(b, err)
	w := bufio.NewWriterSize(f, 1<<20)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "%d\t2026\t1\tt\trated\t%d\tsha256:x\tA\tA\t\\N\t%s\t%s\t%s\t1\n", i, rsID, result, facts, now)
	}
	require.NoError(b, w.Flush())
	require.NoError(b, f.Close())
	script := filepath.Join(b.TempDir(), "in.sql")
	require.NoError(b, os.WriteFile(script, []byte("BEGIN;\n\\copy ratings (employer_id, period, version, current, status, rule_set_id, rule_set_hash, engine_grade, grade, score, result, facts, computed_at, lock_version) FROM '"+file+"'\nROLLBACK;\n"), 0o600))
	start = time.Now()
	for _, q := range []string{
		"\\copy (SELECT id, uscc, name, region, industry, employees FROM employers) TO '/dev/null'",
		"\\copy (SELECT * FROM annual_reviews WHERE period = 2026) TO '/dev/null'",
		"\\copy (SELECT * FROM cases) TO '/dev/null'",
		"\\copy (SELECT * FROM case_violations) TO '/dev/null'",
	} {
		out, err := exec.CommandContext(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", benchURL, "-c", q).CombinedOutput()
		require.NoError(b, err, string(out))
	}
	out, err := exec.CommandContext(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", benchURL, "-f", script).CombinedOutput()
	require.NoError(b, err, string(out))
	elapsed := time.Since(start)
	return elapsed
}
