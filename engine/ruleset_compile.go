package engine

// Compiling a rule set's specs: checking every expression against the facts and building the program.

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
)

type compiler struct {
	file  string
	errs  RuleSetError
	env   scope         // names in scope for single-expression checks, with their types
	fc    *fastCompiler // nil once an expression is beyond the fast path
	vmWhy string        // the expression that turned the fast path off
}

func (c *compiler) fail(line int, rule, field string, err error) {
	c.errs = append(c.errs, &RuleError{File: c.file, Line: line, Rule: rule, Field: field, Err: err})
}

func (c *compiler) failf(line int, rule, field, format string, args ...any) {
	c.fail(line, rule, field, fmt.Errorf(format, args...))
}

func (c *compiler) build(s *ruleSetSpec) *RuleSet {
	rs := &RuleSet{ID: s.ID, Version: s.Version, Title: s.Title, Grades: s.Grades, DefaultGrade: s.DefaultGrade}
	if !ruleIDRe.MatchString(s.ID) {
		c.failf(0, "", "id", "rule set id %q must be lower-case letters, digits, '-', '_' or '.'", s.ID)
	}
	if s.Version < 0 {
		c.failf(0, "", "version", "must not be negative")
	}
	if len(s.Grades) == 0 {
		c.failf(0, "", "grades", "at least one grade is required, best first")
	}
	seenGrade := map[string]bool{}
	for _, g := range s.Grades {
		if g == "" || seenGrade[g] {
			c.failf(0, "", "grades", "grade %q is empty or listed twice", g)
		}
		seenGrade[g] = true
	}
	if rs.DefaultGrade == "" && len(s.Grades) > 0 {
		rs.DefaultGrade = s.Grades[0]
	}
	if rs.DefaultGrade != "" && !seenGrade[rs.DefaultGrade] {
		c.failf(0, "", "default_grade", "%q is not one of grades %v", rs.DefaultGrade, s.Grades)
	}
	if len(s.Rules) > MaxRules || len(s.Let) > MaxRules || len(s.Awards) > MaxRules {
		c.failf(0, "", "", "at most %d rules, lets and awards each", MaxRules)
		return rs
	}
	if s.Score != nil {
		rs.score = &Score{Base: s.Score.Base, Bands: s.Score.Bands}
		if len(s.Score.Bands) == 0 {
			c.failf(0, "", "score.bands", "at least one band is required")
		}
		for i, b := range s.Score.Bands {
			if !seenGrade[b.Grade] {
				c.failf(0, "", "score.bands", "band %d: grade %q is not one of grades %v", i, b.Grade, s.Grades)
			}
			if i > 0 && b.Min >= s.Score.Bands[i-1].Min {
				c.failf(0, "", "score.bands", "band %d: min %g must be lower than the band before (highest first)", i, b.Min)
			}
			if i > 0 && seenGrade[b.Grade] && rs.GradeRank(b.Grade) < rs.GradeRank(s.Score.Bands[i-1].Grade) {
				c.failf(0, "", "score.bands", "band %d: grade %q is better than the band above it", i, b.Grade)
			}
		}
	}

	c.env = factsEnv()
	c.fc = newFastCompiler()
	reserved := map[string]bool{"grade": true, "score": true}
	for _, l := range s.Let {
		switch {
		case !identRe.MatchString(l.Name):
			c.failf(l.Line, l.Name, "let", "name must be lower-case letters, digits and '_', starting with a letter")
			continue
		case reserved[l.Name] || c.env.has(l.Name) || isFuncName(l.Name):
			c.failf(l.Line, l.Name, "let", "name %q is already a fact, a function or a reserved name", l.Name)
			continue
		}
		node, ok := c.check(l.Expr, l.Name, "let", nil)
		c.fast(node, ok, func(n ast.Node) error { return c.fc.addLet(l.Name, n) })
		if !ok {
			// Keep the name in scope so later expressions do not report it again.
			c.env.set(l.Name, nil)
			continue
		}
		c.env.set(l.Name, c.letType(l.Name, node))
		rs.lets = append(rs.lets, Let{Name: l.Name, Expr: l.Expr.Src, Line: l.Line})
		rs.src.lets = append(rs.src.lets, l.Expr)
	}

	seen := map[string]bool{}
	for i := range s.Rules {
		r := &s.Rules[i]
		line := r.When.Line
		if !ruleIDRe.MatchString(r.ID) {
			c.failf(line, r.ID, "id", "rule %d: id %q must be lower-case letters, digits, '-', '_' or '.'", i+1, r.ID)
		} else if seen[r.ID] {
			c.failf(line, r.ID, "id", "duplicate rule id")
		}
		seen[r.ID] = true
		rule := &Rule{ID: r.ID, When: r.When.Src, Cap: r.Cap, Basis: r.Basis, Reason: r.Reason, Evidence: r.Evidence.Src, Line: line}
		rs.src.rules = append(rs.src.rules, ruleSource{when: r.When, points: r.Points.Expr, evidence: r.Evidence})
		if r.Cap != "" && !seenGrade[r.Cap] {
			c.failf(line, r.ID, "cap", "grade %q is not one of grades %v", r.Cap, s.Grades)
		}
		if r.Cap == "" && !r.Points.Set {
			c.failf(line, r.ID, "", "a rule needs a cap, points, or both")
		}
		if r.Points.Set && s.Score == nil {
			c.failf(line, r.ID, "points", "points need a score section in the rule set")
		}
		if strings.TrimSpace(r.Reason) == "" {
			c.failf(line, r.ID, "reason", "required: the reason is what an employer is told")
		}
		node, ok := c.check(r.When, r.ID, "when", reflect.TypeFor[bool]())
		c.fast(node, ok, func(n ast.Node) error {
			b, err := c.fc.compileBool(n)
			c.fc.p.whens = append(c.fc.p.whens, b)
			return err
		})
		if r.Points.Expr.Src != "" {
			rule.PointsX = r.Points.Expr.Src
			node, ok := c.check(r.Points.Expr, r.ID, "points", reflect.TypeFor[float64]())
			c.fast(node, ok, func(n ast.Node) error {
				f, err := c.fc.compileFloat(n)
				c.fc.p.points = append(c.fc.p.points, f)
				return err
			})
		} else {
			rule.Points = r.Points.Const
			if c.fc != nil {
				c.fc.p.points = append(c.fc.p.points, nil)
			}
		}
		if r.Evidence.Src != "" {
			c.check(r.Evidence, r.ID, "evidence", reflect.TypeFor[[]any]())
		}
		rs.rules = append(rs.rules, rule)
	}

	c.env.set("grade", reflect.TypeFor[string]())
	if s.Score != nil {
		c.env.set("score", reflect.TypeFor[float64]())
	}
	seenAward := map[string]bool{}
	for i := range s.Awards {
		a := &s.Awards[i]
		if !ruleIDRe.MatchString(a.ID) {
			c.failf(a.When.Line, a.ID, "id", "award %d: id %q must be lower-case letters, digits, '-', '_' or '.'", i+1, a.ID)
		} else if seenAward[a.ID] {
			c.failf(a.When.Line, a.ID, "id", "duplicate award id")
		}
		seenAward[a.ID] = true
		if strings.TrimSpace(a.Title) == "" {
			c.failf(a.When.Line, a.ID, "title", "required")
		}
		node, ok := c.check(a.When, a.ID, "when", reflect.TypeFor[bool]())
		c.fast(node, ok, func(n ast.Node) error {
			b, err := c.fc.compileBool(n)
			c.fc.p.awards = append(c.fc.p.awards, b)
			return err
		})
		rs.awards = append(rs.awards, &Award{ID: a.ID, Title: a.Title, When: a.When.Src, Line: a.When.Line})
		rs.src.awards = append(rs.src.awards, a.When)
	}
	if len(c.errs) > 0 {
		return rs
	}
	if c.fc != nil {
		rs.fast = c.fc.p
	}
	rs.vmWhy = c.vmWhy
	rs.ruleIndex = make(map[string]int, len(rs.rules))
	for i, r := range rs.rules {
		rs.ruleIndex[r.ID] = i
	}
	for _, a := range rs.awards {
		rs.awardList = append(rs.awardList, AwardResult{ID: a.ID, Title: a.Title})
	}
	if err := rs.compileProgram(); err != nil {
		var re *RuleError
		if errors.As(err, &re) {
			re.File = c.file
			c.errs = append(c.errs, re)
		} else {
			c.fail(0, "", "", err)
		}
	}
	return rs
}

