package ratings

// Reading an XLSX sheet: its shared strings and its rows, cell by cell.

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// sharedStrings reads the shared strings into memory, within
// MaxImportSharedStrings and MaxImportSharedStringCount: the text of every
// <t> of each <si> (rich-text runs joined; phonetic runs left out).
func (t *xlsxTable) sharedStrings(f *zip.File) error {
	rc, err := f.Open()
	if err != nil {
		return invalid("file", "not a readable XLSX workbook: %s: %v", f.Name, err)
	}
	defer rc.Close()
	x := t.newXML(rc, f.Name, MaxImportXLSXPart)
	inSI, inText, phonetic := false, false, 0
	var cur []byte // the string being read
	for {
		tok, err := x.token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch el.Name.Local {
			case "si":
				if len(t.sstRefs) >= MaxImportSharedStringCount {
					return limitError("the workbook has over %d shared strings, the limit", MaxImportSharedStringCount)
				}
				inSI, cur = true, cur[:0]
			case "rPh":
				phonetic++
			case "t":
				inText = inSI && phonetic == 0
			}
		case xml.EndElement:
			switch el.Name.Local {
			case "si":
				if inSI {
					t.keepString(cur)
				}
				inSI = false
			case "rPh":
				phonetic--
			case "t":
				inText = false
			}
		case xml.CharData:
			if !inText {
				continue
			}
			if len(cur)+len(el) > MaxImportCell {
				return limitError("shared string %d is over the limit of %s a cell", len(t.sstRefs), byteSize(MaxImportCell))
			}
			if t.sstLen+len(cur)+len(el) > MaxImportSharedStrings {
				return limitError("the shared strings are over the limit of %s of text", byteSize(MaxImportSharedStrings))
			}
			cur = append(cur, el...)
		}
	}
}

// sstChunk is the size of a chunk of shared-string text.
const sstChunk = 1 << 20

// keepString stores a shared string (at most MaxImportCell bytes) in the
// last chunk, or a new one when it does not fit.
func (t *xlsxTable) keepString(s []byte) {
	n := len(t.sst)
	if n == 0 || len(t.sst[n-1])+len(s) > sstChunk {
		t.sst = append(t.sst, make([]byte, 0, sstChunk))
		n++
	}
	c := t.sst[n-1]
	t.sstRefs = append(t.sstRefs, uint32((n-1)*sstChunk+len(c)))
	t.sst[n-1] = append(c, s...)
	t.sstLen += len(s)
}

func (t *xlsxTable) sharedString(v string) (string, bool) {
	i, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || i < 0 || i >= len(t.sstRefs) {
		return "", false
	}
	ref := t.sstRefs[i]
	chunk, start := ref/sstChunk, ref%sstChunk
	c := t.sst[chunk]
	end := uint32(len(c))
	if i+1 < len(t.sstRefs) && t.sstRefs[i+1]/sstChunk == chunk {
		end = t.sstRefs[i+1] % sstChunk
	}
	return unescapeOOXML(string(c[start:end])), true
}

// cell is a cell being read.
type xlsxCell struct {
	col     int // 1-based
	typ     string
	in      string // "v", "t" (inline text) or ""
	inline  bool
	phon    int
	value   []byte
	tooLong bool
}

