package ratingstest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"sync"
)

// HostileFile is a record file made to hurt an import: a zip bomb, a
// sheet of absurd shape, a CSV that never ends, cells no field may hold.
// Every one is an employers file; importing it must give the error Want
// names, or import Rows rows when Want is "", with bounded memory.
type HostileFile struct {
	Name     string           // what it is
	FileName string           // its name: the extension gives its format
	Open     func() io.Reader // its bytes (made once and kept, or streamed)
	// Want is part of the reason of the error: of the *ValidationError for
	// a file refused whole, of the first rejected row of the
	// *ImportError when Rejected.
	Want     string
	Rejected bool
	Rows     int // rows imported when Want is ""
}

// HostileFiles is the corpus of hostile record files.
func HostileFiles() []HostileFile {
	return hostileOnce()
}

var hostileOnce = sync.OnceValue(func() []HostileFile {
	kept := func(f func() []byte) func() io.Reader {
		b := sync.OnceValue(f)
		return func() io.Reader { return bytes.NewReader(b()) }
	}
	header := hostileRow("uscc", "name", "region")
	good := hostileRow(HostileCode(1), "江岸建筑有限公司", "420102")
	files := []HostileFile{
		{Name: "valid XLSX", FileName: "e.xlsx", Rows: 1,
			Open: kept(func() []byte { return hostileXLSX(nil, header+good) })},
		{Name: "zip bomb: a sheet declared 1 GiB", FileName: "e.xlsx", Want: "unpacks to 1073741824 bytes, over the limit of 512 MiB",
			Open: kept(func() []byte {
				return hostileXLSX(map[string]hostilePart{"xl/worksheets/sheet1.xml": {repeat: "<row><c/></row>", size: 1 << 30, declare: true}}, "")
			})},
		{Name: "zip bomb: a sheet of 64 MiB packed 1000 to 1", FileName: "e.xlsx", Want: "over the limit of 200 to 1",
			Open: kept(func() []byte {
				return hostileXLSX(map[string]hostilePart{"xl/worksheets/sheet1.xml": {repeat: "<row><c/></row>", size: 64 << 20}}, "")
			})},
		{Name: "zip that lies: a sheet declared 1 KiB unpacks to 4 MiB", FileName: "e.xlsx", Want: "not a readable XLSX workbook",
			Open: kept(func() []byte {
				return hostileXLSX(map[string]hostilePart{"xl/worksheets/sheet1.xml": {repeat: "<row><c/></row>", size: 4 << 20, declare: true, lie: 1 << 10}}, "")
			})},
		{Name: "a row of 1,000,000 columns", FileName: "e.xlsx", Want: "over the limit of 256 columns",
			Open: kept(func() []byte {
				return hostileXLSXRows(nil, func(w io.Writer) {
					io.WriteString(w, "<row>")
					for i := range 1_000_000 {
						fmt.Fprintf(w, "<c><v>%d</v></c>", i)
					}
					io.WriteString(w, "</row>")
				})
			})},
		{Name: "2,000,000 rows of tiny cells", FileName: "e.xlsx", Want: "over the limit of 1048576 rows a sheet",
			Open: kept(func() []byte {
				return hostileXLSXRows(nil, func(w io.Writer) {
					io.WriteString(w, header)
					for i := range 2_000_000 {
						fmt.Fprintf(w, `<row r="%d"><c r="D%d"><v>%d</v></c></row>`, i+2, i+2, i%1000)
					}
				})
			})},
		{Name: "4,200,000 shared strings", FileName: "e.xlsx", Want: "over 4194304 shared strings",
			Open: kept(func() []byte {
				return hostileXLSX(map[string]hostilePart{"xl/sharedStrings.xml": {gen: func(w io.Writer) {
					io.WriteString(w, "<sst>")
					for i := range 4_200_000 {
						sum := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
						fmt.Fprintf(w, "<si><t>%s</t></si>", hex.EncodeToString(sum[:2]))
					}
					io.WriteString(w, "</sst>")
				}}}, header)
			})},
		{Name: "a zip of 10,000 parts", FileName: "e.xlsx", Want: "parts, over the limit of 1000",
			Open: kept(func() []byte {
				parts := map[string]hostilePart{}
				for i := range 10_000 {
					parts[fmt.Sprintf("xl/media/image%d.png", i)] = hostilePart{data: "x"}
				}
				return hostileXLSX(parts, header+good)
			})},
		{Name: "docProps declared 3 GiB", FileName: "e.xlsx", Want: "over the limit of 512 MiB",
			Open: kept(func() []byte {
				return hostileXLSX(map[string]hostilePart{"docProps/app.xml": {repeat: "<x/>", size: 3 << 30, declare: true}}, header+good)
			})},
		{Name: "an image of 64 MiB of zeros", FileName: "e.xlsx", Want: "over the limit of 200 to 1",
			Open: kept(func() []byte {
				return hostileXLSX(map[string]hostilePart{"xl/media/image1.png": {repeat: "\x00", size: 64 << 20}}, header+good)
			})},
		{Name: "elements nested 100,000 deep", FileName: "e.xlsx", Want: "deeper than the limit of 64",
			Open: kept(func() []byte { return hostileXLSX(nil, strings.Repeat("<x>", 100_000)) })},
		{Name: "one XML token of 4 MiB", FileName: "e.xlsx", Want: "over the limit of 256 KiB",
			Open: kept(func() []byte { return hostileXLSX(nil, header+"<row><c><v>"+hostileNoise(4<<20)+"</v></c></row>") })},
		{Name: "a cell of 40 KiB", FileName: "e.xlsx", Want: "over the limit of 32 KiB a cell", Rejected: true,
			Open: kept(func() []byte {
				return hostileXLSX(nil, header+hostileRow(HostileCode(2), hostileNoise(40<<10), "420102"))
			})},
		{Name: "a NUL written as _x0000_", FileName: "e.xlsx", Want: "NUL byte at byte 6", Rejected: true,
			Open: kept(func() []byte {
				return hostileXLSX(nil, header+hostileRow(HostileCode(3), "江岸_x0000_建筑", "420102"))
			})},
		{Name: "not a zip", FileName: "e.xlsx", Want: "not a zip file",
			Open: kept(func() []byte { return []byte("uscc,name,region\n") })},
		{Name: "a truncated zip", FileName: "e.xlsx", Want: "not a readable XLSX workbook",
			Open: kept(func() []byte { b := hostileXLSX(nil, header+good); return b[:len(b)/2] })},
		{Name: "CSV with a NUL", FileName: "e.csv", Want: "NUL byte at byte 6", Rejected: true,
			Open: kept(func() []byte { return []byte("uscc,name,region\n" + HostileCode(4) + ",江岸\x00建筑,420102\n") })},
		{Name: "CSV with invalid UTF-8", FileName: "e.csv", Want: "not UTF-8 text", Rejected: true,
			Open: kept(func() []byte { return []byte("uscc,name,region\n" + HostileCode(5) + ",\xbd\xad\xb0\xb6,420102\n") })},
		{Name: "CSV with a bidi override in a name", FileName: "e.csv", Want: `character '\u202e' at byte 6 is not allowed in a name`, Rejected: true,
			Open: kept(func() []byte {
				return []byte("uscc,name,region\n" + HostileCode(6) + ",江岸\u202e司公限有,420102\n")
			})},
		{Name: "CSV with a tab in a name", FileName: "e.csv", Want: `character '\t'`, Rejected: true,
			Open: kept(func() []byte { return []byte("uscc,name,region\n" + HostileCode(7) + ",\"江岸\t建筑\",420102\n") })},
		{Name: "CSV with a quoted field of 100 MB that never ends", FileName: "e.csv", Want: "over the limit of 1 MiB",
			Open: func() io.Reader {
				return io.MultiReader(strings.NewReader("uscc,name,region\n"+HostileCode(8)+",\""), io.LimitReader(hostileA{}, 100<<20))
			}},
		{Name: "CSV with 5,000,001 rows", FileName: "e.csv", Want: "over the limit of 5000000 data rows",
			Open: func() io.Reader {
				return io.MultiReader(strings.NewReader("uscc,name,region\n"), io.LimitReader(&repeater{s: ",\n"}, 2*5_000_001))
			}},
		{Name: "CSV with 100,000 columns", FileName: "e.csv", Want: "100000 columns, over the limit of 256",
			Open: kept(func() []byte { return []byte("uscc,name,region" + strings.Repeat(",", 100_000-3) + "\n") })},
		{Name: "CSV with a cell of 40 KiB", FileName: "e.csv", Want: "over the limit of 32 KiB a cell", Rejected: true,
			Open: kept(func() []byte {
				return []byte("uscc,name,region\n" + HostileCode(9) + "," + hostileNoise(40<<10) + ",420102\n")
			})},
		{Name: "CSV with a BOM", FileName: "e.csv", Rows: 1,
			Open: kept(func() []byte {
				return []byte("\ufeffuscc,name,region\n" + HostileCode(10) + ",江岸建筑有限公司,420102\n")
			})},
		{Name: "CSV with formula cells", FileName: "e.csv", Rows: 2,
			Open: kept(func() []byte {
				return []byte("uscc,name,region,industry\n" + HostileCode(11) + ",\"=HYPERLINK(\"\"http://x\"\")\",420102,@SUM(A1)\n" +
					HostileCode(12) + ",+1+2,420102,-3\n")
			})},
	}
	return files
})

