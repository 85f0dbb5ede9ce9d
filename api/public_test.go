package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

func TestPublicSearch(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		item := func(i int) ratings.PublicItem {
			c := wantCredit(b, i)
			return ratings.PublicItem{USCC: c.USCC, Name: c.Name, Region: c.Region, Period: 2025, Grade: c.Grade, PublishedAt: c.PublishedAt}
		}
		item2024 := func(i int) ratings.PublicItem {
			e := b.e[i]
			return ratings.PublicItem{USCC: e.USCC, Name: e.Name, Region: e.Region, Period: 2024, Grade: "A", PublishedAt: at("2025-03-31")}
		}
		items := func(f func(int) ratings.PublicItem, is ...int) []ratings.PublicItem {
			out := []ratings.PublicItem{}
			for _, i := range is {
				out = append(out, f(i))
			}
			return out
		}
		tests := []struct {
			name    string
			query   string
			items   []ratings.PublicItem
			total   int
			page    int
			perPage int
			period  int
		}{
			{"everything, latest period", "", items(item, 0, 1, 2, 3), 4, 1, 20, 2025},
			{"part of a name", "q=" + url.QueryEscape("物流"), items(item, 1), 1, 1, 20, 2025},
			{"common part of names", "q=" + url.QueryEscape("荆楚"), items(item, 0, 1, 2, 3), 4, 1, 20, 2025},
			{"name with spaces around", "q=" + url.QueryEscape(" 矿业 "), items(item, 2), 1, 1, 20, 2025},
			{"a full code", "q=" + b.e[2].USCC, items(item, 2), 1, 1, 20, 2025},
			{"a code's prefix is not a name", "q=" + b.e[2].USCC[:10], items(item), 0, 1, 20, 2025},
			{"no match", "q=" + url.QueryEscape("不存在的单位"), items(item), 0, 1, 20, 2025},
			{"a city includes its counties", "region=420100", items(item, 0, 1, 3), 3, 1, 20, 2025},
			{"a county", "region=420102", items(item, 0, 3), 2, 1, 20, 2025},
			{"another city", "region=420800", items(item, 2), 1, 1, 20, 2025},
			{"the province", "region=420000", items(item, 0, 1, 2, 3), 4, 1, 20, 2025},
			{"another province", "region=430000", items(item), 0, 1, 20, 2025},
			{"grade B, the corrected one included", "grade=B", items(item, 1, 3), 2, 1, 20, 2025},
			{"grade A", "grade=A", items(item, 0), 1, 1, 20, 2025},
			{"grade and region", "grade=B&region=420102", items(item, 3), 1, 1, 20, 2025},
			{"an earlier period", "period=2024", items(item2024, 0, 1, 2, 3), 4, 1, 20, 2024},
			{"a period never published", "period=2023", items(item), 0, 1, 20, 2023},
			{"first page", "per_page=3", items(item, 0, 1, 2), 4, 1, 3, 2025},
			{"second page", "page=2&per_page=3", items(item, 3), 4, 2, 3, 2025},
			{"past the last page", "page=3&per_page=3", items(item), 4, 3, 3, 2025},
			{"per_page 100", "per_page=100", items(item, 0, 1, 2, 3), 4, 1, 100, 2025},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				rec := b.get(t, "/api/v1/public/ratings?"+tt.query, "")
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.Equal(t, ratings.PublicPage{Items: tt.items, Total: tt.total, Page: tt.page, PerPage: tt.perPage, Period: tt.period},
					decode[ratings.PublicPage](t, rec))
			})
		}

		errs := []struct {
			name   string
			query  string
			status int
			field  string
		}{
			{"per_page 500", "per_page=500", http.StatusBadRequest, "per_page"},
			{"per_page 101", "per_page=101", http.StatusBadRequest, "per_page"},
			{"per_page not a number", "per_page=all", http.StatusBadRequest, "per_page"},
			{"page negative", "page=-1", http.StatusBadRequest, "page"},
			{"period not a number", "period=2025%E5%B9%B4", http.StatusBadRequest, "period"},
			{"region unknown", "region=999999", http.StatusUnprocessableEntity, "region"},
			{"region not a code", "region=42", http.StatusUnprocessableEntity, "region"},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				requireProblem(t, b.get(t, "/api/v1/public/ratings?"+tt.query, ""), tt.status, tt.field)
			})
		}
	})
}

