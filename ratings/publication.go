package ratings

// Publication, correction and re-rating, and the rating in force on a date.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"laborcredit/engine"
)

// Tick publishes every publicized rating whose publicity has ended with no
// objection open. It is safe to run on several replicas at once: each
// rating moves under its lock version, and a rating another replica moved
// first is skipped.
func (s *Service) Tick(ctx context.Context) (int, error) {
	today := s.today().Format(time.DateOnly)
	now := s.now().UTC()
	total := 0
	defer func() { s.markStatsStale(total > 0) }()
	for {
		var ids []int64
		err := s.db.NewSelect().Model((*Rating)(nil)).Column("id").
			Where("status = ? AND current = ? AND publicity_ends < ?", StatusPublicized, true, today).
			Where("id NOT IN (SELECT o.rating_id FROM objections AS o WHERE o.status = ?)", "open").
			Order("id").Limit(1000).Scan(ctx, &ids)
		if err != nil {
			return total, fmt.Errorf("tick: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		n := 0
		err = s.inTx(ctx, func(tx bun.Tx) error {
			seq, err := nextFeedSeq(ctx, tx)
			if err != nil {
				return err
			}
			// One statement for the batch, under the same conditions as the
			// select: what another replica published or an objection held
			// since is left out.
			var rows []tickRow
			if _, err := tx.NewUpdate().Model((*Rating)(nil)).Set("status = ?", StatusPublished).Set("published_at = ?", now).
				Set("feed_seq = ?", seq).Set("lock_version = lock_version + 1").
				Where("id IN (?) AND status = ? AND current = ? AND publicity_ends < ?", bun.List(ids), StatusPublicized, true, today).
				Where("id NOT IN (SELECT o.rating_id FROM objections AS o WHERE o.status = ?)", "open").
				Returning("id, employer_id").Exec(ctx, &rows); err != nil {
				return fmt.Errorf("publish: %w", dbError(err))
			}
			slices.SortFunc(rows, func(a, b tickRow) int { return cmp.Compare(a.ID, b.ID) })
			published := make([]int64, len(rows))
			employers := make([]int64, len(rows))
			for i, r := range rows {
				published[i], employers[i] = r.ID, r.EmployerID
			}
			n = len(published)
			if n == 0 {
				return nil
			}
			if err := s.notifyAll(ctx, tx, published, "published", nil, now); err != nil {
				return err
			}
			if err := refreshCreditDocs(ctx, tx, employers, now); err != nil {
				return err
			}
			return appendAudit(ctx, tx, now, System, "rating.publish", "publicity ended "+today, nil, map[string]any{"ratings": published})
		})
		if err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			// Everything this round was taken by another replica; the next
			// select sees what is left.
			continue
		}
	}
}

// tickRow is a rating Tick published, with its employer.
type tickRow struct {
	ID         int64 `bun:"id"`
	EmployerID int64 `bun:"employer_id"`
}

// Correct corrects a published rating: a new published version with the
// given grade and a written reason; the old version stays in the
// integrity file and stops being current.
func (s *Service) Correct(ctx context.Context, a Actor, ref Ref, grade, reason string) (*RatingView, error) {
	if err := officer(a); err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" {
		return nil, invalid("reason", "a correction needs a written reason")
	}
	var out *RatingView
	err := s.inTx(ctx, func(tx bun.Tx) error {
		r, err := s.guard(ctx, tx, a, ref)
		if err != nil {
			return err
		}
		if r.Status != StatusPublished {
			return invalid("status", "only a published rating can be corrected; rating %d is %s", r.ID, r.Status)
		}
		rs, _, err := RuleSetByID(ctx, tx, r.RuleSetID)
		if err != nil {
			return err
		}
		if grade == "" {
			grade = r.Grade
		}
		if rs.GradeRank(grade) < 0 {
			return invalid("grade", "%q is not a grade of rule set %s (%v)", grade, rs.ID, rs.Grades)
		}
		if err := supersede(ctx, tx, ref, "correcting"); err != nil {
			return err
		}
		now := s.now().UTC()
		nr := r.Rating
		nr.ID, nr.Version, nr.Current, nr.Grade, nr.LockVersion = 0, r.Version+1, true, grade, 1
		nr.Reason = &reason
		nr.OverrideReason = nil
		if grade != r.EngineGrade {
			nr.OverrideReason = &reason
		}
		nr.PublishedAt = &now
		seq, err := nextFeedSeq(ctx, tx)
		if err != nil {
			return err
		}
		nr.FeedSeq = &seq
		if _, err := tx.NewInsert().Model(&nr).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("correct rating %d: %w", r.ID, dbError(err))
		}
		if err := appendAudit(ctx, tx, now, a, "rating.correct", fmt.Sprintf("rating:%d uscc:%s period:%d", r.ID, r.USCC, r.Period),
			map[string]any{"rating": r.ID, "version": r.Version, "grade": r.Grade},
			map[string]any{"rating": nr.ID, "version": nr.Version, "grade": nr.Grade, "reason": reason}); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, r.EmployerID, nr.ID, "corrected", map[string]any{"reason": reason, "replaces": r.ID}, now); err != nil {
			return err
		}
		if err := refreshCreditDocs(ctx, tx, []int64{r.EmployerID}, now); err != nil {
			return err
		}
		out, err = GetRating(ctx, tx, nr.ID)
		return err
	})
	s.markStatsStale(err == nil)
	return out, err
}