// HostileCode is a valid USCC in 江岸区 (420102) for a serial number.
func HostileCode(n int) string { return Code("420102", fmt.Sprintf("H%07d", n)) }

// hostileRow is a sheet row of inline strings.
func hostileRow(cells ...string) string {
	var b strings.Builder
	b.WriteString("<row>")
	for _, c := range cells {
		b.WriteString(`<c t="inlineStr"><is><t>`)
		xmlEscape(&b, c)
		b.WriteString("</t></is></c>")
	}
	b.WriteString("</row>")
	return b.String()
}

func xmlEscape(b *strings.Builder, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	r.WriteString(b, s)
}

// hostileNoise is n bytes of hex that does not pack well.
func hostileNoise(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprint(i)))
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return b.String()[:n]
}

// hostileA is an endless stream of "a".
type hostileA struct{}

func (hostileA) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// hostilePart is a part of a hostile workbook: data, or repeat written to
// size bytes (declare: written raw with that size declared, or lie when
// not 0, without packing more than 4 MiB of it).
type hostilePart struct {
	data    string
	gen     func(w io.Writer) // writes the part, when set
	repeat  string
	size    int64
	declare bool
	lie     int64
}

// hostileXLSX is a workbook whose first sheet holds rows (sheetData's
// content), with parts added or replaced.
func hostileXLSX(parts map[string]hostilePart, rows string) []byte {
	return hostileXLSXRows(parts, func(w io.Writer) { io.WriteString(w, rows) })
}

