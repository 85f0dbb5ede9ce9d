package ratings

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// Limits on objections (异议). Anyone may object to a rating under
// publicity and an open objection holds the rating, so filing is bounded
// per client address, per contact and per rating; all are checked in the
// filing's transaction, so they hold across replicas.
const (
	// MaxObjectorName is the longest objector's name, in characters.
	MaxObjectorName = 100
	// MaxObjectionContact is the longest contact (an e-mail address, RFC
	// 5321), in bytes; a phone number has 7 to 15 digits (E.164).
	MaxObjectionContact = 254
	// MaxObjectionReason is the longest reason, in characters.
	MaxObjectionReason = 2000
	// MaxObjectionEvidence is the longest evidence text, in characters.
	MaxObjectionEvidence = 10000
	// MaxObjectionDecision is the longest written decision, in characters.
	MaxObjectionDecision = 2000
	// MaxObjectionAddress is the longest client address, in bytes.
	MaxObjectionAddress = 64

	// OpenObjectionsPerContact is how many open objections one contact
	// (phone, e-mail or employer account) may have on one rating; another
	// is a duplicate (ErrConflict).
	OpenObjectionsPerContact = 1
	// OpenObjectionsPerAddress is how many open public objections may come
	// from one client address to one rating; another is a duplicate
	// (ErrConflict).
	OpenObjectionsPerAddress = 1
	// ObjectionsPerAddressPerDay is how many objections one client address
	// may file in a day (China time), over all ratings; more is a rate
	// limit (*LimitError, retry after midnight China time).
	ObjectionsPerAddressPerDay = 10
	// MaxOpenObjectionsPerRating is how many open public objections one
	// rating takes; more is refused (*LimitError) until officers decide
	// some. One open objection holds the rating already, so more add no
	// hold; the employer's own objection (with its account) is not counted
	// and never refused by this limit, so filling the rating's slots
	// cannot take the rated employer's defence away.
	MaxOpenObjectionsPerRating = 20
	// MaxObjectionDecisionIDs is how many objections one bulk decision
	// names.
	MaxObjectionDecisionIDs = 1000
)

// LimitError is a limit on filing that was reached: the API answers 429,
// with Retry-After when waiting helps.
type LimitError struct {
	Limit      string        // what was reached, for the caller
	RetryAfter time.Duration // how long until it resets; 0 if it resets only when officers decide
}

func (e *LimitError) Error() string { return "limit reached: " + e.Limit }

// errNoPublicity is the one answer to an objection on a rating that does
// not exist, is not current, or is not (or no longer) under publicity:
// the caller learns nothing about ratings it cannot see.
var errNoPublicity = fmt.Errorf("%w: no rating under publicity with this id", ErrNotFound)

// ObjectionParams is an objection as filed: in writing, named, inside the
// publicity period. A public objection gives the objector's name and a
// contact; an employer objecting to its own rating with its account (By)
// gives neither.
type ObjectionParams struct {
	RatingID int64
	FiledBy  string // the objector's name (public objections)
	Contact  string // a phone number or an e-mail address (public objections)
	Reason   string
	Evidence string
	Address  string // the client address the objection came from (required)
	By       *Actor // the logged-in employer filing for itself, or nil
}

// check validates p and returns the name and contact to store.
func (p *ObjectionParams) check() (name, contact string, err error) {
	if err := CheckText("address", p.Address); err != nil {
		return "", "", err
	}
	if p.Address == "" || len(p.Address) > MaxObjectionAddress {
		return "", "", invalid("address", "the client address is required (at most %d bytes)", MaxObjectionAddress)
	}
	if err := checkLong("reason", p.Reason, MaxObjectionReason, true); err != nil {
		return "", "", err
	}
	if err := checkLong("evidence", p.Evidence, MaxObjectionEvidence, false); err != nil {
		return "", "", err
	}
	if p.By != nil {
		if p.By.Role != RoleEmployer {
			return "", "", fmt.Errorf("%w: %s may not object with an account; only an employer may, to its own rating (others object with a name and a contact)", ErrForbidden, p.By)
		}
		if p.FiledBy != "" || p.Contact != "" {
			return "", "", invalid("filed_by", "an objection filed with an employer's account is named by the account; leave filed_by and contact out")
		}
		return p.By.String(), "account:" + p.By.USCC, nil
	}
	name = strings.TrimSpace(p.FiledBy)
	if err := CheckName("filed_by", name); err != nil {
		return "", "", err
	}
	if name == "" {
		return "", "", invalid("filed_by", "an objection must be named")
	}
	if utf8.RuneCountInString(name) > MaxObjectorName {
		return "", "", invalid("filed_by", "at most %d characters", MaxObjectorName)
	}
	contact, err = normalContact(p.Contact)
	return name, contact, err
}

