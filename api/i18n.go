package api

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// lang is a language the web pages are written in, as its BCP 47 tag.
type lang string

const (
	langZH lang = "zh-CN" // the default
	langEN lang = "en"
)

// loc is the language of one page: it translates and builds links that
// keep the language.
type loc struct{ lang lang }

// chooseLang picks the language of a request: ?lang=zh|en overrides (an
// unknown value is ignored), else the best Accept-Language entry we have,
// by q-value, else zh-CN.
func chooseLang(param, acceptLanguage string) loc {
	if l, ok := parseLangTag(param); ok {
		return loc{l}
	}
	if l, ok := langFromHeader(acceptLanguage); ok {
		return loc{l}
	}
	return loc{langZH}
}

// parseLangTag maps a language tag to one of ours: zh and zh-* (zh-CN,
// zh-Hans…) to zh-CN, en and en-* to en.
func parseLangTag(tag string) (lang, bool) {
	tag = strings.ToLower(strings.TrimSpace(tag))
	base, _, _ := strings.Cut(tag, "-")
	switch base {
	case "zh":
		return langZH, true
	case "en":
		return langEN, true
	}
	return "", false
}

// langFromHeader picks from an Accept-Language header the language with
// the highest q-value (the first on a tie); "*" stands for zh-CN and q=0
// refuses a language.
func langFromHeader(h string) (lang, bool) {
	var best lang
	bestQ := 0.0
	for part := range strings.SplitSeq(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(p, "=")
			if !ok || strings.TrimSpace(k) != "q" {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				f = 0
			}
			q = f
		}
		l, ok := parseLangTag(tag)
		if strings.TrimSpace(tag) == "*" {
			l, ok = langZH, true
		}
		if ok && q > bestQ {
			best, bestQ = l, q
		}
	}
	return best, best != ""
}

// Lang is the page's BCP 47 tag, for <html lang>.
func (l loc) Lang() string { return string(l.lang) }

// Param is the value of ?lang= that keeps this language.
func (l loc) Param() string {
	if l.lang == langEN {
		return "en"
	}
	return "zh"
}

// other is the language the switch link offers.
func (l loc) other() loc {
	if l.lang == langEN {
		return loc{langZH}
	}
	return loc{langEN}
}

