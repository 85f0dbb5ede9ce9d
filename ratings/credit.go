package ratings

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"laborcredit/engine"
)

// CreditRating is what credit sharing and the public see of an employer:
// published data only — the grade, the reasons with their legal basis,
// the awards, the history — never the facts, the evidence or officers'
// notes.
type CreditRating struct {
	USCC        string          `json:"uscc"`
	Name        string          `json:"name"`
	Region      string          `json:"region"`
	Period      int             `json:"period"`
	Grade       string          `json:"grade"`
	Version     int             `json:"version"`
	Corrected   bool            `json:"corrected"`
	PublishedAt time.Time       `json:"published_at"`
	RuleSet     string          `json:"rule_set"`
	Reasons     []CreditReason  `json:"reasons"`
	Awards      []string        `json:"awards"`
	History     []CreditHistory `json:"history"`
}

// CreditReason is one fired rule as published.
type CreditReason struct {
	Rule   string `json:"rule"`
	Basis  string `json:"basis"`
	Reason string `json:"reason"`
}

// CreditHistory is the published grade of one period.
type CreditHistory struct {
	Period      int       `json:"period"`
	Grade       string    `json:"grade"`
	PublishedAt time.Time `json:"published_at"`
}

func reasonsOf(result string) []CreditReason {
	var r struct {
		Fired []CreditReason `json:"fired"`
	}
	json.Unmarshal([]byte(result), &r) //nolint:errcheck // a stored result is engine output
	if r.Fired == nil {
		return []CreditReason{}
	}
	return r.Fired
}

type publishedRow struct {
	EmployerID  int64     `bun:"employer_id"`
	USCC        string    `bun:"uscc"`
	Name        string    `bun:"name"`
	Region      string    `bun:"region"`
	Period      int       `bun:"period"`
	Version     int       `bun:"version"`
	Grade       string    `bun:"grade"`
	Result      string    `bun:"result"`
	PublishedAt time.Time `bun:"published_at"`
	Current     bool      `bun:"current"`
}

// creditRatings builds the credit view of employers from their published
// versions: the rating in force before `before` (zero: now), with history.
func creditRatings(ctx context.Context, db bun.IDB, employerIDs []int64, before time.Time) (map[int64]*CreditRating, error) {
	out := map[int64]*CreditRating{}
	if len(employerIDs) == 0 {
		return out, nil
	}
	q := db.NewSelect().TableExpr("ratings AS r").Join("JOIN employers AS e ON e.id = r.employer_id").
		ColumnExpr("r.employer_id, e.uscc, e.name, e.region, r.period, r.version, r.grade, r.result, r.published_at, r.current").
		Where("r.status = ? AND r.employer_id IN (?)", StatusPublished, bun.List(employerIDs)).
		OrderExpr("r.employer_id, r.period DESC, r.published_at DESC, r.version DESC")
	if !before.IsZero() {
		q = q.Where("r.published_at < ?", before)
	}
	var rows []publishedRow
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("published ratings: %w", err)
	}
	for _, r := range rows {
		c := out[r.EmployerID]
		if c == nil {
			// The first row of an employer is the one in force.
			var res struct {
				RuleSet string `json:"rule_set"`
			}
			json.Unmarshal([]byte(r.Result), &res) //nolint:errcheck
			c = &CreditRating{USCC: r.USCC, Name: r.Name, Region: r.Region, Period: r.Period, Grade: r.Grade, Version: r.Version,
				Corrected: r.Version > 1, PublishedAt: r.PublishedAt.UTC(), RuleSet: res.RuleSet, Reasons: reasonsOf(r.Result),
				Awards: []string{}, History: []CreditHistory{}}
			out[r.EmployerID] = c
		}
		if n := len(c.History); n == 0 || c.History[n-1].Period != r.Period {
			c.History = append(c.History, CreditHistory{Period: r.Period, Grade: r.Grade, PublishedAt: r.PublishedAt.UTC()})
		}
	}
	var awards []struct {
		EmployerID int64  `bun:"employer_id"`
		Period     int    `bun:"period"`
		Award      string `bun:"award"`
	}
	aq := db.NewSelect().Model((*Nomination)(nil)).Column("employer_id", "period", "award").
		Where("status = ? AND employer_id IN (?)", "approved", bun.List(employerIDs)).Order("period DESC")
	if !before.IsZero() {
		aq = aq.Where("decided_at < ?", before)
	}
	if err := aq.Scan(ctx, &awards); err != nil {
		return nil, fmt.Errorf("awards: %w", err)
	}
	for _, a := range awards {
		if c := out[a.EmployerID]; c != nil {
			c.Awards = append(c.Awards, fmt.Sprintf("%d %s", a.Period, awardTitle(a.Award)))
		}
	}
	return out, nil
}

