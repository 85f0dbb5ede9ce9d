package ratings

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultStatsTTL is how long GradeStats answers from the counts it
// loaded before it reloads them in the background: 5 minutes.
const DefaultStatsTTL = 5 * time.Minute

const (
	// statsLoadTimeout bounds one load of the counts.
	statsLoadTimeout = 2 * time.Minute
	// statsRetryDelay is the longest wait after a failed reload before
	// stale counts start another one (the TTL when it is shorter).
	statsRetryDelay = 30 * time.Second
)

// StatsQuery selects the grade statistics of published ratings.
type StatsQuery struct {
	// Region is the GB/T 2260 code whose child regions are compared (cities
	// of a province, counties of a city; a county is compared with
	// nothing but itself). "" means the province the data lies in, or every
	// province when the data spans several.
	Region string
	// Period is the period of the distribution by child region; 0 means
	// the latest period published in the region.
	Period int
}

// GradeCounts is the number of employers per grade, and their total.
type GradeCounts struct {
	Counts map[string]int `json:"counts"` // grade → employers; grades without employers are absent
	Total  int            `json:"total"`
}

func (g *GradeCounts) add(grade string, n int) {
	if g.Counts == nil {
		g.Counts = map[string]int{}
	}
	g.Counts[grade] += n
	g.Total += n
}

// RegionGrades is the grade distribution of one child region. Region is
// the child's code; it equals the parent's code for employers registered
// at the parent level itself (e.g. a city-level code under a city).
type RegionGrades struct {
	Region string `json:"region"`
	GradeCounts
}

// PeriodGrades is the grade distribution of one published period.
type PeriodGrades struct {
	Period int `json:"period"`
	GradeCounts
}

// StatsReport is the grade statistics of a region: the current published
// ratings only (a corrected rating counts with its correction).
type StatsReport struct {
	// Region is the region covered, resolved from the query ("" every
	// province).
	Region string `json:"region"`
	// Period is the period of ByRegion; 0 when nothing is published.
	Period int `json:"period"`
	// Grades lists the grades to chart, best first: A, B, C, then any
	// other grade found, in alphabetical order.
	Grades []string `json:"grades"`
	// ByRegion has one entry per child region with published ratings in
	// Period, by code.
	ByRegion []RegionGrades `json:"by_region"`
	// ByPeriod has one entry per published period of the region, oldest
	// first: the change across periods.
	ByPeriod []PeriodGrades `json:"by_period"`
}

// GradeStats counts the current published ratings by grade: per child
// region of q.Region for one period, and in the whole region per
// published period.
//
// It answers from counts held in memory: the current published ratings
// of every period by employer region and grade, loaded with one GROUP BY
// (a few rows per region code and period, whatever the number of
// ratings). The first call loads them and waits; after that a call finding
// them older than ServiceParams.StatsTTL, or marked stale by Tick or
// Correct, answers from them at once and starts one reload in the
// background. Changes this service does not make (the tick command or an
// import in another process, an employer's new region) show within the
// TTL. With a negative StatsTTL every call queries the database.
func (s *Service) GradeStats(ctx context.Context, q StatsQuery) (*StatsReport, error) {
	if q.Period < 0 {
		return nil, invalid("period", "must be a year, got %d", q.Period)
	}
	prefix, width := "", 4 // every province: group by city, then sum up by province if need be
	if q.Region != "" {
		r, ok := s.regions.Lookup(q.Region)
		if !ok {
			return nil, invalid("region", "%v", s.regions.Check(q.Region))
		}
		switch r.Level {
		case LevelProvince:
			prefix, width = q.Region[:2], 4
		case LevelPrefecture:
			prefix, width = q.Region[:4], 6
		default:
			prefix, width = q.Region, 6
		}
	}
	if s.stats.ttl < 0 {
		periods, err := s.countGrades(ctx, prefix, width)
		if err != nil {
			return nil, err
		}
		return statsReport(periods, q, prefix, width), nil
	}
	snap, err := s.gradeCounts(ctx)
	if err != nil {
		return nil, err
	}
	return statsReport(snap.periods, q, prefix, width), nil
}

// WarmStats loads the counts GradeStats answers from, unless fresh ones
// are held, and waits for them (joining a load already running), so that
// the first public request does not wait. It does nothing when the cache
// is off (negative StatsTTL).
func (s *Service) WarmStats(ctx context.Context) error {
	if s.stats.ttl < 0 || s.stats.fresh(s.stats.snap.Load()) {
		return nil
	}
	return s.stats.wait(ctx, s.loadStats(true))
}

// markStatsStale marks the counts of GradeStats stale when changed is
// true: the next call answers from them and reloads them in the
// background. Call it after committing a change to the current published
// ratings.
func (s *Service) markStatsStale(changed bool) {
	if changed {
		s.stats.gen.Add(1)
	}
}

