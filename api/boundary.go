package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"laborcredit/ratings"
)

// What a request may bring in its query string and path, checked once for
// every route before any handler reads them (docs/LIMITS.md).
const (
	// maxRawQuery is the longest query string, in bytes.
	maxRawQuery = 2048
	// maxQueryValues is the most values a query string may carry.
	maxQueryValues = 32
	// maxQueryValue is the longest query value, in bytes.
	maxQueryValue = 256
	// maxSearchRunes is the longest search text (q), in characters.
	maxSearchRunes = 100
	// maxPathParam is the longest path parameter, in bytes.
	maxPathParam = 100
	// maxPerPage is the most a page of the public search shows.
	maxPerPage = 100
)

// checkedHeaders are the request headers the handlers read.
var checkedHeaders = []string{"Authorization", "Accept-Language", "Content-Type"}

// checkInput refuses, with a 400 naming the parameter, a path parameter,
// query parameter or read header that holds a NUL byte or invalid UTF-8
// (overlong forms included), or that is too long, and a query string that
// is malformed, too long or has too many values. API routes answer a
// problem document, the web pages an HTML error page.
func (s *server) checkInput(c *gin.Context) {
	if strings.HasPrefix(c.FullPath(), creditPrefix) {
		c.Next() // checkCreditInput, once the client is known
		return
	}
	if err := checkRequest(c.Request, c.Params); err != nil {
		if isWebPath(c.Request.URL.Path) {
			s.webRefuse(c, err)
			return
		}
		writeError(c, s.log, err)
		return
	}
	c.Next()
}

// creditPrefix starts the credit-sharing routes.
const creditPrefix = "/api/v1/credit/"

// checkCreditInput is checkInput for the credit-sharing routes, after the
// client is authenticated: a refused query is still a query, and is
// logged as invalid (without the refused values).
func (s *server) checkCreditInput(c *gin.Context) {
	if err := checkRequest(c.Request, c.Params); err != nil {
		endpoint := strings.TrimPrefix(c.FullPath(), "/api/v1/")
		if endpoint == "credit/:uscc" {
			endpoint = "credit"
		}
		if s.logQuery(c, client(c), endpoint, nil, "invalid") {
			writeError(c, s.log, err)
		}
		return
	}
	c.Next()
}

func checkRequest(r *http.Request, params gin.Params) error {
	for _, p := range params {
		if len(p.Value) > maxPathParam {
			return badRequest(p.Key, fmt.Sprintf("%s is longer than %d bytes", p.Key, maxPathParam))
		}
		if err := ratings.CheckText(p.Key, p.Value); err != nil {
			return textError(err)
		}
	}
	if err := checkQuery(r.URL.RawQuery); err != nil {
		return err
	}
	for _, h := range checkedHeaders {
		for _, v := range r.Header.Values(h) {
			if err := ratings.CheckText(h, v); err != nil {
				return textError(err)
			}
		}
	}
	return nil
}

// checkQuery checks a raw query string; the first problem found, in the
// order of the parameter names, is named.
func checkQuery(raw string) error {
	if raw == "" {
		return nil
	}
	if len(raw) > maxRawQuery {
		return badRequest("query", fmt.Sprintf("the query string is longer than %d bytes", maxRawQuery))
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return badRequest("query", "malformed query string: "+err.Error())
	}
	n := 0
	for _, vs := range vals {
		n += len(vs)
	}
	if n > maxQueryValues {
		return badRequest("query", fmt.Sprintf("the query string has %d values, more than %d", n, maxQueryValues))
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := ratings.CheckText("query", k); err != nil {
			return textError(err)
		}
		name := cmp.Or(k, "query") // a value without a name
		for _, v := range vals[k] {
			if err := ratings.CheckText(name, v); err != nil {
				return textError(err)
			}
			if len(v) > maxQueryValue {
				return badRequest(name, fmt.Sprintf("%s is longer than %d bytes", name, maxQueryValue))
			}
			if k == "q" && utf8.RuneCountInString(v) > maxSearchRunes {
				return badRequest(k, fmt.Sprintf("q is longer than %d characters", maxSearchRunes))
			}
		}
	}
	return nil
}

// textError makes a refusal of ratings.CheckText a 400 naming the same
// parameter: what comes in a URL or header is a bad request, not a bad
// field.
func textError(err error) error {
	var ve *ratings.ValidationError
	if errors.As(err, &ve) {
		return badRequest(ve.Field, ve.Error())
	}
	return err
}

// isWebPath reports whether a path is the web pages' (HTML answers)
// rather than the API's or the operators' (JSON and text).
func isWebPath(path string) bool {
	switch {
	case path == "/api", strings.HasPrefix(path, "/api/"):
		return false
	case path == "/healthz", path == "/readyz", path == "/metrics":
		return false
	}
	return true
}

// boundedQuery reads a whole-number query parameter from lo to hi (0 when
// absent); anything else is a 400 naming it.
func boundedQuery(c *gin.Context, name string, lo, hi int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badRequest(name, fmt.Sprintf("%s must be a whole number from %d to %d", name, lo, hi))
	}
	return n, nil
}

// paging reads page (1 to ratings.MaxPage) and, if perPage, per_page (1
// to maxPerPage); 0 for one absent (the list's default).
func paging(c *gin.Context, perPage bool) (page, per int, err error) {
	if page, err = boundedQuery(c, "page", 1, ratings.MaxPage); err != nil || !perPage {
		return page, 0, err
	}
	per, err = boundedQuery(c, "per_page", 1, maxPerPage)
	return page, per, err
}
