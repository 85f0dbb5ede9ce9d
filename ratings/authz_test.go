package ratings_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// The authorization matrix: every act of the workflow, by every role, for
// an employer inside and outside the actor's region. The employer is in
// 江岸区 420102 (武汉市 420100, 湖北省 420000); "out" actors sit in 江汉区
// 420103, 黄石市 420200 and 湖南省 430000. Expectations follow DESIGN.md's
// users table and the rules the code documents: officers (county, city,
// province) act only inside their region, an admin everywhere; only a
// city nominates and only the province decides nominations; an employer
// sees its own records and declares only for itself.

// Stages of the fixture an act needs; each includes the ones before it,
// except that published and nominated take the 2025 rating through the
// whole procedure (with a published A for 2024, so it is award-eligible).
const (
	stRegistered = iota // employers and their annual reviews; no 2025 rating
	stRated             // the 2025 rating is rated
	stReviewed
	stConfirmed
	stObjected  // publicized, with an open objection
	stPublished // published A, eligible for best-integrity-unit
	stNominated // and nominated by the city
	stCount
)

// authzFixture is what a stage leaves behind for the act under test.
type authzFixture struct {
	rating     int64 // the current 2025 rating of the employer (0 before stRated)
	objection  int64
	nomination int64
	now        time.Time // the clock when the fixture was done
}

// authzOwn is the employer under test (420102); authzOther another one,
// registered in 420103; authzNew an employer to register.
func authzOwn(t testing.TB) string   { return code(t, "420102", 7001) }
func authzOther(t testing.TB) string { return code(t, "420103", 7002) }
func authzNew(t testing.TB) string   { return code(t, "420102", 7003) }

// buildAuthzFixture takes a fresh database to a stage with the service's
// own acts (as an admin and, for the nomination, the city).
func buildAuthzFixture(t *testing.T, db *bun.DB, stage int) authzFixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{}
	clk.Set("2025-01-10")
	svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: clk.Now})
	require.NoError(t, err)
	activateNational(t, svc, 2024)
	activateNational(t, svc, 2025)
	for _, e := range []struct{ uscc, region string }{{authzOwn(t), "420102"}, {authzOther(t), "420103"}} {
		_, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: e.uscc, Name: "企业" + e.uscc[8:12], Region: e.region, Employees: 20})
		require.NoError(t, err)
		for _, period := range []int{2024, 2025} {
			require.NoError(t, svc.RecordReview(ctx, admin, ratings.ReviewRecord{USCC: e.uscc, Period: period,
				AnnualReview: engine.AnnualReview{Submitted: true, OnTime: true, Employees: 20, ContractsSigned: 20, Insured: 20, RosterComplete: true}}))
		}
	}
	var fx authzFixture
	switch {
	case stage >= stPublished:
		_, err = svc.Rate(ctx, admin, ratings.RateParams{Period: 2024, Region: "420000"})
		require.NoError(t, err)
		publishAll(t, svc, db, clk, 2024, "2025-02-10", "2025-02-20")
		clk.Set("2026-02-02")
		_, err = svc.Rate(ctx, admin, ratings.RateParams{Period: 2025, Region: "420000"})
		require.NoError(t, err)
		publishAll(t, svc, db, clk, 2025, "2026-03-02", "2026-03-20")
		r := currentRatings(t, db, 2025)[authzOwn(t)]
		require.Equal(t, ratings.StatusPublished, r.Status)
		require.Equal(t, "A", r.Grade)
		fx.rating = r.ID
		if stage >= stNominated {
			n, err := svc.Nominate(ctx, city, authzOwn(t), 2025, "best-integrity-unit")
			require.NoError(t, err)
			fx.nomination = n.ID
		}
	case stage >= stRated:
		clk.Set("2026-02-02")
		_, err = svc.Rate(ctx, admin, ratings.RateParams{Period: 2025, Region: "420000"})
		require.NoError(t, err)
		r := currentRatings(t, db, 2025)[authzOwn(t)]
		ref := ratings.Ref{ID: r.ID, LockVersion: r.LockVersion}
		if stage >= stReviewed {
			v, err := svc.Review(ctx, admin, ref)
			require.NoError(t, err)
			ref.LockVersion = v.LockVersion
		}
		if stage >= stConfirmed {
			_, err := svc.Confirm(ctx, admin, ref, "", "")
			require.NoError(t, err)
		}
		if stage >= stObjected {
			clk.Set("2026-03-02")
			n, _, err := svc.Publicize(ctx, admin, ratings.PublicizeParams{Period: 2025, Region: "420102"})
			require.NoError(t, err)
			require.Equal(t, 1, n)
			clk.Set("2026-03-03")
			o, err := svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: r.ID, FiledBy: "职工 王某", Contact: "13800000001", Address: "192.0.2.10", Reason: "该单位拖欠加班费"})
			require.NoError(t, err)
			fx.objection = o.ID
		}
		fx.rating = r.ID
	}
	fx.now = clk.Now()
	return fx
}

