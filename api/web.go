package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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

// regionPicker is the cascading region filter: the province select, then
// once a province is chosen (and the form sent) its cities, then their
// counties. It needs no script.
type regionPicker struct {
	Provinces, Cities, Counties []ratings.Region
	Province, City, County      string
}

// pickRegion reads the region filter: a region code (as links carry it),
// or the deepest of province, city and county where each lies in the one
// above (a city left over from another province is dropped). It returns
// the code to filter on ("" everywhere).
func (s *server) pickRegion(c *gin.Context, p *webPage, ps *problems) (regionPicker, string) {
	rs := s.svc.Regions()
	check := func(code string, level int) (ratings.Region, bool) {
		r, ok := rs.Lookup(code)
		switch {
		case !sixDigits(code):
			ps.add(p.L.T("err.region", code, p.L.T("err.region.6")))
		case !ok:
			ps.add(p.L.T("err.region", code, p.L.T("err.region.list")))
		case level != 0 && r.Level != level:
			ps.add(p.L.T("err.region", code, p.L.T("err.region.level")))
			ok = false
		}
		return r, ok
	}
	var chosen string
	if code := strings.TrimSpace(c.Query("region")); code != "" {
		if _, ok := check(code, 0); ok {
			chosen = code
		}
	} else if prov := strings.TrimSpace(c.Query("province")); prov != "" {
		if _, ok := check(prov, ratings.LevelProvince); ok {
			chosen = prov
			if city := strings.TrimSpace(c.Query("city")); city != "" {
				if r, ok := check(city, 0); ok && r.Parent == prov {
					chosen = city
					if county := strings.TrimSpace(c.Query("county")); county != "" {
						if r, ok := check(county, 0); ok && r.Parent == city {
							chosen = county
						}
					}
				}
			}
		}
	}
	return s.picker(chosen), chosen
}

func sixDigits(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// picker fills the region selects for a chosen region.
func (s *server) picker(code string) regionPicker {
	rs := s.svc.Regions()
	rp := regionPicker{Provinces: rs.Provinces()}
	chain := []string{}
	if r, ok := rs.Lookup(code); ok {
		for _, a := range rs.Ancestors(code) {
			chain = append([]string{a.Code}, chain...)
		}
		chain = append(chain, r.Code)
	}
	if len(chain) > 0 {
		rp.Province = chain[0]
		rp.Cities = rs.Children(rp.Province)
	}
	if len(chain) > 1 {
		rp.City = chain[1]
		rp.Counties = rs.Children(rp.City)
	}
	if len(chain) > 2 {
		rp.County = chain[2]
	}
	return rp
}

// regionPath names a region with the regions around it: 湖北省 / 武汉市 / 江岸区.
func (s *server) regionPath(code string) string {
	rs := s.svc.Regions()
	r, ok := rs.Lookup(code)
	if !ok {
		return code
	}
	names := []string{r.Name}
	for _, a := range rs.Ancestors(code) {
		names = append([]string{a.Name}, names...)
	}
	return strings.Join(names, " / ")
}

func (s *server) regionName(code string) string {
	if r, ok := s.svc.Regions().Lookup(code); ok {
		return r.Name
	}
	return code
}

// chinaTime is the time zone dates are shown in.
var chinaTime = time.FixedZone("CST", 8*3600)

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(chinaTime).Format(time.DateOnly)
}

// grades are the grades a filter offers, best first.
var grades = []string{"A", "B", "C"}

// periodList is the years of the rating periods, newest first.
func (s *server) periodList(c *gin.Context) ([]int, error) {
	ps, err := s.svc.Periods(c.Request.Context())
	if err != nil {
		return nil, err
	}
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.Year
	}
	return out, nil
}

// pager links the pages of a list.
type pager struct {
	Page, Pages int
	Prev, Next  string
}

// home

type homeData struct {
	Q, Grade    string
	Period      int
	PeriodAny   string // the label of "no period chosen"
	Picker      regionPicker
	Grades      []string
	Periods     []int
	Rows        []homeRow
	Total       int
	Capped      bool // more than Total matches: narrow the search to see the rest
	ShownPeriod int
	Pager       pager
	Searched    bool
}