// TestPublicEmployer: the employer page shows published data only — the
// grade, the published reasons, awards and history — never the facts, the
// evidence (case numbers), the engine's grade or officers' reasons.
func TestPublicEmployer(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		for i := range 4 {
			t.Run(b.e[i].Name, func(t *testing.T) {
				t.Parallel()
				rec := b.get(t, "/api/v1/public/ratings/"+b.e[i].USCC, "")
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.Equal(t, wantCredit(b, i), decode[ratings.CreditRating](t, rec))
				body := rec.Body.String()
				for _, secret := range []string{"facts", "override_reason", "engine_grade", "evidence", "lock_version", "annual_review",
					"WH-2025-0001", "JM-2025-0007", correctionReason, "管理员", `"id"`} {
					require.NotContains(t, body, secret)
				}
			})
		}
		tests := []struct {
			name   string
			code   string
			status int
			field  string
			detail string
		}{
			{"too short", b.e[0].USCC[:17], http.StatusBadRequest, "uscc", "must be 18 characters, got 17"},
			{"bad character", "91420102MA4K1234O5", http.StatusBadRequest, "uscc", "is not in the USCC character set"},
			{"bad check character", badCheck(b.e[0].USCC), http.StatusBadRequest, "uscc", "check character is"},
			{"unknown", code(t, "420102", 999), http.StatusNotFound, "", "no published rating"},
			{"confirmed only", b.e[4].USCC, http.StatusNotFound, "", "no published rating"},
			{"under publicity", b.e[5].USCC, http.StatusNotFound, "", "no published rating"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				p := requireProblem(t, b.get(t, "/api/v1/public/ratings/"+tt.code, ""), tt.status, tt.field)
				require.Contains(t, p.Detail, tt.detail)
			})
		}
	})
}

func TestPublicAwards(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		e0 := b.e[0]
		award := ratings.AwardEntry{USCC: e0.USCC, Name: e0.Name, Region: e0.Region, Period: 2025, Award: "best-integrity-unit", ApprovedAt: at("2026-04-03")}
		tests := []struct {
			name  string
			query string
			want  []ratings.AwardEntry
		}{
			{"the period", "period=2025", []ratings.AwardEntry{award}},
			{"every period", "", []ratings.AwardEntry{award}},
			{"a period without awards", "period=2024", []ratings.AwardEntry{}},
			{"the city", "period=2025&region=420100", []ratings.AwardEntry{award}},
			{"another city", "period=2025&region=420800", []ratings.AwardEntry{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				rec := b.get(t, "/api/v1/public/awards?"+tt.query, "")
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.Equal(t, tt.want, decode[struct {
					Awards []ratings.AwardEntry `json:"awards"`
				}](t, rec).Awards)
			})
		}
		t.Run("period not a number", func(t *testing.T) {
			t.Parallel()
			requireProblem(t, b.get(t, "/api/v1/public/awards?period=last", ""), http.StatusBadRequest, "period")
		})
		t.Run("region unknown", func(t *testing.T) {
			t.Parallel()
			requireProblem(t, b.get(t, "/api/v1/public/awards?region=999999", ""), http.StatusUnprocessableEntity, "region")
		})
	})
}

