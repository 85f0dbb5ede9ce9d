package ratings

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

// chinaTime is the zone that dates of the procedure are counted in.
var chinaTime = time.FixedZone("CST", 8*60*60)

// today is the service's current date in China.
func (s *Service) today() time.Time {
	n := s.now().In(chinaTime)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

// Ref names a rating and the lock version the caller last read: a
// transition applies only if nobody changed the rating since (optimistic
// locking), else it fails with ErrConflict.
type Ref struct {
	ID          int64
	LockVersion int
}

// RatingView is a rating with its employer.
type RatingView struct {
	Rating
	USCC   string `json:"uscc"`
	Name   string `json:"name"`
	Region string `json:"region"`
}

// GetRating loads a rating with its employer.
func GetRating(ctx context.Context, db bun.IDB, id int64) (*RatingView, error) {
	var v RatingView
	err := db.NewSelect().Model(&v.Rating).Where("id = ?", id).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("rating %d: %w", id, dbError(err))
	}
	var e Employer
	if err := db.NewSelect().Model(&e).Where("id = ?", v.EmployerID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("rating %d: %w", id, dbError(err))
	}
	v.USCC, v.Name, v.Region = e.USCC, e.Name, e.Region
	return &v, nil
}

// Rating reads one rating; officers see their region, an employer its own.
func (s *Service) Rating(ctx context.Context, a Actor, id int64) (*RatingView, error) {
	v, err := GetRating(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if err := s.canSee(a, v.Region, v.USCC); err != nil {
		return nil, err
	}
	return v, nil
}

// canSee allows officers of the region and the employer itself.
func (s *Service) canSee(a Actor, region, uscc string) error {
	if a.Role == RoleEmployer {
		if a.USCC != uscc {
			return fmt.Errorf("%w: %s may see only its own records", ErrForbidden, a)
		}
		return nil
	}
	if err := officer(a); err != nil {
		return err
	}
	return s.within(a, region)
}

// transition moves one current rating from one status to another under
// its lock version, in tx, and audits it. change may set more columns.
func (s *Service) transition(ctx context.Context, tx bun.Tx, a Actor, ref Ref, action string, from []string, to string,
	change func(q *bun.UpdateQuery, r *RatingView) (*bun.UpdateQuery, error)) (*RatingView, error) {
	r, err := GetRating(ctx, tx, ref.ID)
	if err != nil {
		return nil, err
	}
	if err := officer(a); err != nil {
		return nil, err
	}
	if err := s.within(a, r.Region); err != nil {
		return nil, err
	}
	if !r.Current {
		return nil, fmt.Errorf("%w: rating %d is not the current version (a newer one replaced it)", ErrConflict, r.ID)
	}
	if r.LockVersion != ref.LockVersion {
		return nil, fmt.Errorf("%w: rating %d changed since it was read (version %d, now %d)", ErrConflict, r.ID, ref.LockVersion, r.LockVersion)
	}
	if !slices.Contains(from, r.Status) {
		return nil, invalid("status", "rating %d is %s; %s needs it %s", r.ID, r.Status, action, strings.Join(from, " or "))
	}
	q := tx.NewUpdate().Model((*Rating)(nil)).Set("status = ?", to).Set("lock_version = lock_version + 1").
		Where("id = ? AND lock_version = ?", r.ID, ref.LockVersion)
	if change != nil {
		if q, err = change(q, r); err != nil {
			return nil, err
		}
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s rating %d: %w", action, r.ID, dbError(err))
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, fmt.Errorf("%w: rating %d changed while %s", ErrConflict, r.ID, action)
	}
	before := map[string]any{"status": r.Status, "grade": r.Grade}
	after, err := GetRating(ctx, tx, r.ID)
	if err != nil {
		return nil, err
	}
	if err := appendAudit(ctx, tx, s.now(), a, "rating."+action, fmt.Sprintf("rating:%d uscc:%s period:%d", r.ID, r.USCC, r.Period),
		before, map[string]any{"status": after.Status, "grade": after.Grade, "override_reason": after.OverrideReason}); err != nil {
		return nil, err
	}
	return after, nil
}

// Review marks a rated rating as reviewed: an officer has checked the
// declaration and the records behind it.
func (s *Service) Review(ctx context.Context, a Actor, ref Ref) (*RatingView, error) {
	var out *RatingView
	err := s.inTx(ctx, func(tx bun.Tx) error {
		var err error
		out, err = s.transition(ctx, tx, a, ref, "review", []string{StatusRated}, StatusReviewed, nil)
		return err
	})
	return out, err
}

// Confirm confirms a reviewed rating. grade "" keeps the engine's grade;
// another grade overrides it and needs a written reason, and the engine's
// grade stays beside it.
func (s *Service) Confirm(ctx context.Context, a Actor, ref Ref, grade, reason string) (*RatingView, error) {
	var out *RatingView
	err := s.inTx(ctx, func(tx bun.Tx) error {
		var err error
		out, err = s.transition(ctx, tx, a, ref, "confirm", []string{StatusReviewed}, StatusConfirmed,
			func(q *bun.UpdateQuery, r *RatingView) (*bun.UpdateQuery, error) {
				if grade == "" || grade == r.EngineGrade {
					return q.Set("grade = engine_grade").Set("override_reason = NULL"), nil
				}
				rs, _, err := RuleSetByID(ctx, tx, r.RuleSetID)
				if err != nil {
					return nil, err
				}
				if rs.GradeRank(grade) < 0 {
					return nil, invalid("grade", "%q is not a grade of rule set %s (%v)", grade, rs.ID, rs.Grades)
				}
				if strings.TrimSpace(reason) == "" {
					return nil, invalid("reason", "overriding the engine's grade %s with %s needs a written reason", r.EngineGrade, grade)
				}
				return q.Set("grade = ?", grade).Set("override_reason = ?", reason), nil
			})
		return err
	})
	return out, err
}

// BulkParams choose the current ratings of a period that a bulk
// transition applies to.
type BulkParams struct {
	Period int
	Region string  // default: the actor's region
	IDs    []int64 // only these ratings; default: every current rating of the region in the status the transition starts from
}

// PublicizeParams choose the confirmed ratings to put under publicity.
type PublicizeParams = BulkParams

// ReviewAll marks every rated current rating of the region (or only
// p.IDs) as reviewed, for an office that has checked the declarations
// and records of the whole list. It returns how many it reviewed.
func (s *Service) ReviewAll(ctx context.Context, a Actor, p BulkParams) (int, error) {
	return s.bulk(ctx, a, p, bulkStep{action: "review", from: StatusRated, to: StatusReviewed})
}

// ConfirmAll confirms every reviewed current rating of the region (or
// only p.IDs) at the engine's grade; overrides go one by one through
// Confirm, with their reasons. It returns how many it confirmed.
func (s *Service) ConfirmAll(ctx context.Context, a Actor, p BulkParams) (int, error) {
	return s.bulk(ctx, a, p, bulkStep{action: "confirm", from: StatusReviewed, to: StatusConfirmed,
		set: func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Set("grade = engine_grade").Set("override_reason = NULL")
		}})
}