type homeRow struct {
	Name, USCC, Region, Grade, Published, URL string
	Period                                    int
}

func (s *server) webHome(c *gin.Context) {
	p := s.newPage(c, "home", "home.title")
	var ps problems
	d := homeData{Q: strings.TrimSpace(c.Query("q")), Grade: strings.TrimSpace(c.Query("grade")), Grades: grades,
		PeriodAny: p.L.T("form.latest")}
	var region string
	d.Picker, region = s.pickRegion(c, p, &ps)
	if d.Grade != "" && !slices.Contains(grades, d.Grade) {
		ps.add(p.L.T("err.grade", d.Grade))
		d.Grade = ""
	}
	d.Period = number(c, p, &ps, "period", "form.period")
	page, perPage := pageNumbers(c, p, &ps, true)
	var err error
	if d.Periods, err = s.periodList(c); err != nil {
		s.webFail(c, p, err)
		return
	}
	p.Data = &d
	if s.rejected(c, p, ps, "home") {
		return
	}
	res, err := s.svc.SearchPublished(c.Request.Context(), ratings.PublicQuery{Q: d.Q, Region: region, Grade: d.Grade, Period: d.Period,
		Page: page, PerPage: perPage})
	if err != nil {
		s.webFail(c, p, err)
		return
	}
	d.Searched, d.Total, d.ShownPeriod, d.Capped = true, res.Total, res.Period, res.TotalCapped
	for _, it := range res.Items {
		d.Rows = append(d.Rows, homeRow{Name: it.Name, USCC: it.USCC, Region: s.regionPath(it.Region), Grade: it.Grade,
			Published: day(it.PublishedAt), URL: p.L.URL("/employers/" + it.USCC), Period: it.Period})
	}
	d.Pager = pager{Page: res.Page, Pages: max(1, (res.Total+res.PerPage-1)/res.PerPage)}
	link := func(n int) string {
		return p.L.URL("/", "q", d.Q, "region", region, "grade", d.Grade, "period", d.Period, "per_page", perPage, "page", n)
	}
	if res.Page > 1 {
		d.Pager.Prev = link(min(res.Page-1, d.Pager.Pages))
	}
	if res.Page < d.Pager.Pages {
		d.Pager.Next = link(res.Page + 1)
	}
	s.render(c, http.StatusOK, "home", p)
}

// employer

type employerData struct {
	Name, USCC, Region string
	Periods            []employerPeriod
	Awards             []string
	Meanings           []gradeMeaning
	ReasonsNote        string
}

type employerPeriod struct {
	Period       int
	Grade        string
	Published    string
	Corrected    bool
	ReasonsKnown bool
	Reasons      []string
	Awards       []string
}

type gradeMeaning struct{ Grade, Text string }

