package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/api"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// The hostile-input corpus: every route of the engine (so a new endpoint
// is covered without being listed) gets NUL bytes, invalid and overlong
// UTF-8, huge and negative numbers in its query and path, and every route
// that takes a body gets trailing JSON, wrong content types, duplicate
// keys, deep nesting, 10 MB and \u0000. No answer may be a 5xx, the
// specified ones must be the specified 4xx, and the server must still be
// healthy afterwards. Both databases: many requests reach them.

// nonJSONBodies are the routes whose body is not JSON (a rule set in
// YAML, a multipart upload): they get the query and path corpus only. A
// new route takes JSON unless it is listed here.
var nonJSONBodies = map[string]bool{
	"POST /api/v1/rule-sets":              true,
	"POST /api/v1/rule-sets/check":        true,
	"POST /api/v1/periods/:year/simulate": true,
	"POST /api/v1/imports/:kind":          true,
}

// hostileCase is one request of the corpus; status 0 means any 4xx (or
// 2xx), field "" means any field.
type hostileCase struct {
	name        string
	query       string // raw query string, appended to the path
	param       string // raw value of every path parameter ("" keeps a valid one)
	body        []byte
	contentType string
	status      int
	field       string
}

// hostileQueries go to every route. A query parameter that the route does
// not read is still refused: the check is at the boundary.
var hostileQueries = []hostileCase{
	{name: "NUL in q", query: "q=%00", status: http.StatusBadRequest, field: "q"},
	{name: "NUL in the middle", query: "region=42%0001", status: http.StatusBadRequest, field: "region"},
	{name: "invalid UTF-8", query: "q=%FF%FE", status: http.StatusBadRequest, field: "q"},
	{name: "overlong UTF-8 slash", query: "name=%C0%AF", status: http.StatusBadRequest, field: "name"},
	{name: "surrogate in UTF-8", query: "status=%ED%A0%80", status: http.StatusBadRequest, field: "status"},
	{name: "NUL in a parameter name", query: "a%00b=1", status: http.StatusBadRequest, field: "query"},
	{name: "bad escape", query: "q=%zz", status: http.StatusBadRequest, field: "query"},
	{name: "q too long", query: "q=" + strings.Repeat("荆", 101), status: http.StatusBadRequest, field: "q"},
	{name: "a value too long", query: "since=" + strings.Repeat("a", 300), status: http.StatusBadRequest, field: "since"},
	{name: "too many parameters", query: strings.Repeat("x=1&", 40) + "x=1", status: http.StatusBadRequest, field: "query"},
	{name: "query too long", query: "lang=" + strings.Repeat("a", 5000), status: http.StatusBadRequest, field: "query"},
	{name: "huge page", query: "page=9223372036854775807"},
	{name: "past int64 page", query: "page=99999999999999999999&per_page=100"},
	{name: "negative page", query: "page=-1&per_page=-5"},
	{name: "huge period", query: "period=9223372036854775807&show=9223372036854775807&limit=9223372036854775807"},
	{name: "as_of NUL", query: "as_of=2026-01-01%00"},
	{name: "newline in lang", query: "lang=en%0D%0ASet-Cookie:x=1"},
}

// hostileParams replace every path parameter.
var hostileParams = []hostileCase{
	{name: "path NUL", param: "%00", status: http.StatusBadRequest},
	{name: "path invalid UTF-8", param: "%FF", status: http.StatusBadRequest},
	{name: "path overlong UTF-8", param: "%C0%AE%C0%AE", status: http.StatusBadRequest},
	{name: "path huge number", param: "99999999999999999999999999"},
	{name: "path negative", param: "-1"},
	{name: "path max int64", param: "9223372036854775807"},
	{name: "path long", param: strings.Repeat("9", 300), status: http.StatusBadRequest},
}

