package ratings_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
	scoringrules "laborcredit/scoring-rules"
)

var admin = ratings.Actor{Name: "admin", Role: ratings.RoleAdmin, Region: "420000"}

// code makes a valid USCC for a region and a serial number.
func code(t testing.TB, region string, n int) string {
	t.Helper()
	return ratingstest.Code(region, fmt.Sprintf("M%07d", n))
}

func newService(t testing.TB, db *bun.DB) *ratings.Service {
	svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: func() time.Time { return time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	return svc
}

func activateNational(t testing.TB, svc *ratings.Service, period int) *ratings.StoredRuleSet {
	t.Helper()
	src, err := scoringrules.FS.ReadFile("national-2016.yaml")
	require.NoError(t, err)
	ctx := context.Background()
	rs, err := svc.UploadRuleSet(ctx, admin, "national-2016.yaml", src)
	require.NoError(t, err)
	require.NoError(t, svc.ActivateRuleSet(ctx, admin, period, rs.Hash))
	return rs
}

func TestRateNationalGrades(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		activateNational(t, svc, 2026)
		want := map[string]string{}
		for i := range 30 {
			region := []string{"420102", "420103", "420881"}[i%3]
			e, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: code(t, region, i), Name: fmt.Sprintf("企业%d", i), Region: region, Employees: 10})
			require.NoError(t, err)
			require.NoError(t, svc.RecordReview(ctx, admin, ratings.ReviewRecord{USCC: e.USCC, Period: 2026,
				AnnualReview: engine.AnnualReview{Submitted: true, OnTime: true, Employees: 10, ContractsSigned: 10, Insured: 10, RosterComplete: true}}))
			grade := "A"
			switch i % 5 {
			case 1: // one case concluded in the period: B
				grade = "B"
				_, err = svc.RecordCase(ctx, admin, ratings.CaseRecord{USCC: e.USCC, Case: engine.Case{ID: fmt.Sprintf("C-%d-1", i),
					Source: "complaint", Opened: "2026-03-01", Concluded: "2026-04-01", Violations: []string{"wage_arrears"}, Outcome: "rectified"}})
				require.NoError(t, err)
			case 2: // child labor: C
				grade = "C"
				_, err = svc.RecordCase(ctx, admin, ratings.CaseRecord{USCC: e.USCC, Case: engine.Case{ID: fmt.Sprintf("C-%d-1", i),
					Source: "routine_inspection", Opened: "2026-05-01", Concluded: "2026-06-01", Violations: []string{"child_labor", "overtime"}, Outcome: "penalized"}})
				require.NoError(t, err)
			case 3: // concluded after the period: open at its end, so A
				_, err = svc.RecordCase(ctx, admin, ratings.CaseRecord{USCC: e.USCC, Case: engine.Case{ID: fmt.Sprintf("C-%d-1", i),
					Source: "complaint", Opened: "2026-12-01", Concluded: "2027-01-20", Violations: []string{"overtime"}, Outcome: "rectified"}})
				require.NoError(t, err)
			}
			want[e.USCC] = grade
		}
		rep, err := svc.Rate(ctx, admin, ratings.RateParams{Period: 2026, Region: "420000", BatchSize: 7})
		require.NoError(t, err)
		require.Equal(t, 30, rep.Employers)
		require.Equal(t, 30, rep.Rated)
		got := map[string]string{}
		rows, err := db.QueryContext(ctx, "SELECT e.uscc, r.grade FROM ratings r JOIN employers e ON e.id = r.employer_id WHERE r.current = ? AND r.period = 2026", true)
		require.NoError(t, err)
		for rows.Next() {
			var u, g string
			require.NoError(t, rows.Scan(&u, &g))
			got[u] = g
		}
		require.NoError(t, rows.Err())
		require.Equal(t, want, got)

		// Again: nothing changes, no new versions.
		rep, err = svc.Rate(ctx, admin, ratings.RateParams{Period: 2026, Region: "420000"})
		require.NoError(t, err)
		require.Equal(t, 0, rep.Rated)
		require.Equal(t, 30, rep.Unchanged)
		n, err := db.NewSelect().Model((*ratings.Rating)(nil)).Count(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 30, n)

		_, err = ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
	})
}
