package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/goccy/go-yaml"
	yast "github.com/goccy/go-yaml/ast"
)

// Limits on rule sets, so that a hostile or careless rule set cannot make
// loading or evaluation unbounded.
const (
	// MaxNodes is the largest expression, in AST nodes, that a rule set may hold.
	MaxNodes = 2000
	// MaxExprLen is the longest expression source, in bytes.
	MaxExprLen = 8192
	// MaxRules is the most rules, lets and awards (each) in one rule set.
	MaxRules = 500
)

// RuleSet is a compiled rule set. It is immutable and safe for concurrent
// use by any number of goroutines.
type RuleSet struct {
	ID           string
	Version      int
	Title        string
	Grades       []string // best first
	DefaultGrade string
	Hash         string // "sha256:" + hex of the canonical content
	Source       []byte // the YAML as loaded

	rules     []*Rule
	lets      []Let
	awards    []*Award
	score     *Score
	program   prog         // lets, rules, grade and awards
	evidence  []prog       // per rule, nil Program when it has no evidence
	src       sources      // the expressions with their places in the file
	fast      *fastProgram // nil when the rule set needs expr's VM
	vmWhy     string       // why fast is nil
	ruleIndex map[string]int
	awardList []AwardResult // read-only; results share it
	layout    outputLayout
	vms       sync.Pool
	fileName  string
}

// Rule is one compiled rule of a rule set.
type Rule struct {
	ID       string
	When     string
	Cap      string  // grade cap, "" for none
	Points   float64 // constant points, when PointsExpr is ""
	PointsX  string  // points expression, "" when the points are constant
	Basis    string
	Reason   string
	Evidence string // evidence expression, "" for none
	Line     int    // line of the rule's when in its file
}

// Let is one named expression computed once per employer.
type Let struct {
	Name string
	Expr string
	Line int
}

// Award is an award-eligibility rule.
type Award struct {
	ID    string
	Title string
	When  string
	Line  int
}

// Score is the optional point scale of a rule set.
type Score struct {
	Base  float64
	Bands []Band // highest minimum first
}

// Band maps a minimum score to a grade.
type Band struct {
	Min   float64 `json:"min"`
	Grade string  `json:"grade"`
}

// sources are a rule set's expressions with their file positions, parallel
// to lets, rules and awards.
type sources struct {
	lets   []exprText
	rules  []ruleSource
	awards []exprText
}

type ruleSource struct {
	when, points, evidence exprText
}

// Rules returns the rules in file order. The slice must not be modified.
func (rs *RuleSet) Rules() []*Rule { return rs.rules }

// Lets returns the named expressions in order.
func (rs *RuleSet) Lets() []Let { return rs.lets }

// Awards returns the award rules in file order.
func (rs *RuleSet) Awards() []*Award { return rs.awards }

// Score returns the point scale, or nil when the rule set grades by caps only.
func (rs *RuleSet) Score() *Score { return rs.score }

// Evaluator says how Evaluate runs the rule set: "fast path", or "expr VM"
// with the first expression the fast path does not cover.
func (rs *RuleSet) Evaluator() string {
	if rs.fast != nil {
		return "fast path"
	}
	return "expr VM (" + rs.vmWhy + ")"
}

// GradeRank returns the index of g in Grades (0 is best), or -1.
func (rs *RuleSet) GradeRank(g string) int {
	for i, x := range rs.Grades {
		if x == g {
			return i
		}
	}
	return -1
}

// --- YAML form ---

type ruleSetSpec struct {
	ID           string      `yaml:"id" json:"id"`
	Version      int         `yaml:"version" json:"version"`
	Title        string      `yaml:"title" json:"title"`
	Grades       []string    `yaml:"grades" json:"grades"`
	DefaultGrade string      `yaml:"default_grade" json:"default_grade"`
	Let          letsSpec    `yaml:"let" json:"let"`
	Rules        []ruleSpec  `yaml:"rules" json:"rules"`
	Score        *scoreSpec  `yaml:"score" json:"score,omitempty"`
	Awards       []awardSpec `yaml:"awards" json:"awards"`
}

