package engine

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// The whole rule set runs as one expr program, so lets are computed once
// and the facts are read once per employer:
//
//	let counted = (…);            every let, in order
//	let _f0 = (…);                every rule's when
//	let _p3 = _f3 ? (…) : 0;      points given by an expression
//	let score = base + …;         (only with a score section)
//	let _c = (_f0 or _f1) ? 2 : (_f7 ? 1 : 0);   the worst cap that fired
//	let _b = score >= 90 ? 0 : (…);            the score band
//	let _g = _c > _b ? _c : _b;
//	let grade = _g == 0 ? "A" : …;
//	[_f0, …, score, grade, _p3, …, award whens…]
//
// Evidence is needed only for the rules that fired, which for most
// employers is none, so each rule's evidence is a program of its own (the
// lets and the evidence expression) run only when the rule fired.
//
// Each piece is compiled on its own first (for precise errors); spans map a
// run-time error's position in the program back to the piece.

type span struct {
	from, to int // rune offsets of the piece in the program
	rule     string
	field    string
	expr     exprText
}

type outputLayout struct {
	n      int
	score  int   // index of score, -1 without a score section
	grade  int   // index of grade
	points []int // per rule: index of its points value, or -1
	awards int   // index of the first award
}

type progWriter struct {
	b     strings.Builder
	runes int
	spans []span
}

func (w *progWriter) raw(s string) {
	w.b.WriteString(s)
	w.runes += utf8.RuneCountInString(s)
}

func (w *progWriter) piece(e exprText, rule, field string) {
	w.raw("(\n")
	start := w.runes
	w.raw(e.Src)
	w.spans = append(w.spans, span{from: start, to: w.runes, rule: rule, field: field, expr: e})
	w.raw("\n)")
}

func (rs *RuleSet) compileProgram() error {
	w := &progWriter{}
	rs.writeLets(w)
	for i, r := range rs.rules {
		w.raw("let _f" + strconv.Itoa(i) + " = ")
		w.piece(rs.src.rules[i].when, r.ID, "when")
		w.raw(";\n")
	}
	for i, r := range rs.rules {
		if r.PointsX != "" {
			w.raw("let _p" + strconv.Itoa(i) + " = _f" + strconv.Itoa(i) + " ? ")
			w.piece(rs.src.rules[i].points, r.ID, "points")
			w.raw(" : 0;\n")
		}
	}
	if rs.score != nil {
		w.raw("let score = " + formatNum(rs.score.Base))
		for i, r := range rs.rules {
			switch {
			case r.PointsX != "":
				w.raw(" + _p" + strconv.Itoa(i))
			case r.Points != 0:
				w.raw(" + (_f" + strconv.Itoa(i) + " ? " + formatNum(r.Points) + " : 0)")
			}
		}
		w.raw(";\n")
	}
	// The worst capped grade that fired, as a chain of ternaries (a call
	// to max() would cost an argument buffer per run).
	w.raw("let _c = ")
	closing := 0
	for g := len(rs.Grades) - 1; g > rs.GradeRank(rs.DefaultGrade); g-- {
		var fired []string
		for i, r := range rs.rules {
			if r.Cap != "" && rs.GradeRank(r.Cap) == g {
				fired = append(fired, "_f"+strconv.Itoa(i))
			}
		}
		if len(fired) > 0 {
			w.raw("(" + strings.Join(fired, " or ") + ") ? " + strconv.Itoa(g) + " : (")
			closing++
		}
	}
	w.raw(strconv.Itoa(rs.GradeRank(rs.DefaultGrade)) + strings.Repeat(")", closing) + ";\n")
	if rs.score != nil {
		w.raw("let _b = ")
		for _, b := range rs.score.Bands {
			w.raw("(score >= " + formatNum(b.Min) + " ? " + strconv.Itoa(rs.GradeRank(b.Grade)) + " : ")
		}
		w.raw(strconv.Itoa(len(rs.Grades)-1) + strings.Repeat(")", len(rs.score.Bands)) + ";\n")
		w.raw("let _g = _c > _b ? _c : _b")
	} else {
		w.raw("let _g = _c")
	}
	w.raw(";\nlet grade = ")
	for i, g := range rs.Grades[:len(rs.Grades)-1] {
		w.raw("(_g == " + strconv.Itoa(i) + " ? " + strconv.Quote(g) + " : ")
	}
	w.raw(strconv.Quote(rs.Grades[len(rs.Grades)-1]) + strings.Repeat(")", len(rs.Grades)-1) + ";\n[")

	lay := outputLayout{score: -1, points: make([]int, len(rs.rules))}
	sep := func() {
		if lay.n > 0 {
			w.raw(", ")
		}
		lay.n++
	}
	for i := range rs.rules {
		sep()
		w.raw("_f" + strconv.Itoa(i))
	}
	if rs.score != nil {
		sep()
		lay.score = lay.n - 1
		w.raw("score")
	}
	sep()
	lay.grade = lay.n - 1
	w.raw("grade")
	for i, r := range rs.rules {
		lay.points[i] = -1
		if r.PointsX != "" {
			sep()
			lay.points[i] = lay.n - 1
			w.raw("_p" + strconv.Itoa(i))
		}
	}
	lay.awards = lay.n
	for i, a := range rs.awards {
		sep()
		w.raw("\n")
		w.piece(rs.src.awards[i], a.ID, "when")
	}
	w.raw("]")

	p, spans, err := compileSpans(w)
	if err != nil {
		return err
	}
	rs.program = prog{p, spans}
	rs.layout = lay

	rs.evidence = make([]prog, len(rs.rules))
	for i, r := range rs.rules {
		if r.Evidence == "" {
			continue
		}
		w := &progWriter{}
		rs.writeLets(w)
		w.piece(rs.src.rules[i].evidence, r.ID, "evidence")
		if rs.evidence[i].Program, rs.evidence[i].spans, err = compileSpans(w); err != nil {
			return err
		}
	}
	return nil
}

func (rs *RuleSet) writeLets(w *progWriter) {
	for i, l := range rs.lets {
		w.raw("let " + l.Name + " = ")
		w.piece(rs.src.lets[i], l.Name, "let")
		w.raw(";\n")
	}
}

// prog is a compiled program with the source spans of its pieces.
type prog struct {
	*vm.Program
	spans []span
}

func compileSpans(w *progWriter) (*vm.Program, []span, error) {
	// The program has no node budget of its own: each piece had one.
	opts := append(exprOptions(vmEnv{}), expr.MaxNodes(0))
	p, err := expr.Compile(w.b.String(), opts...)
	if err != nil {
		return nil, nil, mapError(err, w.spans)
	}
	return p, w.spans, nil
}

// mapError turns an error located in the combined program into a
// *RuleError located in the piece it came from.
func mapError(err error, spans []span) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return err
	}
	for _, s := range spans {
		if fe.From >= s.from && fe.From <= s.to {
			local := &file.Error{
				Location: file.Location{From: fe.From - s.from, To: fe.To - s.from},
				Message:  fe.Message,
				Prev:     fe.Prev,
			}
			local = local.Bind(file.NewSource(s.expr.Src))
			return &RuleError{Line: s.expr.fileLine(local), Rule: s.rule, Field: s.field, Err: local}
		}
	}
	return &RuleError{Field: "grade", Err: fe}
}

func formatNum(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if f < 0 {
		return "(" + s + ")"
	}
	return s
}
