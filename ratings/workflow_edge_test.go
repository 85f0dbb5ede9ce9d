package ratings_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// edgeBundle is a database with n employers in 江岸区 (420102), rule sets
// active for 2024 and 2025, on-time annual reviews for both years, and the
// clock on 2026-02-02 (the rating season of 2025).
type edgeBundle struct {
	db    *bun.DB
	svc   *ratings.Service
	clk   *clock
	codes []string
}

func edgeSetup(t *testing.T, db *bun.DB, n int) *edgeBundle {
	t.Helper()
	ctx := context.Background()
	b := &edgeBundle{db: db, clk: &clock{}}
	b.clk.Set("2026-02-02")
	var err error
	b.svc, err = ratings.NewService(db, ratings.ServiceParams{NowFunc: b.clk.Now})
	require.NoError(t, err)
	activateNational(t, b.svc, 2024)
	activateNational(t, b.svc, 2025)
	for i := range n {
		e, err := b.svc.AddEmployer(ctx, county, ratings.Employer{USCC: code(t, "420102", 8000+i), Name: fmt.Sprintf("江岸边界企业%d", i), Region: "420102", Employees: 20})
		require.NoError(t, err)
		b.codes = append(b.codes, e.USCC)
		for _, period := range []int{2024, 2025} {
			require.NoError(t, b.svc.RecordReview(ctx, county, ratings.ReviewRecord{USCC: e.USCC, Period: period,
				AnnualReview: engine.AnnualReview{Submitted: true, OnTime: true, Employees: 20, ContractsSigned: 20, Insured: 20, RosterComplete: true}}))
		}
	}
	return b
}

// rate rates 2025 in 江岸区.
func (b *edgeBundle) rate(t *testing.T) {
	t.Helper()
	_, err := b.svc.Rate(context.Background(), county, ratings.RateParams{Period: 2025})
	require.NoError(t, err)
}

// caseFor records a rectified overtime case concluded in 2025 (a B).
func (b *edgeBundle) caseFor(t *testing.T, uscc, caseNo string) {
	t.Helper()
	_, err := b.svc.RecordCase(context.Background(), county, ratings.CaseRecord{USCC: uscc, Case: engine.Case{ID: caseNo, Source: "complaint",
		Opened: "2025-04-01", Concluded: "2025-05-01", Violations: []string{"overtime"}, Outcome: "rectified"}})
	require.NoError(t, err)
}

// current is the employer's current 2025 rating.
func (b *edgeBundle) current(t *testing.T, uscc string) ratings.Rating {
	t.Helper()
	r, ok := currentRatings(t, b.db, 2025)[uscc]
	require.True(t, ok, "no 2025 rating of %s", uscc)
	return r
}

// get reads a rating by id.
func (b *edgeBundle) get(t *testing.T, id int64) *ratings.RatingView {
	t.Helper()
	r, err := ratings.GetRating(context.Background(), b.db, id)
	require.NoError(t, err)
	return r
}

// advance takes the employer's current 2025 rating from rated to status
// (at most confirmed; publicized counts working days from today).
func (b *edgeBundle) advance(t *testing.T, uscc, status string) ratings.Ref {
	t.Helper()
	ctx := context.Background()
	r := b.current(t, uscc)
	require.Equal(t, ratings.StatusRated, r.Status)
	ref := ratings.Ref{ID: r.ID, LockVersion: r.LockVersion}
	steps := []string{ratings.StatusReviewed, ratings.StatusConfirmed, ratings.StatusPublicized}
	for _, step := range steps[:slices.Index(steps, status)+1] {
		switch step {
		case ratings.StatusReviewed:
			v, err := b.svc.Review(ctx, county, ref)
			require.NoError(t, err)
			ref.LockVersion = v.LockVersion
		case ratings.StatusConfirmed:
			v, err := b.svc.Confirm(ctx, county, ref, "", "")
			require.NoError(t, err)
			ref.LockVersion = v.LockVersion
		case ratings.StatusPublicized:
			n, _, err := b.svc.Publicize(ctx, county, ratings.PublicizeParams{Period: 2025, IDs: []int64{ref.ID}})
			require.NoError(t, err)
			require.Equal(t, 1, n)
			ref.LockVersion = b.get(t, ref.ID).LockVersion
		}
	}
	return ref
}

// edgeAudits counts the audit entries of an action about one rating.
func edgeAudits(t *testing.T, db bun.IDB, action string, ratingID int64) int {
	t.Helper()
	n, err := db.NewSelect().TableExpr("audit_log").Where("action = ? AND subject LIKE ?", action, fmt.Sprintf("rating:%d %%", ratingID)).
		Count(context.Background())
	require.NoError(t, err)
	return int(n)
}

// edgeNotes is an employer's notifications, as the employer sees them.
func edgeNotes(t *testing.T, svc *ratings.Service, uscc string) []ratings.Notification {
	t.Helper()
	notes, err := svc.Notifications(context.Background(), ratings.Actor{Name: "企业", Role: ratings.RoleEmployer, USCC: uscc}, uscc)
	require.NoError(t, err)
	return notes
}

