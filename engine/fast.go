package engine

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
)

// The fast path: the checked expression trees of a rule set compiled into
// typed Go closures that read the facts through reflect.Value without
// boxing, so an evaluation allocates almost nothing. It covers the part of
// expr that rule sets use (literals, arithmetic, comparisons, and/or/not,
// ternaries, field and index access, in, len, filter, any, all, none, one,
// count, sum, abs, min, max, the date functions, and string + as the
// bounded _cat of limits.go, with the VM's work count). A rule set that uses
// anything else runs on expr's VM only; evidence always runs on the VM,
// and so does any evaluation that fails at run time, so that errors carry
// expr's exact message and position. Differential tests keep the two paths
// equal (fast_test.go).

// errUnsupported marks an expression the fast path does not compile.
var errUnsupported = errors.New("not supported by the fast path")

type fkind uint8

const (
	fBool fkind = iota + 1
	fInt
	fFloat
	fString
	fStruct
	fList
)

// ftype is the static type of a compiled expression. For fList, elem is
// the element type; for fStruct, rt is the struct type.
type ftype struct {
	k    fkind
	rt   reflect.Type
	elem reflect.Type
}

// reflectType is the Go type of values of t, or nil.
func (t ftype) reflectType() reflect.Type {
	switch t.k {
	case fBool:
		return reflect.TypeFor[bool]()
	case fInt:
		return reflect.TypeFor[int]()
	case fFloat:
		return reflect.TypeFor[float64]()
	case fString:
		return reflect.TypeFor[string]()
	case fStruct:
		return t.rt
	case fList:
		return reflect.SliceOf(t.elem)
	}
	return nil
}

// cexpr is one compiled expression: exactly one of the functions is set,
// by t.k (fList uses l, fStruct uses r).
type cexpr struct {
	t ftype
	b func(*frame) bool
	i func(*frame) int
	f func(*frame) float64
	s func(*frame) string
	r func(*frame) reflect.Value
	l func(*frame) list
}

// list is a sequence of elements of a slice: all of them, or a subset
// (a filter result) given by their indices.
type list struct {
	v   reflect.Value
	idx []int32
	sub bool
}

func (l list) Len() int {
	if l.sub {
		return len(l.idx)
	}
	if !l.v.IsValid() {
		return 0
	}
	return l.v.Len()
}

// base returns the index in the underlying slice of element i.
func (l list) base(i int) int {
	if l.sub {
		return int(l.idx[i])
	}
	return i
}

// fastPanic is a run-time failure in the fast path; Evaluate then re-runs
// the employer on the VM for the exact error.
type fastPanic struct{ msg string }

// frame is the per-evaluation state of the fast path. Frames are pooled.
type frame struct {
	fv     reflect.Value   // the facts (addressable struct)
	ptr    []reflect.Value // current element per predicate depth
	bools  []bool
	ints   []int
	floats []float64
	strs   []string
	refs   []reflect.Value
	lists  []list
	bufs   [][]int32 // filter result buffers, one per filter node
	fired  []bool
	points []float64
	awards []bool
	grade  string
	score  float64
	work   int // work units spent, as the VM counts them (see MaxWork)
}

// tick counts one evaluation of a closure body, as _tick does on the VM.
func (fr *frame) tick() {
	fr.work++
	if fr.work > MaxWork {
		panic(fastPanic{"work budget exceeded"})
	}
}

// fastProgram is a rule set compiled for the fast path.
type fastProgram struct {
	lets   []fastLet
	whens  []func(*frame) bool
	points []func(*frame) float64 // nil for constant points
	awards []func(*frame) bool
	slots  [6]int // slot counts by kind-1 (bool, int, float, string, struct, list)
	bufs   int
	depth  int
	frames sync.Pool
}

type fastLet struct {
	slot int
	c    cexpr
}

// fastCompiler compiles expression trees for one rule set.
type fastCompiler struct {
	p     *fastProgram
	lets  map[string]fastLet
	depth int     // current predicate depth
	elems []ftype // element type per predicate depth
	facts reflect.Type
}

func newFastCompiler() *fastCompiler {
	return &fastCompiler{p: &fastProgram{}, lets: map[string]fastLet{}, facts: reflect.TypeFor[Facts]()}
}

func (fc *fastCompiler) addLet(name string, node ast.Node) error {
	c, err := fc.compile(node)
	if err != nil {
		return err
	}
	k := int(c.t.k) - 1
	l := fastLet{slot: fc.p.slots[k], c: c}
	fc.p.slots[k]++
	fc.p.lets = append(fc.p.lets, l)
	fc.lets[name] = l
	return nil
}

func (fc *fastCompiler) compileBool(node ast.Node) (func(*frame) bool, error) {
	c, err := fc.compile(node)
	if err != nil {
		return nil, err
	}
	if c.t.k != fBool {
		return nil, errUnsupported
	}
	return c.b, nil
}

