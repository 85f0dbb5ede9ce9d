package ratings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"laborcredit/engine"
)

// Nomination is a city's nomination of an employer for an award, and the
// province's decision on it.
type Nomination struct {
	bun.BaseModel `bun:"table:award_nominations"`

	ID          int64      `bun:"id,pk,autoincrement" json:"id"`
	EmployerID  int64      `bun:"employer_id" json:"-"`
	Period      int        `bun:"period" json:"period"`
	Award       string     `bun:"award" json:"award"`
	NominatedBy string     `bun:"nominated_by" json:"nominated_by"`
	NominatedAt time.Time  `bun:"nominated_at" json:"nominated_at"`
	Status      string     `bun:"status" json:"status"`
	DecidedBy   *string    `bun:"decided_by" json:"decided_by,omitempty"`
	DecidedAt   *time.Time `bun:"decided_at" json:"decided_at,omitempty"`
	Reason      *string    `bun:"reason" json:"reason,omitempty"`
}

// Nominate: a city (市州) nominates an employer of its region for an award
// of the period. The employer's current rating must be published, graded
// A (the rule set's best grade), and marked eligible for that award by the
// rule set.
func (s *Service) Nominate(ctx context.Context, a Actor, uscc string, period int, award string) (*Nomination, error) {
	if err := a.require(RoleCity); err != nil {
		return nil, err
	}
	uscc, err := s.LookupCode(ctx, uscc)
	if err != nil {
		return nil, err
	}
	var n *Nomination
	err = s.inTx(ctx, func(tx bun.Tx) error {
		e, err := s.employerFor(ctx, tx, a, uscc)
		if err != nil {
			return err
		}
		var r Rating
		err = tx.NewSelect().Model(&r).Where("employer_id = ? AND period = ? AND current = ?", e.ID, period, true).Scan(ctx)
		if errors.Is(dbError(err), ErrNotFound) {
			return invalid("uscc", "%s has no rating for %d", uscc, period)
		}
		if err != nil {
			return err
		}
		if r.Status != StatusPublished {
			return invalid("uscc", "the %d rating of %s is %s, not published", period, uscc, r.Status)
		}
		rs, _, err := RuleSetByID(ctx, tx, r.RuleSetID)
		if err != nil {
			return err
		}
		if r.Grade != rs.Grades[0] {
			return invalid("uscc", "%s is graded %s for %d; only %s-grade employers may be nominated", uscc, r.Grade, period, rs.Grades[0])
		}
		ok, err := EligibleFor(r.Result, award)
		if err != nil {
			return fmt.Errorf("rating %d result: %w", r.ID, err)
		}
		if !ok {
			return invalid("award", "the rule set does not find %s eligible for %q in %d", uscc, award, period)
		}
		n = &Nomination{EmployerID: e.ID, Period: period, Award: award, NominatedBy: a.String(), NominatedAt: s.now().UTC(), Status: "nominated"}
		if _, err := tx.NewInsert().Model(n).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("nominate %s: %w", uscc, dbError(err))
		}
		return appendAudit(ctx, tx, s.now(), a, "award.nominate", fmt.Sprintf("uscc:%s period:%d award:%s", uscc, period, award), nil,
			map[string]any{"nomination": n.ID})
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// DecideNomination: the province approves or rejects a nomination; a
// rejection needs a reason.
func (s *Service) DecideNomination(ctx context.Context, a Actor, id int64, approve bool, reason string) error {
	if err := a.require(RoleProvince); err != nil {
		return err
	}
	if !approve && strings.TrimSpace(reason) == "" {
		return invalid("reason", "a rejection needs a reason")
	}
	return s.inTx(ctx, func(tx bun.Tx) error {
		var n Nomination
		if err := tx.NewSelect().Model(&n).Where("id = ?", id).Scan(ctx); err != nil {
			return fmt.Errorf("nomination %d: %w", id, dbError(err))
		}
		var e Employer
		if err := tx.NewSelect().Model(&e).Where("id = ?", n.EmployerID).Scan(ctx); err != nil {
			return err
		}
		if err := s.within(a, e.Region); err != nil {
			return err
		}
		status := "rejected"
		if approve {
			status = "approved"
		}
		var rp *string
		if strings.TrimSpace(reason) != "" {
			rp = &reason
		}
		now := s.now().UTC()
		by := a.String()
		res, err := tx.NewUpdate().Model((*Nomination)(nil)).Set("status = ?, decided_by = ?, decided_at = ?, reason = ?", status, by, now, rp).
			Where("id = ? AND status = ?", id, "nominated").Exec(ctx)
		if err != nil {
			return fmt.Errorf("decide nomination %d: %w", id, dbError(err))
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return fmt.Errorf("%w: nomination %d is already %s", ErrConflict, id, n.Status)
		}
		if approve {
			if err := refreshCreditDocs(ctx, tx, []int64{n.EmployerID}, now); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, now, a, "award."+status, fmt.Sprintf("nomination:%d uscc:%s period:%d award:%s", id, e.USCC, n.Period, n.Award),
			map[string]any{"status": "nominated"}, map[string]any{"status": status, "reason": reason})
	})
}

// AwardEntry is one line of the public award roll.
type AwardEntry struct {
	USCC       string    `json:"uscc"`
	Name       string    `json:"name"`
	Region     string    `json:"region"`
	Period     int       `json:"period"`
	Award      string    `json:"award"`
	ApprovedAt time.Time `json:"approved_at"`
}

// AwardRoll lists the approved awards of a period (0: every period) inside
// a region ("" or AllRegions: everywhere).
func (s *Service) AwardRoll(ctx context.Context, period int, region string) ([]AwardEntry, error) {
	prefix := ""
	if region != "" {
		var err error
		if prefix, err = s.regionPrefix(region); err != nil {
			return nil, invalid("region", "%v", err)
		}
	}
	q := s.db.NewSelect().TableExpr("award_nominations AS n").Join("JOIN employers AS e ON e.id = n.employer_id").
		ColumnExpr("e.uscc, e.name, e.region, n.period, n.award, n.decided_at AS approved_at").
		Where("n.status = ?", "approved").Where("e.region LIKE ?", prefix+"%").OrderExpr("n.period DESC, e.region, e.name")
	if period != 0 {
		q = q.Where("n.period = ?", period)
	}
	var out []AwardEntry
	if err := q.Scan(ctx, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Declaration is an employer's own submission: its annual declaration
// (the figures of the written review) or its application for an award.
type Declaration struct {
	bun.BaseModel `bun:"table:declarations"`

	ID          int64     `bun:"id,pk,autoincrement" json:"id"`
	EmployerID  int64     `bun:"employer_id" json:"-"`
	Period      int       `bun:"period" json:"period"`
	Kind        string    `bun:"kind" json:"kind"`
	Payload     string    `bun:"payload" json:"-"`
	SubmittedBy string    `bun:"submitted_by" json:"submitted_by"`
	SubmittedAt time.Time `bun:"submitted_at" json:"submitted_at"`
}

// DeclarationDeadline is the last day of the declarations of a period: the
// end of July of the year after it (DOMAIN.md: declarations by the end of
// July, ratings by the end of September).
func DeclarationDeadline(period int) string { return fmt.Sprintf("%d-07-31", period+1) }

// DeclareAnnual: an employer submits its annual declaration for a period.
// It becomes the period's annual review (submitted, on time when it came
// by the deadline). A later declaration replaces it.
func (s *Service) DeclareAnnual(ctx context.Context, a Actor, period int, r engine.AnnualReview) error {
	if err := a.require(RoleEmployer); err != nil {
		return err
	}
	today := s.today()
	if period >= today.Year() {
		return invalid("period", "the declaration for %d is made after it ends, from %d on", period, period+1)
	}
	r.Submitted = true
	r.OnTime = today.Format(time.DateOnly) <= DeclarationDeadline(period)
	if err := checkReview(period, r); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx bun.Tx) error {
		e, err := EmployerByCode(ctx, tx, a.USCC)
		if err != nil {
			return invalid("uscc", "no employer with code %s is registered", a.USCC)
		}
		var published int
		if err := tx.NewSelect().Model((*Rating)(nil)).ColumnExpr("count(*)").
			Where("employer_id = ? AND period = ? AND status = ?", e.ID, period, StatusPublished).Scan(ctx, &published); err != nil {
			return err
		}
		if published > 0 {
			return invalid("period", "the rating of %d is published; ask the office for a correction instead", period)
		}
		// A correction after the deadline keeps the on-time of a first
		// declaration made in time.
		var first Declaration
		err = tx.NewSelect().Model(&first).Where("employer_id = ? AND period = ? AND kind = ?", e.ID, period, "annual").Scan(ctx)
		if err == nil && first.SubmittedAt.In(chinaTime).Format(time.DateOnly) <= DeclarationDeadline(period) {
			r.OnTime = true
		}
		payload, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := s.declare(ctx, tx, a, e, period, "annual", string(payload)); err != nil {
			return err
		}
		return upsertReview(ctx, tx, e.ID, period, r)
	})
}

// ApplyForAward: an employer applies for an award (voluntary application,
// as in Hubei's red list); the city sees applications when nominating.
func (s *Service) ApplyForAward(ctx context.Context, a Actor, period int, award, statement string) error {
	if err := a.require(RoleEmployer); err != nil {
		return err
	}
	if strings.TrimSpace(award) == "" {
		return invalid("award", "required")
	}
	payload, err := json.Marshal(map[string]string{"award": award, "statement": statement})
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx bun.Tx) error {
		e, err := EmployerByCode(ctx, tx, a.USCC)
		if err != nil {
			return invalid("uscc", "no employer with code %s is registered", a.USCC)
		}
		rs, _, err := ActiveRuleSet(ctx, tx, period)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(rs.Awards(), func(x *engine.Award) bool { return x.ID == award }) {
			return invalid("award", "the rule set of %d has no award %q", period, award)
		}
		return s.declare(ctx, tx, a, e, period, "award", string(payload))
	})
}

