package ratings_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
	scoringrules "laborcredit/scoring-rules"
)

// statsRating is one rating row of the statistics fixture.
type statsRating struct {
	employer int // index into statsEmployers
	period   int
	version  int
	current  bool
	status   string
	grade    string
}

// statsEmployers are the regions of the statistics fixture's employers:
// 江岸区 and 江汉区 in 武汉市, 钟祥市 in 荆门市, 武汉市 itself, 芙蓉区 in 长沙市
// (Hunan).
var statsEmployers = []string{"420102", "420102", "420103", "420881", "420100", "430102", "430102", "420102", "420103"}

// statsRatings: h0–h4 in Hubei, n5–n6 in Hunan, h7 and h8 never
// published. h1's 2025 rating was corrected from A to B; n6 has a grade
// from another rule set (D).
var statsRatings = []statsRating{
	{0, 2023, 1, true, ratings.StatusPublished, "A"},
	{0, 2024, 1, true, ratings.StatusPublished, "A"},
	{1, 2024, 1, true, ratings.StatusPublished, "B"},
	{2, 2024, 1, true, ratings.StatusPublished, "A"},
	{3, 2024, 1, true, ratings.StatusPublished, "C"},
	{5, 2024, 1, true, ratings.StatusPublished, "B"},
	{0, 2025, 1, true, ratings.StatusPublished, "A"},
	{1, 2025, 1, false, ratings.StatusPublished, "A"},
	{1, 2025, 2, true, ratings.StatusPublished, "B"},
	{2, 2025, 1, true, ratings.StatusPublished, "C"},
	{3, 2025, 1, true, ratings.StatusPublished, "B"},
	{4, 2025, 1, true, ratings.StatusPublished, "A"},
	{5, 2025, 1, true, ratings.StatusPublished, "A"},
	{6, 2025, 1, true, ratings.StatusPublished, "D"},
	{7, 2025, 1, true, ratings.StatusPublicized, "C"},
	{8, 2025, 1, true, ratings.StatusConfirmed, "C"},
	{0, 2026, 1, true, ratings.StatusRated, "C"},
}

// statsFixture stores the statistics fixture directly, as the workflow
// would have left it.
func statsFixture(t *testing.T, db *bun.DB) *ratings.Service {
	t.Helper()
	ctx := context.Background()
	svc := newService(t, db)
	src, err := scoringrules.FS.ReadFile("national-2016.yaml")
	require.NoError(t, err)
	rs, err := svc.UploadRuleSet(ctx, admin, "national-2016.yaml", src)
	require.NoError(t, err)
	for p := 2023; p <= 2026; p++ {
		require.NoError(t, svc.ActivateRuleSet(ctx, admin, p, rs.Hash))
	}
	ids := make([]int64, len(statsEmployers))
	for i, region := range statsEmployers {
		e := &ratings.Employer{USCC: code(t, region, 500+i), Name: fmt.Sprintf("统计%d号有限公司", i), Region: region}
		_, err := db.NewInsert().Model(e).Exec(ctx)
		require.NoError(t, err)
		ids[i] = e.ID
	}
	at := time.Date(2026, 3, 20, 2, 0, 0, 0, time.UTC)
	for _, r := range statsRatings {
		row := &ratings.Rating{EmployerID: ids[r.employer], Period: r.period, Version: r.version, Current: r.current, Status: r.status,
			RuleSetID: rs.ID, RuleSetHash: rs.Hash, EngineGrade: r.grade, Grade: r.grade, Result: "{}", Facts: "{}", ComputedAt: at, LockVersion: 1}
		if r.status == ratings.StatusPublished {
			row.PublishedAt = &at
		}
		_, err := db.NewInsert().Model(row).Exec(ctx)
		require.NoError(t, err)
	}
	return svc
}

