package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm"
)

// Result is the engine output for one employer and one period.
type Result struct {
	USCC        string  // the employer's code, from the facts
	Period      int     // the rated period, from the facts
	RuleSet     string  // rule set id
	RuleSetHash string  // "sha256:…" of the rule set's canonical content
	Grade       string  // the final grade
	Score       float64 // meaningful only when HasScore
	HasScore    bool    // the rule set has a score section
	Fired       []Fired // the rules that fired, in rule-set order
	Awards      []AwardResult
}

// Fired is one rule that fired, with what it did and why.
type Fired struct {
	Rule     string
	Cap      string // "" when the rule caps nothing
	Points   float64
	Basis    string
	Reason   string
	Evidence []string // ids of the records behind it
}

// AwardResult is an award the employer is eligible for.
type AwardResult struct {
	ID    string
	Title string
}

// Evaluate runs rule set rs over one employer's facts. f must be valid (see
// Facts.Validate); Evaluate neither changes nor keeps it. A run-time failure
// of an expression is returned as an error wrapping ErrEvaluation and a
// *RuleError naming the rule; it never panics. It is safe for concurrent use.
func Evaluate(rs *RuleSet, f *Facts) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: rule set %s: %v", ErrEvaluation, rs.ID, r)
		}
	}()
	if p := rs.fast; p != nil {
		fr, _ := p.frames.Get().(*frame)
		if fr == nil {
			fr = p.newFrame()
		}
		defer func() { fr.release(); p.frames.Put(fr) }()
		if p.run(fr, f, rs) && finite(fr.score, fr.points) {
			return rs.fastResult(fr, f)
		}
		// A run-time failure or a score that is not a finite number: the
		// VM gives the error its exact message and position.
	}
	return evaluateVM(rs, f)
}

func (rs *RuleSet) fastResult(fr *frame, f *Facts) (Result, error) {
	res := Result{
		USCC:        f.Employer.USCC,
		Period:      f.Period,
		RuleSet:     rs.ID,
		RuleSetHash: rs.Hash,
		Grade:       fr.grade,
		Score:       fr.score,
		HasScore:    rs.score != nil,
	}
	n := 0
	for _, fired := range fr.fired {
		if fired {
			n++
		}
	}
	if n > 0 {
		res.Fired = make([]Fired, 0, n)
		for i, r := range rs.rules {
			if fr.fired[i] {
				res.Fired = append(res.Fired, Fired{Rule: r.ID, Cap: r.Cap, Points: fr.points[i], Basis: r.Basis, Reason: r.Reason})
			}
		}
		if err := rs.addEvidence(&res, f); err != nil {
			return Result{}, err
		}
	}
	res.Awards = rs.awardResults(fr.awards)
	return res, nil
}

// awardResults returns the awards whose flag is set, in a slice of their
// own (results must not share memory with the rule set).
func (rs *RuleSet) awardResults(eligible []bool) []AwardResult {
	first, last, gaps := -1, -1, false
	for i, ok := range eligible {
		if !ok {
			continue
		}
		if first < 0 {
			first = i
		} else if last != i-1 {
			gaps = true
		}
		last = i
	}
	if first < 0 {
		return nil
	}
	if !gaps {
		return slices.Clone(rs.awardList[first : last+1])
	}
	var out []AwardResult
	for i, ok := range eligible {
		if ok {
			out = append(out, rs.awardList[i])
		}
	}
	return out
}

// addEvidence runs the evidence programs of the fired rules. They run on
// the VM: evidence is needed only for the few employers with a finding.
func (rs *RuleSet) addEvidence(res *Result, f *Facts) error {
	var v *vm.VM
	env := any(vmEnv{Facts: *f, Budget: &budget{}})
	for j := range res.Fired {
		fr := &res.Fired[j]
		i := rs.ruleIndex[fr.Rule]
		p := rs.evidence[i]
		if p.Program == nil {
			continue
		}
		if v == nil {
			v, _ = rs.vms.Get().(*vm.VM)
			if v == nil {
				v = &vm.VM{MemoryBudget: MaxMemory}
			}
			defer rs.vms.Put(v)
		}
		ev, err := v.Run(p.Program, env)
		if err != nil {
			return rs.runError(err, p.spans)
		}
		if fr.Evidence, err = evidence(ev); err != nil {
			r := rs.rules[i]
			return fmt.Errorf("%w: %w", ErrEvaluation, &RuleError{File: rs.fileName, Line: rs.src.rules[i].evidence.Line, Rule: r.ID, Field: "evidence", Err: err})
		}
	}
	return nil
}

