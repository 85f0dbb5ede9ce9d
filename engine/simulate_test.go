package engine_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"laborcredit/engine"
)

type simBundle struct {
	base, draft *engine.RuleSet
}

// setupSimulation loads national-2016 and a draft of it that also caps
// blacklisted employers at C.
func setupSimulation(t *testing.T) *simBundle {
	t.Helper()
	src, err := os.ReadFile("../scoring-rules/national-2016.yaml")
	require.NoError(t, err)
	base, err := engine.Load("national-2016.yaml", src)
	require.NoError(t, err)

	draftSrc := strings.Replace(string(src), "id: national-2016\n", "id: national-2016-draft\n", 1)
	draftSrc = strings.Replace(draftSrc, "\nawards:\n", `
  - id: c-blacklisted
    when: blacklisted
    cap: C
    basis: 草案
    reason: 列入拖欠农民工工资失信联合惩戒对象名单
awards:
`, 1)
	require.NotEqual(t, string(src), draftSrc)
	draft, err := engine.Load("national-2016-draft.yaml", []byte(draftSrc))
	require.NoError(t, err)
	require.Len(t, draft.Rules(), len(base.Rules())+1)
	return &simBundle{base: base, draft: draft}
}

// simFacts are employers that exercise the draft: name → facts.
func simFacts() map[string]*engine.Facts {
	uscc := map[string]string{
		"clean":             "91350100M000100Y43",
		"blacklisted":       "91512081MA62K0260E",
		"blacklisted-b":     "91310115591693856A",
		"blacklisted-c":     "91420102MA4K12345G",
		"b-not-blacklisted": "91110000100000000R",
	}
	mk := func(name string, edit func(f *engine.Facts)) *engine.Facts {
		f := facts(edit)
		f.Employer.USCC = uscc[name]
		f.History = []engine.HistoryEntry{{Period: 2025, Grade: "A"}}
		return f
	}
	return map[string]*engine.Facts{
		"clean":       mk("clean", nil),
		"blacklisted": mk("blacklisted", func(f *engine.Facts) { f.Blacklisted = true }),
		"blacklisted-b": mk("blacklisted-b", func(f *engine.Facts) {
			f.Blacklisted = true
			f.Cases = []engine.Case{violationCase("B-1", "2026-05-01", "wage_arrears")}
		}),
		"blacklisted-c": mk("blacklisted-c", func(f *engine.Facts) {
			f.Blacklisted = true
			f.Cases = []engine.Case{violationCase("C-1", "2026-05-01", "child_labor")}
		}),
		"b-not-blacklisted": mk("b-not-blacklisted", func(f *engine.Facts) {
			f.Cases = []engine.Case{violationCase("N-1", "2026-05-01", "overtime")}
		}),
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	b := setupSimulation(t)
	all := simFacts()
	tests := []struct {
		name                   string
		facts                  string
		base, draft            string
		baseFired, draftFired  []string
		baseAwards, draftAward []string
	}{
		{
			name: "clean employer is A under both", facts: "clean", base: "A", draft: "A",
			baseFired: []string{}, draftFired: []string{},
			baseAwards: []string{"best-integrity-unit"}, draftAward: []string{"best-integrity-unit"},
		},
		{
			name: "blacklisted A falls to C", facts: "blacklisted", base: "A", draft: "C",
			baseFired: []string{}, draftFired: []string{"c-blacklisted:0"},
			baseAwards: []string{}, draftAward: []string{},
		},
		{
			name: "blacklisted B falls to C", facts: "blacklisted-b", base: "B", draft: "C",
			baseFired: []string{"b-violation-found:0"}, draftFired: []string{"b-violation-found:0", "c-blacklisted:0"},
			baseAwards: []string{}, draftAward: []string{},
		},
		{
			name: "blacklisted C stays C", facts: "blacklisted-c", base: "C", draft: "C",
			baseFired:  []string{"c-child-or-forced-labor:0", "b-violation-found:0"},
			draftFired: []string{"c-child-or-forced-labor:0", "b-violation-found:0", "c-blacklisted:0"},
			baseAwards: []string{}, draftAward: []string{},
		},
		{
			name: "B without blacklist stays B", facts: "b-not-blacklisted", base: "B", draft: "B",
			baseFired: []string{"b-violation-found:0"}, draftFired: []string{"b-violation-found:0"},
			baseAwards: []string{}, draftAward: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := engine.Compare(b.base, b.draft, all[tt.facts])
			require.NoError(t, err)
			require.Equal(t, "national-2016", c.Base.RuleSet)
			require.Equal(t, "national-2016-draft", c.Draft.RuleSet)
			require.Equal(t, b.base.Hash, c.Base.RuleSetHash)
			require.Equal(t, b.draft.Hash, c.Draft.RuleSetHash)
			require.Equal(t, tt.base, c.Base.Grade)
			require.Equal(t, tt.draft, c.Draft.Grade)
			require.Equal(t, tt.baseFired, firedRules(c.Base))
			require.Equal(t, tt.draftFired, firedRules(c.Draft))
			require.Equal(t, tt.baseAwards, awardIDs(c.Base))
			require.Equal(t, tt.draftAward, awardIDs(c.Draft))
		})
	}
}

