package engine_test

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/expr-lang/expr/file"
	"github.com/stretchr/testify/require"

	"laborcredit/engine"
)

// vmOnlyAward is an award whose expression (map) the engine's fast path
// does not compile, so a rule set with it runs on expr's VM only. It is
// always eligible.
const vmOnlyAward = `
  - id: vm-only
    title: vm
    when: len(map(cases, .id)) >= 0
`

// withVMOnly returns src with vmOnlyAward added.
func withVMOnly(src string) string {
	if !strings.Contains(src, "\nawards:") {
		src += "\nawards:"
	}
	return src + vmOnlyAward
}

// evaluate loads src and evaluates f with it twice: as written, and with
// vmOnlyAward added, which makes the engine use expr's VM. Both must give
// the same result or the same error; it returns the first.
func evaluate(t *testing.T, src string, f *engine.Facts) (engine.Result, error) {
	t.Helper()
	rs := loadRules(t, src)
	got, err := engine.Evaluate(rs, f)

	want, vmErr := engine.Evaluate(loadRules(t, withVMOnly(src)), f)
	requireSameResult(t, got, err, want, vmErr)
	return got, err
}

// facts returns validFacts with no cases and no history, changed by edit.
func facts(edit func(f *engine.Facts)) *engine.Facts {
	f := validFacts()
	f.Cases, f.History = nil, nil
	if edit != nil {
		edit(f)
	}
	return f
}

func violationCase(id, concluded string, violations ...string) engine.Case {
	return engine.Case{ID: id, Source: "complaint", Opened: "2026-01-05", Concluded: concluded,
		Violations: violations, Outcome: "rectified"}
}

// firedRules is the ids and points of the fired rules, "id:points".
func firedRules(res engine.Result) []string {
	out := []string{}
	for _, f := range res.Fired {
		out = append(out, fmt.Sprintf("%s:%g", f.Rule, f.Points))
	}
	return out
}

func awardIDs(res engine.Result) []string {
	out := []string{}
	for _, a := range res.Awards {
		out = append(out, a.ID)
	}
	return out
}

const capsRuleSet = `id: caps
grades: [A, B, C, D]
rules:
  - id: b-complaints
    when: complaints >= 5
    cap: B
    reason: 投诉五次以上
  - id: d-deposit
    when: wage_deposit.required and not wage_deposit.paid
    cap: D
    reason: 未缴工资保证金
  - id: c-blacklisted
    when: blacklisted
    cap: C
    reason: 列入欠薪黑名单
  - id: a-noop
    when: employer.employees > 100
    cap: A
    reason: 不起作用
awards:
  - id: clean
    title: 守法
    when: grade == "A"
`

func TestEvaluateCaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		f      *engine.Facts
		grade  string
		fired  []string
		awards []string
	}{
		{
			name:   "nothing but a cap on the best grade",
			f:      facts(nil),
			grade:  "A",
			fired:  []string{"a-noop:0"},
			awards: []string{"clean"},
		},
		{
			name:   "nothing fires",
			f:      facts(func(f *engine.Facts) { f.Employer.Employees = 5 }),
			grade:  "A",
			fired:  []string{},
			awards: []string{"clean"},
		},
		{
			name:   "one cap",
			f:      facts(func(f *engine.Facts) { f.Complaints = 5 }),
			grade:  "B",
			fired:  []string{"b-complaints:0", "a-noop:0"},
			awards: []string{},
		},
		{
			name:   "worst of two caps",
			f:      facts(func(f *engine.Facts) { f.Complaints = 9; f.Blacklisted = true }),
			grade:  "C",
			fired:  []string{"b-complaints:0", "c-blacklisted:0", "a-noop:0"},
			awards: []string{},
		},
		{
			name: "worst of every cap, in any order",
			f: facts(func(f *engine.Facts) {
				f.Complaints, f.Blacklisted, f.WageDeposit.Paid = 5, true, false
			}),
			grade:  "D",
			fired:  []string{"b-complaints:0", "d-deposit:0", "c-blacklisted:0", "a-noop:0"},
			awards: []string{},
		},
		{
			name:   "the worst cap alone",
			f:      facts(func(f *engine.Facts) { f.WageDeposit.Paid = false; f.Employer.Employees = 1 }),
			grade:  "D",
			fired:  []string{"d-deposit:0"},
			awards: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := evaluate(t, capsRuleSet, tt.f)
			require.NoError(t, err)
			require.Equal(t, tt.grade, res.Grade)
			require.False(t, res.HasScore)
			require.Zero(t, res.Score)
			require.Equal(t, tt.fired, firedRules(res))
			require.Equal(t, tt.awards, awardIDs(res))
			require.Equal(t, "caps", res.RuleSet)
			require.Equal(t, "91420102MA4K12345G", res.USCC)
			require.Equal(t, 2026, res.Period)
		})
	}
}

