package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/api"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
	scoringrules "laborcredit/scoring-rules"
)

// The users of the authorization table, seen from e0 (江岸区 420102).
const (
	countyIn      = "county in"      // 江岸区 420102
	countyOut     = "county out"     // 江汉区 420103
	cityIn        = "city in"        // 武汉市 420100
	cityOut       = "city out"       // 荆门市 420800
	provinceIn    = "province in"    // 湖北省 420000
	provinceOut   = "province out"   // 湖南省 430000
	adminUser     = "admin"          // 420000
	employerOwn   = "employer own"   // e0 itself
	employerOther = "employer other" // e1
)

var allUsers = []string{countyIn, countyOut, cityIn, cityOut, provinceIn, provinceOut, adminUser, employerOwn, employerOther}

// users creates the users of the authorization table.
func (b *testBundle) users(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		countyIn:      b.user(t, "江岸区监察大队", ratings.RoleCounty, "420102", ""),
		countyOut:     b.user(t, "江汉区监察大队", ratings.RoleCounty, "420103", ""),
		cityIn:        b.user(t, "武汉市人社局", ratings.RoleCity, "420100", ""),
		cityOut:       b.user(t, "荆门市人社局", ratings.RoleCity, "420800", ""),
		provinceIn:    b.user(t, "湖北省人社厅", ratings.RoleProvince, "420000", ""),
		provinceOut:   b.user(t, "湖南省人社厅", ratings.RoleProvince, "430000", ""),
		adminUser:     b.user(t, "系统管理员", ratings.RoleAdmin, "420000", ""),
		employerOwn:   b.user(t, "荆楚1号 人事部", ratings.RoleEmployer, "", b.e[0].USCC),
		employerOther: b.user(t, "荆楚2号 人事部", ratings.RoleEmployer, "", b.e[1].USCC),
	}
}

// statuses builds the expected status of each user: in for officers whose
// region holds e0 (and the admin), out for the others, own and other for
// the employer users.
func statuses(in, out, own, other int) map[string]int {
	return map[string]int{countyIn: in, cityIn: in, provinceIn: in, adminUser: in,
		countyOut: out, cityOut: out, provinceOut: out, employerOwn: own, employerOther: other}
}

// only gives status ok to some users and 403 to the others.
func only(ok int, users ...string) map[string]int {
	m := map[string]int{}
	for _, u := range allUsers {
		m[u] = http.StatusForbidden
	}
	for _, u := range users {
		m[u] = ok
	}
	return m
}

