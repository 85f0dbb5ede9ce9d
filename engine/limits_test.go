package engine_test

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"laborcredit/engine"
	scoringrules "laborcredit/scoring-rules"
)

// doublingLets is a rule set whose lets double a string each time; s13
// would be 128 KiB, beyond MaxStringLen.
func doublingLets() string {
	var b strings.Builder
	b.WriteString("id: t\ngrades: [A, B]\nlet:\n  s0: '\"0123456789abcdef\"'\n")
	for i := 1; i <= 24; i++ {
		fmt.Fprintf(&b, "  s%d: s%d + s%d\n", i, i-1, i-1)
	}
	b.WriteString("rules:\n  - id: long\n    when: len(s24) > 0\n    cap: B\n    reason: x\n")
	return b.String()
}

func bombRule(when string) string {
	return "id: t\ngrades: [A, B]\nrules:\n  - id: fine\n    when: period > 0\n    cap: B\n    reason: x\n" +
		"  - id: bomb\n    when: '" + when + "'\n    cap: B\n    reason: x\n"
}

// hostileRuleSets is the corpus of rule sets that, before the limits,
// exhausted the memory of the process or held a CPU for minutes. rule is
// the rule (or let) the error must name; fast tells whether the set runs
// on the fast path (which must stop it as the VM does).
var hostileRuleSets = []struct {
	name string
	src  string
	rule string
	fast bool
}{
	{name: "repeat of a short string", src: bombRule(`len(repeat("x", 100000000)) > 0`), rule: "bomb"},
	{name: "repeat of a long string", src: bombRule(`len(repeat(repeat("0123456789", 6000), 1000)) > 0`), rule: "bomb"},
	{name: "lets that double a string", src: doublingLets(), rule: "s13", fast: true},
	{name: "concatenation in a when", src: bombRule(`len(employer.name + repeat("y", 65536)) > 0`), rule: "bomb"},
	{name: "reduce building a string", src: bombRule(`len(reduce(1..200000, #acc + "x", "")) > 0`), rule: "bomb"},
	{name: "reduce building a string of strings", src: bombRule(`len(reduce(1..200000, #acc + string(#), "")) > 0`), rule: "bomb"},
	{name: "nested ranges", src: bombRule(`any(1..1000, {any(1..1000, {any(1..1000, {# < 0})})})`), rule: "bomb"},
	{name: "nested loops over the facts", src: bombRule(`count(cases, {count(cases, {count(cases, {.criminal}) == 7}) == 7}) == 7`), rule: "bomb", fast: true},
	{name: "nested filters over the facts", src: bombRule(`len(filter(cases, {len(filter(cases, {len(filter(history, {.period > 0})) == 7})) == 7})) == 7`), rule: "bomb", fast: true},
	{name: "join of a long list", src: bombRule(`len(join(map(1..100000, {"0123456789"}), "")) > 0`), rule: "bomb"},
	{name: "replace that grows", src: bombRule(`len(replace(repeat("x", 60000), "", "yyyy")) > 0`), rule: "bomb"},
	{name: "string of a list", src: bombRule(`len(string(1..100000)) > 0`), rule: "bomb"},
	{name: "map building arrays", src: bombRule(`len(map(1..900000, {[#, #, #]})) > 0`), rule: "bomb"},
	{name: "sortBy over a large range", src: bombRule(`len(sortBy(1..2000000, {-#})) > 0`), rule: "bomb"},
	{name: "map of repeats", src: bombRule(`len(map(1..2000, {repeat("x", 60000)})) > 0`), rule: "bomb"},
	{name: "map of joins", src: bombRule(`len(map(1..2000, {join(["` + strings.Repeat("y", 1000) + `"], repeat("x", 1))})) > 0 and len(map(1..2000, {join(split(repeat("x", 60000), ""), "")})) > 0`), rule: "bomb"},
	{name: "map of replaces", src: bombRule(`len(map(1..2000, {replace(repeat("x", 30000), "x", "yy")})) > 0`), rule: "bomb"},
	{name: "map of splits", src: bombRule(`len(map(1..100, {split(repeat("x", 60000), "")})) > 0`), rule: "bomb"},
	{name: "map of uppers", src: bombRule(`len(map(1..2000, {upper(repeat("x", 60000))})) > 0`), rule: "bomb"},
	{name: "matches of a long subject", src: "id: t\ngrades: [A, B]\nlet:\n  s: 'repeat(\"a\", 60000)'\nrules:\n  - id: bomb\n    when: count(1..2000, {s matches \"(a*)*b\"}) > 0\n    cap: B\n    reason: x\n", rule: "bomb"},
	{name: "matches of a long dynamic pattern", src: "id: t\ngrades: [A, B]\nlet:\n  p: '\"" + strings.Repeat("(a|b)", 1500) + "\"'\nrules:\n  - id: bomb\n    when: count(1..2000, {\"ab\" matches p}) > 0\n    cap: B\n    reason: x\n", rule: "bomb"},
	{name: "contains of a long string", src: "id: t\ngrades: [A, B]\nlet:\n  s: 'repeat(\"a\", 60000)'\nrules:\n  - id: bomb\n    when: count(1..900000, {s contains \"aab\"}) > 0\n    cap: B\n    reason: x\n", rule: "bomb"},
	{name: "indexOf of a long string", src: "id: t\ngrades: [A, B]\nlet:\n  s: 'repeat(\"a\", 60000)'\nrules:\n  - id: bomb\n    when: count(1..900000, {indexOf(s, \"aab\") > 0}) > 0\n    cap: B\n    reason: x\n", rule: "bomb"},
	{name: "map of sorts of a let", src: "id: t\ngrades: [A, B]\nlet:\n  big: 1..300000\nrules:\n  - id: bomb\n    when: len(map(1..20, {sort(big)})) > 0\n    cap: B\n    reason: x\n", rule: "bomb"},
}