// hostileXLSXRows is hostileXLSX with the rows written by a function.
func hostileXLSXRows(parts map[string]hostilePart, rows func(w io.Writer)) []byte {
	base := map[string]hostilePart{
		"[Content_Types].xml": {data: `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`},
		"_rels/.rels": {data: `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		"xl/workbook.xml": {data: `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ` +
			`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		"xl/_rels/workbook.xml.rels": {data: `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`},
		"xl/worksheets/sheet1.xml": {gen: func(w io.Writer) {
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
			rows(w)
			io.WriteString(w, `</sheetData></worksheet>`)
		}},
	}
	for k, v := range parts {
		base[k] = v
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	names := []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml"}
	for k := range base {
		if !strings.Contains(strings.Join(names, "\n"), k) {
			names = append(names, k)
		}
	}
	for _, name := range names {
		p := base[name]
		if err := writeHostilePart(zw, name, p); err != nil {
			panic(err)
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return out.Bytes()
}

func writeHostilePart(zw *zip.Writer, name string, p hostilePart) error {
	if p.repeat == "" {
		w, err := zw.Create(name)
		if err != nil {
			return err
		}
		if p.gen != nil {
			bw := bufio.NewWriterSize(w, 64<<10)
			p.gen(bw)
			return bw.Flush()
		}
		_, err = io.WriteString(w, p.data)
		return err
	}
	src := io.LimitReader(&repeater{s: p.repeat}, p.size)
	if !p.declare {
		w, err := zw.Create(name)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, src)
		return err
	}
	// Pack at most 4 MiB, declare the size (or the lie).
	var packed bytes.Buffer
	fw, err := flate.NewWriter(&packed, flate.BestCompression)
	if err != nil {
		return err
	}
	crc := crc32.NewIEEE()
	if _, err := io.Copy(io.MultiWriter(fw, crc), io.LimitReader(src, 4<<20)); err != nil {
		return err
	}
	if err := fw.Close(); err != nil {
		return err
	}
	size := p.size
	if p.lie > 0 {
		size = p.lie
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc.Sum32(),
		CompressedSize64: uint64(packed.Len()), UncompressedSize64: uint64(size)})
	if err != nil {
		return err
	}
	_, err = w.Write(packed.Bytes())
	return err
}

type repeater struct {
	s string
	i int
}

func (r *repeater) Read(p []byte) (int, error) {
	for n := range p {
		p[n] = r.s[r.i]
		r.i = (r.i + 1) % len(r.s)
	}
	return len(p), nil
}

// HostileXLSX is a workbook whose first sheet's sheetData holds rows and
// whose shared strings part (when sst is not "") is sst, for fuzzing.
func HostileXLSX(rows, sst string) []byte {
	var parts map[string]hostilePart
	if sst != "" {
		parts = map[string]hostilePart{"xl/sharedStrings.xml": {data: sst}}
	}
	return hostileXLSX(parts, rows)
}