// counts builds GradeCounts from grade, count pairs.
func counts(pairs ...any) ratings.GradeCounts {
	g := ratings.GradeCounts{Counts: map[string]int{}}
	for i := 0; i < len(pairs); i += 2 {
		n := pairs[i+1].(int)
		g.Counts[pairs[i].(string)] = n
		g.Total += n
	}
	return g
}

func TestGradeStats(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc := statsFixture(t, db)
		abc, abcd := []string{"A", "B", "C"}, []string{"A", "B", "C", "D"}
		allPeriods := []ratings.PeriodGrades{
			{Period: 2023, GradeCounts: counts("A", 1)},
			{Period: 2024, GradeCounts: counts("A", 2, "B", 2, "C", 1)},
			{Period: 2025, GradeCounts: counts("A", 3, "B", 2, "C", 1, "D", 1)},
		}
		hubeiPeriods := []ratings.PeriodGrades{
			{Period: 2023, GradeCounts: counts("A", 1)},
			{Period: 2024, GradeCounts: counts("A", 2, "B", 1, "C", 1)},
			{Period: 2025, GradeCounts: counts("A", 2, "B", 2, "C", 1)},
		}
		wuhanPeriods := []ratings.PeriodGrades{
			{Period: 2023, GradeCounts: counts("A", 1)},
			{Period: 2024, GradeCounts: counts("A", 2, "B", 1)},
			{Period: 2025, GradeCounts: counts("A", 2, "B", 1, "C", 1)},
		}
		tests := []struct {
			name string
			q    ratings.StatsQuery
			want ratings.StatsReport
		}{
			{"default: latest period, two provinces", ratings.StatsQuery{}, ratings.StatsReport{Region: "", Period: 2025, Grades: abcd,
				ByRegion: []ratings.RegionGrades{
					{Region: "420000", GradeCounts: counts("A", 2, "B", 2, "C", 1)},
					{Region: "430000", GradeCounts: counts("A", 1, "D", 1)},
				}, ByPeriod: allPeriods}},
			{"a period with data in one province picks it", ratings.StatsQuery{Period: 2023}, ratings.StatsReport{Region: "420000", Period: 2023,
				Grades: abc, ByRegion: []ratings.RegionGrades{{Region: "420100", GradeCounts: counts("A", 1)}}, ByPeriod: hubeiPeriods}},
			{"a province: its cities", ratings.StatsQuery{Region: "420000"}, ratings.StatsReport{Region: "420000", Period: 2025, Grades: abc,
				ByRegion: []ratings.RegionGrades{
					{Region: "420100", GradeCounts: counts("A", 2, "B", 1, "C", 1)},
					{Region: "420800", GradeCounts: counts("B", 1)},
				}, ByPeriod: hubeiPeriods}},
			{"a city: its counties and the city itself", ratings.StatsQuery{Region: "420100", Period: 2025}, ratings.StatsReport{Region: "420100",
				Period: 2025, Grades: abc, ByRegion: []ratings.RegionGrades{
					{Region: "420100", GradeCounts: counts("A", 1)},
					{Region: "420102", GradeCounts: counts("A", 1, "B", 1)},
					{Region: "420103", GradeCounts: counts("C", 1)},
				}, ByPeriod: wuhanPeriods}},
			{"a city in an earlier period", ratings.StatsQuery{Region: "420100", Period: 2024}, ratings.StatsReport{Region: "420100",
				Period: 2024, Grades: abc, ByRegion: []ratings.RegionGrades{
					{Region: "420102", GradeCounts: counts("A", 1, "B", 1)},
					{Region: "420103", GradeCounts: counts("A", 1)},
				}, ByPeriod: wuhanPeriods}},
			{"a county: itself", ratings.StatsQuery{Region: "420102"}, ratings.StatsReport{Region: "420102", Period: 2025, Grades: abc,
				ByRegion: []ratings.RegionGrades{{Region: "420102", GradeCounts: counts("A", 1, "B", 1)}},
				ByPeriod: []ratings.PeriodGrades{
					{Period: 2023, GradeCounts: counts("A", 1)},
					{Period: 2024, GradeCounts: counts("A", 1, "B", 1)},
					{Period: 2025, GradeCounts: counts("A", 1, "B", 1)},
				}}},
			{"another province, another grade", ratings.StatsQuery{Region: "430000"}, ratings.StatsReport{Region: "430000", Period: 2025,
				Grades: abcd, ByRegion: []ratings.RegionGrades{{Region: "430100", GradeCounts: counts("A", 1, "D", 1)}},
				ByPeriod: []ratings.PeriodGrades{
					{Period: 2024, GradeCounts: counts("B", 1)},
					{Period: 2025, GradeCounts: counts("A", 1, "D", 1)},
				}}},
			{"a province without ratings has no latest period", ratings.StatsQuery{Region: "110000"}, ratings.StatsReport{Region: "110000", Grades: abc,
				ByRegion: []ratings.RegionGrades{}, ByPeriod: []ratings.PeriodGrades{}}},
			{"a period never published", ratings.StatsQuery{Period: 2026}, ratings.StatsReport{Region: "", Period: 2026, Grades: abcd,
				ByRegion: []ratings.RegionGrades{}, ByPeriod: allPeriods}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				got, err := svc.GradeStats(context.Background(), tt.q)
				require.NoError(t, err)
				require.Equal(t, tt.want, *got)
			})
		}

		errs := []struct {
			name  string
			q     ratings.StatsQuery
			field string
			msg   string
		}{
			{"unknown region", ratings.StatsQuery{Region: "999999"}, "region", "not on the GB/T 2260 list"},
			{"region not a code", ratings.StatsQuery{Region: "42"}, "region", "not 6 digits"},
			{"negative period", ratings.StatsQuery{Period: -1}, "period", "must be a year"},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				_, err := svc.GradeStats(context.Background(), tt.q)
				var ve *ratings.ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tt.field, ve.Field)
				require.Contains(t, ve.Reason, tt.msg)
			})
		}
	})
}

