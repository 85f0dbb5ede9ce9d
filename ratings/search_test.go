package ratings_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// searchFixture loads employers with published, current ratings of 2025
// (rule set national-2016) and returns the service and the corpus.
func searchFixture(t *testing.T, db *bun.DB, c *searchCorpus) *ratings.Service {
	t.Helper()
	svc := newService(t, db)
	loadSearchCorpus(t, db, c, activateNational(t, svc, 2025), 2025)
	return svc
}

// searchItems are the public items of corpus employers is, in the order a
// search lists them: by name, then code.
func searchItems(c *searchCorpus, is ...int) []ratings.PublicItem {
	out := []ratings.PublicItem{}
	for _, i := range is {
		out = append(out, ratings.PublicItem{USCC: c.codes[i], Name: c.names[i], Region: c.regions[i], Period: 2025, Grade: c.grades[i],
			PublishedAt: time.Date(2026, 3, 20, 1, 0, 0, 0, time.UTC)})
	}
	slices.SortFunc(out, func(a, b ratings.PublicItem) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.USCC, b.USCC))
	})
	return out
}

// A part of a name is matched literally and case-sensitively, whatever its
// length (1 and 2 characters take another index than 3 or more on
// PostgreSQL), and the same on both databases.
func TestSearchNames(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		c := &searchCorpus{}
		for i, e := range []struct{ name, region, grade string }{
			{"湖北鑫磊建筑有限公司", "420102", "A"},
			{"武汉鑫华物流有限公司", "420103", "B"},
			{"宜昌三峡100%纯净水有限公司", "420502", "A"},
			{"襄阳ABC_科技有限公司", "420602", "C"},
			{"黄石abc科技有限公司", "420202", "A"},
			{`荆州反斜\杠商贸有限公司`, "421002", "A"},
			{"磊", "420102", "B"},
			{"湖北鑫磊建筑有限公司", "420103", "A"}, // the same name in another county: by code then
			{"鑫磊鑫磊商贸有限公司", "420102", "A"}, // starts with the part and has it again: listed once
		} {
			c.codes = append(c.codes, code(t, e.region, 100+i))
			c.names = append(c.names, e.name)
			c.regions = append(c.regions, e.region)
			c.grades = append(c.grades, e.grade)
		}
		svc := searchFixture(t, db, c)
		tests := []struct {
			name  string
			query ratings.PublicQuery
			want  []int
		}{
			{"one character", ratings.PublicQuery{Q: "鑫"}, []int{0, 1, 7, 8}},
			{"one character, a whole name", ratings.PublicQuery{Q: "磊"}, []int{0, 6, 7, 8}},
			{"one character at the end", ratings.PublicQuery{Q: "司"}, []int{0, 1, 2, 3, 4, 5, 7, 8}},
			{"two characters", ratings.PublicQuery{Q: "鑫磊"}, []int{0, 7, 8}},
			{"two characters, inside only", ratings.PublicQuery{Q: "磊鑫"}, []int{8}},
			{"two characters at the start", ratings.PublicQuery{Q: "宜昌"}, []int{2}},
			{"two characters of one name", ratings.PublicQuery{Q: "物流"}, []int{1}},
			{"three characters", ratings.PublicQuery{Q: "鑫磊建"}, []int{0, 7}},
			{"three characters, at the start and inside", ratings.PublicQuery{Q: "鑫磊鑫"}, []int{8}},
			{"three characters at the start", ratings.PublicQuery{Q: "湖北鑫"}, []int{0, 7}},
			{"four characters", ratings.PublicQuery{Q: "建筑有限"}, []int{0, 7}},
			{"a whole name", ratings.PublicQuery{Q: "武汉鑫华物流有限公司"}, []int{1}},
			{"common to most", ratings.PublicQuery{Q: "有限公司"}, []int{0, 1, 2, 3, 4, 5, 7, 8}},
			{"spaces around", ratings.PublicQuery{Q: " 鑫磊 "}, []int{0, 7, 8}},
			{"digits and a percent sign", ratings.PublicQuery{Q: "100%"}, []int{2}},
			{"a percent sign alone", ratings.PublicQuery{Q: "%"}, []int{2}},
			{"a percent sign is no wildcard", ratings.PublicQuery{Q: "三%水"}, []int{}},
			{"an underscore alone", ratings.PublicQuery{Q: "_"}, []int{3}},
			{"an underscore is no wildcard", ratings.PublicQuery{Q: "ABC_科"}, []int{3}},
			{"an underscore is no wildcard, 2 characters", ratings.PublicQuery{Q: "C_"}, []int{3}},
			{"an underscore matches only itself", ratings.PublicQuery{Q: "ab_"}, []int{}},
			{"upper case", ratings.PublicQuery{Q: "ABC"}, []int{3}},
			{"lower case", ratings.PublicQuery{Q: "abc"}, []int{4}},
			{"mixed case finds neither", ratings.PublicQuery{Q: "Abc"}, []int{}},
			{"a backslash", ratings.PublicQuery{Q: `\`}, []int{5}},
			{"a backslash and a character", ratings.PublicQuery{Q: `\杠`}, []int{5}},
			{"a backslash inside", ratings.PublicQuery{Q: `反斜\杠`}, []int{5}},
			{"nothing", ratings.PublicQuery{Q: "不存在的单位"}, []int{}},
			{"nothing, 2 characters", ratings.PublicQuery{Q: "鑫鑫"}, []int{}},
			{"a whole name and more", ratings.PublicQuery{Q: "磊磊"}, []int{}},
			{"with a region", ratings.PublicQuery{Q: "鑫", Region: "420100"}, []int{0, 1, 7, 8}},
			{"with a county", ratings.PublicQuery{Q: "鑫磊", Region: "420102"}, []int{0, 8}},
			{"with a grade", ratings.PublicQuery{Q: "科技", Grade: "C"}, []int{3}},
			{"a code", ratings.PublicQuery{Q: c.codes[3]}, []int{3}},
			{"a code with spaces", ratings.PublicQuery{Q: " " + c.codes[5] + " "}, []int{5}},
			{"everything", ratings.PublicQuery{}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}},
		}
		// Twice: as loaded, PostgreSQL has no statistics and looks every part
		// of 1 or 2 characters up in the index of tail_grams; analyzed, the
		// parts in most names are common and it walks the names with LIKE.
		// (The phases run one after the other, so they are not parallel.)
		for _, phase := range []string{"as loaded", "analyzed"} {
			if phase == "analyzed" {
				_, err := db.ExecContext(context.Background(), "ANALYZE public_ratings")
				require.NoError(t, err)
				if ratings.IsPostgres(db) {
					var common, rare float64
					require.NoError(t, db.NewRaw("SELECT laborcredit_tail_gram_share('有'), laborcredit_tail_gram_share('磊鑫')").
						Scan(context.Background(), &common, &rare))
					require.Greater(t, common, 0.5)
					require.Less(t, rare, 0.5)
				}
			}
			t.Run(phase, func(t *testing.T) {
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						t.Parallel()
						got, err := svc.SearchPublished(context.Background(), tt.query)
						require.NoError(t, err)
						want := searchItems(c, tt.want...)
						require.Equal(t, &ratings.PublicPage{Items: want, Total: len(want), Page: 1, PerPage: 20, Period: 2025}, got)
					})
				}
			})
		}
	})
}

// Past SearchLimit matches a search reports the limit and that there are
// more, and refuses pages that start past it.
func TestSearchLimit(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		c := &searchCorpus{}
		n := ratings.SearchLimit + 5
		for i := range n {
			grade := "A"
			if i%200 == 7 {
				grade = "B" // 5 of them: SearchLimit A's
			}
			c.codes = append(c.codes, code(t, "420102", 1+i))
			c.names = append(c.names, fmt.Sprintf("封顶测试企业%04d有限公司", i))
			c.regions = append(c.regions, "420102")
			c.grades = append(c.grades, grade)
		}
		c.codes = append(c.codes, code(t, "420103", 1), code(t, "420103", 2))
		c.names = append(c.names, "江汉甲有限公司", "江汉乙有限公司")
		c.regions = append(c.regions, "420103", "420103")
		c.grades = append(c.grades, "B", "C")
		svc := searchFixture(t, db, c)
		// With statistics, so that PostgreSQL walks the names for the common
		// parts of 1 and 2 characters below.
		_, err := db.ExecContext(context.Background(), "ANALYZE public_ratings")
		require.NoError(t, err)
		all := make([]int, n+2)
		for i := range all {
			all[i] = i
		}
		sorted := searchItems(c, all...)
		ofGrade := func(grade string) []ratings.PublicItem {
			var out []ratings.PublicItem
			for _, it := range sorted {
				if it.Grade == grade {
					out = append(out, it)
				}
			}
			return out
		}
		require.Len(t, ofGrade("A"), ratings.SearchLimit)
		tests := []struct {
			name    string
			query   ratings.PublicQuery
			items   []ratings.PublicItem
			total   int
			capped  bool
			page    int
			perPage int
		}{
			{"first page", ratings.PublicQuery{}, sorted[:20], ratings.SearchLimit, true, 1, 20},
			{"the last page under the limit", ratings.PublicQuery{Page: 50}, sorted[980:1000], ratings.SearchLimit, true, 50, 20},
			{"a page across the limit", ratings.PublicQuery{Page: 34, PerPage: 30}, sorted[990:1007], ratings.SearchLimit, true, 34, 30},
			{"100 a page", ratings.PublicQuery{Page: 10, PerPage: 100}, sorted[900:1000], ratings.SearchLimit, true, 10, 100},
			{"the start of many names", ratings.PublicQuery{Q: "封顶", Page: 50}, sorted[980:1000], ratings.SearchLimit, true, 50, 20},
			{"inside many names", ratings.PublicQuery{Q: "测试企业", Page: 2, PerPage: 100}, sorted[100:200], ratings.SearchLimit, true, 2, 100},
			{"one character, many names", ratings.PublicQuery{Q: "封", Page: 3}, sorted[40:60], ratings.SearchLimit, true, 3, 20},
			{"exactly the limit", ratings.PublicQuery{Grade: "A", Page: 2, PerPage: 100}, ofGrade("A")[100:200], ratings.SearchLimit, false, 2, 100},
			{"a few", ratings.PublicQuery{Grade: "B"}, ofGrade("B"), 6, false, 1, 20},
			{"under the limit, one page", ratings.PublicQuery{Q: "企业000"}, sorted[:10], 10, false, 1, 20},
			{"under the limit, counted", ratings.PublicQuery{Q: "企业00", PerPage: 50}, sorted[:50], 100, false, 1, 50},
			{"under the limit, last page", ratings.PublicQuery{Q: "企业00", Page: 3, PerPage: 40}, sorted[80:100], 100, false, 3, 40},
			{"past the last page", ratings.PublicQuery{Q: "企业00", Page: 4, PerPage: 40}, []ratings.PublicItem{}, 100, false, 4, 40},
			{"past the last page, counted", ratings.PublicQuery{Region: "420103", Page: 2}, []ratings.PublicItem{}, 2, false, 2, 20},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				got, err := svc.SearchPublished(context.Background(), tt.query)
				require.NoError(t, err)
				require.Equal(t, &ratings.PublicPage{Items: tt.items, Total: tt.total, TotalCapped: tt.capped, Page: tt.page, PerPage: tt.perPage, Period: 2025}, got)
			})
		}
		refused := []struct {
			name  string
			query ratings.PublicQuery
			field string
		}{
			{"a page past the limit", ratings.PublicQuery{Page: 51}, "page"},
			{"100 a page, past the limit", ratings.PublicQuery{Page: 11, PerPage: 100}, "page"},
			{"far past the limit", ratings.PublicQuery{Page: 1 << 20}, "page"},
			{"per_page over 100", ratings.PublicQuery{PerPage: 101}, "per_page"},
			{"an unknown region", ratings.PublicQuery{Region: "999999"}, "region"},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				_, err := svc.SearchPublished(context.Background(), tt.query)
				requireField(t, err, tt.field)
			})
		}
	})
}

// The search shows a rating once it is published, its correction instead
// of it, and its employer's new name at once: public_ratings follows the
// ratings and employers tables in the same transaction.
func TestSearchFollowsPublication(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		b := edgeSetup(t, db, 3)
		search := func(q ratings.PublicQuery) []ratings.PublicItem {
			t.Helper()
			p, err := b.svc.SearchPublished(ctx, q)
			require.NoError(t, err)
			return p.Items
		}
		requireMirror := func() {
			t.Helper()
			var want, got []string
			require.NoError(t, db.NewSelect().TableExpr("ratings AS r").Join("JOIN employers AS e ON e.id = r.employer_id").
				ColumnExpr("e.uscc || ' ' || e.name || ' ' || e.region || ' ' || r.id || ' ' || r.period || ' ' || r.grade").
				Where("r.status = ? AND r.current", ratings.StatusPublished).OrderExpr("r.id").Scan(ctx, &want))
			require.NoError(t, db.NewSelect().TableExpr("public_ratings AS p").
				ColumnExpr("p.uscc || ' ' || p.name || ' ' || p.region || ' ' || p.rating_id || ' ' || p.period || ' ' || p.grade").
				OrderExpr("p.rating_id").Scan(ctx, &got))
			require.Equal(t, want, got)
		}

		b.rate(t)
		require.Empty(t, search(ratings.PublicQuery{}), "rated, not published")
		b.advance(t, b.codes[1], ratings.StatusConfirmed)
		pub := b.advance(t, b.codes[0], ratings.StatusPublicized)
		b.advance(t, b.codes[2], ratings.StatusPublicized)
		require.Empty(t, search(ratings.PublicQuery{}), "under publicity, not published")
		requireMirror()

		b.clk.Set("2026-03-20")
		n, err := b.svc.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		got := search(ratings.PublicQuery{})
		require.Len(t, got, 2)
		require.Equal(t, []string{b.codes[0], b.codes[2]}, []string{got[0].USCC, got[1].USCC})
		require.Equal(t, "A", got[0].Grade)
		require.Equal(t, 2025, got[0].Period)
		requireMirror()

		v1 := b.get(t, pub.ID)
		v2, err := b.svc.Correct(ctx, county, ratings.Ref{ID: v1.ID, LockVersion: v1.LockVersion}, "B", "补录超时加班案件")
		require.NoError(t, err)
		got = search(ratings.PublicQuery{Q: b.codes[0]})
		require.Len(t, got, 1)
		require.Equal(t, "B", got[0].Grade, "the correction replaces the published version")
		require.Equal(t, v2.PublishedAt.UTC(), got[0].PublishedAt)
		require.Empty(t, search(ratings.PublicQuery{Grade: "A", Q: b.codes[0]}))
		requireMirror()

		_, err = db.ExecContext(ctx, "UPDATE employers SET name = ? WHERE uscc = ?", "江岸更名后企业", b.codes[2])
		require.NoError(t, err)
		got = search(ratings.PublicQuery{Q: "更名"})
		require.Len(t, got, 1)
		require.Equal(t, b.codes[2], got[0].USCC)
		require.Equal(t, "江岸更名后企业", got[0].Name)
		require.Empty(t, search(ratings.PublicQuery{Q: "江岸边界企业2"}), "the old name is gone")
		requireMirror()

		// The period defaults to the latest published one.
		p, err := b.svc.SearchPublished(ctx, ratings.PublicQuery{})
		require.NoError(t, err)
		require.Equal(t, 2025, p.Period)
		p, err = b.svc.SearchPublished(ctx, ratings.PublicQuery{Period: 2024})
		require.NoError(t, err)
		require.Equal(t, &ratings.PublicPage{Items: []ratings.PublicItem{}, Page: 1, PerPage: 20, Period: 2024}, p)
	})
}

// Before anything is published the search is empty, with no period.
func TestSearchNothingPublished(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		p, err := newService(t, db).SearchPublished(context.Background(), ratings.PublicQuery{Q: "鑫"})
		require.NoError(t, err)
		require.Equal(t, &ratings.PublicPage{Items: []ratings.PublicItem{}, Page: 1, PerPage: 20}, p)
	})
}

// Every paged list takes pages from 1 to MaxPage (0 for 1); a page out of
// bounds is refused naming page, and none wraps the offset (a page past
// int64 once gave a negative OFFSET: PostgreSQL failed, SQLite showed the
// first page).
func TestPagingBounds(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		lists := map[string]func(page int) error{
			"search": func(page int) error {
				_, err := svc.SearchPublished(ctx, ratings.PublicQuery{Page: page, PerPage: 20})
				return err
			},
			"ratings": func(page int) error {
				_, err := svc.ListRatings(ctx, ratings.System, ratings.RatingFilter{Page: page})
				return err
			},
			"employers": func(page int) error {
				_, err := svc.ListEmployers(ctx, ratings.System, "", "", page)
				return err
			},
			"publicity": func(page int) error {
				_, err := svc.UnderPublicity(ctx, "", page)
				return err
			},
		}
		for name, list := range lists {
			for _, page := range []int{-1, ratings.MaxPage + 1, math.MaxInt, math.MaxInt/20 + 2} {
				var ve *ratings.ValidationError
				require.ErrorAs(t, list(page), &ve, "%s page %d", name, page)
				require.Equal(t, "page", ve.Field, "%s page %d", name, page)
			}
			require.NoError(t, list(0), name)
			require.NoError(t, list(1), name)
			if name != "search" {
				require.NoError(t, list(ratings.MaxPage), name)
			}
		}
		for _, per := range []int{-1, 101, math.MaxInt} {
			_, err := svc.SearchPublished(ctx, ratings.PublicQuery{Page: 2, PerPage: per})
			var ve *ratings.ValidationError
			require.ErrorAs(t, err, &ve, "per_page %d", per)
			require.Equal(t, "per_page", ve.Field)
		}
	})
}