func TestSimulation(t *testing.T) {
	t.Parallel()
	b := setupSimulation(t)
	all := simFacts()
	order := []string{"clean", "blacklisted", "b-not-blacklisted", "blacklisted-b", "blacklisted-c", "clean", "blacklisted"}

	sim := engine.NewSimulation(b.base, b.draft, 2)
	for _, name := range order {
		c, err := engine.Compare(b.base, b.draft, all[name])
		require.NoError(t, err)
		sim.Add(c)
	}
	require.Equal(t, "national-2016", sim.BaseID)
	require.Equal(t, "national-2016-draft", sim.DraftID)
	require.Equal(t, 7, sim.Employers)
	require.Equal(t, 3, sim.Changed)
	require.Equal(t, map[string]map[string]int{
		"A": {"A": 2, "B": 0, "C": 2},
		"B": {"A": 0, "B": 1, "C": 1},
		"C": {"A": 0, "B": 0, "C": 1},
	}, sim.Matrix)
	require.Equal(t, []engine.Change{
		{USCC: "91512081MA62K0260E", BaseGrade: "A", DraftGrade: "C", OnlyBase: []string{}, OnlyDraft: []string{"c-blacklisted"}},
		{USCC: "91310115591693856A", BaseGrade: "B", DraftGrade: "C", OnlyBase: []string{}, OnlyDraft: []string{"c-blacklisted"}},
	}, sim.First, "only the first 2 changes are kept")

	got, err := json.Marshal(sim)
	require.NoError(t, err)
	require.JSONEq(t, `{
		"base": "national-2016", "draft": "national-2016-draft", "employers": 7, "changed": 3,
		"matrix": {"A": {"A": 2, "B": 0, "C": 2}, "B": {"A": 0, "B": 1, "C": 1}, "C": {"A": 0, "B": 0, "C": 1}},
		"first_changes": [
			{"uscc": "91512081MA62K0260E", "base_grade": "A", "draft_grade": "C", "fired_only_in_base": [], "fired_only_in_draft": ["c-blacklisted"]},
			{"uscc": "91310115591693856A", "base_grade": "B", "draft_grade": "C", "fired_only_in_base": [], "fired_only_in_draft": ["c-blacklisted"]}
		]}`, string(got))
}

func TestSimulationScores(t *testing.T) {
	t.Parallel()
	base := loadRules(t, scoreRuleSet)
	// The draft drops the roster bonus and adds a grade D for blacklisted
	// employers.
	draftSrc := strings.Replace(scoreRuleSet, "points: 2.5\n", "points: 0\n", 1)
	draftSrc = strings.Replace(draftSrc, "grades: [A, B, C]", "grades: [A, B, C, D]", 1)
	draftSrc = strings.Replace(draftSrc, "    cap: C\n    points: -1\n", "    cap: D\n    points: -1\n", 1)
	draft := loadRules(t, draftSrc)

	sim := engine.NewSimulation(base, draft, 10)
	inputs := []*engine.Facts{
		facts(func(f *engine.Facts) { f.Complaints = 12 }),                      // 90.5 A → 88 B
		facts(func(f *engine.Facts) { f.Complaints = 0; f.Blacklisted = true }), // C → D
		facts(func(f *engine.Facts) { f.Complaints = 0 }),                       // A → A
	}
	for _, f := range inputs {
		c, err := engine.Compare(base, draft, f)
		require.NoError(t, err)
		sim.Add(c)
	}
	require.Equal(t, 3, sim.Employers)
	require.Equal(t, 2, sim.Changed)
	require.Equal(t, map[string]map[string]int{
		"A": {"A": 1, "B": 1, "C": 0, "D": 0},
		"B": {"A": 0, "B": 0, "C": 0, "D": 0},
		"C": {"A": 0, "B": 0, "C": 0, "D": 1},
	}, sim.Matrix)
	score := func(f float64) *float64 { return &f }
	require.Equal(t, []engine.Change{
		{USCC: "91420102MA4K12345G", BaseGrade: "A", DraftGrade: "B", BaseScore: score(90.5), DraftScore: score(88),
			OnlyBase: []string{}, OnlyDraft: []string{}},
		{USCC: "91420102MA4K12345G", BaseGrade: "C", DraftGrade: "D", BaseScore: score(101.5), DraftScore: score(99),
			OnlyBase: []string{}, OnlyDraft: []string{}},
	}, sim.First)
}

func TestCompareError(t *testing.T) {
	t.Parallel()
	b := setupSimulation(t)
	broken := loadRules(t, `id: broken
grades: [A, B]
rules:
  - id: r1
    when: history[3].grade == "A"
    cap: B
    reason: x
`)
	tests := []struct {
		name        string
		base, draft *engine.RuleSet
	}{
		{name: "draft fails", base: b.base, draft: broken},
		{name: "base fails", base: broken, draft: b.draft},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := engine.Compare(tt.base, tt.draft, simFacts()["clean"])
			require.Equal(t, engine.Comparison{}, c)
			require.ErrorIs(t, err, engine.ErrEvaluation)
			require.EqualError(t, err, "evaluation failed: t.yaml:5: r1 when: index out of range: 3 (array length is 1) (1:8)\n"+
				" | history[3].grade == \"A\"\n"+
				" | .......^")
		})
	}
}