func TestPublicObjections(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		publicized, published, confirmed := b.e[5].Rating.ID, b.e[0].Rating.ID, b.e[4].Rating.ID
		own := b.user(t, "法务 张某", ratings.RoleEmployer, fixtureEmployers[5].region, b.e[5].USCC)
		other := b.user(t, "法务 李某", ratings.RoleEmployer, fixtureEmployers[4].region, b.e[4].USCC)
		county := b.user(t, "江岸区 科员", ratings.RoleCounty, "420102", "")

		t.Run("on a rating under publicity", func(t *testing.T) {
			t.Parallel()
			rec := b.post(t, "/api/v1/public/objections", "", map[string]any{"rating_id": publicized, "filed_by": " 职工 张某 ",
				"contact": "138-0000-0000", "reason": "该单位未与部分职工签订劳动合同", "evidence": "工资条三张"})
			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			o := decode[ratings.Objection](t, rec)
			require.Positive(t, o.ID)
			o.ID = 0
			require.Equal(t, ratings.Objection{RatingID: publicized, FiledBy: "职工 张某", Contact: "13800000000", FiledAt: at("2026-04-08"),
				Reason: "该单位未与部分职工签订劳动合同", Evidence: "工资条三张", Status: "open"}, o)
		})
		t.Run("by the employer with its token", func(t *testing.T) {
			t.Parallel()
			req := newRequest(t, http.MethodPost, "/api/v1/public/objections", own, map[string]any{"rating_id": publicized, "reason": "案件已整改"})
			req.RemoteAddr = "198.51.100.7:5555"
			rec := do(t, b.h, req)
			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			o := decode[ratings.Objection](t, rec)
			require.True(t, o.ByEmployer)
			require.Equal(t, "account:"+b.e[5].USCC, o.Contact)
			require.Equal(t, "法务 张某 (employer "+b.e[5].USCC+")", o.FiledBy)
		})

		long := strings.Repeat("很", ratings.MaxObjectionReason+1)
		tests := []struct {
			name   string
			token  string
			body   any
			status int
			field  string
		}{
			{"on a published rating", "", map[string]any{"rating_id": published, "filed_by": "某某", "contact": "a@example.com", "reason": "评级过高"}, http.StatusNotFound, ""},
			{"on a confirmed rating", "", map[string]any{"rating_id": confirmed, "filed_by": "某某", "contact": "a@example.com", "reason": "评级过高"}, http.StatusNotFound, ""},
			{"on no rating", "", map[string]any{"rating_id": 999999, "filed_by": "某某", "contact": "a@example.com", "reason": "评级过高"}, http.StatusNotFound, ""},
			{"without filed_by", "", map[string]any{"rating_id": publicized, "contact": "a@example.com", "reason": "匿名举报"}, http.StatusUnprocessableEntity, "filed_by"},
			{"with a blank filed_by", "", map[string]any{"rating_id": publicized, "filed_by": "  ", "contact": "a@example.com", "reason": "匿名举报"}, http.StatusUnprocessableEntity, "filed_by"},
			{"with a bidi override in filed_by", "", map[string]any{"rating_id": publicized, "filed_by": "某\u202e某", "contact": "a@example.com", "reason": "x"}, http.StatusUnprocessableEntity, "filed_by"},
			{"with a name too long", "", map[string]any{"rating_id": publicized, "filed_by": strings.Repeat("某", 101), "contact": "a@example.com", "reason": "x"}, http.StatusUnprocessableEntity, "filed_by"},
			{"without contact", "", map[string]any{"rating_id": publicized, "filed_by": "某某", "reason": "评级过高"}, http.StatusUnprocessableEntity, "contact"},
			{"with a contact that is neither", "", map[string]any{"rating_id": publicized, "filed_by": "某某", "contact": "微信 abc", "reason": "评级过高"}, http.StatusUnprocessableEntity, "contact"},
			{"with a short phone", "", map[string]any{"rating_id": publicized, "filed_by": "某某", "contact": "12345", "reason": "评级过高"}, http.StatusUnprocessableEntity, "contact"},
			{"with a phone too long", "", map[string]any{"rating_id": publicized, "filed_by": "某某", "contact": "+1234567890123456", "reason": "评级过高"}, http.StatusUnprocessableEntity, "contact"},
			{"with a display-name e-mail", "", map[string]any{"rating_id": publicized, "filed_by": "某某", "contact": "Zhang <z@example.com>", "reason": "评级过高"}, http.StatusUnprocessableEntity, "contact"},
			{"with an e-mail without a domain dot", "", map[string]any{"rating_id": publicized, "filed_by": "某某", "contact": "z@localhost", "reason": "评级过高"}, http.StatusUnprocessableEntity, "contact"},
			{"with an e-mail too long", "", map[string]any{"rating_id": publicized, "filed_by": "某某", "contact": strings.Repeat("a", 250) + "@example.com", "reason": "x"}, http.StatusUnprocessableEntity, "contact"},
			{"without reason", "", map[string]any{"rating_id": publicized, "filed_by": "某某", "contact": "a@example.com"}, http.StatusUnprocessableEntity, "reason"},
			{"with a blank reason", "", map[string]any{"rating_id": publicized, "filed_by": "某某", "contact": "a@example.com", "reason": " \n\t "}, http.StatusUnprocessableEntity, "reason"},
			{"with a reason too long", "", map[string]any{"rating_id": publicized, "filed_by": "某某", "contact": "a@example.com", "reason": long}, http.StatusUnprocessableEntity, "reason"},
			{"with a NUL in the evidence", "", map[string]any{"rating_id": publicized, "filed_by": "某某", "contact": "a@example.com", "reason": "x", "evidence": "a\x00b"}, http.StatusUnprocessableEntity, "evidence"},
			{"unknown field", "", map[string]any{"rating_id": publicized, "filed_by": "某某", "contact": "a@example.com", "reason": "x", "phone": "138"}, http.StatusBadRequest, "body"},
			{"not JSON", "", "rating_id=1", http.StatusBadRequest, "body"},
			{"with an unknown token", "nope", map[string]any{"rating_id": publicized, "reason": "x"}, http.StatusUnauthorized, ""},
			{"by an officer's token", county, map[string]any{"rating_id": publicized, "reason": "x"}, http.StatusForbidden, ""},
			{"by another employer", other, map[string]any{"rating_id": publicized, "reason": "x"}, http.StatusForbidden, ""},
			{"by the employer, naming someone", own, map[string]any{"rating_id": publicized, "filed_by": "某某", "reason": "x"}, http.StatusUnprocessableEntity, "filed_by"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				requireProblem(t, b.post(t, "/api/v1/public/objections", tt.token, tt.body), tt.status, tt.field)
			})
		}
	})
}

