package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
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

		t.Run("on a rating under publicity", func(t *testing.T) {
			t.Parallel()
			rec := b.post(t, "/api/v1/public/objections", "", map[string]any{"rating_id": publicized, "filed_by": "职工 张某 13800000000",
				"reason": "该单位未与部分职工签订劳动合同", "evidence": "工资条三张"})
			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			o := decode[ratings.Objection](t, rec)
			require.Positive(t, o.ID)
			o.ID = 0
			require.Equal(t, ratings.Objection{RatingID: publicized, FiledBy: "职工 张某 13800000000", FiledAt: at("2026-04-08"),
				Reason: "该单位未与部分职工签订劳动合同", Evidence: "工资条三张", Status: "open"}, o)
		})

		tests := []struct {
			name   string
			body   any
			status int
			field  string
		}{
			{"on a published rating", map[string]any{"rating_id": published, "filed_by": "某某", "reason": "评级过高"}, http.StatusUnprocessableEntity, "rating_id"},
			{"on a confirmed rating", map[string]any{"rating_id": confirmed, "filed_by": "某某", "reason": "评级过高"}, http.StatusUnprocessableEntity, "rating_id"},
			{"on no rating", map[string]any{"rating_id": 999999, "filed_by": "某某", "reason": "评级过高"}, http.StatusUnprocessableEntity, "rating_id"},
			{"without filed_by", map[string]any{"rating_id": publicized, "reason": "匿名举报"}, http.StatusUnprocessableEntity, "filed_by"},
			{"with a blank filed_by", map[string]any{"rating_id": publicized, "filed_by": "  ", "reason": "匿名举报"}, http.StatusUnprocessableEntity, "filed_by"},
			{"without reason", map[string]any{"rating_id": publicized, "filed_by": "某某"}, http.StatusUnprocessableEntity, "reason"},
			{"unknown field", map[string]any{"rating_id": publicized, "filed_by": "某某", "reason": "x", "phone": "138"}, http.StatusBadRequest, "body"},
			{"not JSON", "rating_id=1", http.StatusBadRequest, "body"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				requireProblem(t, b.post(t, "/api/v1/public/objections", "", tt.body), tt.status, tt.field)
			})
		}
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
