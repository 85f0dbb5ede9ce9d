package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"laborcredit/engine"
	"laborcredit/ratings"
	scoringrules "laborcredit/scoring-rules"
)

// generated generates a province into a fresh directory and returns it.
func generated(t testing.TB, p generateParams) (string, generateStats) {
	t.Helper()
	if p.Out == "" {
		p.Out = t.TempDir()
	}
	if p.Province == "" {
		p.Province = "420000"
	}
	if p.Period == 0 {
		p.Period = 2026
	}
	st, err := generateProvince(context.Background(), p)
	require.NoError(t, err)
	return p.Out, st
}

// readCSV reads one generated file: its header and its rows.
func readCSV(t testing.TB, dir, name string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, name))
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = false
	all, err := r.ReadAll()
	require.NoError(t, err, name)
	require.NotEmpty(t, all, name)
	return all[0], all[1:]
}

func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	runDir := func(seed string) string {
		dir := t.TempDir()
		got := runCLI(t, "", "generate", "--employers", "3000", "--period", "2026", "--seed", seed, "--out", dir)
		require.Equal(t, exitOK, got.code, got.stderr)
		require.Empty(t, got.stderr)
		require.Contains(t, got.stdout, "laborcredit generate: 3000 employers of 湖北省 (420000), period 2026, seed "+seed)
		require.Contains(t, got.stdout, filepath.Join(dir, "employers.csv"))
		return dir
	}
	a, b, other := runDir("7"), runDir("7"), runDir("8")
	for _, name := range genFileNames {
		da, err := os.ReadFile(filepath.Join(a, name))
		require.NoError(t, err)
		db, err := os.ReadFile(filepath.Join(b, name))
		require.NoError(t, err)
		require.True(t, bytes.Equal(da, db), "%s differs between two runs with the same seed", name)
		do, err := os.ReadFile(filepath.Join(other, name))
		require.NoError(t, err)
		require.False(t, bytes.Equal(da, do), "%s is the same with another seed", name)
	}
	// No temporary files are left behind, and the files are readable by all.
	entries, err := os.ReadDir(a)
	require.NoError(t, err)
	require.Len(t, entries, len(genFileNames))
	fi, err := os.Stat(filepath.Join(a, "employers.csv"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
}

// TestGenerateOverwrite checks that a second run into the same directory
// replaces the five files and leaves other files alone.
func TestGenerateOverwrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("keep"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cases.csv"), []byte("stale"), 0o644))
	_, st := generated(t, generateParams{Employers: 500, Seed: 3, Out: dir})
	_, rows := readCSV(t, dir, "cases.csv")
	require.Len(t, rows, st.Cases)
	notes, err := os.ReadFile(filepath.Join(dir, "notes.txt"))
	require.NoError(t, err)
	require.Equal(t, "keep", string(notes))
}

func TestGenerateCancelled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := generateProvince(ctx, generateParams{Employers: 5000, Period: 2026, Province: "420000", Out: dir})
	require.ErrorIs(t, err, context.Canceled)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "a cancelled run leaves neither final nor temporary files")
}

