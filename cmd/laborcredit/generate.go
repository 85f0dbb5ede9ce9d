package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"laborcredit/engine"
	"laborcredit/ratings"
)

// generateCommand writes a synthetic province as the CSV record files that
// `laborcredit import` reads (docs/IMPORT.md).
func generateCommand() *command {
	return &command{name: "generate", short: "write a synthetic province as CSV record files (docs/IMPORT.md)", run: runGenerate}
}

func runGenerate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "generate", "laborcredit generate --out DIR [--employers N] [--period YEAR] [--years K] [--seed S] [--province CODE]")
	n := fs.Int("employers", 10000, "number of employers")
	period := fs.Int("period", 2026, "the last period (calendar year) to write records for, 1990–2100")
	years := fs.Int("years", 1, "write records for the K periods ending at --period; employers are written once")
	seed := fs.Uint64("seed", 1, "random seed; the same flags give byte-identical files, another seed other data")
	province := fs.String("province", "420000", "province-level GB/T 2260 code whose counties the employers lie in")
	out := fs.String("out", "", "directory for employers.csv, reviews.csv, cases.csv, complaints.csv and deposits.csv (created if missing; files of those names are replaced, other files are left alone)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("generate: unexpected argument %q", pos[0])
	}
	p := generateParams{Employers: *n, Period: *period, Years: *years, Seed: *seed, Province: *province, Out: *out}
	regs, err := ratings.DefaultRegions()
	if err != nil {
		return err
	}
	if err := p.check(regs); err != nil {
		return usagef("generate: %v", err)
	}
	start := time.Now()
	st, err := generateProvince(ctx, p)
	if err != nil {
		return err
	}
	prov, _ := regs.Lookup(p.Province)
	fmt.Fprintf(e.stdout, "laborcredit generate: %d employers of %s (%s), %s, seed %d, in %.2fs\n",
		p.Employers, prov.Name, prov.Code, periodRange(p.Period-p.Years+1, p.Period), p.Seed, time.Since(start).Seconds())
	for k, name := range genFileNames {
		fmt.Fprintf(e.stdout, "  %-40s %10d rows\n", filepath.Join(p.Out, name), st.rows(k))
	}
	fmt.Fprintf(e.stdout, "  %d bytes in all\n", st.Bytes)
	return nil
}

func periodRange(first, last int) string {
	if first == last {
		return "period " + strconv.Itoa(last)
	}
	return fmt.Sprintf("periods %d–%d", first, last)
}

// generateParams says what generateProvince writes.
type generateParams struct {
	// Employers is the number of employers, at least 1.
	Employers int
	// Period is the last period (calendar year, 1990–2100) with records.
	Period int
	// Years is the number of periods with records, ending at Period; 0
	// means 1. Employers are written once whatever it is.
	Years int
	// Seed makes the province: the same parameters give byte-identical files.
	Seed uint64
	// Province is the province-level GB/T 2260 code, e.g. "420000" (Hubei).
	Province string
	// Out is the directory to write into, created if missing. Files named
	// as the five record files are replaced; other files are left alone.
	Out string
}

// maxGenerateEmployers bounds --employers: the numeric organisation codes
// are a permutation of 10^8 values (see newGenerator).
const maxGenerateEmployers = 100_000_000

// paramError is a generate parameter out of range, named by its flag.
type paramError struct{ flag, reason string }

func (e *paramError) Error() string { return "--" + e.flag + " " + e.reason }

// check validates the parameters and names the flag at fault.
func (p *generateParams) check(regs *ratings.Regions) error {
	switch {
	case p.Employers < 1 || p.Employers > maxGenerateEmployers:
		return &paramError{"employers", fmt.Sprintf("must be from 1 to %d, got %d", maxGenerateEmployers, p.Employers)}
	case p.Period < 1990 || p.Period > 2100:
		return &paramError{"period", fmt.Sprintf("must be a year from 1990 to 2100, got %d", p.Period)}
	case p.Years < 1 || p.Period-p.Years+1 < 1990:
		return &paramError{"years", fmt.Sprintf("must be at least 1 and reach back no further than 1990, got %d", p.Years)}
	case p.Out == "":
		return &paramError{"out", "is required: the directory to write the CSV files into"}
	}
	if r, ok := regs.Lookup(p.Province); !ok || r.Level != ratings.LevelProvince {
		return &paramError{"province", fmt.Sprintf("%q is not a province-level code of the GB/T 2260 list (revision %s), e.g. 420000", p.Province, regs.Revision())}
	}
	return nil
}