// authzState is what an act may change: the fixture rating and the rows of
// every table a refused act must leave alone.
type authzState struct {
	Rating string
	Counts map[string]int
}

func readAuthzState(t *testing.T, db *bun.DB, fx authzFixture) authzState {
	t.Helper()
	ctx := context.Background()
	st := authzState{Counts: map[string]int{}}
	if fx.rating != 0 {
		r, err := ratings.GetRating(ctx, db, fx.rating)
		require.NoError(t, err)
		st.Rating = fmt.Sprintf("%s %s v%d lock %d current %t", r.Status, r.Grade, r.Version, r.LockVersion, r.Current)
	}
	for _, q := range []struct{ name, table, where string }{
		{"audit entries", "audit_log", ""},
		{"ratings", "ratings", ""},
		{"employers", "employers", ""},
		{"cases", "cases", ""},
		{"declarations", "declarations", ""},
		{"notifications", "notifications", ""},
		{"rating runs", "rating_runs", ""},
		{"open objections", "objections", "status = 'open'"},
		{"open nominations", "award_nominations", "status = 'nominated'"},
		{"nominations", "award_nominations", ""},
		{"declared reviews", "annual_reviews", "employees = 33"},
	} {
		sq := db.NewSelect().TableExpr(q.table)
		if q.where != "" {
			sq = sq.Where(q.where)
		}
		n, err := sq.Count(ctx)
		require.NoError(t, err, q.table)
		st.Counts[q.name] = int(n)
	}
	return st
}

// authzActor is one actor of the matrix; the employers' codes depend on t.
type authzActor struct {
	name  string
	actor func(t testing.TB) ratings.Actor
}

func authzActors() []authzActor {
	fixed := func(a ratings.Actor) func(testing.TB) ratings.Actor {
		return func(testing.TB) ratings.Actor { return a }
	}
	return []authzActor{
		{"county-in", fixed(county)},
		{"county-out", fixed(ratings.Actor{Name: "江汉区监察大队", Role: ratings.RoleCounty, Region: "420103"})},
		{"city-in", fixed(city)},
		{"city-out", fixed(ratings.Actor{Name: "黄石市人社局", Role: ratings.RoleCity, Region: "420200"})},
		{"province-in", fixed(province)},
		{"province-out", fixed(ratings.Actor{Name: "湖南省人社厅", Role: ratings.RoleProvince, Region: "430000"})},
		{"admin-in", fixed(admin)},
		{"admin-out", fixed(ratings.Actor{Name: "admin2", Role: ratings.RoleAdmin, Region: "430000"})},
		{"employer-own", func(t testing.TB) ratings.Actor {
			return ratings.Actor{Name: "本单位", Role: ratings.RoleEmployer, Region: "420102", USCC: authzOwn(t)}
		}},
		{"employer-other", func(t testing.TB) ratings.Actor {
			return ratings.Actor{Name: "他单位", Role: ratings.RoleEmployer, Region: "420103", USCC: authzOther(t)}
		}},
	}
}

