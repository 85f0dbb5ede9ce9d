package engine

// The rule-set YAML as written: its specs, and expressions that keep their file lines.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr/file"
	yast "github.com/goccy/go-yaml/ast"
)

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