// edgeRace runs two calls at the same moment and returns their errors.
func edgeRace(a, b func() error) [2]error {
	var errs [2]error
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, fn := range []func() error{a, b} {
		wg.Go(func() {
			<-start
			errs[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// edgeOneWins checks that exactly one of two racing calls succeeded and
// the other got ErrConflict.
func edgeOneWins(t *testing.T, errs [2]error) {
	t.Helper()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		require.ErrorIs(t, err, ratings.ErrConflict)
	}
	require.Equal(t, 1, wins, "errors: %v", errs)
}

// TestConcurrentTransitions races two officers doing the same transition
// on the same rating with the same lock version, 20 times: one wins, the
// other gets ErrConflict, and the rating moved (and was audited) once.
func TestConcurrentTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name       string
		prepare    func(t *testing.T, b *edgeBundle) // brings every rating to the state the act needs
		act        func(svc *ratings.Service, a ratings.Actor, ref ratings.Ref) error
		action     string
		status     string // the old rating's status after the act
		newVersion bool   // the act writes a new version
	}{
		{name: "review", action: "rating.review", status: ratings.StatusReviewed,
			prepare: func(*testing.T, *edgeBundle) {},
			act: func(svc *ratings.Service, a ratings.Actor, ref ratings.Ref) error {
				_, err := svc.Review(ctx, a, ref)
				return err
			}},
		{name: "confirm", action: "rating.confirm", status: ratings.StatusConfirmed,
			prepare: func(t *testing.T, b *edgeBundle) {
				for _, u := range b.codes {
					b.advance(t, u, ratings.StatusReviewed)
				}
			},
			act: func(svc *ratings.Service, a ratings.Actor, ref ratings.Ref) error {
				_, err := svc.Confirm(ctx, a, ref, "", "")
				return err
			}},
		{name: "rerate", action: "rating.rerate", status: ratings.StatusRated, newVersion: true,
			prepare: func(*testing.T, *edgeBundle) {},
			act: func(svc *ratings.Service, a ratings.Actor, ref ratings.Ref) error {
				_, err := svc.Rerate(ctx, a, ref)
				return err
			}},
		{name: "correct", action: "rating.correct", status: ratings.StatusPublished, newVersion: true,
			prepare: func(t *testing.T, b *edgeBundle) {
				publishAll(t, b.svc, b.db, b.clk, 2025, "2026-03-02", "2026-03-20")
			},
			act: func(svc *ratings.Service, a ratings.Actor, ref ratings.Ref) error {
				_, err := svc.Correct(ctx, a, ref, "B", "公布后补录案件")
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
				b := edgeSetup(t, db, 20)
				b.rate(t)
				tt.prepare(t, b)
				for _, u := range b.codes {
					r := b.current(t, u)
					ref := ratings.Ref{ID: r.ID, LockVersion: r.LockVersion}
					errs := edgeRace(func() error { return tt.act(b.svc, county, ref) }, func() error { return tt.act(b.svc, city, ref) })
					edgeOneWins(t, errs)
					after := b.get(t, r.ID)
					require.Equal(t, tt.status, after.Status)
					require.Equal(t, r.LockVersion+1, after.LockVersion, "the rating moved once")
					require.Equal(t, 1, edgeAudits(t, db, tt.action, r.ID))
					versions, err := db.NewSelect().Model((*ratings.Rating)(nil)).Where("employer_id = ? AND period = 2025", r.EmployerID).Count(ctx)
					require.NoError(t, err)
					if tt.newVersion {
						require.EqualValues(t, 2, versions)
						require.False(t, after.Current)
						require.Equal(t, 2, b.current(t, u).Version)
					} else {
						require.EqualValues(t, 1, versions)
						require.True(t, after.Current)
					}
				}
				_, err := ratings.VerifyAudit(ctx, db)
				require.NoError(t, err)
			})
		})
	}
}

