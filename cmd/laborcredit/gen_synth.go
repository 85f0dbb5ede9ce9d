package main

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"laborcredit/engine"
	"laborcredit/ratings"
)

// generator makes the province. Every employer i draws its attributes from
// a PCG seeded from (seed, i), and its records for period y from one
// seeded from (seed, i, y): an employer is the same whatever --years is,
// and a period's records the same whichever other periods are written.
type generator struct {
	first, years int // first period and number of periods
	regions      []genRegion
	regionCum    []float64 // cumulative region weights
	provShort    string    // 湖北
	norm         float64   // mean risk of kind × industry, so rates come out at the targets
	kindCum      []float64
	indCum       [][]float64 // per kind
	violCum      []float64
	sourceCum    []float64
	seriousCum   []float64

	k0, k1     uint64 // keys derived from the seed
	maA, maB   uint64 // affine permutation of [0, 31^6): MA… organisation codes
	numA, numB uint64 // affine permutation of [0, 10^8): numeric organisation codes

	pcg *rand.PCG
	rng *rand.Rand

	caseSeq, complaintSeq []int // next number per region × period

	w    [genFiles]*bufio.Writer
	rows [genFiles]int
	err  error  // first write error
	row  []byte // the row being built

	emp   genEmployer
	cases [8]genCase
}

// genEmployer is the state kept for the current employer.
type genEmployer struct {
	uscc      [18]byte
	region    int
	kind      int // index into genKinds
	industry  *genIndustry
	employees int
	mult      float64 // case-risk multiplier, mean 1 over all employers
}

// genCase is one case of the current employer and period.
type genCase struct {
	source    string
	opened    int // day of the year, 0-based
	concluded int // day of the year, -1 while open
	outcome   string
	viol      [3]string
	nviol     int
	flags     [5]bool // order_refused, obstructed, mass_incident, serious_impact, criminal
	backWages int64
	workers   int
}

const (
	orgSpaceMA  = 31 * 31 * 31 * 31 * 31 * 31 // 887,503,681 MA codes
	orgSpaceNum = 100_000_000                 // numeric codes
)

func newGenerator(p generateParams, regs *ratings.Regions) (*generator, error) {
	prov, _ := regs.Lookup(p.Province)
	g := &generator{first: p.Period - p.Years + 1, years: p.Years, provShort: shortPlaceName(prov.Name)}
	var weights []float64
	g.regions, weights = provinceCounties(regs, p.Province)
	if len(g.regions) == 0 {
		return nil, fmt.Errorf("generate: province %s has no county-level regions", p.Province)
	}
	g.regionCum = cumulative(weights)
	kindW := make([]float64, len(genKinds))
	for k, kd := range genKinds {
		kindW[k] = kd.weight
		indW := make([]float64, len(kd.industries))
		mean, total := 0.0, 0.0
		for j, ind := range kd.industries {
			indW[j] = ind.weight
			mean += ind.weight * ind.risk
			total += ind.weight
		}
		g.indCum = append(g.indCum, cumulative(indW))
		g.norm += kd.weight * kd.risk * mean / total
	}
	g.norm /= sum(kindW)
	g.kindCum = cumulative(kindW)
	var w []float64
	for _, v := range genViolations {
		if !slices.Contains(engine.Violations, v.code) {
			return nil, fmt.Errorf("generate: violation %q is not one of engine.Violations", v.code)
		}
		w = append(w, v.weight)
	}
	g.violCum = cumulative(w)
	w = w[:0]
	for _, s := range genSources {
		w = append(w, s.weight)
	}
	g.sourceCum = cumulative(w)
	w = w[:0]
	for _, s := range genSerious {
		w = append(w, s.weight)
	}
	g.seriousCum = cumulative(w)

	g.k0 = splitmix64(p.Seed)
	g.k1 = splitmix64(p.Seed ^ 0x6a09e667f3bcc909)
	g.maA, g.maB = affineKeys(splitmix64(g.k0+1), splitmix64(g.k0+2), orgSpaceMA)
	g.numA, g.numB = affineKeys(splitmix64(g.k0+3), splitmix64(g.k0+4), orgSpaceNum)
	g.pcg = rand.NewPCG(0, 0)
	g.rng = rand.New(g.pcg)
	g.caseSeq = make([]int, len(g.regions)*p.Years)
	g.complaintSeq = make([]int, len(g.regions)*p.Years)
	g.row = make([]byte, 0, 512)
	return g, nil
}

