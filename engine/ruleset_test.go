package engine_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/expr-lang/expr/file"
	"github.com/stretchr/testify/require"

	"laborcredit/engine"
)

// loadRules loads an inline rule set named t.yaml and fails the test when it
// does not load.
func loadRules(t *testing.T, src string) *engine.RuleSet {
	t.Helper()
	rs, err := engine.Load("t.yaml", []byte(src))
	require.NoError(t, err)
	return rs
}

const validRuleSet = `# a small rule set
id: small-2026
version: 3
title: 小规则集
grades: [A, B, C]
let:
  counted: filter(cases, len(.violations) > 0 and year(.concluded) == period)
rules:
  - id: c-three
    when: len(counted) >= 3
    cap: C
    basis: 第七条
    reason: 三次以上
    evidence: map(counted, .id)
  - id: points-contracts
    when: annual_review.contracts_signed < annual_review.employees
    points: -5
    reason: 未全部签订合同
score: {base: 100, bands: [{min: 90, grade: A}, {min: 60, grade: B}, {min: 0, grade: C}]}
awards:
  - id: best
    title: 最佳
    when: grade == "A" and score >= 100
`

func TestLoadValid(t *testing.T) {
	t.Parallel()
	rs := loadRules(t, validRuleSet)
	require.Equal(t, "small-2026", rs.ID)
	require.Equal(t, 3, rs.Version)
	require.Equal(t, "小规则集", rs.Title)
	require.Equal(t, []string{"A", "B", "C"}, rs.Grades)
	require.Equal(t, "A", rs.DefaultGrade, "default_grade defaults to the first (best) grade")
	require.Regexp(t, `^sha256:[0-9a-f]{64}$`, rs.Hash)
	require.Equal(t, validRuleSet, string(rs.Source))
	require.Equal(t, 2, rs.GradeRank("C"))
	require.Equal(t, -1, rs.GradeRank("D"))

	require.Equal(t, []engine.Let{{Name: "counted", Expr: "filter(cases, len(.violations) > 0 and year(.concluded) == period)", Line: 7}}, rs.Lets())
	require.Equal(t, []*engine.Rule{
		{ID: "c-three", When: "len(counted) >= 3", Cap: "C", Basis: "第七条", Reason: "三次以上", Evidence: "map(counted, .id)", Line: 10},
		{ID: "points-contracts", When: "annual_review.contracts_signed < annual_review.employees", Points: -5, Reason: "未全部签订合同", Line: 16},
	}, rs.Rules())
	require.Equal(t, &engine.Score{Base: 100, Bands: []engine.Band{{Min: 90, Grade: "A"}, {Min: 60, Grade: "B"}, {Min: 0, Grade: "C"}}}, rs.Score())
	require.Equal(t, []*engine.Award{{ID: "best", Title: "最佳", When: `grade == "A" and score >= 100`, Line: 23}}, rs.Awards())
}