// TestTransitionRefusals: a stale lock version or a replaced version is a
// conflict, the wrong status a validation error of "status", and the
// rating stays as it was.
func TestTransitionRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type step func(t *testing.T, b *edgeBundle, ref ratings.Ref) (ratings.Ref, error)
	review := func(t *testing.T, b *edgeBundle, ref ratings.Ref) (ratings.Ref, error) {
		_, err := b.svc.Review(ctx, county, ref)
		return ref, err
	}
	confirm := func(t *testing.T, b *edgeBundle, ref ratings.Ref) (ratings.Ref, error) {
		_, err := b.svc.Confirm(ctx, county, ref, "", "")
		return ref, err
	}
	tests := []struct {
		name    string
		status  string // the rating's status before setup
		setup   func(t *testing.T, b *edgeBundle, ref ratings.Ref) ratings.Ref
		act     step
		wantErr error
		field   string
	}{
		{name: "confirm with the lock version read before the review", status: ratings.StatusRated,
			setup: func(t *testing.T, b *edgeBundle, ref ratings.Ref) ratings.Ref {
				_, err := b.svc.Review(ctx, city, ref)
				require.NoError(t, err)
				return ref
			},
			act: confirm, wantErr: ratings.ErrConflict},
		{name: "review twice with the same lock version", status: ratings.StatusRated,
			setup: func(t *testing.T, b *edgeBundle, ref ratings.Ref) ratings.Ref {
				_, err := b.svc.Review(ctx, city, ref)
				require.NoError(t, err)
				return ref
			},
			act: review, wantErr: ratings.ErrConflict},
		{name: "lock version from the future", status: ratings.StatusRated,
			setup: func(t *testing.T, b *edgeBundle, ref ratings.Ref) ratings.Ref {
				ref.LockVersion += 5
				return ref
			},
			act: review, wantErr: ratings.ErrConflict},
		{name: "confirm the version a rerate replaced", status: ratings.StatusReviewed,
			setup: func(t *testing.T, b *edgeBundle, ref ratings.Ref) ratings.Ref {
				_, err := b.svc.Rerate(ctx, county, ref)
				require.NoError(t, err)
				return ratings.Ref{ID: ref.ID, LockVersion: b.get(t, ref.ID).LockVersion} // fresh lock, old version
			},
			act: confirm, wantErr: ratings.ErrConflict},
		{name: "rerate the version a rerate replaced", status: ratings.StatusRated,
			setup: func(t *testing.T, b *edgeBundle, ref ratings.Ref) ratings.Ref {
				_, err := b.svc.Rerate(ctx, county, ref)
				require.NoError(t, err)
				return ratings.Ref{ID: ref.ID, LockVersion: b.get(t, ref.ID).LockVersion}
			},
			act: func(t *testing.T, b *edgeBundle, ref ratings.Ref) (ratings.Ref, error) {
				_, err := b.svc.Rerate(ctx, county, ref)
				return ref, err
			},
			wantErr: ratings.ErrConflict},
		{name: "confirm a rated rating", status: ratings.StatusRated, act: confirm, field: "status"},
		{name: "review a reviewed rating", status: ratings.StatusReviewed, act: review, field: "status"},
		{name: "review a confirmed rating", status: ratings.StatusConfirmed, act: review, field: "status"},
		{name: "confirm a publicized rating", status: ratings.StatusPublicized, act: confirm, field: "status"},
		{name: "rerate a publicized rating", status: ratings.StatusPublicized, field: "status",
			act: func(t *testing.T, b *edgeBundle, ref ratings.Ref) (ratings.Ref, error) {
				_, err := b.svc.Rerate(ctx, county, ref)
				return ref, err
			}},
		{name: "correct a confirmed rating", status: ratings.StatusConfirmed, field: "status",
			act: func(t *testing.T, b *edgeBundle, ref ratings.Ref) (ratings.Ref, error) {
				_, err := b.svc.Correct(ctx, county, ref, "B", "更正")
				return ref, err
			}},
		{name: "review a rating that does not exist", status: ratings.StatusRated,
			setup: func(t *testing.T, b *edgeBundle, ref ratings.Ref) ratings.Ref {
				return ratings.Ref{ID: 1 << 40, LockVersion: 1}
			},
			act: review, wantErr: ratings.ErrNotFound},
	}
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := edgeSetup(t, db, len(tests))
		b.rate(t)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ref := b.advance(t, b.codes[i], tt.status)
				if tt.setup != nil {
					ref = tt.setup(t, b, ref)
				}
				before, _ := ratings.GetRating(ctx, db, ref.ID)
				audits := edgeAuditsAbout(t, db, ref.ID)
				_, err := tt.act(t, b, ref)
				if tt.field != "" {
					requireField(t, err, tt.field)
				} else {
					require.ErrorIs(t, err, tt.wantErr)
				}
				after, _ := ratings.GetRating(ctx, db, ref.ID)
				require.Equal(t, before, after, "a refused transition changes nothing")
				require.Equal(t, audits, edgeAuditsAbout(t, db, ref.ID), "and audits nothing")
			})
		}
	})
}

// edgeAuditsAbout counts the audit entries about one rating.
func edgeAuditsAbout(t *testing.T, db bun.IDB, ratingID int64) int {
	t.Helper()
	n, err := db.NewSelect().TableExpr("audit_log").Where("subject LIKE ?", fmt.Sprintf("rating:%d %%", ratingID)).Count(context.Background())
	require.NoError(t, err)
	return int(n)
}