// TestGenerateCodes checks every employer's USCC and region, in Hubei and
// in provinces with other shapes of region list (a municipality; a
// province with prefecture cities without counties).
func TestGenerateCodes(t *testing.T) {
	t.Parallel()
	regs, err := ratings.DefaultRegions()
	require.NoError(t, err)
	tests := []struct {
		name      string
		province  string
		employers int
	}{
		{name: "Hubei", province: "420000", employers: 20000},
		{name: "Beijing", province: "110000", employers: 2000},
		{name: "Guangdong", province: "440000", employers: 2000},
		{name: "Xinjiang", province: "650000", employers: 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, st := generated(t, generateParams{Employers: tt.employers, Seed: 11, Province: tt.province})
			require.Equal(t, tt.employers, st.Employers)
			counties, _ := provinceCounties(regs, tt.province)
			inList := map[string]bool{}
			for _, c := range counties {
				inList[c.code] = true
			}
			_, rows := readCSV(t, dir, "employers.csv")
			require.Len(t, rows, tt.employers)
			seen := map[string]bool{}
			orgs := map[string]bool{}
			names := map[string]bool{}
			kinds := map[string]int{}
			regions := map[string]int{}
			for _, row := range rows {
				uscc, name, region := row[0], row[1], row[2]
				require.NoError(t, engine.CheckUSCC(uscc), uscc)
				require.NoError(t, engine.CheckOrgCode(uscc), uscc)
				require.False(t, seen[uscc], "duplicate code %s", uscc)
				seen[uscc] = true
				require.False(t, orgs[uscc[8:17]], "duplicate organisation code in %s", uscc)
				orgs[uscc[8:17]] = true
				require.Equal(t, region, uscc[2:8], "region part of %s", uscc)
				require.True(t, inList[region], "region %s of %s", region, uscc)
				require.True(t, regs.Within(region, tt.province), region)
				require.NotEqual(t, byte('7'), region[4], "development-zone code %s", region)
				require.NotEmpty(t, name)
				names[name] = true
				kinds[uscc[:2]]++
				regions[region]++
				n, err := strconv.Atoi(row[4])
				require.NoError(t, err)
				require.GreaterOrEqual(t, n, 1)
				require.NotEmpty(t, row[3])
			}
			require.Greater(t, len(names), tt.employers*9/10, "names vary widely")
			require.Greater(t, kinds["91"], tt.employers*3/4)
			require.Positive(t, kinds["92"])
			require.Positive(t, kinds["93"])
			require.Greater(t, len(regions), len(counties)*3/4, "employers spread over the counties")
			if tt.province == "420000" {
				wuhan := 0
				for code, n := range regions {
					if strings.HasPrefix(code, "4201") {
						wuhan += n
					}
				}
				require.InDelta(t, 0.33, float64(wuhan)/float64(tt.employers), 0.06, "the capital is denser")
			}
		})
	}
}

// TestGenerateCodesLarge checks uniqueness of codes where collisions of a
// careless scheme would show: 300,000 employers.
func TestGenerateCodesLarge(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("generates 300,000 employers")
	}
	dir, _ := generated(t, generateParams{Employers: 300000, Seed: 5})
	f, err := os.Open(filepath.Join(dir, "employers.csv"))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	require.True(t, sc.Scan()) // the header
	seen := make(map[[9]byte]struct{}, 300000)
	for sc.Scan() {
		var org [9]byte
		copy(org[:], sc.Bytes()[8:17])
		if _, dup := seen[org]; dup {
			require.Failf(t, "duplicate organisation code", "%s", sc.Text())
		}
		seen[org] = struct{}{}
	}
	require.NoError(t, sc.Err())
	require.Len(t, seen, 300000)
}

// importHeaders reads the English column names of each kind from
// docs/IMPORT.md, in the documented order.
func importHeaders(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/IMPORT.md")
	require.NoError(t, err)
	section := regexp.MustCompile(`^## (\w+)`)
	column := regexp.MustCompile("^\\| `(\\w+)` \\|")
	out := map[string]string{}
	kind := ""
	for line := range strings.SplitSeq(string(doc), "\n") {
		if m := section.FindStringSubmatch(line); m != nil {
			kind = m[1]
			continue
		}
		if m := column.FindStringSubmatch(line); m != nil && kind != "" {
			if out[kind] != "" {
				out[kind] += ","
			}
			out[kind] += m[1]
		}
	}
	return out
}

func TestGenerateHeaders(t *testing.T) {
	t.Parallel()
	want := importHeaders(t)
	require.Len(t, want, genFiles)
	dir, _ := generated(t, generateParams{Employers: 50, Seed: 1})
	for _, name := range genFileNames {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		header, _, _ := strings.Cut(string(data), "\n")
		require.Equal(t, want[strings.TrimSuffix(name, ".csv")], header, name)
	}
}

// genProvince is a generated province read back from its CSV files.
type genProvince struct {
	employers  map[string][]string // uscc → employer row
	reviews    [][]string
	cases      [][]string
	complaints [][]string
	deposits   [][]string
}

func readProvince(t *testing.T, dir string) genProvince {
	t.Helper()
	_, emp := readCSV(t, dir, "employers.csv")
	p := genProvince{employers: map[string][]string{}}
	for _, row := range emp {
		p.employers[row[0]] = row
	}
	_, p.reviews = readCSV(t, dir, "reviews.csv")
	_, p.cases = readCSV(t, dir, "cases.csv")
	_, p.complaints = readCSV(t, dir, "complaints.csv")
	_, p.deposits = readCSV(t, dir, "deposits.csv")
	return p
}

