// Package engine loads, compiles and evaluates labor-credit rule sets.
//
// A rule set (scoring-rules/*.yaml) is a list of named expressions
// (expr-lang/expr) over one employer's compliance facts for one period. The
// engine compiles every expression once, against the typed Facts environment,
// so a misspelt field is a compile error, and then evaluates the whole rule set
// for an employer as a single program: lets in order, every rule, caps and
// points, the score band, the final grade and the award eligibility.
//
// The package is pure: no database, no HTTP, no logging and no clock. The
// period in the facts is the only notion of "today", and expr's now() is
// disabled, so a grade never depends on the day it was computed.
//
// No rule set can exhaust the process: every string and list an expression
// builds and the work of one evaluation are bounded at run time
// (MaxStringLen, MaxWork, MaxMemory; limits.go), on the fast path and on
// expr's VM alike, and a rule that breaks a limit fails with ErrLimit and a
// *RuleError naming it. Probe finds such a rule set before it is activated.
package engine