// TestConfirmOverride: an override must name a grade of the rule set and
// carry a reason; confirming with the engine's grade needs none and clears
// an earlier override.
func TestConfirmOverride(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		grade  string
		reason string
		field  string // the refused field, or "" when confirmed
		want   string // the confirmed grade
	}{
		{name: "grade not in the rule set", grade: "D", reason: "理由", field: "grade"},
		{name: "grade in lower case", grade: "b", reason: "理由", field: "grade"},
		{name: "grade with a space", grade: "B ", reason: "理由", field: "grade"},
		{name: "override without a reason", grade: "B", field: "reason"},
		{name: "override with a blank reason", grade: "C", reason: " \t\n", field: "reason"},
		{name: "the engine's grade needs no reason", grade: "A", want: "A"},
		{name: "no grade keeps the engine's", want: "A"},
		{name: "override to a worse grade", grade: "C", reason: "漏录重大案件", want: "C"},
	}
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := edgeSetup(t, db, len(tests)+1)
		b.rate(t)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ref := b.advance(t, b.codes[i], ratings.StatusReviewed)
				before := b.get(t, ref.ID)
				got, err := b.svc.Confirm(ctx, county, ref, tt.grade, tt.reason)
				if tt.field != "" {
					requireField(t, err, tt.field)
					require.Equal(t, before, b.get(t, ref.ID))
					return
				}
				require.NoError(t, err)
				require.Equal(t, ratings.StatusConfirmed, got.Status)
				require.Equal(t, tt.want, got.Grade)
				require.Equal(t, "A", got.EngineGrade)
				if tt.want == got.EngineGrade {
					require.Nil(t, got.OverrideReason)
				} else {
					require.Equal(t, tt.reason, *got.OverrideReason)
				}
			})
		}

		// An override, an upheld objection (back to reviewed, the override
		// still on it), then confirmed with the engine's grade: the
		// override reason is gone.
		t.Run("back to the engine's grade clears the override", func(t *testing.T) {
			t.Parallel()
			u := b.codes[len(tests)]
			ref := b.advance(t, u, ratings.StatusReviewed)
			v, err := b.svc.Confirm(ctx, county, ref, "B", "群众举报超时加班")
			require.NoError(t, err)
			n, _, err := b.svc.Publicize(ctx, county, ratings.PublicizeParams{Period: 2025, IDs: []int64{v.ID}})
			require.NoError(t, err)
			require.Equal(t, 1, n)
			o, err := b.svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: v.ID, FiledBy: "本单位 法务", Contact: "fawu@example.com", Address: "192.0.2.10", Reason: "举报不实"})
			require.NoError(t, err)
			require.NoError(t, b.svc.DecideObjection(ctx, county, o.ID, true, "经核实举报不实"))
			back := b.get(t, v.ID)
			require.Equal(t, ratings.StatusReviewed, back.Status)
			require.Equal(t, "B", back.Grade)
			require.NotNil(t, back.OverrideReason, "reopening keeps the override until the next confirmation")
			c, err := b.svc.Confirm(ctx, county, ratings.Ref{ID: back.ID, LockVersion: back.LockVersion}, "A", "")
			require.NoError(t, err)
			require.Equal(t, "A", c.Grade)
			require.Nil(t, c.OverrideReason)
			var after struct {
				OverrideReason *string `json:"override_reason"`
			}
			var raw string
			require.NoError(t, db.NewSelect().TableExpr("audit_log").Column("after").
				Where("action = ? AND subject LIKE ?", "rating.confirm", fmt.Sprintf("rating:%d %%", v.ID)).OrderExpr("seq DESC").Limit(1).Scan(ctx, &raw))
			require.NoError(t, json.Unmarshal([]byte(raw), &after))
			require.Nil(t, after.OverrideReason, "the audit entry shows the override cleared")
		})
	})
}

// edgeSetClock puts the clock at a time of day in China.
func edgeSetClock(c *clock, datetime string) { c.SetDateTime(datetime) }

// TestPublicityWindow: objections are taken through the last day of the
// publicity (China time) and refused the day after; an open objection
// holds its rating past the window until it is decided.
func TestPublicityWindow(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		b := edgeSetup(t, db, 3)
		b.rate(t)
		ids := make([]int64, len(b.codes))
		for i, u := range b.codes {
			ids[i] = b.advance(t, u, ratings.StatusConfirmed).ID
		}
		b.clk.Set("2026-02-12") // Thu: 5 working days end on Thu 26 February
		n, ends, err := b.svc.Publicize(ctx, county, ratings.PublicizeParams{Period: 2025})
		require.NoError(t, err)
		require.Equal(t, 3, n)
		require.Equal(t, "2026-02-26", ends)
		object := func(id int64) error {
			_, err := b.svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: id, FiledBy: "职工 赵某", Contact: "13800000002", Address: "192.0.2.11", Reason: "存在欠薪"})
			return err
		}

		edgeSetClock(b.clk, "2026-02-26 23:59:00") // the last minute of the last day
		require.NoError(t, object(ids[0]))
		edgeSetClock(b.clk, "2026-02-27 00:01:00")
		require.ErrorIs(t, object(ids[1]), ratings.ErrNotFound)
		b.clk.Set("2026-02-27")
		require.ErrorIs(t, object(ids[1]), ratings.ErrNotFound)

		published, err := b.svc.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, published, "the two without an objection")
		require.Equal(t, ratings.StatusPublicized, b.get(t, ids[0]).Status, "held by the open objection")

		b.clk.Set("2026-03-16")
		published, err = b.svc.Tick(ctx)
		require.NoError(t, err)
		require.Zero(t, published, "still held weeks later")
		require.Equal(t, ratings.StatusPublicized, b.get(t, ids[0]).Status)

		var o ratings.Objection
		require.NoError(t, db.NewSelect().Model(&o).Where("rating_id = ?", ids[0]).Scan(ctx))
		require.NoError(t, b.svc.DecideObjection(ctx, county, o.ID, false, "经核实，工资已按时足额支付"))
		published, err = b.svc.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, published)
		require.Equal(t, ratings.StatusPublished, b.get(t, ids[0]).Status)
		require.ErrorIs(t, object(ids[0]), ratings.ErrNotFound, "published: no longer under publicity")
	})
}

