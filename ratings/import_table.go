package ratings

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"laborcredit/engine"
)

// Limits of a record file. Each is checked while the file is read, so that
// no file, of any shape, makes the process hold more than a bounded amount
// of memory or work longer than the import's deadline; a file over one is
// a *ValidationError of the field "file" (an API 422) naming the limit.
const (
	// MaxImportRows is the most data rows a CSV file may have.
	MaxImportRows = 5_000_000
	// MaxImportSheetRows is the last row number a sheet may use (Excel's
	// own limit, 1,048,576).
	MaxImportSheetRows = 1 << 20
	// MaxImportColumns is the most columns a row may have (a cell beyond
	// it holding a value, in XLSX).
	MaxImportColumns = 256
	// MaxImportCell is the most bytes a cell may hold (UTF-8); a longer
	// cell rejects its row.
	MaxImportCell = 32 << 10
	// MaxImportRecord is the most bytes one CSV record (a row, its quoted
	// line breaks included) may take in the file: a quote that is never
	// closed stops being read there.
	MaxImportRecord = 1 << 20
	// MaxImportCSVBytes is the size limit of a CSV file: 2 GiB.
	MaxImportCSVBytes = 2 << 30
	// DefaultImportTimeout is the deadline of a whole import, file read and
	// records written, when ImportParams.Timeout is 0: 30 minutes.
	DefaultImportTimeout = 30 * time.Minute
)

// The limits of XLSX workbooks are in import_xlsx.go.

// limitError is a file over one of the limits.
func limitError(format string, args ...any) error {
	return invalid("file", format, args...)
}

// boundedReader reads a stream within limits: at most max bytes in all,
// at most window bytes past the mark (the reader's consumer moves the mark
// after each record or token, so that no single one can grow unbounded),
// and not after ctx is done.
type boundedReader struct {
	ctx    context.Context
	r      io.Reader
	n      int64 // bytes read
	max    int64
	mark   int64
	window int64 // 0: no window
	shown  int64 // the window's limit as reported (the window has room for read-ahead)
	what   string
	err    error // the limit hit
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	room := b.max - b.n
	if b.window > 0 {
		room = min(room, b.mark+b.window-b.n)
	}
	if room <= 0 {
		// One byte more tells a stream that ends at the limit from one
		// that goes on.
		var one [1]byte
		n, err := io.ReadFull(b.r, one[:])
		if n == 0 && errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		if b.n >= b.max {
			b.err = limitError("%s is over the limit of %s", b.what, byteSize(b.max))
		} else {
			b.err = limitError("%s: one %s from byte %d is over the limit of %s", b.what, b.unit(), b.mark, byteSize(b.shown))
		}
		return 0, b.err
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *boundedReader) unit() string {
	if strings.Contains(b.what, "CSV") {
		return "record"
	}
	return "XML token"
}

// byteSize writes a limit in bytes as people read it.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// EscapeFormula makes a cell safe to write into a CSV or XLSX file that a
// spreadsheet will open: a value a spreadsheet would read as a formula (it
// starts with =, +, -, @, a tab or a carriage return) is prefixed with a
// single quote, as OWASP's CSV-injection advice says. Every file the
// system writes for people passes its cells through it.
func EscapeFormula(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	// Full-width forms that spreadsheets also take for the sign.
	for _, p := range []string{"＝", "＋", "－", "＠"} {
		if strings.HasPrefix(s, p) {
			return "'" + s
		}
	}
	return s
}

// Reading tables: CSV and the first sheet of an XLSX workbook.

// table is a record file read row by row.
type table interface {
	// next returns the next row with its number (the header is row 1 when
	// it is the first line), io.EOF at the end, a *syntaxError for a
	// malformed row (reading may go on), or a *ValidationError for a file
	// over a limit (reading stops).
	next() (row int, cells []string, err error)
	// dates tells which columns hold dates (XLSX date cells become YYYY-MM-DD).
	dates(cols []bool)
	// rest is what is left of the input, read into the hash given to
	// openTable (for hashing the whole file).
	rest() io.Reader
	close() error
}

// syntaxError is a row the reader could not parse.
type syntaxError struct {
	row    int
	reason string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("row %d: %s", e.row, e.reason) }

// openTable opens a record file; every byte read from r also goes to sum
// (nil: none), rest included.
func openTable(ctx context.Context, format string, r io.Reader, sum io.Writer) (table, error) {
	if sum == nil {
		sum = io.Discard
	}
	if format == "xlsx" {
		return openXLSX(ctx, r, sum)
	}
	src := &boundedReader{ctx: ctx, r: io.TeeReader(r, sum), max: MaxImportCSVBytes, window: MaxImportRecord + csvBuffer,
		shown: MaxImportRecord, what: "the CSV file"}
	br := bufio.NewReaderSize(src, csvBuffer)
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	return &csvTable{r: cr, src: src, first: true}, nil
}

// csvBuffer is the read buffer of a CSV file.
const csvBuffer = 256 << 10

type csvTable struct {
	r     *csv.Reader
	src   *boundedReader
	first bool
	rows  int // data rows read
}

func (t *csvTable) next() (int, []string, error) {
	rec, err := t.r.Read()
	t.src.mark = t.r.InputOffset()
	if t.src.err != nil {
		return 0, nil, t.src.err
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return pe.StartLine, nil, t.count(pe.StartLine, &syntaxError{row: pe.StartLine, reason: "malformed CSV: " + pe.Err.Error()})
		}
		return 0, nil, err
	}
	line, _ := t.r.FieldPos(0)
	if len(rec) > MaxImportColumns {
		return 0, nil, limitError("row %d has %d columns, over the limit of %d", line, len(rec), MaxImportColumns)
	}
	if t.first {
		t.first = false
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
		return line, rec, nil
	}
	return line, rec, t.count(line, nil)
}

// count counts a data row, refusing the one past MaxImportRows.
func (t *csvTable) count(line int, err error) error {
	if t.first {
		t.first = false
		return err
	}
	if t.rows++; t.rows > MaxImportRows {
		return limitError("row %d: over the limit of %d data rows", line, MaxImportRows)
	}
	return err
}

func (t *csvTable) dates([]bool) {}

func (t *csvTable) rest() io.Reader {
	t.src.window = 0
	return t.src
}

func (t *csvTable) close() error { return nil }

// date turns a date cell (a serial day number, or an ISO date-time) into
// YYYY-MM-DD; anything else is left for the date check to refuse.
func xlsxDate(v string, date1904 bool) string {
	if v == "" || engine.ValidDate(v) {
		return v
	}
	if len(v) > 10 && v[10] == 'T' && engine.ValidDate(v[:10]) {
		return v[:10]
	}
	return serialDate(v, date1904)
}

func blankRow(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// columnLetter is a spreadsheet column's letter: 0 → A, 26 → AA.
func columnLetter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}