func TestGradeStatsEmpty(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		got, err := newService(t, db).GradeStats(context.Background(), ratings.StatsQuery{})
		require.NoError(t, err)
		require.Equal(t, ratings.StatsReport{Grades: []string{"A", "B", "C"}, ByRegion: []ratings.RegionGrades{},
			ByPeriod: []ratings.PeriodGrades{}}, *got)
	})
}

// BenchmarkGradeStats times the statistics on a large province. It needs
// PostgreSQL and time, so it runs only when asked:
//
//	LABORCREDIT_BENCH_STATS_RATINGS=1000000 LABORCREDIT_TEST_DATABASE_URL=postgres://… \
//	  go test ./ratings -run '^$' -bench GradeStats -benchtime 5x -timeout 1h
//
// It stores N employers in ten counties of three cities with a published
// rating each for two periods (2N ratings, N of them in the latest
// period), then times, on the same data: each query without the cache
// (uncached/…, the baseline: the GROUP BY of every call), the first call
// of a new service (cold: the counts loaded once), each query answered
// from the counts (warm/…), and the p50/p99/max latency of 2,000 calls
// at every region level by 4 concurrent callers, with fresh counts
// (mix-warm) and while reloads run back to back (mix-refreshing).
func BenchmarkGradeStats(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("LABORCREDIT_BENCH_STATS_RATINGS"))
	if n <= 0 {
		b.Skip("set LABORCREDIT_BENCH_STATS_RATINGS to run the statistics benchmark")
	}
	db := ratingstest.Postgres(b)
	ctx := context.Background()
	svc := newService(b, db)
	rs := activateNational(b, svc, 2024)
	require.NoError(b, svc.ActivateRuleSet(ctx, admin, 2025, rs.Hash))
	regions := []string{"420102", "420103", "420104", "420105", "420106", "420111", "420881", "420202", "420302", "420502"}
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ins := newBulk(ctx, tx, "employers", "uscc", "name", "region")
		for i := 1; i <= n; i++ {
			region := regions[i%len(regions)]
			if err := ins.add(code(b, region, i), fmt.Sprintf("湖北示例企业%07d有限公司", i), region); err != nil {
				return err
			}
		}
		if err := ins.flush(); err != nil {
			return err
		}
		at := time.Date(2026, 3, 20, 2, 0, 0, 0, time.UTC)
		for _, period := range []int{2024, 2025} {
			ins = newBulk(ctx, tx, "ratings", "employer_id", "period", "version", "current", "status", "rule_set_id", "rule_set_hash",
				"engine_grade", "grade", "result", "facts", "computed_at", "published_at")
			for i := 1; i <= n; i++ {
				g := []string{"A", "A", "A", "B", "C"}[(i+period)%5]
				if err := ins.add(i, period, 1, true, ratings.StatusPublished, rs.ID, rs.Hash, g, g, "{}", "{}", at, at); err != nil {
					return err
				}
			}
			if err := ins.flush(); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(b, err)
	_, err = db.ExecContext(ctx, "VACUUM ANALYZE")
	require.NoError(b, err)
	tests := []struct {
		name string
		q    ratings.StatsQuery
	}{
		{"default", ratings.StatsQuery{}},
		{"province", ratings.StatsQuery{Region: "420000", Period: 2025}},
		{"city", ratings.StatsQuery{Region: "420100", Period: 2025}},
		{"county", ratings.StatsQuery{Region: "420102", Period: 2025}},
	}
	check := func(b *testing.B, rep *ratings.StatsReport) {
		b.Helper()
		require.Equal(b, 2025, rep.Period)
		require.Len(b, rep.ByPeriod, 2)
		total := 0
		for _, g := range rep.ByRegion {
			total += g.Total
		}
		require.Equal(b, rep.ByPeriod[1].Total, total)
	}

	// The baseline: the query of every call without the cache.
	uncached, err := ratings.NewService(db, ratings.ServiceParams{StatsTTL: -1})
	require.NoError(b, err)
	want := map[string]*ratings.StatsReport{}
	for _, tt := range tests {
		b.Run("uncached/"+tt.name, func(b *testing.B) {
			b.ReportAllocs()
			var rep *ratings.StatsReport
			for b.Loop() {
				var err error
				rep, err = uncached.GradeStats(ctx, tt.q)
				require.NoError(b, err)
			}
			check(b, rep)
			want[tt.name] = rep
		})
	}

	// Cold: the first call of a new service loads the counts and waits.
	b.Run("cold", func(b *testing.B) {
		var rep *ratings.StatsReport
		for b.Loop() {
			b.StopTimer()
			svc, err := ratings.NewService(db, ratings.ServiceParams{})
			require.NoError(b, err)
			b.StartTimer()
			rep, err = svc.GradeStats(ctx, tests[0].q)
			require.NoError(b, err)
		}
		check(b, rep)
	})

	cached, err := ratings.NewService(db, ratings.ServiceParams{})
	require.NoError(b, err)
	require.NoError(b, cached.WarmStats(ctx))
	for _, tt := range tests {
		b.Run("warm/"+tt.name, func(b *testing.B) {
			b.ReportAllocs()
			var rep *ratings.StatsReport
			for b.Loop() {
				var err error
				rep, err = cached.GradeStats(ctx, tt.q)
				require.NoError(b, err)
			}
			check(b, rep)
			if w := want[tt.name]; w != nil {
				require.Equal(b, w, rep)
			}
		})
	}

	// Latency of a mix of queries at every level by concurrent callers:
	// warm (fresh counts), and refreshing (a TTL of 1 ns: every call
	// finds the counts stale, so one reload after another runs in the
	// background while the calls are timed).
	var mix []ratings.StatsQuery
	for _, region := range append([]string{"", "420000", "420100", "420200", "420300", "420500", "420800"}, regions...) {
		for _, period := range []int{0, 2024, 2025} {
			mix = append(mix, ratings.StatsQuery{Region: region, Period: period})
		}
	}
	var log loadLog
	refreshing, err := ratings.NewService(db, ratings.ServiceParams{StatsTTL: time.Nanosecond, Logger: slog.New(&log)})
	require.NoError(b, err)
	require.NoError(b, refreshing.WarmStats(ctx))
	mixes := []struct {
		name string
		svc  *ratings.Service
	}{
		{"warm", cached},
		{"refreshing", refreshing},
	}
	for _, m := range mixes {
		b.Run("mix-"+m.name, func(b *testing.B) {
			const calls, workers = 2000, 4
			var all []time.Duration
			started, _, _ := log.counts()
			for b.Loop() {
				d := make([]time.Duration, calls)
				var wg sync.WaitGroup
				for w := range workers {
					wg.Go(func() {
						for i := w; i < calls; i += workers {
							t0 := time.Now()
							_, err := m.svc.GradeStats(ctx, mix[(i*7)%len(mix)])
							d[i] = time.Since(t0)
							if err != nil {
								panic(err)
							}
						}
					})
				}
				wg.Wait()
				all = append(all, d...)
			}
			slices.Sort(all)
			us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
			b.ReportMetric(us(percentile(all, 50)), "p50-µs")
			b.ReportMetric(us(percentile(all, 99)), "p99-µs")
			b.ReportMetric(us(all[len(all)-1]), "max-µs")
			done, failed, most := log.counts()
			require.Zero(b, failed)
			require.LessOrEqual(b, most, 1)
			b.Logf("%s: %d calls by %d callers, p50 %v, p99 %v, max %v; %d reloads started meanwhile", m.name, len(all), workers,
				percentile(all, 50), percentile(all, 99), all[len(all)-1], done-started)
		})
	}
	require.NoError(b, refreshing.WarmStats(ctx)) // the last reload
}