// TestOfficerAuthorization runs every officer and employer endpoint as
// every kind of user, inside and outside e0's region. Requests that would
// change state are made so that they fail after the authorization check
// (422 or 409), except those that only add records (201).
func TestOfficerAuthorization(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		tokens := b.users(t)
		e0 := b.e[0]
		r0 := e0.Rating
		const (
			ok, created, forbidden = http.StatusOK, http.StatusCreated, http.StatusForbidden
			invalid, conflict      = http.StatusUnprocessableEntity, http.StatusConflict
		)
		n := 0
		tests := []struct {
			method, target string
			body           func() any // a fresh body per request
			want           map[string]int
		}{
			{"GET", "/api/v1/me", nil, statuses(ok, ok, ok, ok)},
			{"GET", "/api/v1/periods", nil, statuses(ok, ok, ok, ok)},
			{"GET", "/api/v1/ratings?region=420102", nil, statuses(ok, forbidden, forbidden, forbidden)},
			{"GET", "/api/v1/ratings?region=420102&period=2025&status=published", nil, statuses(ok, forbidden, forbidden, forbidden)},
			{"GET", fmt.Sprintf("/api/v1/ratings/%d", r0.ID), nil, statuses(ok, forbidden, ok, forbidden)},
			{"GET", "/api/v1/employers/" + e0.USCC + "/integrity-file", nil, statuses(ok, forbidden, ok, forbidden)},
			{"GET", "/api/v1/employers/" + e0.USCC + "/notifications", nil, statuses(ok, forbidden, ok, forbidden)},
			// No stored rule set has this hash.
			{"POST", "/api/v1/periods/2025/activate", func() any { return map[string]any{"hash": "sha256:0000"} }, only(invalid, adminUser)},
			// 2030 has no rule set.
			{"POST", "/api/v1/periods/2030/rate", func() any { return map[string]any{"region": "420102"} }, statuses(invalid, forbidden, forbidden, forbidden)},
			{"POST", "/api/v1/periods/2030/publicize", func() any { return map[string]any{"region": "420102"} }, statuses(invalid, forbidden, forbidden, forbidden)},
			// 2030 does not exist; provinces and admins manage periods.
			{"PATCH", "/api/v1/periods/2030", func() any { return map[string]any{"publicity_days": 7} }, only(invalid, adminUser, provinceIn, provinceOut)},
			{"POST", "/api/v1/periods/2030/review", func() any { return map[string]any{"region": "420102"} }, statuses(invalid, forbidden, forbidden, forbidden)},
			{"POST", "/api/v1/periods/2030/confirm", func() any { return map[string]any{"region": "420102"} }, statuses(invalid, forbidden, forbidden, forbidden)},
			// Not a rule set.
			{"POST", "/api/v1/rule-sets", func() any { return "id: [" }, only(invalid, adminUser, provinceIn, provinceOut)},
			// e0's rating is published: it cannot be reviewed, confirmed or re-rated, and Z is no grade.
			{"POST", fmt.Sprintf("/api/v1/ratings/%d/review", r0.ID), func() any { return map[string]any{"lock_version": r0.LockVersion} },
				statuses(invalid, forbidden, forbidden, forbidden)},
			{"POST", fmt.Sprintf("/api/v1/ratings/%d/confirm", r0.ID), func() any { return map[string]any{"lock_version": r0.LockVersion} },
				statuses(invalid, forbidden, forbidden, forbidden)},
			{"POST", fmt.Sprintf("/api/v1/ratings/%d/rerate", r0.ID), func() any { return map[string]any{"lock_version": r0.LockVersion} },
				statuses(invalid, forbidden, forbidden, forbidden)},
			{"POST", fmt.Sprintf("/api/v1/ratings/%d/correct", r0.ID), func() any {
				return map[string]any{"lock_version": r0.LockVersion, "grade": "Z", "reason": "测试"}
			}, statuses(invalid, forbidden, forbidden, forbidden)},
			// The objection (to e5, 420102) is decided already.
			{"POST", fmt.Sprintf("/api/v1/objections/%d/decision", b.objection), func() any {
				return map[string]any{"upheld": false, "decision": "再次答复"}
			}, statuses(conflict, forbidden, forbidden, forbidden)},
			// e3 (420102) is graded B: a city may nominate only A.
			{"POST", "/api/v1/nominations", func() any {
				return map[string]any{"uscc": b.e[3].USCC, "period": 2025, "award": "best-integrity-unit"}
			}, only(invalid, cityIn)},
			// e0's nomination is approved already.
			{"POST", fmt.Sprintf("/api/v1/nominations/%d/decision", b.nomination), func() any { return map[string]any{"approve": true} },
				only(conflict, provinceIn)},
			{"POST", "/api/v1/employers", func() any {
				n++
				return map[string]any{"uscc": code(t, "420102", 500+n), "name": fmt.Sprintf("新登记单位%d", n), "region": "420102"}
			}, statuses(created, forbidden, forbidden, forbidden)},
			{"POST", "/api/v1/cases", func() any {
				n++
				return map[string]any{"uscc": e0.USCC, "id": fmt.Sprintf("JA-2026-%04d", n), "source": "complaint", "opened": "2026-04-01",
					"concluded": "", "violations": []string{}, "outcome": "pending"}
			}, statuses(created, forbidden, forbidden, forbidden)},
			{"POST", "/api/v1/declarations/annual", func() any {
				return map[string]any{"period": 2023, "employees": 20, "contracts_signed": 20, "insured": 20, "roster_complete": true}
			}, only(created, employerOwn, employerOther)},
		}
		for _, tt := range tests {
			require.Len(t, tt.want, len(allUsers), "%s %s", tt.method, tt.target)
			for _, u := range allUsers {
				var body any
				if tt.body != nil {
					body = tt.body()
				}
				t.Run(u+" "+tt.method+" "+tt.target, func(t *testing.T) {
					t.Parallel()
					req := newRequest(t, tt.method, tt.target, tokens[u], body)
					if s, isString := body.(string); isString && strings.HasPrefix(s, "id:") {
						req.Header.Set("Content-Type", "application/yaml")
					}
					rec := do(t, b.h, req)
					require.Equal(t, tt.want[u], rec.Code, rec.Body.String())
					if rec.Code >= 400 {
						requireProblem(t, rec, rec.Code, "")
					}
				})
			}
		}
	})
}

// ratingJSON is a rating as officers see it.
type ratingJSON struct {
	ratings.RatingView
	Result map[string]any `json:"result"`
	Facts  map[string]any `json:"facts"`
}