func (s *server) webEmployer(c *gin.Context) {
	p := s.newPage(c, "", "")
	code, err := s.lookupCode(c, c.Param("uscc"))
	if err != nil {
		s.webError(c, p, http.StatusBadRequest, p.L.T("err.code", code, p.L.CodeReason(err)))
		return
	}
	ctx := c.Request.Context()
	raw, err := s.svc.CreditDocument(ctx, code)
	if errors.Is(err, ratings.ErrNotFound) {
		s.webError(c, p, http.StatusNotFound, p.L.T("err.notfound", code))
		return
	}
	if err != nil {
		s.webFail(c, p, err)
		return
	}
	var doc ratings.CreditRating
	if err := json.Unmarshal(raw, &doc); err != nil {
		s.webFail(c, p, fmt.Errorf("credit document of %s: %w", code, err))
		return
	}
	d := employerData{Name: doc.Name, USCC: doc.USCC, Region: s.regionPath(doc.Region), ReasonsNote: p.L.T("employer.reasons.note")}
	awards := map[int][]string{}
	for _, a := range doc.Awards {
		// Awards read "2025 最佳诚信单位": the period, then the title.
		y, title, _ := strings.Cut(a, " ")
		n, _ := strconv.Atoi(y)
		title = s.awardTitle(p.L, title)
		awards[n] = append(awards[n], title)
		d.Awards = append(d.Awards, strings.TrimSpace(y+" "+title))
	}
	for _, h := range doc.History {
		ep := employerPeriod{Period: h.Period, Grade: h.Grade, Published: day(h.PublishedAt), Awards: awards[h.Period]}
		reasons, corrected, known := doc.Reasons, doc.Corrected, h.Period == doc.Period
		if !known {
			// An earlier period: the rating in force at the end of the day
			// its latest version was published is that period's, unless a
			// later period was already out by then.
			cr, err := s.svc.CreditAsOf(ctx, code, day(h.PublishedAt))
			switch {
			case err == nil && cr.Period == h.Period:
				reasons, corrected, known = cr.Reasons, cr.Corrected, true
			case err != nil && !errors.Is(err, ratings.ErrNotFound):
				s.webFail(c, p, err)
				return
			}
		}
		ep.ReasonsKnown, ep.Corrected = known, corrected && known
		if known {
			for _, r := range reasons {
				if r.Reason == "" {
					continue
				}
				if r.Basis == "" {
					ep.Reasons = append(ep.Reasons, r.Reason)
				} else {
					ep.Reasons = append(ep.Reasons, p.L.T("employer.reason", r.Reason, r.Basis))
				}
			}
		}
		d.Periods = append(d.Periods, ep)
	}
	for _, g := range grades {
		d.Meanings = append(d.Meanings, gradeMeaning{Grade: g, Text: p.L.T("grade." + g)})
	}
	p.Title = p.L.T("employer.title", doc.Name)
	p.Data = &d
	s.render(c, http.StatusOK, "employer", p)
}

// awardTitle names an award, by its id or its Chinese title, in the page's
// language; an award we do not know keeps its name.
func (s *server) awardTitle(l loc, award string) string {
	switch award {
	case "best-integrity-unit", "最佳诚信单位":
		return l.T("award.best-integrity-unit")
	}
	return award
}

// awards

type awardsData struct {
	Period    int
	PeriodAny string
	Periods   []int
	Picker    regionPicker
	Rows      []awardRow
}

type awardRow struct {
	Name, USCC, Region, Award, Approved, URL string
	Period                                   int
}

func (s *server) webAwards(c *gin.Context) {
	p := s.newPage(c, "awards", "awards.title")
	var ps problems
	d := awardsData{PeriodAny: p.L.T("form.all.periods")}
	var region string
	d.Picker, region = s.pickRegion(c, p, &ps)
	d.Period = number(c, p, &ps, "period", "form.period")
	var err error
	if d.Periods, err = s.periodList(c); err != nil {
		s.webFail(c, p, err)
		return
	}
	p.Data = &d
	if s.rejected(c, p, ps, "awards") {
		return
	}
	roll, err := s.svc.AwardRoll(c.Request.Context(), d.Period, region)
	if err != nil {
		s.webFail(c, p, err)
		return
	}
	for _, a := range roll {
		d.Rows = append(d.Rows, awardRow{Name: a.Name, USCC: a.USCC, Region: s.regionPath(a.Region), Award: s.awardTitle(p.L, a.Award),
			Approved: day(a.ApprovedAt), URL: p.L.URL("/employers/" + a.USCC), Period: a.Period})
	}
	s.render(c, http.StatusOK, "awards", p)
}

// publicity

type publicityData struct {
	Picker    regionPicker
	Rows      []publicityRow
	Pager     pager
	Objection string // the API path to object to
}

type publicityRow struct {
	RatingID                       int64
	Name, USCC, Region, Grade, End string
	Period                         int
}

