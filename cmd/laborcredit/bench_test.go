package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"laborcredit/engine"
)

// benchFacts is n synthetic employers as JSON Lines (the demo's mix:
// about 1% with cases in the period).
func benchFacts(tb testing.TB, n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf bytes.Buffer
	for i := range n {
		b, err := json.Marshal(syntheticFacts(rng, i))
		require.NoError(tb, err)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// BenchmarkEvalStream measures `rules eval` on JSON Lines: decode, evaluate
// with the national rule set, encode, in input order. The metric
// employers/s is the figure for docs/BENCHMARKS.md.
func BenchmarkEvalStream(b *testing.B) {
	const n = 20000
	data := benchFacts(b, n)
	rs, err := engine.LoadFile("../../scoring-rules/national-2016.yaml")
	require.NoError(b, err)
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[workers], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			lines := 0
			for b.Loop() {
				err := streamFacts(context.Background(), bytes.NewReader(data), workers,
					func(f *engine.Facts) ([]byte, error) {
						res, err := engine.Evaluate(rs, f)
						if err != nil {
							return nil, err
						}
						return append(res.AppendJSON(make([]byte, 0, 512)), '\n'), nil
					},
					func(line int, out []byte, err error) error {
						if err != nil {
							return err
						}
						lines++
						_, err = io.Discard.Write(out)
						return err
					})
				require.NoError(b, err)
			}
			b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "employers/s")
			require.Equal(b, n*b.N, lines)
		})
	}
}

// BenchmarkDecodeFacts is the decoding share of the stream on its own.
func BenchmarkDecodeFacts(b *testing.B) {
	data := benchFacts(b, 1000)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	b.ReportAllocs()
	var f engine.Facts
	i := 0
	for b.Loop() {
		require.NoError(b, engine.DecodeFactsInto(lines[i%len(lines)], &f))
		i++
	}
}

var benchCounties = []string{"420102", "420103", "420104", "420105", "420106", "420111", "420112", "420113", "420114", "420115",
	"420202", "420203", "420302", "420303", "420502", "420503", "420602", "420606", "420802", "420881", "420902", "421002", "421102", "421202", "421302"}

var benchIndustries = []string{"construction", "manufacturing", "retail", "catering", "logistics", "services", "mining"}

// syntheticFacts makes one plausible employer: about 1% with a concluded
// case in the period and a few of those in a C situation (DOMAIN.md).
func syntheticFacts(rng *rand.Rand, i int) *engine.Facts {
	region := benchCounties[rng.IntN(len(benchCounties))]
	first17 := fmt.Sprintf("91%sMA%07d", region, i%10000000)
	first17 = first17[:17]
	check, _ := engine.USCCCheckChar(first17)
	employees := 5 + rng.IntN(400)
	f := &engine.Facts{
		Period:   2026,
		Employer: engine.Employer{USCC: first17 + string(check), Name: fmt.Sprintf("湖北示例企业%05d有限公司", i), Region: region, Industry: benchIndustries[rng.IntN(len(benchIndustries))], Employees: employees},
		AnnualReview: engine.AnnualReview{Submitted: rng.Float64() < 0.95, Employees: employees,
			ContractsSigned: employees - rng.IntN(3), Insured: employees - rng.IntN(5), RosterComplete: rng.Float64() < 0.9},
		WageDeposit: engine.WageDeposit{Required: rng.Float64() < 0.2, Paid: rng.Float64() < 0.9},
		Complaints:  rng.IntN(2),
	}
	f.AnnualReview.OnTime = f.AnnualReview.Submitted && rng.Float64() < 0.9
	if rng.Float64() < 0.85 {
		f.History = []engine.HistoryEntry{{Period: 2025, Grade: "A"}}
	}
	if rng.Float64() < 0.012 {
		nCases := 1 + rng.IntN(2)
		if rng.Float64() < 0.05 {
			nCases = 3
		}
		for c := range nCases {
			k := engine.Case{ID: fmt.Sprintf("EH-2026-%06d-%d", i, c), Source: engine.CaseSources[rng.IntN(3)],
				Opened: "2026-03-02", Concluded: "2026-05-20", Violations: []string{engine.Violations[2+rng.IntN(6)]},
				Outcome: "rectified", BackWages: float64(rng.IntN(100000)), WorkersAffected: 1 + rng.IntN(20)}
			if rng.Float64() < 0.05 {
				k.OrderRefused = true
				k.Outcome = "penalized"
			}
			f.Cases = append(f.Cases, k)
		}
	}
	return f
}