func TestEvaluateDefaultGrade(t *testing.T) {
	t.Parallel()
	const src = `id: dflt
grades: [A, B, C]
default_grade: B
rules:
  - id: c-blacklisted
    when: blacklisted
    cap: C
    reason: x
  - id: a-cap
    when: complaints > 0
    cap: A
    reason: y
`
	tests := []struct {
		name  string
		f     *engine.Facts
		grade string
		fired []string
	}{
		{name: "nothing fires", f: facts(func(f *engine.Facts) { f.Complaints = 0 }), grade: "B", fired: []string{}},
		{name: "a cap better than the default changes nothing", f: facts(nil), grade: "B", fired: []string{"a-cap:0"}},
		{name: "a worse cap wins", f: facts(func(f *engine.Facts) { f.Blacklisted = true }), grade: "C", fired: []string{"c-blacklisted:0", "a-cap:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := evaluate(t, src, tt.f)
			require.NoError(t, err)
			require.Equal(t, tt.grade, res.Grade)
			require.Equal(t, tt.fired, firedRules(res))
		})
	}
}

const scoreRuleSet = `id: points
grades: [A, B, C]
score: {base: 100, bands: [{min: 90, grade: A}, {min: 60, grade: B}, {min: 0, grade: C}]}
rules:
  - id: per-complaint
    when: complaints > 0
    points: -complaints
    reason: 每件投诉扣一分
  - id: deposit
    when: wage_deposit.required and not wage_deposit.paid
    points: -10.5
    reason: 未缴工资保证金
  - id: roster
    when: annual_review.roster_complete
    points: 2.5
    reason: 名册完整
  - id: back-wages
    when: any(cases, .back_wages > 0)
    points: -sum(cases, .back_wages) / 1000
    reason: 欠薪
  - id: blacklisted
    when: blacklisted
    cap: C
    points: -1
    reason: 黑名单
awards:
  - id: top
    title: 高分
    when: grade == "A" and score >= 100
  - id: not-a
    title: 非A
    when: grade != "A"
`

func TestEvaluateScore(t *testing.T) {
	t.Parallel()
	noRoster := func(f *engine.Facts) { f.AnnualReview.RosterComplete = false }
	tests := []struct {
		name   string
		f      *engine.Facts
		grade  string
		score  float64
		fired  []string
		awards []string
	}{
		{
			name:   "base only",
			f:      facts(func(f *engine.Facts) { noRoster(f); f.Complaints = 0 }),
			grade:  "A",
			score:  100,
			fired:  []string{},
			awards: []string{"top"},
		},
		{
			name:   "positive fractional points",
			f:      facts(func(f *engine.Facts) { f.Complaints = 0 }),
			grade:  "A",
			score:  102.5,
			fired:  []string{"roster:2.5"},
			awards: []string{"top"},
		},
		{
			name:   "exactly the A minimum",
			f:      facts(func(f *engine.Facts) { noRoster(f); f.Complaints = 10 }),
			grade:  "A",
			score:  90,
			fired:  []string{"per-complaint:-10"},
			awards: []string{},
		},
		{
			name:   "one point under the A minimum",
			f:      facts(func(f *engine.Facts) { noRoster(f); f.Complaints = 11 }),
			grade:  "B",
			score:  89,
			fired:  []string{"per-complaint:-11"},
			awards: []string{"not-a"},
		},
		{
			name:   "half a point under the A minimum",
			f:      facts(func(f *engine.Facts) { noRoster(f); f.Complaints = 0; f.WageDeposit.Paid = false }),
			grade:  "B",
			score:  89.5,
			fired:  []string{"deposit:-10.5"},
			awards: []string{"not-a"},
		},
		{
			name:   "exactly the B minimum",
			f:      facts(func(f *engine.Facts) { noRoster(f); f.Complaints = 40 }),
			grade:  "B",
			score:  60,
			fired:  []string{"per-complaint:-40"},
			awards: []string{"not-a"},
		},
		{
			name:   "just under the B minimum",
			f:      facts(func(f *engine.Facts) { noRoster(f); f.Complaints = 30; f.WageDeposit.Paid = false }),
			grade:  "C",
			score:  59.5,
			fired:  []string{"per-complaint:-30", "deposit:-10.5"},
			awards: []string{"not-a"},
		},
		{
			name:   "below every band",
			f:      facts(func(f *engine.Facts) { noRoster(f); f.Complaints = 105 }),
			grade:  "C",
			score:  -5,
			fired:  []string{"per-complaint:-105"},
			awards: []string{"not-a"},
		},
		{
			name: "points from a sum over cases",
			f: facts(func(f *engine.Facts) {
				f.Complaints = 0
				f.Cases = []engine.Case{violationCase("X1", "2026-02-01", "wage_arrears"), violationCase("X2", "", "overtime")}
				f.Cases[0].BackWages, f.Cases[1].BackWages = 12000, 500.5
			}),
			grade:  "B",
			score:  89.9995,
			fired:  []string{"roster:2.5", "back-wages:-12.5005"},
			awards: []string{"not-a"},
		},
		{
			name:   "cap worse than the band",
			f:      facts(func(f *engine.Facts) { f.Complaints = 0; f.Blacklisted = true }),
			grade:  "C",
			score:  101.5,
			fired:  []string{"roster:2.5", "blacklisted:-1"},
			awards: []string{"not-a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := evaluate(t, scoreRuleSet, tt.f)
			require.NoError(t, err)
			require.True(t, res.HasScore)
			require.Equal(t, tt.grade, res.Grade)
			require.InDelta(t, tt.score, res.Score, 1e-9)
			require.Equal(t, tt.fired, firedRules(res))
			require.Equal(t, tt.awards, awardIDs(res))
		})
	}
}