func (t *xlsxTable) next() (int, []string, error) {
	if t.done {
		return 0, nil, io.EOF
	}
	var (
		row    int
		inRow  bool
		c      *xlsxCell
		cell   xlsxCell
		bad    string // why the row is unreadable
		cells  []string
		maxCol int
	)
loop:
	for {
		tok, err := t.x.token()
		if errors.Is(err, io.EOF) {
			t.done = true
			if inRow {
				break loop
			}
			return 0, nil, io.EOF
		}
		if err != nil {
			return 0, nil, err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch name := el.Name.Local; {
			case name == "sheetData":
				t.inData = true
			case name == "row" && t.inData && !inRow:
				row = t.lastRow + 1
				if r := attr(el, "r"); r != "" {
					n, err := strconv.Atoi(r)
					if err != nil || n <= t.lastRow {
						return 0, nil, invalid("file", "not a readable XLSX workbook: row number %q after row %d", r, t.lastRow)
					}
					row = n
				}
				if row > MaxImportSheetRows {
					return 0, nil, limitError("row %d: over the limit of %d rows a sheet", row, MaxImportSheetRows)
				}
				t.lastRow, inRow, cells, maxCol = row, true, nil, 0
			case name == "c" && inRow && c == nil:
				cell = xlsxCell{col: maxCol + 1, typ: attr(el, "t")}
				if ref := attr(el, "r"); ref != "" {
					col, _, err := excelize.SplitCellName(ref)
					n := 0
					if err == nil {
						n, err = excelize.ColumnNameToNumber(col)
					}
					if err != nil || n < 1 || n > xlsxMaxColumn {
						bad = fmt.Sprintf("unreadable cell reference %q", ref)
					} else {
						cell.col = n
					}
				}
				if cell.col > xlsxMaxColumn {
					return 0, nil, limitError("row %d has cells beyond the last column (XFD)", row)
				}
				maxCol = max(maxCol, cell.col)
				c = &cell
			case c != nil && name == "v":
				c.in = "v"
			case c != nil && name == "is":
				c.inline = true
			case c != nil && name == "rPh":
				c.phon++
			case c != nil && name == "t" && c.inline && c.phon == 0:
				c.in = "t"
			}
		case xml.CharData:
			if c == nil || c.in == "" || c.tooLong {
				continue
			}
			if len(c.value)+len(el) > MaxImportCell {
				c.tooLong = true
				continue
			}
			c.value = append(c.value, el...)
		case xml.EndElement:
			switch name := el.Name.Local; {
			case name == "sheetData":
				t.done = true
				if !inRow {
					return 0, nil, io.EOF
				}
			case c != nil && (name == "v" || name == "t"):
				c.in = ""
			case c != nil && name == "rPh":
				c.phon--
			case c != nil && name == "c":
				v, why := t.cellValue(c)
				c = nil
				if why != "" && bad == "" {
					bad = fmt.Sprintf("cell %s%d: %s", columnLetter(cell.col-1), row, why)
				}
				if v == "" {
					continue
				}
				if cell.col > MaxImportColumns {
					return 0, nil, limitError("row %d has a value in column %s, over the limit of %d columns",
						row, columnLetter(cell.col-1), MaxImportColumns)
				}
				for len(cells) < cell.col-1 {
					cells = append(cells, "")
				}
				if len(cells) >= cell.col {
					cells[cell.col-1] = v
				} else {
					cells = append(cells, v)
				}
			case name == "row" && inRow:
				break loop
			}
		}
		if t.done && !inRow {
			return 0, nil, io.EOF
		}
	}
	if bad != "" {
		return row, nil, &syntaxError{row: row, reason: "unreadable row: " + bad}
	}
	for i := range cells {
		if i < len(t.isDate) && t.isDate[i] {
			cells[i] = xlsxDate(strings.TrimSpace(cells[i]), t.date1904)
		}
	}
	return row, cells, nil
}

// cellValue is a cell's value as the import reads it: the text of a
// string cell, else the raw value (numbers unformatted, booleans 1 or 0).
func (t *xlsxTable) cellValue(c *xlsxCell) (string, string) {
	if c.tooLong {
		return "", fmt.Sprintf("over the limit of %s a cell", byteSize(MaxImportCell))
	}
	switch c.typ {
	case "s":
		if len(c.value) == 0 {
			return "", ""
		}
		s, ok := t.sharedString(string(c.value))
		if !ok {
			return "", fmt.Sprintf("no shared string %q", c.value)
		}
		return s, ""
	case "inlineStr":
		return unescapeOOXML(string(c.value)), ""
	}
	return string(c.value), ""
}

func (t *xlsxTable) dates(cols []bool) { t.isDate = cols }

// rest is the file for hashing (a file read in place is read again; one
// read into memory was hashed as it was read).
func (t *xlsxTable) rest() io.Reader { return t.restR }

func (t *xlsxTable) close() error { return t.sheet.Close() }

// unescapeOOXML decodes the _xHHHH_ escapes with which OOXML writes
// characters XML cannot hold (_x005F_ is an underscore).
func unescapeOOXML(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+7 <= len(s) && s[i] == '_' && s[i+1] == 'x' && s[i+6] == '_' {
			if n, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				if n == 0x5F {
					b.WriteByte('_')
				} else {
					r := rune(n)
					if !utf8.ValidRune(r) {
						r = utf8.RuneError
					}
					b.WriteRune(r)
				}
				i += 7
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// serialDate turns a date's serial day number into YYYY-MM-DD; anything
// else is left as it is.
func serialDate(v string, date1904 bool) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 1 || f >= 2958466 { // 2958466 is 10000-01-01
		return v
	}
	d, err := excelize.ExcelDateToTime(f, date1904)
	if err != nil {
		return v
	}
	return d.Format(time.DateOnly)
}