// hostileBodies go to every route that takes a JSON body.
func hostileBodies() []hostileCase {
	const js = "application/json"
	deep := bytes.Repeat([]byte("["), 100_000)
	big := append(append([]byte(`{"reason":"`), bytes.Repeat([]byte("x"), 10<<20)...), `"}`...)
	return []hostileCase{
		{name: "trailing object", body: []byte(`{} {}`), contentType: js, status: http.StatusBadRequest, field: "body"},
		{name: "trailing garbage", body: []byte(`{}x`), contentType: js, status: http.StatusBadRequest, field: "body"},
		{name: "two values, no space", body: []byte(`{}[]`), contentType: js, status: http.StatusBadRequest, field: "body"},
		{name: "text/plain", body: []byte(`{}`), contentType: "text/plain", status: http.StatusUnsupportedMediaType},
		{name: "form", body: []byte(`a=1`), contentType: "application/x-www-form-urlencoded", status: http.StatusUnsupportedMediaType},
		{name: "no content type", body: []byte(`{}`), status: http.StatusUnsupportedMediaType},
		{name: "latin1 charset", body: []byte(`{}`), contentType: "application/json; charset=latin1", status: http.StatusUnsupportedMediaType},
		{name: "json-seq", body: []byte(`{}`), contentType: "application/json-seq", status: http.StatusUnsupportedMediaType},
		{name: "duplicate keys", body: []byte(`{"reason":"a","reason":"b"}`), contentType: js, status: http.StatusBadRequest, field: "reason"},
		{name: "deep nesting", body: deep, contentType: js, status: http.StatusBadRequest, field: "body"},
		{name: "deep objects", body: []byte(strings.Repeat(`{"a":`, 10_000)), contentType: js, status: http.StatusBadRequest, field: "body"},
		{name: "10 MB", body: big, contentType: js, status: http.StatusRequestEntityTooLarge},
		{name: "escaped NUL", body: []byte(`{"reason":"ab\u0000c"}`), contentType: js, status: http.StatusUnprocessableEntity, field: "reason"},
		{name: "escaped NUL in a list", body: []byte(`{"codes":["a","\u0000"]}`), contentType: js, status: http.StatusUnprocessableEntity, field: "codes[1]"},
		{name: "escaped NUL in a key", body: []byte(`{"a\u0000":1}`), contentType: js, status: http.StatusUnprocessableEntity},
		{name: "invalid UTF-8 in a string", body: []byte("{\"reason\":\"\xff\xfe\"}"), contentType: js, status: http.StatusUnprocessableEntity, field: "reason"},
		{name: "overlong UTF-8 in a string", body: []byte("{\"name\":\"\xc0\xaf\"}"), contentType: js, status: http.StatusUnprocessableEntity, field: "name"},
		{name: "raw NUL", body: []byte("{\"reason\":\"\x00\"}"), contentType: js, status: http.StatusBadRequest},
		{name: "lone surrogate escape", body: []byte(`{"reason":"\ud800"}`), contentType: js},
		{name: "huge number", body: []byte(`{"period":1e400,"lock_version":99999999999999999999999,"rating_id":9223372036854775808}`), contentType: js},
		{name: "negative numbers", body: []byte(`{"period":-9223372036854775808,"lock_version":-1}`), contentType: js},
		{name: "empty", body: []byte(``), contentType: js, status: http.StatusBadRequest, field: "body"},
		{name: "null", body: []byte(`null`), contentType: js},
		{name: "array", body: []byte(`[]`), contentType: js, status: http.StatusBadRequest, field: "body"},
		{name: "BOM", body: []byte("\xef\xbb\xbf{}"), contentType: js, status: http.StatusBadRequest, field: "body"},
	}
}

// validParams are path parameters that reach the handlers.
func validParams(b *testBundle) map[string]string {
	return map[string]string{"uscc": b.e[0].USCC, "year": "2025", "id": strconv.FormatInt(b.e[5].Rating.ID, 10), "kind": "cases"}
}

