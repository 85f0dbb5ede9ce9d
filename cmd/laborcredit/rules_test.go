package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/engine"
)

// tinyRules is a small valid rule set; the bad ones below differ from it in
// one place each, so their line numbers are those of this text.
const tinyRules = `id: tiny
version: 2
title: a tiny rule set for the command tests
grades: [A, B, C]
let:
  counted: filter(cases, len(.violations) > 0 and year(.concluded) == period)
rules:
  - id: c-order-refused
    when: any(cases, .order_refused)
    cap: C
    reason: an order was refused
  - id: b-violation-found
    when: len(counted) > 0
    cap: B
    reason: a violation was found
    evidence: map(counted, .id)
`

// writeFile writes content to name in dir and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

// replaceOnce replaces old, which must occur exactly once in s.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	require.Equal(t, 1, strings.Count(s, old), "%q in\n%s", old, s)
	return strings.Replace(s, old, new, 1)
}

func TestRulesCheck(t *testing.T) {
	t.Parallel()
	misspelt := func(t *testing.T) string {
		return replaceOnce(t, tinyRules, "any(cases, .order_refused)", "any(cases, .order_refusd)")
	}
	syntax := func(t *testing.T) string {
		return replaceOnce(t, tinyRules, "when: len(counted) > 0", "when: len(counted) > > 0")
	}
	misspeltErr := func(path string) string {
		return path + ":9: c-order-refused when: type engine.Case has no field order_refusd (1:13)\n" +
			" | any(cases, .order_refusd)\n" +
			" | ............^\n"
	}
	syntaxErr := func(path string) string {
		return path + ":13: b-violation-found when: unexpected token Operator(\">\") (1:16)\n" +
			" | len(counted) > > 0\n" +
			" | ...............^\n"
	}
	tests := []struct {
		name   string
		files  func(t *testing.T, dir string) []string
		code   int
		stderr func(files []string) string // the whole of stderr
	}{
		{
			name:   "the tiny rule set is ok",
			files:  func(t *testing.T, dir string) []string { return []string{writeFile(t, dir, "tiny.yaml", tinyRules)} },
			code:   exitOK,
			stderr: func(f []string) string { return "" },
		},
		{
			name: "a misspelt fact field",
			files: func(t *testing.T, dir string) []string {
				return []string{writeFile(t, dir, "misspelt.yaml", misspelt(t))}
			},
			code:   exitFailure,
			stderr: func(f []string) string { return misspeltErr(f[0]) + "1 of 1 rule sets have errors\n" },
		},
		{
			name:   "an expression syntax error",
			files:  func(t *testing.T, dir string) []string { return []string{writeFile(t, dir, "syntax.yaml", syntax(t))} },
			code:   exitFailure,
			stderr: func(f []string) string { return syntaxErr(f[0]) + "1 of 1 rule sets have errors\n" },
		},
		{
			name: "every error of one file",
			files: func(t *testing.T, dir string) []string {
				both := replaceOnce(t, misspelt(t), "when: len(counted) > 0", "when: len(counted) > > 0")
				return []string{writeFile(t, dir, "both.yaml", both)}
			},
			code: exitFailure,
			stderr: func(f []string) string {
				return misspeltErr(f[0]) + syntaxErr(f[0]) + "1 of 1 rule sets have errors\n"
			},
		},
		{
			name: "two bad files and a good one",
			files: func(t *testing.T, dir string) []string {
				return []string{
					writeFile(t, dir, "misspelt.yaml", misspelt(t)),
					nationalRules,
					writeFile(t, dir, "syntax.yaml", syntax(t)),
				}
			},
			code: exitFailure,
			stderr: func(f []string) string {
				return misspeltErr(f[0]) + syntaxErr(f[2]) + "2 of 3 rule sets have errors\n"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := tt.files(t, t.TempDir())
			got := runCLI(t, "", append([]string{"rules", "check"}, files...)...)
			require.Equal(t, tt.code, got.code, got.stderr)
			require.Equal(t, tt.stderr(files), got.stderr)
			var want []string
			for _, f := range files {
				switch filepath.Base(f) {
				case "tiny.yaml":
					want = append(want, "ok "+regexp.QuoteMeta(f)+`: tiny v2, 2 rules, 0 awards, fast path, sha256:[0-9a-f]{64}\n`)
				case "national-2016.yaml":
					want = append(want, "ok "+regexp.QuoteMeta(f)+`: national-2016 v1, 8 rules, 1 award, fast path, sha256:[0-9a-f]{64}\n`)
				}
			}
			require.Regexp(t, "^"+strings.Join(want, "")+"$", got.stdout)
		})
	}
}

