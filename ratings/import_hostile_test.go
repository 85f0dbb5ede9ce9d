package ratings_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// checkHostileResult checks an import of a hostile file: refused with
// the reason the file names (nothing stored), or imported.
func checkHostileResult(t *testing.T, f ratingstest.HostileFile, rep *ratings.ImportReport, err error) {
	t.Helper()
	switch {
	case f.Want == "":
		require.NoError(t, err)
		require.Equal(t, f.Rows, rep.Inserted)
	case f.Rejected:
		var ie *ratings.ImportError
		require.ErrorAs(t, err, &ie)
		require.NotEmpty(t, ie.Report.Rejected)
		require.Contains(t, ie.Report.Rejected[0].Reason, f.Want)
	default:
		var ve *ratings.ValidationError
		require.ErrorAs(t, err, &ve, "%v", err)
		require.Equal(t, "file", ve.Field)
		require.Contains(t, ve.Reason, f.Want)
	}
}

// Every hostile file is refused with a reason naming what is wrong, and
// nothing is stored, or it imports; on both databases.
func TestImportHostileFiles(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc := newService(t, db)
		for _, f := range ratingstest.HostileFiles() {
			t.Run(f.Name, func(t *testing.T) {
				ctx := context.Background()
				before := dumpTables(t, db)
				rep, err := svc.Import(ctx, ratings.System, ratings.ImportParams{Kind: "employers", FileName: f.FileName, Reader: f.Open()})
				checkHostileResult(t, f, rep, err)
				if f.Want != "" {
					require.Equal(t, before, dumpTables(t, db), "a refused file stored something")
				}
			})
		}
	})
}

// With SkipInvalid, a row with a cell no field may hold is rejected and
// the other rows imported; on both databases.
func TestImportSkipsBadText(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		e := importCodes(t)
		csv := "uscc,name,region,industry\n" +
			e[0] + ",江岸\x00建筑,420102,\n" +
			e[1] + ",\u202e江岸物流,420102,\n" +
			e[2] + ",江汉餐饮有限公司,420103,\xff\xfe\n" +
			code(t, "420102", 9004) + ",江岸好企业,420102,construction\n"
		rep, err := importFile(ctx, svc, ratings.System, "employers", "e.csv", []byte(csv), true)
		require.NoError(t, err)
		require.Equal(t, 1, rep.Inserted)
		require.Equal(t, []ratings.RowError{
			{Row: 2, Column: "name", Value: "江岸\uFFFD建筑", Reason: "NUL byte at byte 6"},
			{Row: 3, Column: "name", Value: "\u202e江岸物流", Reason: `character '\u202e' at byte 0 is not allowed in a name`},
			{Row: 4, Column: "industry", Value: "\uFFFD", Reason: "not UTF-8 text: save the file as CSV UTF-8 (a GBK file reads like this); invalid UTF-8 at byte 0"},
		}, rep.Rejected)
		require.Equal(t, 1, countRows(t, db, "employers"))
	})
}

// An import past its deadline imports nothing and says so.
func TestImportDeadline(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc := newService(t, db)
		var b strings.Builder
		b.WriteString("uscc,name,region\n")
		for i := range 2000 {
			fmt.Fprintf(&b, "%s,企业%d,420102\n", code(t, "420102", 40000+i), i)
		}
		_, err := svc.Import(context.Background(), ratings.System, ratings.ImportParams{Kind: "employers", FileName: "e.csv",
			Reader: strings.NewReader(b.String()), BatchSize: 100, Timeout: 50 * time.Millisecond,
			Progress: func(int, int) { time.Sleep(20 * time.Millisecond) }})
		var ve *ratings.ValidationError
		require.ErrorAs(t, err, &ve)
		require.Equal(t, "file", ve.Field)
		require.Contains(t, ve.Reason, "took longer than its limit of 50ms")
		require.Zero(t, countRows(t, db, "employers"))
	})
}

