package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/api"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// page serves a web page (pages are not in openapi.json, so not through
// do), with an optional Accept-Language header.
func (b *testBundle) page(t *testing.T, target, acceptLanguage string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	return rec
}

// newWebHandler is a server over svc.
func newWebHandler(t *testing.T, svc *ratings.Service) http.Handler {
	t.Helper()
	qlog := ratings.NewQueryLog(svc.DB(), nil)
	t.Cleanup(qlog.Close)
	return api.New(svc, api.Options{QueryLog: qlog})
}

// localHref finds the links to our own pages.
var localHref = regexp.MustCompile(`href="(/[^"]*)"`)

// requireHTMLPage checks what every page has: the status, an HTML content
// type, the language, the viewport, every message translated, no personal
// or officers' data, and every link to a page keeping the language.
func requireHTMLPage(t *testing.T, rec *httptest.ResponseRecorder, status int, lang string) string {
	t.Helper()
	body := rec.Body.String()
	require.Equal(t, status, rec.Code, body)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Header().Get("Vary"), "Accept-Language")
	require.NotEmpty(t, rec.Header().Get("Cache-Control"))
	require.True(t, strings.HasPrefix(body, "<!DOCTYPE html>\n<html lang=\""+lang+"\">"), body[:min(len(body), 200)])
	require.Contains(t, body, `<meta name="viewport" content="width=device-width, initial-scale=1">`)
	require.NotContains(t, body, "MISSING:")
	require.NotContains(t, body, "<script")
	// Officers, objectors, their decisions and the correction's reason are
	// never shown.
	for _, secret := range []string{"管理员", "职工 王某", "该单位拖欠加班费", "经核实，加班费已足额支付", correctionReason, "WH-2025-0001", "JM-2025-0007",
		"武汉市人社局", "湖北省人社厅"} {
		require.NotContains(t, body, secret)
	}
	param := map[string]string{"zh-CN": "lang=zh", "en": "lang=en"}[lang]
	other := map[string]string{"zh-CN": "lang=en", "en": "lang=zh"}[lang]
	for _, m := range localHref.FindAllStringSubmatch(body, -1) {
		href := m[1]
		if strings.HasPrefix(href, "/static/") || strings.HasPrefix(href, "/api/") {
			continue
		}
		if strings.Contains(body, `href="`+href+`" hreflang=`) {
			require.Contains(t, href, other, "the language switch offers the other language")
			continue
		}
		require.Contains(t, href, param, "link %s loses the language", href)
	}
	return body
}

