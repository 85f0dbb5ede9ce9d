package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// randomFacts makes valid facts that reach every branch of the rule sets:
// cases around the period's boundaries, every flag and violation, history
// of every grade.
func randomFacts(rng *rand.Rand) *Facts {
	grades := []string{"A", "B", "C", "AAA", "AA"}
	dates := []string{"2025-06-01", "2025-12-31", "2026-01-01", "2026-03-15", "2026-10-02", "2026-12-31", "2027-01-01"}
	names := []string{"武汉某建筑有限公司", "某", "ACME \"quoted\"\nline"}
	industries := []string{"construction", "mining", "retail", "consulting"}
	emp := rng.IntN(300)
	f := &Facts{
		Period:   2026,
		Employer: Employer{USCC: "91420102MA4K12345G", Name: names[rng.IntN(len(names))], Region: []string{"420102", "420111"}[rng.IntN(2)], Industry: industries[rng.IntN(len(industries))], Employees: emp},
		AnnualReview: AnnualReview{Submitted: rng.IntN(4) > 0, Employees: emp * rng.IntN(2),
			ContractsSigned: max(0, emp-rng.IntN(5)), Insured: max(0, emp-rng.IntN(60)), RosterComplete: rng.IntN(2) == 0},
		Complaints:  rng.IntN(4),
		WageDeposit: WageDeposit{Required: rng.IntN(2) == 0, Paid: rng.IntN(2) == 0},
		Blacklisted: rng.IntN(20) == 0,
	}
	f.AnnualReview.OnTime = f.AnnualReview.Submitted && rng.IntN(3) > 0
	for i := range rng.IntN(5) {
		opened := dates[rng.IntN(4)]
		k := Case{ID: fmt.Sprintf("C-%d", i), Source: CaseSources[rng.IntN(len(CaseSources))], Opened: opened,
			BackWages: float64(rng.IntN(4)) * 15000.5, WorkersAffected: rng.IntN(15),
			OrderRefused: rng.IntN(8) == 0, Obstructed: rng.IntN(8) == 0, MassIncident: rng.IntN(10) == 0,
			SeriousImpact: rng.IntN(10) == 0, Criminal: rng.IntN(12) == 0}
		if rng.IntN(4) > 0 {
			for _, d := range dates {
				if d >= opened && rng.IntN(3) == 0 {
					k.Concluded = d
					break
				}
			}
		}
		for range rng.IntN(3) {
			k.Violations = append(k.Violations, Violations[rng.IntN(len(Violations))])
		}
		// The outcome agrees with the record, as Validate requires.
		switch {
		case k.Concluded == "":
			k.Outcome = "pending"
		case len(k.Violations) == 0:
			k.Outcome = "no_violation"
		default:
			k.Outcome = []string{"rectified", "penalized"}[rng.IntN(2)]
		}
		f.Cases = append(f.Cases, k)
	}
	p := 2026
	for range rng.IntN(4) {
		p -= 1 + rng.IntN(2)
		f.History = append(f.History, HistoryEntry{Period: p, Grade: grades[rng.IntN(3)]})
	}
	return f
}

// TestFastPathMatchesVM evaluates random facts on the fast path and on
// expr's VM and requires identical results, for every rule set.
func TestFastPathMatchesVM(t *testing.T) {
	t.Parallel()
	files := []string{"../scoring-rules/national-2016.yaml", "testdata/operators.yaml"}
	if _, err := LoadFile("../scoring-rules/provincial-points.yaml"); err == nil {
		files = append(files, "../scoring-rules/provincial-points.yaml")
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			rs, err := LoadFile(file)
			require.NoError(t, err)
			require.NotNil(t, rs.fast, "the rule set should run on the fast path: %s", rs.vmWhy)
			rng := rand.New(rand.NewPCG(7, uint64(len(file))))
			grades := map[string]int{}
			for i := range 5000 {
				f := randomFacts(rng)
				require.NoError(t, f.Validate(), "facts %d", i)
				fast, ferr := Evaluate(rs, f)
				slow, serr := evaluateVM(rs, f)
				require.Equal(t, serr, ferr, "facts %d", i)
				require.Equal(t, slow, fast, "facts %d: %+v", i, f)
				grades[fast.Grade]++
			}
			// The corpus must reach more than one grade, or it proves little.
			require.Greater(t, len(grades), 1, "grades reached: %v", grades)
		})
	}
}

func TestFastPathFallsBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, when string
	}{
		{"map builtin", `len(map(cases, .id)) > 0`},
		{"optional chaining", `history?.[0]?.grade == "A"`},
		{"nil coalescing", `(employer?.name ?? "") == ""`},
		{"matches", `employer.name matches "^A"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs, err := Load("t.yaml", []byte("id: t\ngrades: [A, B]\nrules:\n  - id: r\n    when: '"+tt.when+"'\n    cap: B\n    reason: r\n"))
			require.NoError(t, err)
			require.Nil(t, rs.fast, "expected the VM path")
			res, err := Evaluate(rs, typicalFacts())
			require.NoError(t, err)
			require.Contains(t, []string{"A", "B"}, res.Grade)
		})
	}
}

// A run-time failure on the fast path is reported with the VM's message.
func TestFastPathRuntimeErrorUsesVM(t *testing.T) {
	t.Parallel()
	rs, err := Load("t.yaml", []byte("id: t\ngrades: [A, B]\nrules:\n  - id: first-case\n    when: cases[0].id == \"x\"\n    cap: B\n    reason: r\n"))
	require.NoError(t, err)
	require.NotNil(t, rs.fast)
	_, err = Evaluate(rs, typicalFacts())
	require.ErrorIs(t, err, ErrEvaluation)
	var re *RuleError
	require.True(t, errors.As(err, &re))
	require.Equal(t, "first-case", re.Rule)
	require.Contains(t, err.Error(), "index out of range")
}