// TestConcurrentTicks runs two publication ticks at once, as two replicas
// would (two Service values over one database, one clock), over three
// rounds of ten due ratings: each rating is published once.
func TestConcurrentTicks(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		b := edgeSetup(t, db, 30)
		b.rate(t)
		other, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: b.clk.Now})
		require.NoError(t, err)
		for _, u := range b.codes {
			b.advance(t, u, ratings.StatusConfirmed)
		}
		day := "2026-03-02"
		for round := range 3 {
			var group []int64
			for _, u := range b.codes[round*10 : round*10+10] {
				group = append(group, b.current(t, u).ID)
			}
			b.clk.Set(day)
			n, ends, err := b.svc.Publicize(ctx, county, ratings.PublicizeParams{Period: 2025, IDs: group})
			require.NoError(t, err)
			require.Equal(t, 10, n)
			lock := map[int64]int{}
			for _, id := range group {
				lock[id] = b.get(t, id).LockVersion
			}
			e, err := time.Parse(time.DateOnly, ends)
			require.NoError(t, err)
			day = e.AddDate(0, 0, 1).Format(time.DateOnly)
			b.clk.Set(day)

			var counts [2]int
			errs := edgeRace(func() error {
				var err error
				counts[0], err = b.svc.Tick(ctx)
				return err
			}, func() error {
				var err error
				counts[1], err = other.Tick(ctx)
				return err
			})
			require.NoError(t, errs[0])
			require.NoError(t, errs[1])
			require.Equal(t, 10, counts[0]+counts[1], "round %d: %v", round, counts)
			for _, id := range group {
				r := b.get(t, id)
				require.Equal(t, ratings.StatusPublished, r.Status)
				require.NotNil(t, r.PublishedAt)
				require.Equal(t, lock[id]+1, r.LockVersion, "published once")
				kinds, err := db.NewSelect().TableExpr("notifications").Where("rating_id = ? AND kind = ?", id, "published").Count(ctx)
				require.NoError(t, err)
				require.EqualValues(t, 1, kinds, "one published notification for rating %d", id)
			}
		}
		// Every rating is named by exactly one publish entry.
		var afters []string
		require.NoError(t, db.NewSelect().TableExpr("audit_log").Column("after").Where("action = ?", "rating.publish").Scan(ctx, &afters))
		var named []int64
		for _, a := range afters {
			var v struct {
				Ratings []int64 `json:"ratings"`
			}
			require.NoError(t, json.Unmarshal([]byte(a), &v))
			named = append(named, v.Ratings...)
		}
		slices.Sort(named)
		require.Len(t, named, 30)
		require.Len(t, slices.Compact(named), 30, "no rating is published twice")
		_, err = ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
	})
}

// TestConcurrentPublicize: two officers (the county and its city) put the
// same confirmed ratings under publicity at the same moment. Each rating
// must be publicized once: one notification, counted once, audited once.
// (On PostgreSQL this found Publicize notifying, counting and auditing the
// ratings it selected rather than the ones its UPDATE changed.)
func TestConcurrentPublicize(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		b := edgeSetup(t, db, 30)
		b.rate(t)
		for _, u := range b.codes {
			b.advance(t, u, ratings.StatusConfirmed)
		}
		b.clk.Set("2026-03-02")
		for round := range 3 {
			var group []int64
			for _, u := range b.codes[round*10 : round*10+10] {
				group = append(group, b.current(t, u).ID)
			}
			var counts [2]int
			errs := edgeRace(func() error {
				var err error
				counts[0], _, err = b.svc.Publicize(ctx, county, ratings.PublicizeParams{Period: 2025, IDs: group})
				return err
			}, func() error {
				var err error
				counts[1], _, err = b.svc.Publicize(ctx, city, ratings.PublicizeParams{Period: 2025, Region: "420102", IDs: group})
				return err
			})
			require.NoError(t, errs[0])
			require.NoError(t, errs[1])
			notes := map[int64]int{}
			for _, id := range group {
				require.Equal(t, ratings.StatusPublicized, b.get(t, id).Status)
				n, err := db.NewSelect().TableExpr("notifications").Where("rating_id = ? AND kind = ?", id, "publicized").Count(ctx)
				require.NoError(t, err)
				notes[id] = int(n)
			}
			require.Equal(t, 10, counts[0]+counts[1], "round %d: publicized counts %v, notifications per rating %v", round, counts, notes)
			for id, n := range notes {
				require.Equal(t, 1, n, "round %d: one publicized notification for rating %d", round, id)
			}
		}
		var afters []string
		require.NoError(t, db.NewSelect().TableExpr("audit_log").Column("after").Where("action = ?", "rating.publicize").Scan(ctx, &afters))
		var named []int64
		for _, a := range afters {
			var v struct {
				Ratings []int64 `json:"ratings"`
			}
			require.NoError(t, json.Unmarshal([]byte(a), &v))
			named = append(named, v.Ratings...)
		}
		slices.Sort(named)
		require.Len(t, slices.Compact(named), 30)
		require.Len(t, named, 30, "no rating is claimed by two publicize entries")
	})
}

