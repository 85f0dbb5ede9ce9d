package ratings

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"
	"github.com/uptrace/bun"

	"laborcredit/engine"
)

// MaxRejectedReported is how many rejected rows an import that does not
// skip them lists in its report: the first ones, by row. All are counted.
const MaxRejectedReported = 1000

// MaxImportRejected is the most rows an import that skips invalid rows
// may reject (it lists every one): past it, the import imports nothing.
const MaxImportRejected = 100_000

// ImportParams say what to import (docs/IMPORT.md describes the files).
type ImportParams struct {
	Kind        string    // employers, reviews, cases, complaints or deposits
	FileName    string    // the file's name: its extension (.csv, .xlsx) picks the format; recorded in the audit log
	Reader      io.Reader // the file's bytes; an io.ReadSeeker lets a CSV import report its total
	SkipInvalid bool      // import the valid rows and report every rejected one; default: any bad row imports nothing
	// Progress is called every BatchSize rows with the rows read so far and
	// the rows expected (an estimate; 0 when unknown: an XLSX file, or a
	// reader that cannot seek), and once at the end with the rows read as
	// both; may be nil.
	Progress  func(done, total int)
	BatchSize int // rows validated and staged together; default 5,000
	// Timeout is the deadline of the whole import, within ctx's own;
	// default DefaultImportTimeout. An import past it imports nothing and
	// is a *ValidationError of the field "file".
	Timeout time.Duration
}

// ImportReport says what an import did, or would have done.
type ImportReport struct {
	Kind      string `json:"kind"`
	Rows      int    `json:"rows"`      // data rows read (blank rows are skipped)
	Inserted  int    `json:"inserted"`  // new records
	Updated   int    `json:"updated"`   // records that existed with some value different
	Unchanged int    `json:"unchanged"` // records that existed with every value the same
	// Rejected lists rejected rows by row number, one entry per row (its
	// first problem): every one with SkipInvalid, else the first
	// MaxRejectedReported.
	Rejected      []RowError `json:"rejected"`
	RejectedCount int        `json:"rejected_count"` // every rejected row
}

// RowError is a rejected row of a record file.
type RowError struct {
	Row    int    `json:"row"`    // the row as a spreadsheet shows it: the header is row 1
	Column string `json:"column"` // the column's header as written in the file
	Value  string `json:"value"`  // the cell, trimmed
	Reason string `json:"reason"`
}

// ImportError is an import that imported nothing because of bad rows or
// a bad header; Report says which.
type ImportError struct {
	Report *ImportReport
	header bool
}

func (e *ImportError) Error() string {
	r := e.Report
	first := ""
	if len(r.Rejected) > 0 {
		f := r.Rejected[0]
		v := ""
		if f.Value != "" && f.Value != f.Column {
			v = " " + strconv.Quote(f.Value)
		}
		first = fmt.Sprintf("row %d, column %s%s: %s", f.Row, f.Column, v, f.Reason)
	}
	if e.header {
		return fmt.Sprintf("invalid header (%s): %s", importPlural(r.RejectedCount, "problem"), first)
	}
	return fmt.Sprintf("%d of %d rows invalid; first: %s", r.RejectedCount, r.Rows, first)
}

// ImportKinds lists the kinds of record file Import reads.
func ImportKinds() []string {
	out := make([]string, len(importKinds))
	for i, k := range importKinds {
		out[i] = k.name
	}
	return out
}

// ImportFormat tells a record file's format by its name's extension:
// "csv" or "xlsx".
func ImportFormat(fileName string) (string, error) {
	switch strings.ToLower(filepath.Ext(fileName)) {
	case ".csv":
		return "csv", nil
	case ".xlsx":
		return "xlsx", nil
	}
	return "", invalid("file", "%q: want a .csv or .xlsx file", filepath.Base(fileName))
}

func importKindNamed(name string) (*importKind, error) {
	for _, k := range importKinds {
		if k.name == name {
			return k, nil
		}
	}
	return nil, invalid("kind", "unknown kind %q: want one of %s", name, strings.Join(ImportKinds(), ", "))
}

// Import reads a record file of one kind and writes its records in one
// transaction: new ones are inserted, existing ones (by natural key)
// updated where a value differs. Every row is checked first; by default a
// single bad row imports nothing and the error is an *ImportError carrying
// the report. Rows are read, checked and staged a batch at a time, so
// memory does not grow with the file (but for the rejected rows listed).
func (s *Service) Import(ctx context.Context, a Actor, p ImportParams) (*ImportReport, error) {
	if err := officer(a); err != nil {
		return nil, err
	}
	k, err := importKindNamed(p.Kind)
	if err != nil {
		return nil, err
	}
	format, err := ImportFormat(p.FileName)
	if err != nil {
		return nil, err
	}
	if p.Reader == nil {
		return nil, invalid("file", "no file to import")
	}
	if p.BatchSize <= 0 {
		p.BatchSize = 5000
	}
	timeout := cmp.Or(p.Timeout, DefaultImportTimeout)
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep, err := s.importFile(ctx, a, k, format, p)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil {
		return nil, invalid("file", "the import took longer than its limit of %s; nothing was imported (split the file)", timeout)
	}
	return rep, err
}

