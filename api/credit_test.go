package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/api"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// The reasons the national rule set publishes for the fixture's cases.
var (
	reasonViolation = ratings.CreditReason{Rule: "b-violation-found", Basis: "第七条第（二）项", Reason: "因劳动保障违法行为被查处"}
	reasonChild     = ratings.CreditReason{Rule: "c-child-or-forced-labor", Basis: "第七条第（三）项第3目", Reason: "因使用童工、强迫劳动等严重劳动保障违法行为被查处"}
)

// wantCredit is the credit view of fixture employer i as the API should
// show it at the end of the fixture.
func wantCredit(b *testBundle, i int) ratings.CreditRating {
	e := b.e[i]
	h2024 := ratings.CreditHistory{Period: 2024, Grade: "A", PublishedAt: at("2025-03-31")}
	c := ratings.CreditRating{USCC: e.USCC, Name: e.Name, Region: e.Region, Period: 2025, Version: 1, PublishedAt: at("2026-03-20"),
		RuleSet: "national-2016", Reasons: []ratings.CreditReason{}, Awards: []string{}}
	switch i {
	case 0:
		c.Grade = "A"
		c.Awards = []string{"2025 最佳诚信单位"}
	case 1:
		c.Grade = "B"
		c.Reasons = []ratings.CreditReason{reasonViolation}
	case 2:
		c.Grade = "C"
		c.Reasons = []ratings.CreditReason{reasonChild, reasonViolation}
	case 3:
		c.Grade, c.Version, c.Corrected, c.PublishedAt = "B", 2, true, at("2026-04-01")
	}
	c.History = []ratings.CreditHistory{{Period: 2025, Grade: c.Grade, PublishedAt: c.PublishedAt}, h2024}
	return c
}

// fullWidth writes a code in full-width characters (１２３ＡＢＣ), as
// Chinese input methods may.
func fullWidth(s string) string {
	return strings.Map(func(r rune) rune { return r + 0xFEE0 }, s)
}

// badCheck changes the check character of a code.
func badCheck(code string) string {
	last := byte('0')
	if code[17] == '0' {
		last = '1'
	}
	return code[:17] + string(last)
}