// TestCorrect: only the current published version is corrected, with a
// reason; each correction is a new version, and the rating in force
// follows the newest from the day it is published.
func TestCorrect(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		b := edgeSetup(t, db, 2)
		b.rate(t)
		unpublished := b.advance(t, b.codes[1], ratings.StatusConfirmed)
		pubRef := b.advance(t, b.codes[0], ratings.StatusPublicized)
		b.clk.Set("2026-03-20")
		n, err := b.svc.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		u := b.codes[0]
		v1 := b.get(t, pubRef.ID)
		ref1 := ratings.Ref{ID: v1.ID, LockVersion: v1.LockVersion}

		_, err = b.svc.Correct(ctx, county, unpublished, "B", "更正")
		requireField(t, err, "status")
		for _, reason := range []string{"", "   "} {
			_, err = b.svc.Correct(ctx, county, ref1, "B", reason)
			requireField(t, err, "reason")
		}
		_, err = b.svc.Correct(ctx, county, ref1, "E", "更正")
		requireField(t, err, "grade")
		_, err = b.svc.Correct(ctx, county, ratings.Ref{ID: ref1.ID, LockVersion: ref1.LockVersion - 1}, "B", "更正")
		require.ErrorIs(t, err, ratings.ErrConflict)
		require.Equal(t, v1, b.get(t, v1.ID), "refused corrections change nothing")

		b.clk.Set("2026-04-01")
		v2, err := b.svc.Correct(ctx, county, ref1, "B", "补录2025年超时加班案件")
		require.NoError(t, err)
		require.Equal(t, 2, v2.Version)
		require.True(t, v2.Current)
		require.Equal(t, ratings.StatusPublished, v2.Status)
		require.Equal(t, "B", v2.Grade)
		require.Equal(t, "A", v2.EngineGrade)
		_, err = b.svc.Correct(ctx, county, ref1, "C", "再次更正旧版本")
		require.ErrorIs(t, err, ratings.ErrConflict, "the old version was replaced")

		b.clk.Set("2026-04-10")
		v3, err := b.svc.Correct(ctx, county, ratings.Ref{ID: v2.ID, LockVersion: v2.LockVersion}, "C", "该案件系拒不履行整改指令")
		require.NoError(t, err)
		require.Equal(t, 3, v3.Version)
		require.False(t, b.get(t, v2.ID).Current)
		require.False(t, b.get(t, v1.ID).Current)

		inForce := []struct {
			date    string
			version int
			grade   string
		}{
			{"2026-03-19", 0, ""},
			{"2026-03-20", 1, "A"},
			{"2026-03-31", 1, "A"},
			{"2026-04-01", 2, "B"},
			{"2026-04-09", 2, "B"},
			{"2026-04-10", 3, "C"},
			{"2027-01-01", 3, "C"},
		}
		for _, tt := range inForce {
			r, err := ratings.InForce(ctx, db, u, tt.date)
			if tt.version == 0 {
				require.ErrorIs(t, err, ratings.ErrNotFound, tt.date)
				continue
			}
			require.NoError(t, err, tt.date)
			require.Equal(t, tt.version, r.Version, tt.date)
			require.Equal(t, tt.grade, r.Grade, tt.date)
		}
		file, err := b.svc.IntegrityFile(ctx, county, u)
		require.NoError(t, err)
		require.Len(t, file, 3)
		require.Equal(t, []int{3, 2, 1}, []int{file[0].Version, file[1].Version, file[2].Version})
		notes := edgeNotes(t, b.svc, u)
		require.Equal(t, "corrected", notes[0].Kind)
		require.Equal(t, v3.ID, notes[0].RatingID)
	})
}