// supersede makes a rating version no longer current, under its lock
// version; a rating changed meanwhile is a conflict.
func supersede(ctx context.Context, tx bun.Tx, ref Ref, doing string) error {
	res, err := tx.NewUpdate().Model((*Rating)(nil)).Set("current = ?", false).Set("lock_version = lock_version + 1").
		Where("id = ? AND lock_version = ?", ref.ID, ref.LockVersion).Exec(ctx)
	if err != nil {
		return fmt.Errorf("%s rating %d: %w", doing, ref.ID, dbError(err))
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return fmt.Errorf("%w: rating %d changed while %s", ErrConflict, ref.ID, doing)
	}
	return nil
}

// Rerate rates one employer again with fresh facts (after an upheld
// objection, say): a new version, status rated, replacing the current one
// unless it is under publicity or published.
func (s *Service) Rerate(ctx context.Context, a Actor, ref Ref) (*RatingView, error) {
	if err := officer(a); err != nil {
		return nil, err
	}
	var out *RatingView
	err := s.inTx(ctx, func(tx bun.Tx) error {
		r, err := s.guard(ctx, tx, a, ref)
		if err != nil {
			return err
		}
		if r.Status == StatusPublicized || r.Status == StatusPublished {
			return invalid("status", "rating %d is %s; decide its objections or correct it instead", r.ID, r.Status)
		}
		rs, stored, err := ActiveRuleSet(ctx, tx, r.Period)
		if err != nil {
			return err
		}
		batch, err := loadFacts(ctx, tx, r.Period, r.Region, r.EmployerID-1, 1)
		if err != nil {
			return err
		}
		if len(batch) != 1 || batch[0].ID != r.EmployerID {
			return fmt.Errorf("rerate rating %d: employer %d not found", r.ID, r.EmployerID)
		}
		res, err := engine.Evaluate(rs, &batch[0].Facts)
		if err != nil {
			return err
		}
		facts, err := json.Marshal(&batch[0].Facts)
		if err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		if err := supersede(ctx, tx, ref, "re-rating"); err != nil {
			return err
		}
		nr := newRating(r.EmployerID, r.Period, r.Version+1, stored.ID, &res, string(res.AppendJSON(nil)), string(facts), now)
		if _, err := tx.NewInsert().Model(&nr).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("rerate rating %d: %w", r.ID, dbError(err))
		}
		if err := appendAudit(ctx, tx, now, a, "rating.rerate", fmt.Sprintf("rating:%d uscc:%s period:%d", r.ID, r.USCC, r.Period),
			map[string]any{"rating": r.ID, "grade": r.Grade}, map[string]any{"rating": nr.ID, "grade": nr.Grade}); err != nil {
			return err
		}
		out, err = GetRating(ctx, tx, nr.ID)
		return err
	})
	return out, err
}

// InForce returns the rating of an employer that was in force on a date:
// of the versions published by the end of that day (China time), the one
// of the latest period, and of that period the latest published (so a
// correction replaces the original from its publication on).
func InForce(ctx context.Context, db bun.IDB, uscc, date string) (*RatingView, error) {
	if !engine.ValidDate(date) {
		return nil, invalid("as_of", "not a date (want YYYY-MM-DD): %q", date)
	}
	d, _ := time.ParseInLocation(time.DateOnly, date, chinaTime)
	end := d.AddDate(0, 0, 1).UTC()
	e, err := EmployerByCode(ctx, db, uscc)
	if err != nil {
		return nil, err
	}
	var r Rating
	err = db.NewSelect().Model(&r).Where("employer_id = ? AND status = ? AND published_at < ?", e.ID, StatusPublished, end).
		Order("period DESC", "published_at DESC", "version DESC").Limit(1).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("rating of %s in force on %s: %w", uscc, date, dbError(err))
	}
	return &RatingView{Rating: r, USCC: e.USCC, Name: e.Name, Region: e.Region}, nil
}

// IntegrityFile returns every published version of an employer's ratings,
// newest first: its integrity file (诚信档案), kept for good.
func (s *Service) IntegrityFile(ctx context.Context, a Actor, uscc string) ([]RatingView, error) {
	e, err := s.visibleEmployer(ctx, a, uscc)
	if err != nil {
		return nil, err
	}
	var rs []Rating
	err = s.db.NewSelect().Model(&rs).Where("employer_id = ? AND status = ?", e.ID, StatusPublished).
		Order("period DESC", "version DESC").Scan(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]RatingView, len(rs))
	for i := range rs {
		out[i] = RatingView{Rating: rs[i], USCC: e.USCC, Name: e.Name, Region: e.Region}
	}
	return out, nil
}