// hostileServer is the fixture's service behind a server without the
// per-address limits (the corpus is many requests from one address).
func hostileServer(t *testing.T, b *testBundle) *gin.Engine {
	t.Helper()
	qlog := ratings.NewQueryLog(b.db, nil)
	t.Cleanup(qlog.Close)
	return api.New(b.svc, api.Options{QueryLog: qlog, Registry: prometheus.NewRegistry(), PublicLimits: api.IPLimits{Off: true}})
}

func TestHostileInput(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		h := hostileServer(t, b)
		adminToken := b.user(t, "hostile admin", ratings.RoleAdmin, "420000", "")
		valid := validParams(b)
		bodies := hostileBodies()
		for _, r := range h.Routes() {
			route := r.Method + " " + r.Path
			secret := adminToken
			if strings.HasPrefix(r.Path, "/api/v1/credit/") {
				secret = b.key
			}
			path := func(param string) string {
				parts := strings.Split(r.Path, "/")
				for i, p := range parts {
					if strings.HasPrefix(p, ":") {
						parts[i] = valid[p[1:]]
						if param != "" {
							parts[i] = param
						}
					}
				}
				return strings.Join(parts, "/")
			}
			cases := append([]hostileCase{}, hostileQueries...)
			if strings.Contains(r.Path, ":") {
				cases = append(cases, hostileParams...)
			}
			takesJSON := (r.Method == http.MethodPost || r.Method == http.MethodPatch) && !nonJSONBodies[route]
			if takesJSON {
				cases = append(cases, bodies...)
			}
			t.Run(route, func(t *testing.T) {
				t.Parallel()
				for _, tt := range cases {
					target := path(tt.param)
					if tt.query != "" {
						target += "?" + tt.query
					}
					body, contentType := tt.body, tt.contentType
					if body == nil && takesJSON {
						// The query and path corpus with a body that passes,
						// so the handler reads its parameters.
						body, contentType = []byte(`{}`), "application/json"
					}
					var req *http.Request
					if body != nil {
						req = httptest.NewRequest(r.Method, target, bytes.NewReader(body))
					} else {
						req = httptest.NewRequest(r.Method, target, nil)
					}
					if contentType != "" {
						req.Header.Set("Content-Type", contentType)
					}
					req.Header.Set("Authorization", "Bearer "+secret)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					msg := tt.name + ": " + target + " → " + rec.Body.String()
					if len(msg) > 600 {
						msg = msg[:600]
					}
					require.Less(t, rec.Code, 500, msg)
					require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), msg)
					require.Equal(t, "no-referrer", rec.Header().Get("Referrer-Policy"), msg)
					if tt.status == 0 {
						continue
					}
					require.Equal(t, tt.status, rec.Code, msg)
					if !strings.HasPrefix(r.Path, "/api/") && !strings.HasPrefix(r.Path, "/healthz") && !strings.HasPrefix(r.Path, "/readyz") &&
						r.Path != "/metrics" {
						// A web page: an HTML error page.
						require.Contains(t, rec.Header().Get("Content-Type"), "text/html", msg)
						continue
					}
					require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"), msg)
					var p problem
					require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), msg)
					require.Equal(t, tt.status, p.Status, msg)
					if tt.field != "" {
						require.NotEmpty(t, p.Errors, msg)
						require.Equal(t, tt.field, p.Errors[0].Field, msg)
					}
					if tt.param != "" && tt.status == http.StatusBadRequest {
						require.NotEmpty(t, p.Errors, msg)
						require.Contains(t, valid, p.Errors[0].Field, msg)
					}
				}
			})
		}
		t.Cleanup(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			require.Equal(t, http.StatusOK, rec.Code)
		})
	})
}