// TestOfficerWorkflow takes e6 (rated) through review, a confirmation
// with an override and publicity over the API, with the mistakes an
// officer makes on the way.
func TestOfficerWorkflow(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		tok := b.user(t, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		e6 := b.e[6]
		base := fmt.Sprintf("/api/v1/ratings/%d", e6.Rating.ID)

		rec := b.get(t, base, tok)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		r := decode[ratingJSON](t, rec)
		require.Equal(t, ratings.StatusRated, r.Status)
		require.Equal(t, e6.USCC, r.USCC)
		require.Equal(t, e6.Name, r.Name)
		require.Equal(t, "A", r.Grade)
		require.Equal(t, "A", r.Result["grade"])
		require.EqualValues(t, 2025, r.Facts["period"])
		lv := r.LockVersion

		mistakes := []struct {
			name   string
			target string
			body   any
			status int
			field  string
		}{
			{"no lock_version", base + "/review", map[string]any{}, http.StatusBadRequest, "lock_version"},
			{"unknown field", base + "/review", map[string]any{"lock_version": lv, "comment": "已核"}, http.StatusBadRequest, "body"},
			{"lock_version a string", base + "/review", `{"lock_version":"1"}`, http.StatusBadRequest, "body"},
			{"not JSON", base + "/review", "lock_version=1", http.StatusBadRequest, "body"},
			{"no body", base + "/review", nil, http.StatusBadRequest, "body"},
			{"id not a number", "/api/v1/ratings/e6/review", map[string]any{"lock_version": lv}, http.StatusBadRequest, "id"},
			{"no such rating", "/api/v1/ratings/999999/review", map[string]any{"lock_version": lv}, http.StatusNotFound, ""},
			{"confirm before review", base + "/confirm", map[string]any{"lock_version": lv}, http.StatusUnprocessableEntity, "status"},
			{"correct before publication", base + "/correct", map[string]any{"lock_version": lv, "grade": "B", "reason": "x"}, http.StatusUnprocessableEntity, "status"},
			{"year not a number", "/api/v1/periods/twenty/rate", map[string]any{}, http.StatusBadRequest, "year"},
			{"rate without a body", "/api/v1/periods/2025/rate", nil, http.StatusBadRequest, "body"},
			{"publicize with an unknown region", "/api/v1/periods/2025/publicize", map[string]any{"region": "999999"}, http.StatusUnprocessableEntity, "region"},
		}
		for _, m := range mistakes {
			rec := b.post(t, m.target, tok, m.body)
			requireProblem(t, rec, m.status, m.field)
		}

		rec = b.post(t, base+"/review", tok, map[string]any{"lock_version": lv})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		r = decode[ratingJSON](t, rec)
		require.Equal(t, ratings.StatusReviewed, r.Status)
		require.Equal(t, lv+1, r.LockVersion)

		// A stale lock_version: somebody changed it since it was read.
		requireProblem(t, b.post(t, base+"/confirm", tok, map[string]any{"lock_version": lv}), http.StatusConflict, "")
		// An override needs a written reason and a grade of the rule set.
		p := requireProblem(t, b.post(t, base+"/confirm", tok, map[string]any{"lock_version": lv + 1, "grade": "B"}), http.StatusUnprocessableEntity, "reason")
		require.Contains(t, p.Errors[0].Reason, "needs a written reason")
		requireProblem(t, b.post(t, base+"/confirm", tok, map[string]any{"lock_version": lv + 1, "grade": "B", "reason": "   "}), http.StatusUnprocessableEntity, "reason")
		requireProblem(t, b.post(t, base+"/confirm", tok, map[string]any{"lock_version": lv + 1, "grade": "D", "reason": "x"}), http.StatusUnprocessableEntity, "grade")

		const why = "现场检查发现部分职工未签订劳动合同"
		rec = b.post(t, base+"/confirm", tok, map[string]any{"lock_version": lv + 1, "grade": "B", "reason": why})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		r = decode[ratingJSON](t, rec)
		require.Equal(t, ratings.StatusConfirmed, r.Status)
		require.Equal(t, "B", r.Grade)
		require.Equal(t, "A", r.EngineGrade, "the engine's grade stays beside the override")
		require.NotNil(t, r.OverrideReason)
		require.Equal(t, why, *r.OverrideReason)
		// The same request again: the lock_version is stale now.
		requireProblem(t, b.post(t, base+"/confirm", tok, map[string]any{"lock_version": lv + 1, "grade": "B", "reason": why}), http.StatusConflict, "")

		rec = b.post(t, "/api/v1/periods/2025/publicize", tok, map[string]any{"ids": []int64{e6.Rating.ID}})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		pub := decode[struct {
			Publicized    int    `json:"publicized"`
			PublicityEnds string `json:"publicity_ends"`
		}](t, rec)
		require.Equal(t, 1, pub.Publicized)
		require.Greater(t, pub.PublicityEnds, "2026-04-08")

		// Under publicity it is still not public, and the employer is told.
		requireProblem(t, b.get(t, "/api/v1/public/ratings/"+e6.USCC, ""), http.StatusNotFound, "")
		rec = b.get(t, "/api/v1/employers/"+e6.USCC+"/notifications", tok)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		notes := decode[struct {
			Notifications []struct {
				Kind string         `json:"kind"`
				Body map[string]any `json:"body"`
			} `json:"notifications"`
		}](t, rec).Notifications
		require.Len(t, notes, 1)
		require.Equal(t, "publicized", notes[0].Kind)
		require.Equal(t, "B", notes[0].Body["grade"])
		require.Equal(t, why, notes[0].Body["override_reason"])
		require.Equal(t, pub.PublicityEnds, notes[0].Body["publicity_ends"])
	})
}