func (s *Service) declare(ctx context.Context, tx bun.Tx, a Actor, e *Employer, period int, kind, payload string) error {
	d := &Declaration{EmployerID: e.ID, Period: period, Kind: kind, Payload: payload, SubmittedBy: a.String(), SubmittedAt: s.now().UTC()}
	_, err := tx.NewInsert().Model(d).On("CONFLICT (employer_id, period, kind) DO UPDATE").
		Set("payload = EXCLUDED.payload, submitted_by = EXCLUDED.submitted_by").Exec(ctx) // submitted_at stays the first
	if err != nil {
		return fmt.Errorf("declare: %w", dbError(err))
	}
	return appendAudit(ctx, tx, s.now(), a, "declaration."+kind, fmt.Sprintf("uscc:%s period:%d", e.USCC, period), nil, json.RawMessage(payload))
}

// EligibleFor says whether a stored engine result (a rating's Result)
// marks the employer eligible for an award.
func EligibleFor(result, award string) (bool, error) {
	var res struct {
		Awards []struct {
			ID string `json:"id"`
		} `json:"awards"`
	}
	if err := json.Unmarshal([]byte(result), &res); err != nil {
		return false, err
	}
	for _, a := range res.Awards {
		if a.ID == award {
			return true, nil
		}
	}
	return false, nil
}