// TestDeclareAnnual: on time through 31 July of the next year (China
// time), late from 1 August; a second declaration replaces the first; the
// employer must be registered.
func TestDeclareAnnual(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		at     string // China time
		onTime bool
	}{
		{name: "deadline day morning", at: "2026-07-31 10:00:00", onTime: true},
		{name: "deadline day last minute", at: "2026-07-31 23:59:00", onTime: true},
		{name: "a month early", at: "2026-06-30 10:00:00", onTime: true},
		{name: "the day after, just past midnight", at: "2026-08-01 00:01:00", onTime: false},
		{name: "the day after", at: "2026-08-01 10:00:00", onTime: false},
	}
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := edgeSetup(t, db, len(tests)+1)
		review := func(t *testing.T, uscc string) ratings.AnnualReview {
			t.Helper()
			var ar ratings.AnnualReview
			require.NoError(t, db.NewSelect().Model(&ar).Join("JOIN employers AS e ON e.id = annual_review.employer_id").
				Where("e.uscc = ? AND annual_review.period = 2025", uscc).Scan(ctx))
			return ar
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				clk := &clock{}
				edgeSetClock(clk, tt.at)
				svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: clk.Now})
				require.NoError(t, err)
				u := b.codes[i]
				me := ratings.Actor{Name: "人事部", Role: ratings.RoleEmployer, USCC: u}
				require.NoError(t, svc.DeclareAnnual(ctx, me, 2025, engine.AnnualReview{Employees: 40, ContractsSigned: 40, Insured: 39, RosterComplete: true}))
				ar := review(t, u)
				require.True(t, ar.Submitted)
				require.Equal(t, tt.onTime, ar.OnTime)
				require.Equal(t, 40, ar.Employees)
				require.Equal(t, 39, ar.Insured)
			})
		}
		t.Run("a second declaration replaces the first", func(t *testing.T) {
			t.Parallel()
			clk := &clock{}
			clk.Set("2026-07-01")
			svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: clk.Now})
			require.NoError(t, err)
			u := b.codes[len(tests)]
			me := ratings.Actor{Name: "人事部", Role: ratings.RoleEmployer, USCC: u}
			require.NoError(t, svc.DeclareAnnual(ctx, me, 2025, engine.AnnualReview{Employees: 50, ContractsSigned: 45, Insured: 45}))
			clk.Set("2026-07-20")
			require.NoError(t, svc.DeclareAnnual(ctx, me, 2025, engine.AnnualReview{Employees: 50, ContractsSigned: 50, Insured: 50, RosterComplete: true}))
			ar := review(t, u)
			require.Equal(t, 50, ar.ContractsSigned)
			require.True(t, ar.RosterComplete)
			require.True(t, ar.OnTime)
			var decls []ratings.Declaration
			require.NoError(t, db.NewSelect().Model(&decls).Join("JOIN employers AS e ON e.id = declaration.employer_id").
				Where("e.uscc = ?", u).Scan(ctx))
			require.Len(t, decls, 1)
			require.Equal(t, "annual", decls[0].Kind)
			require.Contains(t, decls[0].Payload, `"contracts_signed":50`)
			require.Equal(t, time.Date(2026, 7, 1, 2, 0, 0, 0, time.UTC), decls[0].SubmittedAt.UTC(), "the first submission's time stays")
			// A fix after the deadline keeps the on-time of the first declaration.
			clk.Set("2026-08-03")
			require.NoError(t, svc.DeclareAnnual(ctx, me, 2025, engine.AnnualReview{Employees: 51, ContractsSigned: 51, Insured: 51, RosterComplete: true}))
			ar = review(t, u)
			require.Equal(t, 51, ar.Employees)
			require.True(t, ar.OnTime, "declared in time first")
			n, err := db.NewSelect().TableExpr("audit_log").Where("action = ? AND subject = ?", "declaration.annual", "uscc:"+u+" period:2025").Count(ctx)
			require.NoError(t, err)
			require.EqualValues(t, 3, n, "every declaration is audited")
			// Not for a period that has not ended, nor for a published one.
			requireField(t, svc.DeclareAnnual(ctx, me, 2026, engine.AnnualReview{Employees: 1}), "period")
		})
		t.Run("an employer that is not registered", func(t *testing.T) {
			t.Parallel()
			ghost := ratings.Actor{Name: "未登记", Role: ratings.RoleEmployer, USCC: code(t, "420102", 8999)}
			requireField(t, b.svc.DeclareAnnual(ctx, ghost, 2025, engine.AnnualReview{Employees: 1}), "uscc")
			requireField(t, b.svc.ApplyForAward(ctx, ghost, 2025, "best-integrity-unit", "申请"), "uscc")
		})
	})
}

// TestNotificationBodies: publicity tells each employer its grade with the
// reasons and the records behind them; publication tells it again.
func TestNotificationBodies(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		b := edgeSetup(t, db, 2)
		good, bad := b.codes[0], b.codes[1]
		b.caseFor(t, bad, "JA-2025-101")
		b.rate(t)
		for _, u := range b.codes {
			b.advance(t, u, ratings.StatusConfirmed)
		}
		b.clk.Set("2026-02-12")
		_, _, err := b.svc.Publicize(ctx, county, ratings.PublicizeParams{Period: 2025})
		require.NoError(t, err)

		type fired struct {
			Rule     string   `json:"rule"`
			Cap      string   `json:"cap"`
			Basis    string   `json:"basis"`
			Reason   string   `json:"reason"`
			Evidence []string `json:"evidence"`
		}
		type body struct {
			RatingID      int64  `json:"rating_id"`
			Period        int    `json:"period"`
			Grade         string `json:"grade"`
			EngineGrade   string `json:"engine_grade"`
			PublicityEnds string `json:"publicity_ends"`
			Result        struct {
				Grade string  `json:"grade"`
				Fired []fired `json:"fired"`
			} `json:"result"`
		}
		parse := func(t *testing.T, n ratings.Notification) body {
			t.Helper()
			var v body
			require.NoError(t, json.Unmarshal([]byte(n.Body), &v), n.Body)
			return v
		}

		notes := edgeNotes(t, b.svc, bad)
		require.Len(t, notes, 1)
		require.Equal(t, "publicized", notes[0].Kind)
		require.Contains(t, notes[0].Body, "JA-2025-101")
		v := parse(t, notes[0])
		require.Equal(t, b.current(t, bad).ID, v.RatingID)
		require.Equal(t, 2025, v.Period)
		require.Equal(t, "B", v.Grade)
		require.Equal(t, "B", v.EngineGrade)
		require.Equal(t, "2026-02-26", v.PublicityEnds)
		require.Equal(t, []fired{{Rule: "b-violation-found", Cap: "B", Basis: "第七条第（二）项", Reason: "因劳动保障违法行为被查处",
			Evidence: []string{"JA-2025-101"}}}, v.Result.Fired)

		notes = edgeNotes(t, b.svc, good)
		require.Len(t, notes, 1)
		v = parse(t, notes[0])
		require.Equal(t, "A", v.Grade)
		require.Empty(t, v.Result.Fired)

		b.clk.Set("2026-02-27")
		n, err := b.svc.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		notes = edgeNotes(t, b.svc, bad)
		require.Len(t, notes, 2)
		require.Equal(t, "published", notes[0].Kind, "newest first")
		require.Equal(t, "publicized", notes[1].Kind)
		v = parse(t, notes[0])
		require.Equal(t, "B", v.Grade)
		require.Equal(t, []string{"JA-2025-101"}, v.Result.Fired[0].Evidence)
	})
}