// TestOfficerViews checks what officers and the employer itself see of a
// corrected rating: everything, the reasons included.
func TestOfficerViews(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		tok := b.user(t, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		own := b.user(t, "荆楚4号 人事部", ratings.RoleEmployer, "", b.e[3].USCC)
		e3 := b.e[3]
		for _, who := range []string{tok, own} {
			rec := b.get(t, fmt.Sprintf("/api/v1/ratings/%d", e3.Rating.ID), who)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			r := decode[ratingJSON](t, rec)
			require.Equal(t, 2, r.Version)
			require.Equal(t, "B", r.Grade)
			require.Equal(t, "A", r.EngineGrade)
			require.Equal(t, correctionReason, *r.Reason)
			require.Equal(t, correctionReason, *r.OverrideReason)

			rec = b.get(t, "/api/v1/employers/"+e3.USCC+"/integrity-file", who)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			file := decode[struct {
				Ratings []ratingJSON `json:"ratings"`
			}](t, rec).Ratings
			var got []string
			for _, f := range file {
				require.Equal(t, e3.USCC, f.USCC)
				require.Equal(t, ratings.StatusPublished, f.Status)
				got = append(got, fmt.Sprintf("%d v%d %s", f.Period, f.Version, f.Grade))
			}
			require.Equal(t, []string{"2025 v2 B", "2025 v1 A", "2024 v1 A"}, got)
		}
		rec := b.get(t, "/api/v1/me", own)
		require.Equal(t, http.StatusOK, rec.Code)
		require.JSONEq(t, fmt.Sprintf(`{"name":"荆楚4号 人事部","role":"employer","region":"420102","uscc":%q}`, e3.USCC), rec.Body.String())
		rec = b.get(t, "/api/v1/periods", tok)
		require.Equal(t, http.StatusOK, rec.Code)
		periods := decode[struct {
			Periods []ratings.Period `json:"periods"`
		}](t, rec).Periods
		require.Len(t, periods, 2)
		require.Equal(t, 2025, periods[0].Year)
		require.Equal(t, 5, periods[0].PublicityDays)
		requireProblem(t, b.get(t, "/api/v1/ratings?status=approved", tok), http.StatusUnprocessableEntity, "status")
		requireProblem(t, b.get(t, "/api/v1/employers/"+code(t, "420102", 999)+"/integrity-file", tok), http.StatusNotFound, "")
	})
}

func TestUserTokens(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		tok := b.user(t, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		tests := []struct {
			name   string
			header string
			status int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"unknown token", "Bearer lct_unknown", http.StatusUnauthorized},
			{"token without the scheme", tok, http.StatusUnauthorized},
			{"an API key", "Bearer " + b.key, http.StatusUnauthorized},
			{"valid token", "Bearer " + tok, http.StatusOK},
		}
		for _, tt := range tests {
			for _, target := range []string{"/api/v1/me", "/api/v1/ratings", "/api/v1/periods"} {
				t.Run(tt.name+" "+target, func(t *testing.T) {
					t.Parallel()
					req := newRequest(t, http.MethodGet, target, "", nil)
					if tt.header != "" {
						req.Header.Set("Authorization", tt.header)
					}
					rec := do(t, b.h, req)
					require.Equal(t, tt.status, rec.Code, rec.Body.String())
					if tt.status == http.StatusUnauthorized {
						requireProblem(t, rec, tt.status, "")
						require.Equal(t, `Bearer realm="laborcredit"`, rec.Header().Get("WWW-Authenticate"))
					}
				})
			}
		}
		t.Run("a write without a token", func(t *testing.T) {
			t.Parallel()
			rec := b.post(t, fmt.Sprintf("/api/v1/ratings/%d/review", b.e[6].Rating.ID), "", map[string]any{"lock_version": 1})
			requireProblem(t, rec, http.StatusUnauthorized, "")
		})
	})
}