// The five record files, in the order of genFileNames.
const (
	fileEmployers = iota
	fileReviews
	fileCases
	fileComplaints
	fileDeposits
	genFiles
)

var (
	genFileNames = [genFiles]string{"employers.csv", "reviews.csv", "cases.csv", "complaints.csv", "deposits.csv"}
	// genHeaders are the English headers of docs/IMPORT.md, in its column order.
	genHeaders = [genFiles]string{
		"uscc,name,region,industry,employees",
		"uscc,period,submitted,on_time,employees,contracts_signed,insured,roster_complete",
		"case_no,uscc,source,opened,concluded,outcome,violations,order_refused,obstructed,mass_incident,serious_impact,criminal,back_wages,workers_affected",
		"complaint_no,uscc,received",
		"uscc,period,required,paid",
	}
)

// generateStats is what generateProvince wrote: data rows per file (the
// header line not counted) and the size of the five files.
type generateStats struct {
	Employers  int   // rows of employers.csv
	Reviews    int   // rows of reviews.csv
	Cases      int   // rows of cases.csv
	Complaints int   // rows of complaints.csv
	Deposits   int   // rows of deposits.csv
	Bytes      int64 // total size of the five files in bytes
}

func (s generateStats) rows(file int) int {
	return [genFiles]int{s.Employers, s.Reviews, s.Cases, s.Complaints, s.Deposits}[file]
}

// generateProvince writes a synthetic province as the five CSV record files
// of docs/IMPORT.md (English headers) into p.Out: Employers employers in the
// county-level regions of p.Province, and for each of the p.Years periods
// ending at p.Period their annual reviews, cases, complaints and wage
// deposits, at the rates of DOMAIN.md (see generator).
//
// It streams one employer at a time, so memory does not grow with
// Employers. Each file is written under a temporary name in p.Out and
// renamed over its final name once all five are complete and synced: a
// failed or killed run leaves no half-written file under a final name (a
// kill between two of the five renames can leave a mix of old and new
// complete files; the temporary files of a killed run stay behind as
// .NAME.*.tmp).
func generateProvince(ctx context.Context, p generateParams) (generateStats, error) {
	regs, err := ratings.DefaultRegions()
	if err != nil {
		return generateStats{}, err
	}
	if p.Years == 0 {
		p.Years = 1
	}
	if err := p.check(regs); err != nil {
		return generateStats{}, fmt.Errorf("generate: %w", err)
	}
	g, err := newGenerator(p, regs)
	if err != nil {
		return generateStats{}, err
	}
	if err := os.MkdirAll(p.Out, 0o755); err != nil {
		return generateStats{}, fmt.Errorf("generate: %w", err)
	}
	var tmp [genFiles]*os.File
	defer func() {
		for _, f := range tmp {
			if f != nil {
				f.Close()
				os.Remove(f.Name())
			}
		}
	}()
	for k, name := range genFileNames {
		f, err := os.CreateTemp(p.Out, "."+name+".*.tmp")
		if err != nil {
			return generateStats{}, fmt.Errorf("generate: %w", err)
		}
		tmp[k] = f
		g.w[k] = bufio.NewWriterSize(f, 256<<10)
		g.w[k].WriteString(genHeaders[k])
		g.w[k].WriteByte('\n')
	}
	for i := range p.Employers {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return generateStats{}, fmt.Errorf("generate: %w", err)
			}
			if g.err != nil {
				break
			}
		}
		g.employer(i)
	}
	var st generateStats
	for k, f := range tmp {
		if err := g.w[k].Flush(); err != nil { // a bufio.Writer keeps its first error
			return generateStats{}, fmt.Errorf("generate: write %s: %w", genFileNames[k], err)
		}
		if err := f.Chmod(0o644); err != nil { // CreateTemp makes 0600
			return generateStats{}, fmt.Errorf("generate: %w", err)
		}
		if err := f.Sync(); err != nil {
			return generateStats{}, fmt.Errorf("generate: sync %s: %w", genFileNames[k], err)
		}
		fi, err := f.Stat()
		if err != nil {
			return generateStats{}, fmt.Errorf("generate: %w", err)
		}
		st.Bytes += fi.Size()
	}
	for k, f := range tmp {
		if err := f.Close(); err != nil {
			return generateStats{}, fmt.Errorf("generate: close %s: %w", genFileNames[k], err)
		}
	}
	for k, f := range tmp {
		if err := os.Rename(f.Name(), filepath.Join(p.Out, genFileNames[k])); err != nil {
			return generateStats{}, fmt.Errorf("generate: %w", err)
		}
		tmp[k] = nil
	}
	st.Employers, st.Reviews, st.Cases = g.rows[fileEmployers], g.rows[fileReviews], g.rows[fileCases]
	st.Complaints, st.Deposits = g.rows[fileComplaints], g.rows[fileDeposits]
	return st, nil
}

