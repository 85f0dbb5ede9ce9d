package ratings

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"laborcredit/engine"
)

// SearchLimit is how far the public search counts and pages: a search
// with more matches reports Total = SearchLimit with TotalCapped set, and
// a page that starts past the first SearchLimit matches is refused (narrow
// the search instead). Counting and skipping cost time in proportion to
// the matches counted or skipped, so the cap keeps every search fast.
const SearchLimit = 1000

// MaxPage is the highest page number a list takes (pages are numbered
// from 1; 0 stands for 1). A list of 100 a page reaches its 10,000,000th
// row, and no page number overflows an offset.
const MaxPage = 100_000

// pageOffset is the offset of a page of per rows, or a ValidationError
// naming page when it is out of bounds.
func pageOffset(page, per int) (int64, error) {
	if page < 0 || page > MaxPage {
		return 0, invalid("page", "pages run from 1 to %d, got %d", MaxPage, page)
	}
	return int64(max(page, 1)-1) * int64(per), nil
}

// PublicQuery filters the public list of published ratings.
type PublicQuery struct {
	Q       string // part of the name (matched literally, case-sensitive), or a whole code
	Region  string // GB/T 2260 code; sub-regions included
	Grade   string
	Period  int // default: the latest published period
	Page    int // from 1; (Page-1)*PerPage must be under SearchLimit
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
	Items []PublicItem `json:"items"`
	// Total is how many ratings match, over all pages, counted up to
	// SearchLimit; TotalCapped says there are more than that.
	Total       int  `json:"total"`
	TotalCapped bool `json:"total_capped"`
	Page        int  `json:"page"`
	PerPage     int  `json:"per_page"`
	Period      int  `json:"period"`
}

// SearchPublished lists current published ratings, by name then code:
// public data only. It reads public_ratings (migration
// 20261128000005_search), which triggers keep equal to the published,
// current ratings with their employers' code, name and region.
func (s *Service) SearchPublished(ctx context.Context, q PublicQuery) (*PublicPage, error) {
	if q.PerPage < 0 || q.PerPage > 100 {
		return nil, invalid("per_page", "from 1 to 100, got %d", q.PerPage)
	}
	if q.PerPage == 0 {
		q.PerPage = 20
	}
	off, err := pageOffset(q.Page, q.PerPage)
	if err != nil {
		return nil, err
	}
	q.Page = max(q.Page, 1)
	offset := int(off)
	if offset >= SearchLimit {
		return nil, invalid("page", "page %d starts after the first %d results, the most a search pages through; narrow the search", q.Page, SearchLimit)
	}
	prefix := ""
	if q.Region != "" {
		if prefix, err = s.regionPrefix(q.Region); err != nil {
			return nil, invalid("region", "%v", err)
		}
	}
	// The latest published period, unless one is asked for.
	period := any(q.Period)
	if q.Period == 0 {
		period = bun.Safe("(SELECT max(period) FROM public_ratings)")
	}
	var where searchBranch = func(sq *bun.SelectQuery) *bun.SelectQuery {
		sq = sq.Where("p.period = ?", period)
		switch {
		case len(prefix) == 6:
			sq = sq.Where("p.region = ?", prefix) // a county: a range of the region index, in name order
		case prefix != "":
			sq = sq.Where("p.region LIKE ?", prefix+"%")
		}
		if q.Grade != "" {
			sq = sq.Where("p.grade = ?", q.Grade)
		}
		return sq
	}
	branches := []searchBranch{where}
	if t := strings.TrimSpace(q.Q); t != "" {
		if engine.CheckUSCC(t) == nil {
			branches[0] = func(sq *bun.SelectQuery) *bun.SelectQuery { return where(sq).Where("p.uscc = ?", t) }
		} else {
			if branches, err = nameBranches(ctx, s.db, where, t); err != nil {
				return nil, err
			}
		}
	}

	// One statement: each branch takes its first matches in name order, up
	// to one past SearchLimit (or to the end of the page), once; the page
	// is cut from them all, and the branches' counts add up to the total.
	limit := max(SearchLimit+1, offset+q.PerPage)
	args := make([]any, 0, len(branches)+2)
	var with, union, count []string
	for i, b := range branches {
		name := string(rune('a' + i))
		with = append(with, name+" AS MATERIALIZED (?)")
		union = append(union, "SELECT * FROM "+name)
		count = append(count, "(SELECT count(*) FROM "+name+")")
		args = append(args, b(s.db.NewSelect().TableExpr("public_ratings AS p")).
			ColumnExpr("p.uscc, p.name, p.region, p.period, p.grade, p.published_at").OrderExpr("p.name, p.uscc").Limit(int64(limit)))
	}
	var rows []struct {
		PublicItem
		Total int `bun:"total"`
	}
	err = s.db.NewRaw("WITH "+strings.Join(with, ", ")+" SELECT u.*, "+strings.Join(count, " + ")+" AS total FROM ("+
		strings.Join(union, " UNION ALL ")+") AS u ORDER BY u.name, u.uscc LIMIT ? OFFSET ?", append(args, q.PerPage, offset)...).
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	page := &PublicPage{Items: make([]PublicItem, len(rows)), Page: q.Page, PerPage: q.PerPage, Period: q.Period}
	for i, r := range rows {
		page.Items[i] = r.PublicItem
		page.Items[i].PublishedAt = r.PublishedAt.UTC()
		page.Total, page.Period = r.Total, r.Period
	}
	if len(rows) == 0 && (q.Period == 0 || offset > 0) {
		// Nothing on this page: the period shown, and the total past the
		// first page, take queries of their own.
		var p *int
		if err := s.db.NewRaw("SELECT ?", period).Scan(ctx, &p); err != nil {
			return nil, fmt.Errorf("search: latest period: %w", err)
		}
		if p == nil {
			return page, nil // nothing published yet
		}
		page.Period = *p
		if offset > 0 {
			err := s.db.NewRaw("WITH "+strings.Join(with, ", ")+" SELECT "+strings.Join(count, " + "), args...).Scan(ctx, &page.Total)
			if err != nil {
				return nil, fmt.Errorf("search: count: %w", err)
			}
		}
	}
	page.Total, page.TotalCapped = min(page.Total, SearchLimit), page.Total > SearchLimit
	return page, nil
}

