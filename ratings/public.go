package ratings

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"laborcredit/engine"
)

// PublicQuery filters the public list of published ratings.
type PublicQuery struct {
	Q       string // part of the name, or a whole code
	Region  string // GB/T 2260 code; sub-regions included
	Grade   string
	Period  int // default: the latest published period
	Page    int // from 1
	PerPage int // default 20, at most 100
}

// PublicItem is one line of the public list.
type PublicItem struct {
	USCC        string    `json:"uscc"`
	Name        string    `json:"name"`
	Region      string    `json:"region"`
	Period      int       `json:"period"`
	Grade       string    `json:"grade"`
	PublishedAt time.Time `json:"published_at"`
}

// PublicPage is a page of the public list.
type PublicPage struct {
	Items   []PublicItem `json:"items"`
	Total   int          `json:"total"`
	Page    int          `json:"page"`
	PerPage int          `json:"per_page"`
	Period  int          `json:"period"`
}

// SearchPublished lists current published ratings: public data only.
func (s *Service) SearchPublished(ctx context.Context, q PublicQuery) (*PublicPage, error) {
	q.Page = max(q.Page, 1)
	if q.PerPage <= 0 {
		q.PerPage = 20
	}
	if q.PerPage > 100 {
		return nil, invalid("per_page", "at most 100, got %d", q.PerPage)
	}
	prefix := ""
	if q.Region != "" {
		var err error
		if prefix, err = s.regionPrefix(q.Region); err != nil {
			return nil, invalid("region", "%v", err)
		}
	}
	if q.Period == 0 {
		var p *int
		if err := s.db.NewSelect().Model((*Rating)(nil)).ColumnExpr("max(period)").Where("status = ?", StatusPublished).Scan(ctx, &p); err != nil {
			return nil, err
		}
		if p == nil {
			return &PublicPage{Items: []PublicItem{}, Page: q.Page, PerPage: q.PerPage}, nil
		}
		q.Period = *p
	}
	base := s.db.NewSelect().TableExpr("ratings AS r").Join("JOIN employers AS e ON e.id = r.employer_id").
		Where("r.status = ? AND r.current = ? AND r.period = ?", StatusPublished, true, q.Period)
	if prefix != "" {
		base = base.Where("e.region LIKE ?", prefix+"%")
	}
	if q.Grade != "" {
		base = base.Where("r.grade = ?", q.Grade)
	}
	if t := strings.TrimSpace(q.Q); t != "" {
		if engine.CheckUSCC(t) == nil {
			base = base.Where("e.uscc = ?", t)
		} else {
			base = base.Where("e.name LIKE ?", "%"+strings.NewReplacer("%", "", "_", "").Replace(t)+"%")
		}
	}
	total, err := base.Count(ctx)
	if err != nil {
		return nil, err
	}
	items := []PublicItem{}
	err = base.ColumnExpr("e.uscc, e.name, e.region, r.period, r.grade, r.published_at").OrderExpr("e.name, e.uscc").
		Limit(int64(q.PerPage)).Offset(int64((q.Page-1)*q.PerPage)).Scan(ctx, &items)
	if err != nil {
		return nil, err
	}
	for i := range items {
		items[i].PublishedAt = items[i].PublishedAt.UTC()
	}
	return &PublicPage{Items: items, Total: int(total), Page: q.Page, PerPage: q.PerPage, Period: q.Period}, nil
}

// RatingFilter selects ratings for officers.
type RatingFilter struct {
	Period int
	Region string
	Status string
	Page   int
}