// uncachedStats is a service over db whose GradeStats queries the
// database on every call: the reference the cache is compared with.
func uncachedStats(t *testing.T, db *bun.DB) *ratings.Service {
	t.Helper()
	svc, err := ratings.NewService(db, ratings.ServiceParams{StatsTTL: -1})
	require.NoError(t, err)
	return svc
}

// statsQueries are queries at every level, for every period, on the
// regions of the statistics fixtures.
func statsQueries() []ratings.StatsQuery {
	var qs []ratings.StatsQuery
	for _, region := range []string{"", "110000", "110100", "110101", "420000", "420100", "420102", "420103", "420111",
		"420200", "420800", "420881", "430000", "430100", "430102", "440000", "440300", "440305"} {
		for _, period := range []int{0, 2022, 2023, 2024, 2025, 2026} {
			qs = append(qs, ratings.StatsQuery{Region: region, Period: period})
		}
	}
	return qs
}

// statsRandomFixture adds employers in many regions of four provinces
// (counties, cities and provinces themselves) with random ratings of
// 2023–2025: none, published, corrected, publicized or rated, grades A–D.
func statsRandomFixture(t *testing.T, db *bun.DB) {
	t.Helper()
	ctx := context.Background()
	var rs ratings.StoredRuleSet
	require.NoError(t, db.NewSelect().Model(&rs).Limit(1).Scan(ctx))
	regions := []string{"110101", "110105", "110100", "420000", "420100", "420102", "420103", "420111", "420202", "420881",
		"420800", "430102", "430100", "440305", "440103"}
	rnd := rand.New(rand.NewPCG(1, 2))
	employers := make([]ratings.Employer, 300)
	for i := range employers {
		region := regions[rnd.IntN(len(regions))]
		employers[i] = ratings.Employer{USCC: code(t, region, 1000+i), Name: fmt.Sprintf("随机%d号有限公司", i), Region: region}
	}
	_, err := db.NewInsert().Model(&employers).Exec(ctx)
	require.NoError(t, err)
	at := time.Date(2026, 3, 20, 2, 0, 0, 0, time.UTC)
	grade := func() string { return []string{"A", "A", "B", "B", "C", "D"}[rnd.IntN(6)] }
	var rows []ratings.Rating
	for _, e := range employers {
		for period := 2023; period <= 2025; period++ {
			r := ratings.Rating{EmployerID: e.ID, Period: period, Version: 1, Current: true, Status: ratings.StatusPublished,
				RuleSetID: rs.ID, RuleSetHash: rs.Hash, Result: "{}", Facts: "{}", ComputedAt: at, LockVersion: 1, PublishedAt: &at}
			switch rnd.IntN(6) {
			case 0:
				continue
			case 1: // corrected: the old version stays, no longer current
				old := r
				old.Current, old.Grade = false, grade()
				old.EngineGrade = old.Grade
				rows = append(rows, old)
				r.Version = 2
			case 2:
				r.Status, r.PublishedAt = ratings.StatusPublicized, nil
			case 3:
				r.Status, r.PublishedAt = ratings.StatusRated, nil
			}
			r.Grade = grade()
			r.EngineGrade = r.Grade
			rows = append(rows, r)
		}
	}
	_, err = db.NewInsert().Model(&rows).Exec(ctx)
	require.NoError(t, err)
}