// check compiles one expression in the current scope and returns its type.
// want is bool, float64 (any number) or []any (any list); nil for any type.
func (c *compiler) check(e exprText, rule, field string, want reflect.Type) (ast.Node, bool) {
	if e.Src == "" {
		c.failf(e.Line, rule, field, "expression is required")
		return nil, false
	}
	if len(e.Src) > MaxExprLen {
		c.failf(e.Line, rule, field, "expression is %d bytes, more than the limit of %d", len(e.Src), MaxExprLen)
		return nil, false
	}
	opts := exprOptions(c.env.value())
	switch want {
	case reflect.TypeFor[bool]():
		opts = append(opts, expr.AsBool())
	case reflect.TypeFor[float64]():
		opts = append(opts, expr.AsFloat64())
	}
	p, err := expr.Compile(e.Src, opts...)
	if err != nil {
		c.fail(exprLine(e, err), rule, field, err)
		return nil, false
	}
	t := p.Node().Type()
	if want == reflect.TypeFor[[]any]() && t != nil && t.Kind() != reflect.Interface {
		isList := t.Kind() == reflect.Slice || t.Kind() == reflect.Array
		if !isList || (t.Elem().Kind() != reflect.String && t.Elem().Kind() != reflect.Interface) {
			c.failf(e.Line, rule, field, "must be a list of record ids (strings), got %s", t)
			return nil, false
		}
	}
	return p.Node(), true
}

