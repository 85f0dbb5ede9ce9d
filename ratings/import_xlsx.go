package ratings

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Limits of an XLSX workbook (see also the limits of every record file in
// import_table.go). The workbook's zip directory is checked before any
// part is unpacked; of its parts only the workbook, its relationships, the
// shared strings and the first sheet are ever read, each as a stream whose
// bytes are counted as they are unpacked. Styles, drawings, media,
// document properties and the other sheets are never unpacked.
const (
	// MaxImportXLSXBytes is the size limit of an XLSX file as sent: 256 MiB.
	MaxImportXLSXBytes = 256 << 20
	// MaxImportXLSXParts is the most parts (zip entries) a workbook may have.
	MaxImportXLSXParts = 1000
	// MaxImportXLSXPart is the most bytes any part may declare it unpacks
	// to, and the most the sheet read may unpack to: 512 MiB.
	MaxImportXLSXPart = 512 << 20
	// MaxImportXLSXTotal is the most bytes all the parts together may
	// declare they unpack to: 2 GiB.
	MaxImportXLSXTotal = 2 << 30
	// MaxImportXLSXRatio is the most a part over 1 MiB may unpack to per
	// byte packed (deflate's own limit is about 1,032; XML sheets pack
	// about 10 to 1).
	MaxImportXLSXRatio = 200
	// MaxImportSharedStrings is the most bytes of text the shared strings of
	// a workbook may hold, in memory while the sheet is read: 64 MiB.
	MaxImportSharedStrings = 64 << 20
	// MaxImportSharedStringCount is the most shared strings a workbook may
	// have: 4,194,304.
	MaxImportSharedStringCount = 4 << 20
)

const (
	// xlsxSmallPart is the limit of the workbook and relationship parts.
	xlsxSmallPart = 4 << 20
	// xlsxToken is the most bytes of one XML token (a start tag with its
	// attributes, a run of text).
	xlsxToken = 256 << 10
	// xlsxDepth is the most nested XML elements.
	xlsxDepth = 64
	// xlsxMaxColumn is the last column a cell reference may name (XFD).
	xlsxMaxColumn = 16384
)

// openXLSX opens the first sheet of a workbook for reading. A reader that
// is also an io.ReaderAt and io.Seeker (a file, an upload) is read in
// place; another is read into memory, up to MaxImportXLSXBytes.
func openXLSX(ctx context.Context, r io.Reader, sum io.Writer) (*xlsxTable, error) {
	ra, size, rest, err := xlsxSource(r, sum)
	if err != nil {
		return nil, err
	}
	parts, err := xlsxParts(ra, size)
	if err != nil {
		return nil, err
	}
	t := &xlsxTable{ctx: ctx, restR: rest}
	wbPath := "xl/workbook.xml"
	if rels, err := t.rels(parts, "_rels/.rels", ""); err != nil {
		return nil, err
	} else if target := rels.byType("/officeDocument"); target != "" {
		wbPath = target
	}
	sheet, sst, err := t.workbook(parts, wbPath)
	if err != nil {
		return nil, err
	}
	if sst != "" {
		if f := parts[strings.ToLower(sst)]; f != nil {
			if err := t.sharedStrings(f); err != nil {
				return nil, err
			}
		}
	}
	f := parts[strings.ToLower(sheet)]
	if f == nil {
		return nil, invalid("file", "not a readable XLSX workbook: its first sheet (%s) is missing", sheet)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, invalid("file", "not a readable XLSX workbook: sheet %s: %v", sheet, err)
	}
	t.sheet = rc
	t.x = t.newXML(rc, "the sheet "+sheet, MaxImportXLSXPart)
	return t, nil
}

// xlsxSource is the file as an io.ReaderAt, its size, and a reader of the
// bytes not yet hashed.
func xlsxSource(r io.Reader, sum io.Writer) (io.ReaderAt, int64, io.Reader, error) {
	type readSeekerAt interface {
		io.ReaderAt
		io.Seeker
	}
	if rs, ok := r.(readSeekerAt); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("read the file: %w", err)
		}
		end, err := rs.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("read the file: %w", err)
		}
		if end-start > MaxImportXLSXBytes {
			return nil, 0, nil, limitError("the XLSX file is over the limit of %s", byteSize(MaxImportXLSXBytes))
		}
		sr := io.NewSectionReader(rs, start, end-start)
		return sr, end - start, io.TeeReader(io.NewSectionReader(rs, start, end-start), sum), nil
	}
	b, err := io.ReadAll(io.LimitReader(io.TeeReader(r, sum), MaxImportXLSXBytes+1))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("read the file: %w", err)
	}
	if len(b) > MaxImportXLSXBytes {
		return nil, 0, nil, limitError("the XLSX file is over the limit of %s", byteSize(MaxImportXLSXBytes))
	}
	return bytes.NewReader(b), int64(len(b)), io.TeeReader(r, sum), nil
}