func TestGradeStatsCached(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc := statsFixture(t, db)
		statsRandomFixture(t, db)
		ref := uncachedStats(t, db)
		ctx := context.Background()
		require.NoError(t, svc.WarmStats(ctx))
		for _, q := range statsQueries() {
			t.Run(fmt.Sprintf("%q %d", q.Region, q.Period), func(t *testing.T) {
				t.Parallel()
				want, err := ref.GradeStats(ctx, q)
				require.NoError(t, err)
				got, err := svc.GradeStats(ctx, q)
				require.NoError(t, err)
				require.Equal(t, want, got)
				if len(got.ByRegion) > 0 {
					// A caller changing its report changes nothing cached.
					got.ByRegion[0].Counts["A"] += 100
					got.ByPeriod[0].Total = -1
					again, err := svc.GradeStats(ctx, q)
					require.NoError(t, err)
					require.Equal(t, want, again)
				}
			})
		}
	})
}

// loadLog counts the loads of the statistics cache from the service's
// log: those started and failed, and the most running at once.
type loadLog struct {
	mu                             sync.Mutex
	started, failed, running, most int
	staleKept                      bool
}

func (l *loadLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *loadLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *loadLog) WithGroup(string) slog.Handler            { return l }

func (l *loadLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch r.Message {
	case "grade statistics load started":
		l.started++
		l.running++
		l.most = max(l.most, l.running)
	case "grade statistics loaded":
		l.running--
	case "grade statistics load failed":
		l.running--
		l.failed++
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "stale_kept" {
				l.staleKept = a.Value.Bool()
			}
			return true
		})
	}
	return nil
}