// TestHostileRuleSets: each bomb stops with an error wrapping ErrLimit and
// ErrEvaluation and naming the rule, on the fast path and on the VM alike,
// Probe finds it, and the heap stays bounded.
func TestHostileRuleSets(t *testing.T) {
	t.Parallel()
	worst := engine.ProbeFacts()[2]
	for _, tt := range hostileRuleSets {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := loadRules(t, tt.src)
			if tt.fast {
				require.Equal(t, "fast path", rs.Evaluator())
			}
			vm := loadRules(t, withVMOnly(tt.src))
			var errs []error
			for _, set := range []*engine.RuleSet{rs, vm} {
				_, err := engine.Evaluate(set, worst)
				require.Error(t, err)
				require.ErrorIs(t, err, engine.ErrLimit)
				require.ErrorIs(t, err, engine.ErrEvaluation)
				var re *engine.RuleError
				require.ErrorAs(t, err, &re)
				require.Equal(t, tt.rule, re.Rule, "%v", err)
				require.Equal(t, "t.yaml", re.File)
				errs = append(errs, err)
			}
			require.Equal(t, errs[1].Error(), errs[0].Error(), "the fast path and the VM disagree")
			err := engine.Probe(rs)
			require.ErrorIs(t, err, engine.ErrLimit)
			require.Equal(t, errs[0].Error(), err.Error())
		})
	}
}

// TestHostileRuleSetsMemory runs the corpus one bomb after the other and
// requires the heap in use to stay within some tens of MB throughout.
func TestHostileRuleSetsMemory(t *testing.T) {
	t.Parallel()
	worst := engine.ProbeFacts()[2]
	var sets []*engine.RuleSet
	for _, tt := range hostileRuleSets {
		sets = append(sets, loadRules(t, tt.src), loadRules(t, withVMOnly(tt.src)))
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	peak := base
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			default:
			}
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
		}
	}()
	for _, rs := range sets {
		_, err := engine.Evaluate(rs, worst)
		require.ErrorIs(t, err, engine.ErrLimit)
	}
	close(done)
	<-stopped
	// Other tests run in parallel: the bound is generous, far below the
	// gigabytes the bombs asked for.
	require.Less(t, peak-min(peak, base), uint64(256<<20), "heap grew by %d MB", (peak-base)>>20)
}

// TestLimitsRefusedAtLoad: the builtins that build values nothing bounds
// are not available to rule sets.
func TestLimitsRefusedAtLoad(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, when string }{
		{"concat", `len(reduce(1..5000, concat(#acc, [#]), [])) > 0`},
		{"flatten", `len(flatten([1..1000, 1..1000])) > 0`},
		{"toJSON", `len(toJSON(cases)) > 0`},
		{"timezone", `timezone("UTC") != nil`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := engine.Load("t.yaml", []byte(bombRule(tt.when)))
			var rse engine.RuleSetError
			require.ErrorAs(t, err, &rse)
			require.Equal(t, "bomb", rse[0].Rule)
		})
	}
}

