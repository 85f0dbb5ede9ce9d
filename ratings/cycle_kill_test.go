package ratings_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// counties are the Hubei counties the fixtures spread employers over:
// two districts of Wuhan (420100) and one city of Jingmen (420800).
var counties = []string{"420102", "420103", "420881"}

// killEmployers is the size of the fixture the interruption tests rate.
const killEmployers = 600

// fixture is what loadFixture put in a database.
type fixture struct {
	codes  []string          // every employer's USCC, in load order
	region map[string]string // USCC → county
	grade  map[string]string // USCC → the grade national-2016 gives for 2026
}

// inRegion returns the codes of the fixture's employers in a county.
func (fx fixture) inRegion(county string) []string {
	var out []string
	for _, c := range fx.codes {
		if fx.region[c] == county {
			out = append(out, c)
		}
	}
	return out
}

// withGrade returns the codes of the fixture's employers of a grade.
func (fx fixture) withGrade(grade string) []string {
	var out []string
	for _, c := range fx.codes {
		if fx.grade[c] == grade {
			out = append(out, c)
		}
	}
	return out
}

var fullReview = engine.AnnualReview{Submitted: true, OnTime: true, Employees: 20, ContractsSigned: 20, Insured: 20, RosterComplete: true}

// loadFixture activates national-2016 for 2026 and loads n employers over
// counties through the Service, each with its 2026 annual review and a
// deterministic mix of records (see loadEmployer), in serial order, so
// that employer ids follow serials.
func loadFixture(t *testing.T, svc *ratings.Service, n int) fixture {
	t.Helper()
	activateNational(t, svc, 2026)
	fx := fixture{region: map[string]string{}, grade: map[string]string{}}
	for i := range n {
		county := counties[i%len(counties)]
		uscc := code(t, county, i)
		grade, err := loadEmployer(context.Background(), svc, i, uscc, county)
		require.NoError(t, err, "employer %d", i)
		fx.codes = append(fx.codes, uscc)
		fx.region[uscc] = county
		fx.grade[uscc] = grade
	}
	return fx
}

// loadEmployer adds employer i of a fixture with its records, and returns
// the grade national-2016 gives it for 2026:
//
//	i%10 == 3        one wage-arrears case concluded in 2026: B
//	i%10 == 6        an overtime case and a case that found nothing: B
//	i%10 == 7        child labor found in 2026: C
//	i%20 == 9        three cases concluded in 2026: C
//	i%20 == 19       a case concluded in 2025, before the period: A
//	i%10 == 8        a case concluded in 2027, open at the period's end: A
//	otherwise        clean: A (some with a complaint or a paid deposit)
func loadEmployer(ctx context.Context, svc *ratings.Service, i int, uscc, county string) (string, error) {
	var errs []error
	addCase := func(no, opened, concluded, outcome string, violations ...string) {
		_, err := svc.RecordCase(ctx, admin, ratings.CaseRecord{USCC: uscc, Case: engine.Case{ID: no,
			Source: "routine_inspection", Opened: opened, Concluded: concluded, Outcome: outcome, Violations: violations,
			BackWages: float64(i%7) * 1234.5, WorkersAffected: len(violations)}})
		errs = append(errs, err)
	}
	_, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: uscc, Name: fmt.Sprintf("湖北测试企业%04d", i),
		Region: county, Industry: []string{"construction", "manufacturing", "services"}[i%3], Employees: 20})
	if err != nil {
		return "", err
	}
	errs = append(errs, svc.RecordReview(ctx, admin, ratings.ReviewRecord{USCC: uscc, Period: 2026, AnnualReview: fullReview}))
	grade := "A"
	no := fmt.Sprintf("HB-%04d", i)
	switch {
	case i%10 == 3:
		grade = "B"
		addCase(no+"-1", "2026-02-10", "2026-04-01", "rectified", "wage_arrears")
	case i%10 == 6:
		grade = "B"
		addCase(no+"-1", "2026-05-10", "2026-06-01", "penalized", "overtime", "no_contract")
		addCase(no+"-2", "2026-07-01", "2026-07-20", "no_violation")
	case i%10 == 7:
		grade = "C"
		addCase(no+"-1", "2026-03-01", "2026-03-30", "penalized", "child_labor")
	case i%20 == 9:
		grade = "C"
		addCase(no+"-1", "2026-01-05", "2026-02-01", "rectified", "overtime")
		addCase(no+"-2", "2026-04-05", "2026-05-01", "rectified", "social_insurance")
		addCase(no+"-3", "2026-08-05", "2026-09-01", "rectified", "no_roster")
	case i%20 == 19:
		addCase(no+"-1", "2025-09-01", "2025-11-01", "rectified", "wage_arrears")
	case i%10 == 8:
		addCase(no+"-1", "2026-12-01", "2027-01-20", "rectified", "overtime")
	case i%10 == 1:
		errs = append(errs, svc.RecordComplaint(ctx, admin, uscc, no+"-T", "2026-06-15"))
	case i%10 == 2:
		errs = append(errs, svc.RecordDeposit(ctx, admin, uscc, 2026, true, true))
	}
	return grade, errors.Join(errs...)
}