type ruleSpec struct {
	ID       string     `yaml:"id" json:"id"`
	When     exprText   `yaml:"when" json:"when"`
	Cap      string     `yaml:"cap" json:"cap,omitempty"`
	Points   pointsSpec `yaml:"points" json:"points"`
	Basis    string     `yaml:"basis" json:"basis,omitempty"`
	Reason   string     `yaml:"reason" json:"reason"`
	Evidence exprText   `yaml:"evidence" json:"evidence"`
}

type scoreSpec struct {
	Base  float64 `yaml:"base" json:"base"`
	Bands []Band  `yaml:"bands" json:"bands"`
}

type awardSpec struct {
	ID    string   `yaml:"id" json:"id"`
	Title string   `yaml:"title" json:"title"`
	When  exprText `yaml:"when" json:"when"`
}

// exprText is an expression string with the line it starts on. A folded
// block (>) joins its lines with spaces; folds keeps where each source line
// starts in Src (rune offsets), so errors point at the right file line.
type exprText struct {
	Src   string
	Line  int
	folds []int
}

func (e *exprText) UnmarshalYAML(n yast.Node) error {
	*e = exprText{}
	switch v := n.(type) {
	case *yast.StringNode:
		e.Src, e.Line = v.Value, v.Token.Position.Line
	case *yast.LiteralNode:
		e.Src, e.Line = v.Value.Value, v.Start.Position.Line+1
		if strings.HasPrefix(v.Start.Value, ">") {
			e.folds = foldStarts(v.Value.GetToken().Origin)
		}
	case *yast.BoolNode, *yast.IntegerNode, *yast.FloatNode:
		// when: true is the expression "true", not a YAML boolean.
		e.Src, e.Line = v.GetToken().Value, v.GetToken().Position.Line
	case *yast.NullNode:
	default:
		return fmt.Errorf("line %d: an expression must be a string, got %s", n.GetToken().Position.Line, n.Type())
	}
	if t := strings.TrimLeftFunc(e.Src, unicode.IsSpace); len(t) != len(e.Src) && e.folds != nil {
		shift := utf8.RuneCountInString(e.Src) - utf8.RuneCountInString(t)
		for i := range e.folds {
			e.folds[i] -= shift
		}
	}
	e.Src = strings.TrimSpace(e.Src)
	return nil
}

// foldStarts returns the rune offsets in the folded text at which each
// non-blank source line starts: the lines are joined by one space.
func foldStarts(origin string) []int {
	var starts []int
	off := 0
	for _, line := range strings.Split(origin, "\n") {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		starts = append(starts, off)
		off += utf8.RuneCountInString(t) + 1
	}
	return starts
}

// fileLine is the line in the file of an error inside the expression.
func (e exprText) fileLine(fe *file.Error) int {
	if len(e.folds) > 1 {
		n := 0
		for _, s := range e.folds {
			if s <= fe.From {
				n++
			}
		}
		return e.Line + max(n, 1) - 1
	}
	if fe.Line > 0 {
		return e.Line + fe.Line - 1
	}
	return e.Line
}

func (e exprText) MarshalJSON() ([]byte, error) { return json.Marshal(e.Src) }

// pointsSpec is either a constant number or an expression.
type pointsSpec struct {
	Const float64
	Expr  exprText
	Set   bool
}

func (p *pointsSpec) UnmarshalYAML(n yast.Node) error {
	switch v := n.(type) {
	case *yast.IntegerNode:
		f, err := strconv.ParseFloat(v.Token.Value, 64)
		if err != nil {
			return fmt.Errorf("line %d: points: %w", v.Token.Position.Line, err)
		}
		p.Const, p.Set = f, true
	case *yast.FloatNode:
		p.Const, p.Set = v.Value, true
	case *yast.NullNode:
		*p = pointsSpec{}
	default:
		if err := p.Expr.UnmarshalYAML(n); err != nil {
			return err
		}
		p.Set = true
	}
	return nil
}

func (p pointsSpec) MarshalJSON() ([]byte, error) {
	if p.Expr.Src != "" {
		return json.Marshal(p.Expr.Src)
	}
	return json.Marshal(p.Const)
}

// letsSpec keeps the order of the let mapping.
type letsSpec []letSpec

type letSpec struct {
	Name string   `json:"name"`
	Expr exprText `json:"expr"`
	Line int      `json:"-"`
}