// hostileHelperEnv carries "URL|FILE|NAME" to TestHelperHostileImport.
const hostileHelperEnv = "LABORCREDIT_TEST_HOSTILE_HELPER"

// TestHelperHostileImport is not a test: run as a child process (with
// hostileHelperEnv set) it imports one hostile file and prints the result,
// so that its parent can read the child's peak memory.
func TestHelperHostileImport(t *testing.T) {
	t.Parallel()
	env := os.Getenv(hostileHelperEnv)
	if env == "" {
		return
	}
	parts := strings.SplitN(env, "|", 3)
	ctx := context.Background()
	db, err := ratings.Open(ctx, parts[0])
	require.NoError(t, err)
	defer db.Close()
	file, err := os.Open(parts[1])
	require.NoError(t, err)
	defer file.Close()
	var r io.Reader = file
	if strings.HasPrefix(parts[2], "stream:") { // a reader that cannot seek
		r = struct{ io.Reader }{file}
	}
	rep, err := newService(t, db).Import(ctx, ratings.System, ratings.ImportParams{Kind: "employers", FileName: parts[1], Reader: r})
	for _, f := range ratingstest.HostileFiles() {
		if f.Name == strings.TrimPrefix(parts[2], "stream:") {
			checkHostileResult(t, f, rep, err)
			// The peak of this process image: ru_maxrss of a child keeps
			// its parent's from before exec.
			status, err := os.ReadFile("/proc/self/status")
			require.NoError(t, err)
			for line := range strings.SplitSeq(string(status), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					fmt.Printf("peak %s\n", strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				}
			}
			fmt.Println("checked")
			return
		}
	}
	t.Fatalf("no hostile file %q", parts[2])
}

// hostileMaxRSS is the peak resident memory allowed a process importing
// any hostile file (the test binary alone takes about 40 MiB).
const hostileMaxRSS = 256 << 20

// No hostile file makes the importing process's memory grow past
// hostileMaxRSS: each is imported by a child process, whose peak resident
// memory is measured; the files are read in place (a file, an upload) and
// as a stream.
func TestImportHostileMemory(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs a process per file")
	}
	for _, f := range ratingstest.HostileFiles() {
		for _, how := range []string{"file", "stream"} {
			t.Run(f.Name+"/"+how, func(t *testing.T) {
				if f.FileName == "e.csv" && how == "stream" && f.Want != "over the limit of 1 MiB" {
					t.Skip("a CSV file is always read as a stream")
				}
				path := filepath.Join(t.TempDir(), f.FileName)
				out, err := os.Create(path)
				require.NoError(t, err)
				_, err = io.Copy(out, f.Open())
				require.NoError(t, err)
				require.NoError(t, out.Close())
				name := f.Name
				if how == "stream" {
					name = "stream:" + name
				}
				cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHostileImport$", "-test.count=1", "-test.v")
				cmd.Env = append(os.Environ(), hostileHelperEnv+"="+ratingstest.SQLiteURL(t)+"|"+path+"|"+name)
				var stdout bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stdout
				start := time.Now()
				require.NoError(t, cmd.Run(), stdout.String())
				require.Contains(t, stdout.String(), "checked\n", stdout.String())
				m := regexp.MustCompile(`(?m)^peak (\d+)$`).FindStringSubmatch(stdout.String())
				require.NotNil(t, m, stdout.String())
				kb, err := strconv.ParseInt(m[1], 10, 64)
				require.NoError(t, err)
				rss := kb << 10
				t.Logf("peak RSS %s MiB in %.1f s", strconv.FormatFloat(float64(rss)/(1<<20), 'f', 1, 64), time.Since(start).Seconds())
				require.Less(t, rss, int64(hostileMaxRSS), "peak resident memory")
			})
		}
	}
}