func TestHealth(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc, err := ratings.NewService(db, ratings.ServiceParams{})
		require.NoError(t, err)
		qlog := ratings.NewQueryLog(db, nil)
		t.Cleanup(qlog.Close)
		h := api.New(svc, api.Options{QueryLog: qlog, MetricsToken: "metrics-token"})
		get := func(target string) *httptest.ResponseRecorder {
			return do(t, h, newRequest(t, http.MethodGet, target, "", nil))
		}
		rec := get("/healthz")
		require.Equal(t, http.StatusOK, rec.Code)
		require.JSONEq(t, `{"status":"ok"}`, rec.Body.String())
		rec = get("/readyz")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.JSONEq(t, `{"status":"ready"}`, rec.Body.String())
		require.Equal(t, http.StatusNotFound, get("/api/v1/public/ratings/91420102MA0001034J").Code)

		rec = do(t, h, newRequest(t, http.MethodGet, "/metrics", "metrics-token", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		require.Contains(t, rec.Header().Get("Content-Type"), "text/plain")
		m := rec.Body.String()
		require.Contains(t, m, `laborcredit_http_requests_total{method="GET",route="/healthz",status="200"} 1`)
		require.Contains(t, m, `laborcredit_http_requests_total{method="GET",route="/readyz",status="200"} 1`)
		require.Contains(t, m, `laborcredit_http_requests_total{method="GET",route="/api/v1/public/ratings/:uscc",status="404"} 1`)
		require.Contains(t, m, `laborcredit_http_request_duration_seconds_bucket{method="GET",route="/healthz"`)
	})
}

