package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// MaxCount bounds head counts (employees, workers affected), and MaxAmount
// amounts in yuan: larger values are data errors, and they would not fit
// the database's columns.
const (
	MaxCount  = 10_000_000
	MaxAmount = 1e12
)

// MaxListLen is the longest list (cases, violations of one case, history)
// that one employer's facts may hold. Longer lists are rejected at decoding,
// so one malformed document cannot make an evaluation unbounded.
const MaxListLen = 1000

// Facts is one employer's compliance record for one period: the input of
// Evaluate. Its field names (the json and expr tags) are the names rule
// expressions use. Dates are "YYYY-MM-DD" strings ("" when absent), so they
// compare in date order with <, ==, >=; amounts are CNY.
type Facts struct {
	Period       int            `json:"period" expr:"period"`
	Employer     Employer       `json:"employer" expr:"employer"`
	AnnualReview AnnualReview   `json:"annual_review" expr:"annual_review"`
	Cases        []Case         `json:"cases" expr:"cases"`
	Complaints   int            `json:"complaints" expr:"complaints"`
	WageDeposit  WageDeposit    `json:"wage_deposit" expr:"wage_deposit"`
	Blacklisted  bool           `json:"blacklisted" expr:"blacklisted"`
	History      []HistoryEntry `json:"history" expr:"history"`
}

// Employer identifies the rated employer.
type Employer struct {
	USCC      string `json:"uscc" expr:"uscc"`
	Name      string `json:"name" expr:"name"`
	Region    string `json:"region" expr:"region"`
	Industry  string `json:"industry" expr:"industry"`
	Employees int    `json:"employees" expr:"employees"`
}

// AnnualReview is the employer's yearly written declaration (书面审查).
type AnnualReview struct {
	Submitted       bool `json:"submitted" expr:"submitted"`
	OnTime          bool `json:"on_time" expr:"on_time"`
	Employees       int  `json:"employees" expr:"employees"`
	ContractsSigned int  `json:"contracts_signed" expr:"contracts_signed"`
	Insured         int  `json:"insured" expr:"insured"`
	RosterComplete  bool `json:"roster_complete" expr:"roster_complete"`
}

// Case is one inspection or complaint case against the employer.
type Case struct {
	ID              string   `json:"id" expr:"id"`
	Source          string   `json:"source" expr:"source"`
	Opened          string   `json:"opened" expr:"opened"`
	Concluded       string   `json:"concluded" expr:"concluded"`
	Violations      []string `json:"violations" expr:"violations"`
	Outcome         string   `json:"outcome" expr:"outcome"`
	OrderRefused    bool     `json:"order_refused" expr:"order_refused"`
	Obstructed      bool     `json:"obstructed" expr:"obstructed"`
	MassIncident    bool     `json:"mass_incident" expr:"mass_incident"`
	SeriousImpact   bool     `json:"serious_impact" expr:"serious_impact"`
	Criminal        bool     `json:"criminal" expr:"criminal"`
	BackWages       float64  `json:"back_wages" expr:"back_wages"`
	WorkersAffected int      `json:"workers_affected" expr:"workers_affected"`
}

// WageDeposit is the wage-guarantee deposit obligation (工资保证金).
type WageDeposit struct {
	Required bool `json:"required" expr:"required"`
	Paid     bool `json:"paid" expr:"paid"`
}

// HistoryEntry is one earlier published grade of the employer.
type HistoryEntry struct {
	Period int    `json:"period" expr:"period"`
	Grade  string `json:"grade" expr:"grade"`
}

// Case sources, violations and outcomes: the enumerations of DESIGN.md.
var (
	CaseSources = []string{"complaint", "routine_inspection", "special_inspection", "written_review"}
	Violations  = []string{"child_labor", "forced_labor", "wage_arrears", "below_min_wage", "overtime",
		"no_contract", "social_insurance", "illegal_dispatch", "illegal_job_agency",
		"female_minor_protection", "deposit_or_id_retention", "discrimination", "no_roster", "other"}
	Outcomes = []string{"pending", "no_violation", "rectified", "penalized"}
)

// FieldError is one problem with one field of a facts document. Path is the
// JSON path of the field, e.g. "cases[2].concluded".
type FieldError struct {
	Path   string
	Reason string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Reason }

// FactsError lists every problem found in one facts document. It unwraps to
// its *FieldError items, so errors.As finds the first of them.
type FactsError []*FieldError

