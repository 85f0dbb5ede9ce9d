package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
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

// VMOnly returns the rule set evaluated by expr's VM alone, never the fast
// path: the same rules, grades and hash (the reference interpreter, for
// checking the fast path or ruling it out).
func (rs *RuleSet) VMOnly() *RuleSet {
	return &RuleSet{ID: rs.ID, Version: rs.Version, Title: rs.Title, Grades: rs.Grades, DefaultGrade: rs.DefaultGrade, Hash: rs.Hash, Source: rs.Source,
		rules: rs.rules, lets: rs.lets, awards: rs.awards, score: rs.score, program: rs.program, evidence: rs.evidence,
		src: rs.src, vmWhy: "the fast path is turned off", ruleIndex: rs.ruleIndex, awardList: rs.awardList,
		layout: rs.layout, fileName: rs.fileName}
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
