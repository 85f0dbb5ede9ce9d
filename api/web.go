package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"laborcredit/ratings"
)

// The public web pages: server-rendered, no JavaScript, published data only.

//go:embed web
var webFS embed.FS

// WebRoutes lists the routes of the public web pages, as "METHOD path" in
// gin's syntax. Every other route is the API's.
func WebRoutes() []string {
	return []string{"GET /", "GET /employers/:uscc", "GET /awards", "GET /statistics", "GET /publicity", "GET /static/style.css"}
}

func (s *server) webRoutes(r *gin.Engine) {
	w := r.Group("", s.limitIP)
	w.GET("/", s.webHome)
	w.GET("/employers/:uscc", s.webEmployer)
	w.GET("/awards", s.webAwards)
	w.GET("/statistics", s.webStatistics)
	w.GET("/publicity", s.webPublicity)
	w.GET("/static/style.css", s.webStyle)
}

// webAssets are the parsed templates (one set per page, each with the
// base layout) and the style sheet.
type webAssets struct {
	pages  map[string]*template.Template
	css    []byte
	cssURL string // with a version, so a new style sheet is fetched
}

// The pages are embedded, so they are parsed once; a failure is a bug that
// the tests catch, and shows as a 500 page.
var loadWebAssets = sync.OnceValues(func() (*webAssets, error) {
	a := &webAssets{pages: map[string]*template.Template{}}
	names, err := fs.Glob(webFS, "web/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		n = strings.TrimPrefix(n, "web/")
		if n == "base.html" || n == "partials.html" {
			continue
		}
		t, err := template.ParseFS(webFS, "web/base.html", "web/partials.html", "web/"+n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		a.pages[strings.TrimSuffix(n, ".html")] = t
	}
	if a.css, err = webFS.ReadFile("web/static/style.css"); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(a.css)
	a.cssURL = "/static/style.css?v=" + hex.EncodeToString(sum[:6])
	return a, nil
})

// contentSecurity allows nothing but our own style sheet and forms: the
// pages run no script.
const contentSecurity = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// webPage is what every page's template gets: the layout's parts and the
// page's own Data.
type webPage struct {
	L          loc
	Title      string
	Nav        []navItem
	Switch     string // this page in the other language
	SwitchLang string
	SwitchText string
	CSS        string
	Home       string
	API        string
	Error      string // bad input, said above the content
	Data       any
}

type navItem struct {
	Label, URL string
	Current    bool
}

// newPage starts a page in the request's language; nav names the current
// navigation entry.
func (s *server) newPage(c *gin.Context, nav, title string) *webPage {
	l := chooseLang(c.Query("lang"), c.GetHeader("Accept-Language"))
	o := l.other()
	q := c.Request.URL.Query()
	q.Set("lang", o.Param())
	p := &webPage{L: l, Title: title, Switch: c.Request.URL.Path + "?" + q.Encode(), SwitchLang: o.Lang(), SwitchText: l.T("lang.switch"),
		Home: l.URL("/"), API: "/api/v1/openapi.json"}
	for _, n := range []struct{ key, id, path string }{
		{"nav.home", "home", "/"}, {"nav.awards", "awards", "/awards"}, {"nav.stats", "stats", "/statistics"}, {"nav.public", "public", "/publicity"},
	} {
		p.Nav = append(p.Nav, navItem{Label: l.T(n.key), URL: l.URL(n.path), Current: n.id == nav})
	}
	if p.Title != "" {
		p.Title = l.T(title)
	}
	return p
}

// render writes a page. The template runs into a buffer first, so a
// failure answers a plain 500 rather than half a page.
func (s *server) render(c *gin.Context, status int, name string, p *webPage) {
	a, err := loadWebAssets()
	var buf bytes.Buffer
	if err == nil {
		p.CSS = a.cssURL
		t, ok := a.pages[name]
		if !ok {
			err = fmt.Errorf("no page template %q", name)
		} else {
			err = t.ExecuteTemplate(&buf, "base.html", p)
		}
	}
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", contentSecurity)
	h.Add("Vary", "Accept-Language")
	if err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", slog.String("page", name), slog.Any("error", err))
		h.Set("Cache-Control", "no-store")
		c.Data(http.StatusInternalServerError, "text/html; charset=utf-8",
			[]byte(`<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>500</title></head><body><p>服务器出错，已记录。The server failed; it has been logged.</p></body></html>`))
		c.Abort()
		return
	}
	if status >= http.StatusInternalServerError || status == http.StatusTooManyRequests {
		h.Set("Cache-Control", "no-store")
	} else {
		h.Set("Cache-Control", "public, max-age=60")
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// errorData is the body of an error page.
type errorData struct {
	Status  int
	Heading string
	Message string
}

// webError answers an error page with a message.
func (s *server) webError(c *gin.Context, p *webPage, status int, message string) {
	heading := p.L.T("err.title")
	switch status {
	case http.StatusBadRequest:
		heading = p.L.T("err.400")
	case http.StatusNotFound:
		heading = p.L.T("err.404")
	case http.StatusTooManyRequests:
		heading = p.L.T("err.429")
	case http.StatusInternalServerError:
		heading = p.L.T("err.500")
	}
	p.Title, p.Error = heading, ""
	p.Data = errorData{Status: status, Heading: heading, Message: message}
	s.render(c, status, "error", p)
}

// webFail answers a domain error: bad input as 400, anything else as a
// logged 500 that says nothing of the cause.
func (s *server) webFail(c *gin.Context, p *webPage, err error) {
	var ve *ratings.ValidationError
	if errors.As(err, &ve) {
		s.webError(c, p, http.StatusBadRequest, p.L.T("err.input", ve.Error()))
		return
	}
	s.log.ErrorContext(c.Request.Context(), "page failed", slog.String("path", c.Request.URL.Path), slog.Any("error", err))
	s.webError(c, p, http.StatusInternalServerError, p.L.T("err.500.text"))
}

// webRefuse answers a request refused before its page ran (bad input in
// the path, query or headers; a rate limit) with an error page, and
// stops. The language switch leads home: the query is what was refused.
func (s *server) webRefuse(c *gin.Context, err error) {
	p := s.newPage(c, "", "")
	p.Switch = p.L.other().URL("/")
	status, message := http.StatusBadRequest, err.Error()
	var he *httpError
	if errors.As(err, &he) {
		status, message = he.status, he.detail
	}
	switch status {
	case http.StatusBadRequest:
		message = p.L.T("err.input", message)
	case http.StatusTooManyRequests:
		message = p.L.T("err.429.text", c.Writer.Header().Get("Retry-After"))
	}
	s.webError(c, p, status, message)
	c.Abort()
}

// webNotFound answers an unknown path outside the API with the HTML 404
// page, and reports whether it did.
func (s *server) webNotFound(c *gin.Context) bool {
	path := c.Request.URL.Path
	if path == "/api" || strings.HasPrefix(path, "/api/") {
		return false
	}
	p := s.newPage(c, "", "")
	// The path is anyone's (it may read //elsewhere): switch to the home page.
	p.Switch = p.L.other().URL("/")
	s.webError(c, p, http.StatusNotFound, p.L.T("err.404.text"))
	return true
}

func (s *server) webStyle(c *gin.Context) {
	a, err := loadWebAssets()
	if err != nil {
		s.log.ErrorContext(c.Request.Context(), "style sheet", slog.Any("error", err))
		c.Status(http.StatusInternalServerError)
		return
	}
	c.Header("Cache-Control", "public, max-age=3600")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, "text/css; charset=utf-8", a.css)
}

// input problems of a page, said together above the content.
type problems []string

func (ps *problems) add(msg string) { *ps = append(*ps, msg) }

// rejected renders page tmpl as a 400 with the problems found in its
// query, if there are any, and says whether it did (the handler stops).
func (s *server) rejected(c *gin.Context, p *webPage, ps problems, tmpl string) bool {
	if len(ps) == 0 {
		return false
	}
	p.Error = strings.Join(ps, " ")
	s.render(c, http.StatusBadRequest, tmpl, p)
	return true
}

// number reads a whole-number query parameter from 0 to 2^31-1, as
// intQuery (0 when absent).
func number(c *gin.Context, p *webPage, ps *problems, name, label string) int {
	v := strings.TrimSpace(c.Query(name))
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > math.MaxInt32 {
		ps.add(p.L.T("err.number", p.L.T(label), v))
		return 0
	}
	return n
}

// pageNumbers reads page and, if perPage, per_page within the bounds of
// paging (0 when absent).
func pageNumbers(c *gin.Context, p *webPage, ps *problems, perPage bool) (page, per int) {
	page, err := boundedQuery(c, "page", 1, ratings.MaxPage)
	if err != nil {
		ps.add(p.L.T("err.number", p.L.T("pager.label"), c.Query("page")))
	}
	if !perPage {
		return page, 0
	}
	if per, err = boundedQuery(c, "per_page", 1, maxPerPage); err != nil {
		if n, aerr := strconv.Atoi(c.Query("per_page")); aerr == nil && n > maxPerPage {
			ps.add(p.L.T("err.perpage", n))
		} else {
			ps.add(p.L.T("err.number", p.L.T("pager.label"), c.Query("per_page")))
		}
	}
	return page, per
}
