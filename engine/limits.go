package engine

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm/runtime"
)

// Limits on what one evaluation of a rule set may build and do, so that no
// rule set, however hostile, can exhaust the memory of the process or
// hold a CPU for long. They are checked at run time, on the fast path and
// on expr's VM alike; a rule that breaks one fails with an error wrapping
// ErrLimit and a *RuleError naming the rule.
const (
	// MaxStringLen is the longest string, in bytes, that an expression may
	// build (with +, repeat, join, replace, string, …): 64 KiB.
	MaxStringLen = 64 << 10
	// MaxWork is the work budget of one evaluation (one employer under
	// one rule set): one unit per evaluation of a closure body (the
	// {…} of filter, map, any, reduce, …) and one per 64 bytes of string
	// that an expression builds: 1,000,000 units, about a tenth of a
	// second on expr's VM. The national rule set on the largest facts
	// decoding allows spends some tens of thousands.
	MaxWork = 1_000_000
	// MaxMemory is expr's memory budget of one evaluation on the VM: the
	// total number of elements of the ranges, arrays and maps it builds
	// (1,000,000, expr's default, made explicit).
	MaxMemory = 1_000_000
)

// ErrLimit marks an evaluation stopped by one of the limits above.
var ErrLimit = errors.New("rule set limit exceeded")

// budget is the work done so far in one evaluation on the VM; expressions
// reach it as the hidden identifier _budget.
type budget struct{ work int }

// vmEnv is the environment of the VM programs: the facts and the budget.
type vmEnv struct {
	Facts
	Budget *budget `expr:"_budget"`
}

func workExceeded() error {
	return fmt.Errorf("%w: work budget exceeded: more than %d steps in one evaluation (MaxWork)", ErrLimit, MaxWork)
}

func stringTooLong(n int) error {
	return fmt.Errorf("%w: a string of %d bytes is longer than the limit of %d (MaxStringLen)", ErrLimit, n, MaxStringLen)
}

func (b *budget) charge(n int) error {
	b.work += n
	if b.work > MaxWork {
		return workExceeded()
	}
	return nil
}

// stringCost is the work units of building a string of n bytes.
func stringCost(n int) int { return 1 + n/64 }

func argBudget(v any) *budget {
	if b, ok := v.(*budget); ok && b != nil {
		return b
	}
	// Called without the hidden budget (cannot happen in a program the
	// engine compiled): a budget of its own still bounds the call.
	return &budget{}
}

// fnTick counts one evaluation of a closure body.
func fnTick(args ...any) (any, error) {
	return true, argBudget(args[0]).charge(1)
}

// fnCat is the + operator for anything but two numbers: bounded string
// concatenation, and expr's own + for the rest.
func fnCat(args ...any) (any, error) {
	b := argBudget(args[0])
	x, y := args[1], args[2]
	if s, ok := x.(string); ok {
		if t, ok := y.(string); ok {
			n := len(s) + len(t)
			if n > MaxStringLen {
				return nil, stringTooLong(n)
			}
			if err := b.charge(stringCost(n)); err != nil {
				return nil, err
			}
			return s + t, nil
		}
	}
	return runtime.Add(x, y), nil
}

func fnRepeat(args ...any) (any, error) {
	s, _ := args[0].(string)
	n := runtime.ToInt(args[1])
	if n < 0 {
		return nil, fmt.Errorf("invalid argument for repeat (expected positive integer, got %d)", n)
	}
	if len(s) > 0 && n > MaxStringLen/len(s) {
		return nil, fmt.Errorf("%w: repeat would build a string of more than %d bytes (MaxStringLen)", ErrLimit, MaxStringLen)
	}
	return strings.Repeat(s, n), nil
}

func fnJoin(args ...any) (any, error) {
	glue := ""
	if len(args) == 2 {
		g, ok := args[1].(string)
		if !ok {
			return nil, fmt.Errorf("join: want a string separator, got %T", args[1])
		}
		glue = g
	}
	var parts []string
	switch l := args[0].(type) {
	case []string:
		parts = l
	case []any:
		parts = make([]string, len(l))
		for i, v := range l {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("join: item %d is %T, want a string", i, v)
			}
			parts[i] = s
		}
	default:
		return nil, fmt.Errorf("join: want a list of strings, got %T", args[0])
	}
	n := len(glue) * max(len(parts)-1, 0)
	for _, p := range parts {
		n += len(p)
		if n > MaxStringLen {
			return nil, stringTooLong(n)
		}
	}
	if n > MaxStringLen {
		return nil, stringTooLong(n)
	}
	return strings.Join(parts, glue), nil
}