func TestRulesCheckNational(t *testing.T) {
	t.Parallel()
	got := runCLI(t, "", "rules", "check", nationalRules)
	require.Equal(t, exitOK, got.code, got.stderr)
	require.Regexp(t, `^ok \.\./\.\./scoring-rules/national-2016\.yaml: national-2016 v1, 8 rules, 1 award, fast path, sha256:[0-9a-f]{64}\n$`, got.stdout)
	require.Empty(t, got.stderr)
}

// rules check scoring-rules/*.yaml also gets the test files: they are
// parsed and their rule set loaded, not treated as rule sets.
func TestRulesCheckShippedGlob(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../scoring-rules/*.yaml")
	require.NoError(t, err)
	require.Len(t, files, 4)
	got := runCLI(t, "", append([]string{"rules", "check"}, files...)...)
	require.Equal(t, exitOK, got.code, got.stderr)
	require.Empty(t, got.stderr)
	require.Regexp(t, `(?m)^ok \.\./\.\./scoring-rules/national-2016_test\.yaml: \d+ test cases for national-2016 \(run them with rules test\)$`, got.stdout)
	require.Regexp(t, `(?m)^ok \.\./\.\./scoring-rules/provincial-points\.yaml: provincial-points v1, \d+ rules, 1 award, fast path, sha256:`, got.stdout)
	require.Equal(t, 4, strings.Count(got.stdout, "\nok ")+1)

	// A broken test file is an error of check too.
	dir := t.TempDir()
	writeFile(t, dir, "x.yaml", tinyRules)
	bad := writeFile(t, dir, "x_test.yaml", "cases:\n  - name: a\n    fact: {}\n")
	got = runCLI(t, "", "rules", "check", bad)
	require.Equal(t, exitFailure, got.code)
	require.Contains(t, got.stderr, `unknown field "fact"`)
}

func TestRulesCheckYAMLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		edit   func(t *testing.T) string
		stderr []string // substrings
	}{
		{
			name: "a misspelt rule key",
			edit: func(t *testing.T) string {
				return replaceOnce(t, tinyRules, "    reason: a violation was found", "    reasn: a violation was found")
			},
			stderr: []string{"[15:5] unknown field \"reasn\"", "> 15 |     reasn: a violation was found"},
		},
		{
			name: "a YAML syntax error",
			edit: func(t *testing.T) string {
				return replaceOnce(t, tinyRules, "    cap: B\n", "    cap: B\n   oops: [\n")
			},
			stderr: []string{"[15:4]", "> 15 |    oops: ["},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), "bad.yaml", tt.edit(t))
			got := runCLI(t, "", "rules", "check", path)
			require.Equal(t, exitFailure, got.code)
			require.Empty(t, got.stdout)
			require.True(t, strings.HasPrefix(got.stderr, path+": "), got.stderr)
			for _, s := range tt.stderr {
				require.Contains(t, got.stderr, s)
			}
			require.True(t, strings.HasSuffix(got.stderr, "\n1 of 1 rule sets have errors\n"), got.stderr)
		})
	}
}

// passedRe is the summary line of rules test.
var passedRe = regexp.MustCompile(`^(\d+) passed, (\d+) failed$`)

func TestRulesTest(t *testing.T) {
	t.Parallel()
	national, err := os.ReadFile(nationalRules)
	require.NoError(t, err)
	const cases = `defaults:
  period: 2026
  employer: {uscc: 91420102MA4K12345G, name: 武汉某建筑有限公司, region: "420102"}
  annual_review: {submitted: true, on_time: true}
cases:
  - name: no case is A
    facts: {}
    want: {grade: A, fired: [], awards: []}
  - name: a violation wrongly expected to stay A
    facts:
      cases:
        - {id: WH-2026-0001, source: complaint, opened: 2026-03-02, concluded: 2026-04-10, violations: [wage_arrears], outcome: rectified}
    want: {grade: A}
  - name: a bad check character is refused
    facts:
      employer: {uscc: 91420102MA4K12345H}
    want: {error: "employer.uscc: not a valid unified social credit code"}
`
	tests := []struct {
		name   string
		dir    func(t *testing.T) string
		args   []string
		code   int
		stdout func(dir string) string
	}{
		{
			name: "one wrong expectation",
			dir: func(t *testing.T) string {
				dir := t.TempDir()
				writeFile(t, dir, "national-2016.yaml", string(national))
				writeFile(t, dir, "national-2016_test.yaml", cases)
				return dir
			},
			code: exitFailure,
			stdout: func(dir string) string {
				return "FAIL " + filepath.Join(dir, "national-2016_test.yaml") + ":9: a violation wrongly expected to stay A: grade: want A, got B\n" +
					"2 passed, 1 failed\n"
			},
		},
		{
			name: "one wrong expectation, verbose",
			dir: func(t *testing.T) string {
				dir := t.TempDir()
				writeFile(t, dir, "national-2016.yaml", string(national))
				writeFile(t, dir, "national-2016_test.yaml", cases)
				return dir
			},
			args: []string{"-v"},
			code: exitFailure,
			stdout: func(dir string) string {
				file := filepath.Join(dir, "national-2016_test.yaml")
				return "ok   " + file + ":6: no case is A\n" +
					"FAIL " + file + ":9: a violation wrongly expected to stay A: grade: want A, got B\n" +
					"ok   " + file + ":14: a bad check character is refused\n" +
					"2 passed, 1 failed\n"
			},
		},
		{
			name: "all right",
			dir: func(t *testing.T) string {
				dir := t.TempDir()
				writeFile(t, dir, "national-2016.yaml", string(national))
				writeFile(t, dir, "national-2016_test.yaml", replaceOnce(t, cases, "want: {grade: A}", "want: {grade: B}"))
				return dir
			},
			code:   exitOK,
			stdout: func(string) string { return "3 passed, 0 failed\n" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := tt.dir(t)
			got := runCLI(t, "", append([]string{"rules", "test", dir}, tt.args...)...)
			require.Equal(t, tt.code, got.code, got.stderr)
			require.Equal(t, tt.stdout(dir), got.stdout)
			require.Empty(t, got.stderr)
		})
	}

	t.Run("the scoring-rules folder passes", func(t *testing.T) {
		t.Parallel()
		got := runCLI(t, "", "rules", "test", "../../scoring-rules")
		require.Equal(t, exitOK, got.code, "stdout:\n%s\nstderr:\n%s", got.stdout, got.stderr)
		lines := strings.Split(strings.TrimSuffix(got.stdout, "\n"), "\n")
		m := passedRe.FindStringSubmatch(lines[len(lines)-1])
		require.NotNil(t, m, got.stdout)
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		require.Positive(t, n)
		require.Equal(t, "0", m[2])
		require.Len(t, lines, 1, "only the summary without -v")
	})

	t.Run("a folder without test files", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		got := runCLI(t, "", "rules", "test", dir)
		require.Equal(t, exitFailure, got.code)
		require.Equal(t, "laborcredit: no *_test.yaml files under "+dir+"\n", got.stderr)
	})

	t.Run("a test file whose rule set does not load", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "tiny.yaml", replaceOnce(t, tinyRules, "when: len(counted) > 0", "when: len(counted) > > 0"))
		file := writeFile(t, dir, "tiny_test.yaml", "cases:\n  - name: x\n    facts: {}\n    want: {grade: A}\n")
		got := runCLI(t, "", "rules", "test", dir)
		require.Equal(t, exitFailure, got.code)
		require.Equal(t, "0 passed, 1 failed\n", got.stdout)
		require.True(t, strings.HasPrefix(got.stderr, file+": "), got.stderr)
		require.Contains(t, got.stderr, "b-violation-found when: unexpected token Operator(\">\")")
	})
}

// evalOutput is the engine output JSON of rules eval.
type evalOutput struct {
	USCC        string   `json:"uscc"`
	Period      int      `json:"period"`
	RuleSet     string   `json:"rule_set"`
	RuleSetHash string   `json:"rule_set_hash"`
	Grade       string   `json:"grade"`
	Score       *float64 `json:"score"`
	Fired       []struct {
		Rule     string   `json:"rule"`
		Cap      string   `json:"cap"`
		Evidence []string `json:"evidence"`
	} `json:"fired"`
	Awards []struct {
		ID string `json:"id"`
	} `json:"awards"`
}

func TestRulesEvalOneDocument(t *testing.T) {
	t.Parallel()
	pretty, err := os.ReadFile("../../testdata/facts/violation.json")
	require.NoError(t, err)
	oneLine, err := os.ReadFile("../../testdata/facts/violation-oneline.json")
	require.NoError(t, err)
	tests := []struct {
		name   string
		facts  string
		stdin  string
		indent bool // the output is indented (one document) rather than one line
	}{
		{name: "pretty-printed file", facts: "../../testdata/facts/violation.json", indent: true},
		{name: "one-line file", facts: "../../testdata/facts/violation-oneline.json"},
		{name: "pretty-printed on stdin", facts: "-", stdin: string(pretty), indent: true},
		{name: "one line on stdin", facts: "-", stdin: string(oneLine)},
		{name: "pretty-printed on stdin after blank lines", facts: "-", stdin: "\n \n\t\n" + string(pretty), indent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, tt.stdin, "rules", "eval", "--rules", nationalRules, "--facts", tt.facts)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Empty(t, got.stderr)
			var out evalOutput
			require.NoError(t, json.Unmarshal([]byte(got.stdout), &out))
			require.Equal(t, "91420102MA4K12345G", out.USCC)
			require.Equal(t, 2026, out.Period)
			require.Equal(t, "national-2016", out.RuleSet)
			require.Regexp(t, `^sha256:[0-9a-f]{64}$`, out.RuleSetHash)
			require.Equal(t, "B", out.Grade)
			require.Nil(t, out.Score)
			require.Len(t, out.Fired, 1)
			require.Equal(t, "b-violation-found", out.Fired[0].Rule)
			require.Equal(t, "B", out.Fired[0].Cap)
			require.Equal(t, []string{"WH-2026-0001"}, out.Fired[0].Evidence)
			require.Empty(t, out.Awards)

			// the output is the engine JSON, indented for one pretty-printed
			// document and on one line otherwise
			var compact bytes.Buffer
			require.NoError(t, json.Compact(&compact, []byte(got.stdout)))
			if tt.indent {
				var indented bytes.Buffer
				require.NoError(t, json.Indent(&indented, compact.Bytes(), "", "  "))
				require.Equal(t, indented.String()+"\n", got.stdout)
				require.True(t, strings.HasPrefix(got.stdout, "{\n  \"uscc\": \"91420102MA4K12345G\",\n"), got.stdout)
			} else {
				require.Equal(t, compact.String()+"\n", got.stdout)
			}
		})
	}
}

func TestRulesEvalBadFacts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stderr string // the whole of stderr
	}{
		{
			name:   "unknown field",
			args:   []string{"--facts", "../../testdata/facts/unknown-field.json"},
			code:   exitFailure,
			stderr: "laborcredit: ../../testdata/facts/unknown-field.json: employer.ceo: unknown field\n",
		},
		{
			name:   "bad USCC",
			args:   []string{"--facts", "../../testdata/facts/bad-uscc.json"},
			code:   exitFailure,
			stderr: "laborcredit: ../../testdata/facts/bad-uscc.json: employer.uscc: not a valid unified social credit code: check character is 'H', want 'G'\n",
		},
		{
			name:   "bad date",
			args:   []string{"--facts", "../../testdata/facts/bad-date.json"},
			code:   exitFailure,
			stderr: "laborcredit: ../../testdata/facts/bad-date.json: cases[0].concluded: not a date (want YYYY-MM-DD): \"2026-04-31\"\n",
		},
		{
			name:   "bad date on stdin",
			args:   []string{"--facts", "-"},
			stdin:  mustRead("../../testdata/facts/bad-date.json"),
			code:   exitFailure,
			stderr: "laborcredit: -: cases[0].concluded: not a date (want YYYY-MM-DD): \"2026-04-31\"\n",
		},
		{
			name:   "empty input",
			args:   []string{"--facts", "-"},
			stdin:  " \n\n",
			code:   exitFailure,
			stderr: "laborcredit: -: no facts in the input\n",
		},
		{
			name:   "missing facts file",
			args:   []string{"--facts", "no-such-facts.json"},
			code:   exitFailure,
			stderr: "laborcredit: open no-such-facts.json: no such file or directory\n",
		},
		{
			name:   "missing --rules",
			args:   []string{"--facts", "../../testdata/facts/violation.json", "--rules", ""},
			code:   exitUsage,
			stderr: "laborcredit: rules eval: --rules and --facts are required\nRun with --help for usage.\n",
		},
		{
			name:   "missing --facts",
			args:   nil,
			code:   exitUsage,
			stderr: "laborcredit: rules eval: --rules and --facts are required\nRun with --help for usage.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, tt.stdin, append([]string{"rules", "eval", "--rules", nationalRules}, tt.args...)...)
			require.Equal(t, tt.code, got.code, got.stderr)
			require.Empty(t, got.stdout)
			require.Equal(t, tt.stderr, got.stderr)
		})
	}

	t.Run("no --rules at all", func(t *testing.T) {
		t.Parallel()
		got := runCLI(t, "", "rules", "eval", "--facts", "../../testdata/facts/violation.json")
		require.Equal(t, exitUsage, got.code)
		require.Empty(t, got.stdout)
		require.Contains(t, got.stderr, "--rules and --facts are required")
	})

	t.Run("a rule set that does not load", func(t *testing.T) {
		t.Parallel()
		path := writeFile(t, t.TempDir(), "syntax.yaml", replaceOnce(t, tinyRules, "when: len(counted) > 0", "when: len(counted) > > 0"))
		got := runCLI(t, "", "rules", "eval", "--rules", path, "--facts", "../../testdata/facts/violation.json")
		require.Equal(t, exitFailure, got.code)
		require.Empty(t, got.stdout)
		require.Contains(t, got.stderr, ":13: b-violation-found when: unexpected token Operator(\">\") (1:16)\n")
	})
}

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// testUSCC is a valid USCC in region 420102 made from n.
func testUSCC(t *testing.T, n int) string {
	t.Helper()
	first17 := fmt.Sprintf("91420102MA%07d", n)
	check, err := engine.USCCCheckChar(first17)
	require.NoError(t, err)
	return first17 + string(check)
}

// gradeFacts is employer n's facts for 2026, made to get grade (A, B or C)
// from the national rule set. Every field is written out.
func gradeFacts(t *testing.T, n int, grade string, blacklisted bool) engine.Facts {
	t.Helper()
	f := engine.Facts{
		Period:       2026,
		Employer:     engine.Employer{USCC: testUSCC(t, n), Name: fmt.Sprintf("测试企业%04d", n), Region: "420102", Industry: "construction", Employees: 10},
		AnnualReview: engine.AnnualReview{Submitted: true, OnTime: true, Employees: 10, ContractsSigned: 10, Insured: 10, RosterComplete: true},
		WageDeposit:  engine.WageDeposit{Required: true, Paid: true},
		Blacklisted:  blacklisted,
	}
	violation := map[string]string{"B": "wage_arrears", "C": "child_labor"}[grade]
	if violation != "" {
		f.Cases = []engine.Case{{ID: fmt.Sprintf("WH-2026-%04d", n), Source: "complaint", Opened: "2026-03-02", Concluded: "2026-04-10",
			Violations: []string{violation}, Outcome: "rectified", WorkersAffected: 1}}
	}
	return f
}

func factsLine(t *testing.T, f engine.Facts) string {
	t.Helper()
	b, err := json.Marshal(f)
	require.NoError(t, err)
	return string(b)
}

// mixGrade is the grade employer i is made to get: mostly A, some B and C.
func mixGrade(i int) string {
	switch {
	case i%7 == 3:
		return "C"
	case i%3 == 1:
		return "B"
	}
	return "A"
}

// requireEvalLines checks that stdout is one result per employer, in order.
func requireEvalLines(t *testing.T, stdout string, employers []int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if stdout == "" {
		lines = nil
	}
	require.Len(t, lines, len(employers))
	for k, line := range lines {
		var out evalOutput
		require.NoError(t, json.Unmarshal([]byte(line), &out), line)
		i := employers[k]
		require.Equal(t, testUSCC(t, i), out.USCC, "output line %d", k+1)
		require.Equal(t, 2026, out.Period, "output line %d", k+1)
		require.Equal(t, mixGrade(i), out.Grade, "output line %d (employer %d)", k+1, i)
	}
}

func TestRulesEvalJSONLines(t *testing.T) {
	t.Parallel()
	const n = 1000
	var in strings.Builder
	employers := make([]int, n)
	for i := range n {
		in.WriteString(factsLine(t, gradeFacts(t, i, mixGrade(i), false)) + "\n")
		employers[i] = i
	}
	path := writeFile(t, t.TempDir(), "facts.jsonl", in.String())
	tests := []struct {
		name  string
		args  []string
		stdin string
	}{
		{name: "file, default workers", args: []string{"--facts", path}},
		{name: "file, one worker", args: []string{"--facts", path, "--workers", "1"}},
		{name: "file, three workers", args: []string{"--workers", "3", "--facts", path}},
		{name: "stdin", args: []string{"--facts", "-"}, stdin: in.String()},
		{name: "no final newline", args: []string{"--facts", "-"}, stdin: strings.TrimSuffix(in.String(), "\n")},
		{name: "CRLF line ends", args: []string{"--facts", "-"}, stdin: strings.ReplaceAll(in.String(), "\n", "\r\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, tt.stdin, append([]string{"rules", "eval", "--rules", nationalRules}, tt.args...)...)
			require.Equal(t, exitOK, got.code, got.stderr)
			require.Empty(t, got.stderr)
			requireEvalLines(t, got.stdout, employers)
		})
	}
}

func TestRulesEvalBadLines(t *testing.T) {
	t.Parallel()
	const n = 1000
	// Employers 0..n-1, one per line, with blank lines after employers 99
	// and 499, and bad lines after employers 299 and 699.
	var in strings.Builder
	line := 0
	var badLines []int
	var good []int
	for i := range n {
		in.WriteString(factsLine(t, gradeFacts(t, i, mixGrade(i), false)) + "\n")
		line++
		good = append(good, i)
		switch i {
		case 99:
			in.WriteString("\n")
			line++
		case 499:
			in.WriteString("  \t\r\n")
			line++
		case 299:
			bad := replaceOnce(t, factsLine(t, gradeFacts(t, 5000, "A", false)), `"industry":`, `"ceo":"张三","industry":`)
			in.WriteString(bad + "\n")
			line++
			badLines = append(badLines, line)
		case 699:
			bad := replaceOnce(t, factsLine(t, gradeFacts(t, 5001, "B", false)), testUSCC(t, 5001), "91420102MA4K12345H")
			in.WriteString(bad + "\n")
			line++
			badLines = append(badLines, line)
		}
	}
	require.Equal(t, []int{302, 704}, badLines) // 300 good + 1 blank before the first; 700 good + 2 blank + 1 bad before the second
	path := writeFile(t, t.TempDir(), "facts.jsonl", in.String())
	tests := []struct {
		name   string
		args   []string
		good   []int  // employers on stdout, in order
		stderr string // the whole of stderr
	}{
		{
			name: "report and go on",
			args: []string{"--facts", path},
			good: good,
			stderr: fmt.Sprintf("%s:%d: employer.ceo: unknown field\n", path, badLines[0]) +
				fmt.Sprintf("%s:%d: employer.uscc: not a valid unified social credit code: check character is 'H', want 'G'\n", path, badLines[1]) +
				"1000 employers evaluated, 2 bad lines\n",
		},
		{
			name: "report and go on, one worker",
			args: []string{"--facts", path, "--workers", "1"},
			good: good,
			stderr: fmt.Sprintf("%s:%d: employer.ceo: unknown field\n", path, badLines[0]) +
				fmt.Sprintf("%s:%d: employer.uscc: not a valid unified social credit code: check character is 'H', want 'G'\n", path, badLines[1]) +
				"1000 employers evaluated, 2 bad lines\n",
		},
		{
			name:   "strict stops at the first bad line",
			args:   []string{"--facts", path, "--strict"},
			good:   good[:300],
			stderr: fmt.Sprintf("%s:%d: employer.ceo: unknown field\n", path, badLines[0]),
		},
		{
			name:   "strict on stdin",
			args:   []string{"--strict", "--facts", "-"},
			good:   good[:300],
			stderr: fmt.Sprintf("-:%d: employer.ceo: unknown field\n", badLines[0]),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, in.String(), append([]string{"rules", "eval", "--rules", nationalRules}, tt.args...)...)
			require.Equal(t, exitFailure, got.code)
			require.Equal(t, tt.stderr, got.stderr)
			requireEvalLines(t, got.stdout, tt.good)
		})
	}
}

func TestRulesEvalLeadingBlankLines(t *testing.T) {
	t.Parallel()
	good := factsLine(t, gradeFacts(t, 1, mixGrade(1), false))
	got := runCLI(t, "\n\n"+good+"\n"+`{"period":2026,"bogus":1}`+"\n", "rules", "eval", "--rules", nationalRules, "--facts", "-")
	require.Equal(t, exitFailure, got.code)
	require.Equal(t, "-:4: bogus: unknown field\n1 employer evaluated, 1 bad line\n", got.stderr)
	requireEvalLines(t, got.stdout, []int{1})
}

func TestRulesEvalSparseLines(t *testing.T) {
	t.Parallel()
	// JSON Lines written by hand leave out false and empty fields.
	uscc := testUSCC(t, 1)
	in := `{"period":2026,"employer":{"uscc":"` + uscc + `","name":"x","region":"420102"},"cases":[{"id":"A1","source":"complaint","opened":"2026-03-01","concluded":"2026-04-01","violations":["overtime"],"outcome":"penalized","order_refused":true}]}` + "\n" +
		`{"period":2026,"employer":{"uscc":"` + uscc + `","name":"x","region":"420102"},"cases":[{"id":"A2","source":"complaint","opened":"2026-03-01","violations":["overtime"],"outcome":"pending"}]}` + "\n"
	got := runCLI(t, in, "rules", "eval", "--rules", nationalRules, "--facts", "-", "--workers", "1")
	require.Equal(t, exitOK, got.code, got.stderr)
	lines := strings.Split(strings.TrimSuffix(got.stdout, "\n"), "\n")
	require.Len(t, lines, 2)
	var first, second evalOutput
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &second))
	require.Equal(t, "C", first.Grade)
	require.Equal(t, "A", second.Grade, lines[1]) // open case, no order refused
	require.Empty(t, second.Fired)
}

func TestRulesEvalCanceled(t *testing.T) {
	t.Parallel()
	var in strings.Builder
	for i := range 600 {
		in.WriteString(factsLine(t, gradeFacts(t, i, "A", false)) + "\n")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got := runCLIContext(ctx, in.String(), "rules", "eval", "--rules", nationalRules, "--facts", "-")
	require.Equal(t, exitFailure, got.code)
	require.Equal(t, "laborcredit: -: context canceled\n", got.stderr)
}

func TestRulesEvalInterruptedWhileReading(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		first string // what the input sends before it stalls
	}{
		{name: "before the first line"},
		{name: "after one line", first: factsLine(t, gradeFacts(t, 1, "A", false)) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pr, pw := io.Pipe()
			t.Cleanup(func() { pw.Close() }) // let a stuck run finish
			go func() { _, _ = pw.Write([]byte(tt.first)) }()
			ctx, cancel := context.WithCancel(t.Context())
			var stdout, stderr bytes.Buffer
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, []string{"rules", "eval", "--rules", nationalRules, "--facts", "-"}, pr, &stdout, &stderr)
			}()
			time.Sleep(100 * time.Millisecond)
			cancel()
			select {
			case code := <-done:
				require.Equal(t, exitFailure, code)
			case <-time.After(3 * time.Second):
				require.Fail(t, "rules eval still waits on its input 3s after the interrupt")
			}
		})
	}
}

// draftRules is the national rule set with another id and a rule that
// caps blacklisted employers at C.
func draftRules(t *testing.T) string {
	t.Helper()
	national, err := os.ReadFile(nationalRules)
	require.NoError(t, err)
	s := replaceOnce(t, string(national), "\nid: national-2016\n", "\nid: national-2016-draft\n")
	return replaceOnce(t, s, "\nawards:\n", `
  - id: c-blacklisted
    when: blacklisted
    cap: C
    reason: 列入拖欠农民工工资"黑名单"
awards:
`)
}

func TestRulesSimulate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	draft := writeFile(t, dir, "draft.yaml", draftRules(t))
	// Ten employers: 0, 3, 6 and 9 blacklisted; 3 (B) and 4 (C) with cases.
	grades := []string{"A", "A", "A", "B", "C", "A", "A", "A", "A", "A"}
	var in strings.Builder
	for i, g := range grades {
		in.WriteString(factsLine(t, gradeFacts(t, i, g, i%3 == 0)) + "\n")
	}
	facts := writeFile(t, dir, "facts.jsonl", in.String())
	args := []string{"rules", "simulate", "--base", nationalRules, "--draft", draft, "--facts", facts}

	t.Run("text", func(t *testing.T) {
		t.Parallel()
		got := runCLI(t, "", args...)
		require.Equal(t, exitOK, got.code, got.stderr)
		require.Empty(t, got.stderr)
		require.Regexp(t, `^base:  national-2016 \(sha256:[0-9a-f]{64}\)\ndraft: national-2016-draft \(sha256:[0-9a-f]{64}\)\n\n`, got.stdout)
		row := func(cells ...any) string {
			s := fmt.Sprintf("%-12s", cells[0])
			for _, c := range cells[1:] {
				s += fmt.Sprintf("%10v", c)
			}
			return s + "\n"
		}
		require.Contains(t, got.stdout, row(`base\draft`, "A", "B", "C")+row("A", 5, 0, 3)+row("B", 0, 0, 1)+row("C", 0, 0, 1))
		require.Contains(t, got.stdout, "\n10 employers, 4 change grade\n")
		require.True(t, strings.HasSuffix(got.stdout, "\nfirst 4 that change:\n"+
			"  "+testUSCC(t, 0)+"  A → C  now: c-blacklisted\n"+
			"  "+testUSCC(t, 3)+"  B → C  now: c-blacklisted\n"+
			"  "+testUSCC(t, 6)+"  A → C  now: c-blacklisted\n"+
			"  "+testUSCC(t, 9)+"  A → C  now: c-blacklisted\n"), got.stdout)
	})

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		got := runCLI(t, "", append(args, "--json", "--show", "2")...)
		require.Equal(t, exitOK, got.code, got.stderr)
		require.Empty(t, got.stderr)
		var sim struct {
			Base      string                    `json:"base"`
			Draft     string                    `json:"draft"`
			Employers int                       `json:"employers"`
			Changed   int                       `json:"changed"`
			Matrix    map[string]map[string]int `json:"matrix"`
			First     []struct {
				USCC       string   `json:"uscc"`
				BaseGrade  string   `json:"base_grade"`
				DraftGrade string   `json:"draft_grade"`
				OnlyBase   []string `json:"fired_only_in_base"`
				OnlyDraft  []string `json:"fired_only_in_draft"`
			} `json:"first_changes"`
		}
		require.NoError(t, json.Unmarshal([]byte(got.stdout), &sim))
		require.Equal(t, "national-2016", sim.Base)
		require.Equal(t, "national-2016-draft", sim.Draft)
		require.Equal(t, 10, sim.Employers)
		require.Equal(t, 4, sim.Changed)
		require.Equal(t, 3, sim.Matrix["A"]["C"])
		require.Equal(t, 5, sim.Matrix["A"]["A"])
		require.Equal(t, 1, sim.Matrix["B"]["C"])
		require.Equal(t, 1, sim.Matrix["C"]["C"])
		require.Len(t, sim.First, 2) // --show 2
		require.Equal(t, testUSCC(t, 0), sim.First[0].USCC)
		require.Equal(t, "A", sim.First[0].BaseGrade)
		require.Equal(t, "C", sim.First[0].DraftGrade)
		require.Equal(t, []string{}, sim.First[0].OnlyBase)
		require.Equal(t, []string{"c-blacklisted"}, sim.First[0].OnlyDraft)
		require.Equal(t, testUSCC(t, 3), sim.First[1].USCC)
		require.Equal(t, "B", sim.First[1].BaseGrade)
	})

	t.Run("facts on stdin", func(t *testing.T) {
		t.Parallel()
		got := runCLI(t, in.String(), "rules", "simulate", "--facts", "-", "--base", nationalRules, "--draft", draft)
		require.Equal(t, exitOK, got.code, got.stderr)
		require.Contains(t, got.stdout, "\n10 employers, 4 change grade\n")
	})

	t.Run("a bad line is reported and skipped", func(t *testing.T) {
		t.Parallel()
		got := runCLI(t, in.String()+`{"period":2026,"bogus":true}`+"\n", "rules", "simulate", "--facts", "-", "--base", nationalRules, "--draft", draft)
		require.Equal(t, exitFailure, got.code)
		require.Contains(t, got.stdout, "\n10 employers, 4 change grade\n")
		require.Equal(t, "-:11: bogus: unknown field\n1 bad line skipped\n", got.stderr)
	})

	t.Run("missing --draft", func(t *testing.T) {
		t.Parallel()
		got := runCLI(t, "", "rules", "simulate", "--base", nationalRules, "--facts", facts)
		require.Equal(t, exitUsage, got.code)
		require.Empty(t, got.stdout)
		require.Equal(t, "laborcredit: rules simulate: give --draft, and either --base and --facts, or --period\nRun with --help for usage.\n", got.stderr)
	})
}

// rules check refuses a rule set that breaks the engine's limits, on
// worst-case facts or on the facts of its own test cases, naming the rule.
func TestRulesCheckRefusesBombs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, when, cases, stderr string
	}{
		{name: "repeat", when: `len(repeat("0123456789", 100000000)) > 0`, stderr: "bomb when: rule set limit exceeded: repeat would build"},
		{name: "nested loops over the largest facts", when: `count(cases, {count(cases, {count(cases, {.criminal}) == 7}) == 7}) == 7`,
			stderr: "bomb when: rule set limit exceeded: work budget exceeded"},
		{name: "a bomb only its own test case sets off", when: `len(employer.name) > 100 and len(repeat(employer.name, 1000)) > 0`,
			cases:  "cases:\n  - name: a long name\n    facts: {period: 2026, employer: {uscc: 91420102MA4K12345G, name: '" + strings.Repeat("名", 200) + "', region: '420102'}}\n    want: {grade: B}\n",
			stderr: "bomb when: rule set limit exceeded: repeat would build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			src := "id: bomb-set\ngrades: [A, B]\nrules:\n  - id: bomb\n    when: '" + tt.when + "'\n    cap: B\n    reason: x\n"
			path := writeFile(t, dir, "bomb.yaml", src)
			files := []string{path}
			if tt.cases != "" {
				files = append(files, writeFile(t, dir, "bomb_test.yaml", tt.cases))
			}
			for _, f := range files {
				got := runCLI(t, "", "rules", "check", f)
				require.Equal(t, exitFailure, got.code, got.stdout)
				require.Contains(t, got.stderr, tt.stderr)
				require.Contains(t, got.stderr, path+":5: bomb when")
			}
		})
	}
}
