package ratings_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// TestBulkSteps checks ReviewAll and ConfirmAll: they move only the
// actor's region, only ratings in the status they start from, keep the
// engine's grade, audit each batch, and refuse actors who may not act.
func TestBulkSteps(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{}
		clk.Set("2026-02-02")
		svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: clk.Now})
		require.NoError(t, err)
		activateNational(t, svc, 2025)
		// Three employers in 江岸区 (420102), two in 江汉区 (420103); one of
		// 江岸区 has a case, so its engine grade is B.
		var jiangan, jianghan []string
		for i := range 5 {
			region := "420102"
			if i >= 3 {
				region = "420103"
			}
			e, err := svc.AddEmployer(ctx, city, ratings.Employer{USCC: code(t, region, 300+i), Name: fmt.Sprintf("批量企业%d", i), Region: region, Employees: 10})
			require.NoError(t, err)
			if region == "420102" {
				jiangan = append(jiangan, e.USCC)
			} else {
				jianghan = append(jianghan, e.USCC)
			}
		}
		_, err = svc.RecordCase(ctx, city, ratings.CaseRecord{USCC: jiangan[0], Case: engine.Case{ID: "PL-2025-001", Source: "complaint",
			Opened: "2025-04-01", Concluded: "2025-05-01", Violations: []string{"overtime"}, Outcome: "rectified"}})
		require.NoError(t, err)
		_, err = svc.Rate(ctx, city, ratings.RateParams{Period: 2025})
		require.NoError(t, err)

		employer := ratings.Actor{Name: "某公司", Role: ratings.RoleEmployer, Region: "420102", USCC: jiangan[1]}
		otherCounty := ratings.Actor{Name: "江汉区监察大队", Role: ratings.RoleCounty, Region: "420103"}
		tests := []struct {
			name  string
			act   func() (int, error)
			n     int
			field string
			err   error
		}{
			{"an employer may not", func() (int, error) { return svc.ReviewAll(ctx, employer, ratings.BulkParams{Period: 2025}) }, 0, "", ratings.ErrForbidden},
			{"a county officer not outside its county", func() (int, error) {
				return svc.ReviewAll(ctx, county, ratings.BulkParams{Period: 2025, Region: "420103"})
			}, 0, "", ratings.ErrForbidden},
			{"no such period", func() (int, error) { return svc.ReviewAll(ctx, county, ratings.BulkParams{Period: 2019}) }, 0, "period", nil},
			{"confirm before review moves nothing", func() (int, error) { return svc.ConfirmAll(ctx, county, ratings.BulkParams{Period: 2025}) }, 0, "", nil},
			{"review own county", func() (int, error) { return svc.ReviewAll(ctx, county, ratings.BulkParams{Period: 2025}) }, 3, "", nil},
			{"again: nothing left to review", func() (int, error) { return svc.ReviewAll(ctx, county, ratings.BulkParams{Period: 2025}) }, 0, "", nil},
			{"confirm own county", func() (int, error) { return svc.ConfirmAll(ctx, county, ratings.BulkParams{Period: 2025}) }, 3, "", nil},
			{"the other county reviews only the chosen id", func() (int, error) {
				id := currentRatings(t, db, 2025)[jianghan[0]].ID
				return svc.ReviewAll(ctx, otherCounty, ratings.BulkParams{Period: 2025, IDs: []int64{id}})
			}, 1, "", nil},
		}
		// The steps build on each other, so they run in order.
		for _, tt := range tests {
			n, err := tt.act()
			switch {
			case tt.err != nil:
				require.ErrorIs(t, err, tt.err, tt.name)
			case tt.field != "":
				requireField(t, err, tt.field)
			default:
				require.NoError(t, err, tt.name)
			}
			require.Equal(t, tt.n, n, tt.name)
		}

		cur := currentRatings(t, db, 2025)
		for _, u := range jiangan {
			require.Equal(t, ratings.StatusConfirmed, cur[u].Status, u)
			require.Equal(t, cur[u].EngineGrade, cur[u].Grade, u)
			require.Nil(t, cur[u].OverrideReason, u)
		}
		require.Equal(t, "B", cur[jiangan[0]].Grade)
		require.Equal(t, ratings.StatusReviewed, cur[jianghan[0]].Status)
		require.Equal(t, ratings.StatusRated, cur[jianghan[1]].Status)

		// One audit entry per batch, naming the ratings it moved.
		var entries []ratings.AuditEntry
		require.NoError(t, db.NewSelect().Model(&entries).Where("action IN (?)", bun.List([]string{"rating.review", "rating.confirm"})).
			Order("seq").Scan(ctx))
		require.Len(t, entries, 3)
		require.Equal(t, "rating.review", entries[0].Action)
		require.Equal(t, "period:2025 region:420102", entries[0].Subject)
		require.Contains(t, *entries[1].After, `"status":"confirmed"`)
		_, err = ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
	})
}