func TestLoadNational(t *testing.T) {
	t.Parallel()
	rs, err := engine.LoadFile("../scoring-rules/national-2016.yaml")
	require.NoError(t, err)
	require.Equal(t, "national-2016", rs.ID)
	require.Equal(t, 1, rs.Version)
	require.Equal(t, []string{"A", "B", "C"}, rs.Grades)
	require.Nil(t, rs.Score())
	require.Len(t, rs.Rules(), 8)
	require.Len(t, rs.Awards(), 1)

	_, err = engine.LoadFile("../scoring-rules/no-such-file.yaml")
	require.EqualError(t, err, "read rule set: open ../scoring-rules/no-such-file.yaml: no such file or directory")
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestLoadHash(t *testing.T) {
	t.Parallel()
	base := loadRules(t, validRuleSet)
	tests := []struct {
		name string
		src  string
		same bool
	}{
		{
			name: "comments added",
			src:  strings.ReplaceAll(validRuleSet, "\n  - id:", "\n  # another rule\n  - id:") + "# the end\n",
			same: true,
		},
		{
			name: "spacing and flow style changed",
			src: strings.Replace(strings.Replace(validRuleSet, "grades: [A, B, C]", "grades:\n  - A\n  - B\n  - C", 1),
				"    cap: C\n", "    cap:    C   \n", 1),
			same: true,
		},
		{
			name: "when written as a literal block",
			src:  strings.Replace(validRuleSet, "when: len(counted) >= 3", "when: |\n      len(counted) >= 3\n", 1),
			same: true,
		},
		{
			name: "points as a float",
			src:  strings.Replace(validRuleSet, "points: -5", "points: -5.0", 1),
			same: true,
		},
		{name: "rule threshold changed", src: strings.Replace(validRuleSet, ">= 3", ">= 4", 1)},
		{name: "points changed", src: strings.Replace(validRuleSet, "points: -5", "points: -6", 1)},
		{name: "cap changed", src: strings.Replace(validRuleSet, "cap: C", "cap: B", 1)},
		{name: "reason changed", src: strings.Replace(validRuleSet, "reason: 三次以上", "reason: 三次或以上", 1)},
		{name: "band changed", src: strings.Replace(validRuleSet, "{min: 90, grade: A}", "{min: 85, grade: A}", 1)},
		{name: "version changed", src: strings.Replace(validRuleSet, "version: 3", "version: 4", 1)},
		{name: "let changed", src: strings.Replace(validRuleSet, "== period)", "<= period)", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.NotEqual(t, validRuleSet, tt.src, "the edit must change the source")
			rs := loadRules(t, tt.src)
			if tt.same {
				require.Equal(t, base.Hash, rs.Hash)
			} else {
				require.NotEqual(t, base.Hash, rs.Hash)
			}
		})
	}
	// The hash is a pure function of the content.
	require.Equal(t, base.Hash, loadRules(t, validRuleSet).Hash)
}

// wantRuleError is one expected item of a RuleSetError.
type wantRuleError struct {
	line        int
	rule, field string
	// exprLine and exprCol are the 1-based position inside the expression
	// of an expression error (the *file.Error), 0 when it is not one.
	exprLine, exprCol int
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	longExpr := "period == 1" + strings.Repeat(" or period == 1", 600)
	bigExpr := "period > 0" + strings.Repeat(" + 1", 1100)
	tests := []struct {
		name string
		src  string
		err  string
		want []wantRuleError
	}{
		{
			name: "misspelt field",
			src: `id: t
grades: [A, B, C]
rules:
  - id: contracts
    when: annual_review.employes > 0
    cap: B
    reason: x
`,
			err: "t.yaml:5: contracts when: type engine.AnnualReview has no field employes (1:15)\n" +
				" | annual_review.employes > 0\n" +
				" | ..............^",
			want: []wantRuleError{{line: 5, rule: "contracts", field: "when", exprLine: 1, exprCol: 15}},
		},
		{
			name: "misspelt nested field in a closure",
			src: `id: t
grades: [A, B, C]
rules:
  - id: late
    when: any(cases, .concluded_on > "2026-01-01")
    cap: B
    reason: x
`,
			err: "t.yaml:5: late when: type engine.Case has no field concluded_on (1:13)\n" +
				" | any(cases, .concluded_on > \"2026-01-01\")\n" +
				" | ............^",
			want: []wantRuleError{{line: 5, rule: "late", field: "when", exprLine: 1, exprCol: 13}},
		},
		{
			name: "syntax error in when",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: period >
    cap: B
    reason: x
`,
			err: "t.yaml:5: r1 when: unexpected token EOF (1:8)\n" +
				" | period >\n" +
				" | .......^",
			want: []wantRuleError{{line: 5, rule: "r1", field: "when", exprLine: 1, exprCol: 8}},
		},
		{
			name: "error on the third line of a literal block",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    cap: B
    when: |
      period > 2000
      and complaints > 0
      and annual_review.employes > 0
    reason: x
`,
			err: "t.yaml:9: r1 when: type engine.AnnualReview has no field employes (3:19)\n" +
				" | and annual_review.employes > 0\n" +
				" | ..................^",
			want: []wantRuleError{{line: 9, rule: "r1", field: "when", exprLine: 3, exprCol: 19}},
		},
		{
			name: "error on the second line of a folded block",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    cap: B
    when: >-
      period > 2000
      and annual_review.employes > 0
    reason: x
`,
			err: "t.yaml:8: r1 when: type engine.AnnualReview has no field employes (1:33)\n" +
				" | period > 2000 and annual_review.employes > 0\n" +
				" | ................................^",
			want: []wantRuleError{{line: 8, rule: "r1", field: "when", exprLine: 1, exprCol: 33}},
		},
		{
			name: "duplicate rule ids",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: period > 0
    cap: B
    reason: x
  - id: r1
    when: complaints > 0
    cap: B
    reason: y
`,
			err:  "t.yaml:9: r1 id: duplicate rule id",
			want: []wantRuleError{{line: 9, rule: "r1", field: "id"}},
		},
		{
			name: "duplicate award ids",
			src: `id: t
grades: [A, B]
awards:
  - id: best
    title: T
    when: grade == "A"
  - id: best
    title: T2
    when: grade == "A" and not blacklisted
`,
			err:  "t.yaml:9: best id: duplicate award id",
			want: []wantRuleError{{line: 9, rule: "best", field: "id"}},
		},
		{
			name: "cap on an unknown grade",
			src: `id: t
grades: [A, B, C]
rules:
  - id: r1
    when: period > 0
    cap: D
    reason: x
`,
			err:  `t.yaml:5: r1 cap: grade "D" is not one of grades [A B C]`,
			want: []wantRuleError{{line: 5, rule: "r1", field: "cap"}},
		},
		{
			name: "default_grade not in grades",
			src: `id: t
grades: [A, B]
default_grade: Z
`,
			err:  `t.yaml: default_grade: "Z" is not one of grades [A B]`,
			want: []wantRuleError{{field: "default_grade"}},
		},
		{
			name: "empty grades",
			src: `id: t
grades: []
`,
			err:  "t.yaml: grades: at least one grade is required, best first",
			want: []wantRuleError{{field: "grades"}},
		},
		{
			name: "grade listed twice",
			src: `id: t
grades: [A, B, A]
`,
			err:  `t.yaml: grades: grade "A" is empty or listed twice`,
			want: []wantRuleError{{field: "grades"}},
		},
		{
			name: "when is not bool",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: len(cases)
    cap: B
    reason: x
`,
			err:  "t.yaml:5: r1 when: expected bool, but got int",
			want: []wantRuleError{{line: 5, rule: "r1", field: "when"}},
		},
		{
			name: "award when is not bool",
			src: `id: t
grades: [A, B]
awards:
  - id: best
    title: T
    when: grade
`,
			err:  "t.yaml:6: best when: expected bool, but got string",
			want: []wantRuleError{{line: 6, rule: "best", field: "when"}},
		},
		{
			name: "points expression is a string",
			src: `id: t
grades: [A, B]
score: {base: 100, bands: [{min: 50, grade: A}, {min: 0, grade: B}]}
rules:
  - id: r1
    when: period > 0
    points: employer.name
    reason: x
`,
			err:  "t.yaml:7: r1 points: expected float64, but got string",
			want: []wantRuleError{{line: 7, rule: "r1", field: "points"}},
		},
		{
			name: "evidence is not a list",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: period > 0
    cap: B
    reason: x
    evidence: employer.name
`,
			err:  "t.yaml:8: r1 evidence: must be a list of record ids (strings), got string",
			want: []wantRuleError{{line: 8, rule: "r1", field: "evidence"}},
		},
		{
			name: "evidence is a list of records, not of ids",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: period > 0
    cap: B
    reason: x
    evidence: cases
`,
			err:  "t.yaml:8: r1 evidence: must be a list of record ids (strings), got []engine.Case",
			want: []wantRuleError{{line: 8, rule: "r1", field: "evidence"}},
		},
		{
			name: "points without a score section",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: period > 0
    points: -5
    reason: x
`,
			err:  "t.yaml:5: r1 points: points need a score section in the rule set",
			want: []wantRuleError{{line: 5, rule: "r1", field: "points"}},
		},
		{
			name: "rule with neither cap nor points",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: period > 0
    reason: x
`,
			err:  "t.yaml:5: r1: a rule needs a cap, points, or both",
			want: []wantRuleError{{line: 5, rule: "r1"}},
		},
		{
			name: "missing reason",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: period > 0
    cap: B
    reason: "  "
`,
			err:  "t.yaml:5: r1 reason: required: the reason is what an employer is told",
			want: []wantRuleError{{line: 5, rule: "r1", field: "reason"}},
		},
		{
			name: "missing when",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    cap: B
    reason: x
`,
			err:  "t.yaml: r1 when: expression is required",
			want: []wantRuleError{{rule: "r1", field: "when"}},
		},
		{
			name: "score bands not descending",
			src: `id: t
grades: [A, B, C]
score: {base: 100, bands: [{min: 60, grade: A}, {min: 90, grade: B}, {min: 0, grade: C}]}
`,
			err:  "t.yaml: score.bands: band 1: min 90 must be lower than the band before (highest first)",
			want: []wantRuleError{{field: "score.bands"}},
		},
		{
			name: "score bands with equal minimums",
			src: `id: t
grades: [A, B]
score: {base: 100, bands: [{min: 60, grade: A}, {min: 60, grade: B}]}
`,
			err:  "t.yaml: score.bands: band 1: min 60 must be lower than the band before (highest first)",
			want: []wantRuleError{{field: "score.bands"}},
		},
		{
			name: "band grade unknown",
			src: `id: t
grades: [A, B]
score: {base: 100, bands: [{min: 60, grade: A}, {min: 0, grade: E}]}
`,
			err:  `t.yaml: score.bands: band 1: grade "E" is not one of grades [A B]`,
			want: []wantRuleError{{field: "score.bands"}},
		},
		{
			name: "band grades not best first",
			src: `id: t
grades: [A, B]
score: {base: 100, bands: [{min: 60, grade: B}, {min: 0, grade: A}]}
`,
			err:  `t.yaml: score.bands: band 1: grade "A" is better than the band above it`,
			want: []wantRuleError{{field: "score.bands"}},
		},
		{
			name: "score without bands",
			src: `id: t
grades: [A, B]
score: {base: 100}
`,
			err:  "t.yaml: score.bands: at least one band is required",
			want: []wantRuleError{{field: "score.bands"}},
		},
		{
			name: "let shadows a fact",
			src: `id: t
grades: [A, B]
let:
  period: complaints + 1
`,
			err:  `t.yaml:4: period let: name "period" is already a fact, a function or a reserved name`,
			want: []wantRuleError{{line: 4, rule: "period", field: "let"}},
		},
		{
			name: "let shadows a builtin",
			src: `id: t
grades: [A, B]
let:
  len: complaints + 1
`,
			err:  `t.yaml:4: len let: name "len" is already a fact, a function or a reserved name`,
			want: []wantRuleError{{line: 4, rule: "len", field: "let"}},
		},
		{
			name: "let shadows an engine function",
			src: `id: t
grades: [A, B]
let:
  year: period
`,
			err:  `t.yaml:4: year let: name "year" is already a fact, a function or a reserved name`,
			want: []wantRuleError{{line: 4, rule: "year", field: "let"}},
		},
		{
			name: "let named grade",
			src: `id: t
grades: [A, B]
let:
  grade: '"A"'
`,
			err:  `t.yaml:4: grade let: name "grade" is already a fact, a function or a reserved name`,
			want: []wantRuleError{{line: 4, rule: "grade", field: "let"}},
		},
		{
			name: "let name with upper case",
			src: `id: t
grades: [A, B]
let:
  Counted: len(cases)
`,
			err:  "t.yaml:4: Counted let: name must be lower-case letters, digits and '_', starting with a letter",
			want: []wantRuleError{{line: 4, rule: "Counted", field: "let"}},
		},
		{
			name: "let used before it is defined",
			src: `id: t
grades: [A, B]
let:
  doubled: counted * 2
  counted: len(cases)
`,
			err: "t.yaml:4: doubled let: unknown name counted (1:1)\n" +
				" | counted * 2\n" +
				" | ^",
			want: []wantRuleError{{line: 4, rule: "doubled", field: "let", exprLine: 1, exprCol: 1}},
		},
		{
			name: "rule refers to grade",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: grade == "A"
    cap: B
    reason: x
`,
			err: "t.yaml:5: r1 when: unknown name grade (1:1)\n" +
				" | grade == \"A\"\n" +
				" | ^",
			want: []wantRuleError{{line: 5, rule: "r1", field: "when", exprLine: 1, exprCol: 1}},
		},
		{
			name: "rule refers to score",
			src: `id: t
grades: [A, B]
score: {base: 100, bands: [{min: 50, grade: A}, {min: 0, grade: B}]}
rules:
  - id: r1
    when: score < 50
    cap: B
    reason: x
`,
			err: "t.yaml:6: r1 when: unknown name score (1:1)\n" +
				" | score < 50\n" +
				" | ^",
			want: []wantRuleError{{line: 6, rule: "r1", field: "when", exprLine: 1, exprCol: 1}},
		},
		{
			name: "award refers to score without a score section",
			src: `id: t
grades: [A, B]
awards:
  - id: best
    title: T
    when: grade == "A" and score > 95
`,
			err: "t.yaml:6: best when: unknown name score (1:18)\n" +
				" | grade == \"A\" and score > 95\n" +
				" | .................^",
			want: []wantRuleError{{line: 6, rule: "best", field: "when", exprLine: 1, exprCol: 18}},
		},
		{
			name: "award without a title",
			src: `id: t
grades: [A, B]
awards:
  - id: best
    when: grade == "A"
`,
			err:  "t.yaml:5: best title: required",
			want: []wantRuleError{{line: 5, rule: "best", field: "title"}},
		},
		{
			name: "unknown top-level key",
			src: `id: t
grades: [A, B]
rulez: []
`,
			err: "t.yaml: [3:1] unknown field \"rulez\"\n" +
				"   1 | id: t\n" +
				"   2 | grades: [A, B]\n" +
				">  3 | rulez: []\n" +
				"       ^",
			want: []wantRuleError{{}},
		},
		{
			name: "unknown rule key",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: period > 0
    cap: B
    reasons: x
`,
			err: "t.yaml: [7:5] unknown field \"reasons\"\n" +
				"   4 |   - id: r1\n" +
				"   5 |     when: period > 0\n" +
				"   6 |     cap: B\n" +
				">  7 |     reasons: x\n" +
				"           ^",
			want: []wantRuleError{{}},
		},
		{
			name: "bad rule set and rule ids",
			src: `id: Small Set
grades: [A, B]
rules:
  - id: R1
    when: period > 0
    cap: B
    reason: x
`,
			err: "t.yaml: id: rule set id \"Small Set\" must be lower-case letters, digits, '-', '_' or '.'\n" +
				"t.yaml:5: R1 id: rule 1: id \"R1\" must be lower-case letters, digits, '-', '_' or '.'",
			want: []wantRuleError{{field: "id"}, {line: 5, rule: "R1", field: "id"}},
		},
		{
			name: "expression longer than MaxExprLen",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: ` + longExpr + `
    cap: B
    reason: x
`,
			err:  "t.yaml:5: r1 when: expression is 9011 bytes, more than the limit of 8192",
			want: []wantRuleError{{line: 5, rule: "r1", field: "when"}},
		},
		{
			name: "expression over MaxNodes nodes",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: ` + bigExpr + `
    cap: B
    reason: x
`,
			err: "t.yaml:5: r1 when: compilation failed: expression exceeds maximum allowed nodes (1:4012)\n" +
				" | " + bigExpr + "\n" +
				" | " + strings.Repeat(".", 4011) + "^",
			want: []wantRuleError{{line: 5, rule: "r1", field: "when", exprLine: 1, exprCol: 4012}},
		},
		{
			name: "now is disabled",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: now().Year() > period
    cap: B
    reason: x
`,
			err: "t.yaml:5: r1 when: unknown name now (1:1)\n" +
				" | now().Year() > period\n" +
				" | ^",
			want: []wantRuleError{{line: 5, rule: "r1", field: "when", exprLine: 1, exprCol: 1}},
		},
		{
			name: "date is disabled",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: any(cases, date(.opened) > date("2026-01-01"))
    cap: B
    reason: x
`,
			err: "t.yaml:5: r1 when: unknown name date (1:12)\n" +
				" | any(cases, date(.opened) > date(\"2026-01-01\"))\n" +
				" | ...........^",
			want: []wantRuleError{{line: 5, rule: "r1", field: "when", exprLine: 1, exprCol: 12}},
		},
		{
			name: "engine function with the wrong argument type",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: year(period) > 2000
    cap: B
    reason: x
`,
			err: "t.yaml:5: r1 when: cannot use int as argument (type string) to call year  (1:6)\n" +
				" | year(period) > 2000\n" +
				" | .....^",
			want: []wantRuleError{{line: 5, rule: "r1", field: "when", exprLine: 1, exprCol: 6}},
		},
		{
			name: "several errors in one file are all reported",
			src: `id: t
grades: [A, B, C]
let:
  period: "1"
rules:
  - id: r1
    when: |
      period > 0 and
      annual_review.employes > 0
    cap: B
    reason: x
  - id: r1
    when: len(cases)
    cap: D
    reason: y
  - id: r3
    when: period > 0
    points: 2
awards:
  - id: best
    title: T
    when: score > 3
`,
			err: "t.yaml:4: period let: name \"period\" is already a fact, a function or a reserved name\n" +
				"t.yaml:9: r1 when: type engine.AnnualReview has no field employes (2:15)\n" +
				" | annual_review.employes > 0\n" +
				" | ..............^\n" +
				"t.yaml:13: r1 id: duplicate rule id\n" +
				"t.yaml:13: r1 cap: grade \"D\" is not one of grades [A B C]\n" +
				"t.yaml:13: r1 when: expected bool, but got int\n" +
				"t.yaml:17: r3 points: points need a score section in the rule set\n" +
				"t.yaml:17: r3 reason: required: the reason is what an employer is told\n" +
				"t.yaml:22: best when: unknown name score (1:1)\n" +
				" | score > 3\n" +
				" | ^",
			want: []wantRuleError{
				{line: 4, rule: "period", field: "let"},
				{line: 9, rule: "r1", field: "when", exprLine: 2, exprCol: 15},
				{line: 13, rule: "r1", field: "id"},
				{line: 13, rule: "r1", field: "cap"},
				{line: 13, rule: "r1", field: "when"},
				{line: 17, rule: "r3", field: "points"},
				{line: 17, rule: "r3", field: "reason"},
				{line: 22, rule: "best", field: "when", exprLine: 1, exprCol: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs, err := engine.Load("t.yaml", []byte(tt.src))
			require.Nil(t, rs)
			require.EqualError(t, err, tt.err)

			var rse engine.RuleSetError
			require.ErrorAs(t, err, &rse)
			require.Len(t, rse, len(tt.want))
			for i, w := range tt.want {
				re := rse[i]
				require.Equal(t, "t.yaml", re.File, "error %d", i)
				require.Equal(t, w.line, re.Line, "error %d: line", i)
				require.Equal(t, w.rule, re.Rule, "error %d: rule", i)
				require.Equal(t, w.field, re.Field, "error %d: field", i)
				var fe *file.Error
				if w.exprLine == 0 {
					require.False(t, errors.As(re, &fe), "error %d is not an expression error", i)
					continue
				}
				require.ErrorAs(t, re, &fe, "error %d is an expression error", i)
				require.Equal(t, w.exprLine, fe.Line, "error %d: line in the expression", i)
				require.Equal(t, w.exprCol, fe.Column+1, "error %d: column in the expression", i)
			}

			var first *engine.RuleError
			require.ErrorAs(t, err, &first)
			require.Same(t, rse[0], first)
		})
	}
}

// TestLoadYAMLExpressionTypes: an expression written as a YAML value that is
// not a string is refused before compiling; the message names the line.
func TestLoadYAMLExpressionTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		err  string
	}{
		{
			name: "evidence as a YAML sequence",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: period > 0
    cap: B
    reason: x
    evidence: [a, b]
`,
			err: "t.yaml: line 8: an expression must be a string, got Sequence",
		},
		{
			name: "let as a mapping of lists",
			src: `id: t
grades: [A, B]
let: [a, b]
`,
			err: "t.yaml: line 3: let must be a mapping of name: expression",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := engine.Load("t.yaml", []byte(tt.src))
			require.EqualError(t, err, tt.err)
			var re *engine.RuleError
			require.ErrorAs(t, err, &re)
			require.Equal(t, "t.yaml", re.File)
		})
	}
}

func TestLoadDefaultGrade(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want string
	}{
		{name: "first grade when absent", src: "id: t\ngrades: [X, Y, Z]\n", want: "X"},
		{name: "explicit", src: "id: t\ngrades: [X, Y, Z]\ndefault_grade: Y\n", want: "Y"},
		{name: "one grade", src: "id: t\ngrades: [ok]\n", want: "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := loadRules(t, tt.src)
			require.Equal(t, tt.want, rs.DefaultGrade)
			res, err := engine.Evaluate(rs, validFacts())
			require.NoError(t, err)
			require.Equal(t, tt.want, res.Grade)
		})
	}
}
