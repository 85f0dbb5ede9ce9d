package api

// The statistics page and its SVG bar chart.

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"laborcredit/ratings"
)

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