func (l *loadLog) counts() (started, failed, most int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.started, l.failed, l.most
}

// loggedService is a service over db that logs the cache's loads to l.
func loggedService(t *testing.T, db *bun.DB, ttl time.Duration, l *loadLog) *ratings.Service {
	t.Helper()
	svc, err := ratings.NewService(db, ratings.ServiceParams{Logger: slog.New(l), StatsTTL: ttl,
		NowFunc: func() time.Time { return time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	return svc
}

// publishPending ends the publicity of the fixture's publicized rating
// (h7's 2025 C, in 江岸区) so that the next Tick publishes it.
func publishPending(t *testing.T, db *bun.DB) {
	t.Helper()
	_, err := db.NewUpdate().Model((*ratings.Rating)(nil)).Set("publicity_ends = ?", "2026-04-01").
		Where("status = ?", ratings.StatusPublicized).Exec(context.Background())
	require.NoError(t, err)
}

// countyGrades returns the 2025 counts of 江岸区 (420102) in a report of
// 武汉市.
func countyGrades(t *testing.T, rep *ratings.StatsReport) map[string]int {
	t.Helper()
	for _, g := range rep.ByRegion {
		if g.Region == "420102" {
			return g.Counts
		}
	}
	t.Fatalf("no 420102 in %+v", rep.ByRegion)
	return nil
}

func TestGradeStatsFreshness(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		statsFixture(t, db)
		var log loadLog
		svc := loggedService(t, db, 0, &log)
		ref := uncachedStats(t, db)
		q := ratings.StatsQuery{Region: "420100", Period: 2025}
		stats := func(svc *ratings.Service) *ratings.StatsReport {
			rep, err := svc.GradeStats(ctx, q)
			require.NoError(t, err)
			return rep
		}

		before := stats(svc) // the first call loads and waits
		require.Equal(t, map[string]int{"A": 1, "B": 1}, countyGrades(t, before))
		started, _, _ := log.counts()
		require.Equal(t, 1, started)

		// A tick that publishes nothing leaves the counts fresh.
		n, err := svc.Tick(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Equal(t, before, stats(svc))
		started, _, _ = log.counts()
		require.Equal(t, 1, started, "a tick publishing nothing reloaded the statistics")

		// Tick publishes h7's C: the next call still answers the old counts
		// at once and reloads them in the background.
		publishPending(t, db)
		n, err = svc.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, before, stats(svc))
		require.NoError(t, svc.WarmStats(ctx)) // waits for that reload
		ticked := stats(svc)
		require.Equal(t, map[string]int{"A": 1, "B": 1, "C": 1}, countyGrades(t, ticked))
		require.Equal(t, stats(ref), ticked)
		started, _, _ = log.counts()
		require.Equal(t, 2, started)

		// Correct h0's 2025 A to C.
		var ref0 ratings.Ref
		err = db.NewSelect().TableExpr("ratings AS r").Join("JOIN employers AS e ON e.id = r.employer_id").
			ColumnExpr("r.id, r.lock_version").Where("e.region = ? AND r.period = ? AND r.current = ? AND r.grade = ?", "420102", 2025, true, "A").
			Scan(ctx, &ref0.ID, &ref0.LockVersion)
		require.NoError(t, err)
		_, err = svc.Correct(ctx, admin, ref0, "C", "复核更正")
		require.NoError(t, err)
		require.Equal(t, ticked, stats(svc))
		require.NoError(t, svc.WarmStats(ctx))
		corrected := stats(svc)
		require.Equal(t, map[string]int{"B": 1, "C": 2}, countyGrades(t, corrected))
		require.Equal(t, stats(ref), corrected)

		// A failed correction changes nothing and reloads nothing.
		started, _, _ = log.counts()
		_, err = svc.Correct(ctx, admin, ref0, "B", "过期的版本")
		require.ErrorIs(t, err, ratings.ErrConflict)
		require.Equal(t, corrected, stats(svc))
		now, _, _ := log.counts()
		require.Equal(t, started, now)
	})
}

func TestGradeStatsTTL(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		statsFixture(t, db)
		var log loadLog
		svc := loggedService(t, db, time.Nanosecond, &log) // stale as soon as loaded
		q := ratings.StatsQuery{Region: "420100", Period: 2025}
		before, err := svc.GradeStats(ctx, q)
		require.NoError(t, err)

		// A change the service does not hear of (another process's tick,
		// an import) shows once the TTL is over.
		publishPending(t, db)
		other, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: func() time.Time { return time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC) }})
		require.NoError(t, err)
		n, err := other.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got, err := svc.GradeStats(ctx, q) // stale: answered at once, reload started
		require.NoError(t, err)
		require.Equal(t, before, got)
		require.NoError(t, svc.WarmStats(ctx))
		got, err = svc.GradeStats(ctx, q)
		require.NoError(t, err)
		require.Equal(t, map[string]int{"A": 1, "B": 1, "C": 1}, countyGrades(t, got))
		require.NoError(t, svc.WarmStats(ctx)) // let the reload that call started finish
	})
}

