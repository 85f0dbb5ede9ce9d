package ratings

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"laborcredit/engine"
)

// The kinds of record and their columns.

// importColumn is a column of a kind of record file.
type importColumn struct {
	name     string   // English header: the name in reasons and in the audit
	headers  []string // other accepted headers, the Chinese of docs/IMPORT.md first
	required bool     // the column must be there, and its cells (but booleans) not empty
	date     bool     // XLSX date cells of the column are read as dates
	isName   bool     // the cells are names or identifiers shown to people: CheckName, not only CheckText
	boolean  bool     // an empty cell is false, even in a required column
	// set parses a non-empty cell into the row, or says why it cannot.
	set func(im *importer, r *importRow, v string) string
}

// importKind is a kind of record file: its columns, its checks, and how
// its rows are staged and merged into their table.
type importKind struct {
	name    string
	columns []importColumn
	// check checks a row whose cells all parsed: the English name of the
	// column at fault and why, or "".
	check func(r *importRow) (column, reason string)
	// resolve checks a batch of parsed rows against the database (employers
	// referred to, the actor's region…), rejecting rows with im.fail.
	resolve func(ctx context.Context, im *importer, rows []*importRow) error
	stage   []stageColumn // staged columns, after row_no
	values  func(r *importRow, vals []any) []any
	table   string   // the table merged into
	key     []string // its natural key: the conflict target, also staged
	set     []string // the columns an update sets
	dupCol  string   // the column a duplicate row is reported under
	// merge, when set, replaces upsert (and calls it).
	merge func(ctx context.Context, im *importer, fresh bool) (inserted, updated int, err error)
}

// stageColumn is a column of the staging table.
type stageColumn struct{ name, pg, sqlite string }

func (k *importKind) column(header string) *importColumn {
	for i := range k.columns {
		c := &k.columns[i]
		if strings.EqualFold(header, c.name) || slices.Contains(c.headers, header) {
			return c
		}
	}
	return nil
}

func (k *importKind) columnList() string {
	var b strings.Builder
	for i, c := range k.columns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", c.name, c.headers[0])
	}
	return b.String()
}

// importRow is one row being imported, parsed.
type importRow struct {
	row        int
	cells      []string // trimmed, by file column
	err        *RowError
	employerID int64
	legacyWhy  string // employers: why the code fails its checks (fine if on the legacy allow-list)

	uscc, name, region, industry string
	employees                    int
	period                       int
	review                       engine.AnnualReview
	required, paid               bool
	kase                         engine.Case
	violations                   string // the case's violations, sorted and ';'-joined
	complaintNo, received        string
}

var (
	sourceLabels  = map[string]string{"投诉举报": "complaint", "日常巡视检查": "routine_inspection", "专项检查": "special_inspection", "书面审查": "written_review"}
	outcomeLabels = map[string]string{"办理中": "pending", "未发现违法": "no_violation", "已整改": "rectified", "行政处罚": "penalized"}
)

var usccColumn = importColumn{name: "uscc", headers: []string{"统一社会信用代码", "社会信用代码"}, required: true, set: setText(func(r *importRow) *string { return &r.uscc })}

