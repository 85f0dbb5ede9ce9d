package main

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