func (e FactsError) Error() string {
	var b bytes.Buffer
	for i, fe := range e {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Unwrap returns the field errors.
func (e FactsError) Unwrap() []error {
	out := make([]error, len(e))
	for i, fe := range e {
		out[i] = fe
	}
	return out
}

// DecodeFacts decodes one facts document strictly: unknown fields, values of
// the wrong JSON type, trailing data, and everything Validate rejects are
// errors that name the JSON path. The error is a FactsError.
func DecodeFacts(data []byte) (*Facts, error) {
	f := new(Facts)
	if err := DecodeFactsInto(data, f); err != nil {
		return nil, err
	}
	return f, nil
}

// DecodeFactsInto is DecodeFacts into a caller-owned Facts, which is reset
// first; it lets a stream reuse one value.
func DecodeFactsInto(data []byte, f *Facts) error {
	// Keep the lists' memory but zero every element: encoding/json decodes
	// into reused elements without clearing the fields a line leaves out.
	cases, hist := f.Cases[:cap(f.Cases)], f.History[:cap(f.History)]
	clear(cases)
	clear(hist)
	*f = Facts{Cases: cases[:0], History: hist[:0]}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(f); err != nil {
		return explainDecodeError(data, err)
	}
	if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
		return FactsError{{Path: "$", Reason: "unexpected data after the facts object"}}
	}
	// encoding/json matches keys without regard to case; every key of the
	// format is lower case, so a key with an upper-case letter is unknown.
	if hasUpperKey(data) {
		return explainDecodeError(data, errors.New("a key is not in lower case"))
	}
	return f.Validate()
}

// explainDecodeError turns an encoding/json error into a FactsError with
// the JSON path of the offending field. encoding/json does not report the
// path of an unknown field, so the document is walked again against the
// Facts type to find it.
func explainDecodeError(data []byte, err error) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return FactsError{{Path: "$", Reason: "empty document, want a facts object"}}
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return FactsError{{Path: "$", Reason: fmt.Sprintf("invalid JSON at byte %d: %s", syn.Offset, syn.Error())}}
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	fe, werr := walkJSON(d, factsShape, "$")
	if werr != nil {
		if werr == io.EOF {
			werr = io.ErrUnexpectedEOF
		}
		return FactsError{{Path: "$", Reason: "invalid JSON: " + werr.Error()}}
	}
	if fe != nil {
		return FactsError{fe}
	}
	return FactsError{{Path: "$", Reason: err.Error()}}
}

// shape describes the JSON form of Facts for walkShape.
type shape struct {
	kind   byte // 'o' object, 'a' array, 's' string, 'i' integer, 'n' number, 'b' bool
	fields map[string]*shape
	elem   *shape
}

var (
	strShape  = &shape{kind: 's'}
	intShape  = &shape{kind: 'i'}
	numShape  = &shape{kind: 'n'}
	boolShape = &shape{kind: 'b'}

	factsShape = &shape{kind: 'o', fields: map[string]*shape{
		"period": intShape,
		"employer": {kind: 'o', fields: map[string]*shape{
			"uscc": strShape, "name": strShape, "region": strShape, "industry": strShape, "employees": intShape}},
		"annual_review": {kind: 'o', fields: map[string]*shape{
			"submitted": boolShape, "on_time": boolShape, "employees": intShape,
			"contracts_signed": intShape, "insured": intShape, "roster_complete": boolShape}},
		"cases": {kind: 'a', elem: &shape{kind: 'o', fields: map[string]*shape{
			"id": strShape, "source": strShape, "opened": strShape, "concluded": strShape,
			"violations": {kind: 'a', elem: strShape}, "outcome": strShape,
			"order_refused": boolShape, "obstructed": boolShape, "mass_incident": boolShape,
			"serious_impact": boolShape, "criminal": boolShape,
			"back_wages": numShape, "workers_affected": intShape}}},
		"complaints":   intShape,
		"wage_deposit": {kind: 'o', fields: map[string]*shape{"required": boolShape, "paid": boolShape}},
		"blacklisted":  boolShape,
		"history": {kind: 'a', elem: &shape{kind: 'o', fields: map[string]*shape{
			"period": intShape, "grade": strShape}}},
	}}
)

// joinPath appends a field name to a JSON path: a.b, or a["x y"] for a
// name that is not a plain identifier (so that even "" is visible).
func joinPath(parent, field string) string {
	if !plainName(field) {
		if parent == "$" {
			parent = ""
		}
		b, _ := json.Marshal(field)
		return parent + "[" + string(b) + "]"
	}
	if parent == "$" {
		return field
	}
	return parent + "." + field
}