func TestCreditOne(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		e0, e3 := b.e[0].USCC, b.e[3].USCC
		legacy := badCheck(code(t, "350200", 998))
		require.NoError(t, b.svc.AddLegacyCode(context.Background(), admin, legacy, "厦门早期试点代码，经登记机关核实"))
		beforeCorrection := wantCredit(b, 3)
		beforeCorrection.Grade, beforeCorrection.Version, beforeCorrection.Corrected, beforeCorrection.PublishedAt = "A", 1, false, at("2026-03-20")
		beforeCorrection.History = []ratings.CreditHistory{{Period: 2025, Grade: "A", PublishedAt: at("2026-03-20")}, beforeCorrection.History[1]}
		only2024 := wantCredit(b, 0)
		only2024.Period, only2024.PublishedAt, only2024.Awards = 2024, at("2025-03-31"), []string{}
		only2024.History = only2024.History[1:]
		beforeAward := wantCredit(b, 0)
		beforeAward.Awards = []string{}
		tests := []struct {
			name   string
			target string
			want   ratings.CreditRating
		}{
			{"A with its award and history", e0, wantCredit(b, 0)},
			{"B with its reason", b.e[1].USCC, wantCredit(b, 1)},
			{"C with its reasons", b.e[2].USCC, wantCredit(b, 2)},
			{"corrected", e3, wantCredit(b, 3)},
			{"as of the day before the correction", e3 + "?as_of=2026-03-31", beforeCorrection},
			{"as of the day of the correction", e3 + "?as_of=2026-04-01", wantCredit(b, 3)},
			{"as of after the correction", e3 + "?as_of=2026-04-02", wantCredit(b, 3)},
			{"as of before the 2025 publication", e0 + "?as_of=2026-03-19", only2024},
			{"as of before the award", e0 + "?as_of=2026-04-02", beforeAward},
			{"as of the day of the award", e0 + "?as_of=2026-04-03", wantCredit(b, 0)},
			// As people paste codes: spaces, lower case, full-width characters.
			{"lower case between spaces", url.PathEscape(" " + strings.ToLower(e0) + "\u3000"), wantCredit(b, 0)},
			{"full-width", url.PathEscape(fullWidth(e0)), wantCredit(b, 0)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				rec := b.get(t, "/api/v1/credit/"+tt.target, b.key)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
				require.Equal(t, tt.want, decode[ratings.CreditRating](t, rec))
			})
		}

		errs := []struct {
			name   string
			target string
			status int
			field  string
			detail string
		}{
			{"as_of not a date", e0 + "?as_of=bad", http.StatusUnprocessableEntity, "as_of", "not a date"},
			{"as_of not a day of the calendar", e0 + "?as_of=2026-02-30", http.StatusUnprocessableEntity, "as_of", "not a date"},
			{"as_of before any publication", e0 + "?as_of=2025-03-30", http.StatusNotFound, "", ""},
			{"code too short", e0[:16], http.StatusBadRequest, "uscc", "must be 18 characters, got 16"},
			{"code too long", e0 + "0", http.StatusBadRequest, "uscc", "must be 18 characters, got 19"},
			{"character outside the set", e0[:10] + "I" + e0[11:], http.StatusBadRequest, "uscc", `character 11 ('I') is not in the USCC character set`},
			{"a letter not in the set, lower case", strings.ToLower(e0[:10] + "I" + e0[11:]), http.StatusBadRequest, "uscc", `character 11 ('I') is not in the USCC character set`},
			{"a legacy code that fails its check, not published", legacy, http.StatusNotFound, "", "no published rating for " + legacy},
			{"wrong check character", badCheck(e0), http.StatusBadRequest, "uscc", "check character is"},
			{"wrong check character with as_of", badCheck(e0) + "?as_of=2026-04-01", http.StatusBadRequest, "uscc", "check character is"},
			{"unknown valid code", code(t, "420102", 999), http.StatusNotFound, "", "no published rating for"},
			{"unknown valid code as of a date", code(t, "420102", 999) + "?as_of=2026-04-01", http.StatusNotFound, "", ""},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				rec := b.get(t, "/api/v1/credit/"+tt.target, b.key)
				p := requireProblem(t, rec, tt.status, tt.field)
				require.Contains(t, p.Detail, tt.detail)
				if tt.field != "" {
					require.Contains(t, p.Errors[0].Reason, tt.detail)
				}
			})
		}

		// Never published: 404, and nothing of the rating in the body.
		for i := 4; i < len(b.e); i++ {
			for _, q := range []string{"", "?as_of=2026-04-08"} {
				t.Run(fmt.Sprintf("unpublished e%d%s", i, q), func(t *testing.T) {
					t.Parallel()
					rec := b.get(t, "/api/v1/credit/"+b.e[i].USCC+q, b.key)
					requireProblem(t, rec, http.StatusNotFound, "")
					requireNothingOf(t, rec, b.e[i])
				})
			}
		}
	})
}

// requireNothingOf checks that a response says nothing of an employer's
// rating: no name, no grade, no status.
func requireNothingOf(t *testing.T, rec *httptest.ResponseRecorder, e employer) {
	t.Helper()
	body := rec.Body.String()
	require.NotContains(t, body, e.Name)
	require.NotContains(t, body, `"grade"`)
	require.NotContains(t, body, e.Rating.Status)
}