// parseBool reads a generated boolean: exactly true or false, or empty.
func parseBool(t *testing.T, s string) bool {
	t.Helper()
	require.Contains(t, []string{"true", "false", ""}, s)
	return s == "true"
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// facts builds each employer's engine facts for a period from the files,
// the way import and the rating cycle would.
func (p genProvince) facts(t *testing.T, period int) map[string]*engine.Facts {
	t.Helper()
	out := make(map[string]*engine.Facts, len(p.employers))
	for uscc, row := range p.employers {
		out[uscc] = &engine.Facts{Period: period, Employer: engine.Employer{
			USCC: uscc, Name: row[1], Region: row[2], Industry: row[3], Employees: atoi(t, row[4])}}
	}
	for _, row := range p.reviews {
		if atoi(t, row[1]) != period {
			continue
		}
		f := out[row[0]]
		require.NotNil(t, f, "review of unknown employer %s", row[0])
		f.AnnualReview = engine.AnnualReview{Submitted: parseBool(t, row[2]), OnTime: parseBool(t, row[3]),
			Employees: atoi(t, row[4]), ContractsSigned: atoi(t, row[5]), Insured: atoi(t, row[6]), RosterComplete: parseBool(t, row[7])}
	}
	for _, row := range p.cases {
		if !strings.HasPrefix(row[3], strconv.Itoa(period)) {
			continue
		}
		f := out[row[1]]
		require.NotNil(t, f, "case of unknown employer %s", row[1])
		c := engine.Case{ID: row[0], Source: row[2], Opened: row[3], Concluded: row[4], Outcome: row[5],
			OrderRefused: parseBool(t, row[7]), Obstructed: parseBool(t, row[8]), MassIncident: parseBool(t, row[9]),
			SeriousImpact: parseBool(t, row[10]), Criminal: parseBool(t, row[11]), WorkersAffected: atoi(t, row[13])}
		if row[6] != "" {
			c.Violations = strings.Split(row[6], ";")
		}
		bw, err := strconv.ParseFloat(row[12], 64)
		require.NoError(t, err)
		c.BackWages = bw
		f.Cases = append(f.Cases, c)
	}
	for _, row := range p.complaints {
		if strings.HasPrefix(row[2], strconv.Itoa(period)) {
			require.NotNil(t, out[row[1]], "complaint about unknown employer %s", row[1])
			out[row[1]].Complaints++
		}
	}
	for _, row := range p.deposits {
		if atoi(t, row[1]) == period {
			out[row[0]].WageDeposit = engine.WageDeposit{Required: parseBool(t, row[2]), Paid: parseBool(t, row[3])}
		}
	}
	return out
}

// TestGenerateRates checks the records of 20,000 employers: valid against
// the engine's rules, unique keys, and rates in the bands of DOMAIN.md.
func TestGenerateRates(t *testing.T) {
	t.Parallel()
	const n = 20000
	dir, st := generated(t, generateParams{Employers: n, Seed: 42})
	p := readProvince(t, dir)
	require.Len(t, p.employers, n)
	require.Len(t, p.reviews, st.Reviews)
	require.Len(t, p.cases, st.Cases)
	require.Len(t, p.complaints, st.Complaints)
	require.Len(t, p.deposits, st.Deposits)

	// Reviews: some missing, some declined, most on time, counts bounded.
	reviewed := map[string]bool{}
	submitted, onTime, declined, short := 0, 0, 0, 0
	for _, row := range p.reviews {
		require.Equal(t, "2026", row[1])
		require.False(t, reviewed[row[0]], "two reviews of %s", row[0])
		reviewed[row[0]] = true
		sub, ot := parseBool(t, row[2]), parseBool(t, row[3])
		require.False(t, ot && !sub, "on time but not submitted: %v", row)
		if !sub {
			declined++
			continue
		}
		submitted++
		if ot {
			onTime++
		}
		emp, contracts, insured := atoi(t, row[4]), atoi(t, row[5]), atoi(t, row[6])
		require.LessOrEqual(t, contracts, emp, row)
		require.LessOrEqual(t, insured, emp, row)
		require.GreaterOrEqual(t, contracts, 0, row)
		require.GreaterOrEqual(t, insured, 0, row)
		if contracts < emp || insured < emp {
			short++
		}
	}
	missing := n - len(reviewed)
	requireShare(t, "submitted reviews", submitted, n, 0.89, 0.95)
	requireShare(t, "on time among submitted", onTime, submitted, 0.85, 0.91)
	requireShare(t, "employers without a review row", missing, n, 0.03, 0.08)
	requireShare(t, "submitted=false rows", declined, n, 0.01, 0.04)
	requireShare(t, "reviews short of contracts or insurance", short, submitted, 0.15, 0.35)

	// Cases: unique numbers, valid, about 1.2% of employers with a counted one.
	caseNos := map[string]bool{}
	violators, open, noViolation, serious := map[string]bool{}, 0, 0, 0
	violationCount := map[string]int{}
	caseNo := regexp.MustCompile(`^(\d{6})-2026-\d{6}$`)
	for _, row := range p.cases {
		require.False(t, caseNos[row[0]], "duplicate case_no %s", row[0])
		caseNos[row[0]] = true
		m := caseNo.FindStringSubmatch(row[0])
		require.NotNil(t, m, row[0])
		require.Equal(t, p.employers[row[1]][2], m[1], "case number carries the employer's region")
	}
	facts := p.facts(t, 2026)
	for _, f := range facts {
		require.NoError(t, f.Validate(), f.Employer.USCC)
		counted := 0
		for _, c := range f.Cases {
			require.True(t, strings.HasPrefix(c.Opened, "2026-"), c.ID)
			switch c.Outcome {
			case "pending":
				open++
				require.Empty(t, c.Concluded)
			case "no_violation":
				noViolation++
			default:
				require.True(t, strings.HasPrefix(c.Concluded, "2026-"), c.ID)
				counted++
				for _, v := range c.Violations {
					violationCount[v]++
				}
				if c.OrderRefused || c.Obstructed || c.MassIncident || c.SeriousImpact || c.Criminal ||
					strings.Contains(strings.Join(c.Violations, ";"), "child_labor") || strings.Contains(strings.Join(c.Violations, ";"), "forced_labor") {
					serious++
				}
				if strings.Contains(strings.Join(c.Violations, ";"), "wage_arrears") {
					require.Positive(t, c.BackWages, c.ID)
					require.Positive(t, c.WorkersAffected, c.ID)
				}
				require.LessOrEqual(t, c.WorkersAffected, f.Employer.Employees, c.ID)
			}
		}
		if counted > 0 {
			violators[f.Employer.USCC] = true
		}
	}
	requireShare(t, "employers with a violation case", len(violators), n, 0.008, 0.017)
	requireShare(t, "cases", len(p.cases), n, 0.012, 0.025)
	require.Positive(t, open, "open cases")
	require.Positive(t, noViolation, "no_violation cases")
	require.Positive(t, serious, "serious-situation cases")
	for _, v := range []string{"wage_arrears", "overtime", "no_contract", "social_insurance"} {
		require.Greater(t, violationCount[v], violationCount["discrimination"], v)
	}
	require.Greater(t, violationCount["wage_arrears"], violationCount["overtime"])

	// Complaints: unique numbers, about 1.7% of employers, received in 2026.
	complaintNos := map[string]bool{}
	for _, row := range p.complaints {
		require.False(t, complaintNos[row[0]], "duplicate complaint_no %s", row[0])
		complaintNos[row[0]] = true
		require.True(t, engine.ValidDate(row[2]) && strings.HasPrefix(row[2], "2026-"), row[2])
	}
	requireShare(t, "complaints per employer", len(p.complaints), n, 0.012, 0.023)

	// Deposits: builders and some mines only; about 80% of required paid.
	required, paid := 0, 0
	for _, row := range p.deposits {
		industry := p.employers[row[0]][3]
		require.Contains(t, []string{"construction", "mining"}, industry, row[0])
		if parseBool(t, row[2]) {
			required++
			if parseBool(t, row[3]) {
				paid++
			}
		} else {
			require.Equal(t, "false", row[3], "paid without an obligation")
		}
	}
	requireShare(t, "required deposits paid", paid, required, 0.74, 0.86)
}

// requireShare asserts that part/whole lies in [lo, hi].
func requireShare(t *testing.T, what string, part, whole int, lo, hi float64) {
	t.Helper()
	require.Positive(t, whole, what)
	share := float64(part) / float64(whole)
	require.True(t, share >= lo && share <= hi, "%s: %d of %d = %.4f, want %.4f–%.4f", what, part, whole, share, lo, hi)
}

// TestGenerateRatingMix rates generated employers with the national rule
// set: the grades come out near the published mixes (DOMAIN.md: 99.3% A
// in Qingdao), with B and C present.
func TestGenerateRatingMix(t *testing.T) {
	t.Parallel()
	const n = 20000
	dir, _ := generated(t, generateParams{Employers: n, Seed: 2026})
	src, err := scoringrules.FS.ReadFile("national-2016.yaml")
	require.NoError(t, err)
	rs, err := engine.Load("national-2016.yaml", src)
	require.NoError(t, err)
	grades := map[string]int{}
	for _, f := range readProvince(t, dir).facts(t, 2026) {
		res, err := engine.Evaluate(rs, f)
		require.NoError(t, err)
		grades[res.Grade]++
	}
	t.Logf("grades of %d employers: %v", n, grades)
	requireShare(t, "grade A", grades["A"], n, 0.95, 0.995)
	requireShare(t, "grade B", grades["B"], n, 0.005, 0.02)
	requireShare(t, "grade C", grades["C"], n, 0.0003, 0.004)
}

// TestGenerateYears checks --years: employers once, records for each
// period, and a period's records the same whichever periods are written.
func TestGenerateYears(t *testing.T) {
	t.Parallel()
	one := t.TempDir()
	got := runCLI(t, "", "generate", "--employers", "2000", "--seed", "9", "--out", one)
	require.Equal(t, exitOK, got.code, got.stderr)
	two := t.TempDir()
	got = runCLI(t, "", "generate", "--employers", "2000", "--seed", "9", "--years", "2", "--out", two)
	require.Equal(t, exitOK, got.code, got.stderr)
	require.Contains(t, got.stdout, "periods 2025–2026")

	read := func(dir, name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return string(data)
	}
	require.Equal(t, read(one, "employers.csv"), read(two, "employers.csv"))
	tests := []struct {
		name string
		year func(row []string) string
	}{
		{name: "reviews.csv", year: func(row []string) string { return row[1] }},
		{name: "cases.csv", year: func(row []string) string { return row[3][:4] }},
		{name: "complaints.csv", year: func(row []string) string { return row[2][:4] }},
		{name: "deposits.csv", year: func(row []string) string { return row[1] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, rowsOne := readCSV(t, one, tt.name)
			_, rowsTwo := readCSV(t, two, tt.name)
			var y2026 [][]string
			years := map[string]int{}
			for _, row := range rowsTwo {
				years[tt.year(row)]++
				if tt.year(row) == "2026" {
					y2026 = append(y2026, row)
				}
			}
			require.Equal(t, rowsOne, y2026, "the 2026 rows do not depend on --years")
			require.Len(t, years, 2, "%v", years)
			require.Positive(t, years["2025"])
		})
	}
}

func TestGenerateUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{name: "no employers", args: []string{"--employers", "0", "--out", "x"}, stderr: "laborcredit: generate: --employers must be from 1 to 100000000, got 0\n"},
		{name: "negative employers", args: []string{"--employers=-5", "--out", "x"}, stderr: "--employers must be"},
		{name: "period too early", args: []string{"--period", "1989", "--out", "x"}, stderr: "laborcredit: generate: --period must be a year from 1990 to 2100, got 1989\n"},
		{name: "period too late", args: []string{"--period", "2101", "--out", "x"}, stderr: "--period must be a year from 1990 to 2100"},
		{name: "years zero", args: []string{"--years", "0", "--out", "x"}, stderr: "--years must be at least 1"},
		{name: "years before 1990", args: []string{"--period", "2000", "--years", "12", "--out", "x"}, stderr: "--years must be at least 1 and reach back no further than 1990, got 12"},
		{name: "prefecture as province", args: []string{"--province", "420100", "--out", "x"}, stderr: "--province \"420100\" is not a province-level code"},
		{name: "unknown province", args: []string{"--province", "990000", "--out", "x"}, stderr: "--province \"990000\" is not a province-level code"},
		{name: "province not a code", args: []string{"--province", "hubei", "--out", "x"}, stderr: "--province \"hubei\""},
		{name: "out missing", args: []string{"--employers", "10"}, stderr: "laborcredit: generate: --out is required"},
		{name: "positional argument", args: []string{"--out", "x", "extra"}, stderr: "generate: unexpected argument \"extra\""},
		{name: "unknown flag", args: []string{"--out", "x", "--frob"}, stderr: "-frob"},
		{name: "not a number", args: []string{"--employers", "many", "--out", "x"}, stderr: "-employers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := append([]string{"generate"}, tt.args...)
			for i, a := range args {
				if a == "x" {
					args[i] = filepath.Join(dir, "out")
				}
			}
			got := runCLI(t, "", args...)
			require.Equal(t, exitUsage, got.code, got.stderr)
			require.Empty(t, got.stdout)
			require.Contains(t, got.stderr, tt.stderr)
			_, err := os.Stat(filepath.Join(dir, "out"))
			require.ErrorIs(t, err, os.ErrNotExist, "nothing written on bad usage")
		})
	}
}