func (fc *fastCompiler) compileFloat(node ast.Node) (func(*frame) float64, error) {
	c, err := fc.compile(node)
	if err != nil {
		return nil, err
	}
	return asFloat(c)
}

func asFloat(c cexpr) (func(*frame) float64, error) {
	switch c.t.k {
	case fFloat:
		return c.f, nil
	case fInt:
		i := c.i
		return func(fr *frame) float64 { return float64(i(fr)) }, nil
	}
	return nil, errUnsupported
}

// fromValue makes typed accessors for a value read by reflection.
func fromValue(t reflect.Type, get func(*frame) reflect.Value) (cexpr, error) {
	switch t.Kind() {
	case reflect.Bool:
		return cexpr{t: ftype{k: fBool}, b: func(fr *frame) bool { return get(fr).Bool() }}, nil
	case reflect.Int, reflect.Int64, reflect.Int32:
		return cexpr{t: ftype{k: fInt}, i: func(fr *frame) int { return int(get(fr).Int()) }}, nil
	case reflect.Float64:
		return cexpr{t: ftype{k: fFloat}, f: func(fr *frame) float64 { return get(fr).Float() }}, nil
	case reflect.String:
		return cexpr{t: ftype{k: fString}, s: func(fr *frame) string { return get(fr).String() }}, nil
	case reflect.Struct:
		return cexpr{t: ftype{k: fStruct, rt: t}, r: get}, nil
	case reflect.Slice:
		return cexpr{t: ftype{k: fList, elem: t.Elem()}, l: func(fr *frame) list { return list{v: get(fr)} }}, nil
	}
	return cexpr{}, errUnsupported
}

// fieldIndex finds a struct field by its expr tag (or Go name).
func fieldIndex(t reflect.Type, name string) (int, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Tag.Get("expr") == name || (f.Tag.Get("expr") == "" && f.Name == name) {
			return i, true
		}
	}
	return 0, false
}

func (fc *fastCompiler) compile(node ast.Node) (cexpr, error) {
	switch n := node.(type) {
	case *ast.BoolNode:
		v := n.Value
		return cexpr{t: ftype{k: fBool}, b: func(*frame) bool { return v }}, nil
	case *ast.IntegerNode:
		v := n.Value
		return cexpr{t: ftype{k: fInt}, i: func(*frame) int { return v }}, nil
	case *ast.FloatNode:
		v := n.Value
		return cexpr{t: ftype{k: fFloat}, f: func(*frame) float64 { return v }}, nil
	case *ast.StringNode:
		v := n.Value
		return cexpr{t: ftype{k: fString}, s: func(*frame) string { return v }}, nil
	case *ast.ConstantNode:
		switch v := n.Value.(type) {
		case bool:
			return cexpr{t: ftype{k: fBool}, b: func(*frame) bool { return v }}, nil
		case int:
			return cexpr{t: ftype{k: fInt}, i: func(*frame) int { return v }}, nil
		case float64:
			return cexpr{t: ftype{k: fFloat}, f: func(*frame) float64 { return v }}, nil
		case string:
			return cexpr{t: ftype{k: fString}, s: func(*frame) string { return v }}, nil
		}
		return cexpr{}, errUnsupported
	case *ast.IdentifierNode:
		return fc.identifier(n.Value)
	case *ast.PointerNode:
		if n.Name != "" || fc.depth == 0 {
			return cexpr{}, errUnsupported
		}
		d := fc.depth - 1
		return fromValue(fc.elems[d].elem, func(fr *frame) reflect.Value { return fr.ptr[d] })
	case *ast.MemberNode:
		return fc.member(n)
	case *ast.UnaryNode:
		return fc.unary(n)
	case *ast.BinaryNode:
		return fc.binary(n)
	case *ast.ConditionalNode:
		return fc.conditional(n)
	case *ast.BuiltinNode:
		return fc.builtin(n)
	case *ast.CallNode:
		return fc.call(n)
	}
	return cexpr{}, errUnsupported
}

func (fc *fastCompiler) identifier(name string) (cexpr, error) {
	if l, ok := fc.lets[name]; ok {
		s := l.slot
		switch l.c.t.k {
		case fBool:
			return cexpr{t: l.c.t, b: func(fr *frame) bool { return fr.bools[s] }}, nil
		case fInt:
			return cexpr{t: l.c.t, i: func(fr *frame) int { return fr.ints[s] }}, nil
		case fFloat:
			return cexpr{t: l.c.t, f: func(fr *frame) float64 { return fr.floats[s] }}, nil
		case fString:
			return cexpr{t: l.c.t, s: func(fr *frame) string { return fr.strs[s] }}, nil
		case fStruct:
			return cexpr{t: l.c.t, r: func(fr *frame) reflect.Value { return fr.refs[s] }}, nil
		case fList:
			return cexpr{t: l.c.t, l: func(fr *frame) list { return fr.lists[s] }}, nil
		}
	}
	switch name {
	case "grade":
		return cexpr{t: ftype{k: fString}, s: func(fr *frame) string { return fr.grade }}, nil
	case "score":
		return cexpr{t: ftype{k: fFloat}, f: func(fr *frame) float64 { return fr.score }}, nil
	}
	i, ok := fieldIndex(fc.facts, name)
	if !ok {
		return cexpr{}, errUnsupported
	}
	return fromValue(fc.facts.Field(i).Type, func(fr *frame) reflect.Value { return fr.fv.Field(i) })
}

