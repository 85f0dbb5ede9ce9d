package ratings_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// The public-search benchmark needs a database and minutes, so it runs
// only when asked (see docs/BENCHMARKS.md):
//
//	LABORCREDIT_BENCH_SEARCH=1000000 LABORCREDIT_TEST_DATABASE_URL=postgres://… \
//	  go test ./ratings -run '^$' -bench 'SearchPublished/postgres' -benchtime 1x -timeout 1h
//
// It loads N employers, each with one published, current rating of 2025
// (names, regions and grades as below), then runs a mix of public searches
// — by code, by a part of a name of 2, 3 and 4 characters (common and
// rare), by region with and without a grade, by grade, no filter, deep
// pages — with LABORCREDIT_BENCH_SEARCH_WORKERS (default 4) concurrent
// callers of Service.SearchPublished, LABORCREDIT_BENCH_SEARCH_QUERIES
// (default 1,000) of each kind in a shuffled order, and in the same run the
// baseline: a bare primary-key SELECT of one published rating by employer
// code. It prints p50 and p99 per kind and overall (with -v, also the
// slowest query of each kind).
//
// LABORCREDIT_BENCH_SEARCH_URL, if set, names a database (postgres://… or
// sqlite://…) for the sub-benchmark of its dialect to use and keep
// instead of a throwaway one: it is migrated, and loaded when it holds no
// employers, so later runs skip the load.
func benchSearchSize(b *testing.B) int {
	n, _ := strconv.Atoi(os.Getenv("LABORCREDIT_BENCH_SEARCH"))
	if n <= 0 {
		b.Skip("set LABORCREDIT_BENCH_SEARCH to the number of employers to run the public-search benchmark")
	}
	return n
}

func benchSearchEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(b, err, name)
	require.Positive(b, n, name)
	return n
}

// searchCorpus is the synthetic province: employer i has codes[i],
// names[i], regions[i] and grades[i], and its trade name (字号) starts at
// rune tradeAt[i] of its name and is tradeLen[i] runes long.
type searchCorpus struct {
	codes, names, regions, grades []string
	tradeAt, tradeLen             []int
	trades                        map[string]int // employers per trade name
	counties                      []string
}

// Characters trade names are made of, most used first (drawn with a Zipf
// law, so a few pairs are common and most are rare).
const tradeRunes = "华鑫盛泰宏达兴恒源祥瑞丰昌汇通博创联信德福安康永嘉锦金天中新大长江汉楚荆鄂东南明光辉腾飞龙凤云海山峰林森宇星晨阳春和合利益佳美优卓越远航帆力强誉诚正方圆广厚仁义智慧思维易捷顺畅万千百亿众民家欣悦乐喜旺隆豪雅润泽清景绿茂荣耀凯旋骏驰鹏程磊淼鼎晟昊煜炜琪璟瀚麒麟犇骐骥铭钧铠锐铂钰"

// weighted is a word and its weight (per mille) in the corpus.
type weighted struct {
	word   string
	weight int
}

// Business words, and legal forms.
var (
	businessWords = []weighted{
		{"建筑工程", 120}, {"建筑劳务", 40}, {"建设工程", 50}, {"商贸", 110}, {"科技", 110}, {"物流", 60}, {"餐饮管理", 40},
		{"机械制造", 40}, {"电子", 30}, {"食品", 40}, {"房地产开发", 30}, {"物业服务", 40}, {"汽车零部件", 30},
		{"纺织服装", 30}, {"医药", 20}, {"农业开发", 30}, {"环保科技", 20}, {"信息技术", 40}, {"装饰工程", 40},
		{"劳务派遣", 20}, {"人力资源服务", 20}, {"实业", 40},
	}
	legalForms = []weighted{{"有限公司", 750}, {"有限责任公司", 150}, {"股份有限公司", 50}, {"集团有限公司", 30}, {"合伙企业", 20}}
)

// pickWeighted draws a word by weight.
func pickWeighted(r *rand.Rand, words []weighted) string {
	total := 0
	for _, w := range words {
		total += w.weight
	}
	n := r.IntN(total)
	for _, w := range words {
		if n -= w.weight; n < 0 {
			return w.word
		}
	}
	return words[len(words)-1].word
}