// affineKeys returns a and b for the permutation i → (a·i + b) mod m of
// [0, m), with a coprime to m (m is 31^6 or 10^8).
func affineKeys(x, y, m uint64) (a, b uint64) {
	a = m/3 + x%(m-m/3)
	for a%31 == 0 || a%2 == 0 || a%5 == 0 {
		a++
		if a >= m {
			a = m / 3
		}
	}
	return a, y % m
}

// splitmix64 is the SplitMix64 finaliser, a bijective mixer of 64 bits.
func splitmix64(x uint64) uint64 {
	z := x + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (g *generator) reseed(a, b uint64) {
	g.pcg.Seed(splitmix64(g.k0^a), splitmix64(g.k1^b))
}

func cumulative(w []float64) []float64 {
	out := make([]float64, len(w))
	t := 0.0
	for i, v := range w {
		t += v
		out[i] = t
	}
	return out
}

func sum(w []float64) float64 {
	t := 0.0
	for _, v := range w {
		t += v
	}
	return t
}

// pick draws an index with the weights whose running sums are cum.
func (g *generator) pick(cum []float64) int {
	u := g.rng.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if u < cum[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// provinceCounties returns the county-level regions of a province (the
// children of its prefectures) with their weights for placing employers.
//
// Statistical codes whose county part is 71–79 (荆州经济技术开发区 421071,
// 龙感湖管理区 421171) are skipped: the National Bureau of Statistics gives
// them to development zones and similar functional areas, which are not
// administrative divisions (the note in ratings/gb2260.tsv). The code, not
// the name, tells them apart: 浦东新区 and 滨海新区 are real districts while
// 北戴河新区 is a zone. A prefecture with no county level on the list
// (东莞市, 中山市, 儋州市) stands for itself.
//
// The capital's districts (the XX01 prefecture: Wuhan 4201xx) weigh 4, its
// counties 1.5, other districts 1.4 and other counties 1: Wuhan gets about
// a third of Hubei's employers, as in the enterprise register.
func provinceCounties(regs *ratings.Regions, province string) ([]genRegion, []float64) {
	prov, _ := regs.Lookup(province)
	provShort := shortPlaceName(prov.Name)
	var out []genRegion
	var weights []float64
	for _, pf := range regs.Children(province) {
		capital := pf.Code[2:4] == "01"
		kids := regs.Children(pf.Code)
		grouping := pf.Name == "市辖区" || pf.Name == "县" || strings.Contains(pf.Name, "直辖")
		if len(kids) == 0 && !grouping {
			out = append(out, genRegion{code: pf.Code, prefix: shortPlaceName(pf.Name), full: pf.Name})
			weights = append(weights, 1.4)
			continue
		}
		for _, c := range kids {
			if c.Code[4] == '7' {
				continue
			}
			district := strings.HasSuffix(c.Name, "区") && !grouping
			r := genRegion{code: c.Code, prefix: shortPlaceName(c.Name), full: c.Name}
			switch {
			case pf.Name == "市辖区":
				r.prefix = provShort // 北京, 上海
			case district:
				r.prefix = shortPlaceName(pf.Name) // 武汉 for 洪山区
			}
			w := 1.0
			switch {
			case capital && (district || pf.Name == "市辖区"):
				w = 4
			case capital:
				w = 1.5
			case district:
				w = 1.4
			}
			out = append(out, r)
			weights = append(weights, w)
		}
	}
	return out, weights
}

// genEthnicGroups are the names of China's minority nationalities without
// 族, to shorten the names of autonomous regions (恩施土家族苗族自治州 → 恩施).
var genEthnicGroups = []string{
	"蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼",
	"哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土",
	"达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克",
	"俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
}

// shortPlaceName is the short form of a place name used in company names:
// 湖北省 → 湖北, 钟祥市 → 钟祥, 恩施土家族苗族自治州 → 恩施, 广西壮族自治区 →
// 广西. A name that would shrink to one character stays whole (房县).
func shortPlaceName(name string) string {
	s := name
	for _, suf := range []string{"特别行政区", "自治区", "自治州", "自治县", "自治旗"} {
		if t, ok := strings.CutSuffix(s, suf); ok {
			s = t
			for {
				t, ok := strings.CutSuffix(s, "族")
				if !ok {
					break
				}
				best := ""
				for _, e := range genEthnicGroups {
					if strings.HasSuffix(t, e) && len(e) > len(best) {
						best = e
					}
				}
				s = strings.TrimSuffix(t, best)
			}
			s = strings.TrimSuffix(s, "维吾尔") // 新疆维吾尔自治区
			if utf8.RuneCountInString(s) >= 2 {
				return s
			}
			return name
		}
	}
	for _, suf := range []string{"地区", "林区", "特区", "新区", "省", "市", "县", "区", "旗", "盟"} {
		if t, ok := strings.CutSuffix(s, suf); ok && utf8.RuneCountInString(t) >= 2 {
			return t
		}
	}
	return name
}

// employer writes employer i and its records of every period.
func (g *generator) employer(i int) {
	g.reseed(uint64(i), 1)
	e := &g.emp
	e.kind = g.pick(g.kindCum)
	kd := &genKinds[e.kind]
	e.industry = &kd.industries[g.pick(g.indCum[e.kind])]
	e.region = g.pick(g.regionCum)
	e.employees = g.employees(kd.kind, e.industry.id)
	// A persistent factor, so that violations recur across periods: one
	// employer in ten carries a risk of 4.6, the others 0.6 (mean 1).
	risk := 0.6
	if g.rng.Float64() < 0.1 {
		risk = 4.6
	}
	e.mult = kd.risk * e.industry.risk * risk / g.norm
	g.uscc(i, kd.kind)

	r := append(g.row[:0], e.uscc[:]...)
	r = append(r, ',')
	r = g.appendName(r)
	r = append(r, ',')
	r = append(r, g.regions[e.region].code...)
	r = append(r, ',')
	r = append(r, e.industry.id...)
	r = append(r, ',')
	r = strconv.AppendInt(r, int64(e.employees), 10)
	g.writeRow(fileEmployers, r)

	for py := range g.years {
		g.period(i, py)
	}
}

func (g *generator) writeRow(file int, r []byte) {
	r = append(r, '\n')
	if _, err := g.w[file].Write(r); err != nil && g.err == nil {
		g.err = err
	}
	g.row = r[:0]
	g.rows[file]++
}

// employees draws a head count: most employers have under 50, a few over
// 1,000 (log-uniform inside size bands); builders are larger.
func (g *generator) employees(kind byte, industry string) int {
	switch kind {
	case '2':
		return int(g.logUniform(1, 9)) // 1–8
	case '3':
		return int(g.logUniform(3, 41))
	}
	bands := [5]float64{0.45, 0.82, 0.96, 0.99, 1} // 1–9, 10–49, 50–299, 300–999, 1000+
	if industry == "construction" {
		bands = [5]float64{0.15, 0.50, 0.83, 0.95, 1}
	}
	lo := [5]float64{1, 10, 50, 300, 1000}
	hi := [5]float64{10, 50, 300, 1000, 30000}
	u := g.rng.Float64()
	b := 0
	for u >= bands[b] && b < 4 {
		b++
	}
	return int(g.logUniform(lo[b], hi[b]))
}

// logUniform draws from [lo, hi) with a density falling as 1/x.
func (g *generator) logUniform(lo, hi float64) float64 {
	return lo * math.Exp(g.rng.Float64()*math.Log(hi/lo))
}

// uscc makes the employer's code: 9 and the kind; its region code; a
// 9-character organisation code (GB 11714) unique to index i — "MA" and
// six characters (codes issued since 2015) or eight digits (older codes),
// each an affine permutation of i, then its check character; and the USCC
// check character.
func (g *generator) uscc(i int, kind byte) {
	b := &g.emp.uscc
	b[0], b[1] = '9', kind
	copy(b[2:8], g.regions[g.emp.region].code)
	modern := 0.7
	if kind != '1' {
		modern = 0.9
	}
	if g.rng.Float64() < modern {
		v := (g.maA*uint64(i) + g.maB) % orgSpaceMA
		b[8], b[9] = 'M', 'A'
		for j := 15; j >= 10; j-- {
			b[j] = engine.USCCAlphabet[v%31]
			v /= 31
		}
	} else {
		v := (g.numA*uint64(i) + g.numB) % orgSpaceNum
		for j := 15; j >= 8; j-- {
			b[j] = byte('0' + v%10)
			v /= 10
		}
	}
	b[16], _ = engine.OrgCheckChar(b[8:16]) // the generator writes only 0-9 and A-Z
	c, err := engine.USCCCheckChar(string(b[:17]))
	if err != nil {
		panic(err) // cannot happen: every character is from the alphabet
	}
	b[17] = c
}

// appendName appends a plausible name: place + two-character trade name +
// industry word + 有限公司 for enterprises, county + trade name + shop for
// individual businesses, county + trade name + 专业合作社 for cooperatives.
func (g *generator) appendName(r []byte) []byte {
	e := &g.emp
	reg := &g.regions[e.region]
	words := e.industry.words
	switch genKinds[e.kind].kind {
	case '1':
		if g.rng.Float64() < 0.08 {
			r = append(r, g.provShort...)
		} else {
			r = append(r, reg.prefix...)
		}
	default:
		r = append(r, reg.full...)
	}
	a := g.rng.IntN(len(genTrade))
	b := g.rng.IntN(len(genTrade) - 1)
	if b >= a {
		b++
	}
	r = append(r, genTrade[a]...)
	r = append(r, genTrade[b]...)
	r = append(r, words[g.rng.IntN(len(words))]...)
	if genKinds[e.kind].kind != '1' {
		return r
	}
	u := g.rng.Float64()
	switch {
	case e.employees >= 1000 && u < 0.2:
		return append(r, "集团有限公司"...)
	case e.employees >= 300 && u < 0.3:
		return append(r, "股份有限公司"...)
	case u < 0.88:
		return append(r, "有限公司"...)
	default:
		return append(r, "有限责任公司"...)
	}
}

// Months of a year: days before each month, common and leap years.
var genCumDays = [2][13]int{
	{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
	{0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366},
}

func leapYear(y int) int {
	if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		return 1
	}
	return 0
}

func daysInYear(y int) int { return 365 + leapYear(y) }

// appendDate appends day doy (0-based) of year y as YYYY-MM-DD.
func appendDate(r []byte, y, doy int) []byte {
	t := &genCumDays[leapYear(y)]
	m := 1
	for doy >= t[m] {
		m++
	}
	d := doy - t[m-1] + 1
	r = strconv.AppendInt(r, int64(y), 10)
	return append(r, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
}

// appendSeq appends n with leading zeros to at least width digits.
func appendSeq(r []byte, n, width int) []byte {
	digits := 1
	for v := n; v >= 10; v /= 10 {
		digits++
	}
	for ; digits < width; digits++ {
		r = append(r, '0')
	}
	return strconv.AppendInt(r, int64(n), 10)
}

func appendBool(r []byte, b bool) []byte {
	if b {
		return append(r, "true"...)
	}
	return append(r, "false"...)
}