// gradeCounts returns the counts to answer from: the cached ones, after
// starting a reload if they are stale, or, when nothing is cached yet, the
// ones a load (started here or already running) returns.
func (s *Service) gradeCounts(ctx context.Context) (*statsSnapshot, error) {
	c := s.stats
	if snap := c.snap.Load(); snap != nil {
		if !c.fresh(snap) {
			s.loadStats(false)
		}
		return snap, nil
	}
	if err := c.wait(ctx, s.loadStats(true)); err != nil {
		return nil, err
	}
	return c.snap.Load(), nil
}

// loadStats starts a load of the counts in the background unless one is
// running, and returns the running one. Unless force is set, it starts
// none (and returns nil) for a while after a failed load.
func (s *Service) loadStats(force bool) *statsLoad {
	c := s.stats
	c.mu.Lock()
	if l := c.load; l != nil || !force && time.Now().Before(c.retryAt) {
		c.mu.Unlock()
		return l
	}
	l := &statsLoad{done: make(chan struct{})}
	c.load = l
	gen := c.gen.Load()
	c.mu.Unlock()
	s.log.Debug("grade statistics load started")
	go s.runStatsLoad(l, gen)
	return l
}

// runStatsLoad loads the counts, detached from any request, and stores
// them as of gen (the staleness mark when the load started, so that a
// change committed meanwhile leaves them stale). A failed load keeps the
// counts held; its error is logged and handed to those waiting.
func (s *Service) runStatsLoad(l *statsLoad, gen uint64) {
	c := s.stats
	ctx, cancel := context.WithTimeout(context.Background(), statsLoadTimeout)
	defer cancel()
	start := time.Now()
	periods, err := s.countGrades(ctx, "", 6)
	if err != nil {
		s.log.ErrorContext(ctx, "grade statistics load failed", slog.Any("error", err),
			slog.Bool("stale_kept", c.snap.Load() != nil), slog.Int64("duration_ms", time.Since(start).Milliseconds()))
	} else {
		rows := 0
		for _, p := range periods {
			rows += len(p.rows)
		}
		s.log.DebugContext(ctx, "grade statistics loaded", slog.Int("periods", len(periods)), slog.Int("rows", rows),
			slog.Int64("duration_ms", time.Since(start).Milliseconds()))
	}
	c.mu.Lock()
	if err != nil {
		c.retryAt = time.Now().Add(min(c.ttl, statsRetryDelay))
	} else {
		c.snap.Store(&statsSnapshot{periods: periods, at: start, gen: gen})
		c.retryAt = time.Time{}
	}
	l.err = err
	c.load = nil
	c.mu.Unlock()
	close(l.done)
}

// statsCache holds the counts GradeStats answers from. The counts are an
// immutable snapshot swapped whole; mu guards the running load.
type statsCache struct {
	ttl  time.Duration // < 0: no cache, every call queries
	snap atomic.Pointer[statsSnapshot]
	gen  atomic.Uint64 // bumped by markStatsStale

	mu      sync.Mutex
	load    *statsLoad // the load running, nil when none
	retryAt time.Time  // after a failed load, stale counts start none before this
}

// newStatsCache makes the cache of a service: ttl 0 means
// DefaultStatsTTL, a negative one no cache.
func newStatsCache(ttl time.Duration) *statsCache {
	if ttl == 0 {
		ttl = DefaultStatsTTL
	}
	return &statsCache{ttl: ttl}
}

// fresh tells whether counts are held, loaded less than the TTL ago and
// not marked stale since.
func (c *statsCache) fresh(snap *statsSnapshot) bool {
	return snap != nil && snap.gen == c.gen.Load() && time.Since(snap.at) < c.ttl
}

// wait waits for a load to finish, or for ctx, and returns the load's
// error.
func (c *statsCache) wait(ctx context.Context, l *statsLoad) error {
	select {
	case <-l.done:
		return l.err
	case <-ctx.Done():
		return fmt.Errorf("grade statistics: %w", ctx.Err())
	}
}

// statsLoad is one load of the counts; err is set before done is closed.
type statsLoad struct {
	done chan struct{}
	err  error
}

// statsSnapshot is the counts of current published ratings as loaded at
// a time; it is never modified once stored.
type statsSnapshot struct {
	periods []statsPeriod
	at      time.Time // when the load started
	gen     uint64    // the staleness mark when the load started
}

// statsPeriod is the counts of one period, by region code then grade.
type statsPeriod struct {
	period int
	rows   []statsRow
}

// statsRow is the number of current published ratings of a period in a
// region (a code, or the first width digits of one) with a grade.
type statsRow struct {
	region string
	grade  string
	n      int
}