func TestWebPages(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		e := b.e
		names := func(is ...int) []string {
			var out []string
			for _, i := range is {
				out = append(out, e[i].Name)
			}
			return out
		}
		q := url.QueryEscape
		tests := []struct {
			name    string
			target  string
			accept  string // Accept-Language
			status  int
			lang    string
			want    []string
			notWant []string
		}{
			// home: search, filters, pages, languages
			{"home", "/", "", 200, "zh-CN", append(names(0, 1, 2, 3), "评价结果查询", "2025 年度共 4 家单位", "湖北省 / 武汉市 / 江岸区",
				`href="/employers/`+e[0].USCC+`?lang=zh"`, "首页", "最佳诚信单位", "统计", "公示", "只显示已公布的评价结果", `<html lang="zh-CN">`),
				names(4, 5, 6)},
			{"home in English by ?lang", "/?lang=en", "", 200, "en", append(names(0, 1, 2, 3), "Search published ratings", "4 employers, period 2025",
				"Best Integrity Units", "Only published ratings are shown", ">中文</a>"), append(names(4, 5, 6), "评价结果查询")},
			{"home in English by Accept-Language", "/", "en-US,en;q=0.9", 200, "en", []string{"Search published ratings"}, nil},
			{"Accept-Language q-values pick English", "/", "fr-FR, de;q=0.9, en;q=0.5, zh;q=0.4", 200, "en", []string{"Search published ratings"}, nil},
			{"Accept-Language prefers Chinese", "/", "zh-CN,zh;q=0.9,en;q=0.8", 200, "zh-CN", []string{"评价结果查询"}, nil},
			{"Accept-Language refuses Chinese", "/", "zh;q=0, en;q=0.1", 200, "en", []string{"Search published ratings"}, nil},
			{"Accept-Language without ours", "/", "fr, de", 200, "zh-CN", []string{"评价结果查询"}, nil},
			{"?lang overrides Accept-Language", "/?lang=zh", "en", 200, "zh-CN", []string{"评价结果查询"}, nil},
			{"unknown lang falls back to Chinese", "/?lang=xx", "", 200, "zh-CN", []string{"评价结果查询"}, nil},
			{"search by part of a name", "/?q=" + q("物流"), "", 200, "zh-CN", append(names(1), "2025 年度共 1 家单位", `value="物流"`), names(0, 2, 3)},
			{"search by code", "/?q=" + e[2].USCC, "", 200, "zh-CN", append(names(2), "2025 年度共 1 家单位"), names(0, 1, 3)},
			{"search finds nothing", "/?q=" + q("不存在的单位"), "", 200, "zh-CN", []string{"没有符合条件的已公布评价"}, names(0, 1, 2, 3)},
			{"a city includes its counties", "/?region=420100", "", 200, "zh-CN", append(names(0, 1, 3), "3 家单位"), names(2)},
			{"province then city by the form", "/?province=420000&city=420100", "", 200, "zh-CN",
				append(names(0, 1, 3), `<option value="420100" selected>武汉市</option>`, `<option value="420102">江岸区</option>`), names(2)},
			{"province, city, county", "/?province=420000&city=420100&county=420102", "", 200, "zh-CN",
				append(names(0, 3), `<option value="420102" selected>江岸区</option>`), names(1, 2)},
			{"another city", "/?province=420000&city=420800", "", 200, "zh-CN", names(2), names(0, 1, 3)},
			{"a city left from another province is dropped", "/?province=430000&city=420100", "", 200, "zh-CN",
				[]string{`<option value="430000" selected>湖南省</option>`, "2025 年度共 0 家单位"}, append(names(0, 1, 2, 3), `value="420100" selected`)},
			{"only the province select before a province is chosen", "/", "", 200, "zh-CN", []string{`id="f-province"`}, []string{`id="f-city"`, `id="f-county"`}},
			{"grade filter", "/?grade=B", "", 200, "zh-CN", names(1, 3), names(0, 2)},
			{"grade and region", "/?grade=B&region=420102", "", 200, "zh-CN", names(3), names(0, 1, 2)},
			{"an earlier period", "/?period=2024", "", 200, "zh-CN", append(names(0, 1, 2, 3), "2024 年度共 4 家单位"), nil},
			{"first page", "/?per_page=3&grade=", "", 200, "zh-CN", append(names(0, 1, 2), "第 1 页，共 2 页", `href="/?lang=zh&amp;page=2&amp;per_page=3"`),
				append(names(3), `id="pager-prev"`)},
			{"second page keeps the filters", "/?per_page=1&page=2&region=420100&lang=en", "", 200, "en",
				append(names(1), "Page 2 of 3", `href="/?lang=en&amp;page=1&amp;per_page=1&amp;region=420100"`,
					`href="/?lang=en&amp;page=3&amp;per_page=1&amp;region=420100"`), names(0, 2, 3)},
			{"past the last page", "/?page=9", "", 200, "zh-CN", []string{"第 9 页，共 1 页", "没有符合条件的已公布评价", `id="pager-prev"`}, names(0)},
			{"unknown region", "/?region=999999", "", 400, "zh-CN", []string{`role="alert"`, "地区代码 999999 有误：不在行政区划代码（GB/T 2260）表中"}, names(0)},
			{"region not a code", "/?province=42", "", 400, "zh-CN", []string{"地区代码 42 有误：不是6位数字"}, nil},
			{"a city as the province", "/?province=420100", "", 400, "zh-CN", []string{"地区代码 420100 有误：不是该级地区"}, nil},
			{"unknown grade", "/?grade=D&lang=en", "", 400, "en", []string{`Grade &#34;D&#34; is wrong: it must be A, B or C.`}, names(0)},
			{"period not a number", "/?period=" + q("2025年"), "", 400, "zh-CN", []string{"评价年度 须为正整数"}, nil},
			{"too many a page", "/?per_page=500", "", 400, "zh-CN", []string{"每页最多 100 条"}, nil},

			// employer pages
			{"employer with reasons", "/employers/" + e[2].USCC, "", 200, "zh-CN", []string{e[2].Name, e[2].USCC, "湖北省 / 荆门市 / 钟祥市",
				`data-period="2025" data-grade="C"`, `data-period="2024" data-grade="A"`, "C级", "A级",
				"因使用童工、强迫劳动等严重劳动保障违法行为被查处（第七条第（三）项第3目）", "因劳动保障违法行为被查处（第七条第（二）项）",
				"公布日期：2026-03-20", "公布日期：2025-03-31", "未发现劳动保障违法行为", "等级说明", "未因劳动保障违法行为被查处"}, nil},
			{"employer in English", "/employers/" + e[1].USCC + "?lang=en", "", 200, "en", []string{e[1].Name, "Grade B", "Grade A",
				"因劳动保障违法行为被查处 (basis: 第七条第（二）项)", "What the grades mean", "quoted as published, in Chinese", "No labor-law violation found.", "Published: 2026-03-20"}, nil},
			{"employer with an award", "/employers/" + e[0].USCC, "", 200, "zh-CN", []string{"2025 最佳诚信单位", "获得称号：<span class=\"award\">最佳诚信单位</span>"}, nil},
			{"employer with an award in English", "/employers/" + e[0].USCC + "?lang=en", "", 200, "en", []string{"2025 Best Integrity Unit"}, []string{"最佳诚信单位"}},
			{"a corrected rating", "/employers/" + e[3].USCC, "", 200, "zh-CN", []string{`data-period="2025" data-grade="B"`, "已依法更正",
				"公布日期：2026-04-01"}, nil},
			{"invalid code: length", "/employers/" + e[0].USCC[:17], "", 400, "zh-CN", []string{"格式不正确", "应为18位，实为17位"}, []string{"must be"}},
			{"invalid code: character", "/employers/91420102MA4K1234O5", "", 400, "zh-CN", []string{"第17位字符“O”不是统一社会信用代码使用的字符"}, []string{"USCC character set"}},
			{"invalid code: check character in Chinese", "/employers/" + badCheck(e[0].USCC), "", 400, "zh-CN", []string{"格式不正确", "校验码（第18位）为"}, []string{"check character"}},
			{"invalid code: check character", "/employers/" + badCheck(e[0].USCC) + "?lang=en", "", 400, "en", []string{"is malformed", "check character is"}, nil},
			{"unknown code", "/employers/" + code(t, "420102", 999), "", 404, "zh-CN", []string{"页面不存在", "没有统一社会信用代码为"}, nil},
			{"confirmed only", "/employers/" + e[4].USCC, "", 404, "zh-CN", []string{"没有统一社会信用代码为 " + e[4].USCC}, names(4)},
			{"under publicity", "/employers/" + e[5].USCC + "?lang=en", "", 404, "en", []string{"There is no published rating"}, names(5)},
			{"rated only", "/employers/" + e[6].USCC, "", 404, "zh-CN", nil, names(6)},

			// award roll
			{"award roll", "/awards", "", 200, "zh-CN", []string{"最佳诚信单位名单", e[0].Name, e[0].USCC, "2026-04-03", "湖北省 / 武汉市 / 江岸区"}, names(1, 2, 3)},
			{"award roll in English", "/awards?lang=en&period=2025", "", 200, "en", []string{"Roll of Best Integrity Units", e[0].Name, "Best Integrity Unit"}, nil},
			{"award roll: a period without awards", "/awards?period=2024", "", 200, "zh-CN", []string{"所选年度和地区暂无最佳诚信单位"}, names(0)},
			{"award roll: the city", "/awards?province=420000&city=420100", "", 200, "zh-CN", names(0), nil},
			{"award roll: another city", "/awards?region=420800", "", 200, "zh-CN", []string{"暂无最佳诚信单位"}, names(0)},
			{"award roll: unknown region", "/awards?region=999999", "", 400, "zh-CN", []string{"地区代码 999999 有误"}, nil},

			// statistics
			{"statistics", "/statistics", "", 200, "zh-CN", []string{"湖北省 2025 年度各地区等级分布", `<svg role="img"`, `<title id="chart-region-title">`,
				`data-key="420100" data-total="3"`, `data-key="420800" data-total="1"`, `data-grade="A" data-count="1"`, `data-grade="B" data-count="2"`,
				`data-grade="C" data-count="1"`, "A 1 · B 2 · C 0 · 共 3", "A 0 · B 0 · C 1 · 共 1", "湖北省 各年度等级占比变化",
				`data-key="2024" data-total="4"`, `data-key="2025" data-total="4"`, "A 4（100%） · B 0（0%） · C 0（0%） · 共 4",
				"A 1（25%） · B 2（50%） · C 1（25%） · 共 4", `<a href="/statistics?lang=zh&amp;period=2025&amp;region=420100"`,
				`<option value="420000" selected>湖北省</option>`}, nil},
			{"statistics of a city in English", "/statistics?region=420100&lang=en", "", 200, "en", []string{"Grades by region in 湖北省 / 武汉市, period 2025",
				`data-key="420102" data-total="2"`, `data-key="420103" data-total="1"`, "A 1 · B 1 · C 0 · total 2", "Share of each grade by period",
				"A 3 (100%) · B 0 (0%) · C 0 (0%) · total 3", "A 1 (33.3%) · B 2 (66.7%) · C 0 (0%) · total 3"}, []string{`data-key="420881"`}},
			{"statistics of an earlier period", "/statistics?period=2024", "", 200, "zh-CN", []string{"湖北省 2024 年度各地区等级分布",
				`data-key="420100" data-total="3"`, "A 3 · B 0 · C 0 · 共 3"}, nil},
			{"statistics without data", "/statistics?region=430000", "", 200, "zh-CN", []string{"所选年度和地区暂无已公布的评价"}, []string{"<svg"}},
			{"statistics: unknown region", "/statistics?region=999999", "", 400, "zh-CN", []string{"地区代码 999999 有误"}, []string{"<svg"}},

			// publicity
			{"publicity", "/publicity", "", 200, "zh-CN", []string{"评价结果公示", e[5].Name, e[5].USCC, "如何提出异议", "POST /api/v1/public/objections",
				`href="/api/v1/openapi.json"`, "书面形式", "真实姓名", "证据", "公示截止日", string(e[5].Rating.PublicityEnds)},
				names(0, 1, 2, 3, 4, 6)},
			{"publicity in English", "/publicity?lang=en", "", 200, "en", []string{"Ratings under publicity", e[5].Name, "How to object",
				"in writing", "real name", "evidence", "rating_id"}, nil},
			{"publicity elsewhere", "/publicity?region=430000", "", 200, "zh-CN", []string{"目前没有正在公示的评价结果", "如何提出异议"}, names(5)},
			{"publicity: bad page", "/publicity?page=x", "", 400, "zh-CN", []string{"须为正整数"}, nil},

			// anything else
			{"unknown page", "/nope", "", 404, "zh-CN", []string{"页面不存在", "您要找的页面不存在"}, nil},
			{"unknown page in English", "/employers?lang=en", "", 404, "en", []string{"Page not found"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				body := requireHTMLPage(t, b.page(t, tt.target, tt.accept), tt.status, tt.lang)
				for _, w := range tt.want {
					require.Contains(t, body, w)
				}
				for _, nw := range tt.notWant {
					require.NotContains(t, body, nw)
				}
			})
		}

		t.Run("API paths still answer problem+json", func(t *testing.T) {
			t.Parallel()
			requireProblem(t, b.page(t, "/api/v1/nope", ""), http.StatusNotFound, "")
			requireProblem(t, b.page(t, "/api/v1/public/ratings/"+e[4].USCC, ""), http.StatusNotFound, "")
		})
		t.Run("a 404 links nowhere else", func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.URL.Path = "//elsewhere.example/x"
			rec := httptest.NewRecorder()
			b.h.ServeHTTP(rec, req)
			body := requireHTMLPage(t, rec, http.StatusNotFound, "zh-CN")
			require.NotContains(t, body, "elsewhere.example")
			require.Contains(t, body, `href="/?lang=en" hreflang="en"`)
		})
		t.Run("style sheet", func(t *testing.T) {
			t.Parallel()
			rec := b.page(t, "/static/style.css", "")
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, "text/css; charset=utf-8", rec.Header().Get("Content-Type"))
			require.Contains(t, rec.Body.String(), ".grade.g-A")
			body := b.page(t, "/", "").Body.String()
			require.Regexp(t, `<link rel="stylesheet" href="/static/style.css\?v=[0-9a-f]{12}">`, body)
		})
	})
}

