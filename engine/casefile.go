package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// A test file (NAME_test.yaml beside NAME.yaml) holds cases for a rule
// set: facts in, the expected grade, score, fired rules and awards out.
//
//	rule_set: national-2016.yaml     # optional, default NAME.yaml beside the file
//	defaults: {period: 2026, employer: {…}}   # merged under every case's facts
//	cases:
//	  - name: one case concluded in the period is B
//	    facts: {cases: [{id: X, …}]}
//	    want: {grade: B, fired: [b-violation-found], evidence: {b-violation-found: [X]}}
//	  - name: a bad date is refused
//	    facts: {cases: [{opened: 2026-02-30, …}]}
//	    want: {error: "cases[0].opened: not a date"}
type testFileSpec struct {
	RuleSet  string         `yaml:"rule_set"`
	Defaults map[string]any `yaml:"defaults"`
	Cases    []testCaseSpec `yaml:"cases"`
}

type testCaseSpec struct {
	Name  string
	Facts map[string]any
	Want  wantSpec
	Line  int
}

type wantSpec struct {
	Grade    string              `yaml:"grade"`
	Score    *float64            `yaml:"score"`
	Fired    *[]string           `yaml:"fired"`
	Awards   *[]string           `yaml:"awards"`
	Evidence map[string][]string `yaml:"evidence"`
	Error    string              `yaml:"error"`
}

func (c *testCaseSpec) UnmarshalYAML(n ast.Node) error {
	var raw struct {
		Name  string         `yaml:"name"`
		Facts map[string]any `yaml:"facts"`
		Want  wantSpec       `yaml:"want"`
	}
	if err := yaml.NodeToValue(n, &raw, yaml.Strict()); err != nil {
		return err
	}
	c.Name, c.Facts, c.Want, c.Line = raw.Name, raw.Facts, raw.Want, n.GetToken().Position.Line
	return nil
}

// CaseResult is the outcome of one test case.
type CaseResult struct {
	File     string
	Line     int
	Name     string
	Failures []string // empty when the case passed
}

// Passed reports whether the case passed.
func (r CaseResult) Passed() bool { return len(r.Failures) == 0 }

func (r CaseResult) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", r.File, r.Line, r.Name, strings.Join(r.Failures, "; "))
}

// TestFiles returns the *_test.yaml files under the given paths (files or
// directories, searched recursively), sorted.
func TestFiles(paths ...string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, "_test.yaml") {
				out = append(out, path)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return out, nil
}

// TestFile is a parsed NAME_test.yaml with its rule set loaded.
type TestFile struct {
	Path    string
	RuleSet *RuleSet
	spec    testFileSpec
}

// Cases returns the number of cases in the file.
func (tf *TestFile) Cases() int { return len(tf.spec.Cases) }

// IsTestFile reports whether path names a rule-set test file.
func IsTestFile(path string) bool { return strings.HasSuffix(path, "_test.yaml") }

// LoadTestFile parses a test file and loads its rule set, without running
// the cases.
func LoadTestFile(path string) (*TestFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var spec testFileSpec
	if err := checkYAMLShape(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := yaml.UnmarshalWithOptions(data, &spec, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%s: %s", path, yaml.FormatError(err, false, true))
	}
	rsPath := spec.RuleSet
	if rsPath == "" {
		rsPath = strings.TrimSuffix(filepath.Base(path), "_test.yaml") + ".yaml"
	}
	if !filepath.IsAbs(rsPath) {
		rsPath = filepath.Join(filepath.Dir(path), rsPath)
	}
	rs, err := LoadFile(rsPath)
	if err != nil {
		return nil, err
	}
	if len(spec.Cases) == 0 {
		return nil, fmt.Errorf("%s: no cases", path)
	}
	return &TestFile{Path: path, RuleSet: rs, spec: spec}, nil
}

// RunTestFile runs every case of one test file against its rule set. The
// error is for a file that cannot be read or a rule set that does not load;
// failing cases are reported in the results.
func RunTestFile(path string) ([]CaseResult, error) {
	tf, err := LoadTestFile(path)
	if err != nil {
		return nil, err
	}
	out := make([]CaseResult, 0, len(tf.spec.Cases))
	for _, c := range tf.spec.Cases {
		res := CaseResult{File: path, Line: c.Line, Name: c.Name}
		res.Failures = runCase(tf.RuleSet, tf.spec.Defaults, &c)
		out = append(out, res)
	}
	return out, nil
}

func runCase(rs *RuleSet, defaults map[string]any, c *testCaseSpec) []string {
	if c.Name == "" {
		return []string{"case has no name"}
	}
	doc, err := json.Marshal(mergeFacts(defaults, c.Facts))
	if err != nil {
		return []string{"facts: " + err.Error()}
	}
	f, err := DecodeFacts(doc)
	if c.Want.Error != "" {
		switch {
		case err == nil:
			return []string{fmt.Sprintf("error: want %q, got none", c.Want.Error)}
		case !strings.Contains(err.Error(), c.Want.Error):
			return []string{fmt.Sprintf("error: want %q, got %q", c.Want.Error, err.Error())}
		}
		return nil
	}
	if err != nil {
		return []string{"facts: " + err.Error()}
	}
	got, err := Evaluate(rs, f)
	if err != nil {
		return []string{"evaluate: " + err.Error()}
	}
	var fails []string
	w := c.Want
	if w.Grade == "" {
		fails = append(fails, "want.grade is required")
	} else if got.Grade != w.Grade {
		fails = append(fails, fmt.Sprintf("grade: want %s, got %s", w.Grade, got.Grade))
	}
	if w.Score != nil && (!got.HasScore || got.Score != *w.Score) {
		fails = append(fails, fmt.Sprintf("score: want %g, got %s", *w.Score, scoreString(got)))
	}
	fired := make([]string, len(got.Fired))
	for i, fr := range got.Fired {
		fired[i] = fr.Rule
	}
	if w.Fired != nil && !slices.Equal(nonNil(*w.Fired), fired) {
		fails = append(fails, fmt.Sprintf("fired: want %v, got %v", *w.Fired, fired))
	}
	awards := make([]string, len(got.Awards))
	for i, a := range got.Awards {
		awards[i] = a.ID
	}
	if w.Awards != nil && !slices.Equal(nonNil(*w.Awards), awards) {
		fails = append(fails, fmt.Sprintf("awards: want %v, got %v", *w.Awards, awards))
	}
	for _, rule := range sortedKeys(w.Evidence) {
		var ev []string
		for _, fr := range got.Fired {
			if fr.Rule == rule {
				ev = fr.Evidence
			}
		}
		if !slices.Equal(nonNil(w.Evidence[rule]), nonNil(ev)) {
			fails = append(fails, fmt.Sprintf("evidence of %s: want %v, got %v", rule, w.Evidence[rule], ev))
		}
	}
	return fails
}

func scoreString(r Result) string {
	if !r.HasScore {
		return "none (the rule set has no score section)"
	}
	return fmt.Sprintf("%g", r.Score)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// mergeFacts returns over merged onto base: objects merge key by key,
// everything else (lists included) is replaced.
func mergeFacts(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = mergeFacts(bm, om)
			continue
		}
		out[k] = v
	}
	return out
}

// ErrTestsFailed is returned by callers that run test files and found a
// failing case.
var ErrTestsFailed = errors.New("rule-set tests failed")
