package engine

// The fast path's builtins and function calls.

import (
	"math"
	"reflect"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
)

// predicate compiles the body of a closure over the elements of lst. The
// body is counted (limitPatcher wrapped it in a _tick); the loops that run
// it call frame.tick once per run, as the VM does.
func (fc *fastCompiler) predicate(lst cexpr, node ast.Node) (cexpr, int, error) {
	p, ok := node.(*ast.PredicateNode)
	if !ok || !isTick(p.Node) {
		return cexpr{}, 0, errUnsupported
	}
	body := p.Node.(*ast.VariableDeclaratorNode).Expr
	d := fc.depth
	fc.elems = append(fc.elems[:d], lst.t)
	fc.depth++
	if fc.depth > fc.p.depth {
		fc.p.depth = fc.depth
	}
	c, err := fc.compile(body)
	fc.depth--
	return c, d, err
}

func (fc *fastCompiler) builtin(n *ast.BuiltinNode) (cexpr, error) {
	if n.Map != nil {
		return cexpr{}, errUnsupported
	}
	args := n.Arguments
	intT, boolT := ftype{k: fInt}, ftype{k: fBool}
	switch n.Name {
	case "len":
		if len(args) != 1 {
			return cexpr{}, errUnsupported
		}
		x, err := fc.compile(args[0])
		if err != nil {
			return cexpr{}, err
		}
		switch x.t.k {
		case fList:
			l := x.l
			return cexpr{t: intT, i: func(fr *frame) int { return l(fr).Len() }}, nil
		case fString:
			s := x.s
			return cexpr{t: intT, i: func(fr *frame) int { return utf8.RuneCountInString(s(fr)) }}, nil
		}
		return cexpr{}, errUnsupported
	case "filter", "any", "all", "none", "one", "count", "sum":
		if len(args) == 0 || len(args) > 2 {
			return cexpr{}, errUnsupported
		}
		lst, err := fc.compile(args[0])
		if err != nil {
			return cexpr{}, err
		}
		if lst.t.k != fList {
			return cexpr{}, errUnsupported
		}
		if n.Name == "sum" {
			return fc.sum(lst, args)
		}
		if len(args) != 2 {
			return cexpr{}, errUnsupported
		}
		body, d, err := fc.predicate(lst, args[1])
		if err != nil {
			return cexpr{}, err
		}
		if body.t.k != fBool {
			return cexpr{}, errUnsupported
		}
		pred, l := body.b, lst.l
		switch n.Name {
		case "filter":
			k := fc.p.bufs
			fc.p.bufs++
			return cexpr{t: lst.t, l: func(fr *frame) list {
				src := l(fr)
				buf := fr.bufs[k][:0]
				for i, n := 0, src.Len(); i < n; i++ {
					bi := src.base(i)
					fr.ptr[d] = src.v.Index(bi)
					fr.tick()
					if pred(fr) {
						buf = append(buf, int32(bi))
					}
				}
				fr.bufs[k] = buf
				return list{v: src.v, idx: buf, sub: true}
			}}, nil
		case "count":
			return cexpr{t: intT, i: func(fr *frame) int {
				src, c := l(fr), 0
				for i, n := 0, src.Len(); i < n; i++ {
					fr.ptr[d] = src.v.Index(src.base(i))
					fr.tick()
					if pred(fr) {
						c++
					}
				}
				return c
			}}, nil
		case "one":
			return cexpr{t: boolT, b: func(fr *frame) bool {
				src, c := l(fr), 0
				for i, n := 0, src.Len(); i < n; i++ {
					fr.ptr[d] = src.v.Index(src.base(i))
					fr.tick()
					if pred(fr) {
						c++
						if c > 1 {
							return false
						}
					}
				}
				return c == 1
			}}, nil
		}
		// any, all, none: stop at the first element that decides.
		stopOn, result := true, true // any: stop on true, result true
		switch n.Name {
		case "all":
			stopOn, result = false, false
		case "none":
			stopOn, result = true, false
		}
		return cexpr{t: boolT, b: func(fr *frame) bool {
			src := l(fr)
			for i, n := 0, src.Len(); i < n; i++ {
				fr.ptr[d] = src.v.Index(src.base(i))
				fr.tick()
				if pred(fr) == stopOn {
					return result
				}
			}
			return !result
		}}, nil
	case "abs":
		if len(args) != 1 {
			return cexpr{}, errUnsupported
		}
		x, err := fc.compile(args[0])
		if err != nil {
			return cexpr{}, err
		}
		switch x.t.k {
		case fInt:
			i := x.i
			return cexpr{t: x.t, i: func(fr *frame) int {
				if v := i(fr); v < 0 {
					return -v
				} else {
					return v
				}
			}}, nil
		case fFloat:
			f := x.f
			return cexpr{t: x.t, f: func(fr *frame) float64 { return math.Abs(f(fr)) }}, nil
		}
		return cexpr{}, errUnsupported
	case "max", "min":
		if len(args) < 2 {
			return cexpr{}, errUnsupported
		}
		var xs []cexpr
		for _, a := range args {
			x, err := fc.compile(a)
			if err != nil {
				return cexpr{}, err
			}
			xs = append(xs, x)
		}
		isMax := n.Name == "max"
		switch k := xs[0].t.k; k {
		case fInt, fFloat:
			for _, x := range xs {
				if x.t.k != k {
					return cexpr{}, errUnsupported
				}
			}
			if k == fInt {
				return cexpr{t: intT, i: func(fr *frame) int {
					m := xs[0].i(fr)
					for _, x := range xs[1:] {
						// As expr: max takes v when m < v, min when m > v.
						if v := x.i(fr); (isMax && m < v) || (!isMax && m > v) {
							m = v
						}
					}
					return m
				}}, nil
			}
			return cexpr{t: ftype{k: fFloat}, f: func(fr *frame) float64 {
				m := xs[0].f(fr)
				for _, x := range xs[1:] {
					if v := x.f(fr); (isMax && m < v) || (!isMax && m > v) {
						m = v
					}
				}
				return m
			}}, nil
		}
	}
	return cexpr{}, errUnsupported
}