func plainName(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// walkJSON reads one value from dec and returns the first place, in
// document order, where it does not fit s; the error is for broken JSON.
func walkJSON(dec *json.Decoder, s *shape, path string) (*FieldError, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, nil // null leaves the zero value, as encoding/json does
	}
	switch s.kind {
	case 'o', 'a':
		d, ok := tok.(json.Delim)
		if want := map[byte]json.Delim{'o': '{', 'a': '['}[s.kind]; !ok || d != want {
			return &FieldError{path, "must be " + map[byte]string{'o': "an object", 'a': "an array"}[s.kind] + ", got " + jsonKind(tok)}, nil
		}
		for i := 0; dec.More(); i++ {
			elem, p := s.elem, path+"["+strconv.Itoa(i)+"]"
			if s.kind == 'o' {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				p = joinPath(path, k)
				if elem = s.fields[k]; elem == nil {
					return &FieldError{p, "unknown field"}, nil
				}
			}
			if fe, err := walkJSON(dec, elem, p); fe != nil || err != nil {
				return fe, err
			}
		}
		_, err := dec.Token() // the closing delimiter
		return nil, err
	case 's':
		if _, ok := tok.(string); !ok {
			return &FieldError{path, "must be a string, got " + jsonKind(tok)}, nil
		}
	case 'b':
		if _, ok := tok.(bool); !ok {
			return &FieldError{path, "must be true or false, got " + jsonKind(tok)}, nil
		}
	case 'i', 'n':
		n, ok := tok.(json.Number)
		if !ok {
			return &FieldError{path, "must be a number, got " + jsonKind(tok)}, nil
		}
		if s.kind == 'i' {
			if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
				return &FieldError{path, "must be a whole number, got " + string(n)}, nil
			}
		} else if _, err := strconv.ParseFloat(string(n), 64); err != nil {
			return &FieldError{path, "must be a finite number, got " + string(n)}, nil
		}
	}
	return nil, nil
}

func jsonKind(v any) string {
	switch v {
	case json.Delim('{'):
		return "an object"
	case json.Delim('['):
		return "an array"
	}
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	}
	return "null"
}

// hasUpperKey reports whether any object key in the JSON document data has
// an upper-case ASCII letter. data is valid JSON (it decoded).
func hasUpperKey(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if data[i] != '"' {
			continue
		}
		// A string: find its end, noting upper-case letters.
		upper := false
		j := i + 1
		for ; j < len(data) && data[j] != '"'; j++ {
			switch c := data[j]; {
			case c == '\\':
				j++
			case c >= 'A' && c <= 'Z':
				upper = true
			}
		}
		i = j
		if !upper {
			continue
		}
		// A key is a string followed by a colon.
		for k := j + 1; k < len(data); k++ {
			if c := data[k]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				if c == ':' {
					return true
				}
				break
			}
		}
	}
	return false
}