func TestGenerateHelp(t *testing.T) {
	t.Parallel()
	got := runCLI(t, "", "generate", "--help")
	require.Equal(t, exitOK, got.code)
	for _, s := range []string{"Usage: laborcredit generate --out DIR", "-employers int", "-period int", "-years int", "-seed uint", "-province string", "-out string"} {
		require.Contains(t, got.stdout, s)
	}
	root := runCLI(t, "", "--help")
	require.Contains(t, root.stdout, "  generate ")
}

func TestShortPlaceName(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"湖北省", "湖北"},
		{"武汉市", "武汉"},
		{"钟祥市", "钟祥"},
		{"房县", "房县"},
		{"神农架林区", "神农架"},
		{"恩施土家族苗族自治州", "恩施"},
		{"长阳土家族自治县", "长阳"},
		{"黔东南苗族侗族自治州", "黔东南"},
		{"广西壮族自治区", "广西"},
		{"新疆维吾尔自治区", "新疆"},
		{"内蒙古自治区", "内蒙古"},
		{"宁夏回族自治区", "宁夏"},
		{"浦东新区", "浦东"},
		{"鄂温克族自治旗", "鄂温克族自治旗"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, shortPlaceName(tt.name))
		})
	}
}

func TestProvinceCounties(t *testing.T) {
	t.Parallel()
	regs, err := ratings.DefaultRegions()
	require.NoError(t, err)
	codes := func(province string) (map[string]genRegion, map[string]float64) {
		rs, ws := provinceCounties(regs, province)
		out, weights := map[string]genRegion{}, map[string]float64{}
		for i, r := range rs {
			out[r.code] = r
			weights[r.code] = ws[i]
		}
		return out, weights
	}
	hubei, weights := codes("420000")
	require.Contains(t, hubei, "420102")
	require.Contains(t, hubei, "429021", "神农架林区 under 省直辖县级行政区划")
	require.NotContains(t, hubei, "421071", "荆州经济技术开发区 is a development zone")
	require.NotContains(t, hubei, "421171", "龙感湖管理区 is a management zone")
	require.NotContains(t, hubei, "420100", "prefectures with counties are not placed in")
	require.Equal(t, genRegion{code: "420111", prefix: "武汉", full: "洪山区"}, hubei["420111"])
	require.Equal(t, genRegion{code: "420881", prefix: "钟祥", full: "钟祥市"}, hubei["420881"])
	require.Equal(t, genRegion{code: "429004", prefix: "仙桃", full: "仙桃市"}, hubei["429004"])
	require.Equal(t, "宜昌", hubei["420502"].prefix)
	require.Greater(t, weights["420111"], weights["420502"])
	require.Greater(t, weights["420502"], weights["420881"])

	shanghai, _ := codes("310000")
	require.Equal(t, "上海", shanghai["310115"].prefix, "浦东新区 is a district")
	guangdong, _ := codes("440000")
	require.Contains(t, guangdong, "441900", "东莞市 has no county level and stands for itself")
	hebei, _ := codes("130000")
	require.NotContains(t, hebei, "130372", "北戴河新区 is a zone")
}