// fast feeds a checked expression to the fast-path compiler; the first
// expression it cannot take turns the fast path off for the rule set.
func (c *compiler) fast(node ast.Node, ok bool, add func(ast.Node) error) {
	if c.fc == nil || !ok {
		return
	}
	if err := add(node); err != nil {
		c.fc = nil
		c.vmWhy = fmt.Sprintf("%s: %v", node, err)
	}
}

// exprLine is the file line of an expression error: the expression's first
// line plus the error's line inside it.
func exprLine(e exprText, err error) int {
	var fe *file.Error
	if errors.As(err, &fe) {
		return e.fileLine(fe)
	}
	return e.Line
}

// scope is the compile-time environment of single expressions: the facts
// fields, then the lets in order, then grade and score for awards. It is
// given to expr as a struct type made with reflect.StructOf, so that a let
// whose type is unknown is a field of type any, which expr treats as
// dynamic (a map entry of nil would be typed nil).
type scope struct {
	fields []reflect.StructField
	cached any
}

func factsEnv() scope {
	var sc scope
	t := reflect.TypeFor[Facts]()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		sc.set(f.Tag.Get("expr"), f.Type)
	}
	sc.set("_budget", reflect.TypeFor[*budget]())
	return sc
}

func (sc *scope) has(name string) bool {
	for _, f := range sc.fields {
		if f.Tag.Get("expr") == name {
			return true
		}
	}
	return false
}

// set adds a name; a nil type means unknown (any).
func (sc *scope) set(name string, t reflect.Type) {
	if t == nil {
		t = reflect.TypeFor[any]()
	}
	sc.fields = append(sc.fields, reflect.StructField{
		Name: fmt.Sprintf("F%d", len(sc.fields)),
		Type: t,
		Tag:  reflect.StructTag(`expr:"` + name + `"`),
	})
	sc.cached = nil
}

func (sc *scope) value() any {
	if sc.cached == nil {
		sc.cached = reflect.New(reflect.StructOf(sc.fields)).Elem().Interface()
	}
	return sc.cached
}

// letType is the static type of a let for the expressions after it: the
// fast path's type where it has one (it knows that a sum of amounts is a
// number, where expr's checker does not), else the checker's, else nil
// (unknown).
func (c *compiler) letType(name string, node ast.Node) reflect.Type {
	if c.fc != nil {
		if l, ok := c.fc.lets[name]; ok {
			if t := l.c.t.reflectType(); t != nil {
				return t
			}
		}
	}
	if t := node.Type(); t != nil && t.Kind() != reflect.Interface {
		return t
	}
	return nil
}