func (s *Service) importFile(ctx context.Context, a Actor, k *importKind, format string, p ImportParams) (*ImportReport, error) {
	var err error
	total := 0
	if rs, ok := p.Reader.(io.ReadSeeker); ok && p.Progress != nil && format == "csv" {
		if total, err = countRows(rs); err != nil {
			return nil, fmt.Errorf("import %s: %w", k.name, err)
		}
	}
	sum := sha256.New()
	t, err := openTable(ctx, format, p.Reader, sum)
	if err != nil {
		return nil, err
	}
	defer t.close()
	hm, err := readHeader(k, t)
	if err != nil {
		return nil, err
	}
	rep := &ImportReport{Kind: k.name, Rejected: []RowError{}}
	shown := [2]int{-1, -1} // the last progress reported
	progress := func(done, total int) {
		if p.Progress != nil && shown != [2]int{done, total} {
			shown = [2]int{done, total}
			p.Progress(done, total)
		}
	}
	err = s.inTx(ctx, func(tx bun.Tx) error {
		im := &importer{s: s, a: a, k: k, tx: tx, pg: IsPostgres(tx), skip: p.SkipInvalid, hm: hm, rep: rep}
		if err := im.read(ctx, t, p.BatchSize, func(done int) { progress(done, total) }); err != nil {
			return err
		}
		if rep.RejectedCount > 0 && !p.SkipInvalid {
			// Nothing will be imported: the report lists the duplicates too.
			if _, err := im.duplicates(ctx); err != nil {
				return err
			}
			return &ImportError{Report: rep}
		}
		if err := im.merge(ctx); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, t.rest()); err != nil { // the hash covers the whole file
			return fmt.Errorf("import %s: %w", k.name, err)
		}
		after := importAudit{File: filepath.Base(p.FileName), SHA256: hex.EncodeToString(sum.Sum(nil)), Rows: rep.Rows,
			Inserted: rep.Inserted, Updated: rep.Updated, Unchanged: rep.Unchanged, Rejected: rep.RejectedCount}
		if err := appendAudit(ctx, tx, s.now(), a, "records.import", "import:"+k.name, nil, after); err != nil {
			return err
		}
		return im.dropStage(ctx)
	})
	if err != nil {
		var ie *ImportError
		if errors.As(err, &ie) {
			return nil, err
		}
		return nil, fmt.Errorf("import %s from %s: %w", k.name, filepath.Base(p.FileName), err)
	}
	progress(rep.Rows, rep.Rows)
	s.log.InfoContext(ctx, "records imported", "kind", k.name, "file", filepath.Base(p.FileName), "rows", rep.Rows,
		"inserted", rep.Inserted, "updated", rep.Updated, "unchanged", rep.Unchanged, "rejected", rep.RejectedCount)
	// An employer moved to another region moves its published grades in
	// the statistics.
	s.markStatsStale(k.name == "employers" && rep.Updated > 0)
	return rep, nil
}