func (s *server) webPublicity(c *gin.Context) {
	p := s.newPage(c, "public", "public.title")
	var ps problems
	d := publicityData{Objection: "POST /api/v1/public/objections"}
	var region string
	d.Picker, region = s.pickRegion(c, p, &ps)
	page, _ := pageNumbers(c, p, &ps, false)
	page = max(page, 1)
	p.Data = &d
	if s.rejected(c, p, ps, "publicity") {
		return
	}
	items, err := s.svc.UnderPublicity(c.Request.Context(), region, page)
	if err != nil {
		s.webFail(c, p, err)
		return
	}
	for _, it := range items {
		d.Rows = append(d.Rows, publicityRow{RatingID: it.RatingID, Name: it.Name, USCC: it.USCC, Region: s.regionPath(it.Region),
			Grade: it.Grade, End: it.PublicityEnds, Period: it.Period})
	}
	// UnderPublicity answers 100 a page, without a total.
	d.Pager = pager{Page: page}
	if page > 1 {
		d.Pager.Prev = p.L.URL("/publicity", "region", region, "page", page-1)
	}
	if len(items) == 100 {
		d.Pager.Next = p.L.URL("/publicity", "region", region, "page", page+1)
	}
	s.render(c, http.StatusOK, "publicity", p)
}

// statistics

type statsData struct {
	Period     int
	PeriodAny  string
	Periods    []int
	Picker     regionPicker
	RegionName string
	ByRegion   *barChart
	Trend      *barChart
	Grades     []string
	RegionRows []statsRow
	TrendRows  []statsRow
}

// statsRow is a line of a statistics table: a label and, per grade, the
// count and share.
type statsRow struct {
	Key, Label, URL string
	Cells           []statsCell
	Total           int
}

type statsCell struct {
	Grade string
	Count int
	Share string
}

func (s *server) webStatistics(c *gin.Context) {
	p := s.newPage(c, "stats", "stats.title")
	var ps problems
	d := statsData{PeriodAny: p.L.T("form.latest")}
	var region string
	d.Picker, region = s.pickRegion(c, p, &ps)
	d.Period = number(c, p, &ps, "period", "form.period")
	var err error
	if d.Periods, err = s.periodList(c); err != nil {
		s.webFail(c, p, err)
		return
	}
	p.Data = &d
	if s.rejected(c, p, ps, "statistics") {
		return
	}
	rep, err := s.svc.GradeStats(c.Request.Context(), ratings.StatsQuery{Region: region, Period: d.Period})
	if err != nil {
		s.webFail(c, p, err)
		return
	}
	d.Picker = s.picker(rep.Region) // the region the data resolved to
	d.RegionName = p.L.T("stats.all")
	if rep.Region != "" {
		d.RegionName = s.regionPath(rep.Region)
	}
	d.Grades = rep.Grades
	var byRegion, trend []chartInput
	for _, g := range rep.ByRegion {
		label := s.regionName(g.Region)
		if g.Region == rep.Region {
			label = p.L.T("stats.self", label)
		}
		row := statsRow{Key: g.Region, Label: label, Total: g.Total, Cells: cells(rep.Grades, g.GradeCounts)}
		if g.Region != rep.Region && len(s.svc.Regions().Children(g.Region)) > 0 {
			row.URL = p.L.URL("/statistics", "region", g.Region, "period", rep.Period)
		}
		d.RegionRows = append(d.RegionRows, row)
		byRegion = append(byRegion, chartInput{key: g.Region, label: label, counts: g.GradeCounts})
	}
	for _, g := range rep.ByPeriod {
		key := strconv.Itoa(g.Period)
		d.TrendRows = append(d.TrendRows, statsRow{Key: key, Label: key, Total: g.Total, Cells: cells(rep.Grades, g.GradeCounts)})
		trend = append(trend, chartInput{key: key, label: key, counts: g.GradeCounts})
	}
	if len(byRegion) > 0 {
		d.ByRegion = newBarChart(p.L, "chart-region", p.L.T("stats.byregion", d.RegionName, rep.Period), p.L.T("stats.desc.byregion"),
			rep.Grades, byRegion, false)
	}
	if len(trend) > 0 {
		d.Trend = newBarChart(p.L, "chart-trend", p.L.T("stats.trend", d.RegionName), p.L.T("stats.desc.trend"), rep.Grades, trend, true)
	}
	d.Period = rep.Period
	s.render(c, http.StatusOK, "statistics", p)
}