// searchBranch adds conditions to a search of public_ratings AS p: one
// search in name order.
type searchBranch func(*bun.SelectQuery) *bun.SelectQuery

// nameBranches are the searches for the ratings, filtered by where, whose
// name contains t, matched literally. SQLite scans with instr().
// PostgreSQL (migration 20261128000005_search) searches names that start
// with t, a range of the name index, and apart those that contain t after
// their first character: 3 or more characters with LIKE on substr(name, 2),
// through its trigram index or by walking an index in name order, as the
// planner finds cheaper; 1 or 2 characters, if common, by walking an index
// in name order, and if rare, in the index of tail_grams (every 1- and
// 2-character substring of the name after its first character). Names
// that start with a place (湖北…, 武汉…) lie together in name order; kept
// apart, a search for the place neither walks past all the names before
// them nor reads the index entries of all of them.
func nameBranches(ctx context.Context, db bun.IDB, where searchBranch, t string) ([]searchBranch, error) {
	if !IsPostgres(db) {
		return []searchBranch{func(sq *bun.SelectQuery) *bun.SelectQuery { return where(sq).Where("instr(p.name, ?) > 0", t) }}, nil
	}
	part := likeEscaper.Replace(t)
	tail := func(sq *bun.SelectQuery) *bun.SelectQuery { return sq.Where("substr(p.name, 2) LIKE ?", "%"+part+"%") }
	if utf8.RuneCountInString(t) <= 2 {
		common, err := commonTailGram(ctx, db, t)
		if err != nil {
			return nil, err
		}
		if common {
			// The same as substr(name, 2) LIKE '%t%', cheaper to test.
			tail = func(sq *bun.SelectQuery) *bun.SelectQuery { return sq.Where("p.name LIKE ?", "_%"+part+"%") }
		} else {
			tail = func(sq *bun.SelectQuery) *bun.SelectQuery { return sq.Where("p.tail_grams @> ARRAY[?]::text[]", t) }
		}
	}
	return []searchBranch{
		func(sq *bun.SelectQuery) *bun.SelectQuery { return where(sq).Where("p.name LIKE ?", part+"%") },
		func(sq *bun.SelectQuery) *bun.SelectQuery {
			return tail(where(sq)).Where("p.name NOT LIKE ?", part+"%")
		},
	}, nil
}

