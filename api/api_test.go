package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/api"
	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
	scoringrules "laborcredit/scoring-rules"
)

// admin is the actor the fixture acts as where the domain needs an admin.
var admin = ratings.Actor{Name: "管理员", Role: ratings.RoleAdmin, Region: "420000"}

// spec is the OpenAPI document, validated, and a router over it.
var spec = sync.OnceValues(func() (routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("validate openapi.json: %w", err)
	}
	return legacy.NewRouter(doc)
})

// do serves req and checks the response — status, headers, content type
// and body, errors included — against openapi.json.
func do(t *testing.T, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	router, err := spec()
	require.NoError(t, err)
	route, params, err := router.FindRoute(req)
	require.NoError(t, err, "%s %s is not in openapi.json", req.Method, req.URL.Path)
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Options:                opts,
	}
	in.SetBodyBytes(rec.Body.Bytes())
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), in),
		"%s %s → %d does not match openapi.json; body: %s", req.Method, req.URL, rec.Code, rec.Body.String())
	return rec
}

// newRequest makes a request with an optional bearer secret and JSON body
// (a string or []byte is sent as is, anything else is marshalled).
func newRequest(t *testing.T, method, target, secret string, body any) *http.Request {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(t, err)
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, target, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	return req
}

// decode decodes a JSON body.
func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), rec.Body.String())
	return v
}

// problem is an RFC 9457 problem document as the API writes it.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"errors"`
}

// requireProblem checks a problem response: its status, content type and,
// when field is not "", the field it names first.
func requireProblem(t *testing.T, rec *httptest.ResponseRecorder, status int, field string) problem {
	t.Helper()
	require.Equal(t, status, rec.Code, rec.Body.String())
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	p := decode[problem](t, rec)
	require.Equal(t, status, p.Status)
	require.Equal(t, http.StatusText(status), p.Title)
	require.Equal(t, "about:blank", p.Type)
	if field != "" {
		require.NotEmpty(t, p.Errors, rec.Body.String())
		require.Equal(t, field, p.Errors[0].Field, rec.Body.String())
	}
	return p
}

// clock is the settable NowFunc of the fixtures.
type clock = ratingstest.Clock

// at is 10:00 China time on a date, in UTC, as the fixture's clock sets it.
func at(date string) time.Time {
	var c clock
	c.Set(date)
	return c.Now().UTC()
}

// code makes a valid USCC for a region and a serial number (its
// organisation code's check character right too).
func code(t testing.TB, region string, n int) string {
	t.Helper()
	return ratingstest.CodeN(region, n)
}

// employer is one employer of the fixture.
type employer struct {
	USCC   string
	Name   string
	Region string
	Rating ratings.RatingView // its current 2025 rating at the end of the fixture
}

// testBundle is a server over a database that has been through a rating
// period. At the end the clock reads 2026-04-08 and:
//   - 2024: e0–e3 published A on 2025-03-31.
//   - 2025: e0 A (award approved 2026-04-03), e1 B, e2 C, e3 A — published
//     2026-03-20; e3 corrected to B on 2026-04-01.
//   - e4 confirmed only; e5 under publicity until after the clock; e6 rated
//     only. None of them has ever been published.
type testBundle struct {
	db     *bun.DB
	svc    *ratings.Service
	clk    *clock
	h      http.Handler
	key    string // an API key with credit:read, 1,000 requests a second
	client *ratings.APIClient
	e      []employer
	// nomination is e0's approved nomination; objection a rejected
	// objection to e5's rating.
	nomination int64
	objection  int64
}

// Names and regions of the fixture's employers: 江岸区 (420102) and 江汉区
// (420103) are in 武汉市 (420100); 钟祥市 (420881) in 荆门市 (420800).
var fixtureEmployers = []struct{ name, region string }{
	{"荆楚1号建筑有限公司", "420102"},
	{"荆楚2号物流有限公司", "420103"},
	{"荆楚3号矿业有限公司", "420881"},
	{"荆楚4号餐饮有限公司", "420102"},
	{"荆楚5号纺织有限公司", "420103"},
	{"荆楚6号电子有限公司", "420102"},
	{"荆楚7号印刷有限公司", "420102"},
}