var importKinds = []*importKind{
	{
		name: "employers",
		columns: []importColumn{
			{name: "uscc", headers: []string{"统一社会信用代码", "社会信用代码"}, required: true, set: setEmployerCode},
			{name: "name", headers: []string{"单位名称", "用人单位名称", "企业名称"}, required: true, isName: true, set: setText(func(r *importRow) *string { return &r.name })},
			{name: "region", headers: []string{"行政区划代码", "区划代码"}, required: true, set: setRegion},
			{name: "industry", headers: []string{"行业", "所属行业"}, isName: true, set: setText(func(r *importRow) *string { return &r.industry })},
			{name: "employees", headers: []string{"职工人数", "从业人数"}, set: setCount(func(r *importRow) *int { return &r.employees })},
		},
		resolve: resolveEmployers,
		stage:   []stageColumn{{"uscc", "text", "TEXT"}, {"name", "text", "TEXT"}, {"region", "text", "TEXT"}, {"industry", "text", "TEXT"}, {"employees", "integer", "INTEGER"}},
		values: func(r *importRow, v []any) []any {
			return append(v, r.uscc, r.name, r.region, r.industry, r.employees)
		},
		table: "employers", key: []string{"uscc"}, set: []string{"name", "region", "industry", "employees"},
		dupCol: "uscc",
	},
	{
		name: "reviews",
		columns: []importColumn{
			usccColumn,
			{name: "period", headers: []string{"年度"}, required: true, set: setYear(func(r *importRow) *int { return &r.period })},
			{name: "submitted", headers: []string{"是否提交"}, required: true, boolean: true, set: setBool(func(r *importRow) *bool { return &r.review.Submitted })},
			{name: "on_time", headers: []string{"是否按时提交"}, required: true, boolean: true, set: setBool(func(r *importRow) *bool { return &r.review.OnTime })},
			{name: "employees", headers: []string{"职工人数"}, set: setCount(func(r *importRow) *int { return &r.review.Employees })},
			{name: "contracts_signed", headers: []string{"签订劳动合同人数"}, set: setCount(func(r *importRow) *int { return &r.review.ContractsSigned })},
			{name: "insured", headers: []string{"参加社会保险人数", "参保人数"}, set: setCount(func(r *importRow) *int { return &r.review.Insured })},
			{name: "roster_complete", headers: []string{"职工名册完整", "职工名册是否完整"}, boolean: true, set: setBool(func(r *importRow) *bool { return &r.review.RosterComplete })},
		},
		check: func(r *importRow) (string, string) {
			if err := checkReview(r.period, r.review); err != nil {
				var ve *ValidationError
				if errors.As(err, &ve) {
					return ve.Field, ve.Reason
				}
				return "period", err.Error()
			}
			if r.review.ContractsSigned > r.review.Employees {
				return "contracts_signed", fmt.Sprintf("more than the employees (%d)", r.review.Employees)
			}
			if r.review.Insured > r.review.Employees {
				return "insured", fmt.Sprintf("more than the employees (%d)", r.review.Employees)
			}
			return "", ""
		},
		resolve: resolveReferences,
		stage: []stageColumn{{"uscc", "text", "TEXT"}, {"employer_id", "bigint", "INTEGER"}, {"period", "integer", "INTEGER"},
			{"submitted", "boolean", "INTEGER"}, {"on_time", "boolean", "INTEGER"}, {"employees", "integer", "INTEGER"},
			{"contracts_signed", "integer", "INTEGER"}, {"insured", "integer", "INTEGER"}, {"roster_complete", "boolean", "INTEGER"}},
		values: func(r *importRow, v []any) []any {
			ar := &r.review
			return append(v, r.uscc, r.employerID, r.period, ar.Submitted, ar.OnTime, ar.Employees, ar.ContractsSigned, ar.Insured, ar.RosterComplete)
		},
		table: "annual_reviews", key: []string{"employer_id", "period"},
		set:    []string{"submitted", "on_time", "employees", "contracts_signed", "insured", "roster_complete"},
		dupCol: "uscc",
	},
	{
		name: "cases",
		columns: []importColumn{
			{name: "case_no", headers: []string{"案件编号", "案号"}, required: true, isName: true, set: setText(func(r *importRow) *string { return &r.kase.ID })},
			usccColumn,
			{name: "source", headers: []string{"案件来源"}, required: true, set: setEnum(engine.CaseSources, sourceLabels, func(r *importRow) *string { return &r.kase.Source })},
			{name: "opened", headers: []string{"立案日期"}, required: true, date: true, set: setDate(func(r *importRow) *string { return &r.kase.Opened })},
			{name: "concluded", headers: []string{"结案日期"}, date: true, set: setDate(func(r *importRow) *string { return &r.kase.Concluded })},
			{name: "outcome", headers: []string{"处理结果"}, required: true, set: setEnum(engine.Outcomes, outcomeLabels, func(r *importRow) *string { return &r.kase.Outcome })},
			{name: "violations", headers: []string{"违法行为"}, set: setViolations},
			{name: "order_refused", headers: []string{"拒不履行"}, boolean: true, set: setBool(func(r *importRow) *bool { return &r.kase.OrderRefused })},
			{name: "obstructed", headers: []string{"阻挠检查"}, boolean: true, set: setBool(func(r *importRow) *bool { return &r.kase.Obstructed })},
			{name: "mass_incident", headers: []string{"群体性事件"}, boolean: true, set: setBool(func(r *importRow) *bool { return &r.kase.MassIncident })},
			{name: "serious_impact", headers: []string{"严重社会影响"}, boolean: true, set: setBool(func(r *importRow) *bool { return &r.kase.SeriousImpact })},
			{name: "criminal", headers: []string{"追究刑事责任"}, boolean: true, set: setBool(func(r *importRow) *bool { return &r.kase.Criminal })},
			{name: "back_wages", headers: []string{"追发工资", "追发工资金额"}, set: setAmount},
			{name: "workers_affected", headers: []string{"涉及人数", "涉及劳动者人数"}, set: setCount(func(r *importRow) *int { return &r.kase.WorkersAffected })},
		},
		check: func(r *importRow) (string, string) {
			err := r.kase.Validate()
			var fe engine.FactsError
			if !errors.As(err, &fe) {
				return "", ""
			}
			field, _, _ := strings.Cut(fe[0].Path, "[")
			if field == "id" {
				field = "case_no"
			}
			return field, fe[0].Reason
		},
		resolve: resolveReferences,
		stage: []stageColumn{{"case_no", "text", "TEXT"}, {"employer_id", "bigint", "INTEGER"}, {"source", "text", "TEXT"},
			{"opened", "date", "TEXT"}, {"concluded", "date", "TEXT"}, {"outcome", "text", "TEXT"},
			{"order_refused", "boolean", "INTEGER"}, {"obstructed", "boolean", "INTEGER"}, {"mass_incident", "boolean", "INTEGER"},
			{"serious_impact", "boolean", "INTEGER"}, {"criminal", "boolean", "INTEGER"}, {"back_wages", "numeric(16, 2)", "REAL"},
			{"workers_affected", "integer", "INTEGER"}, {"violations", "text", "TEXT"}},
		values: func(r *importRow, v []any) []any {
			c := &r.kase
			var concluded any
			if c.Concluded != "" {
				concluded = c.Concluded
			}
			return append(v, c.ID, r.employerID, c.Source, c.Opened, concluded, c.Outcome, c.OrderRefused, c.Obstructed,
				c.MassIncident, c.SeriousImpact, c.Criminal, strconv.FormatFloat(c.BackWages, 'f', 2, 64), c.WorkersAffected, r.violations)
		},
		table: "cases", key: []string{"case_no"},
		set: []string{"employer_id", "source", "opened", "concluded", "outcome", "order_refused", "obstructed", "mass_incident",
			"serious_impact", "criminal", "back_wages", "workers_affected"},
		dupCol: "case_no",
		merge:  mergeCases,
	},
	{
		name: "complaints",
		columns: []importColumn{
			{name: "complaint_no", headers: []string{"投诉编号"}, required: true, isName: true, set: setText(func(r *importRow) *string { return &r.complaintNo })},
			usccColumn,
			{name: "received", headers: []string{"受理日期"}, required: true, date: true, set: setDate(func(r *importRow) *string { return &r.received })},
		},
		resolve: resolveReferences,
		stage:   []stageColumn{{"complaint_no", "text", "TEXT"}, {"employer_id", "bigint", "INTEGER"}, {"received", "date", "TEXT"}},
		values: func(r *importRow, v []any) []any {
			return append(v, r.complaintNo, r.employerID, r.received)
		},
		table: "complaints", key: []string{"complaint_no"}, set: []string{"employer_id", "received"},
		dupCol: "complaint_no",
	},
	{
		name: "deposits",
		columns: []importColumn{
			usccColumn,
			{name: "period", headers: []string{"年度"}, required: true, set: setYear(func(r *importRow) *int { return &r.period })},
			{name: "required", headers: []string{"是否应缴"}, required: true, boolean: true, set: setBool(func(r *importRow) *bool { return &r.required })},
			{name: "paid", headers: []string{"是否已缴"}, required: true, boolean: true, set: setBool(func(r *importRow) *bool { return &r.paid })},
		},
		resolve: resolveReferences,
		stage: []stageColumn{{"uscc", "text", "TEXT"}, {"employer_id", "bigint", "INTEGER"}, {"period", "integer", "INTEGER"},
			{"required", "boolean", "INTEGER"}, {"paid", "boolean", "INTEGER"}},
		values: func(r *importRow, v []any) []any {
			return append(v, r.uscc, r.employerID, r.period, r.required, r.paid)
		},
		table: "wage_deposits", key: []string{"employer_id", "period"}, set: []string{"required", "paid"},
		dupCol: "uscc",
	},
}