func TestGradeStatsFailedReload(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		statsFixture(t, db)
		var log loadLog
		svc := loggedService(t, db, 0, &log)
		q := ratings.StatsQuery{Region: "420100", Period: 2025}
		stats := func() *ratings.StatsReport {
			rep, err := svc.GradeStats(ctx, q)
			require.NoError(t, err)
			return rep
		}
		before := stats()

		// Publish h7's C, then break the statistics query.
		publishPending(t, db)
		n, err := svc.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		_, err = db.ExecContext(ctx, "ALTER TABLE ratings RENAME COLUMN grade TO grade_gone")
		require.NoError(t, err)

		require.Equal(t, before, stats()) // stale: reload started in the background
		// WarmStats joins that reload, or loads again if it has already
		// failed; either way every load after the first failed.
		err = svc.WarmStats(ctx)
		require.ErrorContains(t, err, "grade statistics")
		started, failed, _ := log.counts()
		require.Contains(t, []int{2, 3}, started)
		require.Equal(t, started-1, failed)
		require.True(t, log.staleKept)

		// The stale counts stay; for a while after the failure no new
		// reload starts.
		require.Equal(t, before, stats())
		require.Equal(t, before, stats())
		again, _, _ := log.counts()
		require.Equal(t, started, again)

		// Mended, a reload brings the published rating in.
		_, err = db.ExecContext(ctx, "ALTER TABLE ratings RENAME COLUMN grade_gone TO grade")
		require.NoError(t, err)
		require.NoError(t, svc.WarmStats(ctx))
		require.Equal(t, map[string]int{"A": 1, "B": 1, "C": 1}, countyGrades(t, stats()))
	})
}