// Who may, by actor name.
var (
	authzOfficersIn = []string{"county-in", "city-in", "province-in", "admin-in", "admin-out"}
	authzReaders    = append(slices.Clone(authzOfficersIn), "employer-own")
	authzEmployers  = []string{"employer-own", "employer-other"} // each declares for itself
)

// authzAct is one act of the matrix.
type authzAct struct {
	name    string
	stage   int
	allowed []string // actor names that may; every other actor gets ErrForbidden
	audited bool     // a successful act writes an audit entry
	do      func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error
}

// ref is the fixture rating's reference as it stands.
func authzRef(t *testing.T, svc *ratings.Service, fx authzFixture) ratings.Ref {
	t.Helper()
	r, err := ratings.GetRating(context.Background(), svc.DB(), fx.rating)
	require.NoError(t, err)
	return ratings.Ref{ID: r.ID, LockVersion: r.LockVersion}
}

func authzActs() []authzAct {
	ctx := context.Background()
	return []authzAct{
		{name: "Review", stage: stRated, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				_, err := svc.Review(ctx, a, authzRef(t, svc, fx))
				return err
			}},
		{name: "Confirm", stage: stReviewed, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				_, err := svc.Confirm(ctx, a, authzRef(t, svc, fx), "", "")
				return err
			}},
		{name: "ConfirmOverride", stage: stReviewed, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				_, err := svc.Confirm(ctx, a, authzRef(t, svc, fx), "B", "群众举报经核实存在超时加班")
				return err
			}},
		{name: "Publicize", stage: stConfirmed, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				n, _, err := svc.Publicize(ctx, a, ratings.PublicizeParams{Period: 2025, Region: "420102", IDs: []int64{fx.rating}})
				if err == nil && n != 1 {
					return fmt.Errorf("publicized %d ratings, want 1", n)
				}
				return err
			}},
		{name: "DecideObjectionUpheld", stage: stObjected, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				return svc.DecideObjection(ctx, a, fx.objection, true, "经核实，异议成立，退回重新审核")
			}},
		{name: "DecideObjectionRejected", stage: stObjected, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				return svc.DecideObjection(ctx, a, fx.objection, false, "经核实，未发现拖欠加班费")
			}},
		{name: "DecideObjectionInadmissible", stage: stObjected, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				_, err := svc.DecideObjections(ctx, a, ratings.DecideObjectionsParams{IDs: []int64{fx.objection},
					Outcome: ratings.ObjectionInadmissible, Decision: "重复异议，不予受理"})
				return err
			}},
		{name: "DecideObjectionsAll", stage: stObjected, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				_, err := svc.DecideObjections(ctx, a, ratings.DecideObjectionsParams{RatingID: fx.rating, All: true,
					Outcome: ratings.ObjectionRejected, Decision: "经核实，未发现拖欠加班费"})
				return err
			}},
		// With an account only the rated employer objects (others object
		// with a name and a contact, no account).
		{name: "FileObjectionWithAccount", stage: stObjected, allowed: []string{"employer-own"}, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				_, err := svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: fx.rating, Reason: "加班费已足额支付", Address: "192.0.2.20", By: &a})
				return err
			}},
		{name: "Rerate", stage: stRated, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				_, err := svc.Rerate(ctx, a, authzRef(t, svc, fx))
				return err
			}},
		{name: "Correct", stage: stPublished, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				_, err := svc.Correct(ctx, a, authzRef(t, svc, fx), "B", "公布后发现漏录案件")
				return err
			}},
		{name: "Nominate", stage: stPublished, allowed: []string{"city-in"}, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				_, err := svc.Nominate(ctx, a, authzOwn(t), 2025, "best-integrity-unit")
				return err
			}},
		{name: "DecideNomination", stage: stNominated, allowed: []string{"province-in"}, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				return svc.DecideNomination(ctx, a, fx.nomination, true, "")
			}},
		{name: "IntegrityFile", stage: stPublished, allowed: authzReaders,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				file, err := svc.IntegrityFile(ctx, a, authzOwn(t))
				if err == nil && len(file) != 2 {
					return fmt.Errorf("integrity file has %d ratings, want 2", len(file))
				}
				return err
			}},
		{name: "Notifications", stage: stPublished, allowed: authzReaders,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				notes, err := svc.Notifications(ctx, a, authzOwn(t))
				if err == nil && len(notes) == 0 {
					return fmt.Errorf("no notifications")
				}
				return err
			}},
		{name: "Rating", stage: stPublished, allowed: authzReaders,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				r, err := svc.Rating(ctx, a, fx.rating)
				if err == nil && r.USCC != authzOwn(t) {
					return fmt.Errorf("rating of %s", r.USCC)
				}
				return err
			}},
		{name: "DeclareAnnual", stage: stRegistered, allowed: authzEmployers, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				return svc.DeclareAnnual(ctx, a, 2024, engine.AnnualReview{Employees: 33, ContractsSigned: 33, Insured: 33, RosterComplete: true})
			}},
		{name: "ApplyForAward", stage: stRegistered, allowed: authzEmployers, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				return svc.ApplyForAward(ctx, a, 2025, "best-integrity-unit", "连续两年守法诚信A级")
			}},
		{name: "Rate", stage: stRegistered, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				rep, err := svc.Rate(ctx, a, ratings.RateParams{Period: 2025, Region: "420102"})
				if err == nil && rep.Rated != 1 {
					return fmt.Errorf("rated %d, want 1", rep.Rated)
				}
				return err
			}},
		// Registering employers and recording cases are audited too: a
		// recorded case decides a B or a C.
		{name: "AddEmployer", stage: stRegistered, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				_, err := svc.AddEmployer(ctx, a, ratings.Employer{USCC: authzNew(t), Name: "新登记企业", Region: "420102", Employees: 5})
				return err
			}},
		{name: "RecordCase", stage: stRegistered, allowed: authzOfficersIn, audited: true,
			do: func(t *testing.T, svc *ratings.Service, fx authzFixture, a ratings.Actor) error {
				_, err := svc.RecordCase(ctx, a, ratings.CaseRecord{USCC: authzOwn(t), Case: engine.Case{ID: "JA-2025-777", Source: "complaint",
					Opened: "2025-03-01", Concluded: "2025-04-01", Violations: []string{"overtime"}, Outcome: "rectified"}})
				return err
			}},
	}
}