// TestLimitsAllowOrdinaryWork: the bounded builtins still work within
// the limits, on both paths, and the scoring rules pass Probe.
func TestLimitsAllowOrdinaryWork(t *testing.T) {
	t.Parallel()
	src := bombRule(`len(repeat("ab", 3) + join(["a", "b"], "-") + replace("aXb", "X", "--") + string(12)) == 15` +
		` and reduce(1..100, #acc + 1, 0) == 100 and len(reduce(1..1000, #acc + "x", "")) == 1000`)
	res, err := evaluate(t, src, engine.ProbeFacts()[2])
	require.NoError(t, err)
	require.Equal(t, "B", res.Grade)
	require.Len(t, res.Fired, 2)
	for _, name := range []string{"national-2016.yaml", "provincial-points.yaml"} {
		rs, err := engine.LoadFile("../scoring-rules/" + name)
		require.NoError(t, err)
		require.NoError(t, engine.Probe(rs))
	}
	require.False(t, errors.Is(err, engine.ErrLimit))
}

// FuzzRuleSetLimits: any expression, compiled into a rule set and
// evaluated on the worst-case facts, either does not load, or evaluates on
// the fast path and the VM to the same result or error, within the limits
// (it never panics, and the heap does not explode).
func FuzzRuleSetLimits(f *testing.F) {
	for _, tt := range hostileRuleSets {
		f.Add(tt.src)
	}
	f.Add(bombRule(`len(cases) > 2 and any(cases, {.criminal})`))
	f.Add(bombRule(`reduce(1..50, #acc + "ab", "") startsWith "ab"`))
	facts := engine.ProbeFacts()
	f.Fuzz(func(t *testing.T, src string) {
		rs, err := engine.Load("t.yaml", []byte(src))
		if err != nil {
			return
		}
		vm, err := engine.Load("t.yaml", []byte(withVMOnly(src)))
		if err != nil {
			return
		}
		for _, fa := range facts[:2] {
			got, gotErr := engine.Evaluate(rs, fa)
			want, wantErr := engine.Evaluate(vm, fa)
			if rs.Evaluator() == "fast path" && !strings.Contains(src, "vm-only") {
				requireSameResult(t, got, gotErr, want, wantErr)
			}
		}
	})
}

// TestYAMLShapeBombs: YAML whose decoding takes time and memory in the
// square of its nesting (200 KB of "[" took a demo server to 6 GB) is
// refused on its bytes, before the decoder sees it.
func TestYAMLShapeBombs(t *testing.T) {
	t.Parallel()
	head := "id: t\ngrades: [A, B]\nrules:\n  - id: r\n    when: 'true'\n    cap: B\n    reason: x\nx: "
	tests := []struct {
		name, src, want string
	}{
		{"nested flow sequences", head + strings.Repeat("[", 6000) + strings.Repeat("]", 6000), "MaxYAMLDepth"},
		{"nested flow maps", head + strings.Repeat("{", 6000) + strings.Repeat("}", 6000), "MaxYAMLDepth"},
		{"nested flow sequences over lines", head + strings.Repeat("[\n  ", 6000), "MaxYAMLDepth"},
		{"block sequences on one line", head + "\n  " + strings.Repeat("- ", 6000) + "x", "MaxYAMLDepth"},
		{"block maps on one line", head + "\n  " + strings.Repeat("a: ", 6000) + "x", "MaxYAMLDepth"},
		{"colons in quoted items of a flow", head + "[" + strings.Repeat("'a: b', ", 6000) + "x]", "MaxYAMLFlowColons"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := engine.Load("t.yaml", []byte(tt.src))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// VMOnly evaluates the same rule set on expr's VM alone, with the same
// results, and leaves the original on the fast path.
func TestVMOnly(t *testing.T) {
	t.Parallel()
	src, err := scoringrules.FS.ReadFile("national-2016.yaml")
	require.NoError(t, err)
	rs, err := engine.Load("national-2016.yaml", src)
	require.NoError(t, err)
	vm := rs.VMOnly()
	require.Equal(t, "fast path", rs.Evaluator())
	require.Contains(t, vm.Evaluator(), "expr VM")
	// Every exported field is the same (a field added later is too).
	a, b := reflect.ValueOf(rs).Elem(), reflect.ValueOf(vm).Elem()
	for i := range a.NumField() {
		if a.Type().Field(i).IsExported() {
			require.Equal(t, a.Field(i).Interface(), b.Field(i).Interface(), a.Type().Field(i).Name)
		}
	}
	for _, f := range engine.ProbeFacts() {
		want, err := engine.Evaluate(rs, f)
		require.NoError(t, err)
		got, err := engine.Evaluate(vm, f)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}
