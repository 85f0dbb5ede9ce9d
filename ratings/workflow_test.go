package ratings_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// clock is the settable NowFunc of the tests.
type clock = ratingstest.Clock

var (
	county   = ratings.Actor{Name: "江岸区监察大队", Role: ratings.RoleCounty, Region: "420102"}
	city     = ratings.Actor{Name: "武汉市人社局", Role: ratings.RoleCity, Region: "420100"}
	province = ratings.Actor{Name: "湖北省人社厅", Role: ratings.RoleProvince, Region: "420000"}
)

// TestWholePeriod runs one period through the whole procedure on each
// database: records in, rate, review, confirm (one override), publicize
// across a holiday and a make-up working day, objections (one upheld and
// re-rated, one rejected), automatic publication, a correction, the rating
// in force on a date before and after it, nominations, an approval and a
// rejection — and the audit chain verifies at the end.
func TestWholePeriod(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{}
		clk.Set("2026-01-10")
		svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: clk.Now})
		require.NoError(t, err)
		activateNational(t, svc, 2024)
		activateNational(t, svc, 2025)

		// Six employers in 江岸区 (420102).
		codes := make([]string, 6)
		for i := range codes {
			e, err := svc.AddEmployer(ctx, county, ratings.Employer{USCC: code(t, "420102", 100+i), Name: fmt.Sprintf("江岸企业%d", i), Region: "420102", Employees: 20})
			require.NoError(t, err)
			codes[i] = e.USCC
			require.NoError(t, svc.RecordReview(ctx, county, ratings.ReviewRecord{USCC: e.USCC, Period: 2025,
				AnnualReview: engine.AnnualReview{Submitted: true, OnTime: true, Employees: 20, ContractsSigned: 20, Insured: 20, RosterComplete: true}}))
		}
		// codes[1]: a case in 2025 → B. codes[2]: a case with an order refused → C.
		_, err = svc.RecordCase(ctx, county, ratings.CaseRecord{USCC: codes[1], Case: engine.Case{ID: "JA-2025-001", Source: "complaint",
			Opened: "2025-04-01", Concluded: "2025-05-01", Violations: []string{"overtime"}, Outcome: "rectified"}})
		require.NoError(t, err)
		_, err = svc.RecordCase(ctx, county, ratings.CaseRecord{USCC: codes[2], Case: engine.Case{ID: "JA-2025-002", Source: "routine_inspection",
			Opened: "2025-06-01", Concluded: "2025-08-01", Violations: []string{"wage_arrears"}, Outcome: "penalized", OrderRefused: true}})
		require.NoError(t, err)

		// 2024 was published A for codes[0] and codes[3], so 2025 A makes them award-eligible.
		_, err = svc.Rate(ctx, county, ratings.RateParams{Period: 2024})
		require.NoError(t, err)
		publishAll(t, svc, db, clk, 2024, "2025-02-10", "2025-02-20")

		clk.Set("2026-02-02")
		rep, err := svc.Rate(ctx, county, ratings.RateParams{Period: 2025})
		require.NoError(t, err)
		require.Equal(t, 6, rep.Rated)
		cur := currentRatings(t, db, 2025)
		require.Equal(t, "A", cur[codes[0]].Grade)
		require.Equal(t, "B", cur[codes[1]].Grade)
		require.Equal(t, "C", cur[codes[2]].Grade)

		// Review and confirm all; codes[1] is overridden to A with a reason.
		for i, u := range codes {
			r := cur[u]
			rv, err := svc.Review(ctx, county, ratings.Ref{ID: r.ID, LockVersion: r.LockVersion})
			require.NoError(t, err)
			grade, reason := "", ""
			if i == 1 {
				_, err := svc.Confirm(ctx, county, ratings.Ref{ID: rv.ID, LockVersion: rv.LockVersion}, "A", "")
				var ve *ratings.ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, "reason", ve.Field)
				grade, reason = "A", "案件系举报人误报，经复核不属实"
			}
			cv, err := svc.Confirm(ctx, county, ratings.Ref{ID: rv.ID, LockVersion: rv.LockVersion}, grade, reason)
			require.NoError(t, err)
			require.Equal(t, ratings.StatusConfirmed, cv.Status)
			if i == 1 {
				require.Equal(t, "A", cv.Grade)
				require.Equal(t, "B", cv.EngineGrade, "the engine's grade stays beside the override")
				require.Equal(t, reason, *cv.OverrideReason)
			}
		}

		// Publicize on Thu 2026-02-12: 5 working days are Fri 13, Sat 14 (make-up
		// working day), then the Spring Festival (16–20, 23 off), Tue 24, 25, 26.
		clk.Set("2026-02-12")
		n, ends, err := svc.Publicize(ctx, county, ratings.PublicizeParams{Period: 2025})
		require.NoError(t, err)
		require.Equal(t, 6, n)
		require.Equal(t, "2026-02-26", ends)

		cur = currentRatings(t, db, 2025)
		// An objection to codes[2] (C) is upheld; one to codes[3] is rejected.
		clk.Set("2026-02-13")
		o1, err := svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: cur[codes[2]].ID, FiledBy: "某某公司 张经理", Contact: "zhang@example.com", Address: "192.0.2.10", Reason: "拒不整改系误认定", Evidence: "整改回执"})
		require.NoError(t, err)
		o2, err := svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: cur[codes[3]].ID, FiledBy: "职工 李某", Contact: "13800000002", Address: "192.0.2.11", Reason: "该公司拖欠工资"})
		require.NoError(t, err)
		_, err = svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: cur[codes[3]].ID, Contact: "13800000003", Address: "192.0.2.12", Reason: "匿名"})
		requireField(t, err, "filed_by")

		o3, err := svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: cur[codes[2]].ID, FiledBy: "某某公司 李律师", Contact: "li@example.com", Address: "192.0.2.13", Reason: "同上"})
		require.NoError(t, err)
		require.NoError(t, svc.DecideObjection(ctx, county, o1.ID, true, "经核实，已按期整改，重新评定"))
		var o3after ratings.Objection
		require.NoError(t, db.NewSelect().Model(&o3after).Where("id = ?", o3.ID).Scan(ctx))
		require.Equal(t, "upheld", o3after.Status, "upholding one objection answers the others to the same rating")
		require.NoError(t, svc.DecideObjection(ctx, county, o2.ID, false, "经核实，未发现拖欠工资"))
		require.ErrorIs(t, svc.DecideObjection(ctx, county, o2.ID, true, "again"), ratings.ErrConflict)

		// The upheld one is back in review; its record is corrected and it is re-rated.
		back := currentRatings(t, db, 2025)[codes[2]]
		require.Equal(t, ratings.StatusReviewed, back.Status)
		_, err = db.ExecContext(ctx, "UPDATE cases SET order_refused = ? WHERE case_no = ?", false, "JA-2025-002")
		require.NoError(t, err)
		rr, err := svc.Rerate(ctx, county, ratings.Ref{ID: back.ID, LockVersion: back.LockVersion})
		require.NoError(t, err)
		require.Equal(t, "B", rr.Grade)
		require.Equal(t, 2, rr.Version)
		rr, err = svc.Review(ctx, county, ratings.Ref{ID: rr.ID, LockVersion: rr.LockVersion})
		require.NoError(t, err)
		rr, err = svc.Confirm(ctx, county, ratings.Ref{ID: rr.ID, LockVersion: rr.LockVersion}, "", "")
		require.NoError(t, err)
		clk.Set("2026-02-24")
		n, ends2, err := svc.Publicize(ctx, county, ratings.PublicizeParams{Period: 2025, IDs: []int64{rr.ID}})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, "2026-03-02", ends2, "Sat 28 February is a make-up working day")

		// Inside the window nothing is published; the day after it ends, the first batch is.
		clk.Set("2026-02-26")
		published, err := svc.Tick(ctx)
		require.NoError(t, err)
		require.Zero(t, published)
		clk.Set("2026-02-27")
		published, err = svc.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 5, published)
		// Too late to object to those.
		_, err = svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: cur[codes[0]].ID, FiledBy: "x", Contact: "13800000004", Address: "192.0.2.14", Reason: "y"})
		require.ErrorIs(t, err, ratings.ErrNotFound)
		clk.Set("2026-03-04")
		published, err = svc.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, published)
		for _, r := range currentRatings(t, db, 2025) {
			require.Equal(t, ratings.StatusPublished, r.Status)
		}

		// A correction after publication; the rating in force before and after it.
		clk.Set("2026-04-01")
		pub := currentRatings(t, db, 2025)[codes[1]]
		_, err = db.ExecContext(ctx, "UPDATE ratings SET grade = 'C' WHERE id = ?", pub.ID)
		require.Error(t, err, "a published rating cannot be edited in place")
		corr, err := svc.Correct(ctx, county, ratings.Ref{ID: pub.ID, LockVersion: pub.LockVersion}, "B", "复核认定举报属实，恢复原评定")
		require.NoError(t, err)
		require.Equal(t, "B", corr.Grade)
		before, err := ratings.InForce(ctx, db, codes[1], "2026-03-15")
		require.NoError(t, err)
		require.Equal(t, "A", before.Grade)
		after, err := ratings.InForce(ctx, db, codes[1], "2026-04-01")
		require.NoError(t, err)
		require.Equal(t, "B", after.Grade)
		old, err := ratings.InForce(ctx, db, codes[1], "2025-03-01")
		require.NoError(t, err)
		require.Equal(t, 2024, old.Period)
		_, err = ratings.InForce(ctx, db, codes[1], "2025-01-01")
		require.ErrorIs(t, err, ratings.ErrNotFound)
		file, err := svc.IntegrityFile(ctx, ratings.Actor{Name: "企业", Role: ratings.RoleEmployer, USCC: codes[1]}, codes[1])
		require.NoError(t, err)
		require.Len(t, file, 3, "2025 corrected and original, and 2024")
		notes, err := svc.Notifications(ctx, ratings.Actor{Name: "企业", Role: ratings.RoleEmployer, USCC: codes[1]}, codes[1])
		require.NoError(t, err)
		require.Equal(t, "corrected", notes[0].Kind)

		// Awards: codes[0] (A, A the year before) is eligible; codes[1] is B now.
		nom, err := svc.Nominate(ctx, city, codes[0], 2025, "best-integrity-unit")
		require.NoError(t, err)
		_, err = svc.Nominate(ctx, city, codes[1], 2025, "best-integrity-unit")
		requireField(t, err, "uscc")
		_, err = svc.Nominate(ctx, county, codes[3], 2025, "best-integrity-unit")
		require.ErrorIs(t, err, ratings.ErrForbidden, "a county does not nominate")
		nom2, err := svc.Nominate(ctx, city, codes[3], 2025, "best-integrity-unit")
		require.NoError(t, err)
		require.ErrorIs(t, svc.DecideNomination(ctx, city, nom.ID, true, ""), ratings.ErrForbidden)
		require.NoError(t, svc.DecideNomination(ctx, province, nom.ID, true, ""))
		requireField(t, svc.DecideNomination(ctx, province, nom2.ID, false, ""), "reason")
		require.NoError(t, svc.DecideNomination(ctx, province, nom2.ID, false, "行业主管部门反映存在欠薪隐患"))
		roll, err := svc.AwardRoll(ctx, 2025, "420000")
		require.NoError(t, err)
		require.Len(t, roll, 1)
		require.Equal(t, codes[0], roll[0].USCC)

		n64, err := ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
		require.Greater(t, n64, int64(20))
	})
}

