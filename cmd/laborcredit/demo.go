package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"

	"laborcredit/engine"
	scoringrules "laborcredit/scoring-rules"
)

// demoCommand is, for now, the engine half of the demo: it rates a
// synthetic province in memory with the national rule set. Storage, the
// workflow and the server join it as those parts land (see the issues).
func demoCommand() *command {
	return &command{name: "demo", short: "rate a synthetic province with the national rule set", run: runDemo}
}

func runDemo(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "demo", "laborcredit demo [--employers N] [--seed S] [--write-facts FILE]")
	n := fs.Int("employers", 5000, "number of synthetic employers")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same province")
	factsOut := fs.String("write-facts", "", "also write the synthetic facts as JSON Lines to FILE, to try `rules eval` and `rules simulate` on")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("demo: unexpected argument %q", pos[0])
	}
	if *n < 1 {
		return usagef("demo: --employers must be at least 1")
	}
	src, err := scoringrules.FS.ReadFile("national-2016.yaml")
	if err != nil {
		return err
	}
	rs, err := engine.Load("national-2016.yaml", src)
	if err != nil {
		return err
	}
	var facts *bufio.Writer
	if *factsOut != "" {
		fo, err := os.Create(*factsOut)
		if err != nil {
			return err
		}
		defer fo.Close()
		facts = bufio.NewWriterSize(fo, 1<<20)
	}
	rng := rand.New(rand.NewPCG(*seed, 2026))
	counts := map[string]int{}
	fired := map[string]int{}
	awards := 0
	var example *engine.Result
	for i := range *n {
		f := syntheticFacts(rng, i)
		if facts != nil {
			b, err := json.Marshal(f)
			if err != nil {
				return err
			}
			facts.Write(b)
			if err := facts.WriteByte('\n'); err != nil {
				return fmt.Errorf("write facts: %w", err)
			}
		}
		res, err := engine.Evaluate(rs, f)
		if err != nil {
			return fmt.Errorf("employer %s: %w", f.Employer.USCC, err)
		}
		counts[res.Grade]++
		for _, fr := range res.Fired {
			fired[fr.Rule]++
		}
		awards += len(res.Awards)
		if example == nil && res.Grade == "C" {
			example = &res
		}
	}
	if facts != nil {
		if err := facts.Flush(); err != nil {
			return fmt.Errorf("write facts: %w", err)
		}
	}
	fmt.Fprintf(e.stdout, "laborcredit demo: %d synthetic employers of Hubei (420000), period 2026, rule set %s\n%s\n\n", *n, rs.ID, rs.Hash)
	for _, g := range rs.Grades {
		fmt.Fprintf(e.stdout, "  grade %s  %7d  %5.1f%%\n", g, counts[g], 100*float64(counts[g])/float64(*n))
	}
	fmt.Fprintf(e.stdout, "  eligible for 最佳诚信单位: %d\n\nrules fired:\n", awards)
	rules := make([]string, 0, len(fired))
	for r := range fired {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	for _, r := range rules {
		fmt.Fprintf(e.stdout, "  %-28s %6d\n", r, fired[r])
	}
	if example != nil {
		fmt.Fprintf(e.stdout, "\nan explained C grade:\n%s\n", example.AppendJSON(nil))
	}
	fmt.Fprintln(e.stdout, "\nStorage, the rating workflow and the web service are not built yet; this demo rates in memory.")
	return nil
}

var demoCounties = []string{"420102", "420103", "420104", "420105", "420106", "420111", "420112", "420113", "420114", "420115",
	"420202", "420203", "420302", "420303", "420502", "420503", "420602", "420606", "420802", "420881", "420902", "421002", "421102", "421202", "421302"}

var demoIndustries = []string{"construction", "manufacturing", "retail", "catering", "logistics", "services", "mining"}

// syntheticFacts makes one plausible employer: about 1% with a concluded
// case in the period and a few of those in a C situation (DOMAIN.md).
func syntheticFacts(rng *rand.Rand, i int) *engine.Facts {
	region := demoCounties[rng.IntN(len(demoCounties))]
	first17 := fmt.Sprintf("91%sMA%07d", region, i%10000000)
	first17 = first17[:17]
	check, _ := engine.USCCCheckChar(first17)
	employees := 5 + rng.IntN(400)
	f := &engine.Facts{
		Period:   2026,
		Employer: engine.Employer{USCC: first17 + string(check), Name: fmt.Sprintf("湖北示例企业%05d有限公司", i), Region: region, Industry: demoIndustries[rng.IntN(len(demoIndustries))], Employees: employees},
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
