package ratings_test

import (
	"bytes"
	"context"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
	scoringrules "laborcredit/scoring-rules"
)

// setStatus moves the current rating of an employer in a period to a
// workflow status directly in the database, as the workflow would have.
func setStatus(t *testing.T, db bun.IDB, uscc string, period int, status string) {
	t.Helper()
	res, err := db.NewUpdate().Model((*ratings.Rating)(nil)).Set("status = ?", status).
		Where("current = ? AND period = ? AND employer_id = (SELECT id FROM employers WHERE uscc = ?)", true, period, uscc).
		Exec(context.Background())
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "employer %s has no current rating for %d", uscc, period)
}

// makeC records child labor found in 2026 against an employer, which makes
// its 2026 grade C.
func makeC(t *testing.T, svc *ratings.Service, uscc string) {
	t.Helper()
	_, err := svc.RecordCase(context.Background(), admin, ratings.CaseRecord{USCC: uscc, Case: engine.Case{ID: "CL-" + uscc,
		Source: "special_inspection", Opened: "2026-09-01", Concluded: "2026-10-01", Outcome: "penalized", Violations: []string{"child_labor"}}})
	require.NoError(t, err)
}

// rate2026 rates the whole province for 2026 as the admin.
func rate2026(t *testing.T, svc *ratings.Service, p ratings.RateParams) ratings.RateReport {
	t.Helper()
	p.Period, p.Region = 2026, "420000"
	rep, err := svc.Rate(context.Background(), admin, p)
	require.NoError(t, err)
	return rep
}

// A record that changes a grade gives that employer a new current version
// on the next run; every other employer is left as it was.
func TestRateRerunAfterRecordChange(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		fx := loadFixture(t, svc, 30)
		rep := rate2026(t, svc, ratings.RateParams{BatchSize: 7})
		require.Equal(t, 30, rep.Rated)
		before := ratingsOf(t, db, 2026)

		changed := fx.withGrade("A")[2]
		_, err := svc.RecordCase(ctx, admin, ratings.CaseRecord{USCC: changed, Case: engine.Case{ID: "WA-" + changed,
			Source: "complaint", Opened: "2026-06-01", Concluded: "2026-06-20", Outcome: "rectified", Violations: []string{"wage_arrears"},
			BackWages: 8000, WorkersAffected: 3}})
		require.NoError(t, err)

		rep = rate2026(t, svc, ratings.RateParams{BatchSize: 7})
		require.False(t, rep.Resumed)
		require.Equal(t, 30, rep.Employers)
		require.Equal(t, 1, rep.Rated)
		require.Equal(t, 29, rep.Unchanged)
		require.Zero(t, rep.Held)

		after := ratingsOf(t, db, 2026)
		require.Len(t, after[changed], 2)
		v1, v2 := after[changed][0], after[changed][1]
		require.Equal(t, 1, v1.Version)
		require.False(t, v1.Current)
		require.Equal(t, "A", v1.Grade)
		require.Equal(t, before[changed][0].Facts, v1.Facts, "version 1 keeps its decision record")
		require.Equal(t, 2, v2.Version)
		require.True(t, v2.Current)
		require.Equal(t, ratings.StatusRated, v2.Status)
		require.Equal(t, "B", v2.Grade)
		require.Equal(t, "B", v2.EngineGrade)
		delete(before, changed)
		delete(after, changed)
		require.Equal(t, before, after, "the other employers keep their one rating")

		var runs []ratings.RatingRun
		require.NoError(t, db.NewSelect().Model(&runs).Order("id").Scan(ctx))
		require.Len(t, runs, 2)
		require.NotNil(t, runs[1].FinishedAt)
		require.Equal(t, 1, runs[1].Rated)
		require.Equal(t, 29, runs[1].Unchanged)
	})
}