func fnReplace(args ...any) (any, error) {
	s, ok1 := args[0].(string)
	old, ok2 := args[1].(string)
	repl, ok3 := args[2].(string)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("replace: want three strings")
	}
	count := utf8.RuneCountInString(s) + 1
	if old != "" {
		count = strings.Count(s, old)
	}
	if n := len(s) + count*(len(repl)-len(old)); count > 0 && (len(repl) > MaxStringLen || n > MaxStringLen) {
		return nil, fmt.Errorf("%w: replace would build a string of more than %d bytes (MaxStringLen)", ErrLimit, MaxStringLen)
	}
	return strings.ReplaceAll(s, old, repl), nil
}

// fnString is expr's string() for single values; a list or a map could
// print to any size, so it is refused.
func fnString(args ...any) (any, error) {
	switch reflect.ValueOf(args[0]).Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Struct, reflect.Pointer, reflect.Interface:
		return nil, fmt.Errorf("%w: string() takes a number, a string or a bool, got %T", ErrLimit, args[0])
	}
	return builtin.String(args[0]), nil
}

// fnCharge charges the work of a value that a builtin has just built (a
// string by its bytes, a list by its items and their bytes) and returns
// it: each call is bounded by MaxStringLen, but a closure may call it
// hundreds of thousands of times and keep every result (map), so one
// unit per 16 bytes bounds what one evaluation holds to 16 MiB.
func fnCharge(args ...any) (any, error) {
	b := argBudget(args[0])
	cost := 1
	switch v := args[1].(type) {
	case string:
		cost += len(v) / 16
	case []string:
		cost += len(v)
		for _, s := range v {
			cost += len(s) / 16
		}
	default:
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map {
			cost += rv.Len()
		}
	}
	if err := b.charge(cost); err != nil {
		return nil, err
	}
	return args[1], nil
}

// fnScan charges the work of matching a string against a regular
// expression, or of compiling one that is built at run time: one unit per
// byte (a match of 60 KB took 5 ms, and an expression of 7.5 KB 3 ms to
// compile), and returns the string.
func fnScan(args ...any) (any, error) {
	s, _ := args[1].(string)
	if err := argBudget(args[0]).charge(1 + len(s)); err != nil {
		return nil, err
	}
	return s, nil
}

// fnFind charges the work of searching a string (contains, startsWith,
// indexOf, …): one unit per 64 bytes, as building it costs, and returns
// it. A search of 60 KB took 7 to 12 µs, a hundred ticks.
func fnFind(args ...any) (any, error) {
	s, _ := args[1].(string)
	if err := argBudget(args[0]).charge(stringCost(len(s))); err != nil {
		return nil, err
	}
	return s, nil
}

// searchBuiltins are the builtins that search their first argument.
var searchBuiltins = map[string]bool{"indexOf": true, "lastIndexOf": true, "hasPrefix": true, "hasSuffix": true}

// chargedBuiltins are the builtins whose result the engine charges to the
// work budget with _charge: those that build a string or a list.
var chargedBuiltins = map[string]bool{
	"repeat": true, "join": true, "replace": true,
	"trim": true, "trimPrefix": true, "trimSuffix": true, "upper": true, "lower": true,
	"split": true, "splitAfter": true, "sort": true, "reverse": true, "uniq": true,
	"take": true, "keys": true, "values": true, "toPairs": true, "fromPairs": true,
}

// disabledBuiltins are expr builtins that rule sets may not use: they read
// the clock or the disk (now, date, timezone), or build values whose size
// nothing bounds before they are built (concat, flatten, toJSON, …).
var disabledBuiltins = []string{"now", "date", "timezone", "concat", "flatten", "toJSON", "fromJSON", "toBase64", "fromBase64"}

