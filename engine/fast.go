package engine

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

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