// An anonymous caller learns nothing from the error about a rating id: a
// missing id, a rating not yet under publicity and a published one get
// the same problem, word for word.
func TestPublicObjectionSameError(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		body := func(id int64) map[string]any {
			return map[string]any{"rating_id": id, "filed_by": "某某", "contact": "13900000000", "reason": "评级过高"}
		}
		want := b.post(t, "/api/v1/public/objections", "", body(999999))
		p := requireProblem(t, want, http.StatusNotFound, "")
		require.Contains(t, p.Detail, "no rating under publicity with this id")
		for _, id := range []int64{b.e[0].Rating.ID, b.e[4].Rating.ID, b.e[6].Rating.ID, 1 << 40} {
			got := b.post(t, "/api/v1/public/objections", "", body(id))
			require.Equal(t, want.Code, got.Code)
			require.Equal(t, want.Body.String(), got.Body.String(), "rating %d", id)
		}
		require.Equal(t, http.StatusOK, b.get(t, "/healthz", "").Code)
	})
}

// TestObjectionBurst: 30 objections in a burst from one address to one
// rating hold it once; the same contact from another address is refused;
// an address's daily limit is a 429 with Retry-After until midnight China
// time. The process is well after.
func TestObjectionBurst(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		id := b.e[5].Rating.ID
		post := func(addr, contact string) *httptest.ResponseRecorder {
			req := newRequest(t, http.MethodPost, "/api/v1/public/objections", "", map[string]any{"rating_id": id, "filed_by": "职工 某某",
				"contact": contact, "reason": "评定有误"})
			req.RemoteAddr = addr + ":40000"
			return do(t, b.h, req)
		}
		var wg sync.WaitGroup
		codes := make([]int, 30)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = post("203.0.113.9", fmt.Sprintf("1390000%04d", i)).Code
			}()
		}
		wg.Wait()
		slices.Sort(codes)
		require.Equal(t, http.StatusCreated, codes[0])
		require.Equal(t, http.StatusConflict, codes[1], "one open objection per address per rating: %v", codes)
		require.Equal(t, http.StatusConflict, codes[29])
		var open []ratings.Objection
		require.NoError(t, db.NewSelect().Model(&open).Where("rating_id = ? AND status = ?", id, "open").Scan(context.Background()))
		require.Len(t, open, 1, "the burst counts once")

		// The same contact from another address, spelt another way.
		same := open[0].Contact[:3] + " " + open[0].Contact[3:7] + "-" + open[0].Contact[7:]
		requireProblem(t, post("203.0.113.10", same), http.StatusConflict, "")

		// The day's limit of one address, over ratings: the fixture has one
		// rating under publicity, so the limit is counted on objections that
		// are decided in between.
		county := b.user(t, "江岸区 科员", ratings.RoleCounty, "420102", "")
		for i := 1; i < ratings.ObjectionsPerAddressPerDay; i++ {
			rec := post("203.0.113.11", fmt.Sprintf("1370000%04d", i))
			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			o := decode[ratings.Objection](t, rec)
			rec = b.post(t, fmt.Sprintf("/api/v1/objections/%d/decision", o.ID), county, map[string]any{"outcome": "inadmissible", "decision": "重复异议"})
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		}
		rec := post("203.0.113.11", "13700009999")
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		rec = b.post(t, fmt.Sprintf("/api/v1/objections/%d/decision", decode[ratings.Objection](t, rec).ID), county,
			map[string]any{"outcome": "inadmissible", "decision": "重复异议"})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		rec = post("203.0.113.11", "13700008888")
		requireProblem(t, rec, http.StatusTooManyRequests, "")
		// The clock reads 2026-04-08 02:00 UTC, 10:00 China time: 14 hours to midnight.
		require.Equal(t, "50400", rec.Header().Get("Retry-After"))
		require.Equal(t, http.StatusOK, b.get(t, "/healthz", "").Code)
	})
}