// TestLanguageChoice checks the choice of language on its own: ?lang
// first, then Accept-Language by q-value, then Chinese.
func TestLanguageChoice(t *testing.T) {
	t.Parallel()
	svc := newServiceForRoutes(t)
	b := &testBundle{h: newWebHandler(t, svc)}
	tests := []struct {
		name, target, accept, lang string
	}{
		{"default", "/", "", "zh-CN"},
		{"lang=en", "/?lang=en", "", "en"},
		{"lang=EN-us", "/?lang=EN-us", "", "en"},
		{"lang=zh-Hans", "/?lang=zh-Hans", "en", "zh-CN"},
		{"lang unknown, header English", "/?lang=fr", "en", "en"},
		{"header en-GB", "/", "en-GB", "en"},
		{"header with spaces and q", "/", " zh-TW ; q=0.2 , en ; q=0.7", "en"},
		{"header ties keep the first", "/", "en;q=0.5, zh;q=0.5", "en"},
		{"header wildcard", "/", "fr, *;q=0.1", "zh-CN"},
		{"header bad q", "/", "en;q=abc, zh;q=0.1", "zh-CN"},
		{"header empty tags", "/", ",,;", "zh-CN"},
		{"nothing published yet", "/?lang=en", "", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireHTMLPage(t, b.page(t, tt.target, tt.accept), http.StatusOK, tt.lang)
		})
	}
}