// genRegion is a county-level region employers are placed in.
type genRegion struct {
	code   string
	prefix string // short place name that starts company names, e.g. 武汉, 钟祥
	full   string // the region's own name, for individual businesses, e.g. 洪山区
}

// genIndustry is one industry with its share of employers, its relative
// case risk and words for company names.
type genIndustry struct {
	id     string
	weight float64
	risk   float64
	words  []string
}

// Industries of enterprises (USCC 91…), weighted roughly as China's
// enterprise register (wholesale and retail, leasing and business services
// and manufacturing lead); risk is the relative chance of a violation case
// (construction, mining and manufacturing are inspected and fined most).
var genEnterpriseIndustries = []genIndustry{
	{"wholesale_retail", 26, 0.7, []string{"商贸", "贸易", "百货", "医药", "建材", "农资", "汽车销售", "电器", "五金机电", "食品销售"}},
	{"services", 18, 0.9, []string{"物业服务", "人力资源服务", "家政服务", "保安服务", "商务咨询", "广告传媒", "劳务服务", "文化传媒", "企业管理咨询", "清洁服务", "教育咨询"}},
	{"manufacturing", 17, 1.4, []string{"机械制造", "电子科技", "汽车零部件", "纺织", "食品", "化工", "塑业", "新材料", "服饰", "包装", "光电科技", "精密机械", "环保科技", "生物科技", "电气", "钢构", "家具"}},
	{"construction", 9, 2.6, []string{"建设工程", "建筑工程", "建筑劳务", "市政工程", "装饰工程", "路桥建设", "水电安装工程", "园林工程", "钢结构工程"}},
	{"information_technology", 7, 0.4, []string{"信息技术", "网络科技", "软件", "数据技术", "智能科技", "信息科技"}},
	{"catering", 5, 1.3, []string{"餐饮管理", "酒店管理", "餐饮服务", "餐饮连锁"}},
	{"logistics", 5, 1.2, []string{"物流", "运输", "供应链管理", "货运代理", "快递服务", "仓储"}},
	{"real_estate", 4, 0.8, []string{"房地产开发", "置业", "房地产经纪"}},
	{"agriculture", 4, 0.6, []string{"农业发展", "生态农业", "农业科技", "农产品"}},
	{"mining", 1, 1.8, []string{"矿业", "矿产开发", "石材", "磷化"}},
}

// Industries of individual businesses (USCC 92…) with shop words.
var genIndividualIndustries = []genIndustry{
	{"wholesale_retail", 50, 0.7, []string{"经营部", "商店", "便利店", "超市", "五金店", "服装店", "建材店", "副食店", "烟酒店"}},
	{"catering", 25, 1.3, []string{"餐馆", "小吃店", "面馆", "早餐店", "饭店", "火锅店"}},
	{"services", 20, 0.9, []string{"理发店", "汽车修理部", "美容店", "家电维修部", "洗车店", "干洗店"}},
	{"logistics", 3, 1.2, []string{"货运部", "搬家服务部"}},
	{"manufacturing", 2, 1.4, []string{"加工厂", "加工坊"}},
}

// Farmers' cooperatives (USCC 93…).
var genCooperativeIndustries = []genIndustry{
	{"agriculture", 1, 0.6, []string{"种植专业合作社", "养殖专业合作社", "农机专业合作社", "果蔬专业合作社"}},
}

// Registration types: USCC characters 1–2 and the relative case risk.
var genKinds = []struct {
	kind       byte    // second USCC character: 1 enterprise, 2 individual business, 3 cooperative
	weight     float64 // share of employers
	risk       float64 // relative case risk
	submitted  float64 // share that submits the annual review
	industries []genIndustry
}{
	{'1', 85, 1, 0.93, genEnterpriseIndustries},
	{'2', 13, 0.5, 0.86, genIndividualIndustries},
	{'3', 2, 0.3, 0.88, genCooperativeIndustries},
}