// correctionReason is why e3's rating was corrected: published nowhere
// but the officers' view.
const correctionReason = "复核发现该单位存在未结案件，更正评定等级"

var testLimits = api.IPLimits{GetPerSecond: 1e6, GetBurst: 1e6, PostPerSecond: 1e6, PostBurst: 1e6}

func setup(t *testing.T, db *bun.DB) *testBundle {
	t.Helper()
	ctx := context.Background()
	b := &testBundle{db: db, clk: &clock{}}
	b.clk.Set("2025-03-03")
	svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: b.clk.Now})
	require.NoError(t, err)
	b.svc = svc
	qlog := ratings.NewQueryLog(db, func(err error) { t.Errorf("query log: %v", err) })
	t.Cleanup(qlog.Close)
	// Per-address limits far above what one test sends from one address:
	// TestPublicRateLimit tests them with their defaults.
	b.h = api.New(svc, api.Options{QueryLog: qlog, Registry: prometheus.NewRegistry(), PublicLimits: testLimits})

	src, err := scoringrules.FS.ReadFile("national-2016.yaml")
	require.NoError(t, err)
	rs, err := svc.UploadRuleSet(ctx, admin, "national-2016.yaml", src)
	require.NoError(t, err)
	require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2024, rs.Hash))
	require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2025, rs.Hash))

	add := func(i int, periods ...int) {
		fe := fixtureEmployers[i]
		e, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: code(t, fe.region, 100+i), Name: fe.name, Region: fe.region,
			Industry: "construction", Employees: 20})
		require.NoError(t, err)
		b.e = append(b.e, employer{USCC: e.USCC, Name: e.Name, Region: e.Region})
		for _, p := range periods {
			require.NoError(t, svc.RecordReview(ctx, admin, ratings.ReviewRecord{USCC: e.USCC, Period: p,
				AnnualReview: engine.AnnualReview{Submitted: true, OnTime: true, Employees: 20, ContractsSigned: 20, Insured: 20, RosterComplete: true}}))
		}
	}
	for i := range 4 {
		add(i, 2024, 2025)
	}
	// 2024: everyone A, published.
	_, err = svc.Rate(ctx, admin, ratings.RateParams{Period: 2024, Region: "420000"})
	require.NoError(t, err)
	for _, r := range b.current(t, 2024) {
		b.reviewConfirm(t, r)
	}
	n, _, err := svc.Publicize(ctx, admin, ratings.PublicizeParams{Period: 2024, Region: "420000"})
	require.NoError(t, err)
	require.Equal(t, 4, n)
	b.clk.Set("2025-03-31")
	n, err = svc.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, n)

	// 2025: e1 has a case (B), e2 used child labor (C); e4–e6 are new.
	b.clk.Set("2026-03-02")
	for i := 4; i < len(fixtureEmployers); i++ {
		add(i, 2025)
	}
	_, err = svc.RecordCase(ctx, admin, ratings.CaseRecord{USCC: b.e[1].USCC, Case: engine.Case{ID: "WH-2025-0001", Source: "complaint",
		Opened: "2025-04-01", Concluded: "2025-05-01", Violations: []string{"overtime"}, Outcome: "rectified"}})
	require.NoError(t, err)
	_, err = svc.RecordCase(ctx, admin, ratings.CaseRecord{USCC: b.e[2].USCC, Case: engine.Case{ID: "JM-2025-0007", Source: "routine_inspection",
		Opened: "2025-06-01", Concluded: "2025-07-01", Violations: []string{"child_labor"}, Outcome: "penalized"}})
	require.NoError(t, err)
	rep, err := svc.Rate(ctx, admin, ratings.RateParams{Period: 2025, Region: "420000"})
	require.NoError(t, err)
	require.Equal(t, 7, rep.Rated)
	cur := b.current(t, 2025)
	for i := range 4 {
		b.reviewConfirm(t, cur[b.e[i].USCC])
	}
	n, _, err = svc.Publicize(ctx, admin, ratings.PublicizeParams{Period: 2025, Region: "420000"})
	require.NoError(t, err)
	require.Equal(t, 4, n)
	b.clk.Set("2026-03-20")
	n, err = svc.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, n)

	// e3 is corrected from A to B after publication.
	b.clk.Set("2026-04-01")
	r3 := b.current(t, 2025)[b.e[3].USCC]
	_, err = svc.Correct(ctx, admin, ratings.Ref{ID: r3.ID, LockVersion: r3.LockVersion}, "B", correctionReason)
	require.NoError(t, err)

	// e0 (A two years running, on time) gets the award.
	b.clk.Set("2026-04-03")
	city := ratings.Actor{Name: "武汉市人社局", Role: ratings.RoleCity, Region: "420100"}
	province := ratings.Actor{Name: "湖北省人社厅", Role: ratings.RoleProvince, Region: "420000"}
	nom, err := svc.Nominate(ctx, city, b.e[0].USCC, 2025, "best-integrity-unit")
	require.NoError(t, err)
	require.NoError(t, svc.DecideNomination(ctx, province, nom.ID, true, ""))
	b.nomination = nom.ID

	// e4 is confirmed only; e5 goes under publicity; e6 stays rated.
	b.reviewConfirm(t, b.current(t, 2025)[b.e[4].USCC])
	b.clk.Set("2026-04-07")
	r5 := b.reviewConfirm(t, b.current(t, 2025)[b.e[5].USCC])
	n, ends, err := svc.Publicize(ctx, admin, ratings.PublicizeParams{Period: 2025, Region: "420000", IDs: []int64{r5.ID}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Greater(t, ends, "2026-04-08")
	o, err := svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: r5.ID, FiledBy: "职工 王某", Contact: "13800000001", Address: "192.0.2.10", Reason: "该单位拖欠加班费"})
	require.NoError(t, err)
	require.NoError(t, svc.DecideObjection(ctx, admin, o.ID, false, "经核实，加班费已足额支付"))
	b.objection = o.ID
	b.clk.Set("2026-04-08")
	n, err = svc.Tick(ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	cur = b.current(t, 2025)
	for i := range b.e {
		b.e[i].Rating = cur[b.e[i].USCC]
	}
	wantStatus := []string{ratings.StatusPublished, ratings.StatusPublished, ratings.StatusPublished, ratings.StatusPublished,
		ratings.StatusConfirmed, ratings.StatusPublicized, ratings.StatusRated}
	for i, w := range wantStatus {
		require.Equal(t, w, b.e[i].Rating.Status, "e%d", i)
	}

	b.client, b.key, err = svc.CreateAPIClient(ctx, admin, "湖北农信社", "bank", ratings.ScopeCreditRead, 1000)
	require.NoError(t, err)
	return b
}