// TestPaging: every paged list takes page from 1 to ratings.MaxPage and
// per_page from 1 to its maximum, and refuses anything else with a 400
// naming the parameter; no value overflows the offset.
func TestPaging(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		h := hostileServer(t, b)
		adminToken := b.user(t, "paging admin", ratings.RoleAdmin, "420000", "")
		lists := []string{"/api/v1/public/ratings", "/api/v1/public/publicity", "/api/v1/ratings", "/api/v1/employers"}
		pages := []string{"/", "/publicity"}
		bad := []struct{ query, field string }{
			{"page=9223372036854775807", "page"},
			{"page=99999999999999999999", "page"},
			{"page=0", "page"},
			{"page=-1", "page"},
			{"page=x", "page"},
			{"page=1.5", "page"},
			{"page=" + strconv.Itoa(ratings.MaxPage+1), "page"},
			{"per_page=0", "per_page"},
			{"per_page=101", "per_page"},
			{"per_page=9223372036854775807", "per_page"},
			{"page=461168601842738791&per_page=20", "page"}, // (page-1)*per_page wraps int64
		}
		for _, l := range lists {
			for _, tt := range bad {
				if strings.HasPrefix(tt.query, "per_page") && l != "/api/v1/public/ratings" {
					continue
				}
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, l+"?"+tt.query, nil)
				req.Header.Set("Authorization", "Bearer "+adminToken)
				h.ServeHTTP(rec, req)
				requireProblem(t, rec, http.StatusBadRequest, tt.field)
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, l+"?page="+strconv.Itoa(ratings.MaxPage), nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			h.ServeHTTP(rec, req)
			if l == "/api/v1/public/ratings" {
				// Past the first SearchLimit results: refused, naming page.
				requireProblem(t, rec, http.StatusUnprocessableEntity, "page")
			} else {
				require.Equal(t, http.StatusOK, rec.Code, l+": "+rec.Body.String())
			}
		}
		for _, p := range pages {
			for _, tt := range bad {
				if strings.HasPrefix(tt.query, "per_page") && p != "/" {
					continue
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p+"?"+tt.query, nil))
				require.Equal(t, http.StatusBadRequest, rec.Code, p+"?"+tt.query)
			}
		}
	})
}

