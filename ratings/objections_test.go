package ratings_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// objectionSetup puts n ratings of 江岸区 under publicity (until Thu 26
// February 2026) and returns their ids.
func objectionSetup(t *testing.T, db *bun.DB, n int) (*edgeBundle, []int64) {
	t.Helper()
	b := edgeSetup(t, db, n)
	b.rate(t)
	ids := make([]int64, n)
	for i, u := range b.codes {
		ids[i] = b.advance(t, u, ratings.StatusConfirmed).ID
	}
	b.clk.Set("2026-02-12")
	k, _, err := b.svc.Publicize(context.Background(), county, ratings.PublicizeParams{Period: 2025})
	require.NoError(t, err)
	require.Equal(t, n, k)
	return b, ids
}

func objectionFrom(id int64, i int) ratings.ObjectionParams {
	return ratings.ObjectionParams{RatingID: id, FiledBy: fmt.Sprintf("职工 %d", i), Contact: fmt.Sprintf("w%d@example.com", i),
		Address: fmt.Sprintf("198.51.100.%d", i), Reason: "评定有误"}
}

// TestObjectionLimits: a burst from one address counts once (on both
// databases, concurrently); a rating takes MaxOpenObjectionsPerRating
// public objections and then refuses more without a Retry-After, but the
// rated employer's own objection still goes in; one address files
// ObjectionsPerAddressPerDay a day over all ratings.
func TestObjectionLimits(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		b, ids := objectionSetup(t, db, 2)

		var wg sync.WaitGroup
		errs := make([]error, 30)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := objectionFrom(ids[1], 100+i)
				p.Address = "203.0.113.1"
				_, errs[i] = b.svc.FileObjection(ctx, p)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			require.ErrorIs(t, err, ratings.ErrConflict)
		}
		require.Equal(t, 1, ok, "one open objection per address per rating")

		var public []int64
		for i := range ratings.MaxOpenObjectionsPerRating {
			o, err := b.svc.FileObjection(ctx, objectionFrom(ids[0], i))
			require.NoError(t, err, "objection %d", i)
			public = append(public, o.ID)
		}
		_, err := b.svc.FileObjection(ctx, objectionFrom(ids[0], 99))
		var le *ratings.LimitError
		require.ErrorAs(t, err, &le)
		require.Zero(t, le.RetryAfter, "it frees when officers decide, not with time")
		own := ratings.Actor{Name: "法务", Role: ratings.RoleEmployer, Region: "420102", USCC: b.codes[0]}
		o, err := b.svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: ids[0], Reason: "已整改", Address: "198.51.100.1", By: &own})
		require.NoError(t, err, "the employer's own objection is not refused by the rating's limit")
		require.True(t, o.ByEmployer)
		_, err = b.svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: ids[0], Reason: "再次", Address: "198.51.100.2", By: &own})
		require.ErrorIs(t, err, ratings.ErrConflict, "one open objection per account")
		require.ErrorContains(t, err, "an objection from this employer's account to this rating is open already")

		// Deciding frees a slot.
		_, err = b.svc.DecideObjections(ctx, county, ratings.DecideObjectionsParams{IDs: public[:1], Outcome: ratings.ObjectionInadmissible, Decision: "重复"})
		require.NoError(t, err)
		_, err = b.svc.FileObjection(ctx, objectionFrom(ids[0], 99))
		require.NoError(t, err)

		// The day's limit of one address, over ratings.
		p := objectionFrom(ids[1], 7)
		p.Address = "198.51.100.7" // filed ObjectionsPerAddressPerDay... once to ids[0] above
		for i := 1; i < ratings.ObjectionsPerAddressPerDay; i++ {
			p.Contact = fmt.Sprintf("d%d@example.com", i)
			o, err := b.svc.FileObjection(ctx, p)
			require.NoError(t, err, "filing %d", i)
			_, err = b.svc.DecideObjections(ctx, county, ratings.DecideObjectionsParams{RatingID: ids[1], IDs: []int64{o.ID},
				Outcome: ratings.ObjectionRejected, Decision: "经核实无误"})
			require.NoError(t, err)
		}
		p.Contact = "last@example.com"
		_, err = b.svc.FileObjection(ctx, p)
		require.ErrorAs(t, err, &le)
		require.Positive(t, le.RetryAfter)
		b.clk.Set("2026-02-13")
		_, err = b.svc.FileObjection(ctx, p)
		require.NoError(t, err, "a new day")
	})
}

// TestObjectionTriage: ten objections to one rating are decided in one
// call, one audit entry each, and the chain verifies; inadmissible ones
// release the hold like rejected ones and the tick publishes; an upheld
// bulk decision answers the remaining ones and reopens the rating.
func TestObjectionTriage(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		b, ids := objectionSetup(t, db, 2)
		var held, other []int64
		for i := range 10 {
			o, err := b.svc.FileObjection(ctx, objectionFrom(ids[0], i))
			require.NoError(t, err)
			held = append(held, o.ID)
			o, err = b.svc.FileObjection(ctx, objectionFrom(ids[1], i))
			require.NoError(t, err)
			other = append(other, o.ID)
		}
		entries := func() int {
			n, err := db.NewSelect().Table("audit_log").Count(ctx)
			require.NoError(t, err)
			return int(n)
		}

		before := entries()
		got, err := b.svc.DecideObjections(ctx, county, ratings.DecideObjectionsParams{RatingID: ids[0], IDs: held,
			Outcome: ratings.ObjectionInadmissible, Decision: "均为同一人重复提出，且未说明具体理由，不予受理"})
		require.NoError(t, err)
		require.Equal(t, held, got.Decided)
		require.Equal(t, before+10, entries(), "one audit entry per decision")
		_, err = ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
		_, err = b.svc.DecideObjections(ctx, county, ratings.DecideObjectionsParams{RatingID: ids[0], All: true,
			Outcome: ratings.ObjectionRejected, Decision: "x"})
		requireField(t, err, "all")

		// An upheld decision on three answers the other seven and reopens.
		before = entries()
		got, err = b.svc.DecideObjections(ctx, county, ratings.DecideObjectionsParams{RatingID: ids[1], IDs: other[:3],
			Outcome: ratings.ObjectionUpheld, Decision: "经核实属实，退回重新审核"})
		require.NoError(t, err)
		require.Equal(t, other[3:], got.Answered)
		require.Equal(t, ratings.StatusReviewed, got.Status)
		require.Equal(t, before+10+1, entries(), "ten decisions and the reopening")
		var kinds []string
		require.NoError(t, db.NewSelect().Model((*ratings.Notification)(nil)).Column("kind").
			Where("rating_id = ?", ids[1]).Order("id").Scan(ctx, &kinds))
		require.Equal(t, []string{"publicized", "objection_upheld"}, kinds)

		b.clk.Set("2026-02-27")
		n, err := b.svc.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "inadmissible objections hold nothing")
		require.Equal(t, ratings.StatusPublished, b.get(t, ids[0]).Status)
		_, err = ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
	})
}