// T translates a message key; with args, the message is a fmt format. A
// missing key shows as MISSING:key, which the tests look for.
func (l loc) T(key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return "MISSING:" + key
	}
	s := m[0]
	if l.lang == langEN {
		s = m[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// codeReasons are engine.CheckUSCC's reasons, matched so that a zh-CN
// page says them in Chinese; the English page shows them as they are.
var codeReasons = []struct {
	re  *regexp.Regexp
	key string
}{
	{regexp.MustCompile(`^must be 18 characters, got (\d+)$`), "err.code.length"},
	{regexp.MustCompile(`^character (\d+) \('(.+)'\) is not in the USCC character set`), "err.code.char"},
	{regexp.MustCompile(`^check character is '(.+)', want '(.+)'$`), "err.code.check"},
}

// CodeReason is why a code is malformed, in the page's language.
func (l loc) CodeReason(err error) string {
	reason := err.Error()
	if l.lang == langEN {
		return reason
	}
	for _, r := range codeReasons {
		if m := r.re.FindStringSubmatch(reason); m != nil {
			args := make([]any, len(m)-1)
			for i, g := range m[1:] {
				args[i] = g
			}
			return l.T(r.key, args...)
		}
	}
	return reason
}

// URL is a link to path that keeps the language, with the query
// parameters given as name, value pairs; empty strings and zero numbers
// are left out.
func (l loc) URL(path string, kv ...any) string {
	v := url.Values{}
	v.Set("lang", l.Param())
	for i := 0; i+1 < len(kv); i += 2 {
		name := fmt.Sprint(kv[i])
		switch x := kv[i+1].(type) {
		case string:
			if x != "" {
				v.Set(name, x)
			}
		case int:
			if x != 0 {
				v.Set(name, strconv.Itoa(x))
			}
		default:
			v.Set(name, fmt.Sprint(x))
		}
	}
	return path + "?" + v.Encode()
}

// messages is the catalog: key → {zh-CN, en}.
var messages = map[string][2]string{
	"site.name":    {"劳动保障守法诚信等级公示", "Labor-Law Integrity Ratings"},
	"site.tagline": {"用人单位劳动保障守法诚信等级评价结果查询", "Published labor-law integrity grades of employers"},
	"nav.home":     {"首页", "Home"},
	"nav.awards":   {"最佳诚信单位", "Best Integrity Units"},
	"nav.stats":    {"统计", "Statistics"},
	"nav.public":   {"公示", "Publicity"},
	"nav.label":    {"主导航", "Main navigation"},
	"lang.switch":  {"English", "中文"},
	"lang.name":    {"en", "zh-CN"},
	"footer.source": {"数据来源：人力资源社会保障行政部门（劳动保障监察机构）依法作出并公布的用人单位劳动保障守法诚信等级评价结果。",
		"Source: the labor-law integrity ratings of employers made and published by the human resources and social security authorities (labor inspection)."},
	"footer.published": {"本站只显示已公布的评价结果，不含任何职工个人信息。",
		"Only published ratings are shown here, and never any worker's personal data."},
	"footer.api": {"开放接口", "Open API"},

	"form.q":            {"单位名称或统一社会信用代码", "Employer name or unified social credit code"},
	"form.q.hint":       {"输入名称的一部分，或完整的18位代码", "Part of the name, or the whole 18-character code"},
	"form.province":     {"省份", "Province"},
	"form.city":         {"市（州）", "City"},
	"form.county":       {"区（县）", "County"},
	"form.any.province": {"全部省份", "All provinces"},
	"form.any.city":     {"全部市（州）", "All cities"},
	"form.any.county":   {"全部区（县）", "All counties"},
	"form.region.hint":  {"选择上一级后点“查询”，即可选择下一级地区。", "Choose a province and press Search to choose a city, then a county."},
	"form.grade":        {"等级", "Grade"},
	"form.any.grade":    {"全部等级", "All grades"},
	"form.period":       {"评价年度", "Period"},
	"form.latest":       {"最新公布年度", "Latest published"},
	"form.all.periods":  {"全部年度", "All periods"},
	"form.submit":       {"查询", "Search"},
	"form.filter":       {"筛选条件", "Filter"},

	"col.name":                  {"单位名称", "Employer"},
	"col.code":                  {"统一社会信用代码", "Unified social credit code"},
	"col.region":                {"所在地区", "Region"},
	"col.grade":                 {"等级", "Grade"},
	"col.period":                {"年度", "Period"},
	"col.published":             {"公布日期", "Published"},
	"col.award":                 {"称号", "Title"},
	"col.approved":              {"批准日期", "Approved"},
	"col.ends":                  {"公示截止日", "Publicity ends"},
	"col.rating":                {"评价编号（rating_id）", "Rating number (rating_id)"},
	"col.total":                 {"合计", "Total"},
	"col.reasons":               {"理由", "Reasons"},
	"grade.badge":               {"%s级", "Grade %s"},
	"grade.meaning":             {"等级说明", "What the grades mean"},
	"grade.A":                   {"遵守劳动保障法律、法规和规章，未因劳动保障违法行为被查处。", "Kept the labor and social-security laws, regulations and rules; not penalised for any violation."},
	"grade.B":                   {"因劳动保障违法行为被查处，但不属于C级所列情形。", "Penalised for a labor-law violation, but none of the grade C cases applies."},
	"grade.C":                   {"因劳动保障违法行为被查处三次以上，或引发群体性、极端事件或造成严重不良社会影响，或使用童工、强迫劳动，或拒不履行整改指令、处理处罚决定，或无理抗拒、阻挠劳动保障监察，或被追究刑事责任。", "Penalised three or more times; or a violation caused a mass or extreme incident or serious harm; or used child or forced labor; or refused inspection orders or decisions; or obstructed inspection; or was held criminally liable."},
	"award.best-integrity-unit": {"最佳诚信单位", "Best Integrity Unit"},

	"home.title":       {"评价结果查询", "Search published ratings"},
	"home.count":       {"%[2]d 年度共 %[1]d 家单位", "%[1]d employers, period %[2]d"},
	"home.capped":      {"%[2]d 年度超过 %[1]d 家单位，仅显示前 %[1]d 家；请输入名称或选择地区、等级以缩小范围", "More than %[1]d employers in period %[2]d; the first %[1]d are shown — narrow the search by name, region or grade"},
	"home.nothing":     {"尚无已公布的评价结果。", "No rating has been published yet."},
	"home.none":        {"没有符合条件的已公布评价。", "No published rating matches."},
	"pager.label":      {"分页", "Pages"},
	"pager.of":         {"第 %d 页，共 %d 页", "Page %d of %d"},
	"pager.prev":       {"上一页", "Previous"},
	"pager.next":       {"下一页", "Next"},
	"employer.title":   {"%s 的守法诚信等级", "Integrity grades of %s"},
	"employer.history": {"各年度评价结果", "Published grades by period"},
	"employer.clean":   {"未发现劳动保障违法行为。", "No labor-law violation found."},
	"employer.corrected": {"该年度评价结果公布后已依法更正，以上为更正后的结果。",
		"This rating was corrected after it was published; the corrected rating is shown."},
	"employer.reasons.unavailable": {"该年度的理由请查阅当年公布的评价结果。", "See the rating published that year for its reasons."},
	"employer.awards":              {"获得称号", "Titles awarded"},
	"employer.awards.of":           {"获得称号：", "Titles: "},
	"employer.published":           {"公布日期：%s", "Published: %s"},
	"list.sep":                     {"、", ", "},
	"employer.awards.none":         {"无", "None"},
	"employer.reason":              {"%s（%s）", "%s (basis: %s)"},
	"employer.reasons.note":        {"", "Reasons and legal bases are quoted as published, in Chinese."},
	"awards.title":                 {"最佳诚信单位名单", "Roll of Best Integrity Units"},
	"awards.intro": {"经市（州）推荐、省级人力资源社会保障行政部门审核批准的劳动保障守法诚信最佳诚信单位。",
		"Employers nominated by their city and approved by the provincial human resources and social security department."},
	"awards.none":    {"所选年度和地区暂无最佳诚信单位。", "No best integrity unit for this period and region."},
	"stats.title":    {"等级分布统计", "Grade statistics"},
	"stats.byregion": {"%[1]s %[2]d 年度各地区等级分布", "Grades by region in %[1]s, period %[2]d"},
	"stats.trend":    {"%s 各年度等级占比变化", "Share of each grade by period in %s"},
	"stats.all":      {"全国", "All provinces"},
	"stats.self":     {"%s（本级）", "%s (itself)"},
	"stats.none":     {"所选年度和地区暂无已公布的评价。", "No published rating for this period and region."},
	"stats.beside":   {"共 %d", "total %d"},
	"stats.desc.byregion": {"横向堆叠条形图：每个地区一条，按等级分段，长度为单位数，右侧为各等级单位数。",
		"Horizontal stacked bars, one per region, split by grade; the length is the number of employers, with the numbers beside each bar."},
	"stats.desc.trend": {"横向堆叠条形图：每个年度一条，按等级分段，长度为占比，右侧为各等级占比和单位数。",
		"Horizontal stacked bars, one per period, split by grade; the length is the share, with the shares and numbers beside each bar."},
	"stats.cell":     {"%d（%s）", "%d (%s)"},
	"stats.drill":    {"查看下级地区", "Break down"},
	"public.title":   {"评价结果公示", "Ratings under publicity"},
	"public.intro":   {"以下评价结果正在公示，公示期满且无异议（或异议不成立）后予以公布。", "These ratings are under publicity; they are published when the period ends without an open objection."},
	"public.none":    {"目前没有正在公示的评价结果。", "No rating is under publicity now."},
	"public.how":     {"如何提出异议", "How to object"},
	"public.how.1":   {"公示期内，任何单位和个人均可对公示的评价结果提出异议。", "While a rating is under publicity, anyone may object to it."},
	"public.how.2":   {"异议须以书面形式提出，写明异议人的真实姓名和联系方式（电话或电子邮箱），说明理由并附证据材料；被评价单位也可用本单位账号提出。", "An objection is made in writing, signed with your real name and a way to reach you (a phone number or an e-mail address), with your reasons and the evidence; the rated employer may also object with its own account."},
	"public.how.3":   {"须在公示截止日当天结束前（北京时间）提出；逾期不予受理。", "It must arrive before the end of the publicity end date (China time); later objections are not accepted."},
	"public.how.4":   {"可通过接口 %s 提交，字段为 rating_id（评价编号）、filed_by（异议人姓名）、contact（电话或电子邮箱）、reason（理由）和 evidence（证据），详见", "Either send it to %s with rating_id (the rating number), filed_by (your name), contact (a phone number or an e-mail address), reason and evidence — see"},
	"public.how.sep": {"；", "; "},
	"public.how.doc": {"接口文档（OpenAPI）", "the API document (OpenAPI)"},
	"public.how.5":   {"也可书面递交作出该评价的人力资源社会保障行政部门（劳动保障监察机构）。", "or deliver it in writing to the human resources and social security department (labor inspection) that made the rating."},
	"public.how.6":   {"有未处理完毕异议的评价暂缓公布；异议成立的，重新审核评价。", "A rating with an open objection is held; if the objection is upheld, the rating is reviewed again."},

	"err.title":        {"出错了", "Something is wrong"},
	"err.400":          {"请求有误", "Bad request"},
	"err.404":          {"页面不存在", "Page not found"},
	"err.404.text":     {"您要找的页面不存在。", "There is no page at this address."},
	"err.429":          {"访问过于频繁", "Too many requests"},
	"err.429.text":     {"来自您所在网络地址的访问过于频繁，请 %s 秒后再试。", "Too many requests from your address; please try again in %s seconds."},
	"err.500":          {"服务暂时不可用", "Service unavailable"},
	"err.500.text":     {"服务器出错，已记录，请稍后再试。", "The server failed; it has been logged. Please try again later."},
	"err.home":         {"返回首页", "Back to the home page"},
	"err.region":       {"地区代码 %s 有误：%s", "Region code %s is wrong: %s"},
	"err.region.6":     {"不是6位数字", "it is not 6 digits"},
	"err.region.list":  {"不在行政区划代码（GB/T 2260）表中", "it is not on the GB/T 2260 list"},
	"err.region.level": {"不是该级地区", "it is not a region of that level"},
	"err.grade":        {"等级 %q 有误：只能是 A、B 或 C。", "Grade %q is wrong: it must be A, B or C."},
	"err.number":       {"%s 须为正整数，而不是 %q。", "%s must be a whole number, not %q."},
	"err.code":         {"统一社会信用代码 %s 格式不正确：%s", "The unified social credit code %s is malformed: %s"},
	"err.code.length":  {"应为18位，实为%s位", "must be 18 characters, got %s"},
	"err.code.char":    {"第%s位字符“%s”不是统一社会信用代码使用的字符（数字和除I、O、S、V、Z以外的大写英文字母）", "character %s (%s) is not in the USCC character set"},
	"err.code.check":   {"校验码（第18位）为“%s”，按前17位应为“%s”，请核对代码", "check character is %s, want %s"},
	"err.notfound":     {"没有统一社会信用代码为 %s 的单位已公布的评价结果。", "There is no published rating of an employer with the code %s."},
	"err.perpage":      {"每页最多 100 条，而不是 %d。", "At most 100 a page, not %d."},
	"err.input":        {"输入有误：%s", "Wrong input: %s"},
}