// TestObjectionsBulkDecision: officers answer ten objections to one rating
// in one call; each is audited, the hold is released and the tick
// publishes the rating.
func TestObjectionsBulkDecision(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		ctx := context.Background()
		id := b.e[5].Rating.ID
		county := b.user(t, "江岸区 科员", ratings.RoleCounty, "420102", "")
		hanyang := b.user(t, "汉阳区 科员", ratings.RoleCounty, "420105", "")
		var ids []int64
		for i := range 10 {
			req := newRequest(t, http.MethodPost, "/api/v1/public/objections", "", map[string]any{"rating_id": id, "filed_by": "职工 某某",
				"contact": fmt.Sprintf("w%d@example.com", i), "reason": "评定有误"})
			req.RemoteAddr = fmt.Sprintf("203.0.113.%d:1", 20+i)
			rec := do(t, b.h, req)
			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			ids = append(ids, decode[ratings.Objection](t, rec).ID)
		}
		// The officer reads the queue before deciding: statements, names
		// and contacts, inside the officer's own region only.
		type queue struct {
			Objections []ratings.ObjectionView `json:"objections"`
		}
		listed := decode[queue](t, b.get(t, fmt.Sprintf("/api/v1/objections?rating_id=%d&status=open", id), county)).Objections
		require.Len(t, listed, 10)
		require.Equal(t, ids[0], listed[0].ID)
		require.Equal(t, "w0@example.com", listed[0].Contact)
		require.Equal(t, "评定有误", listed[0].Reason)
		require.Equal(t, b.e[5].USCC, listed[0].USCC)
		require.Empty(t, decode[queue](t, b.get(t, "/api/v1/objections?status=open", hanyang)).Objections, "another county's queue")
		requireProblem(t, b.get(t, "/api/v1/objections?region=420102", hanyang), http.StatusForbidden, "")
		requireProblem(t, b.get(t, "/api/v1/objections?status=maybe", county), http.StatusUnprocessableEntity, "status")
		requireProblem(t, b.get(t, "/api/v1/objections?rating_id=x", county), http.StatusBadRequest, "rating_id")
		employer := b.user(t, "单位 经办人", ratings.RoleEmployer, b.e[5].Region, b.e[5].USCC)
		requireProblem(t, b.get(t, "/api/v1/objections", employer), http.StatusForbidden, "")

		path := fmt.Sprintf("/api/v1/ratings/%d/objections/decision", id)
		requireProblem(t, b.post(t, path, hanyang, map[string]any{"all": true, "outcome": "rejected", "decision": "x"}), http.StatusForbidden, "")
		requireProblem(t, b.post(t, path, county, map[string]any{"all": true, "outcome": "maybe", "decision": "x"}), http.StatusUnprocessableEntity, "outcome")
		requireProblem(t, b.post(t, path, county, map[string]any{"all": true, "outcome": "rejected", "decision": " "}), http.StatusUnprocessableEntity, "decision")
		requireProblem(t, b.post(t, path, county, map[string]any{"outcome": "rejected", "decision": "x"}), http.StatusUnprocessableEntity, "ids")
		requireProblem(t, b.post(t, path, county, map[string]any{"ids": []int64{b.objection}, "outcome": "rejected", "decision": "x"}), http.StatusConflict, "")
		requireProblem(t, b.post(t, path, county, map[string]any{"ids": []int64{ids[0], 999999}, "outcome": "rejected", "decision": "x"}), http.StatusNotFound, "")
		requireProblem(t, b.post(t, fmt.Sprintf("/api/v1/ratings/%d/objections/decision", b.e[3].Rating.ID), county,
			map[string]any{"ids": ids[:1], "outcome": "rejected", "decision": "x"}), http.StatusUnprocessableEntity, "ids")

		before, err := db.NewSelect().Table("audit_log").Count(ctx)
		require.NoError(t, err)
		rec := b.post(t, path, county, map[string]any{"ids": ids[:3], "outcome": "inadmissible", "decision": "重复异议，不予受理"})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		rec = b.post(t, path, county, map[string]any{"all": true, "outcome": "rejected", "decision": "经核实，评定无误"})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := decode[ratings.ObjectionsDecided](t, rec)
		require.Equal(t, ids[3:], got.Decided)
		require.Equal(t, ratings.StatusPublicized, got.Status)
		after, err := db.NewSelect().Table("audit_log").Count(ctx)
		require.NoError(t, err)
		require.Equal(t, before+10, after, "one audit entry per decision")
		_, err = ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)

		open, err := db.NewSelect().Model((*ratings.Objection)(nil)).Where("rating_id = ? AND status = ?", id, "open").Count(ctx)
		require.NoError(t, err)
		require.Zero(t, open)
		b.clk.Set("2026-05-01")
		n, err := b.svc.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "the hold is released")
		require.Equal(t, http.StatusOK, b.get(t, "/healthz", "").Code)
	})
}

