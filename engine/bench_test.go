package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// typicalFacts is a typical employer: annual review on time, no case in the
// period, two earlier A grades (most employers of a province look like this;
// DOMAIN.md: 99% A in Qingdao 2020).
func typicalFacts() *Facts {
	return &Facts{
		Period:       2026,
		Employer:     Employer{USCC: "91420102MA4K12345G", Name: "武汉某建筑公司", Region: "420102", Industry: "construction", Employees: 120},
		AnnualReview: AnnualReview{Submitted: true, OnTime: true, Employees: 120, ContractsSigned: 118, Insured: 110, RosterComplete: true},
		Complaints:   1,
		WageDeposit:  WageDeposit{Required: true, Paid: true},
		History:      []HistoryEntry{{Period: 2025, Grade: "A"}, {Period: 2024, Grade: "B"}},
	}
}

// nationalGo is the national grading written by hand in plain Go: the
// baseline that BenchmarkEvaluateNational is measured against.
func nationalGo(f *Facts) (grade string, award bool) {
	counted, c := 0, false
	for i := range f.Cases {
		k := &f.Cases[i]
		inPeriod := k.Concluded != "" && atoi4(k.Concluded) == f.Period
		active := inPeriod || (k.Concluded == "" && atoi4(k.Opened) <= f.Period)
		if active && (k.OrderRefused || k.Obstructed || k.Criminal) {
			c = true
		}
		if !inPeriod || len(k.Violations) == 0 {
			continue
		}
		counted++
		if k.MassIncident || k.SeriousImpact {
			c = true
		}
		for _, v := range k.Violations {
			if v == "child_labor" || v == "forced_labor" {
				c = true
			}
		}
	}
	switch {
	case c || counted >= 3:
		grade = "C"
	case counted > 0:
		grade = "B"
	default:
		grade = "A"
	}
	award = grade == "A" && len(f.History) > 0 && f.History[0].Period == f.Period-1 &&
		f.History[0].Grade == "A" && f.AnnualReview.OnTime && !f.Blacklisted
	return grade, award
}

func atoi4(s string) int {
	if len(s) < 4 {
		return 0
	}
	return int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
}

func BenchmarkEvaluateNational(b *testing.B) {
	rs, err := LoadFile("../scoring-rules/national-2016.yaml")
	require.NoError(b, err)
	f := typicalFacts()
	b.Run("engine", func(b *testing.B) {
		b.ReportAllocs()
		var res Result
		for b.Loop() {
			res, err = Evaluate(rs, f)
		}
		require.NoError(b, err)
		require.Equal(b, "A", res.Grade)
	})
	b.Run("vm", func(b *testing.B) {
		b.ReportAllocs()
		var res Result
		for b.Loop() {
			res, err = evaluateVM(rs, f)
		}
		require.NoError(b, err)
		require.Equal(b, "A", res.Grade)
	})
	b.Run("handwritten", func(b *testing.B) {
		b.ReportAllocs()
		var g string
		for b.Loop() {
			g, _ = nationalGo(f)
		}
		require.Equal(b, "A", g)
	})
}