// twin returns a second database of db's dialect holding the same n-employer
// fixture, to be rated in one go for comparison. db must hold the fixture
// and nothing else yet: an SQLite twin is a copy of it (VACUUM INTO), a
// PostgreSQL twin is loaded afresh.
func twin(t *testing.T, db *bun.DB, n int) *bun.DB {
	t.Helper()
	ctx := context.Background()
	if ratings.IsPostgres(db) {
		ref := ratingstest.Postgres(t)
		loadFixture(t, newService(t, ref), n)
		return ref
	}
	path := filepath.Join(t.TempDir(), "twin.db")
	_, err := db.ExecContext(ctx, "VACUUM INTO ?", path)
	require.NoError(t, err)
	ref, err := ratings.Open(ctx, "sqlite://"+path)
	require.NoError(t, err)
	t.Cleanup(func() { ref.Close() })
	return ref
}

// storedRating is a rating row as the comparisons see it: result and facts
// decoded, so that jsonb's key order and spacing do not matter.
type storedRating struct {
	Version     int
	Current     bool
	Status      string
	Grade       string
	EngineGrade string
	RuleSetHash string
	Result      any
	Facts       any
}

// ratingsOf returns every rating version of a period, by USCC, oldest first.
func ratingsOf(t *testing.T, db bun.IDB, period int) map[string][]storedRating {
	t.Helper()
	rows, err := db.QueryContext(context.Background(),
		"SELECT e.uscc, r.version, r.current, r.status, r.grade, r.engine_grade, r.rule_set_hash, r.result, r.facts"+
			" FROM ratings r JOIN employers e ON e.id = r.employer_id WHERE r.period = ? ORDER BY e.uscc, r.version", period)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string][]storedRating{}
	for rows.Next() {
		var uscc, result, facts string
		var r storedRating
		require.NoError(t, rows.Scan(&uscc, &r.Version, &r.Current, &r.Status, &r.Grade, &r.EngineGrade, &r.RuleSetHash, &result, &facts))
		require.NoError(t, json.Unmarshal([]byte(result), &r.Result), "result of %s", uscc)
		require.NoError(t, json.Unmarshal([]byte(facts), &r.Facts), "facts of %s", uscc)
		out[uscc] = append(out[uscc], r)
	}
	require.NoError(t, rows.Err())
	return out
}

// requireSameAsUninterrupted checks that db, rated after an interruption,
// holds exactly one current version-1 rating per employer of fx with the
// expected grade, and the very same rows as ref, rated in one go.
func requireSameAsUninterrupted(t *testing.T, db, ref bun.IDB, fx fixture) {
	t.Helper()
	got, want := ratingsOf(t, db, 2026), ratingsOf(t, ref, 2026)
	require.Len(t, got, len(fx.codes))
	for _, c := range fx.codes {
		rs := got[c]
		require.Len(t, rs, 1, "employer %s", c)
		require.Equal(t, 1, rs[0].Version, "employer %s", c)
		require.True(t, rs[0].Current, "employer %s", c)
		require.Equal(t, ratings.StatusRated, rs[0].Status, "employer %s", c)
		require.Equal(t, fx.grade[c], rs[0].Grade, "employer %s", c)
	}
	require.Equal(t, want, got)
}

// requireOneFinishedRun checks that the rating cycle left one run, finished.
func requireOneFinishedRun(t *testing.T, db bun.IDB) {
	t.Helper()
	var runs []ratings.RatingRun
	require.NoError(t, db.NewSelect().Model(&runs).Scan(context.Background()))
	require.Len(t, runs, 1)
	require.NotNil(t, runs[0].FinishedAt, "run %d is not finished", runs[0].ID)
}

