package engine

import "slices"

// Comparison is one employer's result under two rule sets.
type Comparison struct {
	Base, Draft Result
}

// Compare evaluates f with both rule sets.
func Compare(base, draft *RuleSet, f *Facts) (Comparison, error) {
	b, err := Evaluate(base, f)
	if err != nil {
		return Comparison{}, err
	}
	d, err := Evaluate(draft, f)
	if err != nil {
		return Comparison{}, err
	}
	return Comparison{Base: b, Draft: d}, nil
}

// Simulation accumulates the what-if of a draft rule set against the one in
// force: the grade migration matrix and the first employers that change.
type Simulation struct {
	Base      *RuleSet                  `json:"-"`
	Draft     *RuleSet                  `json:"-"`
	BaseID    string                    `json:"base"`
	DraftID   string                    `json:"draft"`
	Employers int                       `json:"employers"`
	Changed   int                       `json:"changed"`
	Matrix    map[string]map[string]int `json:"matrix"` // base grade → draft grade → employers
	First     []Change                  `json:"first_changes"`
	limit     int
}

// Change is one employer whose grade differs, with the rules that made the
// difference: those that fired under one rule set and not the other.
type Change struct {
	USCC       string   `json:"uscc"`
	BaseGrade  string   `json:"base_grade"`
	DraftGrade string   `json:"draft_grade"`
	BaseScore  *float64 `json:"base_score,omitempty"`
	DraftScore *float64 `json:"draft_score,omitempty"`
	OnlyBase   []string `json:"fired_only_in_base"`
	OnlyDraft  []string `json:"fired_only_in_draft"`
}

// NewSimulation starts a simulation that keeps the first limit changes.
func NewSimulation(base, draft *RuleSet, limit int) *Simulation {
	m := make(map[string]map[string]int, len(base.Grades))
	for _, g := range base.Grades {
		m[g] = make(map[string]int, len(draft.Grades))
		for _, d := range draft.Grades {
			m[g][d] = 0
		}
	}
	return &Simulation{Base: base, Draft: draft, BaseID: base.ID, DraftID: draft.ID, Matrix: m, First: []Change{}, limit: limit}
}

// Add counts one employer's comparison.
func (s *Simulation) Add(c Comparison) {
	s.Employers++
	row := s.Matrix[c.Base.Grade]
	if row == nil {
		row = map[string]int{}
		s.Matrix[c.Base.Grade] = row
	}
	row[c.Draft.Grade]++
	if c.Base.Grade == c.Draft.Grade {
		return
	}
	s.Changed++
	if len(s.First) >= s.limit {
		return
	}
	ch := Change{USCC: c.Base.USCC, BaseGrade: c.Base.Grade, DraftGrade: c.Draft.Grade,
		OnlyBase: firedDiff(c.Base.Fired, c.Draft.Fired), OnlyDraft: firedDiff(c.Draft.Fired, c.Base.Fired)}
	if c.Base.HasScore {
		ch.BaseScore = &c.Base.Score
	}
	if c.Draft.HasScore {
		ch.DraftScore = &c.Draft.Score
	}
	s.First = append(s.First, ch)
}

// firedDiff lists the rules in a that are not in b.
func firedDiff(a, b []Fired) []string {
	out := []string{}
	for _, f := range a {
		if !slices.ContainsFunc(b, func(g Fired) bool { return g.Rule == f.Rule }) {
			out = append(out, f.Rule)
		}
	}
	return out
}