// authzCase is one cell of the matrix.
type authzCase struct {
	name    string
	act     authzAct
	actor   authzActor
	allowed bool
}

func authzMatrix() []authzCase {
	var tests []authzCase
	for _, act := range authzActs() {
		for _, ac := range authzActors() {
			tests = append(tests, authzCase{name: act.name + "/" + ac.name, act: act, actor: ac, allowed: slices.Contains(act.allowed, ac.name)})
		}
	}
	return tests
}

// runAuthzCase does the act as the actor on a database at the act's stage
// and checks the outcome: allowed and done, or ErrForbidden with nothing
// written.
func runAuthzCase(t *testing.T, db *bun.DB, fx authzFixture, tt authzCase) {
	t.Helper()
	svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: func() time.Time { return fx.now }})
	require.NoError(t, err)
	before := readAuthzState(t, db, fx)
	err = tt.act.do(t, svc, fx, tt.actor.actor(t))
	after := readAuthzState(t, db, fx)
	if !tt.allowed {
		require.ErrorIs(t, err, ratings.ErrForbidden)
		require.Equal(t, before, after, "a refused act writes nothing")
		return
	}
	require.NoError(t, err)
	if tt.act.audited {
		require.Greater(t, after.Counts["audit entries"], before.Counts["audit entries"], "the act is audited")
	} else {
		require.Equal(t, before.Counts["audit entries"], after.Counts["audit entries"])
	}
	_, err = ratings.VerifyAudit(context.Background(), db)
	require.NoError(t, err)
}