// ListRatings lists the current ratings of the actor's region (or a
// region inside it), 100 a page, with their employers.
func (s *Service) ListRatings(ctx context.Context, a Actor, f RatingFilter) ([]RatingView, error) {
	_, prefix, err := s.scope(a, f.Region)
	if err != nil {
		return nil, err
	}
	if f.Status != "" && !slices.Contains([]string{StatusRated, StatusReviewed, StatusConfirmed, StatusPublicized, StatusPublished}, f.Status) {
		return nil, invalid("status", "unknown status %q", f.Status)
	}
	var rows []struct {
		Rating `bun:",extend"`
		USCC   string `bun:"uscc"`
		Name   string `bun:"name"`
		Region string `bun:"region"`
	}
	q := s.db.NewSelect().Model(&rows).ColumnExpr("rating.*, e.uscc, e.name, e.region").
		Join("JOIN employers AS e ON e.id = rating.employer_id").
		Where("rating.current = ?", true).Where("e.region LIKE ?", prefix+"%").OrderExpr("rating.id").
		Limit(100).Offset(int64(max(f.Page-1, 0) * 100))
	if f.Period != 0 {
		q = q.Where("rating.period = ?", f.Period)
	}
	if f.Status != "" {
		q = q.Where("rating.status = ?", f.Status)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list ratings: %w", err)
	}
	out := make([]RatingView, len(rows))
	for i, r := range rows {
		out[i] = RatingView{Rating: r.Rating, USCC: r.USCC, Name: r.Name, Region: r.Region}
	}
	return out, nil
}

// Periods lists the rating periods.
func (s *Service) Periods(ctx context.Context) ([]Period, error) {
	var out []Period
	err := s.db.NewSelect().Model(&out).Order("year DESC").Scan(ctx)
	return out, err
}

// PublicityItem is a rating under publicity (公示): anyone may object to
// it, in writing and named, until the end of PublicityEnds (China time),
// by filing an objection with its RatingID.
type PublicityItem struct {
	RatingID      int64  `json:"rating_id"`
	USCC          string `json:"uscc"`
	Name          string `json:"name"`
	Region        string `json:"region"`
	Period        int    `json:"period"`
	Grade         string `json:"grade"`
	PublicityEnds string `json:"publicity_ends"`
}

// UnderPublicity lists the ratings under publicity now, in a region
// ("": everywhere), 100 a page.
func (s *Service) UnderPublicity(ctx context.Context, region string, page int) ([]PublicityItem, error) {
	prefix := ""
	if region != "" {
		var err error
		if prefix, err = s.regionPrefix(region); err != nil {
			return nil, invalid("region", "%v", err)
		}
	}
	items := []PublicityItem{}
	err := s.db.NewSelect().TableExpr("ratings AS r").Join("JOIN employers AS e ON e.id = r.employer_id").
		ColumnExpr("r.id AS rating_id, e.uscc, e.name, e.region, r.period, r.grade, r.publicity_ends").
		Where("r.status = ? AND r.current = ? AND r.publicity_ends >= ?", StatusPublicized, true, s.today().Format(time.DateOnly)).
		Where("e.region LIKE ?", prefix+"%").OrderExpr("r.publicity_ends, e.name, r.id").
		Limit(100).Offset(int64(max(page-1, 0)*100)).Scan(ctx, &items)
	if err != nil {
		return nil, err
	}
	for i := range items {
		items[i].PublicityEnds = trimDate(items[i].PublicityEnds)
	}
	return items, nil
}

// ListEmployers lists the employers of the actor's region (or a region
// inside it), by name, 100 a page; q matches part of the name or a code.
func (s *Service) ListEmployers(ctx context.Context, a Actor, region, q string, page int) ([]Employer, error) {
	_, prefix, err := s.scope(a, region)
	if err != nil {
		return nil, err
	}
	out := []Employer{}
	sq := s.db.NewSelect().Model(&out).Where("region LIKE ?", prefix+"%").OrderExpr("name, id").
		Limit(100).Offset(int64(max(page-1, 0) * 100))
	if t := strings.TrimSpace(q); t != "" {
		sq = sq.Where("(name LIKE ? OR uscc = ?)", "%"+strings.NewReplacer("%", "", "_", "").Replace(t)+"%", t)
	}
	if err := sq.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list employers: %w", err)
	}
	return out, nil
}
