package api

// The public pages' region picker, names, dates and periods.

import (
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"laborcredit/ratings"
)

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