// xlsxParts checks a workbook's zip directory, before reading it, and
// returns its parts by lower-case name.
func xlsxParts(ra io.ReaderAt, size int64) (map[string]*zip.File, error) {
	n, err := zipEntries(ra, size)
	if err != nil {
		return nil, err
	}
	if n > MaxImportXLSXParts {
		return nil, limitError("the XLSX workbook has %d parts, over the limit of %d", n, MaxImportXLSXParts)
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, invalid("file", "not a readable XLSX workbook: %v", err)
	}
	if len(zr.File) > MaxImportXLSXParts {
		return nil, limitError("the XLSX workbook has %d parts, over the limit of %d", len(zr.File), MaxImportXLSXParts)
	}
	parts := make(map[string]*zip.File, len(zr.File))
	var total uint64
	for _, f := range zr.File {
		u, c := f.UncompressedSize64, f.CompressedSize64
		switch {
		case u > MaxImportXLSXPart:
			return nil, limitError("the XLSX part %s unpacks to %d bytes, over the limit of %s", f.Name, u, byteSize(MaxImportXLSXPart))
		case u > 1<<20 && u > c*MaxImportXLSXRatio:
			return nil, limitError("the XLSX part %s unpacks to %d bytes from %d, over the limit of %d to 1", f.Name, u, c, MaxImportXLSXRatio)
		}
		if total += u; total > MaxImportXLSXTotal {
			return nil, limitError("the XLSX parts unpack to more than the limit of %s", byteSize(MaxImportXLSXTotal))
		}
		name := strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(f.Name, `\`, "/"), "/"))
		if _, dup := parts[name]; dup {
			return nil, invalid("file", "not a readable XLSX workbook: the part %s is there twice", f.Name)
		}
		parts[name] = f
	}
	return parts, nil
}

// zipEntries reads the number of entries from a zip file's end of central
// directory (zip64 too), before archive/zip allocates one header per entry.
func zipEntries(ra io.ReaderAt, size int64) (uint64, error) {
	const eocdLen, maxComment = 22, 65535
	notZip := invalid("file", "not a readable XLSX workbook: not a zip file")
	if size < eocdLen {
		return 0, notZip
	}
	tail := make([]byte, min(size, eocdLen+maxComment))
	if _, err := ra.ReadAt(tail, size-int64(len(tail))); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read the file: %w", err)
	}
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || len(tail)-i < eocdLen {
		return 0, notZip
	}
	n := uint64(binary.LittleEndian.Uint16(tail[i+10:]))
	if n != 0xffff {
		return n, nil
	}
	// Zip64: the locator is just before the record.
	loc := int64(len(tail)-i) + 20
	if size < loc {
		return 0, notZip
	}
	l := make([]byte, 20)
	if _, err := ra.ReadAt(l, size-loc); err != nil || !bytes.HasPrefix(l, []byte("PK\x06\x07")) {
		return 0, notZip
	}
	off := int64(binary.LittleEndian.Uint64(l[8:]))
	rec := make([]byte, 56)
	if off < 0 || off > size-56 {
		return 0, notZip
	}
	if _, err := ra.ReadAt(rec, off); err != nil || !bytes.HasPrefix(rec, []byte("PK\x06\x06")) {
		return 0, notZip
	}
	return binary.LittleEndian.Uint64(rec[32:]), nil
}

// xlsxTable reads the rows of a sheet as a stream of XML tokens.
type xlsxTable struct {
	ctx      context.Context
	restR    io.Reader
	sheet    io.ReadCloser
	x        *xmlStream
	date1904 bool
	isDate   []bool

	// Shared strings: text in chunks of sstChunk bytes (no copy as it
	// grows; no string spans two), and where each string starts: chunk
	// number × sstChunk + offset. A string ends where the next starts, or
	// at the end of its chunk.
	sst     [][]byte
	sstRefs []uint32
	sstLen  int // bytes of text

	inData  bool
	lastRow int
	done    bool
}

// xmlStream is a part's XML read token by token within limits.
type xmlStream struct {
	d     *xml.Decoder
	src   *boundedReader
	depth int
	part  string
}

func (t *xlsxTable) newXML(r io.Reader, part string, max int64) *xmlStream {
	src := &boundedReader{ctx: t.ctx, r: r, max: max, window: xlsxToken, shown: xlsxToken, what: "the XLSX part " + part}
	d := xml.NewDecoder(src)
	return &xmlStream{d: d, src: src, part: part}
}

// token is the next token (io.EOF at the end); start and end elements
// are counted for their depth.
func (x *xmlStream) token() (xml.Token, error) {
	tok, err := x.d.RawToken()
	x.src.mark = x.d.InputOffset()
	if x.src.err != nil {
		return nil, x.src.err
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, invalid("file", "not a readable XLSX workbook: %s: %v", x.part, err)
	}
	switch tok.(type) {
	case xml.StartElement:
		if x.depth++; x.depth > xlsxDepth {
			return nil, limitError("%s nests elements deeper than the limit of %d", x.part, xlsxDepth)
		}
	case xml.EndElement:
		x.depth--
	}
	return tok, nil
}

// open opens a small part (workbook, relationships) as an xmlStream.
func (t *xlsxTable) open(parts map[string]*zip.File, name string) (*xmlStream, io.Closer, error) {
	f := parts[strings.ToLower(name)]
	if f == nil {
		return nil, nil, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, nil, invalid("file", "not a readable XLSX workbook: %s: %v", name, err)
	}
	return t.newXML(rc, name, xlsxSmallPart), rc, nil
}

// xlsxRels are the relationships of a part: Id, Type and Target, the
// target as a path in the package.
type xlsxRels [][3]string

func (r xlsxRels) byType(suffix string) string {
	for _, rel := range r {
		if strings.HasSuffix(rel[1], suffix) {
			return rel[2]
		}
	}
	return ""
}

func (r xlsxRels) byID(id string) string {
	for _, rel := range r {
		if rel[0] == id {
			return rel[2]
		}
	}
	return ""
}

// rels reads a relationships part; targets are resolved from dir.
func (t *xlsxTable) rels(parts map[string]*zip.File, name, dir string) (xlsxRels, error) {
	x, c, err := t.open(parts, name)
	if x == nil || err != nil {
		return nil, err
	}
	defer c.Close()
	var out xlsxRels
	for {
		tok, err := x.token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" {
			continue
		}
		if len(out) >= MaxImportXLSXParts {
			return nil, limitError("%s has over %d relationships", name, MaxImportXLSXParts)
		}
		target := attr(se, "Target")
		if strings.HasPrefix(target, "/") {
			target = strings.TrimPrefix(target, "/")
		} else {
			target = path.Join(dir, target)
		}
		out = append(out, [3]string{attr(se, "Id"), attr(se, "Type"), path.Clean(target)})
	}
}

// workbook reads the workbook part: the first sheet's path, the shared
// strings' path, and whether dates count from 1904.
func (t *xlsxTable) workbook(parts map[string]*zip.File, name string) (sheet, sst string, err error) {
	dir := path.Dir(name)
	rels, err := t.rels(parts, path.Join(dir, "_rels", path.Base(name)+".rels"), dir)
	if err != nil {
		return "", "", err
	}
	x, c, err := t.open(parts, name)
	if err != nil {
		return "", "", err
	}
	if x == nil {
		return "", "", invalid("file", "not a readable XLSX workbook: no %s", name)
	}
	defer c.Close()
	id := ""
	for id == "" {
		tok, err := x.token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "workbookPr":
			v := attr(se, "date1904")
			t.date1904 = v == "1" || v == "true"
		case "sheet":
			if id = attr(se, "id"); id == "" {
				return "", "", invalid("file", "not a readable XLSX workbook: its first sheet has no relationship id")
			}
		}
	}
	if id == "" {
		return "", "", invalid("file", "the workbook has no sheet")
	}
	sheet = rels.byID(id)
	if sheet == "" {
		return "", "", invalid("file", "not a readable XLSX workbook: its first sheet (%s) has no part", id)
	}
	sst = rels.byType("/sharedStrings")
	if sst == "" {
		sst = path.Join(dir, "sharedStrings.xml")
	}
	return sheet, sst, nil
}

func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}