func TestCreditKeys(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		ctx := context.Background()
		target := "/api/v1/credit/" + b.e[0].USCC

		userToken := b.user(t, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		revoked, revokedKey, err := b.svc.CreateAPIClient(ctx, admin, "某商业银行", "bank", ratings.ScopeCreditRead, 100)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, b.get(t, target, revokedKey).Code, "the key works before it is revoked")
		require.NoError(t, b.svc.RevokeAPIClient(ctx, admin, revoked.ID))

		noScopeKey := "lck_no-scope-key-for-tests"
		sum := sha256.Sum256([]byte(noScopeKey))
		_, err = db.NewInsert().Model(&ratings.APIClient{Org: "某住建局", Kind: "construction", Scope: "other", KeyHash: hex.EncodeToString(sum[:]),
			RateLimit: 10, CreatedAt: time.Now().UTC()}).Exec(ctx)
		require.NoError(t, err)

		tests := []struct {
			name   string
			header string
			status int
		}{
			{"no Authorization", "", http.StatusUnauthorized},
			{"not a bearer", "Basic " + b.key, http.StatusUnauthorized},
			{"bearer without a key", "Bearer ", http.StatusUnauthorized},
			{"wrong key", "Bearer lck_wrong", http.StatusUnauthorized},
			{"a key with a character more", "Bearer " + b.key + "x", http.StatusUnauthorized},
			{"a user token", "Bearer " + userToken, http.StatusUnauthorized},
			{"revoked key", "Bearer " + revokedKey, http.StatusUnauthorized},
			{"key without the scope", "Bearer " + noScopeKey, http.StatusForbidden},
			{"valid key", "Bearer " + b.key, http.StatusOK},
			{"valid key, lower-case scheme", "bearer " + b.key, http.StatusOK},
		}
		endpoints := []struct {
			method, target string
			body           any
		}{
			{http.MethodGet, target, nil},
			{http.MethodGet, "/api/v1/credit/changes", nil},
			{http.MethodPost, "/api/v1/credit/batch", map[string]any{"codes": []string{b.e[0].USCC}}},
		}
		for _, tt := range tests {
			for _, ep := range endpoints {
				t.Run(tt.name+" "+ep.method+" "+ep.target, func(t *testing.T) {
					t.Parallel()
					req := newRequest(t, ep.method, ep.target, "", ep.body)
					if tt.header != "" {
						req.Header.Set("Authorization", tt.header)
					}
					rec := do(t, b.h, req)
					if tt.status == http.StatusOK {
						require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
						return
					}
					p := requireProblem(t, rec, tt.status, "")
					switch tt.status {
					case http.StatusUnauthorized:
						require.Equal(t, `Bearer realm="laborcredit"`, rec.Header().Get("WWW-Authenticate"))
						require.NotContains(t, rec.Body.String(), "荆楚")
					case http.StatusForbidden:
						require.Contains(t, p.Detail, ratings.ScopeCreditRead)
					}
				})
			}
		}

		t.Run("rate limit", func(t *testing.T) {
			t.Parallel()
			_, slowKey, err := b.svc.CreateAPIClient(ctx, admin, "某村镇银行", "bank", ratings.ScopeCreditRead, 1)
			require.NoError(t, err)
			var codes []int
			for range 5 {
				rec := b.get(t, target, slowKey)
				codes = append(codes, rec.Code)
				if rec.Code == http.StatusTooManyRequests {
					requireProblem(t, rec, http.StatusTooManyRequests, "")
					s, err := strconv.Atoi(rec.Header().Get("Retry-After"))
					require.NoError(t, err, "Retry-After: %q", rec.Header().Get("Retry-After"))
					require.GreaterOrEqual(t, s, 1)
				}
			}
			require.Equal(t, []int{200, 200}, codes[:2], "a burst of twice the rate")
			require.Contains(t, codes, http.StatusTooManyRequests)
			// Other keys are not held back.
			require.Equal(t, http.StatusOK, b.get(t, target, b.key).Code)
		})
	})
}

type batchResponse struct {
	Results []struct {
		USCC   string                `json:"uscc"`
		Status string                `json:"status"`
		Error  string                `json:"error"`
		Rating *ratings.CreditRating `json:"rating"`
	} `json:"results"`
}