// awardTitle names an award; the shipped rule sets call best-integrity-unit 最佳诚信单位.
func awardTitle(id string) string {
	if id == "best-integrity-unit" {
		return "最佳诚信单位"
	}
	return id
}

// refreshCreditDocs rebuilds the credit documents of employers, in the
// caller's transaction.
func refreshCreditDocs(ctx context.Context, tx bun.IDB, employerIDs []int64, at time.Time) error {
	docs, err := creditRatings(ctx, tx, employerIDs, time.Time{})
	if err != nil {
		return err
	}
	for id, c := range docs {
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		_, err = tx.NewInsert().Model(&creditDoc{USCC: c.USCC, EmployerID: id, Doc: string(b), UpdatedAt: at}).
			On("CONFLICT (uscc) DO UPDATE").Set("doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("credit document %s: %w", c.USCC, dbError(err))
		}
	}
	return nil
}

type creditDoc struct {
	bun.BaseModel `bun:"table:credit_documents"`

	USCC       string    `bun:"uscc,pk"`
	EmployerID int64     `bun:"employer_id"`
	Doc        string    `bun:"doc"`
	UpdatedAt  time.Time `bun:"updated_at"`
}

// CreditDocument returns the published credit document of an employer as
// JSON, with one primary-key read. ErrNotFound: no published rating.
func (s *Service) CreditDocument(ctx context.Context, uscc string) ([]byte, error) {
	var doc string
	err := s.db.NewSelect().Model((*creditDoc)(nil)).Column("doc").Where("uscc = ?", uscc).Scan(ctx, &doc)
	if err != nil {
		return nil, dbError(err)
	}
	return []byte(doc), nil
}

// CreditAsOf returns the credit view in force at the end of a date (China
// time), corrections respected.
func (s *Service) CreditAsOf(ctx context.Context, uscc, date string) (*CreditRating, error) {
	if !engine.ValidDate(date) {
		return nil, invalid("as_of", "not a date (want YYYY-MM-DD): %q", date)
	}
	e, err := EmployerByCode(ctx, s.db, uscc)
	if err != nil {
		return nil, err
	}
	d, _ := time.ParseInLocation(time.DateOnly, date, chinaTime)
	docs, err := creditRatings(ctx, s.db, []int64{e.ID}, d.AddDate(0, 0, 1).UTC())
	if err != nil {
		return nil, err
	}
	c := docs[e.ID]
	if c == nil {
		return nil, fmt.Errorf("no rating of %s was in force on %s: %w", uscc, date, ErrNotFound)
	}
	return c, nil
}

// BatchItem is the answer for one code of a batch query.
type BatchItem struct {
	USCC   string          `json:"uscc"`
	Status string          `json:"status"` // found, not_published, invalid
	Error  string          `json:"error,omitempty"`
	Rating json.RawMessage `json:"rating,omitempty"`
}

// MaxBatch is the most codes one batch query may hold.
const MaxBatch = 1000