// countGrades counts the current published ratings in the regions whose
// code starts with prefix, by period, the first width digits of the
// employer's region, and grade. Periods come oldest first, rows in each
// by region then grade.
func (s *Service) countGrades(ctx context.Context, prefix string, width int) ([]statsPeriod, error) {
	var rows []gradeCount
	child := "e.region"
	if width < 6 {
		child = "substr(e.region, 1, " + strconv.Itoa(width) + ")"
	}
	sq := s.db.NewSelect().TableExpr("ratings AS r").Join("JOIN employers AS e ON e.id = r.employer_id").
		ColumnExpr("r.period, "+child+" AS child, r.grade, count(*) AS n").
		Where("r.status = ? AND r.current = ?", StatusPublished, true).
		GroupExpr("r.period, " + child + ", r.grade")
	if prefix != "" {
		sq = sq.Where("e.region LIKE ?", prefix+"%")
	}
	if err := sq.Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("grade statistics: %w", err)
	}
	// Sorted here rather than in SQL: the prefix search of inPrefix needs
	// Go's order of the codes, whatever the database's collation.
	slices.SortFunc(rows, func(a, b gradeCount) int {
		return cmp.Or(cmp.Compare(a.Period, b.Period), strings.Compare(a.Child, b.Child), strings.Compare(a.Grade, b.Grade))
	})
	var periods []statsPeriod
	for _, r := range rows {
		if n := len(periods); n == 0 || periods[n-1].period != r.Period {
			periods = append(periods, statsPeriod{period: r.Period})
		}
		p := &periods[len(periods)-1]
		p.rows = append(p.rows, statsRow{region: r.Child, grade: r.Grade, n: r.N})
	}
	return periods, nil
}

// gradeCount is a row of countGrades' query.
type gradeCount struct {
	Period int    `bun:"period"`
	Child  string `bun:"child"`
	Grade  string `bun:"grade"`
	N      int    `bun:"n"`
}

// inPrefix returns the rows of a period whose region starts with prefix.
func (p *statsPeriod) inPrefix(prefix string) []statsRow {
	lo := sort.Search(len(p.rows), func(i int) bool { return p.rows[i].region >= prefix })
	hi := lo + sort.Search(len(p.rows)-lo, func(i int) bool { return !strings.HasPrefix(p.rows[lo+i].region, prefix) })
	return p.rows[lo:hi]
}

// statsReport sums the counts of the regions under prefix up to the child
// regions (the first width digits of their codes) and the periods.
func statsReport(periods []statsPeriod, q StatsQuery, prefix string, width int) *StatsReport {
	rep := &StatsReport{Region: q.Region, Period: q.Period, Grades: []string{"A", "B", "C"},
		ByRegion: []RegionGrades{}, ByPeriod: []PeriodGrades{}}
	if rep.Period == 0 {
		for i := len(periods) - 1; i >= 0 && rep.Period == 0; i-- {
			if len(periods[i].inPrefix(prefix)) > 0 {
				rep.Period = periods[i].period
			}
		}
		if rep.Period == 0 {
			return rep
		}
	}
	if q.Region == "" {
		// All of the period's data lies in one province: compare its cities.
		provinces := map[string]bool{}
		for _, p := range periods {
			if p.period == rep.Period {
				for _, r := range p.rows {
					provinces[cut(r.region, 2)] = true
				}
			}
		}
		if len(provinces) == 1 {
			for p := range provinces {
				rep.Region, prefix = p+"0000", p
			}
		}
	}
	byChild := map[string]*RegionGrades{}
	for _, p := range periods {
		rows := p.inPrefix(prefix)
		if len(rows) == 0 {
			continue
		}
		rep.ByPeriod = append(rep.ByPeriod, PeriodGrades{Period: p.period})
		total := &rep.ByPeriod[len(rep.ByPeriod)-1]
		for _, r := range rows {
			total.add(r.grade, r.n)
			rep.addGrade(r.grade)
			if p.period != rep.Period {
				continue
			}
			code := cut(r.region, width)
			if rep.Region == "" {
				code = cut(code, 2)
			}
			code += strings.Repeat("0", max(6-len(code), 0))
			g := byChild[code]
			if g == nil {
				g = &RegionGrades{Region: code}
				byChild[code] = g
			}
			g.add(r.grade, r.n)
		}
	}
	for _, g := range byChild {
		rep.ByRegion = append(rep.ByRegion, *g)
	}
	slices.SortFunc(rep.ByRegion, func(a, b RegionGrades) int { return strings.Compare(a.Region, b.Region) })
	return rep
}

// cut returns the first n bytes of s, or s when it is shorter.
func cut(s string, n int) string {
	return s[:min(n, len(s))]
}

// addGrade adds a grade outside A, B and C to the chart's grades, keeping
// A, B, C first and the others in alphabetical order.
func (r *StatsReport) addGrade(g string) {
	if slices.Contains(r.Grades, g) {
		return
	}
	r.Grades = append(r.Grades, g)
	slices.Sort(r.Grades[3:])
}