// requireWholeBatches checks, after an interruption, that the one run is
// unfinished and that the ratings written are exactly those of the
// employers up to its cursor. It returns the cursor and that count.
func requireWholeBatches(t *testing.T, db bun.IDB, batch int) (cursor int64, rated int) {
	t.Helper()
	ctx := context.Background()
	var runs []ratings.RatingRun
	require.NoError(t, db.NewSelect().Model(&runs).Scan(ctx))
	require.Len(t, runs, 1)
	require.Nil(t, runs[0].FinishedAt, "the run finished before it was interrupted")
	cursor = runs[0].Cursor
	n64, err := db.NewSelect().Model((*ratings.Rating)(nil)).Count(ctx)
	require.NoError(t, err)
	upTo, err := db.NewSelect().Model((*ratings.Employer)(nil)).Where("id <= ?", cursor).Count(ctx)
	require.NoError(t, err)
	require.Equal(t, upTo, n64, "ratings written vs employers up to the cursor %d", cursor)
	n := int(n64)
	require.Zero(t, n%batch, "%d ratings is not a whole number of batches of %d", n, batch)
	require.Equal(t, n, runs[0].Rated)
	return cursor, n
}

// rateUninterrupted rates a twin in one go.
func rateUninterrupted(t *testing.T, ref *bun.DB, n int) *bun.DB {
	t.Helper()
	rep, err := newService(t, ref).Rate(context.Background(), admin, ratings.RateParams{Period: 2026, Region: "420000", BatchSize: 50})
	require.NoError(t, err)
	require.False(t, rep.Resumed)
	require.Equal(t, n, rep.Rated)
	requireOneFinishedRun(t, ref)
	return ref
}

// A cancelled context stops the cycle between batches; what it wrote is
// whole batches, and the rerun resumes and ends as an uninterrupted run.
func TestRateCancelledResumes(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc := newService(t, db)
		fx := loadFixture(t, svc, killEmployers)
		ref := twin(t, db, killEmployers)

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var calls []int
		rep, err := svc.Rate(ctx, admin, ratings.RateParams{Period: 2026, Region: "420000", BatchSize: 50,
			Progress: func(done, total int) {
				calls = append(calls, done)
				if done >= 150 {
					cancel()
				}
			}})
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, []int{0, 50, 100, 150}, calls)
		require.Equal(t, 150, rep.Rated)
		_, rated := requireWholeBatches(t, db, 50)
		require.Equal(t, 150, rated)

		calls = nil
		rep, err = svc.Rate(context.Background(), admin, ratings.RateParams{Period: 2026, Region: "420000", BatchSize: 50,
			Progress: func(done, total int) { calls = append(calls, done) }})
		require.NoError(t, err)
		require.True(t, rep.Resumed)
		require.Equal(t, killEmployers, rep.Employers)
		require.Equal(t, killEmployers-150, rep.Rated)
		require.Zero(t, rep.Unchanged)
		require.Zero(t, rep.Held)
		require.Equal(t, 150, calls[0], "progress starts where the cancelled run stopped")
		require.Equal(t, killEmployers, calls[len(calls)-1])

		requireOneFinishedRun(t, db)
		requireSameAsUninterrupted(t, db, rateUninterrupted(t, ref, killEmployers), fx)
		_, err = ratings.VerifyAudit(context.Background(), db)
		require.NoError(t, err)
	})
}

// A context cancelled while a batch's transaction is running rolls the
// batch back whole.
func TestRateCancelledMidBatchResumes(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		const n = 200
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The cycle reads the clock inside each batch's transaction, after
		// loading the batch's facts and before writing its ratings: once
		// armed, the clock cancels the context there.
		var armed atomic.Bool
		svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: func() time.Time {
			if armed.Load() {
				cancel()
			}
			return time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
		}})
		require.NoError(t, err)
		fx := loadFixture(t, svc, n)
		ref := twin(t, db, n)

		rep, err := svc.Rate(ctx, admin, ratings.RateParams{Period: 2026, Region: "420000", BatchSize: 50,
			Progress: func(done, total int) { armed.Store(done >= 100) }})
		require.Error(t, err)
		t.Logf("error of a run cancelled mid-batch: %v", err)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 100, rep.Rated)
		cursor, rated := requireWholeBatches(t, db, 50)
		require.Equal(t, 100, rated, "two whole batches, nothing of the third")
		upTo, err := db.NewSelect().Model((*ratings.Employer)(nil)).Where("id <= ?", cursor).Count(context.Background())
		require.NoError(t, err)
		require.EqualValues(t, 100, upTo)

		armed.Store(false)
		rep, err = svc.Rate(context.Background(), admin, ratings.RateParams{Period: 2026, Region: "420000", BatchSize: 50})
		require.NoError(t, err)
		require.True(t, rep.Resumed)
		require.Equal(t, n-100, rep.Rated)
		requireOneFinishedRun(t, db)
		requireSameAsUninterrupted(t, db, rateUninterrupted(t, ref, n), fx)
	})
}

