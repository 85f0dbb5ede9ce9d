package ratings

// Notifications: what employers are told about their ratings.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

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
	e, err := s.visibleEmployer(ctx, a, uscc)
	if err != nil {
		return nil, err
	}
	var out []Notification
	if err := s.db.NewSelect().Model(&out).Where("employer_id = ?", e.ID).Order("id DESC").Scan(ctx); err != nil {
		return nil, err
	}
	return out, nil
}