// TestOfficerActions makes the requests that change state, as the users
// allowed to, and checks their answers.
func TestOfficerActions(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		tokens := b.users(t)
		county, city, province, adminTok := tokens[countyIn], tokens[cityIn], tokens[provinceIn], tokens[adminUser]

		// Rule sets: the same content again is the stored one.
		src, err := os.ReadFile("../scoring-rules/national-2016.yaml")
		require.NoError(t, err)
		req := newRequest(t, http.MethodPost, "/api/v1/rule-sets?name=national-2016.yaml", adminTok, string(src))
		req.Header.Set("Content-Type", "application/yaml")
		rec := do(t, b.h, req)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		rs := decode[ratings.StoredRuleSet](t, rec)
		require.Equal(t, "national-2016", rs.Code)
		require.Equal(t, 1, rs.Version)

		rec = b.post(t, "/api/v1/periods/2026/activate", adminTok, map[string]any{"hash": rs.Hash})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.JSONEq(t, fmt.Sprintf(`{"period":2026,"hash":%q}`, rs.Hash), rec.Body.String())
		// 2025 has published ratings: its rule set can no longer change (the same one is fine).
		rec = b.post(t, "/api/v1/periods/2025/activate", adminTok, map[string]any{"hash": rs.Hash})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

		rec = b.post(t, "/api/v1/periods/2026/rate", county, map[string]any{})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		rate := decode[map[string]any](t, rec)
		require.EqualValues(t, 4, rate["employers"], "e0, e3, e5 and e6 are in 江岸区")
		require.EqualValues(t, 4, rate["rated"])
		require.Equal(t, "national-2016", rate["rule_set"])

		// Re-rate e4 (confirmed): a new version, rated again.
		e4 := b.e[4].Rating
		rec = b.post(t, fmt.Sprintf("/api/v1/ratings/%d/rerate", e4.ID), tokens[countyOut], map[string]any{"lock_version": e4.LockVersion})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		rr := decode[ratingJSON](t, rec)
		require.Equal(t, ratings.StatusRated, rr.Status)
		require.Equal(t, 2, rr.Version)

		// An objection to e5 is upheld: back to review.
		rec = b.post(t, "/api/v1/public/objections", "", map[string]any{"rating_id": b.e[5].Rating.ID, "filed_by": "职工 赵某", "contact": "zhao@example.com", "reason": "拖欠工资"})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		o := decode[ratings.Objection](t, rec)
		rec = b.post(t, fmt.Sprintf("/api/v1/objections/%d/decision", o.ID), county, map[string]any{"upheld": true, "decision": "经核实属实，重新审核"})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.JSONEq(t, fmt.Sprintf(`{"objection":%d,"upheld":true}`, o.ID), rec.Body.String())
		rec = b.get(t, fmt.Sprintf("/api/v1/ratings/%d", b.e[5].Rating.ID), county)
		require.Equal(t, ratings.StatusReviewed, decode[ratingJSON](t, rec).Status)
		requireProblem(t, b.post(t, fmt.Sprintf("/api/v1/objections/%d/decision", o.ID), county, map[string]any{"upheld": false, "decision": "x"}),
			http.StatusConflict, "")
		requireProblem(t, b.post(t, fmt.Sprintf("/api/v1/objections/%d/decision", o.ID), county, map[string]any{"decision": "x"}),
			http.StatusBadRequest, "upheld")
		requireProblem(t, b.post(t, "/api/v1/objections/999999/decision", county, map[string]any{"upheld": true, "decision": "x"}),
			http.StatusNotFound, "")

		// e3 is corrected back to A; a correction needs a reason.
		e3 := b.e[3].Rating
		requireProblem(t, b.post(t, fmt.Sprintf("/api/v1/ratings/%d/correct", e3.ID), county, map[string]any{"lock_version": e3.LockVersion, "grade": "A"}),
			http.StatusUnprocessableEntity, "reason")
		rec = b.post(t, fmt.Sprintf("/api/v1/ratings/%d/correct", e3.ID), county,
			map[string]any{"lock_version": e3.LockVersion, "grade": "A", "reason": "未结案件已撤销，恢复A级"})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		c3 := decode[ratingJSON](t, rec)
		require.Equal(t, 3, c3.Version)
		require.Equal(t, "A", c3.Grade)
		require.Equal(t, ratings.StatusPublished, c3.Status)
		rec = b.get(t, "/api/v1/credit/"+b.e[3].USCC, b.key)
		require.Equal(t, "A", decode[ratings.CreditRating](t, rec).Grade)

		// Now e3 can be nominated by its city and approved by the province.
		rec = b.post(t, "/api/v1/nominations", city, map[string]any{"uscc": b.e[3].USCC, "period": 2025, "award": "best-integrity-unit"})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		nom := decode[ratings.Nomination](t, rec)
		require.Equal(t, "nominated", nom.Status)
		requireProblem(t, b.post(t, "/api/v1/nominations", city, map[string]any{"uscc": b.e[3].USCC, "period": 2025, "award": "best-integrity-unit"}),
			http.StatusConflict, "")
		requireProblem(t, b.post(t, "/api/v1/nominations", city, map[string]any{"uscc": b.e[3].USCC[:17], "period": 2025, "award": "best-integrity-unit"}),
			http.StatusBadRequest, "uscc")
		requireProblem(t, b.post(t, fmt.Sprintf("/api/v1/nominations/%d/decision", nom.ID), province, map[string]any{"approve": false}),
			http.StatusUnprocessableEntity, "reason")
		requireProblem(t, b.post(t, fmt.Sprintf("/api/v1/nominations/%d/decision", nom.ID), province, map[string]any{}),
			http.StatusBadRequest, "approve")
		rec = b.post(t, fmt.Sprintf("/api/v1/nominations/%d/decision", nom.ID), province, map[string]any{"approve": true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.JSONEq(t, fmt.Sprintf(`{"nomination":%d,"approved":true}`, nom.ID), rec.Body.String())
		rec = b.get(t, "/api/v1/public/awards?period=2025", "")
		require.Len(t, decode[struct {
			Awards []ratings.AwardEntry `json:"awards"`
		}](t, rec).Awards, 2)

		// Records.
		rec = b.post(t, "/api/v1/employers", county, map[string]any{"uscc": " " + code(t, "420102", 777) + " ", "name": "新单位", "region": "420102",
			"industry": "retail", "employees": 3})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		require.Equal(t, ratings.Employer{USCC: code(t, "420102", 777), Name: "新单位", Region: "420102", Industry: "retail", Employees: 3},
			decode[ratings.Employer](t, rec))
		requireProblem(t, b.post(t, "/api/v1/employers", county, map[string]any{"uscc": code(t, "420102", 777), "name": "重复", "region": "420102"}),
			http.StatusConflict, "")
		requireProblem(t, b.post(t, "/api/v1/employers", county, map[string]any{"uscc": badCheck(code(t, "420102", 778)), "name": "x", "region": "420102"}),
			http.StatusUnprocessableEntity, "uscc")
		rec = b.post(t, "/api/v1/cases", county, map[string]any{"uscc": code(t, "420102", 777), "id": "JA-2026-0100", "source": "complaint",
			"opened": "2026-03-01", "concluded": "2026-03-20", "violations": []string{"wage_arrears"}, "outcome": "rectified", "back_wages": 12000.5,
			"workers_affected": 3})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		require.Equal(t, "JA-2026-0100", decode[map[string]any](t, rec)["case_no"])
		requireProblem(t, b.post(t, "/api/v1/cases", county, map[string]any{"uscc": code(t, "420102", 777), "id": "JA-2026-0101", "source": "hotline",
			"opened": "2026-03-01", "outcome": "pending"}), http.StatusUnprocessableEntity, "source")
		rec = b.post(t, "/api/v1/declarations/annual", tokens[employerOwn], map[string]any{"period": 2023, "employees": 20, "contracts_signed": 19})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		require.JSONEq(t, `{"period":2023,"deadline":"2024-07-31"}`, rec.Body.String())
	})
}

