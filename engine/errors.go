package engine

import (
	"errors"
	"fmt"
	"strings"
)

// RuleError is a problem with one part of a rule set: a YAML field, or an
// expression that does not compile or fails at run time. Err unwraps to
// expr's *file.Error for expression errors, whose message carries the line
// and column inside the expression and a caret snippet.
type RuleError struct {
	File  string // file name as given to Load; "" when loaded from bytes without a name
	Line  int    // line in the file, 0 when unknown
	Rule  string // rule, let or award id; "" for rule-set level problems
	Field string // "when", "let", "points", "evidence", "cap", …
	Err   error
}

func (e *RuleError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Rule != "" {
		b.WriteString(e.Rule)
		if e.Field != "" {
			b.WriteString(" ")
		}
	}
	if e.Field != "" {
		b.WriteString(e.Field)
	}
	if e.Rule != "" || e.Field != "" {
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *RuleError) Unwrap() error { return e.Err }

// RuleSetError collects every problem found while loading a rule set.
type RuleSetError []*RuleError

func (e RuleSetError) Error() string {
	parts := make([]string, len(e))
	for i, re := range e {
		parts[i] = re.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap returns the individual rule errors.
func (e RuleSetError) Unwrap() []error {
	out := make([]error, len(e))
	for i, re := range e {
		out[i] = re
	}
	return out
}

// ErrEvaluation marks a run-time failure of a rule set on one employer's
// facts; the error chain also holds a *RuleError naming the rule.
var ErrEvaluation = errors.New("evaluation failed")