// authzTemplate is a stage's fixture, built once into an SQLite file that
// every cell of that stage copies.
type authzTemplate struct {
	once sync.Once
	path string
	fx   authzFixture
	ok   bool
}

// open returns a copy of the template's database, building the template
// on first use.
func (tp *authzTemplate) open(t *testing.T, stage int) (*bun.DB, authzFixture) {
	t.Helper()
	ctx := context.Background()
	tp.once.Do(func() {
		db, err := ratings.Open(ctx, "sqlite://"+tp.path)
		require.NoError(t, err)
		defer db.Close()
		_, err = ratings.MigrateUp(ctx, db)
		require.NoError(t, err)
		tp.fx = buildAuthzFixture(t, db, stage)
		_, err = db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		require.NoError(t, err)
		tp.ok = true
	})
	require.True(t, tp.ok, "the fixture of stage %d failed to build", stage)
	src, err := os.ReadFile(tp.path)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "test.db")
	require.NoError(t, os.WriteFile(path, src, 0o600))
	db, err := ratings.Open(ctx, "sqlite://"+path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db, tp.fx
}

// TestAuthzMatrix runs the whole matrix on SQLite. Each stage's fixture is
// built once; every cell gets a copy of its file, so each act runs on a
// database of its own.
func TestAuthzMatrix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	templates := make([]*authzTemplate, stCount)
	for stage := range templates {
		templates[stage] = &authzTemplate{path: filepath.Join(dir, fmt.Sprintf("stage%d.db", stage))}
	}
	for _, tt := range authzMatrix() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, fx := templates[tt.act.stage].open(t, tt.act.stage)
			runAuthzCase(t, db, fx, tt)
		})
	}
}

// TestAuthzMatrixSample runs a sample of the matrix on each database, the
// fixture built in place (PostgreSQL makes a fixture in seconds, not
// milliseconds, so the whole matrix runs on SQLite only).
func TestAuthzMatrixSample(t *testing.T) {
	t.Parallel()
	sample := map[string]bool{
		"Review/county-out":                       true,
		"ConfirmOverride/city-in":                 true,
		"Publicize/employer-own":                  true,
		"DecideObjectionUpheld/province-in":       true,
		"DecideObjectionRejected/county-out":      true,
		"DecideObjectionsAll/city-out":            true,
		"FileObjectionWithAccount/employer-other": true,
		"Correct/admin-out":                       true,
		"Nominate/city-in":                        true,
		"DecideNomination/province-in":            true,
		"Notifications/employer-other":            true,
		"DeclareAnnual/employer-own":              true,
		"Rate/city-out":                           true,
	}
	n := 0
	for _, tt := range authzMatrix() {
		if !sample[tt.name] {
			continue
		}
		n++
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
				runAuthzCase(t, db, buildAuthzFixture(t, db, tt.act.stage), tt)
			})
		})
	}
	require.Equal(t, len(sample), n, "every sampled cell is in the matrix")
}

// TestAuthzMatrixShape guards the matrix itself: every act has a cell for
// every actor, and the expectations name real actors.
func TestAuthzMatrixShape(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, ac := range authzActors() {
		names[ac.name] = true
	}
	acts := authzActs()
	for _, act := range acts {
		for _, n := range act.allowed {
			require.True(t, names[n], "%s allows unknown actor %s", act.name, n)
		}
	}
	require.Len(t, acts, 21)
	require.Len(t, authzMatrix(), len(acts)*len(names))
}