// Validate checks the values of f: required fields, enumerations, dates,
// the USCC check character, the shape of the region code, list lengths and
// signs. It returns a FactsError naming every bad field, or nil.
func (f *Facts) Validate() error {
	var errs FactsError
	add := func(path, reason string) {
		if len(errs) < 50 {
			errs = append(errs, &FieldError{Path: path, Reason: reason})
		}
	}
	if f.Period < 1990 || f.Period > 2100 {
		add("period", fmt.Sprintf("must be a year between 1990 and 2100, got %d", f.Period))
	}
	e := &f.Employer
	if e.USCC == "" {
		add("employer.uscc", "required")
	} else if err := CheckUSCC(e.USCC); err != nil {
		add("employer.uscc", "not a valid unified social credit code: "+err.Error())
	}
	if e.Name == "" {
		add("employer.name", "required")
	}
	if !IsRegionCode(e.Region) {
		add("employer.region", fmt.Sprintf("must be a 6-digit GB/T 2260 region code, got %q", e.Region))
	}
	addCount("employer.employees", e.Employees, add)
	ar := &f.AnnualReview
	for _, n := range [...]struct {
		path string
		v    int
	}{{"annual_review.employees", ar.Employees}, {"annual_review.contracts_signed", ar.ContractsSigned}, {"annual_review.insured", ar.Insured}} {
		addCount(n.path, n.v, add)
	}
	if ar.OnTime && !ar.Submitted {
		add("annual_review.on_time", "cannot be true when submitted is false")
	}
	if f.Complaints < 0 {
		add("complaints", "must not be negative")
	}
	if len(f.Cases) > MaxListLen {
		add("cases", fmt.Sprintf("at most %d cases, got %d", MaxListLen, len(f.Cases)))
	} else {
		for i := range f.Cases {
			f.Cases[i].validate("cases["+strconv.Itoa(i)+"]", add)
			for j := 0; j < i; j++ {
				if f.Cases[j].ID == f.Cases[i].ID && f.Cases[i].ID != "" {
					add("cases["+strconv.Itoa(i)+"].id", fmt.Sprintf("duplicate case id %q (also cases[%d])", f.Cases[i].ID, j))
					break
				}
			}
		}
	}
	if len(f.History) > MaxListLen {
		add("history", fmt.Sprintf("at most %d entries, got %d", MaxListLen, len(f.History)))
	} else {
		prev := f.Period
		for i, h := range f.History {
			p := "history[" + strconv.Itoa(i) + "]"
			if h.Period >= prev {
				add(p+".period", fmt.Sprintf("must be earlier than %d (history is newest first, before the rated period)", prev))
			}
			prev = h.Period
			if h.Grade == "" {
				add(p+".grade", "required")
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Validate checks one case on its own (everything Facts.Validate checks of
// a case but the uniqueness of its id); paths start at the case's fields.
func (c *Case) Validate() error {
	var errs FactsError
	c.validate("", func(path, reason string) {
		errs = append(errs, &FieldError{Path: strings.TrimPrefix(path, "."), Reason: reason})
	})
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func (c *Case) validate(p string, add func(path, reason string)) {
	if c.ID == "" {
		add(p+".id", "required")
	}
	if !oneOf(c.Source, CaseSources) {
		add(p+".source", fmt.Sprintf("unknown value %q (want one of %v)", c.Source, CaseSources))
	}
	if c.Opened == "" {
		add(p+".opened", "required")
	} else if !ValidDate(c.Opened) {
		add(p+".opened", fmt.Sprintf("not a date (want YYYY-MM-DD): %q", c.Opened))
	}
	if c.Concluded != "" {
		if !ValidDate(c.Concluded) {
			add(p+".concluded", fmt.Sprintf("not a date (want YYYY-MM-DD): %q", c.Concluded))
		} else if ValidDate(c.Opened) && c.Concluded < c.Opened {
			add(p+".concluded", fmt.Sprintf("%s is before opened %s", c.Concluded, c.Opened))
		}
	}
	if len(c.Violations) > len(Violations) {
		add(p+".violations", fmt.Sprintf("at most %d violations, got %d", len(Violations), len(c.Violations)))
	} else {
		for j, v := range c.Violations {
			if !oneOf(v, Violations) {
				add(p+".violations["+strconv.Itoa(j)+"]", fmt.Sprintf("unknown value %q", v))
			}
		}
	}
	switch {
	case !oneOf(c.Outcome, Outcomes):
		add(p+".outcome", fmt.Sprintf("unknown value %q (want one of %v)", c.Outcome, Outcomes))
	case c.Outcome == "pending" && c.Concluded != "":
		add(p+".outcome", "pending, but the case has a concluded date")
	case c.Outcome != "pending" && c.Concluded == "":
		add(p+".concluded", fmt.Sprintf("required when the outcome is %s", c.Outcome))
	case c.Outcome == "no_violation" && len(c.Violations) > 0:
		add(p+".violations", "listed, but the outcome is no_violation")
	case (c.Outcome == "rectified" || c.Outcome == "penalized") && len(c.Violations) == 0:
		add(p+".violations", fmt.Sprintf("at least one is required when the outcome is %s", c.Outcome))
	}
	switch {
	case c.BackWages < 0:
		add(p+".back_wages", "must not be negative")
	case c.BackWages > MaxAmount:
		add(p+".back_wages", fmt.Sprintf("must be at most %.0f yuan", MaxAmount))
	case math.Abs(math.Round(c.BackWages*100)-c.BackWages*100) > 1e-6:
		add(p+".back_wages", "at most two decimals (yuan and fen)")
	}
	addCount(p+".workers_affected", c.WorkersAffected, add)
}

func addCount(path string, n int, add func(path, reason string)) {
	switch {
	case n < 0:
		add(path, "must not be negative")
	case n > MaxCount:
		add(path, fmt.Sprintf("must be at most %d", MaxCount))
	}
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// ValidDate reports whether s is a real calendar date written YYYY-MM-DD.
func ValidDate(s string) bool {
	_, _, _, ok := parseDate(s)
	return ok
}

func parseDate(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	for i := 0; i < 10; i++ {
		if i != 4 && i != 7 && (s[i] < '0' || s[i] > '9') {
			return 0, 0, 0, false
		}
	}
	y = int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
	m = int(s[5]-'0')*10 + int(s[6]-'0')
	d = int(s[8]-'0')*10 + int(s[9]-'0')
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// dayNumber is the number of days from 1970-01-01 to the date (civil
// calendar, proleptic Gregorian).
func dayNumber(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