// A re-rating of a rating an officer has reviewed or confirmed is reported
// (Held), not applied, unless ReplaceReviewed asks for it; a publicized or
// published rating is never replaced by the cycle.
func TestRateHoldsReviewedRatings(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc := newService(t, db)
		fx := loadFixture(t, svc, 30)
		rate2026(t, svc, ratings.RateParams{})

		a := fx.withGrade("A")
		status := map[string]string{
			a[0]: ratings.StatusReviewed,
			a[1]: ratings.StatusConfirmed,
			a[2]: ratings.StatusPublicized,
			a[3]: ratings.StatusPublished,
		}
		for uscc, st := range status {
			setStatus(t, db, uscc, 2026, st)
			makeC(t, svc, uscc)
		}

		type held struct{ uscc, from, to string }
		var got []held
		onHeld := func(uscc, from, to string) { got = append(got, held{uscc, from, to}) }
		sorted := func() []held {
			sort.Slice(got, func(i, j int) bool { return got[i].uscc < got[j].uscc })
			return got
		}
		want := func(codes ...string) []held {
			sort.Strings(codes)
			var out []held
			for _, c := range codes {
				out = append(out, held{c, "A", "C"})
			}
			return out
		}

		rep := rate2026(t, svc, ratings.RateParams{Held: onHeld, BatchSize: 8})
		require.Equal(t, 4, rep.Held)
		require.Zero(t, rep.Rated)
		require.Equal(t, 26, rep.Unchanged)
		require.Equal(t, want(a[0], a[1], a[2], a[3]), sorted())
		all := ratingsOf(t, db, 2026)
		for uscc, st := range status {
			require.Len(t, all[uscc], 1, "employer %s", uscc)
			require.Equal(t, st, all[uscc][0].Status)
			require.Equal(t, "A", all[uscc][0].Grade)
		}

		got = nil
		rep = rate2026(t, svc, ratings.RateParams{Held: onHeld, ReplaceReviewed: true})
		require.Equal(t, 2, rep.Rated)
		require.Equal(t, 2, rep.Held)
		require.Equal(t, 26, rep.Unchanged)
		require.Equal(t, want(a[2], a[3]), sorted())
		all = ratingsOf(t, db, 2026)
		for _, uscc := range []string{a[0], a[1]} {
			require.Len(t, all[uscc], 2, "employer %s", uscc)
			require.False(t, all[uscc][0].Current)
			require.Equal(t, status[uscc], all[uscc][0].Status, "the replaced version keeps its status")
			require.Equal(t, 2, all[uscc][1].Version)
			require.True(t, all[uscc][1].Current)
			require.Equal(t, ratings.StatusRated, all[uscc][1].Status)
			require.Equal(t, "C", all[uscc][1].Grade)
		}
		for _, uscc := range []string{a[2], a[3]} {
			require.Len(t, all[uscc], 1, "employer %s", uscc)
			require.True(t, all[uscc][0].Current)
			require.Equal(t, status[uscc], all[uscc][0].Status)
			require.Equal(t, "A", all[uscc][0].Grade)
		}

		// Asked again, the publicized and published ones are still held.
		got = nil
		rep = rate2026(t, svc, ratings.RateParams{Held: onHeld, ReplaceReviewed: true})
		require.Zero(t, rep.Rated)
		require.Equal(t, 2, rep.Held)
		require.Equal(t, 28, rep.Unchanged)
		require.Equal(t, want(a[2], a[3]), sorted())
	})
}

// The cycle rates the employers of the region asked for, and only an
// officer whose region contains it may ask.
func TestRateRegionScope(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		fx := loadFixture(t, svc, 30)
		county := func(region string) ratings.Actor {
			return ratings.Actor{Name: "county-" + region, Role: ratings.RoleCounty, Region: region}
		}
		wuhan := ratings.Actor{Name: "wuhan", Role: ratings.RoleCity, Region: "420100"}
		rated := func() []string {
			var out []string
			for uscc := range ratingsOf(t, db, 2026) {
				out = append(out, uscc)
			}
			sort.Strings(out)
			return out
		}
		codes := func(regions ...string) []string {
			var out []string
			for _, r := range regions {
				out = append(out, fx.inRegion(r)...)
			}
			sort.Strings(out)
			return out
		}

		_, err := svc.Rate(ctx, county("420103"), ratings.RateParams{Period: 2026, Region: "420102"})
		require.ErrorIs(t, err, ratings.ErrForbidden)
		_, err = svc.Rate(ctx, county("420102"), ratings.RateParams{Period: 2026, Region: "420100"})
		require.ErrorIs(t, err, ratings.ErrForbidden)
		_, err = svc.Rate(ctx, wuhan, ratings.RateParams{Period: 2026, Region: "420881"})
		require.ErrorIs(t, err, ratings.ErrForbidden)
		n, err := db.NewSelect().Model((*ratings.RatingRun)(nil)).Count(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "a refused run leaves no trace")

		rep, err := svc.Rate(ctx, wuhan, ratings.RateParams{Period: 2026, Region: "420102"})
		require.NoError(t, err)
		require.Equal(t, 10, rep.Employers)
		require.Equal(t, 10, rep.Rated)
		require.Equal(t, codes("420102"), rated())

		// An officer's own region is the default.
		rep, err = svc.Rate(ctx, county("420102"), ratings.RateParams{Period: 2026})
		require.NoError(t, err)
		require.Equal(t, 10, rep.Employers)
		require.Equal(t, 10, rep.Unchanged)

		rep, err = svc.Rate(ctx, wuhan, ratings.RateParams{Period: 2026})
		require.NoError(t, err)
		require.Equal(t, 20, rep.Employers)
		require.Equal(t, 10, rep.Rated)
		require.Equal(t, 10, rep.Unchanged)
		require.Equal(t, codes("420102", "420103"), rated())

		province := ratings.Actor{Name: "hubei", Role: ratings.RoleProvince, Region: "420000"}
		rep, err = svc.Rate(ctx, province, ratings.RateParams{Period: 2026})
		require.NoError(t, err)
		require.Equal(t, 30, rep.Employers)
		require.Equal(t, 10, rep.Rated)
		require.Equal(t, codes(counties...), rated())

		var ve *ratings.ValidationError
		_, err = svc.Rate(ctx, admin, ratings.RateParams{Period: 2026, Region: "429999"})
		require.ErrorAs(t, err, &ve)
		require.Equal(t, "region", ve.Field)
	})
}