func (l *letsSpec) UnmarshalYAML(n yast.Node) error {
	switch v := n.(type) {
	case *yast.NullNode:
		*l = nil
		return nil
	case *yast.MappingNode:
		for _, mv := range v.Values {
			if err := l.add(mv); err != nil {
				return err
			}
		}
		return nil
	case *yast.MappingValueNode:
		return l.add(v)
	}
	return fmt.Errorf("line %d: let must be a mapping of name: expression", n.GetToken().Position.Line)
}

func (l *letsSpec) add(mv *yast.MappingValueNode) error {
	name := mv.Key.GetToken().Value
	var e exprText
	if err := e.UnmarshalYAML(mv.Value); err != nil {
		return err
	}
	*l = append(*l, letSpec{Name: name, Expr: e, Line: mv.Key.GetToken().Position.Line})
	return nil
}

// LoadFile reads and compiles a rule set from a YAML file. Errors name the
// file by path as given.
func LoadFile(path string) (*RuleSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rule set: %w", err)
	}
	return Load(path, data)
}

var identRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
var ruleIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// Load compiles a rule set from YAML. name is used in error messages (the
// file name). Every problem found is reported, as a RuleSetError of
// *RuleError values naming file, line, rule id and position.
func Load(name string, data []byte) (*RuleSet, error) {
	var spec ruleSetSpec
	if err := unmarshalYAML(data, &spec); err != nil {
		return nil, RuleSetError{{File: name, Err: err}}
	}
	c := &compiler{file: name}
	rs := c.build(&spec)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	canon, err := json.Marshal(&spec)
	if err != nil {
		return nil, fmt.Errorf("hash rule set: %w", err)
	}
	sum := sha256.Sum256(canon)
	rs.Hash = "sha256:" + hex.EncodeToString(sum[:])
	rs.Source = data
	rs.fileName = name
	return rs, nil
}

// unmarshalYAML decodes strictly; a panic of the YAML decoder on hostile
// input (testdata/fuzz/FuzzRuleSetLimits) is an error, not a crash.
func unmarshalYAML(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML cannot be read: %v", r)
		}
	}()
	if err := checkYAMLShape(data); err != nil {
		return err
	}
	if err := yaml.UnmarshalWithOptions(data, v, yaml.Strict()); err != nil {
		return errors.New(strings.TrimSpace(yaml.FormatError(err, false, true)))
	}
	return nil
}

// Limits on the shape of a YAML document, checked on its bytes before the
// YAML decoder sees it: the decoder's time and memory grow with the square
// of the nesting depth and of the number of ": " in one flow collection
// (200 KB of "[" took a server to 6 GB).
const (
	// MaxYAMLDepth is the deepest nesting of flow collections ([ and {,
	// counted even inside quotes) and the most block indicators ("- ",
	// ": ", "? ", outside flow collections) on one line: 32.
	MaxYAMLDepth = 32
	// MaxYAMLFlowColons is the most ":" in one flow collection: 256.
	MaxYAMLFlowColons = 256
)

func checkYAMLShape(data []byte) error {
	depth, colons, line, onLine := 0, 0, 1, 0
	for i, c := range data {
		switch c {
		case '\n':
			line, onLine = line+1, 0
		case '[', '{':
			depth++
			if depth > MaxYAMLDepth {
				return fmt.Errorf("line %d: the YAML nests collections more than %d deep (MaxYAMLDepth)", line, MaxYAMLDepth)
			}
		case ']', '}':
			depth = max(depth-1, 0)
			if depth == 0 {
				colons = 0
			}
		case ':', '-', '?':
			if depth > 0 && c == ':' {
				colons++
				if colons > MaxYAMLFlowColons {
					return fmt.Errorf("line %d: a flow collection of the YAML has more than %d colons (MaxYAMLFlowColons)", line, MaxYAMLFlowColons)
				}
			}
			if depth == 0 && i+1 < len(data) && data[i+1] == ' ' {
				onLine++
				if onLine > MaxYAMLDepth {
					return fmt.Errorf("line %d: the YAML nests more than %d block indicators on one line (MaxYAMLDepth)", line, MaxYAMLDepth)
				}
			}
		}
	}
	return nil
}

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
