package ratings_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// TestSetPublicityDays checks who may set a period's publicity length,
// its bounds, that publicity then lasts that long, and that it is fixed
// once a rating of the period has been publicized.
func TestSetPublicityDays(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{}
		clk.Set("2026-03-02")
		svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: clk.Now})
		require.NoError(t, err)
		activateNational(t, svc, 2025)
		admin := ratings.Actor{Name: "管理员", Role: ratings.RoleAdmin, Region: "420000"}
		tests := []struct {
			name   string
			actor  ratings.Actor
			period int
			days   int
			field  string
			err    error
		}{
			{"a county officer may not", county, 2025, 7, "", ratings.ErrForbidden},
			{"a city officer may not", city, 2025, 7, "", ratings.ErrForbidden},
			{"zero days", province, 2025, 0, "publicity_days", nil},
			{"over thirty", admin, 2025, 31, "publicity_days", nil},
			{"no such period", province, 2019, 7, "period", nil},
			{"the province sets seven", province, 2025, 7, "", nil},
			{"the admin sets it again", admin, 2025, 7, "", nil},
		}
		for _, tt := range tests {
			err := svc.SetPublicityDays(ctx, tt.actor, tt.period, tt.days)
			switch {
			case tt.err != nil:
				require.ErrorIs(t, err, tt.err, tt.name)
			case tt.field != "":
				requireField(t, err, tt.field)
			default:
				require.NoError(t, err, tt.name)
			}
		}

		e, err := svc.AddEmployer(ctx, county, ratings.Employer{USCC: code(t, "420102", 600), Name: "公示天数企业", Region: "420102", Employees: 3})
		require.NoError(t, err)
		_, err = svc.Rate(ctx, county, ratings.RateParams{Period: 2025})
		require.NoError(t, err)
		_, err = svc.ReviewAll(ctx, county, ratings.BulkParams{Period: 2025})
		require.NoError(t, err)
		_, err = svc.ConfirmAll(ctx, county, ratings.BulkParams{Period: 2025})
		require.NoError(t, err)
		// Mon 2 March 2026 + 7 working days: 3–6, 9–11 March.
		_, ends, err := svc.Publicize(ctx, county, ratings.PublicizeParams{Period: 2025})
		require.NoError(t, err)
		require.Equal(t, "2026-03-11", ends, e.USCC)

		require.ErrorIs(t, svc.SetPublicityDays(ctx, province, 2025, 5), ratings.ErrConflict)
		var p ratings.Period
		require.NoError(t, db.NewSelect().Model(&p).Where("year = ?", 2025).Scan(ctx))
		require.Equal(t, 7, p.PublicityDays)
		require.Equal(t, 1, countRows(t, db, "audit_log", "action = ?", "period.publicity_days"))
	})
}