// newSearchCorpus makes n employers of Hubei: counties weighted (Wuhan's
// three times), names "<湖北|city|∅><trade name of 2 or 3 runes><business
// word><legal form>", grades 98% A, 1.7% B, 0.3% C.
func newSearchCorpus(b *testing.B, n int) *searchCorpus {
	regions, err := ratings.DefaultRegions()
	require.NoError(b, err)
	c := &searchCorpus{trades: map[string]int{}}
	// Each county with the place its names start with, Wuhan's three
	// times over.
	type county struct{ code, place string }
	var counties []county
	for _, city := range regions.Children("420000") {
		place := strings.TrimSuffix(city.Name, "市")
		if utf8.RuneCountInString(place) > 3 {
			place = string([]rune(place)[:2])
		}
		for _, k := range regions.Children(city.Code) {
			p, times := place, 1
			if strings.HasPrefix(city.Code, "4290") {
				p = strings.TrimSuffix(k.Name, "市")
			}
			if city.Code == "420100" {
				times = 3
			}
			for range times {
				counties = append(counties, county{k.Code, p})
			}
			c.counties = append(c.counties, k.Code)
		}
	}
	require.NotEmpty(b, counties)
	r := rand.New(rand.NewPCG(2025, 11))
	runes := []rune(tradeRunes)
	zipf := rand.NewZipf(r, 1.1, 4, uint64(len(runes)-1))
	serial := map[string]int{}
	for range n {
		k := counties[r.IntN(len(counties))]
		serial[k.code]++
		var prefix string
		switch p := r.IntN(100); {
		case p < 50:
			prefix = "湖北"
		case p < 85:
			prefix = k.place
		}
		trade := []rune{runes[zipf.Uint64()], runes[zipf.Uint64()]}
		if r.IntN(5) == 0 {
			trade = append(trade, runes[zipf.Uint64()])
		}
		word := pickWeighted(r, businessWords)
		form := pickWeighted(r, legalForms)
		grade := "A"
		switch g := r.IntN(1000); {
		case g < 3:
			grade = "C"
		case g < 20:
			grade = "B"
		}
		c.codes = append(c.codes, code(b, k.code, serial[k.code]))
		c.names = append(c.names, prefix+string(trade)+word+form)
		c.regions = append(c.regions, k.code)
		c.grades = append(c.grades, grade)
		c.tradeAt = append(c.tradeAt, utf8.RuneCountInString(prefix))
		c.tradeLen = append(c.tradeLen, len(trade))
		c.trades[string(trade)]++
	}
	return c
}

// loadSearchCorpus writes the corpus: employers, then one published,
// current rating of period each (with facts and result of a real
// rating's size), with COPY on PostgreSQL and multi-row INSERTs on SQLite.
// The employers must be new and the period's rule set rs.
func loadSearchCorpus(t testing.TB, db *bun.DB, c *searchCorpus, rs *ratings.StoredRuleSet, period int) {
	ctx := context.Background()
	computed := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	publicized := time.Date(2026, 3, 10, 1, 0, 0, 0, time.UTC)
	published := time.Date(2026, 3, 20, 1, 0, 0, 0, time.UTC)
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ins := newBulk(ctx, tx, "employers", "uscc", "name", "region", "industry", "employees")
		for i := range c.codes {
			if err := ins.add(c.codes[i], c.names[i], c.regions[i], "construction", 10+i%300); err != nil {
				return fmt.Errorf("employer %d: %w", i, err)
			}
		}
		if err := ins.flush(); err != nil {
			return err
		}
		ids := map[string]int64{}
		var rows []struct {
			ID   int64  `bun:"id"`
			USCC string `bun:"uscc"`
		}
		if err := tx.NewSelect().Table("employers").Column("id", "uscc").Scan(ctx, &rows); err != nil {
			return err
		}
		for _, r := range rows {
			ids[r.USCC] = r.ID
		}
		var seq int64 // each publication takes the next number of the changes feed
		if err := tx.NewSelect().Table("feed_head").Column("seq").Where("id = 1").Scan(ctx, &seq); err != nil {
			return err
		}
		ins = newBulk(ctx, tx, "ratings", "employer_id", "period", "version", "current", "status", "rule_set_id", "rule_set_hash",
			"engine_grade", "grade", "score", "result", "facts", "computed_at", "lock_version", "publicized_at", "publicity_ends",
			"published_at", "feed_seq")
		for i := range c.codes {
			emp := 10 + i%300
			fired := "[]"
			if c.grades[i] != "A" {
				fired = `[{"rule":"c-wage-arrears","cap":"` + c.grades[i] + `","points":0,"basis":"第七条","reason":"拖欠劳动者工资","evidence":["HB-2025-` + strconv.Itoa(i) + `"]}]`
			}
			result := fmt.Sprintf(`{"uscc":%q,"period":%d,"rule_set":"national-2016","rule_set_hash":%q,"grade":%q,"score":null,"fired":%s,"awards":[]}`,
				c.codes[i], period, rs.Hash, c.grades[i], fired)
			facts := fmt.Sprintf(`{"period":%d,"employer":{"uscc":%q,"name":%q,"region":%q,"industry":"construction","employees":%d},`+
				`"annual_review":{"submitted":true,"on_time":true,"employees":%d,"contracts_signed":%d,"insured":%d,"roster_complete":true},`+
				`"cases":null,"complaints":0,"wage_deposit":{"required":false,"paid":false},"blacklisted":false,"history":null}`,
				period, c.codes[i], c.names[i], c.regions[i], emp, emp, emp-i%3, emp-i%5)
			if err := ins.add(ids[c.codes[i]], period, 1, true, ratings.StatusPublished, rs.ID, rs.Hash, c.grades[i], c.grades[i], nil,
				result, facts, computed, 2, publicized, "2026-03-17", published, seq+int64(i)+1); err != nil {
				return fmt.Errorf("rating %d: %w", i, err)
			}
		}
		if err := ins.flush(); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE feed_head SET seq = seq + ? WHERE id = 1", len(c.codes))
		return err
	})
	require.NoError(t, err)
}