func (fc *fastCompiler) sum(lst cexpr, args []ast.Node) (cexpr, error) {
	var item cexpr
	var d int
	counted := len(args) == 2
	if counted {
		var err error
		if item, d, err = fc.predicate(lst, args[1]); err != nil {
			return cexpr{}, err
		}
	} else {
		// sum(list) of numbers: the element itself.
		d = fc.depth
		var err error
		if item, err = fromValue(lst.t.elem, func(fr *frame) reflect.Value { return fr.ptr[d] }); err != nil {
			return cexpr{}, err
		}
		if fc.depth+1 > fc.p.depth {
			fc.p.depth = fc.depth + 1
		}
	}
	l := lst.l
	switch item.t.k {
	case fInt:
		it := item.i
		return cexpr{t: item.t, i: func(fr *frame) int {
			src, s := l(fr), 0
			for i, n := 0, src.Len(); i < n; i++ {
				fr.ptr[d] = src.v.Index(src.base(i))
				if counted {
					fr.tick()
				}
				s += it(fr)
			}
			return s
		}}, nil
	case fFloat:
		it := item.f
		return cexpr{t: item.t, f: func(fr *frame) float64 {
			src, s := l(fr), 0.0
			for i, n := 0, src.Len(); i < n; i++ {
				fr.ptr[d] = src.v.Index(src.base(i))
				if counted {
					fr.tick()
				}
				s += it(fr)
			}
			return s
		}}, nil
	}
	return cexpr{}, errUnsupported
}

func (fc *fastCompiler) call(n *ast.CallNode) (cexpr, error) {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		return cexpr{}, errUnsupported
	}
	if id.Value == "_cat" {
		return fc.cat(n)
	}
	if id.Value == "_find" {
		return fc.find(n)
	}
	var args []func(*frame) string
	for _, a := range n.Arguments {
		c, err := fc.compile(a)
		if err != nil {
			return cexpr{}, err
		}
		if c.t.k != fString {
			return cexpr{}, errUnsupported
		}
		args = append(args, c.s)
	}
	intT := ftype{k: fInt}
	switch {
	case id.Value == "year" && len(args) == 1:
		a := args[0]
		return cexpr{t: intT, i: func(fr *frame) int { y, _, _ := fastDate("year", a(fr)); return y }}, nil
	case id.Value == "month" && len(args) == 1:
		a := args[0]
		return cexpr{t: intT, i: func(fr *frame) int { _, m, _ := fastDate("month", a(fr)); return m }}, nil
	case id.Value == "days" && len(args) == 2:
		a, b := args[0], args[1]
		return cexpr{t: intT, i: func(fr *frame) int {
			s1, s2 := a(fr), b(fr)
			if s1 == "" || s2 == "" {
				panic(fastPanic{"days: a date is empty"})
			}
			y1, m1, d1 := fastDate("days", s1)
			y2, m2, d2 := fastDate("days", s2)
			return dayNumber(y2, m2, d2) - dayNumber(y1, m1, d1)
		}}, nil
	}
	return cexpr{}, errUnsupported
}

// cat compiles _cat(_budget, a, b) of two strings: bounded concatenation,
// charged as fnCat charges it.
func (fc *fastCompiler) cat(n *ast.CallNode) (cexpr, error) {
	if len(n.Arguments) != 3 {
		return cexpr{}, errUnsupported
	}
	if b, ok := n.Arguments[0].(*ast.IdentifierNode); !ok || b.Value != "_budget" {
		return cexpr{}, errUnsupported
	}
	l, err := fc.compile(n.Arguments[1])
	if err != nil {
		return cexpr{}, err
	}
	r, err := fc.compile(n.Arguments[2])
	if err != nil {
		return cexpr{}, err
	}
	if l.t.k != fString || r.t.k != fString {
		return cexpr{}, errUnsupported
	}
	a, b := l.s, r.s
	return cexpr{t: ftype{k: fString}, s: func(fr *frame) string {
		x, y := a(fr), b(fr)
		n := len(x) + len(y)
		if n > MaxStringLen {
			panic(fastPanic{"string too long"})
		}
		fr.work += stringCost(n)
		if fr.work > MaxWork {
			panic(fastPanic{"work budget exceeded"})
		}
		return x + y
	}}, nil
}

// find compiles _find(_budget, s): a searched string, charged as fnFind
// charges it.
func (fc *fastCompiler) find(n *ast.CallNode) (cexpr, error) {
	if len(n.Arguments) != 2 {
		return cexpr{}, errUnsupported
	}
	if b, ok := n.Arguments[0].(*ast.IdentifierNode); !ok || b.Value != "_budget" {
		return cexpr{}, errUnsupported
	}
	c, err := fc.compile(n.Arguments[1])
	if err != nil {
		return cexpr{}, err
	}
	if c.t.k != fString {
		return cexpr{}, errUnsupported
	}
	a := c.s
	return cexpr{t: ftype{k: fString}, s: func(fr *frame) string {
		x := a(fr)
		fr.work += stringCost(len(x))
		if fr.work > MaxWork {
			panic(fastPanic{"work budget exceeded"})
		}
		return x
	}}, nil
}