// TestGenerateOrgCheck checks the organisation-code check character
// against engine.CheckOrgCode on the examples of DOMAIN.md.
func TestGenerateOrgCheck(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"91350100M000100Y43", "91512081MA62K0260E", "91310115591693856A"} {
		require.NoError(t, engine.CheckOrgCode(code), code)
		require.NoError(t, engine.CheckOrgCode(code))
	}
}

// memEnv names the directory the memory child writes into; set, the test
// binary runs TestGenerateMemoryChild alone (see TestGenerateMemory).
const memEnv = "LABORCREDIT_GENERATE_MEMCHILD"

// memSample is the memory one generation took, as the child reports it.
type memSample struct {
	Employers  int    `json:"employers"`
	TotalAlloc uint64 `json:"total_alloc"`
	Mallocs    uint64 `json:"mallocs"`
	HeapInuse  uint64 `json:"heap_inuse"`
}

// TestGenerateMemory checks that memory does not grow with the number of
// employers: 200,000 allocate no more than 20,000 (beyond a small slack)
// and hold no more heap. runtime.MemStats is process-wide, so the
// measurement runs in a child process, away from the parallel tests.
func TestGenerateMemory(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("generates 220,000 employers in a child process")
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestGenerateMemoryChild$", "-test.v")
	cmd.Env = append(os.Environ(), memEnv+"="+t.TempDir())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	var samples []memSample
	for line := range strings.SplitSeq(string(out), "\n") {
		if js, ok := strings.CutPrefix(strings.TrimSpace(line), "MEM "); ok {
			var s memSample
			require.NoError(t, json.Unmarshal([]byte(js), &s))
			samples = append(samples, s)
		}
	}
	require.Len(t, samples, 2, string(out))
	small, large := samples[0], samples[1]
	t.Logf("20k: %+v; 200k: %+v", small, large)
	extra := float64(large.Employers - small.Employers)
	require.Less(t, float64(large.TotalAlloc)-float64(small.TotalAlloc), extra*1, "allocated bytes per extra employer")
	require.Less(t, float64(large.Mallocs)-float64(small.Mallocs), extra*0.01, "allocations per extra employer")
	require.Less(t, float64(large.HeapInuse), float64(small.HeapInuse)+1<<20, "heap in use")
}