func TestGradeStatsColdFailure(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		statsFixture(t, db)
		_, err := db.ExecContext(ctx, "ALTER TABLE ratings RENAME COLUMN grade TO grade_gone")
		require.NoError(t, err)
		var log loadLog
		svc := loggedService(t, db, 0, &log)
		_, err = svc.GradeStats(ctx, ratings.StatsQuery{})
		require.ErrorContains(t, err, "grade statistics")
		_, err = db.ExecContext(ctx, "ALTER TABLE ratings RENAME COLUMN grade_gone TO grade")
		require.NoError(t, err)
		// Nothing cached: the next call loads again and waits.
		rep, err := svc.GradeStats(ctx, ratings.StatsQuery{})
		require.NoError(t, err)
		require.Equal(t, 2025, rep.Period)
		started, failed, _ := log.counts()
		require.Equal(t, 2, started)
		require.Equal(t, 1, failed)
		require.False(t, log.staleKept)
	})
}

func TestGradeStatsConcurrent(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		statsFixture(t, db)
		statsRandomFixture(t, db)
		var log loadLog
		svc := loggedService(t, db, time.Nanosecond, &log) // every call finds the counts stale
		ref := uncachedStats(t, db)
		qs := statsQueries()
		want := make([]*ratings.StatsReport, len(qs))
		for i, q := range qs {
			var err error
			want[i], err = ref.GradeStats(ctx, q)
			require.NoError(t, err)
		}

		// Cold: concurrent first callers share one load.
		var wg sync.WaitGroup
		errs := make(chan error, 16*len(qs))
		for w := range 16 {
			wg.Go(func() {
				for i := range qs {
					k := (i + w*7) % len(qs)
					got, err := svc.GradeStats(ctx, qs[k])
					if err == nil && !reflect.DeepEqual(want[k], got) {
						err = fmt.Errorf("%+v: got %+v, want %+v", qs[k], got, want[k])
					}
					if err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		require.NoError(t, svc.WarmStats(ctx)) // the last reload started
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		started, failed, most := log.counts()
		require.Equal(t, 1, most, "more than one load at a time")
		require.Zero(t, failed)
		require.Greater(t, started, 1, "stale counts never reloaded")
		require.Less(t, started, 16*len(qs)+2)
		t.Logf("%d calls, %d loads", 16*len(qs), started)
	})
}