func TestCreditBatch(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		t.Run("mixed codes", func(t *testing.T) {
			t.Parallel()
			unknown := code(t, "420102", 999)
			legacy := badCheck(code(t, "350200", 997))
			require.NoError(t, b.svc.AddLegacyCode(context.Background(), admin, legacy, "厦门早期试点代码，经登记机关核实"))
			codes := []string{b.e[0].USCC, b.e[4].USCC, b.e[0].USCC[:16], unknown, b.e[3].USCC, badCheck(b.e[2].USCC), b.e[5].USCC, b.e[2].USCC,
				" " + strings.ToLower(b.e[0].USCC), legacy}
			rec := b.post(t, "/api/v1/credit/batch", b.key, map[string]any{"codes": codes})
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			got := decode[batchResponse](t, rec).Results
			require.Len(t, got, len(codes))
			want := []struct {
				status string
				credit int    // fixture employer of the rating, -1 for none
				err    string // part of the error
			}{
				{"found", 0, ""}, {"not_published", -1, ""}, {"invalid", -1, "must be 18 characters, got 16"}, {"not_published", -1, ""},
				{"found", 3, ""}, {"invalid", -1, "check character is"}, {"not_published", -1, ""}, {"found", 2, ""}, {"found", 0, ""},
				{"not_published", -1, ""},
			}
			for i, w := range want {
				require.Equal(t, ratings.NormalizeCode(codes[i]), got[i].USCC, "result %d", i)
				require.Equal(t, w.status, got[i].Status, "result %d", i)
				if w.err == "" {
					require.Empty(t, got[i].Error, "result %d", i)
				} else {
					require.Contains(t, got[i].Error, w.err, "result %d", i)
				}
				if w.credit < 0 {
					require.Nil(t, got[i].Rating, "result %d", i)
				} else {
					require.NotNil(t, got[i].Rating, "result %d", i)
					require.Equal(t, wantCredit(b, w.credit), *got[i].Rating, "result %d", i)
				}
			}
			require.NotContains(t, rec.Body.String(), b.e[4].Name)
			require.NotContains(t, rec.Body.String(), b.e[5].Name)
		})

		many := make([]string, ratings.MaxBatch+1)
		for i := range many {
			many[i] = b.e[0].USCC
		}
		// Over 1 MiB of valid JSON.
		huge := `{"codes":["` + strings.Repeat(b.e[0].USCC+`","`, 60000) + b.e[0].USCC + `"]}`
		require.Greater(t, len(huge), 1<<20)
		tests := []struct {
			name   string
			body   any
			status int
			field  string
		}{
			{"1,000 codes", map[string]any{"codes": many[:ratings.MaxBatch]}, http.StatusOK, ""},
			{"1,001 codes", map[string]any{"codes": many}, http.StatusUnprocessableEntity, "codes"},
			{"no codes", map[string]any{"codes": []string{}}, http.StatusUnprocessableEntity, "codes"},
			{"codes missing", "{}", http.StatusUnprocessableEntity, "codes"},
			{"not JSON", "uscc=" + b.e[0].USCC, http.StatusBadRequest, "body"},
			{"codes not a list", `{"codes":"` + b.e[0].USCC + `"}`, http.StatusBadRequest, "body"},
			{"unknown field", `{"codes":["` + b.e[0].USCC + `"],"as_of":"2026-01-01"}`, http.StatusBadRequest, "body"},
			{"empty body", "", http.StatusBadRequest, "body"},
			{"over 1 MiB", huge, http.StatusRequestEntityTooLarge, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				req := newRequest(t, http.MethodPost, "/api/v1/credit/batch", b.key, tt.body)
				rec := do(t, b.h, req)
				if tt.status == http.StatusOK {
					require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
					require.Len(t, decode[batchResponse](t, rec).Results, ratings.MaxBatch)
					return
				}
				requireProblem(t, rec, tt.status, tt.field)
			})
		}
	})
}

type changesResponse struct {
	Changes []ratings.Change `json:"changes"`
	Next    string           `json:"next"`
}

func TestCreditChanges(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		change := func(i, period, version int, grade string, published string, reasons ...ratings.CreditReason) ratings.Change {
			if reasons == nil {
				reasons = []ratings.CreditReason{}
			}
			e := b.e[i]
			return ratings.Change{USCC: e.USCC, Name: e.Name, Region: e.Region, Period: period, Version: version, Grade: grade,
				Correction: version > 1, PublishedAt: at(published), Reasons: reasons}
		}
		want := []ratings.Change{
			change(0, 2024, 1, "A", "2025-03-31"), change(1, 2024, 1, "A", "2025-03-31"),
			change(2, 2024, 1, "A", "2025-03-31"), change(3, 2024, 1, "A", "2025-03-31"),
			change(0, 2025, 1, "A", "2026-03-20"), change(1, 2025, 1, "B", "2026-03-20", reasonViolation),
			change(2, 2025, 1, "C", "2026-03-20", reasonChild, reasonViolation), change(3, 2025, 1, "A", "2026-03-20"),
			change(3, 2025, 2, "B", "2026-04-01"),
		}

		t.Run("pages with limit 2", func(t *testing.T) {
			t.Parallel()
			var got []ratings.Change
			var sizes []int
			cursor := ""
			for range 10 {
				rec := b.get(t, "/api/v1/credit/changes?limit=2&since="+url.QueryEscape(cursor), b.key)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				page := decode[changesResponse](t, rec)
				require.NotEmpty(t, page.Next)
				sizes = append(sizes, len(page.Changes))
				got = append(got, page.Changes...)
				if len(page.Changes) == 0 {
					require.Equal(t, cursor, page.Next, "nothing new: the same cursor")
					break
				}
				cursor = page.Next
			}
			require.Equal(t, []int{2, 2, 2, 2, 1, 0}, sizes)
			require.Equal(t, want, got)
		})
		t.Run("one page", func(t *testing.T) {
			t.Parallel()
			rec := b.get(t, "/api/v1/credit/changes", b.key)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Equal(t, want, decode[changesResponse](t, rec).Changes)
		})

		tests := []struct {
			name   string
			query  string
			status int
			field  string
		}{
			{"cursor not base64", "since=" + url.QueryEscape("!!!"), http.StatusUnprocessableEntity, "since"},
			{"cursor not from this feed", "since=bm90LWEtY3Vyc29y", http.StatusUnprocessableEntity, "since"},
			{"limit 0", "limit=0", http.StatusBadRequest, "limit"},
			{"limit 5000", "limit=5000", http.StatusBadRequest, "limit"},
			{"limit -1", "limit=-1", http.StatusBadRequest, "limit"},
			{"limit not a number", "limit=ten", http.StatusBadRequest, "limit"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				requireProblem(t, b.get(t, "/api/v1/credit/changes?"+tt.query, b.key), tt.status, tt.field)
			})
		}
	})
}