// TestNominateRefused: only the published, A-graded and eligible are
// nominated, once; a nomination is decided once.
func TestNominateRefused(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		b := edgeSetup(t, db, 2)
		eligible, graded := b.codes[0], b.codes[1]
		b.caseFor(t, graded, "JA-2025-201")
		b.clk.Set("2025-01-10")
		_, err := b.svc.Rate(ctx, county, ratings.RateParams{Period: 2024})
		require.NoError(t, err)
		publishAll(t, b.svc, db, b.clk, 2024, "2025-02-10", "2025-02-20")
		b.clk.Set("2026-02-02")
		b.rate(t)
		publishAll(t, b.svc, db, b.clk, 2025, "2026-03-02", "2026-03-20")
		// A third employer, registered later: rated, not yet published.
		late, err := b.svc.AddEmployer(ctx, county, ratings.Employer{USCC: code(t, "420102", 8100), Name: "后登记企业", Region: "420102"})
		require.NoError(t, err)
		b.rate(t)
		require.Equal(t, ratings.StatusRated, b.current(t, late.USCC).Status)
		require.Equal(t, "B", b.current(t, graded).Grade)

		const award = "best-integrity-unit"
		tests := []struct {
			name   string
			uscc   string
			period int
			award  string
			field  string
		}{
			{name: "published but B", uscc: graded, period: 2025, award: award, field: "uscc"},
			{name: "not published", uscc: late.USCC, period: 2025, award: award, field: "uscc"},
			{name: "no rating in the period", uscc: eligible, period: 2023, award: award, field: "uscc"},
			{name: "award the rule set does not know", uscc: eligible, period: 2025, award: "best-employer", field: "award"},
			{name: "award id in another case", uscc: eligible, period: 2025, award: "Best-Integrity-Unit", field: "award"},
			{name: "employer not registered", uscc: code(t, "420102", 8999), period: 2025, award: award, field: "uscc"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				_, err := b.svc.Nominate(ctx, city, tt.uscc, tt.period, tt.award)
				requireField(t, err, tt.field)
			})
		}
		t.Run("twice", func(t *testing.T) {
			t.Parallel()
			nom, err := b.svc.Nominate(ctx, city, eligible, 2025, award)
			require.NoError(t, err)
			_, err = b.svc.Nominate(ctx, city, eligible, 2025, award)
			require.ErrorIs(t, err, ratings.ErrConflict)
			require.NoError(t, b.svc.DecideNomination(ctx, province, nom.ID, true, ""))
			require.ErrorIs(t, b.svc.DecideNomination(ctx, province, nom.ID, true, ""), ratings.ErrConflict)
			require.ErrorIs(t, b.svc.DecideNomination(ctx, province, nom.ID, false, "重复"), ratings.ErrConflict)
			require.ErrorIs(t, b.svc.DecideNomination(ctx, province, nom.ID+1000, true, ""), ratings.ErrNotFound)
			roll, err := b.svc.AwardRoll(ctx, 2025, "420000")
			require.NoError(t, err)
			require.Len(t, roll, 1)
			require.Equal(t, eligible, roll[0].USCC)
		})
	})
}

// TestCorrectReplacedVersion: a Ref to a version that a correction has
// replaced is stale (ErrConflict), as for every other transition, not a
// validation error of "status".
func TestCorrectReplacedVersion(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		b := edgeSetup(t, db, 1)
		b.rate(t)
		ref := b.advance(t, b.codes[0], ratings.StatusPublicized)
		b.clk.Set("2026-03-20")
		_, err := b.svc.Tick(ctx)
		require.NoError(t, err)
		ref.LockVersion = b.get(t, ref.ID).LockVersion
		_, err = b.svc.Correct(ctx, county, ref, "B", "补录案件")
		require.NoError(t, err)
		_, err = b.svc.Correct(ctx, city, ref, "C", "同时更正")
		require.ErrorIs(t, err, ratings.ErrConflict)
	})
}
