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
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// MaxRejectedReported is how many rejected rows an import that does not
// skip them lists in its report: the first ones, by row. All are counted.
const MaxRejectedReported = 1000

// MaxImportRejected is the most rows an import that skips invalid rows
// may reject (it lists every one): past it, the import imports nothing.
const MaxImportRejected = 100_000

// ImportParams say what to import (docs/IMPORT.md describes the files).
type ImportParams struct {
	Kind     string // employers, reviews, cases, complaints or deposits
	FileName string // the file's name: its extension (.csv, .xlsx) picks the format; recorded in the audit log
	// Reader is the file's bytes: an io.ReadSeeker lets a CSV import
	// report its total; an XLSX file that is also an io.ReaderAt (a file,
	// an upload) is read in place, another is read into memory first.
	Reader      io.Reader
	SkipInvalid bool // import the valid rows and report every rejected one; default: any bad row imports nothing
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

// ImportColumns lists the English headers of a kind of record file, in
// the column order of docs/IMPORT.md (what `laborcredit generate` writes).
func ImportColumns(kind string) ([]string, error) {
	k, err := importKindNamed(kind)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(k.columns))
	for i, c := range k.columns {
		out[i] = c.name
	}
	return out, nil
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
// memory does not grow with the file (but for the rejected rows listed);
// the file is read within the limits MaxImport… (a file over one is a
// *ValidationError of the field "file") and the whole import within
// ImportParams.Timeout.
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
		// A COPY left open by an error ends before the rollback (inTx).
		defer im.abandonCopy()
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

func importPlural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
