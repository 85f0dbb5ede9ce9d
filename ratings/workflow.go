package ratings

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
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

// visibleEmployer is the employer a code names (LookupCode), if the actor
// may see it: an officer of its region, or the employer itself.
func (s *Service) visibleEmployer(ctx context.Context, a Actor, uscc string) (*Employer, error) {
	uscc, err := s.LookupCode(ctx, uscc)
	if err != nil {
		return nil, err
	}
	e, err := EmployerByCode(ctx, s.db, uscc)
	if err != nil {
		return nil, err
	}
	if err := s.canSee(a, e.Region, e.USCC); err != nil {
		return nil, err
	}
	return e, nil
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

// guard is the preamble of every act on one rating, in tx: the rating
// exists, the actor is an officer of its region, and it is the current
// version at the lock version the caller read.
func (s *Service) guard(ctx context.Context, tx bun.Tx, a Actor, ref Ref) (*RatingView, error) {
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
	return r, nil
}

// transition moves one current rating from one status to another under
// its lock version, in tx, and audits it. change may set more columns.
func (s *Service) transition(ctx context.Context, tx bun.Tx, a Actor, ref Ref, action string, from []string, to string,
	change func(q *bun.UpdateQuery, r *RatingView) (*bun.UpdateQuery, error)) (*RatingView, error) {
	r, err := s.guard(ctx, tx, a, ref)
	if err != nil {
		return nil, err
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
