package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"laborcredit/api"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(loader.Context))
	return doc
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	require.Equal(t, "3.0.3", doc.OpenAPI)
	for _, name := range []string{"apiKey", "userToken"} {
		s := doc.Components.SecuritySchemes[name]
		require.NotNil(t, s, name)
		require.Equal(t, "http", s.Value.Type, name)
		require.Equal(t, "bearer", s.Value.Scheme, name)
	}

	// Valid JSON, kept 2-space indented.
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, api.OpenAPI()))
	var indented bytes.Buffer
	require.NoError(t, json.Indent(&indented, compact.Bytes(), "", "  "))
	indented.WriteByte('\n')
	require.Equal(t, indented.String(), string(api.OpenAPI()), "openapi.json is not 2-space indented")
}

// TestOpenAPIRoutes checks that the document and the router agree: every
// registered API route (under /api/, and /healthz, /readyz, /metrics) is
// documented with its method, every documented operation is registered,
// and each says how it is authenticated. Every other route is one of the
// web pages of api.WebRoutes.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	param := regexp.MustCompile(`:([a-z_]+)`)
	svc := newServiceForRoutes(t)
	qlog := ratings.NewQueryLog(svc.DB(), nil)
	t.Cleanup(qlog.Close)
	h := api.New(svc, api.Options{QueryLog: qlog})
	var registered, web []string
	for _, r := range h.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") && !slices.Contains([]string{"/healthz", "/readyz", "/metrics"}, r.Path) {
			web = append(web, r.Method+" "+r.Path)
			continue
		}
		registered = append(registered, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	wantWeb := api.WebRoutes()
	slices.Sort(web)
	slices.Sort(wantWeb)
	require.Equal(t, wantWeb, web, "routes outside the API are the web pages, and nothing else")
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented = append(documented, method+" "+path)

			require.NotNil(t, op.Security, "%s %s: say how it is authenticated (security)", method, path)
			var schemes []string
			for _, req := range *op.Security {
				for name := range req {
					schemes = append(schemes, name)
				}
			}
			want := []string{"userToken"}
			switch {
			case strings.HasPrefix(path, "/api/v1/credit/"):
				want = []string{"apiKey"}
			case strings.HasPrefix(path, "/api/v1/public/"), !strings.HasPrefix(path, "/api/v1/"), path == "/api/v1/openapi.json":
				want = nil
			}
			require.Equal(t, want, schemes, "%s %s", method, path)
			if want != nil {
				require.NotNil(t, op.Responses.Status(http.StatusUnauthorized), "%s %s: 401", method, path)
			}
		}
	}
	slices.Sort(registered)
	slices.Sort(documented)
	require.Equal(t, registered, documented)
}

// newServiceForRoutes is a service over an SQLite database, enough to
// build the router.
func newServiceForRoutes(t *testing.T) *ratings.Service {
	t.Helper()
	db := ratingstest.SQLite(t)
	svc, err := ratings.NewService(db, ratings.ServiceParams{})
	require.NoError(t, err)
	return svc
}

// TestOpenAPIServed checks that the server serves the document.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	svc := newServiceForRoutes(t)
	qlog := ratings.NewQueryLog(svc.DB(), nil)
	t.Cleanup(qlog.Close)
	h := api.New(svc, api.Options{QueryLog: qlog})
	rec := do(t, h, newRequest(t, http.MethodGet, "/api/v1/openapi.json", "", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, api.OpenAPI(), rec.Body.Bytes())
}

// TestOpenAPIJSONBodies415: every operation that takes a JSON body
// documents the 415 that bindJSON answers to another Content-Type.
func TestOpenAPIJSONBodies415(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
				continue
			}
			require.NotNil(t, op.Responses.Value("415"), "%s %s takes JSON but lists no 415", method, path)
		}
	}
}