func (fc *fastCompiler) member(n *ast.MemberNode) (cexpr, error) {
	if n.Optional || n.Method {
		return cexpr{}, errUnsupported
	}
	obj, err := fc.compile(n.Node)
	if err != nil {
		return cexpr{}, err
	}
	switch obj.t.k {
	case fStruct:
		prop, ok := n.Property.(*ast.StringNode)
		if !ok {
			return cexpr{}, errUnsupported
		}
		i, ok := fieldIndex(obj.t.rt, prop.Value)
		if !ok {
			return cexpr{}, errUnsupported
		}
		get := obj.r
		return fromValue(obj.t.rt.Field(i).Type, func(fr *frame) reflect.Value { return get(fr).Field(i) })
	case fList:
		idx, err := fc.compile(n.Property)
		if err != nil || idx.t.k != fInt {
			return cexpr{}, errUnsupported
		}
		l, ix := obj.l, idx.i
		return fromValue(obj.t.elem, func(fr *frame) reflect.Value {
			lst := l(fr)
			n, i := lst.Len(), ix(fr)
			if i < 0 {
				i += n
			}
			if i < 0 || i >= n {
				panic(fastPanic{fmt.Sprintf("index out of range: %d (array length is %d)", i, n)})
			}
			return lst.v.Index(lst.base(i))
		})
	}
	return cexpr{}, errUnsupported
}

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

// fastDate parses a date for the date functions; "" is year 0.
func fastDate(fn, s string) (y, m, d int) {
	if s == "" {
		return 0, 0, 0
	}
	y, m, d, ok := parseDate(s)
	if !ok {
		panic(fastPanic{fn + ": not a date"})
	}
	return y, m, d
}

// newFrame makes a frame sized for the program.
func (p *fastProgram) newFrame() *frame {
	return &frame{
		ptr:    make([]reflect.Value, p.depth),
		bools:  make([]bool, p.slots[fBool-1]),
		ints:   make([]int, p.slots[fInt-1]),
		floats: make([]float64, p.slots[fFloat-1]),
		strs:   make([]string, p.slots[fString-1]),
		refs:   make([]reflect.Value, p.slots[fStruct-1]),
		lists:  make([]list, p.slots[fList-1]),
		bufs:   make([][]int32, p.bufs),
		fired:  make([]bool, len(p.whens)),
		points: make([]float64, len(p.whens)),
		awards: make([]bool, len(p.awards)),
	}
}

// run evaluates lets and rules into the frame. ok is false when an
// expression failed at run time (the caller falls back to the VM).
func (p *fastProgram) run(fr *frame, f *Facts, rs *RuleSet) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			ok = false
		}
	}()
	fr.fv = reflect.ValueOf(f).Elem()
	fr.work = 0
	for _, l := range p.lets {
		switch l.c.t.k {
		case fBool:
			fr.bools[l.slot] = l.c.b(fr)
		case fInt:
			fr.ints[l.slot] = l.c.i(fr)
		case fFloat:
			fr.floats[l.slot] = l.c.f(fr)
		case fString:
			fr.strs[l.slot] = l.c.s(fr)
		case fStruct:
			fr.refs[l.slot] = l.c.r(fr)
		case fList:
			fr.lists[l.slot] = l.c.l(fr)
		}
	}
	score := 0.0
	if rs.score != nil {
		score = rs.score.Base
	}
	worst := rs.GradeRank(rs.DefaultGrade)
	for i, w := range p.whens {
		fired := w(fr)
		fr.fired[i] = fired
		fr.points[i] = 0
		if !fired {
			continue
		}
		r := rs.rules[i]
		pts := r.Points
		if p.points[i] != nil {
			pts = p.points[i](fr)
		}
		fr.points[i] = pts
		score += pts
		if r.Cap != "" {
			worst = max(worst, rs.GradeRank(r.Cap))
		}
	}
	if rs.score != nil {
		band := len(rs.Grades) - 1
		for _, b := range rs.score.Bands {
			if score >= b.Min {
				band = rs.GradeRank(b.Grade)
				break
			}
		}
		worst = max(worst, band)
	}
	fr.score = score
	fr.grade = rs.Grades[worst]
	for i, a := range p.awards {
		fr.awards[i] = a(fr)
	}
	return true
}

// release drops references to the facts before the frame is pooled.
func (fr *frame) release() {
	fr.fv = reflect.Value{}
	clear(fr.ptr)
	clear(fr.refs)
	clear(fr.lists)
	clear(fr.strs)
}