// genTrade is a table of characters common in Chinese trade names; two of
// them make a company's 字号.
var genTrade = []string{
	"华", "鑫", "盛", "泰", "恒", "宏", "达", "源", "兴", "隆", "昌", "瑞", "祥", "丰", "利", "通",
	"远", "博", "创", "新", "德", "信", "诚", "安", "和", "金", "鼎", "晟", "宇", "天", "海", "江",
	"楚", "汉", "荆", "凯", "嘉", "润", "佳", "福", "永", "长", "启", "明", "辉", "光", "耀", "正",
	"中", "广", "聚", "合", "元", "宝", "龙", "锦", "航", "卓", "越", "星", "辰", "智", "慧", "立",
	"业", "顺", "发", "旺", "万", "家", "乐", "美", "康", "健", "绿", "青", "云", "峰", "山", "川",
	"东", "南", "西", "北", "科", "技", "联", "众", "惠", "邦", "益", "富", "贵", "荣", "腾", "飞",
	"扬", "力", "成", "建", "基", "石", "林", "森", "阳", "春", "晨", "振", "骏", "铭", "钰",
}

// Case mix. A share of genViolationRate employers gets a concluded case
// with a violation in a period (DOMAIN.md: ~12,000 cases a year in a
// province of ~1M employers), genOpenRate an open case, genNoViolationRate
// a case that found nothing, and genComplaintRate complaints that lead to
// no case; an employer's own risk (industry, registration type, a
// persistent per-employer factor) scales each.
const (
	genViolationRate   = 0.012
	genOpenRate        = 0.0015
	genNoViolationRate = 0.0025
	genComplaintRate   = 0.0075
	// genSeriousRate is the share of violators in one of the C situations
	// of art. 7 other than three cases; with the 3% that have three or
	// more cases about 11% of violators, 0.13% of employers, end with C.
	genSeriousRate = 0.08
)

// genViolations are the violation codes of ordinary cases with weights:
// wage arrears lead, then contracts, social insurance and working time.
// child_labor and forced_labor come only with the serious situations.
var genViolations = []struct {
	code   string
	weight float64
}{
	{"wage_arrears", 35}, {"no_contract", 14}, {"social_insurance", 14}, {"overtime", 12},
	{"other", 7}, {"no_roster", 5}, {"below_min_wage", 4}, {"illegal_dispatch", 3},
	{"female_minor_protection", 2}, {"deposit_or_id_retention", 2}, {"discrimination", 1}, {"illegal_job_agency", 1},
}

// Case sources with weights: most cases start from a complaint.
var genSources = []struct {
	source string
	weight float64
}{{"complaint", 45}, {"routine_inspection", 25}, {"special_inspection", 20}, {"written_review", 10}}

// The serious situations of art. 7 a violator may be in, with weights.
const (
	seriousNone = iota
	seriousOrderRefused
	seriousObstructed
	seriousMassIncident
	seriousImpact
	seriousCriminal
	seriousChildLabor
	seriousForcedLabor
)

var genSerious = []struct {
	kind   int
	weight float64
}{
	{seriousOrderRefused, 30}, {seriousCriminal, 20}, {seriousMassIncident, 15}, {seriousObstructed, 12},
	{seriousImpact, 10}, {seriousChildLabor, 9}, {seriousForcedLabor, 4},
}

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

const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

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
			b[j] = usccAlphabet[v%31]
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

