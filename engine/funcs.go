package engine

import (
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/builtin"
)

// Functions available to rule expressions besides expr's builtins (with
// now(), date() and timezone() removed, so that nothing depends on the wall
// clock or the disk, and the builtins that build unbounded values removed
// or bounded: see limits.go):
//
//	year(d)     the year of a YYYY-MM-DD date, 0 for "" (an open case)
//	month(d)    the month, 1–12, 0 for ""
//	days(a, b)  days from date a to date b (negative when b is earlier)
var funcNames = []string{"year", "month", "days"}

func exprOptions(env any) []expr.Option {
	return append([]expr.Option{
		expr.Env(env),
		expr.MaxNodes(MaxNodes),
		expr.Function("year", fnYear, new(func(string) int)),
		expr.Function("month", fnMonth, new(func(string) int)),
		expr.Function("days", fnDays, new(func(string, string) int)),
	}, limitOptions()...)
}

func isFuncName(name string) bool {
	for _, f := range funcNames {
		if f == name {
			return true
		}
	}
	for _, b := range builtin.Builtins {
		if b.Name == name {
			return true
		}
	}
	switch name {
	case "let", "true", "false", "nil", "in", "not", "and", "or", "matches", "contains", "startswith", "endswith", "if", "else":
		return true
	}
	return false
}

func argDate(fn string, v any) (y, m, d int, empty bool, err error) {
	s, ok := v.(string)
	if !ok {
		return 0, 0, 0, false, fmt.Errorf("%s: want a date string, got %T", fn, v)
	}
	if s == "" {
		return 0, 0, 0, true, nil
	}
	y, m, d, ok = parseDate(s)
	if !ok {
		return 0, 0, 0, false, fmt.Errorf("%s: %q is not a YYYY-MM-DD date", fn, s)
	}
	return y, m, d, false, nil
}

func fnYear(args ...any) (any, error) {
	y, _, _, _, err := argDate("year", args[0])
	return y, err
}

func fnMonth(args ...any) (any, error) {
	_, m, _, _, err := argDate("month", args[0])
	return m, err
}

func fnDays(args ...any) (any, error) {
	y1, m1, d1, e1, err := argDate("days", args[0])
	if err != nil {
		return nil, err
	}
	y2, m2, d2, e2, err := argDate("days", args[1])
	if err != nil {
		return nil, err
	}
	if e1 || e2 {
		return nil, fmt.Errorf("days: a date is empty (an open case has no concluded date)")
	}
	return dayNumber(y2, m2, d2) - dayNumber(y1, m1, d1), nil
}