// Publicize puts confirmed ratings under publicity (公示) for the period's
// number of working days, counted on the official calendar from the day
// after today. Each employer is notified of its result with the reasons.
// It returns how many ratings were publicized and the last day of the
// publicity.
func (s *Service) Publicize(ctx context.Context, a Actor, p PublicizeParams) (int, string, error) {
	if err := officer(a); err != nil {
		return 0, "", err
	}
	if _, _, err := s.scope(a, p.Region); err != nil {
		return 0, "", err
	}
	var per Period
	if err := s.db.NewSelect().Model(&per).Where("year = ?", p.Period).Scan(ctx); err != nil {
		return 0, "", invalid("period", "period %d does not exist", p.Period)
	}
	now := s.now().UTC()
	endDay := s.cal.AddWorkingDays(s.today(), per.PublicityDays)
	for y := s.today().Year(); y <= endDay.Year(); y++ {
		if !s.cal.Covers(y) {
			return 0, "", invalid("calendar", "the working-day calendar has no holiday schedule for %d; add the State Council's schedule (see ratings/holidays.txt, or LABORCREDIT_CALENDAR) before publicizing", y)
		}
	}
	ends := endDay.Format(time.DateOnly)
	n, err := s.bulk(ctx, a, p, bulkStep{action: "publicize", from: StatusConfirmed, to: StatusPublicized,
		set: func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Set("publicized_at = ?", now).Set("publicity_ends = ?", ends)
		},
		then: func(tx bun.Tx, changed []int64) error {
			return s.notifyAll(ctx, tx, changed, "publicized", map[string]any{"publicity_ends": ends}, now)
		},
		detail: map[string]any{"publicity_ends": ends}})
	return n, ends, err
}