// currentRatings maps USCC to the current rating of a period.
func currentRatings(t *testing.T, db *bun.DB, period int) map[string]ratings.Rating {
	t.Helper()
	var rows []struct {
		ratings.Rating `bun:",extend"`
		USCC           string `bun:"uscc"`
	}
	err := db.NewSelect().Model(&rows).ColumnExpr("rating.*, e.uscc").Join("JOIN employers AS e ON e.id = rating.employer_id").
		Where("rating.current = ? AND rating.period = ?", true, period).Scan(context.Background())
	require.NoError(t, err)
	out := map[string]ratings.Rating{}
	for _, r := range rows {
		out[r.USCC] = r.Rating
	}
	return out
}

// publishAll takes every current rating of a period through review,
// confirmation, publicity and publication.
func publishAll(t *testing.T, svc *ratings.Service, db *bun.DB, clk *clock, period int, on, after string) {
	t.Helper()
	ctx := context.Background()
	clk.Set(on)
	for _, r := range currentRatings(t, db, period) {
		rv, err := svc.Review(ctx, admin, ratings.Ref{ID: r.ID, LockVersion: r.LockVersion})
		require.NoError(t, err)
		_, err = svc.Confirm(ctx, admin, ratings.Ref{ID: rv.ID, LockVersion: rv.LockVersion}, "", "")
		require.NoError(t, err)
	}
	_, _, err := svc.Publicize(ctx, admin, ratings.PublicizeParams{Period: period, Region: "420000"})
	require.NoError(t, err)
	clk.Set(after)
	_, err = svc.Tick(ctx)
	require.NoError(t, err)
}

// Publicity is refused for a year the working-day calendar does not know,
// rather than counted wrongly.
func TestPublicizeNeedsTheYearsCalendar(t *testing.T) {
	t.Parallel()
	db := ratingstest.SQLite(t)
	clk := &clock{}
	clk.Set("2040-01-05")
	svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: clk.Now})
	require.NoError(t, err)
	activateNational(t, svc, 2039)
	_, _, err = svc.Publicize(context.Background(), admin, ratings.PublicizeParams{Period: 2039, Region: "420000"})
	requireField(t, err, "calendar")

	extra := filepath.Join(t.TempDir(), "2040.txt")
	require.NoError(t, os.WriteFile(extra, []byte("2040-01-01 off 元旦\n"), 0o600))
	cal, err := ratings.LoadCalendar(extra)
	require.NoError(t, err)
	require.True(t, cal.Covers(2040))
	svc, err = ratings.NewService(db, ratings.ServiceParams{NowFunc: clk.Now, Calendar: cal})
	require.NoError(t, err)
	n, ends, err := svc.Publicize(context.Background(), admin, ratings.PublicizeParams{Period: 2039, Region: "420000"})
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, "2040-01-12", ends)
}