// helperEnv carries the database URL to TestHelperRateProcess in a child
// process of the test binary.
const helperEnv = "LABORCREDIT_TEST_RATE_HELPER_DB"

// killBatch is the batch size of the child process.
const killBatch = 20

// TestHelperRateProcess is not a test: run as a child process (with
// helperEnv set) it runs the rating cycle slowly until it is killed.
func TestHelperRateProcess(t *testing.T) {
	t.Parallel()
	url := os.Getenv(helperEnv)
	if url == "" {
		return
	}
	ctx := context.Background()
	db, err := ratings.Open(ctx, url)
	require.NoError(t, err)
	defer db.Close()
	svc := newService(t, db)
	_, err = svc.Rate(ctx, admin, ratings.RateParams{Period: 2026, Region: "420000", BatchSize: killBatch,
		Progress: func(done, total int) { time.Sleep(20 * time.Millisecond) }})
	require.NoError(t, err)
}

// startRateProcess starts the test binary as a child that runs the rating
// cycle on url.
func startRateProcess(t *testing.T, url string) (*exec.Cmd, *bytes.Buffer, <-chan error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRateProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, &out, done
}

// killAfter waits until the child has moved the run's cursor past after
// (at least one more batch committed), then up to jitter more, then kills
// it with SIGKILL and checks that the signal is what ended it.
func killAfter(t *testing.T, db bun.IDB, after int64, jitter time.Duration, cmd *exec.Cmd, out *bytes.Buffer, done <-chan error) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var cursor int64
		require.NoError(t, db.NewSelect().Model((*ratings.RatingRun)(nil)).ColumnExpr("COALESCE(MAX(cursor), 0)").Scan(ctx, &cursor))
		if cursor > after {
			break
		}
		select {
		case err := <-done:
			require.FailNow(t, "the child ended before it was killed", "err %v, output:\n%s", err, out)
		default:
		}
		require.True(t, time.Now().Before(deadline), "the child committed no batch in time; output:\n%s", out)
		time.Sleep(2 * time.Millisecond)
	}
	// Anywhere in the next batch: its transaction or the pause after it.
	time.Sleep(time.Duration(rand.IntN(int(jitter))))
	require.NoError(t, cmd.Process.Kill())
	err := <-done
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "output:\n%s", out)
	ws, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, ws.Signaled(), "the child was not killed by a signal: %v; output:\n%s", err, out)
	require.Equal(t, syscall.SIGKILL, ws.Signal())
}

// A rating cycle killed with SIGKILL, twice, leaves whole batches; the
// rerun resumes and ends as an uninterrupted run.
func TestRateSurvivesSIGKILL(t *testing.T) {
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
			fx := loadFixture(t, newService(t, db), killEmployers)
			ref := twin(t, db, killEmployers)

			// Kill it once after its first batch, and again after the
			// second process has resumed and committed more.
			var cursor int64
			var rated int
			for round := range 2 {
				cmd, out, done := startRateProcess(t, url)
				killAfter(t, db, cursor, time.Duration(1+round*25)*time.Millisecond, cmd, out, done)
				var c int64
				c, rated = requireWholeBatches(t, db, killBatch)
				require.Greater(t, c, cursor, "round %d", round)
				require.Less(t, rated, killEmployers, "round %d", round)
				cursor = c
			}
			if dialect == "sqlite" {
				_, err := os.Stat(strings.TrimPrefix(url, "sqlite://") + "-wal")
				t.Logf("after the kill: %d of %d rated, WAL file left: %v", rated, killEmployers, err == nil)
			}
			require.NoError(t, db.Close())

			// The rerun, as a fresh process would do it: open the database
			// again and rate.
			db, err = ratings.Open(ctx, url)
			require.NoError(t, err)
			defer db.Close()
			rep, err := newService(t, db).Rate(ctx, admin, ratings.RateParams{Period: 2026, Region: "420000", BatchSize: killBatch})
			require.NoError(t, err)
			require.True(t, rep.Resumed)
			require.Equal(t, killEmployers, rep.Employers)
			require.Equal(t, killEmployers-rated, rep.Rated)
			require.Zero(t, rep.Unchanged)

			requireOneFinishedRun(t, db)
			requireSameAsUninterrupted(t, db, rateUninterrupted(t, ref, killEmployers), fx)
			_, err = ratings.VerifyAudit(ctx, db)
			require.NoError(t, err)
		})
	}
}