// bulkStep is one workflow transition applied to many ratings at once.
type bulkStep struct {
	action   string
	from, to string
	set      func(q *bun.UpdateQuery) *bun.UpdateQuery // further columns to set
	then     func(tx bun.Tx, changed []int64) error    // after the update, in the same transaction
	detail   map[string]any                            // added to the audit entry
}

// bulk applies a transition to the current ratings of a period in a
// region, 1,000 a transaction, each batch audited as one entry. A rating
// another officer moved meanwhile is left alone (the update is guarded by
// the status), so bulk steps and single steps can run side by side.
func (s *Service) bulk(ctx context.Context, a Actor, p BulkParams, st bulkStep) (int, error) {
	if err := officer(a); err != nil {
		return 0, err
	}
	region, prefix, err := s.scope(a, p.Region)
	if err != nil {
		return 0, err
	}
	if exists, err := s.db.NewSelect().Model((*Period)(nil)).Where("year = ?", p.Period).Exists(ctx); err != nil {
		return 0, err
	} else if !exists {
		return 0, invalid("period", "period %d does not exist", p.Period)
	}
	total := 0
	for {
		n, selected := 0, 0
		err := s.inTx(ctx, func(tx bun.Tx) error {
			q := tx.NewSelect().TableExpr("ratings AS r").Join("JOIN employers AS e ON e.id = r.employer_id").
				ColumnExpr("r.id").
				Where("r.current = ? AND r.period = ? AND r.status = ? AND e.region LIKE ?", true, p.Period, st.from, prefix+"%").
				OrderExpr("r.id").Limit(1000)
			if len(p.IDs) > 0 {
				q = q.Where("r.id IN (?)", bun.List(p.IDs))
			}
			var ids []int64
			if err := q.Scan(ctx, &ids); err != nil {
				return fmt.Errorf("%s: %w", st.action, err)
			}
			if len(ids) == 0 {
				return nil
			}
			// Only what this statement changed: another officer may have
			// moved some of them since the select.
			up := tx.NewUpdate().Model((*Rating)(nil)).Set("status = ?", st.to).Set("lock_version = lock_version + 1")
			if st.set != nil {
				up = st.set(up)
			}
			var changed []int64
			if _, err := up.Where("id IN (?) AND status = ?", bun.List(ids), st.from).Returning("id").Exec(ctx, &changed); err != nil {
				return fmt.Errorf("%s: %w", st.action, dbError(err))
			}
			slices.Sort(changed)
			if st.then != nil {
				if err := st.then(tx, changed); err != nil {
					return err
				}
			}
			selected, n = len(ids), len(changed)
			if n == 0 {
				return nil
			}
			after := map[string]any{"ratings": changed, "status": st.to}
			for k, v := range st.detail {
				after[k] = v
			}
			return appendAudit(ctx, tx, s.now().UTC(), a, "rating."+st.action, fmt.Sprintf("period:%d region:%s", p.Period, region),
				map[string]any{"status": st.from}, after)
		})
		if err != nil {
			return total, err
		}
		total += n
		if selected == 0 {
			return total, nil
		}
	}
}