// TestMetricsGuarded: /metrics on the main handler answers 404 unless a
// token is configured, then only to that token; the separate handler is
// open unless given a token. Labels come from fixed sets.
func TestMetricsGuarded(t *testing.T) {
	t.Parallel()
	b := setup(t, ratingstest.SQLite(t))
	metricsGet := func(h http.Handler, auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	reg := prometheus.NewRegistry()
	qlog := ratings.NewQueryLog(b.db, nil)
	t.Cleanup(qlog.Close)
	hidden := api.New(b.svc, api.Options{QueryLog: qlog, Registry: reg})
	requireProblem(t, metricsGet(hidden, ""), http.StatusNotFound, "")
	requireProblem(t, metricsGet(hidden, "Bearer x"), http.StatusNotFound, "")

	guarded := api.New(b.svc, api.Options{QueryLog: qlog, Registry: prometheus.NewRegistry(), MetricsToken: "s3cret"})
	for _, auth := range []string{"", "Bearer s3cre", "Bearer s3cret2", "Basic s3cret", "s3cret"} {
		rec := metricsGet(guarded, auth)
		requireProblem(t, rec, http.StatusUnauthorized, "")
		require.NotEmpty(t, rec.Header().Get("WWW-Authenticate"))
	}
	require.Equal(t, http.StatusOK, metricsGet(guarded, "Bearer s3cret").Code)

	require.Equal(t, http.StatusOK, metricsGet(api.MetricsHandler(reg, ""), "").Code)
	require.Equal(t, http.StatusUnauthorized, metricsGet(api.MetricsHandler(reg, "t"), "").Code)
	require.Equal(t, http.StatusOK, metricsGet(api.MetricsHandler(reg, "t"), "Bearer t").Code)

	// A batch with some codes found counts as partial, not "2 found of 3";
	// an unknown method as other.
	req := newRequest(t, http.MethodPost, "/api/v1/credit/batch", b.key, map[string]any{"codes": []string{b.e[0].USCC, b.e[4].USCC, b.e[1].USCC}})
	rec := httptest.NewRecorder()
	hidden.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	for _, m := range []string{"FOO1", "FOO2"} {
		rec := httptest.NewRecorder()
		hidden.ServeHTTP(rec, httptest.NewRequest(m, "/healthz", nil))
		require.Less(t, rec.Code, 500)
	}
	m := metricsGet(api.MetricsHandler(reg, ""), "").Body.String()
	require.Contains(t, m, `laborcredit_credit_queries_total{kind="bank",result="partial"} 1`)
	require.NotContains(t, m, "found of")
	require.Contains(t, m, `method="other"`)
	require.NotContains(t, m, "FOO")
}

// TestPublicRateLimit: the public endpoints and pages are limited per
// address, POSTs tighter than GETs, with a 429 and Retry-After; the
// address is the peer's unless it is a trusted proxy.
func TestPublicRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, ratingstest.SQLite(t))
	qlog := ratings.NewQueryLog(b.db, nil)
	t.Cleanup(qlog.Close)
	limits := api.IPLimits{GetPerSecond: 0.001, GetBurst: 3, PostPerSecond: 0.001, PostBurst: 1}
	h := api.New(b.svc, api.Options{QueryLog: qlog, Registry: prometheus.NewRegistry(), PublicLimits: limits})
	officer := b.user(t, "limit admin", ratings.RoleAdmin, "420000", "")
	send := func(h http.Handler, method, target, from, forwarded string) *httptest.ResponseRecorder {
		var req *http.Request
		if method == http.MethodPost {
			req = httptest.NewRequest(method, target, strings.NewReader(`{"rating_id":1,"filed_by":"某某","reason":"x"}`))
			req.Header.Set("Content-Type", "application/json")
		} else {
			req = httptest.NewRequest(method, target, nil)
		}
		req.RemoteAddr = from + ":4711"
		if forwarded != "" {
			req.Header.Set("X-Forwarded-For", forwarded)
		}
		if strings.HasPrefix(target, "/api/v1/me") {
			req.Header.Set("Authorization", "Bearer "+officer)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, target := range []string{"/api/v1/public/awards", "/awards", "/api/v1/public/ratings"} {
		require.Equal(t, http.StatusOK, send(h, http.MethodGet, target, "198.51.100.1", "").Code, target)
	}
	rec := send(h, http.MethodGet, "/api/v1/public/awards", "198.51.100.1", "")
	requireProblem(t, rec, http.StatusTooManyRequests, "")
	secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, secs, 1)
	rec = send(h, http.MethodGet, "/", "198.51.100.1", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "text/html")
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	// The page is in the page's language, not the API's English.
	require.Contains(t, rec.Body.String(), "访问过于频繁")
	require.NotContains(t, rec.Body.String(), "too many requests")
	// X-Forwarded-For from anyone is not believed.
	require.Equal(t, http.StatusTooManyRequests, send(h, http.MethodGet, "/awards", "198.51.100.1", "203.0.113.9").Code)
	// Another address has its own budget; officers' endpoints have none.
	require.Equal(t, http.StatusOK, send(h, http.MethodGet, "/awards", "198.51.100.2", "").Code)
	for range 5 {
		require.Equal(t, http.StatusOK, send(h, http.MethodGet, "/api/v1/me", "198.51.100.1", "").Code)
	}
	// POSTs: one, then 429, while GETs from that address still pass.
	require.NotEqual(t, http.StatusTooManyRequests, send(h, http.MethodPost, "/api/v1/public/objections", "198.51.100.3", "").Code)
	requireProblem(t, send(h, http.MethodPost, "/api/v1/public/objections", "198.51.100.3", ""), http.StatusTooManyRequests, "")
	require.Equal(t, http.StatusOK, send(h, http.MethodGet, "/awards", "198.51.100.3", "").Code)

	// Behind a trusted proxy, the forwarded address is the client.
	proxied := api.New(b.svc, api.Options{QueryLog: qlog, Registry: prometheus.NewRegistry(), PublicLimits: limits,
		TrustedProxies: []string{"10.0.0.0/8"}})
	for range 3 {
		require.Equal(t, http.StatusOK, send(proxied, http.MethodGet, "/awards", "10.1.1.1", "203.0.113.9").Code)
	}
	require.Equal(t, http.StatusTooManyRequests, send(proxied, http.MethodGet, "/awards", "10.1.1.1", "203.0.113.9").Code)
	require.Equal(t, http.StatusOK, send(proxied, http.MethodGet, "/awards", "10.1.1.1", "203.0.113.10").Code)
	require.NoError(t, api.CheckTrustedProxies([]string{"10.0.0.0/8", "192.0.2.1"}))
	require.Error(t, api.CheckTrustedProxies([]string{"not an address"}))
}