// EscapeFormula disarms every cell a spreadsheet would run.
func TestEscapeFormula(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"江岸建筑有限公司", "江岸建筑有限公司"},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"＝1", "'＝1"},
		{"＋1", "'＋1"},
		{"a=1", "a=1"},
		{"'=1", "'=1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, ratings.EscapeFormula(tt.in))
		})
	}
}

// Shared strings read back as written, also across the chunks they are
// kept in, with rich-text runs joined, phonetic runs left out and _xHHHH_
// escapes decoded.
func TestImportXLSXSharedStrings(t *testing.T) {
	t.Parallel()
	var want []string
	var sst, rows strings.Builder
	sst.WriteString("<sst>")
	rows.WriteString(`<row><c t="inlineStr"><is><t>uscc</t></is></c><c t="inlineStr"><is><t>name</t></is></c><c t="inlineStr"><is><t>region</t></is></c></row>`)
	for i := range 100 {
		s := fmt.Sprintf("%03d-%x", i, sha256Chain(15000+i))
		want = append(want, s)
		fmt.Fprintf(&sst, "<si><t>%s</t></si>", s)
		fmt.Fprintf(&rows, `<row><c t="s"><v>%d</v></c></row>`, i)
	}
	sst.WriteString(`<si><r><t>江</t></r><rPh><t>jiang</t></rPh><r><t xml:space="preserve">岸_x0041__x005F_x0041_</t></r></si></sst>`)
	want = append(want, "江岸A_x0041_")
	rows.WriteString(`<row><c t="s"><v>100</v></c></row>`)
	var got []string
	err := ratings.ReadImportFile("employers", "e.xlsx", bytes.NewReader(ratingstest.HostileXLSX(rows.String(), sst.String())), func(row int, cells []string) error {
		if row > 1 {
			got = append(got, cells[0])
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// sha256Chain is n bytes that do not pack well.
func sha256Chain(n int) []byte {
	var out []byte
	sum := sha256.Sum256(nil)
	for len(out) < n {
		sum = sha256.Sum256(sum[:])
		out = append(out, sum[:]...)
	}
	return out[:n]
}

// An import that skips invalid rows lists every one, so past
// MaxImportRejected of them it imports nothing.
func TestImportTooManyRejected(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		var b strings.Builder
		b.WriteString("uscc,name,region\n" + code(t, "420102", 9100) + ",江岸好企业,420102\n")
		for range ratings.MaxImportRejected + 1 {
			b.WriteString("x,,420102\n")
		}
		_, err := importFile(context.Background(), newService(t, db), ratings.System, "employers", "e.csv", []byte(b.String()), true)
		var ve *ratings.ValidationError
		require.ErrorAs(t, err, &ve)
		require.Equal(t, "over 100000 rows rejected, the limit of an import that skips them; nothing was imported", ve.Reason)
		require.Zero(t, countRows(t, db, "employers"))
	})
}

// An employer's name and industry added by hand pass CheckName too.
func TestAddEmployerRefusesBadNames(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc := newService(t, db)
		tests := []struct {
			name, employerName, industry, field, reason string
		}{
			{"NUL in the name", "江岸\x00建筑", "", "name", "NUL byte at byte 6"},
			{"bidi override in the name", "\u202e司公限有", "", "name", `character '\u202e' at byte 0 is not allowed in a name`},
			{"invalid UTF-8 in the industry", "江岸建筑", "\xff", "industry", "invalid UTF-8 at byte 0"},
			{"line break in the industry", "江岸建筑", "a\nb", "industry", `character '\n' at byte 1 is not allowed in a name`},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := svc.AddEmployer(context.Background(), ratings.System, ratings.Employer{USCC: code(t, "420102", 9200+i),
					Name: tt.employerName, Region: "420102", Industry: tt.industry})
				require.Equal(t, &ratings.ValidationError{Field: tt.field, Reason: tt.reason}, err)
			})
		}
		require.Zero(t, countRows(t, db, "employers"))
	})
}