// searchKind is one kind of public search in the benchmark mix.
type searchKind struct {
	name  string
	query func(r *rand.Rand) ratings.PublicQuery
	check func(b *testing.B, q ratings.PublicQuery, p *ratings.PublicPage) // nil: any answer
}

// searchKinds is the benchmark mix over corpus c.
func searchKinds(b *testing.B, c *searchCorpus) []searchKind {
	var rare2, rare34 []int
	for i, name := range c.names {
		trade := string([]rune(name)[c.tradeAt[i] : c.tradeAt[i]+c.tradeLen[i]])
		if k := c.trades[trade]; k <= 20 {
			rare34 = append(rare34, i)
			if c.tradeLen[i] == 2 {
				rare2 = append(rare2, i)
			}
		}
	}
	require.NotEmpty(b, rare2)
	require.NotEmpty(b, rare34)
	part := func(i, n int) string { return string([]rune(c.names[i])[c.tradeAt[i] : c.tradeAt[i]+n]) }
	pick := func(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }
	big := []string{"420100", "420500", "420600", "421000", "420900"}
	found := func(b *testing.B, q ratings.PublicQuery, p *ratings.PublicPage) {
		require.NotEmpty(b, p.Items, "%+v", q)
		for _, it := range p.Items {
			require.Contains(b, it.Name, q.Q, "%+v", q)
		}
	}
	full := func(b *testing.B, q ratings.PublicQuery, p *ratings.PublicPage) {
		require.Len(b, p.Items, p.PerPage, "%+v", q)
	}
	return []searchKind{
		{name: "code", query: func(r *rand.Rand) ratings.PublicQuery { return ratings.PublicQuery{Q: c.codes[r.IntN(len(c.codes))]} },
			check: func(b *testing.B, q ratings.PublicQuery, p *ratings.PublicPage) {
				require.Len(b, p.Items, 1, "%+v", q)
				require.Equal(b, q.Q, p.Items[0].USCC)
			}},
		{name: "name, 2 chars, common", query: func(r *rand.Rand) ratings.PublicQuery {
			return ratings.PublicQuery{Q: pick(r, []string{"建筑", "武汉", "科技", "商贸", "宜昌"})}
		}, check: found},
		{name: "name, 2 chars, rare", query: func(r *rand.Rand) ratings.PublicQuery {
			return ratings.PublicQuery{Q: part(rare2[r.IntN(len(rare2))], 2)}
		}, check: found},
		{name: "name, 3 chars, common", query: func(r *rand.Rand) ratings.PublicQuery {
			return ratings.PublicQuery{Q: pick(r, []string{"建筑工", "有限公", "科技有", "武汉华"})}
		}, check: found},
		{name: "name, 3 chars, rare", query: func(r *rand.Rand) ratings.PublicQuery {
			return ratings.PublicQuery{Q: part(rare34[r.IntN(len(rare34))], 3)}
		}, check: found},
		{name: "name, 4 chars, common", query: func(r *rand.Rand) ratings.PublicQuery {
			return ratings.PublicQuery{Q: pick(r, []string{"有限公司", "建筑工程", "湖北华鑫", "商贸有限"})}
		}, check: found},
		{name: "name, 4 chars, rare", query: func(r *rand.Rand) ratings.PublicQuery {
			return ratings.PublicQuery{Q: part(rare34[r.IntN(len(rare34))], 4)}
		}, check: found},
		{name: "name, 2 chars, common, in a county", query: func(r *rand.Rand) ratings.PublicQuery {
			return ratings.PublicQuery{Q: pick(r, []string{"建筑", "科技", "商贸"}), Region: pick(r, c.counties)}
		}},
		{name: "region: city", query: func(r *rand.Rand) ratings.PublicQuery { return ratings.PublicQuery{Region: pick(r, big)} }, check: full},
		{name: "region: county", query: func(r *rand.Rand) ratings.PublicQuery { return ratings.PublicQuery{Region: pick(r, c.counties)} }},
		{name: "region: city, grade B", query: func(r *rand.Rand) ratings.PublicQuery {
			return ratings.PublicQuery{Region: pick(r, big), Grade: "B"}
		}},
		{name: "region: county, grade A", query: func(r *rand.Rand) ratings.PublicQuery {
			return ratings.PublicQuery{Region: pick(r, c.counties), Grade: "A"}
		}},
		{name: "region: county, grade C", query: func(r *rand.Rand) ratings.PublicQuery {
			return ratings.PublicQuery{Region: pick(r, c.counties), Grade: "C"}
		}},
		{name: "grade C", query: func(r *rand.Rand) ratings.PublicQuery { return ratings.PublicQuery{Grade: "C"} }, check: full},
		{name: "no filter, page 1", query: func(r *rand.Rand) ratings.PublicQuery { return ratings.PublicQuery{} }, check: full},
		{name: "no filter, page 50", query: func(r *rand.Rand) ratings.PublicQuery { return ratings.PublicQuery{Page: 50} }, check: full},
		{name: "region: city, page 50", query: func(r *rand.Rand) ratings.PublicQuery {
			return ratings.PublicQuery{Region: pick(r, big), Page: 50}
		}, check: full},
	}
}

