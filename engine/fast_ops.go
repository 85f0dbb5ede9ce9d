package engine

// The fast path's operators: unary and binary operators, in, and the
// conditional.

import (
	"reflect"
	"strings"

	"github.com/expr-lang/expr/ast"
)

func (fc *fastCompiler) unary(n *ast.UnaryNode) (cexpr, error) {
	x, err := fc.compile(n.Node)
	if err != nil {
		return cexpr{}, err
	}
	switch n.Operator {
	case "!", "not":
		if x.t.k != fBool {
			return cexpr{}, errUnsupported
		}
		b := x.b
		return cexpr{t: x.t, b: func(fr *frame) bool { return !b(fr) }}, nil
	case "-":
		switch x.t.k {
		case fInt:
			i := x.i
			return cexpr{t: x.t, i: func(fr *frame) int { return -i(fr) }}, nil
		case fFloat:
			f := x.f
			return cexpr{t: x.t, f: func(fr *frame) float64 { return -f(fr) }}, nil
		}
	case "+":
		if x.t.k == fInt || x.t.k == fFloat {
			return x, nil
		}
	}
	return cexpr{}, errUnsupported
}

func isNum(k fkind) bool { return k == fInt || k == fFloat }

func (fc *fastCompiler) binary(n *ast.BinaryNode) (cexpr, error) {
	if n.Operator == "in" {
		return fc.in(n)
	}
	l, err := fc.compile(n.Left)
	if err != nil {
		return cexpr{}, err
	}
	r, err := fc.compile(n.Right)
	if err != nil {
		return cexpr{}, err
	}
	boolT := ftype{k: fBool}
	switch n.Operator {
	case "and", "&&", "or", "||":
		if l.t.k != fBool || r.t.k != fBool {
			return cexpr{}, errUnsupported
		}
		a, b := l.b, r.b
		if n.Operator == "and" || n.Operator == "&&" {
			return cexpr{t: boolT, b: func(fr *frame) bool { return a(fr) && b(fr) }}, nil
		}
		return cexpr{t: boolT, b: func(fr *frame) bool { return a(fr) || b(fr) }}, nil
	case "==", "!=":
		var eq func(*frame) bool
		switch {
		case l.t.k == fInt && r.t.k == fInt:
			a, b := l.i, r.i
			eq = func(fr *frame) bool { return a(fr) == b(fr) }
		case isNum(l.t.k) && isNum(r.t.k):
			a, _ := asFloat(l)
			b, _ := asFloat(r)
			eq = func(fr *frame) bool { return a(fr) == b(fr) }
		case l.t.k == fString && r.t.k == fString:
			a, b := l.s, r.s
			eq = func(fr *frame) bool { return a(fr) == b(fr) }
		case l.t.k == fBool && r.t.k == fBool:
			a, b := l.b, r.b
			eq = func(fr *frame) bool { return a(fr) == b(fr) }
		default:
			return cexpr{}, errUnsupported
		}
		if n.Operator == "!=" {
			return cexpr{t: boolT, b: func(fr *frame) bool { return !eq(fr) }}, nil
		}
		return cexpr{t: boolT, b: eq}, nil
	case "<", "<=", ">", ">=":
		op := n.Operator
		switch {
		case l.t.k == fInt && r.t.k == fInt:
			a, b := l.i, r.i
			return cexpr{t: boolT, b: compareFn(op, a, b)}, nil
		case isNum(l.t.k) && isNum(r.t.k):
			a, _ := asFloat(l)
			b, _ := asFloat(r)
			return cexpr{t: boolT, b: compareFn(op, a, b)}, nil
		case l.t.k == fString && r.t.k == fString:
			return cexpr{t: boolT, b: compareFn(op, l.s, r.s)}, nil
		}
		return cexpr{}, errUnsupported
	case "+", "-", "*":
		if l.t.k == fInt && r.t.k == fInt {
			a, b := l.i, r.i
			switch n.Operator {
			case "+":
				return cexpr{t: l.t, i: func(fr *frame) int { return a(fr) + b(fr) }}, nil
			case "-":
				return cexpr{t: l.t, i: func(fr *frame) int { return a(fr) - b(fr) }}, nil
			default:
				return cexpr{t: l.t, i: func(fr *frame) int { return a(fr) * b(fr) }}, nil
			}
		}
		if !isNum(l.t.k) || !isNum(r.t.k) {
			return cexpr{}, errUnsupported
		}
		a, _ := asFloat(l)
		b, _ := asFloat(r)
		t := ftype{k: fFloat}
		switch n.Operator {
		case "+":
			return cexpr{t: t, f: func(fr *frame) float64 { return a(fr) + b(fr) }}, nil
		case "-":
			return cexpr{t: t, f: func(fr *frame) float64 { return a(fr) - b(fr) }}, nil
		default:
			return cexpr{t: t, f: func(fr *frame) float64 { return a(fr) * b(fr) }}, nil
		}
	case "/":
		if !isNum(l.t.k) || !isNum(r.t.k) {
			return cexpr{}, errUnsupported
		}
		a, _ := asFloat(l)
		b, _ := asFloat(r)
		return cexpr{t: ftype{k: fFloat}, f: func(fr *frame) float64 { return a(fr) / b(fr) }}, nil
	case "%":
		if l.t.k != fInt || r.t.k != fInt {
			return cexpr{}, errUnsupported
		}
		a, b := l.i, r.i
		return cexpr{t: l.t, i: func(fr *frame) int {
			d := b(fr)
			if d == 0 {
				panic(fastPanic{"integer divide by zero"})
			}
			return a(fr) % d
		}}, nil
	case "contains", "startsWith", "endsWith":
		if l.t.k != fString || r.t.k != fString {
			return cexpr{}, errUnsupported
		}
		a, b := l.s, r.s
		var fn func(string, string) bool
		switch n.Operator {
		case "contains":
			fn = strings.Contains
		case "startsWith":
			fn = strings.HasPrefix
		default:
			fn = strings.HasSuffix
		}
		return cexpr{t: boolT, b: func(fr *frame) bool { return fn(a(fr), b(fr)) }}, nil
	}
	return cexpr{}, errUnsupported
}

