package api

// The public pages: search, the employer, the award roll, publicity.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"laborcredit/ratings"
)

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
	code, err := s.svc.LookupCode(c.Request.Context(), c.Param("uscc"))
	var ce *ratings.CodeError
	if errors.As(err, &ce) {
		s.webError(c, p, http.StatusBadRequest, p.L.T("err.code", code, p.L.CodeReason(ce.Err)))
		return
	}
	if err != nil {
		s.webFail(c, p, err)
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
