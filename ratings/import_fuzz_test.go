package ratings_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// fuzzMaxInput bounds the fuzzers' inputs.
const fuzzMaxInput = 1 << 20

// checkReadImport reads a file as an import does and checks that the
// reader keeps its limits: an error is a validation error or an import
// error, and no row is wider or has a longer cell than the limits allow.
func checkReadImport(t *testing.T, name string, data []byte) {
	err := ratings.ReadImportFile("employers", name, bytes.NewReader(data), func(row int, cells []string) error {
		require.Positive(t, row)
		require.LessOrEqual(t, len(cells), ratings.MaxImportColumns)
		for _, c := range cells {
			require.LessOrEqual(t, len(c), ratings.MaxImportRecord)
		}
		return nil
	})
	if err == nil {
		return
	}
	var ve *ratings.ValidationError
	var ie *ratings.ImportError
	require.True(t, errors.As(err, &ve) || errors.As(err, &ie), "%T %v", err, err)
}

// FuzzImportCSV feeds the CSV reader any bytes.
func FuzzImportCSV(f *testing.F) {
	for _, s := range []string{
		"uscc,name,region\n91420102MA0000001X,江岸,420102\n",
		"\ufeffuscc,name,region\r\n\"a\"\"b\",\"c\nd\",e\r\n",
		"uscc,name,region\n\"never ends",
		"uscc,name\x00,region\n\xff,\u202e,\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzMaxInput {
			t.Skip()
		}
		checkReadImport(t, "f.csv", data)
	})
}

// FuzzImportXLSX feeds the XLSX reader any sheet and shared strings, in a
// well-formed zip, and any bytes as the file.
func FuzzImportXLSX(f *testing.F) {
	f.Add(`<row r="1"><c t="inlineStr"><is><t>uscc</t></is></c><c t="s"><v>0</v></c><c r="C1" t="inlineStr"><is><t>region</t></is></c></row>`+
		`<row r="2"><c><v>1</v></c><c t="s"><v>1</v></c></row>`,
		`<sst><si><t>name</t></si><si><r><t>江</t></r><rPh><t>x</t></rPh><r><t>岸_x0041_</t></r></si></sst>`, false)
	f.Add(`<row><c r="XFD1"><v>1</v></c></row><row r="0"/>`, "", false)
	f.Add("PK\x05\x06\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "", true)
	f.Fuzz(func(t *testing.T, rows, sst string, raw bool) {
		if len(rows)+len(sst) > fuzzMaxInput {
			t.Skip()
		}
		data := []byte(rows)
		if !raw {
			data = ratingstest.HostileXLSX(rows, sst)
		}
		checkReadImport(t, "f.xlsx", data)
	})
}