// evaluateVM evaluates with expr's VM: the reference implementation, and
// the path for rule sets beyond the fast path.
func evaluateVM(rs *RuleSet, f *Facts) (Result, error) {
	v, _ := rs.vms.Get().(*vm.VM)
	if v == nil {
		v = &vm.VM{MemoryBudget: MaxMemory}
	}
	// By value: field reads of a non-addressable struct do not allocate.
	out, err := v.Run(rs.program.Program, any(vmEnv{Facts: *f, Budget: &budget{}}))
	rs.vms.Put(v)
	if err != nil {
		return Result{}, rs.runError(err, rs.program.spans)
	}
	arr, ok := out.([]any)
	if !ok || len(arr) != rs.layout.n {
		return Result{}, fmt.Errorf("%w: rule set %s: unexpected program output %T", ErrEvaluation, rs.ID, out)
	}
	lay := &rs.layout
	res := Result{
		USCC:        f.Employer.USCC,
		Period:      f.Period,
		RuleSet:     rs.ID,
		RuleSetHash: rs.Hash,
		HasScore:    lay.score >= 0,
	}
	res.Grade, _ = arr[lay.grade].(string)
	if lay.score >= 0 {
		if res.Score, err = rs.number(arr[lay.score], "", "score"); err != nil {
			return Result{}, err
		}
	}
	n := 0
	for i := range rs.rules {
		if arr[i] == true {
			n++
		}
	}
	if n > 0 {
		res.Fired = make([]Fired, 0, n)
		for i, r := range rs.rules {
			if arr[i] != true {
				continue
			}
			fr := Fired{Rule: r.ID, Cap: r.Cap, Points: r.Points, Basis: r.Basis, Reason: r.Reason}
			if j := lay.points[i]; j >= 0 {
				if fr.Points, err = rs.number(arr[j], r.ID, "points"); err != nil {
					return Result{}, err
				}
			}
			res.Fired = append(res.Fired, fr)
		}
		if err := rs.addEvidence(&res, f); err != nil {
			return Result{}, err
		}
	}
	eligible := make([]bool, len(rs.awards))
	for i := range rs.awards {
		eligible[i] = arr[lay.awards+i] == true
	}
	res.Awards = rs.awardResults(eligible)
	return res, nil
}

// finite reports whether the score and every rule's points are numbers.
func finite(score float64, points []float64) bool {
	if math.IsNaN(score) || math.IsInf(score, 0) {
		return false
	}
	for _, p := range points {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return false
		}
	}
	return true
}

func (rs *RuleSet) runError(err error, spans []span) error {
	err = mapError(err, spans)
	var re *RuleError
	if errors.As(err, &re) {
		re.File = rs.fileName
	}
	if !errors.Is(err, ErrLimit) && strings.Contains(err.Error(), "memory budget exceeded") {
		// expr's own memory budget (MaxMemory), which it reports as a
		// message only.
		return fmt.Errorf("%w: %w: %w", ErrEvaluation, ErrLimit, err)
	}
	return fmt.Errorf("%w: %w", ErrEvaluation, err)
}

func (rs *RuleSet) number(v any, rule, field string) (float64, error) {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		return 0, fmt.Errorf("%w: %w", ErrEvaluation, &RuleError{File: rs.fileName, Rule: rule, Field: field, Err: fmt.Errorf("want a number, got %T", v)})
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%w: %w", ErrEvaluation, &RuleError{File: rs.fileName, Rule: rule, Field: field, Err: fmt.Errorf("not a finite number: %v", f)})
	}
	return f, nil
}

func evidence(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return x, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			switch s := e.(type) {
			case string:
				out[i] = s
			case int:
				out[i] = strconv.Itoa(s)
			default:
				return nil, fmt.Errorf("item %d is %T, want a record id string", i, e)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of record ids, got %T", v)
}

// MarshalJSON encodes the result as the engine output of DESIGN.md.
func (r Result) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// AppendJSON appends the JSON encoding of r to b: keys uscc, period,
// rule_set, rule_set_hash, grade, score (null without a score section),
// fired and awards (both always arrays).
func (r *Result) AppendJSON(b []byte) []byte {
	b = append(b, `{"uscc":`...)
	b = appendString(b, r.USCC)
	b = append(b, `,"period":`...)
	b = strconv.AppendInt(b, int64(r.Period), 10)
	b = append(b, `,"rule_set":`...)
	b = appendString(b, r.RuleSet)
	b = append(b, `,"rule_set_hash":`...)
	b = appendString(b, r.RuleSetHash)
	b = append(b, `,"grade":`...)
	b = appendString(b, r.Grade)
	b = append(b, `,"score":`...)
	if r.HasScore {
		b = appendNum(b, r.Score)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"fired":[`...)
	for i := range r.Fired {
		f := &r.Fired[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"rule":`...)
		b = appendString(b, f.Rule)
		b = append(b, `,"cap":`...)
		b = appendString(b, f.Cap)
		b = append(b, `,"points":`...)
		b = appendNum(b, f.Points)
		b = append(b, `,"basis":`...)
		b = appendString(b, f.Basis)
		b = append(b, `,"reason":`...)
		b = appendString(b, f.Reason)
		b = append(b, `,"evidence":[`...)
		for j, e := range f.Evidence {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e)
		}
		b = append(b, "]}"...)
	}
	b = append(b, `],"awards":[`...)
	for i, a := range r.Awards {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, a.ID)
		b = append(b, `,"title":`...)
		b = appendString(b, a.Title)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func appendNum(b []byte, f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\t':
				b = append(b, '\\', 't')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