// queryLogRow is a row of query_log.
type queryLogRow struct {
	ClientID int64  `bun:"client_id"`
	Endpoint string `bun:"endpoint"`
	Codes    string `bun:"codes"`
	Result   string `bun:"result"`
}

// queryLog waits until a client has n rows in query_log (the log is
// written in batches, off the request path) and returns them in order.
func queryLog(t *testing.T, db *bun.DB, clientID int64, n int) []queryLogRow {
	t.Helper()
	var rows []queryLogRow
	deadline := time.Now().Add(5 * time.Second)
	for {
		rows = nil
		err := db.NewSelect().Table("query_log").Column("client_id", "endpoint", "codes", "result").
			Where("client_id = ?", clientID).Order("id").Scan(context.Background(), &rows)
		require.NoError(t, err)
		if len(rows) >= n || time.Now().After(deadline) {
			return rows
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCreditQueriesLogged(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		cl, key, err := b.svc.CreateAPIClient(context.Background(), admin, "某市场监管局", "commerce", ratings.ScopeCreditRead, 100)
		require.NoError(t, err)
		e0, e1, e4 := b.e[0].USCC, b.e[1].USCC, b.e[4].USCC
		requests := []struct {
			method, target string
			body           any
			status         int
			want           queryLogRow
		}{
			{http.MethodGet, "/api/v1/credit/" + e0, nil, 200, queryLogRow{Endpoint: "credit", Codes: e0, Result: "found"}},
			{http.MethodGet, "/api/v1/credit/" + e4, nil, 404, queryLogRow{Endpoint: "credit", Codes: e4, Result: "not_published"}},
			{http.MethodGet, "/api/v1/credit/" + e0[:16], nil, 400, queryLogRow{Endpoint: "credit", Codes: e0[:16], Result: "invalid"}},
			{http.MethodGet, "/api/v1/credit/" + e0 + "?as_of=2026-03-25", nil, 200, queryLogRow{Endpoint: "credit?as_of=2026-03-25", Codes: e0, Result: "found"}},
			{http.MethodPost, "/api/v1/credit/batch", map[string]any{"codes": []string{e0, e4, e1}}, 200,
				queryLogRow{Endpoint: "credit/batch", Codes: e0 + "," + e4 + "," + e1, Result: "2 found of 3"}},
			{http.MethodGet, "/api/v1/credit/changes?limit=3", nil, 200, queryLogRow{Endpoint: "credit/changes", Codes: "", Result: "3 changes"}},
		}
		var want []queryLogRow
		for _, r := range requests {
			rec := do(t, b.h, newRequest(t, r.method, r.target, key, r.body))
			require.Equal(t, r.status, rec.Code, rec.Body.String())
			r.want.ClientID = cl.ID
			want = append(want, r.want)
		}
		require.Equal(t, want, queryLog(t, db, cl.ID, len(want)))
		// Requests without a valid key are not a client's queries.
		require.Equal(t, http.StatusUnauthorized, b.get(t, "/api/v1/credit/"+e0, "lck_wrong").Code)
		require.Len(t, queryLog(t, db, cl.ID, len(want)), len(want))
	})
}

// TestCreditAsOfNotFoundLogged: an as_of query that finds no rating in
// force is logged (and counted) as not_published, like one without as_of.
func TestCreditAsOfNotFoundLogged(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		cl, key, err := b.svc.CreateAPIClient(context.Background(), admin, "某银行", "bank", ratings.ScopeCreditRead, 100)
		require.NoError(t, err)
		e0, unknown := b.e[0].USCC, code(t, "420102", 999)
		require.Equal(t, http.StatusNotFound, b.get(t, "/api/v1/credit/"+e0+"?as_of=2020-01-01", key).Code)
		require.Equal(t, http.StatusNotFound, b.get(t, "/api/v1/credit/"+unknown+"?as_of=2026-04-01", key).Code)
		require.Equal(t, []queryLogRow{
			{ClientID: cl.ID, Endpoint: "credit?as_of=2020-01-01", Codes: e0, Result: "not_published"},
			{ClientID: cl.ID, Endpoint: "credit?as_of=2026-04-01", Codes: unknown, Result: "not_published"},
		}, queryLog(t, db, cl.ID, 2))
	})
}