// commonTailGramShare is the share of names (0.01: 1%) from which a part
// of 1 or 2 characters is common: reading its index entries would cost
// more than walking an index in name order until a page is full.
const commonTailGramShare = 0.01

// commonTailGram reports whether, by the planner's statistics, at least
// commonTailGramShare of the names in public_ratings contain gram after
// their first character (laborcredit_tail_gram_share, migration
// 20261128000005_search). The planner cannot make that choice itself: it
// would walk in name order testing tail_grams, which it reads from the
// table for every name it passes; given LIKE instead, the name indexes
// answer alone.
func commonTailGram(ctx context.Context, db bun.IDB, gram string) (bool, error) {
	var share float64
	if err := db.NewRaw("SELECT laborcredit_tail_gram_share(?)", gram).Scan(ctx, &share); err != nil {
		return false, fmt.Errorf("search: share of %q: %w", gram, err)
	}
	return share >= commonTailGramShare, nil
}

// likeEscaper escapes LIKE's wildcards and its escape character, the
// backslash (PostgreSQL's default).
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// RatingFilter selects ratings for officers.
type RatingFilter struct {
	Period int
	Region string
	Status string
	Page   int
}

// officerList checks an officer's list request: the region (default the
// officer's, never outside it), the page (of 100) and the status (one of
// statuses, or ""). It gives the region's code prefix and the offset.
func (s *Service) officerList(a Actor, region string, page int, status string, statuses ...string) (string, int64, error) {
	_, prefix, err := s.scope(a, region)
	if err != nil {
		return "", 0, err
	}
	offset, err := pageOffset(page, 100)
	if err != nil {
		return "", 0, err
	}
	if status != "" && !slices.Contains(statuses, status) {
		return "", 0, invalid("status", "unknown status %q: want one of %s", status, strings.Join(statuses, ", "))
	}
	return prefix, offset, nil
}

// ListRatings lists the current ratings of the actor's region (or a
// region inside it), 100 a page, with their employers.
func (s *Service) ListRatings(ctx context.Context, a Actor, f RatingFilter) ([]RatingView, error) {
	prefix, offset, err := s.officerList(a, f.Region, f.Page, f.Status, StatusRated, StatusReviewed, StatusConfirmed, StatusPublicized, StatusPublished)
	if err != nil {
		return nil, err
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
		Limit(100).Offset(offset)
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
	offset, err := pageOffset(page, 100)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if region != "" {
		if prefix, err = s.regionPrefix(region); err != nil {
			return nil, invalid("region", "%v", err)
		}
	}
	items := []PublicityItem{}
	err = s.db.NewSelect().TableExpr("ratings AS r").Join("JOIN employers AS e ON e.id = r.employer_id").
		ColumnExpr("r.id AS rating_id, e.uscc, e.name, e.region, r.period, r.grade, r.publicity_ends").
		Where("r.status = ? AND r.current = ? AND r.publicity_ends >= ?", StatusPublicized, true, s.today().Format(time.DateOnly)).
		Where("e.region LIKE ?", prefix+"%").OrderExpr("r.publicity_ends, e.name, r.id").
		Limit(100).Offset(offset).Scan(ctx, &items)
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
	offset, err := pageOffset(page, 100)
	if err != nil {
		return nil, err
	}
	out := []Employer{}
	sq := s.db.NewSelect().Model(&out).Where("region LIKE ?", prefix+"%").OrderExpr("name, id").
		Limit(100).Offset(offset)
	if t := strings.TrimSpace(q); t != "" {
		sq = sq.Where("(name LIKE ? OR uscc = ?)", "%"+strings.NewReplacer("%", "", "_", "").Replace(t)+"%", t)
	}
	if err := sq.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list employers: %w", err)
	}
	return out, nil
}