// period writes employer i's records of period index py: its annual
// review, cases, complaints and wage deposit.
func (g *generator) period(i, py int) {
	y := g.first + py
	g.reseed(uint64(i), uint64(y)<<2|2)
	e := &g.emp
	rng := g.rng

	// Annual review: about 92% submitted, 88% of those on time; of the
	// rest 70% have no row at all and 30% a row with submitted=false.
	submitted := rng.Float64() < genKinds[e.kind].submitted
	if submitted || rng.Float64() < 0.3 {
		r := append(g.row[:0], e.uscc[:]...)
		r = append(r, ',')
		r = strconv.AppendInt(r, int64(y), 10)
		r = append(r, ',')
		r = appendBool(r, submitted)
		r = append(r, ',')
		r = appendBool(r, submitted && rng.Float64() < 0.88)
		if submitted {
			n := e.employees
			if py < g.years-1 { // earlier years: the workforce drifts
				n = max(1, int(float64(n)*(0.85+0.2*rng.Float64())))
			}
			contracts, insured := n, n
			if rng.Float64() < 0.10 {
				contracts -= 1 + rng.IntN(max(1, n/5))
			}
			if rng.Float64() < 0.18 {
				insured -= 1 + rng.IntN(max(1, n*3/10))
			}
			r = append(r, ',')
			r = strconv.AppendInt(r, int64(n), 10)
			r = append(r, ',')
			r = strconv.AppendInt(r, int64(max(0, contracts)), 10)
			r = append(r, ',')
			r = strconv.AppendInt(r, int64(max(0, insured)), 10)
			r = append(r, ',')
			r = appendBool(r, rng.Float64() < 0.93)
		} else {
			r = append(r, ",,,,"...)
		}
		g.writeRow(fileReviews, r)
	}

	// Cases.
	nc := 0
	if rng.Float64() < min(0.9, genViolationRate*e.mult) {
		n := 1
		switch u := rng.Float64(); {
		case u < 0.006:
			n = 4
		case u < 0.03:
			n = 3
		case u < 0.11:
			n = 2
		}
		serious := seriousNone
		if rng.Float64() < genSeriousRate {
			serious = genSerious[g.pick(g.seriousCum)].kind
		}
		for j := range n {
			s := seriousNone
			if j == 0 {
				s = serious
			}
			g.violationCase(&g.cases[nc], y, s)
			nc++
		}
	}
	if rng.Float64() < genNoViolationRate*e.mult {
		c := &g.cases[nc]
		nc++
		*c = genCase{source: genSources[g.pick(g.sourceCum)].source, outcome: "no_violation"}
		dur := 5 + rng.IntN(36)
		c.opened = rng.IntN(daysInYear(y) - dur)
		c.concluded = c.opened + dur
	}
	if rng.Float64() < genOpenRate*e.mult {
		c := &g.cases[nc]
		nc++
		*c = genCase{source: genSources[g.pick(g.sourceCum)].source, outcome: "pending", concluded: -1}
		c.opened = daysInYear(y) - 1 - rng.IntN(75)
	}
	for j := range nc {
		g.writeCase(&g.cases[j], y, py)
	}

	// Complaints that led to no case.
	if rng.Float64() < genComplaintRate*e.mult {
		n := 1
		if u := rng.Float64(); u < 0.02 {
			n = 3
		} else if u < 0.12 {
			n = 2
		}
		for range n {
			g.writeComplaint(y, py, rng.IntN(daysInYear(y)))
		}
	}

	// Wage-guarantee deposits: builders must pay one unless exempt (some
	// local rules exempt three A years running), some mines too; about
	// 80% of those required have paid. Employers without an obligation or
	// exemption get no row.
	required, record := false, false
	switch e.industry.id {
	case "construction":
		record, required = true, rng.Float64() < 0.9
	case "mining":
		record = rng.Float64() < 0.35
		required = record
	}
	if record {
		r := append(g.row[:0], e.uscc[:]...)
		r = append(r, ',')
		r = strconv.AppendInt(r, int64(y), 10)
		r = append(r, ',')
		r = appendBool(r, required)
		r = append(r, ',')
		r = appendBool(r, required && rng.Float64() < 0.8)
		g.writeRow(fileDeposits, r)
	}
}