// TestSecurityHeaders: every answer — API JSON, problem documents, pages,
// the style sheet, health — says nosniff and no-referrer.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t, ratingstest.SQLite(t))
	for _, target := range []string{"/healthz", "/api/v1/openapi.json", "/api/v1/public/ratings", "/api/v1/public/ratings/x", "/",
		"/static/style.css", "/nowhere", "/api/nowhere", "/metrics"} {
		rec := httptest.NewRecorder()
		b.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), target)
		require.Equal(t, "no-referrer", rec.Header().Get("Referrer-Policy"), target)
	}
}

// TestCreditHostileLogged: a credit query refused for its bytes (NUL,
// invalid UTF-8, too long) is a 400 and is still logged, as invalid.
func TestCreditHostileLogged(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		h := hostileServer(t, b)
		cl, key, err := b.svc.CreateAPIClient(t.Context(), admin, "某银行", "bank", ratings.ScopeCreditRead, 1000)
		require.NoError(t, err)
		targets := []struct{ method, target, endpoint, field string }{
			{http.MethodGet, "/api/v1/credit/%00", "credit", "uscc"},
			{http.MethodGet, "/api/v1/credit/" + b.e[0].USCC + "?as_of=2026-01-01%00", "credit", "as_of"},
			{http.MethodGet, "/api/v1/credit/%FF%FE", "credit", "uscc"},
			{http.MethodGet, "/api/v1/credit/changes?since=%C0%AF", "credit/changes", "since"},
			{http.MethodPost, "/api/v1/credit/batch?x=%00", "credit/batch", "x"},
		}
		var want []queryLogRow
		for _, tt := range targets {
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(`{"codes":[]}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+key)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			requireProblem(t, rec, http.StatusBadRequest, tt.field)
			want = append(want, queryLogRow{ClientID: cl.ID, Endpoint: tt.endpoint, Result: "invalid"})
		}
		require.Equal(t, want, queryLog(t, db, cl.ID, len(want)))
	})
}

// TestCheckTrustedProxiesQuiet: serve checks --trusted-proxies before it
// builds the server; the check must not print gin's debug-mode warning
// ("[GIN-debug] [WARNING] Running in "debug" mode") to the operator.
// Not parallel: it sets gin's process-wide mode and writer.
func TestCheckTrustedProxiesQuiet(t *testing.T) {
	var out bytes.Buffer
	mode, w := gin.Mode(), gin.DefaultWriter
	gin.SetMode(gin.DebugMode)
	gin.DefaultWriter = &out
	t.Cleanup(func() { gin.SetMode(mode); gin.DefaultWriter = w })
	require.NoError(t, api.CheckTrustedProxies(nil))
	require.NotContains(t, out.String(), "GIN-debug")
}