func TestEvaluateEvidence(t *testing.T) {
	t.Parallel()
	national, err := engine.LoadFile("../scoring-rules/national-2016.yaml")
	require.NoError(t, err)
	const src = `id: ev
grades: [A, B]
let:
  counted: filter(cases, len(.violations) > 0 and year(.concluded) == period)
rules:
  - id: ids
    when: len(counted) > 0
    cap: B
    reason: x
    evidence: map(counted, .id)
  - id: numbers
    when: len(counted) > 0
    cap: B
    reason: x
    evidence: map(counted, .workers_affected)
  - id: none
    when: len(counted) > 0
    cap: B
    reason: x
  - id: empty
    when: len(counted) > 0
    cap: B
    reason: x
    evidence: filter(map(cases, .id), false)
`
	f := facts(func(f *engine.Facts) {
		f.Cases = []engine.Case{
			violationCase("WH-1", "2026-02-01", "wage_arrears"),
			violationCase("WH-2", "2025-12-31", "wage_arrears"),
			violationCase("WH-3", "2026-12-31", "child_labor"),
			violationCase("WH-4", "2026-06-01"),
			violationCase("WH-5", ""),
		}
		f.Cases[0].WorkersAffected, f.Cases[2].WorkersAffected = 14, 3
	})

	res, err := engine.Evaluate(national, f)
	require.NoError(t, err)
	require.Equal(t, "C", res.Grade)
	require.Equal(t, []engine.Fired{
		{Rule: "c-child-or-forced-labor", Cap: "C", Basis: "第七条第（三）项第3目",
			Reason: "因使用童工、强迫劳动等严重劳动保障违法行为被查处", Evidence: []string{"WH-3"}},
		{Rule: "b-violation-found", Cap: "B", Basis: "第七条第（二）项",
			Reason: "因劳动保障违法行为被查处", Evidence: []string{"WH-1", "WH-3"}},
	}, res.Fired)

	res, err = evaluate(t, src, f)
	require.NoError(t, err)
	evidence := map[string][]string{}
	for _, fr := range res.Fired {
		evidence[fr.Rule] = fr.Evidence
	}
	require.Equal(t, map[string][]string{
		"ids":     {"WH-1", "WH-3"},
		"numbers": {"14", "3"},
		"none":    nil,
		"empty":   {},
	}, evidence)
}