// violationCase fills c with a concluded case that found violations, in
// the serious situation s (seriousNone for none).
func (g *generator) violationCase(c *genCase, y, s int) {
	rng := g.rng
	e := &g.emp
	if s == seriousMassIncident && e.employees < 10 {
		s = seriousOrderRefused // a mass incident needs a crowd
	}
	*c = genCase{source: genSources[g.pick(g.sourceCum)].source, outcome: "rectified"}
	if s != seriousNone || rng.Float64() < 0.25 {
		c.outcome = "penalized"
	}
	switch s {
	case seriousChildLabor:
		c.viol[0], c.nviol = "child_labor", 1
	case seriousForcedLabor:
		c.viol[0], c.nviol = "forced_labor", 1
	case seriousMassIncident, seriousImpact, seriousCriminal:
		c.viol[0], c.nviol = "wage_arrears", 1
	}
	n := 1
	if u := rng.Float64(); u < 0.05 {
		n = 3
	} else if u < 0.30 {
		n = 2
	}
	for c.nviol < n {
		v := genViolations[g.pick(g.violCum)].code
		dup := false
		for _, have := range c.viol[:c.nviol] {
			dup = dup || have == v
		}
		if !dup {
			c.viol[c.nviol] = v
			c.nviol++
		}
	}
	switch s {
	case seriousOrderRefused:
		c.flags[0] = true
	case seriousObstructed:
		c.flags[1] = true
	case seriousMassIncident:
		c.flags[2] = true
	case seriousImpact:
		c.flags[3] = true
	case seriousCriminal:
		c.flags[4] = true
	}

	// Workers affected and wages paid back: log-uniform up to a cap that
	// depends on the violation and the trade (construction crews are large).
	wages, minWage := false, false
	for _, v := range c.viol[:c.nviol] {
		wages = wages || v == "wage_arrears"
		minWage = minWage || v == "below_min_wage"
	}
	capW := 10.0
	switch {
	case wages && e.industry.id == "construction":
		capW = 200
	case wages || minWage:
		capW = 40
	case c.viol[0] == "no_contract" || c.viol[0] == "social_insurance":
		capW = 50
	}
	c.workers = min(e.employees, int(g.logUniform(1, capW+1)))
	if s == seriousMassIncident || s == seriousImpact {
		c.workers = min(e.employees, max(c.workers, 10+rng.IntN(60)))
	}
	switch {
	case wages:
		monthly := int64(2500 + 100*rng.IntN(66)) // 2,500–9,000 yuan
		months := int64(1 + rng.IntN(6))
		c.backWages = int64(c.workers) * monthly * months
		if s == seriousCriminal {
			c.backWages = max(c.backWages, int64(20000+100*rng.IntN(800)))
		}
	case minWage:
		c.backWages = int64(c.workers) * int64(100+10*rng.IntN(70)) * int64(1+rng.IntN(12))
	}

	dur := 10 + rng.IntN(81)
	if s != seriousNone {
		dur = 30 + rng.IntN(121)
	}
	c.opened = rng.IntN(daysInYear(y) - dur)
	c.concluded = c.opened + dur
}

// writeCase writes one case and, for a case that started from a complaint,
// the complaint (several for a mass incident), received up to ten days
// before the case was opened.
func (g *generator) writeCase(c *genCase, y, py int) {
	e := &g.emp
	seq := &g.caseSeq[e.region*g.years+py]
	*seq++
	code := g.regions[e.region].code
	r := append(g.row[:0], code...)
	r = append(r, '-')
	r = strconv.AppendInt(r, int64(y), 10)
	r = append(r, '-')
	r = appendSeq(r, *seq, 6)
	r = append(r, ',')
	r = append(r, e.uscc[:]...)
	r = append(r, ',')
	r = append(r, c.source...)
	r = append(r, ',')
	r = appendDate(r, y, c.opened)
	r = append(r, ',')
	if c.concluded >= 0 {
		r = appendDate(r, y, c.concluded)
	}
	r = append(r, ',')
	r = append(r, c.outcome...)
	r = append(r, ',')
	for j, v := range c.viol[:c.nviol] {
		if j > 0 {
			r = append(r, ';')
		}
		r = append(r, v...)
	}
	for _, f := range c.flags {
		r = append(r, ',')
		r = appendBool(r, f)
	}
	r = append(r, ',')
	r = strconv.AppendInt(r, c.backWages, 10)
	r = append(r, ',')
	r = strconv.AppendInt(r, int64(c.workers), 10)
	g.writeRow(fileCases, r)

	if c.source != "complaint" {
		return
	}
	n := 1
	if c.flags[2] {
		n = 2 + g.rng.IntN(4)
	}
	for range n {
		g.writeComplaint(y, py, max(0, c.opened-1-g.rng.IntN(10)))
	}
}

// writeComplaint writes one complaint received on day doy of year y.
func (g *generator) writeComplaint(y, py, doy int) {
	e := &g.emp
	seq := &g.complaintSeq[e.region*g.years+py]
	*seq++
	r := append(g.row[:0], "TS"...)
	r = append(r, g.regions[e.region].code...)
	r = append(r, '-')
	r = strconv.AppendInt(r, int64(y), 10)
	r = append(r, '-')
	r = appendSeq(r, *seq, 6)
	r = append(r, ',')
	r = append(r, e.uscc[:]...)
	r = append(r, ',')
	r = appendDate(r, y, doy)
	g.writeRow(fileComplaints, r)
}