// TestCreditRejectedQueriesLogged: DESIGN.md says every query is logged;
// a client's queries that are refused for their input are queries too.
func TestCreditRejectedQueriesLogged(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		cl, key, err := b.svc.CreateAPIClient(context.Background(), admin, "某银行", "bank", ratings.ScopeCreditRead, 100)
		require.NoError(t, err)
		many := make([]string, ratings.MaxBatch+1)
		for i := range many {
			many[i] = b.e[0].USCC
		}
		require.Equal(t, http.StatusUnprocessableEntity, b.post(t, "/api/v1/credit/batch", key, map[string]any{"codes": many}).Code)
		require.Equal(t, http.StatusUnprocessableEntity, b.get(t, "/api/v1/credit/changes?since=bm90LWEtY3Vyc29y", key).Code)
		require.Equal(t, http.StatusBadRequest, b.get(t, "/api/v1/credit/changes?limit=0", key).Code)
		require.Len(t, queryLog(t, db, cl.ID, 3), 3)
	})
}

// TestNeverUnpublished: no credit or public response ever shows a rating
// that has not been published — confirmed (e4), under publicity (e5) or
// rated (e6).
func TestNeverUnpublished(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		hidden := b.e[4:]
		var all []string
		for _, e := range b.e {
			all = append(all, e.USCC)
		}

		// Responses to queries that do not name the hidden employers must
		// not name them at all.
		targets := []string{
			"/api/v1/public/ratings",
			"/api/v1/public/ratings?per_page=100",
			"/api/v1/public/ratings?q=" + url.QueryEscape("荆楚"),
			"/api/v1/public/ratings?q=" + url.QueryEscape("有限公司") + "&per_page=100",
			"/api/v1/public/ratings?period=2025&grade=A",
			"/api/v1/public/ratings?period=2025&region=420102",
			"/api/v1/public/ratings?period=2025&region=420103",
			"/api/v1/public/ratings?region=420000&per_page=100",
			"/api/v1/public/awards",
			"/api/v1/public/awards?period=2025",
		}
		for _, e := range b.e[:4] {
			targets = append(targets, "/api/v1/public/ratings/"+e.USCC)
		}
		for _, target := range targets {
			rec := b.get(t, target, "")
			require.Equal(t, http.StatusOK, rec.Code, "%s: %s", target, rec.Body.String())
			for _, e := range hidden {
				require.NotContains(t, rec.Body.String(), e.USCC, target)
				require.NotContains(t, rec.Body.String(), e.Name, target)
			}
		}
		cursor := ""
		for range 20 {
			rec := b.get(t, "/api/v1/credit/changes?limit=1&since="+url.QueryEscape(cursor), b.key)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			for _, e := range hidden {
				require.NotContains(t, rec.Body.String(), e.USCC)
				require.NotContains(t, rec.Body.String(), e.Name)
			}
			page := decode[changesResponse](t, rec)
			if len(page.Changes) == 0 {
				break
			}
			cursor = page.Next
		}

		// Queries that name them: nothing found, nothing of the rating shown.
		for _, e := range hidden {
			for _, target := range []string{
				"/api/v1/public/ratings?q=" + e.USCC,
				"/api/v1/public/ratings?q=" + url.QueryEscape(e.Name),
				"/api/v1/public/ratings?q=" + e.USCC + "&period=2025",
			} {
				rec := b.get(t, target, "")
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				page := decode[ratings.PublicPage](t, rec)
				require.Zero(t, page.Total, target)
				require.Empty(t, page.Items, target)
			}
			for _, target := range []string{"/api/v1/public/ratings/" + e.USCC} {
				rec := b.get(t, target, "")
				requireProblem(t, rec, http.StatusNotFound, "")
				requireNothingOf(t, rec, e)
			}
			for _, target := range []string{"/api/v1/credit/" + e.USCC, "/api/v1/credit/" + e.USCC + "?as_of=2026-04-08"} {
				rec := b.get(t, target, b.key)
				requireProblem(t, rec, http.StatusNotFound, "")
				requireNothingOf(t, rec, e)
			}
		}
		rec := b.post(t, "/api/v1/credit/batch", b.key, map[string]any{"codes": all})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		res := decode[batchResponse](t, rec).Results
		for i, e := range b.e {
			if i < 4 {
				require.Equal(t, "found", res[i].Status)
				continue
			}
			require.Equal(t, "not_published", res[i].Status)
			require.Nil(t, res[i].Rating)
			require.NotContains(t, rec.Body.String(), e.Name)
		}
	})
}