// notify records a notification for an employer: its rating with the
// grade, the reasons and the records behind them, plus extra fields.
func (s *Service) notify(ctx context.Context, db bun.IDB, employerID, ratingID int64, kind string, extra map[string]any, at time.Time) error {
	return s.notifyAll(ctx, db, []int64{ratingID}, kind, extra, at)
}

// notifyAll records the same kind of notification for many ratings (each
// to its employer) with one read and one insert.
func (s *Service) notifyAll(ctx context.Context, db bun.IDB, ratingIDs []int64, kind string, extra map[string]any, at time.Time) error {
	if len(ratingIDs) == 0 {
		return nil
	}
	var rs []Rating
	if err := db.NewSelect().Model(&rs).Column("id", "employer_id", "period", "grade", "engine_grade", "result", "override_reason").
		Where("id IN (?)", bun.List(ratingIDs)).Order("id").Scan(ctx); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if len(rs) != len(ratingIDs) {
		return fmt.Errorf("notify: %w: %d of %d ratings found", ErrNotFound, len(rs), len(ratingIDs))
	}
	ns := make([]Notification, len(rs))
	for i, r := range rs {
		body := map[string]any{"rating_id": r.ID, "period": r.Period, "grade": r.Grade, "engine_grade": r.EngineGrade,
			"result": json.RawMessage(r.Result)}
		if r.OverrideReason != nil {
			body["override_reason"] = *r.OverrideReason
		}
		for k, v := range extra {
			body[k] = v
		}
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		ns[i] = Notification{EmployerID: r.EmployerID, RatingID: r.ID, Kind: kind, Body: string(b), CreatedAt: at}
	}
	if _, err := db.NewInsert().Model(&ns).Exec(ctx); err != nil {
		return fmt.Errorf("notify: %w", dbError(err))
	}
	return nil
}

// Notification tells an employer about its rating.
type Notification struct {
	bun.BaseModel `bun:"table:notifications"`

	ID         int64      `bun:"id,pk,autoincrement" json:"id"`
	EmployerID int64      `bun:"employer_id" json:"-"`
	RatingID   int64      `bun:"rating_id" json:"rating_id"`
	Kind       string     `bun:"kind" json:"kind"`
	Body       string     `bun:"body" json:"-"`
	CreatedAt  time.Time  `bun:"created_at" json:"created_at"`
	ReadAt     *time.Time `bun:"read_at" json:"read_at,omitempty"`
}

// Notifications lists an employer's notifications, newest first.
func (s *Service) Notifications(ctx context.Context, a Actor, uscc string) ([]Notification, error) {
	e, err := EmployerByCode(ctx, s.db, uscc)
	if err != nil {
		return nil, err
	}
	if err := s.canSee(a, e.Region, e.USCC); err != nil {
		return nil, err
	}
	var out []Notification
	if err := s.db.NewSelect().Model(&out).Where("employer_id = ?", e.ID).Order("id DESC").Scan(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

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
		r, err := GetRating(ctx, tx, ref.ID)
		if err != nil {
			return err
		}
		if err := s.within(a, r.Region); err != nil {
			return err
		}
		if !r.Current || r.LockVersion != ref.LockVersion {
			return fmt.Errorf("%w: rating %d changed since it was read (a newer version may replace it)", ErrConflict, r.ID)
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
		r, err := GetRating(ctx, tx, ref.ID)
		if err != nil {
			return err
		}
		if err := s.within(a, r.Region); err != nil {
			return err
		}
		if !r.Current || r.LockVersion != ref.LockVersion {
			return fmt.Errorf("%w: rating %d changed since it was read", ErrConflict, r.ID)
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
	e, err := EmployerByCode(ctx, s.db, uscc)
	if err != nil {
		return nil, err
	}
	if err := s.canSee(a, e.Region, e.USCC); err != nil {
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