// The cycle needs an active rule set for the period, and an officer.
func TestRateNeedsRuleSetAndOfficer(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		fx := loadFixture(t, svc, 3)

		var ve *ratings.ValidationError
		_, err := svc.Rate(ctx, admin, ratings.RateParams{Period: 2027, Region: "420000"})
		require.ErrorAs(t, err, &ve)
		require.Equal(t, "period", ve.Field)

		employer := ratings.Actor{Name: "boss", Role: ratings.RoleEmployer, Region: fx.region[fx.codes[0]], USCC: fx.codes[0]}
		_, err = svc.Rate(ctx, employer, ratings.RateParams{Period: 2026})
		require.ErrorIs(t, err, ratings.ErrForbidden)
		_, err = svc.Rate(ctx, employer, ratings.RateParams{Period: 2026, Region: employer.Region})
		require.ErrorIs(t, err, ratings.ErrForbidden)

		n, err := db.NewSelect().Model((*ratings.Rating)(nil)).Count(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = db.NewSelect().Model((*ratings.RatingRun)(nil)).Count(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

// The facts of a period carry the employer's earlier published grades, and
// an award that needs two A years running follows them.
func TestRateHistoryFromPublishedRatings(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		fx := loadFixture(t, svc, 20)
		activateNational(t, svc, 2025)
		for _, uscc := range fx.codes {
			require.NoError(t, svc.RecordReview(ctx, admin, ratings.ReviewRecord{USCC: uscc, Period: 2025, AnnualReview: fullReview}))
		}
		rep, err := svc.Rate(ctx, admin, ratings.RateParams{Period: 2025, Region: "420000"})
		require.NoError(t, err)
		require.Equal(t, 20, rep.Rated)
		// Employer 19's case was concluded in 2025: B that year.
		grade2025 := ratingsOf(t, db, 2025)
		require.Equal(t, "B", grade2025[fx.codes[19]][0].Grade)

		// Publish 2025 for the even serials and 19; the odd ones stay rated.
		published := map[string]bool{fx.codes[19]: true}
		for i := 0; i < 20; i += 2 {
			published[fx.codes[i]] = true
		}
		for uscc := range published {
			setStatus(t, db, uscc, 2025, ratings.StatusPublished)
		}

		rate2026(t, svc, ratings.RateParams{})
		all := ratingsOf(t, db, 2026)
		for i, uscc := range fx.codes {
			r := all[uscc][0]
			facts := r.Facts.(map[string]any)
			result := r.Result.(map[string]any)
			var wantHistory any
			if published[uscc] {
				wantHistory = []any{map[string]any{"period": float64(2025), "grade": grade2025[uscc][0].Grade}}
			}
			if h, ok := facts["history"].([]any); ok && len(h) == 0 {
				facts["history"] = nil
			}
			require.Equal(t, wantHistory, facts["history"], "employer %d", i)

			var wantAwards []any
			if published[uscc] && grade2025[uscc][0].Grade == "A" && r.Grade == "A" {
				wantAwards = []any{map[string]any{"id": "best-integrity-unit", "title": "最佳诚信单位"}}
			}
			awards, _ := result["awards"].([]any)
			if len(awards) == 0 {
				awards = nil
			}
			require.Equal(t, wantAwards, awards, "employer %d (2025 %s, 2026 %s, published %v)", i, grade2025[uscc][0].Grade, r.Grade, published[uscc])
		}
		// Serial 0 is A both years and published: the award.
		require.Equal(t, "A", all[fx.codes[0]][0].Grade)
		require.NotEmpty(t, all[fx.codes[0]][0].Result.(map[string]any)["awards"])
		// Serial 1 is A both years but 2025 is not published: none.
		require.Equal(t, "A", all[fx.codes[1]][0].Grade)
		require.Empty(t, all[fx.codes[1]][0].Result.(map[string]any)["awards"])
	})
}

// Runs of the same period and region started at once leave exactly one
// current rating per employer and no duplicate versions; those that lose
// say ErrConflict.
func TestRateConcurrentRuns(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		const racers = 4
		ctx := context.Background()
		svc := newService(t, db)
		fx := loadFixture(t, svc, 100)

		var wg sync.WaitGroup
		reps := make([]ratings.RateReport, racers)
		errs := make([]error, racers)
		start := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				<-start
				reps[i], errs[i] = svc.Rate(ctx, admin, ratings.RateParams{Period: 2026, Region: "420000", BatchSize: 10})
			})
		}
		close(start)
		wg.Wait()
		rated, finished := 0, 0
		for i, err := range errs {
			t.Logf("run %d: %+v, err %v", i, reps[i], err)
			if err != nil {
				require.ErrorIs(t, err, ratings.ErrConflict, "run %d", i)
				continue
			}
			finished++
			rated += reps[i].Rated
		}
		require.Positive(t, finished, "every run failed")
		for i := range reps {
			if errs[i] != nil {
				rated += reps[i].Rated
			}
		}
		require.Equal(t, 100, rated, "together they rated everyone once")

		requireOneRatingEach(t, db, fx)

		// A run after them finishes whatever is left and changes nothing.
		rep := rate2026(t, svc, ratings.RateParams{})
		require.Zero(t, rep.Rated)
		require.Zero(t, rep.Held)
		requireOneRatingEach(t, db, fx)
		var runs []ratings.RatingRun
		require.NoError(t, db.NewSelect().Model(&runs).Order("id").Scan(ctx))
		for _, r := range runs {
			t.Logf("run %d: cursor %d rated %d unchanged %d finished %v", r.ID, r.Cursor, r.Rated, r.Unchanged, r.FinishedAt != nil)
		}
		_, err := ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
	})
}