// Cell parsers.

func setText(field func(*importRow) *string) func(*importer, *importRow, string) string {
	return func(_ *importer, r *importRow, v string) string {
		*field(r) = v
		return ""
	}
}

func setCount(field func(*importRow) *int) func(*importer, *importRow, string) string {
	return func(_ *importer, r *importRow, v string) string {
		n, why := parseInt(v)
		switch {
		case why != "":
			return why
		case n < 0 || n > engine.MaxCount:
			return fmt.Sprintf("must be from 0 to %d", engine.MaxCount)
		}
		*field(r) = n
		return ""
	}
}

func setYear(field func(*importRow) *int) func(*importer, *importRow, string) string {
	return func(_ *importer, r *importRow, v string) string {
		n, why := parseInt(v)
		switch {
		case why != "":
			return why
		case n < 1990 || n > 2100:
			return "must be a year between 1990 and 2100"
		}
		*field(r) = n
		return ""
	}
}

// parseInt reads a whole number; "12.0" (as spreadsheets write numbers) is 12.
func parseInt(v string) (int, string) {
	if n, err := strconv.Atoi(v); err == nil {
		return n, ""
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, "not a whole number"
	}
	if f != math.Trunc(f) || math.Abs(f) > 1e15 {
		return 0, "not a whole number"
	}
	return int(f), ""
}