func cells(gs []string, gc ratings.GradeCounts) []statsCell {
	out := make([]statsCell, len(gs))
	for i, g := range gs {
		out[i] = statsCell{Grade: g, Count: gc.Counts[g], Share: share(gc.Counts[g], gc.Total)}
	}
	return out
}

func share(n, total int) string {
	if total == 0 {
		return "0%"
	}
	return strconv.FormatFloat(math.Round(float64(n)*1000/float64(total))/10, 'f', -1, 64) + "%"
}

// barChart is a horizontal stacked bar chart drawn as SVG on the server:
// one bar per row, a segment per grade, and the numbers beside each bar.
type barChart struct {
	ID, Title, Desc string
	Width, Height   int // of the viewBox
	Bars            []chartBar
	Legend          []chartLegend
	Shares          bool // bars show shares (each bar full length), not counts
}

type chartBar struct {
	Key, Label string
	Y, TextY   int
	Segments   []chartSegment
	Numbers    string
	NumbersX   int
	Total      int
	LabelX     int
	BarHeight  int
}

type chartSegment struct {
	Grade, Title string
	Count        int
	X, W         float64
}

type chartLegend struct {
	Grade, Label string
	X, TextX     int
}

type chartInput struct {
	key, label string
	counts     ratings.GradeCounts
}

// Chart geometry, in SVG user units (the text is 13 units high).
const (
	chartBarW   = 300 // the longest bar
	chartRowH   = 30
	chartBarH   = 20
	chartTop    = 34 // room for the legend
	chartMargin = 10
)

// textWidth estimates the width of a line of 13-unit text: a wide (CJK)
// character is about 13 units, any other about 7.5.
func textWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		if r >= 0x2E80 {
			w += 13
		} else {
			w += 7.5
		}
	}
	return w
}

func newBarChart(l loc, id, title, desc string, gs []string, rows []chartInput, shares bool) *barChart {
	ch := &barChart{ID: id, Title: title, Desc: desc, Height: chartTop + len(rows)*chartRowH + 8, Shares: shares}
	labelW, most := 40.0, 0
	for _, r := range rows {
		labelW = max(labelW, textWidth(r.label))
		most = max(most, r.counts.Total)
	}
	barX := int(labelW) + 2*chartMargin
	numbersX := barX + chartBarW + chartMargin
	x := barX
	for _, g := range gs {
		label := l.T("grade.badge", g)
		ch.Legend = append(ch.Legend, chartLegend{Grade: g, Label: label, X: x, TextX: x + 18})
		x += 18 + int(textWidth(label)) + 2*chartMargin
	}
	width := float64(x)
	for i, r := range rows {
		y := chartTop + i*chartRowH
		b := chartBar{Key: r.key, Label: r.label, Y: y, TextY: y + chartBarH/2 + 5, LabelX: barX - chartMargin, BarHeight: chartBarH,
			Total: r.counts.Total, NumbersX: numbersX}
		scale := 0.0
		switch {
		case shares && r.counts.Total > 0:
			scale = chartBarW / float64(r.counts.Total)
		case !shares && most > 0:
			scale = chartBarW / float64(most)
		}
		x := float64(barX)
		var nums []string
		for _, g := range gs {
			n := r.counts.Counts[g]
			if shares {
				nums = append(nums, g+" "+l.T("stats.cell", n, share(n, r.counts.Total)))
			} else {
				nums = append(nums, g+" "+strconv.Itoa(n))
			}
			if n == 0 {
				continue
			}
			w := round1(float64(n) * scale)
			title := fmt.Sprintf("%s %s: %d", r.label, l.T("grade.badge", g), n)
			if shares {
				title += " (" + share(n, r.counts.Total) + ")"
			}
			b.Segments = append(b.Segments, chartSegment{Grade: g, Count: n, X: round1(x), W: w, Title: title})
			x += w
		}
		b.Numbers = strings.Join(nums, " · ") + " · " + l.T("stats.beside", r.counts.Total)
		width = max(width, float64(numbersX)+textWidth(b.Numbers)+chartMargin)
		ch.Bars = append(ch.Bars, b)
	}
	ch.Width = int(math.Ceil(width))
	return ch
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