// TestIntegrityFileNamesTheEmployer: the integrity file's ratings name
// their employer like every other rating the API returns.
func TestIntegrityFileNamesTheEmployer(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		tok := b.user(t, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		rec := b.get(t, "/api/v1/employers/"+b.e[0].USCC+"/integrity-file", tok)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		file := decode[struct {
			Ratings []ratingJSON `json:"ratings"`
		}](t, rec).Ratings
		require.Len(t, file, 2)
		for _, r := range file {
			require.Equal(t, b.e[0].Name, r.Name)
			require.Equal(t, b.e[0].Region, r.Region)
		}
	})
}

// TestRateRefusesIDs: POST /periods/{year}/rate takes a region only; a
// list of ids (which publicize takes) must not silently rate the whole
// region.
func TestRateRefusesIDs(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		tok := b.user(t, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		rec := b.post(t, "/api/v1/periods/2025/rate", tok, map[string]any{"ids": []int64{b.e[6].Rating.ID}})
		require.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, rec.Code, rec.Body.String())
		p := requireProblem(t, rec, rec.Code, "")
		require.NotEmpty(t, p.Errors)
		require.Contains(t, []string{"ids", "body"}, p.Errors[0].Field)
	})
}

func TestReadyBeforeMigrations(t *testing.T) {
	t.Parallel()
	db, err := ratings.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "empty.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	svc, err := ratings.NewService(db, ratings.ServiceParams{})
	require.NoError(t, err)
	qlog := ratings.NewQueryLog(db, nil)
	t.Cleanup(qlog.Close)
	rec := do(t, api.New(svc, api.Options{QueryLog: qlog}), newRequest(t, http.MethodGet, "/readyz", "", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	require.Equal(t, "migrations pending", decode[map[string]any](t, rec)["status"])
}

// The record, rule-set and declaration endpoints added for officers and
// employers: a success and the refusals that matter for each.
func TestRecordsAndRuleSetEndpoints(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		county := b.user(t, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		other := b.user(t, "江汉区监察大队", ratings.RoleCounty, "420103", "")
		province := b.user(t, "省厅", ratings.RoleProvince, "420000", "")
		var own employer
		for _, e := range b.e {
			if e.Region == "420102" {
				own = e
				break
			}
		}
		require.NotEmpty(t, own.USCC, "the fixture has an employer in 420102")

		rec := b.get(t, "/api/v1/employers?q="+url.QueryEscape(own.Name), county)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), own.USCC)
		requireProblem(t, b.get(t, "/api/v1/employers?region=420000", county), http.StatusForbidden, "")

		rec = b.post(t, "/api/v1/reviews", county, map[string]any{"uscc": own.USCC, "period": 2025, "submitted": true, "on_time": true,
			"employees": 12, "contracts_signed": 12, "insured": 12, "roster_complete": true})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		requireProblem(t, b.post(t, "/api/v1/reviews", other, map[string]any{"uscc": own.USCC, "period": 2025}), http.StatusForbidden, "")
		requireProblem(t, b.post(t, "/api/v1/reviews", county, map[string]any{"uscc": own.USCC, "period": 2025, "on_time": true}),
			http.StatusUnprocessableEntity, "on_time")

		rec = b.post(t, "/api/v1/complaints", county, map[string]any{"uscc": own.USCC, "complaint_no": "TS-2025-9", "received": "2025-06-01"})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		requireProblem(t, b.post(t, "/api/v1/complaints", county, map[string]any{"uscc": own.USCC, "complaint_no": "TS-2025-9", "received": "2025-06-01"}),
			http.StatusConflict, "")
		requireProblem(t, b.post(t, "/api/v1/complaints", county, map[string]any{"uscc": own.USCC, "complaint_no": "TS-2025-10", "received": "2025-02-30"}),
			http.StatusUnprocessableEntity, "received")

		rec = b.post(t, "/api/v1/deposits", county, map[string]any{"uscc": own.USCC, "period": 2025, "required": true, "paid": false})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())

		yamlReq := func(target, token, body string) *http.Request {
			req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/yaml")
			req.Header.Set("Authorization", "Bearer "+token)
			return req
		}
		src, err := scoringrules.FS.ReadFile("national-2016.yaml")
		require.NoError(t, err)
		rec = do(t, b.h, yamlReq("/api/v1/rule-sets/check", county, string(src)))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), `"evaluator":"fast path"`)
		bad := strings.Replace(string(src), "any(counted, .mass_incident)", "any(counted, .mass_incidnt)", 1)
		p := requireProblem(t, do(t, b.h, yamlReq("/api/v1/rule-sets/check", county, bad)), http.StatusUnprocessableEntity, "c-mass-or-extreme-incident.when")
		require.Contains(t, p.Errors[0].Reason, "mass_incidnt")

		draft := strings.Replace(string(src), "  - id: b-violation-found", "  - id: c-complaints\n    when: complaints >= 1\n    cap: C\n    reason: 投诉\n  - id: b-violation-found", 1)
		rec = do(t, b.h, yamlReq("/api/v1/periods/2025/simulate?region=420000", province, draft))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), `"changed":`)
		requireProblem(t, do(t, b.h, yamlReq("/api/v1/periods/2025/simulate?region=420000", county, draft)), http.StatusForbidden, "")

		employerTok := b.user(t, "企业人事", ratings.RoleEmployer, "", own.USCC)
		rec = b.post(t, "/api/v1/declarations/award", employerTok, map[string]any{"period": 2025, "award": "best-integrity-unit", "statement": "连续两年A级"})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		requireProblem(t, b.post(t, "/api/v1/declarations/award", employerTok, map[string]any{"period": 2025, "award": "no-such-award"}),
			http.StatusUnprocessableEntity, "award")
		requireProblem(t, b.post(t, "/api/v1/declarations/award", county, map[string]any{"period": 2025, "award": "best-integrity-unit"}),
			http.StatusForbidden, "")
	})
}