func setBool(field func(*importRow) *bool) func(*importer, *importRow, string) string {
	return func(_ *importer, r *importRow, v string) string {
		switch strings.ToLower(v) {
		case "true", "1", "yes", "y", "是":
			*field(r) = true
		case "false", "0", "no", "n", "否":
			*field(r) = false
		default:
			return "not a boolean: want true/false, 1/0, yes/no, y/n or 是/否"
		}
		return ""
	}
}

func setDate(field func(*importRow) *string) func(*importer, *importRow, string) string {
	return func(_ *importer, r *importRow, v string) string {
		if !engine.ValidDate(v) {
			return "not a date: want YYYY-MM-DD"
		}
		*field(r) = v
		return ""
	}
}

func setEnum(values []string, labels map[string]string, field func(*importRow) *string) func(*importer, *importRow, string) string {
	return func(_ *importer, r *importRow, v string) string {
		if code, ok := labels[v]; ok {
			v = code
		}
		if !slices.Contains(values, v) {
			return "unknown value: want one of " + strings.Join(values, ", ")
		}
		*field(r) = v
		return ""
	}
}

func setAmount(_ *importer, r *importRow, v string) string {
	f, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		return "not an amount in yuan, e.g. 52000.50"
	case f < 0:
		return "must not be negative"
	case f > engine.MaxAmount:
		return fmt.Sprintf("must be at most %.0f yuan", engine.MaxAmount)
	case math.Abs(math.Round(f*100)-f*100) > 1e-6:
		return "at most two decimals (yuan and fen)"
	}
	r.kase.BackWages = f
	return ""
}

func setViolations(_ *importer, r *importRow, v string) string {
	var vs []string
	for _, p := range strings.FieldsFunc(v, func(c rune) bool { return c == ';' || c == '；' }) {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(engine.Violations, p) {
			return fmt.Sprintf("unknown violation %q: want codes of %s separated by ;", p, strings.Join(engine.Violations, ", "))
		}
		if !slices.Contains(vs, p) {
			vs = append(vs, p)
		}
	}
	slices.Sort(vs)
	r.kase.Violations = vs
	r.violations = strings.Join(vs, ";")
	return ""
}

// setEmployerCode checks an employer's own code as CheckCode does; a code
// that fails its check characters waits for the legacy allow-list.
func setEmployerCode(_ *importer, r *importRow, v string) string {
	err := engine.CheckUSCC(v)
	if err == nil {
		err = engine.CheckOrgCode(v)
	}
	if err != nil {
		if len(v) != 18 {
			return "not a valid unified social credit code: " + err.Error()
		}
		r.legacyWhy = err.Error()
	}
	r.uscc = v
	return ""
}

func setRegion(im *importer, r *importRow, v string) string {
	if err := im.s.regions.Check(v); err != nil {
		return err.Error()
	}
	r.region = v
	return ""
}