// current maps codes to the current ratings of a period.
func (b *testBundle) current(t *testing.T, period int) map[string]ratings.RatingView {
	t.Helper()
	rs, err := b.svc.ListRatings(context.Background(), admin, ratings.RatingFilter{Period: period, Region: "420000"})
	require.NoError(t, err)
	out := map[string]ratings.RatingView{}
	for _, r := range rs {
		out[r.USCC] = r
	}
	return out
}

func (b *testBundle) reviewConfirm(t *testing.T, r ratings.RatingView) *ratings.RatingView {
	t.Helper()
	ctx := context.Background()
	rv, err := b.svc.Review(ctx, admin, ratings.Ref{ID: r.ID, LockVersion: r.LockVersion})
	require.NoError(t, err)
	cv, err := b.svc.Confirm(ctx, admin, ratings.Ref{ID: rv.ID, LockVersion: rv.LockVersion}, "", "")
	require.NoError(t, err)
	return cv
}

// get and post serve a request through do.
func (b *testBundle) get(t *testing.T, target, secret string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, b.h, newRequest(t, http.MethodGet, target, secret, nil))
}

func (b *testBundle) post(t *testing.T, target, secret string, body any) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, b.h, newRequest(t, http.MethodPost, target, secret, body))
}

// user creates a user and returns its token.
func (b *testBundle) user(t *testing.T, name string, role ratings.Role, region, uscc string) string {
	t.Helper()
	_, tok, err := b.svc.CreateUser(context.Background(), admin, name, role, region, uscc)
	require.NoError(t, err)
	return tok
}