// importAudit is the audit entry of an import.
type importAudit struct {
	File      string `json:"file"`
	SHA256    string `json:"sha256"`
	Rows      int    `json:"rows"`
	Inserted  int    `json:"inserted"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Rejected  int    `json:"rejected"`
}

// ReadImportFile reads a record file of a kind as Import reads it, without
// checking the values: each is called with the header row and then with
// every data row that is not blank, with its row number and its cells
// (trimmed; XLSX date cells of date columns as YYYY-MM-DD; nil for a row
// that is not well-formed CSV). A bad header is an *ImportError.
func ReadImportFile(kind, fileName string, r io.Reader, each func(row int, cells []string) error) error {
	k, err := importKindNamed(kind)
	if err != nil {
		return err
	}
	format, err := ImportFormat(fileName)
	if err != nil {
		return err
	}
	t, err := openTable(context.Background(), format, r, nil)
	if err != nil {
		return err
	}
	defer t.close()
	hm, err := readHeader(k, t)
	if err != nil {
		return err
	}
	if err := each(hm.row, hm.cells); err != nil {
		return err
	}
	for {
		row, cells, err := t.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var se *syntaxError
		switch {
		case errors.As(err, &se):
			row, cells = se.row, nil
		case err != nil:
			return err
		case blankRow(cells):
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if err := each(row, cells); err != nil {
			return err
		}
	}
}

// countRows counts the data rows of a CSV file, roughly (lines but the
// header), and seeks back to where it started.
func countRows(rs io.ReadSeeker) (int, error) {
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 256<<10)
	lines, last := 0, byte('\n')
	for read := 0; read <= MaxImportCSVBytes; { // past it, the import refuses the file
		n, err := rs.Read(buf)
		read += n
		lines += bytes.Count(buf[:n], []byte{'\n'})
		if n > 0 {
			last = buf[n-1]
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		lines++
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return 0, err
	}
	return max(lines-1, 0), nil
}

// The header.

// headerMap maps a file's columns to a kind's.
type headerMap struct {
	row   int
	cells []string        // the header cells as written, trimmed
	cols  []*importColumn // by file column; nil for a column with an empty header
	pos   map[string]int  // the kind's column name → file column
}

// header is how the file names a column of the kind (its English name
// when the file lacks it).
func (h *headerMap) header(name string) string {
	if i, ok := h.pos[name]; ok {
		return h.cells[i]
	}
	return name
}

// readHeader reads the first row as the header and checks it: every
// header known, none twice, every required column present.
func readHeader(k *importKind, t table) (*headerMap, error) {
	row, cells, err := t.next()
	var se *syntaxError
	switch {
	case errors.Is(err, io.EOF):
		return nil, invalid("file", "empty: the first row must hold the column headers")
	case errors.As(err, &se):
		return nil, &ImportError{Report: &ImportReport{Kind: k.name, Rejected: []RowError{{Row: se.row, Reason: se.reason}}, RejectedCount: 1}, header: true}
	case err != nil:
		return nil, fmt.Errorf("read header: %w", err)
	}
	hm := &headerMap{row: row, cells: make([]string, len(cells)), cols: make([]*importColumn, len(cells)), pos: map[string]int{}}
	var errs []RowError
	dates := make([]bool, len(cells))
	for i, c := range cells {
		h := strings.TrimSpace(c)
		hm.cells[i] = h
		if h == "" {
			continue
		}
		if why := cellProblem(h, false); why != "" {
			errs = append(errs, RowError{Row: row, Column: columnLetter(i), Value: shownValue(h), Reason: why})
			continue
		}
		col := k.column(h)
		if col == nil {
			errs = append(errs, RowError{Row: row, Column: h, Value: h,
				Reason: fmt.Sprintf("unknown column (a misspelling?); %s files have: %s", k.name, k.columnList())})
			continue
		}
		if j, dup := hm.pos[col.name]; dup {
			errs = append(errs, RowError{Row: row, Column: h, Value: h,
				Reason: fmt.Sprintf("column %s names %s again (column %s is %q)", columnLetter(i), col.name, columnLetter(j), hm.cells[j])})
			continue
		}
		hm.pos[col.name] = i
		hm.cols[i] = col
		dates[i] = col.date
	}
	for i := range k.columns {
		col := &k.columns[i]
		if _, ok := hm.pos[col.name]; col.required && !ok {
			errs = append(errs, RowError{Row: row, Column: col.name, Reason: fmt.Sprintf("missing required column %s (%s)", col.name, col.headers[0])})
		}
	}
	if len(errs) > 0 {
		return nil, &ImportError{Report: &ImportReport{Kind: k.name, Rejected: errs, RejectedCount: len(errs)}, header: true}
	}
	t.dates(dates)
	return hm, nil
}

const notUTF8 = "not UTF-8 text: save the file as CSV UTF-8 (a GBK file reads like this)"

// cellProblem says why a cell cannot be imported, or "": over
// MaxImportCell, or refused by CheckText (CheckName for a name).
func cellProblem(v string, name bool) string {
	if len(v) > MaxImportCell {
		return fmt.Sprintf("%d bytes, over the limit of %s a cell", len(v), byteSize(MaxImportCell))
	}
	check := CheckText
	if name {
		check = CheckName
	}
	var ve *ValidationError
	if err := check("", v); errors.As(err, &ve) {
		if !utf8.ValidString(v) {
			return notUTF8 + "; " + ve.Reason
		}
		return ve.Reason
	}
	return ""
}

// shownValue is a cell as a report shows it: valid UTF-8, NUL bytes
// replaced, at most 200 bytes.
func shownValue(v string) string {
	v = strings.ReplaceAll(strings.ToValidUTF8(v, "\uFFFD"), "\x00", "\uFFFD")
	if len(v) > 200 {
		i := 200
		for i > 0 && !utf8.RuneStart(v[i]) {
			i--
		}
		v = v[:i] + "…"
	}
	return v
}

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

// The import of one file, in its transaction.

type importer struct {
	s      *Service
	a      Actor
	k      *importKind
	tx     bun.Tx
	pg     bool
	skip   bool
	hm     *headerMap
	rep    *ImportReport
	staged int // rows staged
	vals   []any
	// copying is the COPY into copyTable in progress (PostgreSQL): kept open
	// from batch to batch while no query needs the connection, so that the
	// server stores rows while the next batch is read.
	copying   *sql.Stmt
	copyTable string
}

// fail rejects a row: its first problem is the one reported.
func (im *importer) fail(r *importRow, column, reason string) {
	if r.err != nil {
		return
	}
	value := ""
	if i, ok := im.hm.pos[column]; ok && i < len(r.cells) {
		value = r.cells[i]
	}
	r.err = &RowError{Row: r.row, Column: im.hm.header(column), Value: value, Reason: reason}
}

func (im *importer) reject(e RowError) error {
	im.rep.RejectedCount++
	if im.skip || len(im.rep.Rejected) < MaxRejectedReported {
		im.rep.Rejected = append(im.rep.Rejected, e)
	}
	return im.tooManyRejected()
}

// tooManyRejected refuses an import that skips its invalid rows once over
// MaxImportRejected of them are rejected (each is kept for the report).
func (im *importer) tooManyRejected() error {
	if !im.skip || im.rep.RejectedCount <= MaxImportRejected {
		return nil
	}
	return limitError("over %d rows rejected, the limit of an import that skips them; nothing was imported", MaxImportRejected)
}

// read reads, checks and stages every row, a batch at a time.
func (im *importer) read(ctx context.Context, t table, batch int, progress func(done int)) (err error) {
	defer func() {
		// A COPY left open would still be reading from the connection when
		// the transaction rolls back: close it first.
		if stmt := im.copying; err != nil && stmt != nil {
			im.copying = nil
			stmt.Close()
		}
	}()
	if err := im.createStage(ctx); err != nil {
		return err
	}
	rows := make([]*importRow, 0, batch)
	free := make([]*importRow, 0, batch) // rows of flushed batches, for reuse
	newRow := func(row int) *importRow {
		if n := len(free); n > 0 {
			r := free[n-1]
			free = free[:n-1]
			*r = importRow{row: row}
			return r
		}
		return &importRow{row: row}
	}
	flush := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := im.flush(ctx, rows); err != nil {
			return err
		}
		free = append(free, rows...)
		rows = rows[:0]
		progress(im.rep.Rows)
		return nil
	}
	for {
		row, cells, err := t.next()
		if errors.Is(err, io.EOF) {
			break
		}
		var se *syntaxError
		if errors.As(err, &se) {
			im.rep.Rows++
			r := newRow(se.row)
			r.err = &RowError{Row: se.row, Reason: se.reason}
			rows = append(rows, r)
		} else if err != nil {
			return err
		} else if !blankRow(cells) {
			im.rep.Rows++
			r := newRow(row)
			im.parse(r, cells)
			rows = append(rows, r)
		}
		if len(rows) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(rows) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return im.idle(ctx)
}

// parse reads a row's cells into r, in the file's column order, then
// checks the row as a whole.
func (im *importer) parse(r *importRow, cells []string) {
	r.cells = cells
	row := r.row
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	hm := im.hm
	for i, v := range cells {
		var col *importColumn
		if i < len(hm.cols) {
			col = hm.cols[i]
		}
		if col == nil {
			if v != "" {
				r.err = &RowError{Row: row, Column: columnLetter(i), Value: shownValue(v), Reason: "a value in a column without a header"}
				return
			}
			continue
		}
		if why := cellProblem(v, col.isName); why != "" {
			r.err = &RowError{Row: row, Column: hm.cells[i], Value: shownValue(v), Reason: why}
			return
		}
		if v == "" {
			if col.required && !col.boolean {
				r.err = &RowError{Row: row, Column: hm.cells[i], Reason: "required"}
				return
			}
			continue
		}
		if why := col.set(im, r, v); why != "" {
			r.err = &RowError{Row: row, Column: hm.cells[i], Value: shownValue(v), Reason: why}
			return
		}
	}
	// A required column whose cells are missing at the end of a short row.
	for i := len(cells); i < len(hm.cols); i++ {
		if col := hm.cols[i]; col != nil && col.required && !col.boolean {
			r.err = &RowError{Row: row, Column: hm.cells[i], Reason: "required"}
			return
		}
	}
	if im.k.check != nil {
		if col, why := im.k.check(r); why != "" {
			im.fail(r, col, why)
		}
	}
}

// flush checks a batch against the database, reports its rejected rows in
// row order and stages the rest.
func (im *importer) flush(ctx context.Context, rows []*importRow) error {
	good := make([]*importRow, 0, len(rows))
	for _, r := range rows {
		if r.err == nil {
			good = append(good, r)
		}
	}
	if im.k.resolve != nil && len(good) > 0 {
		if err := im.k.resolve(ctx, im, good); err != nil {
			return err
		}
	}
	good = good[:0]
	for _, r := range rows {
		if r.err != nil {
			if err := im.reject(*r.err); err != nil {
				return err
			}
			continue
		}
		good = append(good, r)
	}
	return im.stageRows(ctx, good)
}

// regionName is a region's code and name, for reasons.
func (im *importer) regionName(code string) string {
	if r, ok := im.s.regions.Lookup(code); ok {
		return code + " " + r.Name
	}
	return code
}

func (im *importer) outside() string {
	return fmt.Sprintf("outside your region %s", im.regionName(im.a.Region))
}

func (im *importer) inScope(region string) bool {
	return im.a.Role == RoleAdmin || im.s.regions.Within(region, im.a.Region)
}

func distinctKeys(rows []*importRow, key func(*importRow) string, keep func(*importRow) bool) []string {
	seen := make(map[string]bool, len(rows))
	var out []string
	for _, r := range rows {
		if k := key(r); (keep == nil || keep(r)) && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// resolveEmployers checks employer rows against the legacy allow-list and,
// for officers, the region of employers already registered.
func resolveEmployers(ctx context.Context, im *importer, rows []*importRow) error {
	legacy := distinctKeys(rows, func(r *importRow) string { return r.uscc }, func(r *importRow) bool { return r.legacyWhy != "" })
	if len(legacy) > 0 || im.a.Role != RoleAdmin {
		if err := im.idle(ctx); err != nil {
			return err
		}
	}
	allowed := map[string]bool{}
	if len(legacy) > 0 {
		var codes []string
		if err := im.tx.NewSelect().Model((*LegacyCode)(nil)).Column("uscc").Where("uscc IN (?)", bun.In(legacy)).Scan(ctx, &codes); err != nil {
			return fmt.Errorf("check legacy codes: %w", err)
		}
		for _, c := range codes {
			allowed[c] = true
		}
	}
	existing := map[string]string{}
	if im.a.Role != RoleAdmin {
		codes := distinctKeys(rows, func(r *importRow) string { return r.uscc }, nil)
		var es []Employer
		if err := im.tx.NewSelect().Model(&es).Column("uscc", "region").Where("uscc IN (?)", bun.In(codes)).Scan(ctx); err != nil {
			return fmt.Errorf("load employers: %w", err)
		}
		for _, e := range es {
			existing[e.USCC] = e.Region
		}
	}
	for _, r := range rows {
		switch old, ok := existing[r.uscc]; {
		case r.legacyWhy != "" && !allowed[r.uscc]:
			im.fail(r, "uscc", "not a valid unified social credit code: "+r.legacyWhy)
		case !im.inScope(r.region):
			im.fail(r, "region", im.outside())
		case ok && !im.inScope(old):
			im.fail(r, "uscc", fmt.Sprintf("this employer is registered in %s, %s", im.regionName(old), im.outside()))
		}
	}
	return nil
}

// resolveReferences finds the employer each row names, inside the actor's
// region, and for cases and complaints checks that a record already
// imported stays with its employer.
func resolveReferences(ctx context.Context, im *importer, rows []*importRow) error {
	if err := im.idle(ctx); err != nil {
		return err
	}
	codes := distinctKeys(rows, func(r *importRow) string { return r.uscc }, nil)
	var es []Employer
	if err := im.tx.NewSelect().Model(&es).Column("id", "uscc", "region").Where("uscc IN (?)", bun.In(codes)).Scan(ctx); err != nil {
		return fmt.Errorf("load employers: %w", err)
	}
	byCode := make(map[string]*Employer, len(es))
	for i := range es {
		byCode[es[i].USCC] = &es[i]
	}
	for _, r := range rows {
		e, ok := byCode[r.uscc]
		switch {
		case !ok && engine.CheckUSCC(r.uscc) != nil:
			im.fail(r, "uscc", "no employer has this code, and it is not a valid unified social credit code: "+engine.CheckUSCC(r.uscc).Error())
		case !ok:
			im.fail(r, "uscc", "no employer with this code is registered (import employers first)")
		case !im.inScope(e.Region):
			im.fail(r, "uscc", fmt.Sprintf("the employer is in %s, %s", im.regionName(e.Region), im.outside()))
		default:
			r.employerID = e.ID
		}
	}
	var table, keyCol string
	var key func(r *importRow) string
	switch im.k.name {
	case "cases":
		table, keyCol, key = "cases", "case_no", func(r *importRow) string { return r.kase.ID }
	case "complaints":
		table, keyCol, key = "complaints", "complaint_no", func(r *importRow) string { return r.complaintNo }
	default:
		return nil
	}
	keys := distinctKeys(rows, key, func(r *importRow) bool { return r.err == nil })
	if len(keys) == 0 {
		return nil
	}
	q := fmt.Sprintf("SELECT t.%s, t.employer_id, e.uscc FROM %s t JOIN employers e ON e.id = t.employer_id WHERE t.%s IN (?)", keyCol, table, keyCol)
	res, err := im.tx.QueryContext(ctx, q, bun.In(keys))
	if err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	defer res.Close()
	type owner struct {
		id   int64
		uscc string
	}
	owners := map[string]owner{}
	for res.Next() {
		var k string
		var o owner
		if err := res.Scan(&k, &o.id, &o.uscc); err != nil {
			return fmt.Errorf("load %s: %w", table, err)
		}
		owners[k] = o
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	for _, r := range rows {
		if o, ok := owners[key(r)]; ok && r.err == nil && o.id != r.employerID {
			im.fail(r, keyCol, fmt.Sprintf("already recorded for the employer %s; a record cannot move to another employer", o.uscc))
		}
	}
	return nil
}

// Staging: rows go to a temporary table (COPY on PostgreSQL, multi-row
// INSERTs on SQLite), are checked for duplicates there, and are merged
// into their table in one statement.

const (
	stageTable      = "import_stage"
	stageViolations = "import_stage_violations"
	vchangedTable   = "import_vchanged"
)

func (im *importer) createStage(ctx context.Context) error {
	cols := []string{"row_no integer NOT NULL"}
	for _, c := range im.k.stage {
		typ := c.sqlite
		if im.pg {
			typ = c.pg
		}
		cols = append(cols, c.name+" "+typ)
	}
	tables := map[string]string{stageTable: strings.Join(cols, ", ")}
	if im.k.name == "cases" {
		tables[stageViolations] = "row_no integer NOT NULL, violation text NOT NULL"
	}
	for _, name := range []string{stageTable, stageViolations} {
		def, ok := tables[name]
		if !ok {
			continue
		}
		q := "CREATE TEMP TABLE " + name + " (" + def + ")"
		if im.pg {
			q += " ON COMMIT DROP"
		} else if _, err := im.tx.ExecContext(ctx, "DROP TABLE IF EXISTS temp."+name); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
		if _, err := im.tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
	}
	if im.pg {
		// Room to find duplicate keys among a million staged rows without
		// spilling to disk; for this transaction only.
		if _, err := im.tx.ExecContext(ctx, "SET LOCAL work_mem = '64MB'"); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
	}
	return nil
}

// dropStage drops the staging tables (PostgreSQL drops them at commit).
func (im *importer) dropStage(ctx context.Context) error {
	if im.pg {
		return nil
	}
	for _, name := range []string{stageTable, stageViolations, vchangedTable} {
		if _, err := im.tx.ExecContext(ctx, "DROP TABLE IF EXISTS temp."+name); err != nil {
			return fmt.Errorf("drop staging table: %w", err)
		}
	}
	return nil
}

func (im *importer) stageRows(ctx context.Context, rows []*importRow) error {
	if len(rows) == 0 {
		return nil
	}
	cols := []string{"row_no"}
	for _, c := range im.k.stage {
		cols = append(cols, c.name)
	}
	err := im.insert(ctx, stageTable, cols, len(rows), func(i int, v []any) []any {
		return im.k.values(rows[i], append(v, rows[i].row))
	})
	if err != nil {
		return err
	}
	im.staged += len(rows)
	if im.k.name != "cases" {
		return nil
	}
	type pair struct {
		row int
		v   string
	}
	var vs []pair
	for _, r := range rows {
		for _, v := range r.kase.Violations {
			vs = append(vs, pair{r.row, v})
		}
	}
	return im.insert(ctx, stageViolations, []string{"row_no", "violation"}, len(vs), func(i int, v []any) []any {
		return append(v, vs[i].row, vs[i].v)
	})
}

// insert writes n rows into a staging table: COPY on PostgreSQL, batched
// multi-row INSERTs on SQLite.
func (im *importer) insert(ctx context.Context, table string, cols []string, n int, row func(i int, v []any) []any) error {
	if n == 0 {
		return nil
	}
	if im.pg {
		if im.copying != nil && im.copyTable != table {
			if err := im.idle(ctx); err != nil {
				return err
			}
		}
		if im.copying == nil {
			stmt, err := im.tx.Tx.PrepareContext(ctx, pq.CopyIn(table, cols...))
			if err != nil {
				return fmt.Errorf("stage rows: %w", err)
			}
			im.copying, im.copyTable = stmt, table
		}
		for i := range n {
			im.vals = row(i, im.vals[:0])
			if _, err := im.copying.ExecContext(ctx, im.vals...); err != nil {
				return fmt.Errorf("stage rows: %w", err)
			}
		}
		return nil
	}
	per := max(1, 30000/len(cols))
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	for lo := 0; lo < n; lo += per {
		hi := min(n, lo+per)
		var q strings.Builder
		q.WriteString(head)
		args := im.vals[:0]
		for i := lo; i < hi; i++ {
			if i > lo {
				q.WriteString(", ")
			}
			q.WriteString(one)
			args = row(i, args)
		}
		im.vals = args
		if _, err := im.tx.Tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("stage rows: %w", err)
		}
	}
	return nil
}

// idle ends the COPY in progress, if any, so that the connection takes
// queries again.
func (im *importer) idle(ctx context.Context) error {
	stmt := im.copying
	if stmt == nil {
		return nil
	}
	im.copying = nil
	if _, err := stmt.ExecContext(ctx); err != nil {
		stmt.Close()
		return fmt.Errorf("stage rows: %w", err)
	}
	return stmt.Close()
}

// duplicates rejects every row whose natural key an earlier row of the
// file has (and, when skipping, unstages it), and says how many.
func (im *importer) duplicates(ctx context.Context) (int, error) {
	if im.staged == 0 {
		return 0, nil
	}
	key := strings.Join(im.stageKey(), ", ")
	dups := "SELECT row_no, " + im.k.dupCol + ", min(row_no) OVER (PARTITION BY " + key + ") AS first_row FROM " + stageTable +
		" WHERE (" + key + ") IN (SELECT " + key + " FROM " + stageTable + " GROUP BY " + key + " HAVING count(*) > 1)"
	res, err := im.tx.Tx.QueryContext(ctx, dups+" ORDER BY row_no")
	if err != nil {
		return 0, fmt.Errorf("find duplicate rows: %w", err)
	}
	defer res.Close()
	var found []RowError
	count := 0
	for res.Next() {
		var row, first int
		var value string
		if err := res.Scan(&row, &value, &first); err != nil {
			return 0, fmt.Errorf("find duplicate rows: %w", err)
		}
		if row == first {
			continue
		}
		// Only the first ones are listed unless skipping (by row, so the
		// first of the merged list are among them); all are counted.
		if count++; (!im.skip && len(found) >= MaxRejectedReported) || (im.skip && im.rep.RejectedCount+count > MaxImportRejected) {
			continue
		}
		reason := fmt.Sprintf("duplicate: row %d has the same %s", first, im.keyHeaders())
		found = append(found, RowError{Row: row, Column: im.hm.header(im.k.dupCol), Value: shownValue(value), Reason: reason})
	}
	if err := res.Err(); err != nil {
		return 0, fmt.Errorf("find duplicate rows: %w", err)
	}
	res.Close()
	if count == 0 {
		return 0, nil
	}
	if im.skip && im.rep.RejectedCount+count > MaxImportRejected {
		im.rep.RejectedCount += count
		return 0, im.tooManyRejected()
	}
	if im.skip {
		n, err := im.tx.Tx.ExecContext(ctx, "DELETE FROM "+stageTable+" WHERE row_no IN (SELECT row_no FROM ("+dups+") d WHERE row_no <> first_row)")
		if err != nil {
			return 0, fmt.Errorf("unstage duplicate rows: %w", err)
		}
		k, _ := n.RowsAffected()
		im.staged -= int(k)
	}
	// Merge them into the rows rejected so far, by row.
	all := append(im.rep.Rejected, found...)
	slices.SortStableFunc(all, func(a, b RowError) int { return a.Row - b.Row })
	im.rep.RejectedCount += count
	if !im.skip && len(all) > MaxRejectedReported {
		all = all[:MaxRejectedReported]
	}
	im.rep.Rejected = all
	return count, nil
}

// stageKey is the natural key as staged: the employer's code stands for
// its id.
func (im *importer) stageKey() []string {
	var out []string
	for _, k := range im.k.key {
		if k == "employer_id" {
			k = "uscc"
		}
		out = append(out, k)
	}
	return out
}

func (im *importer) keyHeaders() string {
	var hs []string
	for _, k := range im.stageKey() {
		hs = append(hs, im.hm.header(k))
	}
	return strings.Join(hs, " and ")
}

// merge writes the staged rows into their table. When none of their keys
// is there yet (a first import), the rows are inserted right away and a
// key given twice in the file shows as a unique violation, rolled back to
// look for the duplicates; otherwise the duplicates are looked for first.
func (im *importer) merge(ctx context.Context) error {
	merge := im.k.merge
	if merge == nil {
		merge = func(ctx context.Context, im *importer, fresh bool) (int, int, error) { return im.upsert(ctx, fresh) }
	}
	fresh, err := im.fresh(ctx)
	if err != nil {
		return err
	}
	if !fresh {
		if err := im.dedupe(ctx); err != nil {
			return err
		}
	} else if _, err := im.tx.ExecContext(ctx, "SAVEPOINT import_merge"); err != nil {
		return fmt.Errorf("merge %s: %w", im.k.table, err)
	}
	ins, upd, err := merge(ctx, im, fresh)
	if fresh && errors.Is(err, ErrConflict) {
		if _, rerr := im.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT import_merge"); rerr != nil {
			return fmt.Errorf("merge %s: %w", im.k.table, rerr)
		}
		n, derr := im.duplicates(ctx)
		switch {
		case derr != nil:
			return derr
		case n == 0: // not a duplicate: another transaction inserted the key
			return err
		case !im.skip:
			return &ImportError{Report: im.rep}
		}
		ins, upd, err = merge(ctx, im, fresh)
	}
	if err != nil {
		return err
	}
	im.rep.Inserted, im.rep.Updated = ins, upd
	im.rep.Unchanged = im.staged - ins - upd
	return nil
}

// fresh reports whether none of the staged keys is in the table yet: at
// once when the table is empty, else by looking each key up.
func (im *importer) fresh(ctx context.Context) (bool, error) {
	var found bool
	if err := im.tx.Tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+im.k.table+")").Scan(&found); err != nil {
		return false, fmt.Errorf("merge %s: %w", im.k.table, err)
	}
	if !found {
		return true, nil
	}
	var match []string
	for _, c := range im.k.key {
		match = append(match, "t."+c+" = s."+c)
	}
	q := "SELECT EXISTS (SELECT 1 FROM " + stageTable + " s WHERE EXISTS (SELECT 1 FROM " + im.k.table + " t WHERE " + strings.Join(match, " AND ") + "))"
	if err := im.tx.Tx.QueryRowContext(ctx, q).Scan(&found); err != nil {
		return false, fmt.Errorf("merge %s: %w", im.k.table, err)
	}
	return !found, nil
}

// dedupe rejects the duplicate rows; unless skipping them, any is an
// *ImportError.
func (im *importer) dedupe(ctx context.Context) error {
	n, err := im.duplicates(ctx)
	if err == nil && n > 0 && !im.skip {
		err = &ImportError{Report: im.rep}
	}
	return err
}

// upsert inserts the staged rows whose key is new and updates those that
// differ: INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE distinct; fresh
// rows (none of their keys in the table) take a plain INSERT, cheaper than
// ON CONFLICT's speculative insertion. Should another transaction insert
// one of the keys meanwhile, the import fails with ErrConflict, having
// written nothing.
func (im *importer) upsert(ctx context.Context, fresh bool) (inserted, updated int, err error) {
	k := im.k
	list := strings.Join(slices.Concat(k.key, k.set), ", ")
	if fresh {
		res, err := im.tx.Tx.ExecContext(ctx, "INSERT INTO "+k.table+" ("+list+") SELECT "+list+" FROM "+stageTable)
		if err != nil {
			return 0, 0, fmt.Errorf("merge %s: %w", k.table, dbError(err))
		}
		n, err := res.RowsAffected()
		return int(n), 0, err
	}
	var set, old, incoming, match []string
	for _, c := range k.set {
		set = append(set, c+" = excluded."+c)
		old = append(old, k.table+"."+c)
		incoming = append(incoming, "excluded."+c)
	}
	for _, c := range k.key {
		match = append(match, "t."+c+" = s."+c)
	}
	distinctOp := " IS NOT "
	if im.pg {
		distinctOp = " IS DISTINCT FROM "
	}
	q := "INSERT INTO " + k.table + " (" + list + ") SELECT " + list + " FROM " + stageTable + " WHERE true" +
		" ON CONFLICT (" + strings.Join(k.key, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ") +
		" WHERE (" + strings.Join(old, ", ") + ")" + distinctOp + "(" + strings.Join(incoming, ", ") + ")"
	if im.pg {
		q = "WITH up AS (" + q + " RETURNING (xmax = 0) AS inserted) SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up"
		if err := im.tx.Tx.QueryRowContext(ctx, q).Scan(&inserted, &updated); err != nil {
			return 0, 0, fmt.Errorf("merge %s: %w", k.table, dbError(err))
		}
		return inserted, updated, nil
	}
	pre := "SELECT count(*) FROM " + stageTable + " s WHERE NOT EXISTS (SELECT 1 FROM " + k.table + " t WHERE " + strings.Join(match, " AND ") + ")"
	if err := im.tx.Tx.QueryRowContext(ctx, pre).Scan(&inserted); err != nil {
		return 0, 0, fmt.Errorf("merge %s: %w", k.table, err)
	}
	res, err := im.tx.Tx.ExecContext(ctx, q)
	if err != nil {
		return 0, 0, fmt.Errorf("merge %s: %w", k.table, dbError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, 0, fmt.Errorf("merge %s: %w", k.table, err)
	}
	return inserted, int(n) - inserted, nil
}

// mergeCases upserts the cases and replaces the violations of every case
// whose set of violations differs; a case whose only change is its
// violations counts as updated.
func mergeCases(ctx context.Context, im *importer, fresh bool) (inserted, updated int, err error) {
	agg := "group_concat(v.violation, ';' ORDER BY v.violation)"
	create := "CREATE TEMP TABLE " + vchangedTable + " AS "
	if im.pg {
		agg = `string_agg(v.violation, ';' ORDER BY v.violation COLLATE "C")`
		create = "CREATE TEMP TABLE " + vchangedTable + " ON COMMIT DROP AS "
	} else if _, err := im.tx.ExecContext(ctx, "DROP TABLE IF EXISTS temp."+vchangedTable); err != nil {
		return 0, 0, fmt.Errorf("merge cases: %w", err)
	}
	q := create + "SELECT s.case_no, c.id IS NOT NULL AS existed FROM " + stageTable + " s LEFT JOIN cases c ON c.case_no = s.case_no" +
		" WHERE s.violations <> COALESCE((SELECT " + agg + " FROM case_violations v WHERE v.case_id = c.id), '')"
	if _, err := im.tx.ExecContext(ctx, q); err != nil {
		return 0, 0, fmt.Errorf("merge cases: %w", err)
	}
	// Cases whose row stays the same but whose violations change.
	same := " IS "
	if im.pg {
		same = " IS NOT DISTINCT FROM "
	}
	var old, staged []string
	for _, c := range im.k.set {
		old = append(old, "c."+c)
		staged = append(staged, "s."+c)
	}
	var onlyViolations int
	q = "SELECT count(*) FROM " + vchangedTable + " vc JOIN cases c ON c.case_no = vc.case_no JOIN " + stageTable + " s ON s.case_no = vc.case_no" +
		" WHERE vc.existed AND (" + strings.Join(old, ", ") + ")" + same + "(" + strings.Join(staged, ", ") + ")"
	if err := im.tx.Tx.QueryRowContext(ctx, q).Scan(&onlyViolations); err != nil {
		return 0, 0, fmt.Errorf("merge cases: %w", err)
	}
	if inserted, updated, err = im.upsert(ctx, fresh); err != nil {
		return 0, 0, err
	}
	for _, q := range []string{
		"DELETE FROM case_violations WHERE case_id IN (SELECT c.id FROM cases c JOIN " + vchangedTable + " vc ON vc.case_no = c.case_no)",
		"INSERT INTO case_violations (case_id, violation) SELECT c.id, sv.violation FROM " + stageViolations + " sv" +
			" JOIN " + stageTable + " s ON s.row_no = sv.row_no JOIN " + vchangedTable + " vc ON vc.case_no = s.case_no" +
			" JOIN cases c ON c.case_no = s.case_no",
	} {
		if _, err := im.tx.ExecContext(ctx, q); err != nil {
			return 0, 0, fmt.Errorf("merge case violations: %w", dbError(err))
		}
	}
	return inserted, updated + onlyViolations, nil
}

func importPlural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