func limitOptions() []expr.Option {
	opts := make([]expr.Option, 0, len(disabledBuiltins)+8)
	for _, name := range disabledBuiltins {
		opts = append(opts, expr.DisableBuiltin(name))
	}
	return append(opts,
		expr.Function("_tick", fnTick, new(func(*budget) bool)),
		expr.Function("_charge", fnCharge, new(func(*budget, string) string), new(func(*budget, []string) []string),
			new(func(*budget, []any) []any), new(func(*budget, map[string]any) map[string]any), new(func(*budget, any) any)),
		expr.Function("_scan", fnScan, new(func(*budget, string) string)),
		expr.Function("_find", fnFind, new(func(*budget, string) string)),
		expr.Function("_cat", fnCat, new(func(*budget, string, string) string), new(func(*budget, any, any) any)),
		expr.Function("repeat", fnRepeat, new(func(string, int) string)),
		expr.Function("join", fnJoin, new(func([]string, string) string), new(func([]string) string),
			new(func([]any, string) string), new(func([]any) string)),
		expr.Function("replace", fnReplace, new(func(string, string, string) string)),
		expr.Function("string", fnString, new(func(any) string)),
		expr.Patch(&limitPatcher{}),
	)
}

// limitPatcher rewrites a checked tree so that the limits hold on the VM:
// every + that is not between two numbers becomes _cat(_budget, a, b), and
// every closure body B becomes (let _wN = _tick(_budget); B). The fast
// path compiles the same forms with the same counts.
type limitPatcher struct{ n int }

func (p *limitPatcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BuiltinNode:
		if searchBuiltins[n.Name] && len(n.Arguments) > 0 && isString(n.Arguments[0].Type()) {
			wrap(&n.Arguments[0], "_find")
		}
		if chargedBuiltins[n.Name] {
			p.charge(node)
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && chargedBuiltins[id.Value] {
			p.charge(node)
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "matches":
			wrap(&n.Left, "_scan")
			if _, ok := n.Right.(*ast.StringNode); !ok {
				wrap(&n.Right, "_scan")
			}
			return
		case "contains", "startsWith", "endsWith":
			if isString(n.Left.Type()) {
				wrap(&n.Left, "_find")
			}
			return
		}
		if n.Operator != "+" || !catOperands(n.Left.Type(), n.Right.Type()) {
			return
		}
		ast.Patch(node, &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: "_cat"},
			Arguments: []ast.Node{&ast.IdentifierNode{Value: "_budget"}, n.Left, n.Right},
		})
	case *ast.PredicateNode:
		if isTick(n.Node) {
			return
		}
		p.n++
		body := n.Node
		let := &ast.VariableDeclaratorNode{
			Name:  fmt.Sprintf("_w%d", p.n),
			Value: &ast.CallNode{Callee: &ast.IdentifierNode{Value: "_tick"}, Arguments: []ast.Node{&ast.IdentifierNode{Value: "_budget"}}},
			Expr:  body,
		}
		let.SetLocation(body.Location())
		let.Value.SetLocation(body.Location())
		n.Node = let
	}
}

// charge rewrites a call C of a charged builtin as _charge(_budget, C).
func (p *limitPatcher) charge(node *ast.Node) {
	call := *node
	c := &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: "_charge"},
		Arguments: []ast.Node{&ast.IdentifierNode{Value: "_budget"}, call},
	}
	ast.Patch(node, c)
	c.SetLocation(call.Location())
}

// wrap rewrites an operand S as fn(_budget, S): _scan for the operands of
// matches (a constant pattern is left alone: compiled once, with the
// program), _find for a searched string.
func wrap(node *ast.Node, fn string) {
	arg := *node
	c := &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: fn},
		Arguments: []ast.Node{&ast.IdentifierNode{Value: "_budget"}, arg},
	}
	ast.Patch(node, c)
	c.SetLocation(arg.Location())
}

// catOperands reports whether a + of these static types goes through
// _cat: two strings, or a side whose type is unknown until run time. Two
// numbers stay a plain +, and mismatched known types are left to expr's
// checker, which refuses them.
func catOperands(l, r reflect.Type) bool {
	unknown := func(t reflect.Type) bool { return t == nil || t.Kind() == reflect.Interface }
	if unknown(l) || unknown(r) {
		return true
	}
	return l.Kind() == reflect.String && r.Kind() == reflect.String
}

// isTick reports whether a closure body is already counted.
func isTick(n ast.Node) bool {
	v, ok := n.(*ast.VariableDeclaratorNode)
	if !ok {
		return false
	}
	c, ok := v.Value.(*ast.CallNode)
	if !ok {
		return false
	}
	id, ok := c.Callee.(*ast.IdentifierNode)
	return ok && id.Value == "_tick"
}

// isString reports whether a static type is string (the searches of an
// operand of unknown type are left to expr).
func isString(t reflect.Type) bool { return t != nil && t.Kind() == reflect.String }