// The ratings under publicity are listed with the id to object to; nothing
// else (confirmed, published) is.
func TestPublicity(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		rec := b.get(t, "/api/v1/public/publicity?region=420000", "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var got struct {
			Ratings     []ratings.PublicityItem `json:"ratings"`
			HowToObject string                  `json:"how_to_object"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		require.Len(t, got.Ratings, 1)
		require.Equal(t, b.e[5].Rating.ID, got.Ratings[0].RatingID)
		require.Equal(t, b.e[5].USCC, got.Ratings[0].USCC)
		require.Contains(t, got.HowToObject, "/api/v1/public/objections")

		rec = b.get(t, "/api/v1/public/publicity?region=430000", "")
		require.Equal(t, http.StatusOK, rec.Code)
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		require.Empty(t, got.Ratings, "Hunan has none")
		requireProblem(t, b.get(t, "/api/v1/public/publicity?region=999999", ""), http.StatusUnprocessableEntity, "region")
		requireProblem(t, b.get(t, "/api/v1/public/publicity?page=x", ""), http.StatusBadRequest, "page")
	})
}

// TestObjectionIPv6Prefix: the addresses of one IPv6 /64 (what one
// subscriber gets) are one address for the objection limits, so a client
// cannot file an objection from each of its 2^64 addresses; an IPv4
// address mapped into IPv6 is that IPv4 address.
func TestObjectionIPv6Prefix(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		id := b.e[5].Rating.ID
		post := func(addr, contact string) *httptest.ResponseRecorder {
			req := newRequest(t, http.MethodPost, "/api/v1/public/objections", "", map[string]any{"rating_id": id, "filed_by": "职工 某某",
				"contact": contact, "reason": "评定有误"})
			req.RemoteAddr = addr
			return do(t, b.h, req)
		}
		rec := post("[2001:db8:1:2::1]:40000", "13900000001")
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		for i := 2; i < 12; i++ {
			rec := post(fmt.Sprintf("[2001:db8:1:2:%x::%x]:40000", i, i), fmt.Sprintf("1390000%04d", i))
			requireProblem(t, rec, http.StatusConflict, "")
		}
		rec = post("203.0.113.44:40000", "13800000001")
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		requireProblem(t, post("[::ffff:203.0.113.44]:40000", "13800000002"), http.StatusConflict, "")
		var open []ratings.Objection
		require.NoError(t, db.NewSelect().Model(&open).Where("rating_id = ? AND status = ?", id, "open").Scan(context.Background()))
		require.Len(t, open, 2)
		require.Equal(t, http.StatusOK, b.get(t, "/healthz", "").Code)
	})
}