// requireOneRatingEach checks every employer of fx has exactly one 2026
// rating, version 1 and current, with its expected grade.
func requireOneRatingEach(t *testing.T, db bun.IDB, fx fixture) {
	t.Helper()
	all := ratingsOf(t, db, 2026)
	require.Len(t, all, len(fx.codes))
	for _, c := range fx.codes {
		require.Len(t, all[c], 1, "employer %s", c)
		require.Equal(t, 1, all[c][0].Version)
		require.True(t, all[c][0].Current)
		require.Equal(t, fx.grade[c], all[c][0].Grade)
	}
}

// A run left unfinished under one rule set is not resumed after the period
// has been rated in full with another: switching back to the first rule
// set rates every employer with it again.
func TestRateStaleRunAfterRuleSetSwitch(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		first := activateNational(t, svc, 2026)
		fx := loadFixture(t, svc, 60)
		src, err := scoringrules.FS.ReadFile("national-2016.yaml")
		require.NoError(t, err)
		src = bytes.Replace(src, []byte("\nversion: 1\n"), []byte("\nversion: 2\n"), 1)
		second, err := svc.UploadRuleSet(ctx, admin, "national-2016-v2.yaml", src)
		require.NoError(t, err)
		require.NotEqual(t, first.Hash, second.Hash)

		// A run with the first rule set stops after its first batch.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, err = svc.Rate(cctx, admin, ratings.RateParams{Period: 2026, Region: "420000", BatchSize: 20,
			Progress: func(done, total int) {
				if done > 0 {
					cancel()
				}
			}})
		require.ErrorIs(t, err, context.Canceled)

		// The second rule set rates the whole period.
		require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2026, second.Hash))
		rep := rate2026(t, svc, ratings.RateParams{BatchSize: 20})
		require.False(t, rep.Resumed)
		require.Equal(t, 60, rep.Rated)

		// Back to the first: every current rating must be made with it.
		require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2026, first.Hash))
		rep = rate2026(t, svc, ratings.RateParams{BatchSize: 20})
		t.Logf("after switching back: %+v", rep)
		for _, c := range fx.codes {
			rs := ratingsOf(t, db, 2026)[c]
			cur := rs[len(rs)-1]
			require.True(t, cur.Current)
			require.Equal(t, first.Hash, cur.RuleSetHash, "employer %s: current rating made with the rule set no longer active", c)
		}
	})
}