// TestCreditChangesNeverSkips: a bank that follows the feed sees every
// publication, even one committed after a later-stamped one — a Tick run
// by a replica whose clock is a second behind, or a long Tick transaction
// that took its timestamp before a correction committed.
func TestCreditChangesNeverSkips(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		ctx := context.Background()
		publish := time.Date(2026, 4, 20, 2, 0, 0, 0, time.UTC)
		b.clk.SetTime(publish.Add(time.Second))
		r1 := b.e[1].Rating
		_, err := b.svc.Correct(ctx, admin, ratings.Ref{ID: r1.ID, LockVersion: r1.LockVersion}, "C", "补充查处记录")
		require.NoError(t, err)

		cursor := ""
		for range 20 {
			rec := b.get(t, "/api/v1/credit/changes?since="+url.QueryEscape(cursor), b.key)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			page := decode[changesResponse](t, rec)
			cursor = page.Next
			if len(page.Changes) == 0 {
				break
			}
		}

		b.clk.SetTime(publish)
		n, err := b.svc.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "e5's publicity has ended")

		rec := b.get(t, "/api/v1/credit/changes?since="+url.QueryEscape(cursor), b.key)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		changes := decode[changesResponse](t, rec).Changes
		require.Len(t, changes, 1)
		require.Equal(t, b.e[5].USCC, changes[0].USCC)
	})
}

