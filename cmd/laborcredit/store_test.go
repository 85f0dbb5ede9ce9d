package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// migrate up, down and up on an empty database of each dialect.
// migrationList matches bun's description of a migration group: up to
// five by name, more as "N migrations (FIRST ... LAST)".
const migrationList = `(20261128000001_schema(, \d{14}_\w+)*|\d+ migrations \(20261128000001 \.\.\. \d{14}\))`

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "new.db") }},
		{"postgres", func(t *testing.T) string { return ratingstest.EmptyPostgresURL(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := tt.url(t)
			got := runCLI(t, "", "migrate", "status", "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Regexp(t, `(?m)^20261128000001_schema  pending$`, got.stdout)

			got = runCLI(t, "", "migrate", "up", "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Regexp(t, `^applied group #1 \(`+migrationList+`\)\n$`, got.stdout)
			got = runCLI(t, "", "migrate", "up", "--db", url)
			require.Equal(t, "the database is up to date\n", got.stdout)

			got = runCLI(t, "", "migrate", "down", "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Regexp(t, `^rolled back group #1 \(`+migrationList+`\)\n$`, got.stdout)
			got = runCLI(t, "", "migrate", "down", "--db", url)
			require.Equal(t, "nothing to roll back\n", got.stdout)

			// Flags after or before the positional subcommand.
			got = runCLI(t, "", "migrate", "--db", url, "up")
			require.Equal(t, exitUsage, got.code, "migrate is a group: its subcommand comes first")
			got = runCLI(t, "", "migrate", "up", "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			got = runCLI(t, "", "migrate", "status", "--db", url)
			require.Regexp(t, `(?m)^20261128000001_schema  applied \d{4}-\d\d-\d\dT`, got.stdout)
		})
	}
}

func TestCommandsNeedAMigratedDatabase(t *testing.T) {
	t.Parallel()
	url := "sqlite://" + filepath.Join(t.TempDir(), "fresh.db")
	got := runCLI(t, "", "rate", "--period", "2026", "--db", url)
	require.Equal(t, exitFailure, got.code)
	require.Regexp(t, `^laborcredit: the database schema is not current \(\d+ migrations? pending\): run laborcredit migrate up\n$`, got.stderr)
	got = runCLI(t, "", "rate", "--db", url)
	require.Equal(t, exitUsage, got.code)
	require.Contains(t, got.stderr, "rate: --period is required")
	got = runCLI(t, "", "audit", "verify", "--db", "mysql://x")
	require.Equal(t, exitFailure, got.code)
	require.Contains(t, got.stderr, "want sqlite://PATH or postgres://")
}

// The storage commands end to end: upload and activate the national rule
// set, rate, rate again (nothing changes), simulate a draft over the
// stored period, verify the audit log.
func TestStorageCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return ratingstest.SQLiteURL(t) }},
		{"postgres", func(t *testing.T) string { return ratingstest.PostgresURL(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := tt.url(t)
			seedEmployers(t, url, 40)

			got := runCLI(t, "", "rules", "upload", nationalRules, "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Regexp(t, `^stored ../../scoring-rules/national-2016.yaml: national-2016 v1, sha256:[0-9a-f]{64}\n$`, got.stdout)
			hash := regexp.MustCompile(`sha256:[0-9a-f]{64}`).FindString(got.stdout)

			got = runCLI(t, "", "rules", "activate", "--period", "2026", "--db", url)
			require.Equal(t, exitUsage, got.code)
			got = runCLI(t, "", "rules", "activate", "--period", "2026", "--hash", hash, "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Equal(t, "period 2026 is rated with "+hash+"\n", got.stdout)

			got = runCLI(t, "", "rate", "--period", "2026", "--db", url, "--batch", "7")
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Equal(t, "period 2026: 40 employers, 40 new ratings, 0 unchanged, 0 held; rule set national-2016 "+hash+"\n", got.stdout)
			require.Contains(t, got.stderr, "rating: 40 of 40 employers (100%)\n", "plain progress lines when not on a terminal")

			got = runCLI(t, "", "rate", "--period", "2026", "--region", "420102", "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Equal(t, "period 2026: 20 employers, 0 new ratings, 20 unchanged, 0 held; rule set national-2016 "+hash+"\n", got.stdout)

			draft := writeFile(t, t.TempDir(), "draft.yaml", replaceOnce(t, readFile(t, nationalRules),
				"  - id: b-violation-found", "  - id: c-complaints\n    when: complaints >= 2\n    cap: C\n    reason: 投诉两次以上\n  - id: b-violation-found"))
			got = runCLI(t, "", "rules", "simulate", "--draft", draft, "--period", "2026", "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Contains(t, got.stdout, "40 employers, 10 change grade")
			require.Contains(t, got.stdout, "now: c-complaints")

			got = runCLI(t, "", "workflow", "tick", "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Equal(t, "published 0 ratings\n", got.stdout, "nothing is under publicity yet")

			// The procedure through the domain, then tick and verify from the
			// command line on the database it leaves behind.
			runProcedure(t, url)
			got = runCLI(t, "", "workflow", "tick", "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Equal(t, "published 39 ratings\n", got.stdout, "all but the one with an open objection")

			// The open objection is found inadmissible: the hold is released.
			decideOpenInadmissible(t, url)
			got = runCLI(t, "", "workflow", "tick", "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Equal(t, "published 1 rating\n", got.stdout, "an inadmissible objection holds nothing")

			got = runCLI(t, "", "audit", "verify", "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Regexp(t, `^audit log intact: \d+ entries\n$`, got.stdout)
		})
	}
}

// decideOpenInadmissible marks every open objection inadmissible, rating
// by rating, in one decision each.
func decideOpenInadmissible(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	db, err := ratings.Open(ctx, url)
	require.NoError(t, err)
	defer db.Close()
	svc, err := ratings.NewService(db, ratings.ServiceParams{})
	require.NoError(t, err)
	var held []int64
	require.NoError(t, db.NewSelect().Model((*ratings.Objection)(nil)).ColumnExpr("DISTINCT rating_id").
		Where("status = ?", ratings.ObjectionOpen).Scan(ctx, &held))
	require.Len(t, held, 1)
	for _, id := range held {
		_, err := svc.DecideObjections(ctx, ratings.System, ratings.DecideObjectionsParams{RatingID: id, All: true,
			Outcome: ratings.ObjectionInadmissible, Decision: "异议未说明具体事实和理由，不予受理"})
		require.NoError(t, err)
	}
}

// seedEmployers registers n employers in two counties with annual reviews;
// every fourth has two complaints.
func seedEmployers(t *testing.T, url string, n int) {
	t.Helper()
	ctx := context.Background()
	db, err := ratings.Open(ctx, url)
	require.NoError(t, err)
	defer db.Close()
	svc, err := ratings.NewService(db, ratings.ServiceParams{})
	require.NoError(t, err)
	for i := range n {
		region := []string{"420102", "420103"}[i%2]
		uscc := validCode(t, region, i)
		_, err := svc.AddEmployer(ctx, ratings.System, ratings.Employer{USCC: uscc, Name: fmt.Sprintf("企业%d", i), Region: region, Employees: 5})
		require.NoError(t, err)
		require.NoError(t, svc.RecordReview(ctx, ratings.System, ratings.ReviewRecord{USCC: uscc, Period: 2026,
			AnnualReview: engine.AnnualReview{Submitted: true, OnTime: true, Employees: 5, ContractsSigned: 5, Insured: 5}}))
		if i%4 == 0 {
			for k := range 2 {
				require.NoError(t, svc.RecordComplaint(ctx, ratings.System, uscc, fmt.Sprintf("TS-%d-%d", i, k), "2026-06-01"))
			}
		}
	}
}

// validCode makes a USCC whose check character and organisation-code check
// character are both right.
func validCode(t *testing.T, region string, n int) string {
	t.Helper()
	return ratingstest.CodeN(region, n)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// runProcedure reviews, confirms and publicizes every 2026 rating (one
// override), files an objection to one (left open) and another (rejected),
// with a clock in the past so that the publicity has ended by now.
func runProcedure(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	db, err := ratings.Open(ctx, url)
	require.NoError(t, err)
	defer db.Close()
	past := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC) // before today, so the publicity has ended
	svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: func() time.Time { return past }})
	require.NoError(t, err)
	rs, err := svc.ListRatings(ctx, ratings.System, ratings.RatingFilter{Period: 2026, Region: ratings.AllRegions})
	require.NoError(t, err)
	require.Len(t, rs, 40)
	for i, r := range rs {
		rv, err := svc.Review(ctx, ratings.System, ratings.Ref{ID: r.ID, LockVersion: r.LockVersion})
		require.NoError(t, err)
		grade, reason := "", ""
		if i == 0 {
			grade, reason = "B", "现场检查发现问题，待整改"
		}
		_, err = svc.Confirm(ctx, ratings.System, ratings.Ref{ID: rv.ID, LockVersion: rv.LockVersion}, grade, reason)
		require.NoError(t, err)
	}
	n, _, err := svc.Publicize(ctx, ratings.System, ratings.PublicizeParams{Period: 2026, Region: ratings.AllRegions})
	require.NoError(t, err)
	require.Equal(t, 40, n)
	_, err = svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: rs[1].ID, FiledBy: "职工 王某", Contact: "13800000001", Address: "192.0.2.10", Reason: "评定有误"})
	require.NoError(t, err)
	o, err := svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: rs[2].ID, FiledBy: "职工 赵某", Contact: "13800000002", Address: "192.0.2.11", Reason: "评定有误"})
	require.NoError(t, err)
	require.NoError(t, svc.DecideObjection(ctx, ratings.System, o.ID, false, "经核实，评定无误"))
}
