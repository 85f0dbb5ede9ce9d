package ratings

// A record file's header and cells: mapping headers to a kind's columns, and checking cell text.

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

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

// The import of one file, in its transaction.