// checkLong checks a free text: valid text, at most max characters, and
// not blank if required.
func checkLong(field, s string, max int, required bool) error {
	if err := CheckText(field, s); err != nil {
		return err
	}
	if required && strings.TrimSpace(s) == "" {
		return invalid(field, "required")
	}
	if utf8.RuneCountInString(s) > max {
		return invalid(field, "at most %d characters", max)
	}
	return nil
}

// normalContact checks a contact and returns it in one spelling, so that
// the same contact written twice is seen as one: an e-mail address in
// lower case, or a phone number as its digits (a leading + kept; spaces,
// dashes, dots and parentheses dropped).
func normalContact(s string) (string, error) {
	if err := CheckName("contact", s); err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", invalid("contact", "required: a phone number or an e-mail address to reach the objector")
	case len(s) > MaxObjectionContact:
		return "", invalid("contact", "at most %d bytes", MaxObjectionContact)
	case strings.Contains(s, "@"):
		a, err := mail.ParseAddress(s)
		at := strings.LastIndexByte(s, '@')
		if err != nil || a.Address != s || a.Name != "" || at > 64 || !strings.Contains(s[at+1:], ".") ||
			strings.ContainsAny(s, " <>\"") {
			return "", invalid("contact", "not an e-mail address (want name@example.com)")
		}
		return strings.ToLower(s), nil
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", invalid("contact", "not a phone number or an e-mail address")
		}
	}
	digits := strings.TrimPrefix(b.String(), "+")
	if len(digits) < 7 || len(digits) > 15 {
		return "", invalid("contact", "a phone number has 7 to 15 digits")
	}
	return b.String(), nil
}

