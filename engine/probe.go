package engine

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ProbeFacts returns the facts that Probe evaluates a rule set on: an
// employer with nothing on record, a typical one, and one with the
// longest lists that facts decoding allows (MaxListLen cases, each with
// every violation, and MaxListLen history entries).
func ProbeFacts() []*Facts {
	emp := Employer{USCC: "91420102MA4K12345G", Name: "probe", Region: "420102", Industry: "construction", Employees: 120}
	empty := &Facts{Period: 2026, Employer: emp}
	typical := &Facts{Period: 2026, Employer: emp,
		AnnualReview: AnnualReview{Submitted: true, OnTime: true, Employees: 120, ContractsSigned: 118, Insured: 110, RosterComplete: true},
		Complaints:   1, WageDeposit: WageDeposit{Required: true, Paid: true},
		History: []HistoryEntry{{Period: 2025, Grade: "A"}, {Period: 2024, Grade: "B"}}}
	worst := &Facts{Period: 2026, Employer: emp, AnnualReview: typical.AnnualReview, Complaints: 50,
		WageDeposit: WageDeposit{Required: true}, Blacklisted: true}
	for i := range MaxListLen {
		worst.Cases = append(worst.Cases, Case{ID: fmt.Sprintf("P-%d", i), Source: CaseSources[i%len(CaseSources)],
			Opened: "2026-01-01", Concluded: "2026-02-01", Violations: Violations, Outcome: "penalized",
			OrderRefused: true, Obstructed: true, MassIncident: true, SeriousImpact: true, Criminal: true,
			BackWages: 1000, WorkersAffected: 10})
		worst.History = append(worst.History, HistoryEntry{Period: 2025 - i%30, Grade: "A"})
	}
	return []*Facts{empty, typical, worst}
}

// Probe evaluates rs on ProbeFacts and on the given facts (a rule set's own
// test cases), and returns the first failure that a limit caused (an error
// wrapping ErrLimit and ErrEvaluation, with a *RuleError naming the rule),
// or nil. Other run-time failures depend on the facts and are not the
// rule set's fault; they are left to evaluation. Upload and check call it
// so that a rule set that would exceed the limits for every employer is
// refused before it can be activated.
func Probe(rs *RuleSet, facts ...*Facts) error {
	for _, f := range append(ProbeFacts(), facts...) {
		if _, err := Evaluate(rs, f); errors.Is(err, ErrLimit) {
			return err
		}
	}
	return nil
}

// Facts returns the facts of the file's cases that decode (the cases that
// expect a decoding error have none), for Probe.
func (tf *TestFile) Facts() []*Facts {
	var out []*Facts
	for _, c := range tf.spec.Cases {
		doc, err := json.Marshal(mergeFacts(tf.spec.Defaults, c.Facts))
		if err != nil {
			continue
		}
		if f, err := DecodeFacts(doc); err == nil {
			out = append(out, f)
		}
	}
	return out
}