// TestBulkStepsHTTP reviews and confirms a county's whole list at once:
// only the ratings of the officer's county in the right status move.
func TestBulkStepsHTTP(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		tok := b.user(t, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		// In 江岸区 only e6 is rated and not yet reviewed; e4 (江汉区) is confirmed.
		rec := b.post(t, "/api/v1/periods/2025/review", tok, map[string]any{})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, map[string]int{"reviewed": 1}, decode[map[string]int](t, rec))
		rec = b.post(t, "/api/v1/periods/2025/confirm", tok, map[string]any{})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, map[string]int{"confirmed": 1}, decode[map[string]int](t, rec))
		cur := b.current(t, 2025)
		require.Equal(t, ratings.StatusConfirmed, cur[b.e[6].USCC].Status)
		require.Equal(t, cur[b.e[6].USCC].EngineGrade, cur[b.e[6].USCC].Grade)

		requireProblem(t, b.post(t, "/api/v1/periods/2025/review", tok, map[string]any{"region": "420103"}), http.StatusForbidden, "")
		requireProblem(t, b.post(t, "/api/v1/periods/2025/confirm", tok, map[string]any{"ids": "all"}), http.StatusBadRequest, "")
		requireProblem(t, b.post(t, "/api/v1/periods/1999/review", tok, map[string]any{}), http.StatusUnprocessableEntity, "period")
	})
}

// TestUpdatePeriod sets a period's publicity length over HTTP: only before
// its first rating is publicized.
func TestUpdatePeriod(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		tok := b.user(t, "湖北省人社厅", ratings.RoleProvince, "420000", "")
		src, err := scoringrules.FS.ReadFile("national-2016.yaml")
		require.NoError(t, err)
		rs, err := b.svc.UploadRuleSet(context.Background(), admin, "national-2016.yaml", src)
		require.NoError(t, err)
		require.NoError(t, b.svc.ActivateRuleSet(context.Background(), admin, 2026, rs.Hash))
		patch := func(path string, body any) *httptest.ResponseRecorder {
			return do(t, b.h, newRequest(t, http.MethodPatch, path, tok, body))
		}
		rec := patch("/api/v1/periods/2026", map[string]any{"publicity_days": 7})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, map[string]int{"period": 2026, "publicity_days": 7}, decode[map[string]int](t, rec))
		requireProblem(t, patch("/api/v1/periods/2026", map[string]any{"publicity_days": 0}), http.StatusUnprocessableEntity, "publicity_days")
		requireProblem(t, patch("/api/v1/periods/2026", map[string]any{"days": 7}), http.StatusBadRequest, "")
		// 2025 has ratings under publicity and published.
		requireProblem(t, patch("/api/v1/periods/2025", map[string]any{"publicity_days": 7}), http.StatusConflict, "")
	})
}