func TestEvaluateRunTimeErrors(t *testing.T) {
	t.Parallel()
	openCase := facts(func(f *engine.Facts) { f.Cases = []engine.Case{violationCase("OPEN-1", "", "overtime")} })
	tests := []struct {
		name     string
		src      string
		f        *engine.Facts
		err      string
		line     int
		rule     string
		field    string
		exprLine int
		exprCol  int
	}{
		{
			name: "index out of range",
			src: `id: t
grades: [A, B]
rules:
  - id: sixth-case
    when: cases[5].id == "x"
    cap: B
    reason: x
`,
			f: facts(nil),
			err: "evaluation failed: t.yaml:5: sixth-case when: index out of range: 5 (array length is 0) (1:6)\n" +
				" | cases[5].id == \"x\"\n" +
				" | .....^",
			line: 5, rule: "sixth-case", field: "when", exprLine: 1, exprCol: 6,
		},
		{
			name: "days of an open case, on the second line of a block",
			src: `id: t
grades: [A, B, C]
rules:
  - id: fine
    when: period > 0
    cap: B
    reason: x
  - id: long-open
    cap: C
    when: |
      len(cases) > 0 and
      any(cases, days(.opened, .concluded) > 30)
    reason: x
`,
			f: openCase,
			err: "evaluation failed: t.yaml:12: long-open when: days: a date is empty (an open case has no concluded date) (2:12)\n" +
				" | any(cases, days(.opened, .concluded) > 30)\n" +
				" | ...........^",
			line: 12, rule: "long-open", field: "when", exprLine: 2, exprCol: 12,
		},
		{
			name: "failure in a let",
			src: `id: t
grades: [A, B]
let:
  earliest: cases[0]
rules:
  - id: r1
    when: earliest.criminal
    cap: B
    reason: x
`,
			f: facts(nil),
			err: "evaluation failed: t.yaml:4: earliest let: index out of range: 0 (array length is 0) (1:6)\n" +
				" | cases[0]\n" +
				" | .....^",
			line: 4, rule: "earliest", field: "let", exprLine: 1, exprCol: 6,
		},
		{
			name: "failure in points",
			src: `id: t
grades: [A, B]
score: {base: 100, bands: [{min: 50, grade: A}, {min: 0, grade: B}]}
rules:
  - id: r1
    when: len(cases) > 0
    points: days(cases[0].opened, cases[0].concluded)
    reason: x
`,
			f: openCase,
			err: "evaluation failed: t.yaml:7: r1 points: days: a date is empty (an open case has no concluded date) (1:1)\n" +
				" | days(cases[0].opened, cases[0].concluded)\n" +
				" | ^",
			line: 7, rule: "r1", field: "points", exprLine: 1, exprCol: 1,
		},
		{
			name: "failure in an award",
			src: `id: t
grades: [A, B]
awards:
  - id: best
    title: T
    when: grade == "A" and history[0].grade == "A"
`,
			f: facts(nil),
			err: "evaluation failed: t.yaml:6: best when: index out of range: 0 (array length is 0) (1:25)\n" +
				" | grade == \"A\" and history[0].grade == \"A\"\n" +
				" | ........................^",
			line: 6, rule: "best", field: "when", exprLine: 1, exprCol: 25,
		},
		{
			name: "failure in evidence",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: len(cases) > 0
    cap: B
    reason: x
    evidence: map(cases, string(days(.opened, .concluded)))
`,
			f: openCase,
			err: "evaluation failed: t.yaml:8: r1 evidence: days: a date is empty (an open case has no concluded date) (1:19)\n" +
				" | map(cases, string(days(.opened, .concluded)))\n" +
				" | ..................^",
			line: 8, rule: "r1", field: "evidence", exprLine: 1, exprCol: 19,
		},
		{
			name: "a date the facts should not have held",
			src: `id: t
grades: [A, B]
rules:
  - id: r1
    when: any(cases, year(.opened) < period)
    cap: B
    reason: x
`,
			f: facts(func(f *engine.Facts) {
				f.Cases = []engine.Case{violationCase("BAD", "")}
				f.Cases[0].Opened = "2026-13-01"
			}),
			err: "evaluation failed: t.yaml:5: r1 when: year: \"2026-13-01\" is not a YYYY-MM-DD date (1:12)\n" +
				" | any(cases, year(.opened) < period)\n" +
				" | ...........^",
			line: 5, rule: "r1", field: "when", exprLine: 1, exprCol: 12,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := evaluate(t, tt.src, tt.f)
			require.Equal(t, engine.Result{}, res)
			require.EqualError(t, err, tt.err)
			require.ErrorIs(t, err, engine.ErrEvaluation)

			var re *engine.RuleError
			require.ErrorAs(t, err, &re)
			require.Equal(t, "t.yaml", re.File)
			require.Equal(t, tt.line, re.Line)
			require.Equal(t, tt.rule, re.Rule)
			require.Equal(t, tt.field, re.Field)

			var fe *file.Error
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.exprLine, fe.Line)
			require.Equal(t, tt.exprCol, fe.Column+1)
		})
	}
}

// TestEvaluateNonFinite: a score or points that are not finite numbers are
// a run-time error (the JSON output cannot hold them).
func TestEvaluateNonFinite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		points string
		err    string
	}{
		{
			name:   "infinite points",
			points: "1 / (complaints - complaints)",
			err:    "evaluation failed: t.yaml: score: not a finite number: +Inf",
		},
		{
			name:   "NaN points",
			points: "0 / (complaints - complaints)",
			err:    "evaluation failed: t.yaml: score: not a finite number: NaN",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := `id: t
grades: [A, B]
score: {base: 100, bands: [{min: 50, grade: A}, {min: 0, grade: B}]}
rules:
  - id: r1
    when: period > 0
    points: ` + tt.points + `
    reason: x
`
			_, err := evaluate(t, src, facts(nil))
			require.EqualError(t, err, tt.err)
			require.ErrorIs(t, err, engine.ErrEvaluation)
		})
	}
}

// TestEvaluateDateFunctions reads the value of an expression through the
// score: base 0 and one rule whose points are the expression.
func TestEvaluateDateFunctions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		opened, concluded string
		expr              string
		want              float64
	}{
		{name: "year", opened: "2024-02-29", concluded: "2026-12-31", expr: "year(cases[0].opened)", want: 2024},
		{name: "year of an empty date", opened: "2024-02-29", expr: "year(cases[0].concluded)", want: 0},
		{name: "month of an empty date", opened: "2024-02-29", expr: "month(cases[0].concluded)", want: 0},
		{name: "month of December 31", opened: "2025-12-31", expr: "month(cases[0].opened)", want: 12},
		{name: "month of January 1", opened: "2026-01-01", expr: "month(cases[0].opened)", want: 1},
		{name: "same day", opened: "2026-03-02", concluded: "2026-03-02", expr: "days(cases[0].opened, cases[0].concluded)", want: 0},
		{name: "across a leap day", opened: "2024-02-28", concluded: "2024-03-01", expr: "days(cases[0].opened, cases[0].concluded)", want: 2},
		{name: "across February in a common year", opened: "2025-02-28", concluded: "2025-03-01", expr: "days(cases[0].opened, cases[0].concluded)", want: 1},
		{name: "across the year end", opened: "2025-12-31", concluded: "2026-01-01", expr: "days(cases[0].opened, cases[0].concluded)", want: 1},
		{name: "backwards", opened: "2025-12-31", concluded: "2026-01-01", expr: "days(cases[0].concluded, cases[0].opened)", want: -1},
		{name: "a leap year", opened: "2024-01-01", concluded: "2025-01-01", expr: "days(cases[0].opened, cases[0].concluded)", want: 366},
		{name: "a common year", opened: "2025-01-01", concluded: "2026-01-01", expr: "days(cases[0].opened, cases[0].concluded)", want: 365},
		{name: "a century with 2000 leap and 2100 not", opened: "2000-01-01", concluded: "2100-01-01", expr: "days(cases[0].opened, cases[0].concluded)", want: 36525},
		{name: "from 1970", opened: "1970-01-01", concluded: "2026-01-01", expr: "days(cases[0].opened, cases[0].concluded)", want: 20454},
		{name: "before 1970", opened: "1969-12-31", concluded: "1970-01-01", expr: "days(cases[0].opened, cases[0].concluded)", want: 1},
		{name: "dates compare as strings", opened: "2025-12-31", concluded: "2026-01-01", expr: `'cases[0].opened < cases[0].concluded ? 1 : 0'`, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := `id: t
grades: [A]
score: {base: 0, bands: [{min: -1000000, grade: A}]}
rules:
  - id: value
    when: "true"
    points: ` + tt.expr + `
    reason: x
`
			f := facts(func(f *engine.Facts) {
				f.Cases = []engine.Case{violationCase("D-1", tt.concluded)}
				f.Cases[0].Opened = tt.opened
			})
			res, err := evaluate(t, src, f)
			require.NoError(t, err)
			require.Equal(t, tt.want, res.Score)
			require.Equal(t, []string{fmt.Sprintf("value:%g", tt.want)}, firedRules(res))
		})
	}
}

// TestEvaluateExpressions checks the operators and builtins rule sets use
// on validFacts, through evaluate, so on both evaluation paths.
func TestEvaluateExpressions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		when   string
		points string // "" for -1
		fired  bool
		want   float64 // the points when fired, 0 for -1
	}{
		{name: "int equals float", when: "complaints == 2.0", fired: true},
		{name: "int in constant list", when: "complaints in [1, 2]", fired: true},
		{name: "string in mapped list", when: `"WH-2026-0002" in map(cases, .id)`, fired: true},
		{name: "empty string not in ids", when: `"" in map(cases, .id)`},
		{name: "strings compare by bytes", when: `employer.name < "z"`},
		{name: "negative index", when: `cases[-1].id == "WH-2026-0002" and history[-1].grade == "B"`, fired: true},
		{name: "modulo takes the sign of the dividend", when: "period % -3 == 1 and -period % 3 == -1", fired: true},
		{name: "integer overflow wraps", when: "employer.employees * 9223372036854775807 == -120", fired: true},
		{name: "sum of floats", when: "sum(cases, .back_wages) == 52000.5", fired: true},
		{name: "sum of ints", when: "sum(cases, .workers_affected) == 14", fired: true},
		{name: "count", when: "count(cases, len(.violations) > 0) == 1", fired: true},
		{name: "one", when: `one(cases, .outcome == "pending")`, fired: true},
		{name: "all and none", when: `all(cases, .source != "written_review") and none(cases, .criminal)`, fired: true},
		{name: "nested any", when: `any(cases, any(.violations, # == "wage_arrears"))`, fired: true},
		{name: "all of an empty list is true", when: `any(cases, all(.violations, # startsWith "x"))`, fired: true},
		{name: "any of an empty list is false", when: `any(history, false) or any(filter(cases, false), true)`},
		{name: "abs", when: "abs(-2.5) == 2.5 and abs(-complaints) == 2", fired: true},
		{name: "max and min", when: "max(complaints, 1, 3) == 3 and min(complaints, 1, 3) == 1 and min(2.5, 1.5) == 1.5", fired: true},
		{name: "ternaries", when: `(complaints > 1 ? 1 : 2) == 1 and (complaints > 1 ? 1.5 : 2) == 1.5 and (complaints > 1 ? "a" : "b") == "a"`, fired: true},
		{name: "date functions", when: "year(cases[1].concluded) == 0 and month(cases[0].opened) == 3 and days(cases[0].opened, cases[0].concluded) == 39", fired: true},
		{name: "len of a string counts runes", when: "len(employer.name) == 7", fired: true},
		{name: "string operators", when: `employer.name contains "建筑" and employer.uscc startsWith "9142" and employer.region endsWith "02"`, fired: true},
		{name: "division is float", when: "annual_review.insured / annual_review.employees < 0.95 and 7 / 2 == 3.5", fired: true},
		{name: "nested filter", when: `len(filter(filter(cases, .outcome != "pending"), len(.violations) > 0)) == 1`, fired: true},
		{name: "filter inside a filter predicate", when: `len(filter(cases, len(filter(.violations, # == "wage_arrears")) > 0)) == 1`, fired: true},
		{name: "let inside an expression", when: "let n = len(cases); n == 2", fired: true},
		{name: "not and !", when: "not blacklisted && !blacklisted", fired: true},
		{name: "false", when: "complaints > 2 or blacklisted"},
		{name: "points from an int expression", when: "true", points: "len(cases) * 3", fired: true, want: 6},
		{name: "points from a float expression", when: "true", points: "len(cases) * 1.5", fired: true, want: 3},
		{name: "points from a ternary", when: "true", points: "complaints > 1 ? 5 : 2.5", fired: true, want: 5},
		{name: "points from max", when: "true", points: "max(complaints, 3)", fired: true, want: 3},
		{name: "points from modulo", when: "true", points: "period % 7", fired: true, want: 3},
		{name: "points from a negated sum", when: "true", points: "-sum(cases, .back_wages)", fired: true, want: -52000.5},
		{name: "points from a division", when: "true", points: "annual_review.insured / 10", fired: true, want: 11},
		{
			name: "min with NaN", when: "min(1.0, (complaints - complaints) / (complaints - complaints)) == 1", fired: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			when, err := json.Marshal(tt.when)
			require.NoError(t, err)
			pts, err := json.Marshal(cmp.Or(tt.points, "-1"))
			require.NoError(t, err)
			src := `id: t
grades: [A, B]
score: {base: 100000, bands: [{min: 0, grade: A}]}
rules:
  - id: r
    when: ` + string(when) + `
    cap: B
    points: ` + string(pts) + `
    reason: x
`
			res, err := evaluate(t, src, validFacts())
			require.NoError(t, err)
			if !tt.fired {
				require.Empty(t, res.Fired)
				require.Equal(t, "A", res.Grade)
				require.Equal(t, float64(100000), res.Score)
				return
			}
			want := cmp.Or(tt.want, -1)
			require.Equal(t, []string{fmt.Sprintf("r:%g", want)}, firedRules(res))
			require.Equal(t, "B", res.Grade)
			require.InDelta(t, 100000+want, res.Score, 1e-9)
		})
	}
}

func TestEvaluateDoesNotChangeFacts(t *testing.T) {
	t.Parallel()
	rs := loadRules(t, scoreRuleSet)
	f := validFacts()
	before := validFacts()
	_, err := engine.Evaluate(rs, f)
	require.NoError(t, err)
	require.Equal(t, before, f)
}

// TestEvaluateResultsAreIndependent: a caller may change its Result; that
// must not show in other results of the same rule set.
func TestEvaluateResultsAreIndependent(t *testing.T) {
	t.Parallel()
	rs := loadRules(t, capsRuleSet)
	f := facts(func(f *engine.Facts) { f.Employer.Employees = 5 })
	first, err := engine.Evaluate(rs, f)
	require.NoError(t, err)
	require.Equal(t, []engine.AwardResult{{ID: "clean", Title: "守法"}}, first.Awards)
	first.Awards[0].Title = "changed by the caller"

	second, err := engine.Evaluate(rs, f)
	require.NoError(t, err)
	require.Equal(t, []engine.AwardResult{{ID: "clean", Title: "守法"}}, second.Awards)
}

func TestEvaluateConcurrent(t *testing.T) {
	t.Parallel()
	national, err := engine.LoadFile("../scoring-rules/national-2016.yaml")
	require.NoError(t, err)
	sets := []*engine.RuleSet{national, loadRules(t, scoreRuleSet), loadRules(t, capsRuleSet)}

	// Facts that differ per index: cases in and out of the period,
	// flags, complaints and history.
	var all []*engine.Facts
	for i := range 24 {
		all = append(all, facts(func(f *engine.Facts) {
			f.Complaints = i % 7
			f.Blacklisted = i%5 == 0
			f.WageDeposit.Paid = i%3 != 0
			f.AnnualReview.RosterComplete = i%2 == 0
			for j := range i % 4 {
				c := violationCase(fmt.Sprintf("C%d-%d", i, j), []string{"2026-03-01", "2025-05-05", ""}[(i+j)%3], "wage_arrears")
				c.Criminal = i%11 == 0
				c.MassIncident = i%13 == 0
				c.BackWages = float64(100 * i * j)
				f.Cases = append(f.Cases, c)
			}
			if i%2 == 1 {
				f.History = []engine.HistoryEntry{{Period: 2025, Grade: "A"}}
			}
		}))
	}
	want := make([][]engine.Result, len(sets))
	grades := map[string]bool{}
	for s, rs := range sets {
		for _, f := range all {
			res, err := engine.Evaluate(rs, f)
			require.NoError(t, err)
			want[s] = append(want[s], res)
			grades[rs.ID+"/"+res.Grade] = true
		}
	}
	require.Len(t, grades, 10, "the facts reach every grade of every rule set: %v", grades)

	const goroutines, runs = 8, 1000
	mismatch := make([]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for n := range runs {
				i := (n*7 + g) % len(all)
				s := (n + g) % len(sets)
				got, err := engine.Evaluate(sets[s], all[i])
				if err != nil || !reflect.DeepEqual(want[s][i], got) {
					mismatch[g] = fmt.Sprintf("goroutine %d, run %d, rule set %s, facts %d: err %v, got %+v, want %+v",
						g, n, sets[s].ID, i, err, got, want[s][i])
					return
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, make([]string, goroutines), mismatch)
}

func TestResultJSON(t *testing.T) {
	t.Parallel()
	const src = `id: json-set
grades: [A, B, C]
rules:
  - id: c-case
    when: len(cases) > 0
    cap: C
    basis: 第七条
    reason: "拒不\"整改\"\n第二行"
    evidence: map(cases, .id)
  - id: quiet
    when: complaints > 100
    cap: B
    reason: never
awards:
  - id: roll
    title: "名单 <b>&</b>\tx"
    when: grade == "C"
`
	rs := loadRules(t, src)
	f := facts(func(f *engine.Facts) {
		f.Cases = []engine.Case{
			violationCase("WH \"1\"\n<2>&", "2026-02-01", "overtime"),
			violationCase("WH-\u2028-\x01", "2026-02-02", "overtime"),
		}
	})
	res, err := engine.Evaluate(rs, f)
	require.NoError(t, err)
	want := `{"uscc":"91420102MA4K12345G","period":2026,"rule_set":"json-set","rule_set_hash":"` + rs.Hash + `",` +
		`"grade":"C","score":null,` +
		`"fired":[{"rule":"c-case","cap":"C","points":0,"basis":"第七条","reason":"拒不\"整改\"\n第二行",` +
		`"evidence":["WH \"1\"\n\u003c2\u003e\u0026","WH-\u2028-\u0001"]}],` +
		`"awards":[{"id":"roll","title":"名单 \u003cb\u003e\u0026\u003c/b\u003e\tx"}]}`
	got, err := json.Marshal(res)
	require.NoError(t, err)
	require.Equal(t, want, string(got))

	// encoding/json reads it back.
	var back struct {
		Score *float64 `json:"score"`
		Fired []struct {
			Reason   string   `json:"reason"`
			Evidence []string `json:"evidence"`
		} `json:"fired"`
		Awards []struct {
			Title string `json:"title"`
		} `json:"awards"`
	}
	require.NoError(t, json.Unmarshal(got, &back))
	require.Nil(t, back.Score)
	require.Equal(t, "拒不\"整改\"\n第二行", back.Fired[0].Reason)
	require.Equal(t, []string{"WH \"1\"\n<2>&", "WH-\u2028-\x01"}, back.Fired[0].Evidence)
	require.Equal(t, "名单 <b>&</b>\tx", back.Awards[0].Title)
}

func TestResultJSONShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		res  engine.Result
		want string
	}{
		{
			name: "empty result has arrays, not null",
			res:  engine.Result{},
			want: `{"uscc":"","period":0,"rule_set":"","rule_set_hash":"","grade":"","score":null,"fired":[],"awards":[]}`,
		},
		{
			name: "score and fractional points",
			res: engine.Result{USCC: "X", Period: 2026, RuleSet: "s", RuleSetHash: "sha256:00", Grade: "B",
				Score: 89.5, HasScore: true, Fired: []engine.Fired{{Rule: "r", Points: -10.5}, {Rule: "q", Points: 2}}},
			want: `{"uscc":"X","period":2026,"rule_set":"s","rule_set_hash":"sha256:00","grade":"B","score":89.5,` +
				`"fired":[{"rule":"r","cap":"","points":-10.5,"basis":"","reason":"","evidence":[]},` +
				`{"rule":"q","cap":"","points":2,"basis":"","reason":"","evidence":[]}],"awards":[]}`,
		},
		{
			name: "zero score",
			res:  engine.Result{Grade: "C", HasScore: true},
			want: `{"uscc":"","period":0,"rule_set":"","rule_set_hash":"","grade":"C","score":0,"fired":[],"awards":[]}`,
		},
		{
			name: "large and tiny scores",
			res:  engine.Result{HasScore: true, Score: 1e20, Fired: []engine.Fired{{Rule: "t", Points: 1e-7}}},
			want: `{"uscc":"","period":0,"rule_set":"","rule_set_hash":"","grade":"","score":1e+20,` +
				`"fired":[{"rule":"t","cap":"","points":1e-07,"basis":"","reason":"","evidence":[]}],"awards":[]}`,
		},
		{
			name: "invalid UTF-8 becomes U+FFFD",
			res:  engine.Result{USCC: "a\xffb"},
			want: `{"uscc":"a\ufffdb","period":0,"rule_set":"","rule_set_hash":"","grade":"","score":null,"fired":[],"awards":[]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.res)
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
			require.Equal(t, tt.want, string(tt.res.AppendJSON(nil)))
			require.True(t, json.Valid(got))
		})
	}
}

// TestEvaluateErrorChain: errors.Is and errors.As see
// through the wrapping of a run-time failure.
func TestEvaluateErrorChain(t *testing.T) {
	t.Parallel()
	rs := loadRules(t, `id: t
grades: [A, B]
rules:
  - id: r1
    when: history[0].grade == "A"
    cap: B
    reason: x
`)
	_, err := engine.Evaluate(rs, facts(nil))
	require.Error(t, err)
	require.True(t, errors.Is(err, engine.ErrEvaluation))
	var re *engine.RuleError
	require.True(t, errors.As(err, &re))
	require.Equal(t, "r1", re.Rule)
	require.Equal(t, "when", re.Field)
	require.Equal(t, 5, re.Line)
	require.EqualError(t, re, "t.yaml:5: r1 when: index out of range: 0 (array length is 0) (1:8)\n"+
		" | history[0].grade == \"A\"\n"+
		" | .......^")
}