// TestGenerateMemoryChild is the measuring half of TestGenerateMemory; it
// runs only in the child process.
func TestGenerateMemoryChild(t *testing.T) {
	t.Parallel()
	dir := os.Getenv(memEnv)
	if dir == "" {
		t.Skip("runs only as the child process of TestGenerateMemory")
	}
	// A first run pays for what is done once (the region list is parsed on
	// first use), so the two measured runs differ only in their size.
	_, err := generateProvince(context.Background(), generateParams{Employers: 1000, Period: 2026, Seed: 1, Province: "420000", Out: filepath.Join(dir, "warm")})
	require.NoError(t, err)
	for _, n := range []int{20000, 200000} {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := generateProvince(context.Background(), generateParams{Employers: n, Period: 2026, Years: 2, Seed: 1, Province: "420000", Out: filepath.Join(dir, strconv.Itoa(n))})
		require.NoError(t, err)
		runtime.ReadMemStats(&after)
		b, err := json.Marshal(memSample{Employers: n, TotalAlloc: after.TotalAlloc - before.TotalAlloc,
			Mallocs: after.Mallocs - before.Mallocs, HeapInuse: after.HeapInuse})
		require.NoError(t, err)
		os.Stdout.WriteString("MEM " + string(b) + "\n")
	}
}

// BenchmarkGenerate writes 100,000 employers with one period of records;
// employers/s is the figure to compare.
func BenchmarkGenerate(b *testing.B) {
	const n = 100000
	dir := b.TempDir()
	b.ReportAllocs()
	var st generateStats
	for b.Loop() {
		var err error
		st, err = generateProvince(context.Background(), generateParams{Employers: n, Period: 2026, Seed: 1, Province: "420000", Out: dir})
		require.NoError(b, err)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "employers/s")
	b.ReportMetric(float64(st.Bytes)/1e6, "MB")
	require.Equal(b, n, st.Employers)
}