// CreditBatch answers up to MaxBatch codes in three reads at most.
func (s *Service) CreditBatch(ctx context.Context, codes []string) ([]BatchItem, error) {
	if len(codes) == 0 {
		return nil, invalid("codes", "at least one code is required")
	}
	if len(codes) > MaxBatch {
		return nil, invalid("codes", "at most %d codes in one request, got %d", MaxBatch, len(codes))
	}
	out := make([]BatchItem, len(codes))
	tidied, errs, err := s.lookupCodes(ctx, codes)
	if err != nil {
		return nil, err
	}
	var valid []string
	for i, c := range tidied {
		out[i].USCC = c
		var ce *CodeError
		if errors.As(errs[i], &ce) {
			out[i].Status, out[i].Error = "invalid", ce.Err.Error()
			continue
		}
		valid = append(valid, c)
	}
	docs := map[string]string{}
	if len(valid) > 0 {
		var rows []creditDoc
		if err := s.db.NewSelect().Model(&rows).Column("uscc", "doc").Where("uscc IN (?)", bun.List(valid)).Scan(ctx); err != nil {
			return nil, err
		}
		for _, r := range rows {
			docs[r.USCC] = r.Doc
		}
	}
	for i := range out {
		if out[i].Status != "" {
			continue
		}
		if d, ok := docs[out[i].USCC]; ok {
			out[i].Status, out[i].Rating = "found", json.RawMessage(d)
		} else {
			out[i].Status = "not_published"
		}
	}
	return out, nil
}

// Change is one publication in the feed: a published rating or a
// correction.
type Change struct {
	USCC        string         `json:"uscc"`
	Name        string         `json:"name"`
	Region      string         `json:"region"`
	Period      int            `json:"period"`
	Version     int            `json:"version"`
	Grade       string         `json:"grade"`
	Correction  bool           `json:"correction"`
	PublishedAt time.Time      `json:"published_at"`
	Reasons     []CreditReason `json:"reasons"`
}

// nextFeedSeq takes the next number of the changes feed for the calling
// transaction. The feed head's row lock is held until the transaction ends,
// so numbers are taken in commit order.
func nextFeedSeq(ctx context.Context, tx bun.IDB) (int64, error) {
	if _, err := tx.NewUpdate().Table("feed_head").Set("seq = seq + 1").Where("id = 1").Exec(ctx); err != nil {
		return 0, fmt.Errorf("feed: %w", err)
	}
	var seq int64
	if err := tx.NewSelect().Table("feed_head").Column("seq").Where("id = 1").Scan(ctx, &seq); err != nil {
		return 0, fmt.Errorf("feed: %w", err)
	}
	return seq, nil
}

// Changes returns up to limit publications after the cursor ("" from the
// beginning), in the order they were committed, and the cursor to
// continue from: a mirror that follows the cursor misses nothing.
func (s *Service) Changes(ctx context.Context, cursor string, limit int) ([]Change, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var afterSeq, afterID int64
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		parts := strings.SplitN(string(b), ":", 2)
		if err != nil || len(parts) != 2 {
			return nil, "", invalid("since", "not a cursor from this feed")
		}
		seq, err1 := strconv.ParseInt(parts[0], 10, 64)
		id, err2 := strconv.ParseInt(parts[1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, "", invalid("since", "not a cursor from this feed")
		}
		afterSeq, afterID = seq, id
	}
	var rows []struct {
		publishedRow `bun:",extend"`
		ID           int64 `bun:"id"`
		FeedSeq      int64 `bun:"feed_seq"`
	}
	q := s.db.NewSelect().TableExpr("ratings AS r").Join("JOIN employers AS e ON e.id = r.employer_id").
		ColumnExpr("r.id, r.feed_seq, r.employer_id, e.uscc, e.name, e.region, r.period, r.version, r.grade, r.result, r.published_at, r.current").
		Where("r.status = ? AND r.feed_seq IS NOT NULL", StatusPublished).OrderExpr("r.feed_seq, r.id").Limit(int64(limit))
	if cursor != "" {
		q = q.Where("(r.feed_seq > ? OR (r.feed_seq = ? AND r.id > ?))", afterSeq, afterSeq, afterID)
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, "", err
	}
	out := make([]Change, len(rows))
	next := cursor
	for i, r := range rows {
		out[i] = Change{USCC: r.USCC, Name: r.Name, Region: r.Region, Period: r.Period, Version: r.Version, Grade: r.Grade,
			Correction: r.Version > 1, PublishedAt: r.PublishedAt.UTC(), Reasons: reasonsOf(r.Result)}
		next = base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d:%d", r.FeedSeq, r.ID)))
	}
	return out, next, nil
}