// percentile is the p-th percentile (nearest rank) of sorted durations.
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[max((len(d)*p+99)/100-1, 0)]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

// openSearchBenchDB opens the benchmark's database of a dialect: the one
// LABORCREDIT_BENCH_SEARCH_URL names if it is of that dialect (migrated,
// and kept), else a throwaway one.
func openSearchBenchDB(b *testing.B, dialect string) *bun.DB {
	u := os.Getenv("LABORCREDIT_BENCH_SEARCH_URL")
	if u == "" || strings.HasPrefix(u, "sqlite://") != (dialect == "sqlite") {
		if dialect == "sqlite" {
			return ratingstest.SQLite(b)
		}
		return ratingstest.Postgres(b)
	}
	ctx := context.Background()
	db, err := ratings.Open(ctx, u)
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	_, err = ratings.MigrateUp(ctx, db)
	require.NoError(b, err)
	return db
}

// searchJob is one call of the mix: a search of kind, or (kind ==
// len(kinds)) the baseline.
type searchJob struct {
	kind int
	q    ratings.PublicQuery
}

func BenchmarkSearchPublished(b *testing.B) {
	n := benchSearchSize(b)
	perKind := benchSearchEnvInt(b, "LABORCREDIT_BENCH_SEARCH_QUERIES", 1000)
	workers := benchSearchEnvInt(b, "LABORCREDIT_BENCH_SEARCH_WORKERS", 4)
	for _, dialect := range []string{"postgres", "sqlite"} {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			db := openSearchBenchDB(b, dialect)
			svc := newService(b, db)
			start := time.Now()
			c := newSearchCorpus(b, n)
			b.Logf("%s: made %d employers in %.1f s (%d trade names)", dialect, n, time.Since(start).Seconds(), len(c.trades))
			var have int
			require.NoError(b, db.NewSelect().Table("employers").ColumnExpr("count(*)").Scan(ctx, &have))
			if have == 0 {
				start = time.Now()
				loadSearchCorpus(b, db, c, activateNational(b, svc, 2025), 2025)
				b.Logf("%s: loaded %d employers and published ratings in %.1f s", dialect, n, time.Since(start).Seconds())
			} else {
				require.Equal(b, n, have, "the database holds another corpus")
			}
			start = time.Now()
			if ratings.IsPostgres(db) {
				// As autovacuum would have by now: statistics, and the
				// visibility map that index-only scans need.
				_, err := db.ExecContext(ctx, "VACUUM ANALYZE employers, ratings, public_ratings")
				require.NoError(b, err)
			} else {
				_, err := db.ExecContext(ctx, "ANALYZE")
				require.NoError(b, err)
			}
			b.Logf("%s: VACUUM ANALYZE %.1f s", dialect, time.Since(start).Seconds())

			kinds := searchKinds(b, c)
			// The baseline: one published rating by employer code, by primary
			// and unique keys, through the same driver and pool.
			baseline := func(ctx context.Context, uscc string) (ratings.PublicItem, error) {
				var it ratings.PublicItem
				err := db.NewRaw("SELECT e.uscc, e.name, e.region, r.period, r.grade, r.published_at FROM employers AS e "+
					"JOIN ratings AS r ON r.employer_id = e.id AND r.period = 2025 AND r.current AND r.status = 'published' WHERE e.uscc = ?", uscc).
					Scan(ctx, &it)
				return it, err
			}
			r := rand.New(rand.NewPCG(7, 7))
			var jobs, warm []searchJob
			for k, kind := range kinds {
				for i := range perKind + 20 {
					j := searchJob{k, kind.query(r)}
					if i < 20 {
						warm = append(warm, j)
					} else {
						jobs = append(jobs, j)
					}
				}
			}
			for range perKind {
				jobs = append(jobs, searchJob{len(kinds), ratings.PublicQuery{Q: c.codes[r.IntN(len(c.codes))]}})
			}
			r.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })

			var took [][]time.Duration // per kind
			var slowest []searchJob
			run := func(js []searchJob) {
				took, slowest = make([][]time.Duration, len(kinds)+1), make([]searchJob, len(kinds)+1)
				longest := make([]time.Duration, len(kinds)+1)
				var mu sync.Mutex
				ch := make(chan searchJob)
				var wg sync.WaitGroup
				for range workers {
					wg.Go(func() {
						for j := range ch {
							t0 := time.Now()
							if j.kind == len(kinds) {
								it, err := baseline(ctx, j.q.Q)
								require.NoError(b, err)
								require.Equal(b, j.q.Q, it.USCC)
							} else {
								p, err := svc.SearchPublished(ctx, j.q)
								require.NoError(b, err, "%s %+v", kinds[j.kind].name, j.q)
								if check := kinds[j.kind].check; check != nil {
									check(b, j.q, p)
								}
							}
							d := time.Since(t0)
							mu.Lock()
							if d > longest[j.kind] {
								slowest[j.kind], longest[j.kind] = j, d
							}
							took[j.kind] = append(took[j.kind], d)
							mu.Unlock()
						}
					})
				}
				for _, j := range js {
					ch <- j
				}
				close(ch)
				wg.Wait()
			}
			for b.Loop() {
				run(warm) // untimed: the first queries of each kind on fresh connections
				start = time.Now()
				run(jobs)
				b.Logf("%s: %d searches and %d baseline SELECTs by %d workers in %.1f s", dialect, len(jobs)-perKind, perKind, workers, time.Since(start).Seconds())
			}

			var all []time.Duration
			var out strings.Builder
			fmt.Fprintf(&out, "%s, %d employers, %d workers, %d queries of each kind:\n", dialect, n, workers, perKind)
			out.WriteString("| query kind | p50 ms | p99 ms | max ms |\n| --- | --- | --- | --- |\n")
			for k, d := range took {
				slices.Sort(d)
				name := "baseline: primary-key SELECT by code"
				if k < len(kinds) {
					name = kinds[k].name
					all = append(all, d...)
				}
				fmt.Fprintf(&out, "| %s | %s | %s | %s |\n", name, ms(percentile(d, 50)), ms(percentile(d, 99)), ms(d[len(d)-1]))
				if testing.Verbose() {
					fmt.Fprintf(&out, "slowest %s: %s ms %+v\n", name, ms(d[len(d)-1]), slowest[k].q)
				}
			}
			slices.Sort(all)
			base := took[len(kinds)]
			fmt.Fprintf(&out, "| all searches | %s | %s | %s |\n", ms(percentile(all, 50)), ms(percentile(all, 99)), ms(all[len(all)-1]))
			fmt.Fprintf(&out, "all searches p99 / baseline p99 = %.2f\n", float64(percentile(all, 99))/float64(percentile(base, 99)))
			// The table goes to stdout: a benchmark's log is cut to 10 lines.
			fmt.Print(out.String())
			b.ReportMetric(float64(percentile(all, 99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(percentile(base, 99).Microseconds())/1000, "baseline-p99-ms")
		})
	}
}