// FileObjection records an objection; while it is open the rating is held
// (not published). The limits above apply; a rating that is not under
// publicity is one answer (ErrNotFound) whatever the reason.
func (s *Service) FileObjection(ctx context.Context, p ObjectionParams) (*Objection, error) {
	name, contact, err := p.check()
	if err != nil {
		return nil, err
	}
	var o *Objection
	err = s.inTx(ctx, func(tx bun.Tx) error {
		// Filings to one rating are serial (SQLite's writes are anyway), so
		// the counts below hold against a burst.
		if err := lockRating(ctx, tx, p.RatingID); errors.Is(err, ErrNotFound) {
			return errNoPublicity
		} else if err != nil {
			return fmt.Errorf("file objection: %w", err)
		}
		r, err := GetRating(ctx, tx, p.RatingID)
		if errors.Is(err, ErrNotFound) {
			return errNoPublicity
		}
		if err != nil {
			return err
		}
		if r.Status != StatusPublicized || !r.Current || s.today().Format(time.DateOnly) > string(r.PublicityEnds) {
			return errNoPublicity
		}
		if p.By != nil && p.By.USCC != r.USCC {
			return fmt.Errorf("%w: an employer may object only to its own rating", ErrForbidden)
		}
		open := func(where string, args ...any) (int, error) {
			n, err := tx.NewSelect().Model((*Objection)(nil)).Where("rating_id = ? AND status = ?", r.ID, ObjectionOpen).
				Where(where, args...).Count(ctx)
			if err != nil {
				return 0, fmt.Errorf("file objection: %w", err)
			}
			return int(n), nil
		}
		if n, err := open("contact = ?", contact); err != nil {
			return err
		} else if n >= OpenObjectionsPerContact {
			from := "this contact"
			if p.By != nil {
				from = "this employer's account"
			}
			return fmt.Errorf("%w: an objection from %s to this rating is open already; it will be answered", ErrConflict, from)
		}
		if p.By == nil {
			if n, err := open("address = ? AND by_employer = ?", p.Address, false); err != nil {
				return err
			} else if n >= OpenObjectionsPerAddress {
				return fmt.Errorf("%w: an objection from this address to this rating is open already; it will be answered", ErrConflict)
			}
			if n, err := open("by_employer = ?", false); err != nil {
				return err
			} else if n >= MaxOpenObjectionsPerRating {
				return &LimitError{Limit: fmt.Sprintf("this rating has %d open objections, the most it takes; it is held until they are decided", n)}
			}
		}
		if err := s.countFiling(ctx, tx, p.Address); err != nil {
			return err
		}
		now := s.now().UTC()
		o = &Objection{RatingID: r.ID, FiledBy: name, Contact: contact, Address: p.Address, ByEmployer: p.By != nil,
			FiledAt: now, Reason: p.Reason, Evidence: p.Evidence, Status: ObjectionOpen}
		if _, err := tx.NewInsert().Model(o).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("file objection: %w", dbError(err))
		}
		by := Actor{Name: name, Role: "public"}
		if p.By != nil {
			by = *p.By
		}
		return appendAudit(ctx, tx, now, by, "objection.file", fmt.Sprintf("rating:%d objection:%d", r.ID, o.ID), nil,
			map[string]any{"reason": p.Reason, "evidence": p.Evidence, "by_employer": o.ByEmployer})
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// lockRating takes the rating's row lock on PostgreSQL until the end of
// tx (SQLite's transactions are serial already): filings and decisions on
// one rating go one after the other, always rating first, then its
// objections.
func lockRating(ctx context.Context, tx bun.Tx, id int64) error {
	if !IsPostgres(tx) {
		return nil
	}
	err := tx.NewSelect().Model((*Rating)(nil)).Column("id").Where("id = ?", id).For("UPDATE").Scan(ctx, new(int64))
	if err != nil {
		return fmt.Errorf("lock rating %d: %w", id, dbError(err))
	}
	return nil
}

// countFiling counts one filing against the address's daily limit, or
// refuses it. The conditional update takes the quota row's lock, so
// concurrent filings from one address are counted one after the other.
func (s *Service) countFiling(ctx context.Context, tx bun.Tx, address string) error {
	n := s.now().In(chinaTime)
	day := Date(n.Format(time.DateOnly))
	if _, err := tx.NewInsert().Model(&objectionQuota{Address: address, Day: day}).On("CONFLICT (address, day) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("objection quota: %w", dbError(err))
	}
	res, err := tx.NewUpdate().Model((*objectionQuota)(nil)).Set("filed = filed + 1").
		Where("address = ? AND day = ? AND filed < ?", address, day, ObjectionsPerAddressPerDay).Exec(ctx)
	if err != nil {
		return fmt.Errorf("objection quota: %w", dbError(err))
	}
	if k, _ := res.RowsAffected(); k != 1 {
		midnight := time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, chinaTime)
		return &LimitError{Limit: fmt.Sprintf("at most %d objections a day from one address", ObjectionsPerAddressPerDay),
			RetryAfter: midnight.Sub(n)}
	}
	return nil
}

// objectionQuota counts the objections filed from one address on one day.
type objectionQuota struct {
	bun.BaseModel `bun:"table:objection_quota"`

	Address string `bun:"address,pk"`
	Day     Date   `bun:"day,pk"`
	Filed   int    `bun:"filed"`
}

// DecideObjection answers one open objection: upheld (true) or rejected.
// It is DecideObjections for one id.
func (s *Service) DecideObjection(ctx context.Context, a Actor, objectionID int64, upheld bool, decision string) error {
	outcome := ObjectionRejected
	if upheld {
		outcome = ObjectionUpheld
	}
	_, err := s.DecideObjections(ctx, a, DecideObjectionsParams{IDs: []int64{objectionID}, Outcome: outcome, Decision: decision})
	return err
}

// DecideObjectionsParams choose open objections to one rating and the
// answer to all of them.
type DecideObjectionsParams struct {
	RatingID int64   // the rating; 0 takes it from the objections (IDs then name one rating's objections)
	IDs      []int64 // these objections (each open, each to the rating)
	All      bool    // or every open objection to the rating
	// Outcome: upheld sends the rating back to review (and answers the
	// other open objections to it the same); rejected and inadmissible
	// leave it under publicity, published once no objection is open.
	Outcome  string
	Decision string // the written answer; for inadmissible, why (a duplicate, no reason given, out of scope)
}

// ObjectionsDecided says what a decision did.
type ObjectionsDecided struct {
	RatingID int64   `json:"rating_id"`
	Outcome  string  `json:"outcome"`
	Decided  []int64 `json:"decided"`  // the objections named (or all open ones)
	Answered []int64 `json:"answered"` // other open objections an upheld one answered too
	Status   string  `json:"rating_status"`
}

// DecideObjections answers open objections to one rating at once, in one
// transaction, one audit entry per objection. Officers of the rating's
// region decide.
func (s *Service) DecideObjections(ctx context.Context, a Actor, p DecideObjectionsParams) (*ObjectionsDecided, error) {
	if err := officer(a); err != nil {
		return nil, err
	}
	switch p.Outcome {
	case ObjectionUpheld, ObjectionRejected, ObjectionInadmissible:
	default:
		return nil, invalid("outcome", "want %s, %s or %s", ObjectionUpheld, ObjectionRejected, ObjectionInadmissible)
	}
	if strings.TrimSpace(p.Decision) == "" {
		return nil, invalid("decision", "required: the answer to the objector")
	}
	if err := checkLong("decision", p.Decision, MaxObjectionDecision, true); err != nil {
		return nil, err
	}
	switch {
	case p.All && len(p.IDs) > 0:
		return nil, invalid("ids", "give ids or all, not both")
	case !p.All && len(p.IDs) == 0:
		return nil, invalid("ids", "name the objections (ids) or all")
	case len(p.IDs) > MaxObjectionDecisionIDs:
		return nil, invalid("ids", "at most %d objections a decision", MaxObjectionDecisionIDs)
	case p.All && p.RatingID == 0:
		return nil, invalid("rating_id", "required with all")
	}
	ids := slices.Clone(p.IDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out *ObjectionsDecided
	err := s.inTx(ctx, func(tx bun.Tx) error {
		var obs []Objection
		q := tx.NewSelect().Model(&obs).Order("id")
		if p.All {
			q = q.Where("rating_id = ? AND status = ?", p.RatingID, ObjectionOpen)
		} else {
			q = q.Where("id IN (?)", bun.List(ids))
		}
		if err := q.Scan(ctx); err != nil {
			return fmt.Errorf("decide objections: %w", err)
		}
		if len(obs) == 0 && !p.All {
			return fmt.Errorf("objection %d: %w", ids[0], ErrNotFound)
		}
		ratingID := p.RatingID
		if ratingID == 0 {
			ratingID = obs[0].RatingID
		}
		if err := lockRating(ctx, tx, ratingID); err != nil {
			return err
		}
		r, err := GetRating(ctx, tx, ratingID)
		if err != nil {
			return err
		}
		if err := s.within(a, r.Region); err != nil {
			return err
		}
		if len(obs) == 0 {
			return invalid("all", "rating %d has no open objection", r.ID)
		}
		found := make(map[int64]bool, len(obs))
		for _, o := range obs {
			found[o.ID] = true
			if o.RatingID != r.ID {
				return invalid("ids", "objection %d is not an objection to rating %d", o.ID, r.ID)
			}
			if o.Status != ObjectionOpen {
				return fmt.Errorf("%w: objection %d is already %s", ErrConflict, o.ID, o.Status)
			}
		}
		for _, id := range ids {
			if !found[id] {
				return fmt.Errorf("objection %d: %w", id, ErrNotFound)
			}
		}
		decided := make([]int64, len(obs))
		for i, o := range obs {
			decided[i] = o.ID
		}
		now := s.now().UTC()
		if err := s.answer(ctx, tx, a, r.ID, decided, p.Outcome, p.Decision, now); err != nil {
			return err
		}
		out = &ObjectionsDecided{RatingID: r.ID, Outcome: p.Outcome, Decided: decided, Answered: []int64{}, Status: r.Status}
		if p.Outcome != ObjectionUpheld {
			return nil
		}
		// The rating goes back to review: the other objections to it are
		// answered by that too, so none is left to hold its next publicity.
		var others []int64
		if err := tx.NewSelect().Model((*Objection)(nil)).Column("id").Where("rating_id = ? AND status = ?", r.ID, ObjectionOpen).
			Order("id").Scan(ctx, &others); err != nil {
			return fmt.Errorf("decide objections: %w", err)
		}
		if len(others) > 0 {
			text := "upheld with objection " + strconv.FormatInt(decided[0], 10) + ": " + p.Decision
			if err := s.answer(ctx, tx, a, r.ID, others, ObjectionUpheld, text, now); err != nil {
				return err
			}
			out.Answered = others
		}
		after, err := s.transition(ctx, tx, a, Ref{ID: r.ID, LockVersion: r.LockVersion}, "reopen", []string{StatusPublicized}, StatusReviewed,
			func(q *bun.UpdateQuery, _ *RatingView) (*bun.UpdateQuery, error) {
				return q.Set("publicized_at = NULL").Set("publicity_ends = NULL"), nil
			})
		if err != nil {
			return err
		}
		out.Status = after.Status
		return s.notify(ctx, tx, r.EmployerID, r.ID, "objection_upheld", map[string]any{"decision": p.Decision}, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// answer decides open objections to a rating with one outcome and text,
// one statement, one audit entry per objection.
func (s *Service) answer(ctx context.Context, tx bun.Tx, a Actor, ratingID int64, ids []int64, outcome, text string, now time.Time) error {
	var changed []int64
	if _, err := tx.NewUpdate().Model((*Objection)(nil)).
		Set("status = ?, decided_by = ?, decided_at = ?, decision = ?", outcome, a.String(), now, text).
		Where("id IN (?) AND status = ?", bun.List(ids), ObjectionOpen).Returning("id").Exec(ctx, &changed); err != nil {
		return fmt.Errorf("decide objections: %w", dbError(err))
	}
	if len(changed) != len(ids) {
		return fmt.Errorf("%w: objections to rating %d were decided meanwhile", ErrConflict, ratingID)
	}
	for _, id := range ids {
		if err := appendAudit(ctx, tx, now, a, "objection."+outcome, fmt.Sprintf("rating:%d objection:%d", ratingID, id),
			map[string]any{"status": ObjectionOpen}, map[string]any{"status": outcome, "decision": text}); err != nil {
			return err
		}
	}
	return nil
}

// ObjectionFilter selects objections for an officer's queue.
type ObjectionFilter struct {
	Region   string // GB/T 2260 code inside the officer's region; default: the officer's
	RatingID int64  // only the objections to this rating; 0: all
	Status   string // open, upheld, rejected, inadmissible; "": all
	Page     int    // 1-based pages of 100, oldest first
}

// ObjectionView is an objection with the rating and employer it is about,
// as officers see it (the objector's name and contact included; employers
// and the public never see those).
type ObjectionView struct {
	Objection `bun:",extend"`
	Period    int    `bun:"period" json:"period"`
	USCC      string `bun:"uscc" json:"uscc"`
	Name      string `bun:"name" json:"name"`
	Region    string `bun:"region" json:"region"`
}

// Objections lists objections to ratings in an officer's region: the queue
// an officer reads before deciding. Only officers may, inside their region.
func (s *Service) Objections(ctx context.Context, a Actor, f ObjectionFilter) ([]ObjectionView, error) {
	prefix, offset, err := s.officerList(a, f.Region, f.Page, f.Status, ObjectionOpen, ObjectionUpheld, ObjectionRejected, ObjectionInadmissible)
	if err != nil {
		return nil, err
	}
	var rows []ObjectionView
	q := s.db.NewSelect().Model(&rows).ColumnExpr("objection.*, r.period, e.uscc, e.name, e.region").
		Join("JOIN ratings AS r ON r.id = objection.rating_id").
		Join("JOIN employers AS e ON e.id = r.employer_id").
		Where("e.region LIKE ?", prefix+"%").OrderExpr("objection.id").Limit(100).Offset(offset)
	if f.RatingID != 0 {
		q = q.Where("objection.rating_id = ?", f.RatingID)
	}
	if f.Status != "" {
		q = q.Where("objection.status = ?", f.Status)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list objections: %w", err)
	}
	if rows == nil {
		rows = []ObjectionView{}
	}
	return rows, nil
}