func compareFn[T int | float64 | string](op string, a, b func(*frame) T) func(*frame) bool {
	switch op {
	case "<":
		return func(fr *frame) bool { return a(fr) < b(fr) }
	case "<=":
		return func(fr *frame) bool { return a(fr) <= b(fr) }
	case ">":
		return func(fr *frame) bool { return a(fr) > b(fr) }
	default:
		return func(fr *frame) bool { return a(fr) >= b(fr) }
	}
}

// in compiles `x in list` for a string or int x.
func (fc *fastCompiler) in(n *ast.BinaryNode) (cexpr, error) {
	x, err := fc.compile(n.Left)
	if err != nil {
		return cexpr{}, err
	}
	boolT := ftype{k: fBool}
	if c, ok := n.Right.(*ast.ConstantNode); ok {
		switch set := c.Value.(type) {
		case map[string]struct{}:
			if x.t.k != fString {
				return cexpr{}, errUnsupported
			}
			s := x.s
			return cexpr{t: boolT, b: func(fr *frame) bool { _, ok := set[s(fr)]; return ok }}, nil
		case map[int]struct{}:
			if x.t.k != fInt {
				return cexpr{}, errUnsupported
			}
			i := x.i
			return cexpr{t: boolT, b: func(fr *frame) bool { _, ok := set[i(fr)]; return ok }}, nil
		}
		return cexpr{}, errUnsupported
	}
	if a, ok := n.Right.(*ast.ArrayNode); ok {
		var items []cexpr
		for _, e := range a.Nodes {
			c, err := fc.compile(e)
			if err != nil || c.t.k != x.t.k || (c.t.k != fString && c.t.k != fInt) {
				return cexpr{}, errUnsupported
			}
			items = append(items, c)
		}
		if x.t.k == fString {
			s := x.s
			return cexpr{t: boolT, b: func(fr *frame) bool {
				v := s(fr)
				for _, it := range items {
					if it.s(fr) == v {
						return true
					}
				}
				return false
			}}, nil
		}
		i := x.i
		return cexpr{t: boolT, b: func(fr *frame) bool {
			v := i(fr)
			for _, it := range items {
				if it.i(fr) == v {
					return true
				}
			}
			return false
		}}, nil
	}
	lst, err := fc.compile(n.Right)
	if err != nil || lst.t.k != fList {
		return cexpr{}, errUnsupported
	}
	l := lst.l
	switch {
	case x.t.k == fString && lst.t.elem.Kind() == reflect.String:
		s := x.s
		return cexpr{t: boolT, b: func(fr *frame) bool {
			v, ls := s(fr), l(fr)
			for i, n := 0, ls.Len(); i < n; i++ {
				if ls.v.Index(ls.base(i)).String() == v {
					return true
				}
			}
			return false
		}}, nil
	case x.t.k == fInt && lst.t.elem.Kind() == reflect.Int:
		iv := x.i
		return cexpr{t: boolT, b: func(fr *frame) bool {
			v, ls := iv(fr), l(fr)
			for i, n := 0, ls.Len(); i < n; i++ {
				if int(ls.v.Index(ls.base(i)).Int()) == v {
					return true
				}
			}
			return false
		}}, nil
	}
	return cexpr{}, errUnsupported
}

func (fc *fastCompiler) conditional(n *ast.ConditionalNode) (cexpr, error) {
	cond, err := fc.compileBool(n.Cond)
	if err != nil {
		return cexpr{}, err
	}
	a, err := fc.compile(n.Exp1)
	if err != nil {
		return cexpr{}, err
	}
	b, err := fc.compile(n.Exp2)
	if err != nil {
		return cexpr{}, err
	}
	if a.t.k != b.t.k {
		// Mixed int and float: expr keeps each branch's own type, which
		// typed closures cannot.
		return cexpr{}, errUnsupported
	}
	switch a.t.k {
	case fBool:
		return cexpr{t: a.t, b: pick(cond, a.b, b.b)}, nil
	case fInt:
		return cexpr{t: a.t, i: pick(cond, a.i, b.i)}, nil
	case fFloat:
		return cexpr{t: a.t, f: pick(cond, a.f, b.f)}, nil
	case fString:
		return cexpr{t: a.t, s: pick(cond, a.s, b.s)}, nil
	}
	return cexpr{}, errUnsupported
}

// pick is cond ? x : y, evaluating only the branch taken.
func pick[T any](cond func(*frame) bool, x, y func(*frame) T) func(*frame) T {
	return func(fr *frame) T {
		if cond(fr) {
			return x(fr)
		}
		return y(fr)
	}
}