// hostileInputs are values a client can send as as_of or as a code.
var hostileInputs = []string{
	"\x00",
	"2026-03-25\x00",
	"\xff\xfe",
	"中\xe6\x96",
	strings.Repeat("x", 300<<10),
	strings.Repeat("中", 100<<10),
	"abc\u202Egpj.exe",
	`'"; DROP TABLE query_log; --`,
	"' OR 1=1 --",
	`\x00\`,
	"%00",
	"😀👩‍👩‍👧",
	"a\tb\nc\x1b[31m\x7f\u0085",
	"a,b",
}

// TestCreditHostileQueriesLogged: finding 3 — hostile values in every
// logged field from bank A (as_of, codes of a batch, a single code) do
// not take bank B's entries with them: every query of both is logged,
// and the server keeps answering.
func TestCreditHostileQueriesLogged(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		ctx := context.Background()
		bankA, keyA, err := b.svc.CreateAPIClient(ctx, admin, "甲银行", "bank", ratings.ScopeCreditRead, 1000)
		require.NoError(t, err)
		bankB, keyB, err := b.svc.CreateAPIClient(ctx, admin, "乙银行", "bank", ratings.ScopeCreditRead, 1000)
		require.NoError(t, err)
		e0, e1 := b.e[0].USCC, b.e[1].USCC
		nA := 0
		for _, v := range hostileInputs {
			for _, req := range []*http.Request{
				newRequest(t, http.MethodGet, "/api/v1/credit/"+e0+"?as_of="+url.QueryEscape(v), keyA, nil),
				newRequest(t, http.MethodGet, "/api/v1/credit/"+url.PathEscape(v), keyA, nil),
				newRequest(t, http.MethodPost, "/api/v1/credit/batch", keyA, `{"codes":["`+e1+`",`+jsonString(v)+`]}`),
				newRequest(t, http.MethodGet, "/api/v1/credit/changes?since="+url.QueryEscape(v), keyA, nil),
			} {
				if req.URL.Path == "/api/v1/credit/" {
					continue // "" is no code: not this endpoint
				}
				rec := httptest.NewRecorder()
				b.h.ServeHTTP(rec, req)
				require.Less(t, rec.Code, 500, "%s %.80s: %s", req.Method, req.URL, rec.Body.String())
				nA++
				// Bank B's queries go in the same batches.
				require.Equal(t, http.StatusOK, b.get(t, "/api/v1/credit/"+e0, keyB).Code)
				require.Equal(t, http.StatusOK, b.post(t, "/api/v1/credit/batch", keyB, map[string]any{"codes": []string{e0, e1}}).Code)
			}
		}
		rowsB := queryLog(t, db, bankB.ID, 2*nA)
		require.Len(t, rowsB, 2*nA, "every query of bank B is logged")
		for i, r := range rowsB {
			want := queryLogRow{ClientID: bankB.ID, Endpoint: "credit", Codes: e0, Result: "found"}
			if i%2 == 1 {
				want = queryLogRow{ClientID: bankB.ID, Endpoint: "credit/batch", Codes: e0 + "," + e1, Result: "2 found of 2"}
			}
			require.Equal(t, want, r)
		}
		rowsA := queryLog(t, db, bankA.ID, nA)
		require.Len(t, rowsA, nA, "every query of bank A is logged too")
		for _, r := range rowsA {
			require.True(t, utf8.ValidString(r.Endpoint+r.Codes+r.Result))
			require.NotContains(t, r.Endpoint+r.Codes+r.Result, "\x00")
		}
		require.Equal(t, http.StatusOK, b.get(t, "/healthz", "").Code)
	})
}

// jsonString writes s as a JSON string, its bytes as they are (invalid
// UTF-8 included) but for what JSON must escape.
func jsonString(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&sb, `\u%04x`, c)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// TestCreditRefusedUnlogged: while the query log cannot be written, credit
// queries are refused with 503 and Retry-After rather than answered
// unlogged; when it can again, they are answered, and every query that
// was answered is in the log.
func TestCreditRefusedUnlogged(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		ctx := context.Background()
		cl, key, err := b.svc.CreateAPIClient(ctx, admin, "丙银行", "bank", ratings.ScopeCreditRead, 1000)
		require.NoError(t, err)
		qlog := ratings.NewQueryLogWith(db, ratings.QueryLogParams{Capacity: 20, OnError: func(error) {}})
		t.Cleanup(qlog.Close)
		h := api.New(b.svc, api.Options{QueryLog: qlog, Registry: prometheus.NewRegistry(), NowFunc: b.clk.Now})
		target := "/api/v1/credit/" + b.e[0].USCC
		_, err = db.ExecContext(ctx, "ALTER TABLE query_log RENAME TO query_log_away")
		require.NoError(t, err)
		answered := 0
		deadline := time.Now().Add(10 * time.Second)
		for {
			rec := do(t, h, newRequest(t, http.MethodGet, target, key, nil))
			if rec.Code == http.StatusServiceUnavailable {
				requireProblem(t, rec, http.StatusServiceUnavailable, "")
				s, err := strconv.Atoi(rec.Header().Get("Retry-After"))
				require.NoError(t, err)
				require.GreaterOrEqual(t, s, 1)
				require.NotContains(t, rec.Body.String(), b.e[0].Name, "no answer without its log entry")
				break
			}
			require.Equal(t, http.StatusOK, rec.Code)
			answered++
			require.LessOrEqual(t, answered, 20, "at most Capacity queries wait to be logged")
			require.True(t, time.Now().Before(deadline), "never refused")
			time.Sleep(20 * time.Millisecond)
		}
		batch := do(t, h, newRequest(t, http.MethodPost, "/api/v1/credit/batch", key, map[string]any{"codes": []string{b.e[0].USCC}}))
		require.Equal(t, http.StatusServiceUnavailable, batch.Code)
		require.Equal(t, http.StatusOK, do(t, h, newRequest(t, http.MethodGet, "/healthz", "", nil)).Code)

		_, err = db.ExecContext(ctx, "ALTER TABLE query_log_away RENAME TO query_log")
		require.NoError(t, err)
		require.Eventually(t, qlog.Healthy, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, http.StatusOK, do(t, h, newRequest(t, http.MethodGet, target, key, nil)).Code)
		answered++
		require.Len(t, queryLog(t, db, cl.ID, answered), answered, "every answered query is logged")
	})
}
