package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"laborcredit/ratings"
	"os"
	"strings"

	"laborcredit/engine"
)

func rulesCommand() *command {
	return &command{
		name:  "rules",
		short: "check, test, evaluate and simulate rule sets",
		subs: []*command{
			{name: "check", short: "compile rule sets and report every error", run: rulesCheck},
			{name: "test", short: "run the *_test.yaml cases beside rule sets", run: rulesTest},
			{name: "eval", short: "evaluate facts (one document or JSON Lines) with a rule set", run: rulesEval},
			{name: "simulate", short: "compare a draft rule set with a base one over facts, or with a period's active one", run: rulesSimulate},
			{name: "upload", short: "store rule sets in the database (immutable, hashed)", run: rulesUpload},
			{name: "activate", short: "make a stored rule set the one a period is rated with", run: rulesActivate},
		},
	}
}

func rulesCheck(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "rules check", "laborcredit rules check FILE...  (rule sets, probed for the engine's limits on worst-case facts and on the facts of their NAME_test.yaml cases, which are not run)")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("rules check: name at least one rule-set file")
	}
	failed := 0
	for _, f := range files {
		if engine.IsTestFile(f) {
			// A glob such as scoring-rules/*.yaml takes in the test files:
			// check that they parse and that their rule set loads.
			tf, err := engine.LoadTestFile(f)
			if err == nil {
				err = engine.Probe(tf.RuleSet, tf.Facts()...)
			}
			if err != nil {
				failed++
				fmt.Fprintln(e.stderr, err)
				continue
			}
			fmt.Fprintf(e.stdout, "ok %s: %s for %s (run them with rules test)\n", f, plural(tf.Cases(), "test case"), tf.RuleSet.ID)
			continue
		}
		rs, err := engine.LoadFile(f)
		if err != nil {
			failed++
			var rse engine.RuleSetError
			if errors.As(err, &rse) {
				for _, re := range rse {
					fmt.Fprintln(e.stderr, re.Error())
				}
			} else {
				fmt.Fprintf(e.stderr, "%s: %v\n", f, err)
			}
			continue
		}
		if err := engine.Probe(rs, caseFacts(f)...); err != nil {
			failed++
			fmt.Fprintln(e.stderr, err)
			continue
		}
		fmt.Fprintf(e.stdout, "ok %s: %s v%d, %s, %s, %s, %s\n", f, rs.ID, rs.Version,
			plural(len(rs.Rules()), "rule"), plural(len(rs.Awards()), "award"), rs.Evaluator(), rs.Hash)
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "%d of %d rule sets have errors\n", failed, len(files))
		return errSilent
	}
	return nil
}

// caseFacts returns the facts of the test cases beside a rule-set file
// (NAME_test.yaml), none when there is no such file or it does not load
// (rules test reports that).
func caseFacts(ruleSet string) []*engine.Facts {
	path := strings.TrimSuffix(ruleSet, ".yaml") + "_test.yaml"
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	tf, err := engine.LoadTestFile(path)
	if err != nil {
		return nil
	}
	return tf.Facts()
}

func rulesTest(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "rules test", "laborcredit rules test [PATH...]  (default: scoring-rules)")
	verbose := fs.Bool("v", false, "print every case, not only the failing ones")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		paths = []string{"scoring-rules"}
	}
	files, err := engine.TestFiles(paths...)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no *_test.yaml files under %s", strings.Join(paths, ", "))
	}
	passed, failed := 0, 0
	for _, f := range files {
		results, err := engine.RunTestFile(f)
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", f, err)
			failed++
			continue
		}
		for _, r := range results {
			if r.Passed() {
				passed++
				if *verbose {
					fmt.Fprintf(e.stdout, "ok   %s:%d: %s\n", r.File, r.Line, r.Name)
				}
				continue
			}
			failed++
			fmt.Fprintf(e.stdout, "FAIL %s\n", r)
		}
	}
	fmt.Fprintf(e.stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return errSilent
	}
	return nil
}

// openFacts opens a facts file (or stdin for "-") and tells one document
// from JSON Lines (readFactsInput).
func openFacts(ctx context.Context, e *env, name string) (stream io.Reader, single []byte, closeIn func(), err error) {
	var in io.Reader = e.stdin
	closeIn = func() {}
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, nil, err
		}
		in, closeIn = f, func() { f.Close() }
	}
	stream, single, err = readFactsInput(ctx, in)
	if err != nil {
		closeIn()
		return nil, nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return stream, single, closeIn, nil
}

func rulesEval(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rules eval", "laborcredit rules eval --rules FILE --facts FILE|-")
	rulesFile := fs.String("rules", "", "rule-set YAML file (required)")
	factsFile := fs.String("facts", "", "facts: one JSON document, or JSON Lines (one employer per line); - for stdin (required)")
	strict := fs.Bool("strict", false, "stop at the first bad line instead of reporting it and going on")
	workers := fs.Int("workers", 0, "goroutines evaluating JSON Lines (default: the number of CPUs)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("rules eval: unexpected argument %q", pos[0])
	}
	if *rulesFile == "" || *factsFile == "" {
		return usagef("rules eval: --rules and --facts are required")
	}
	rs, err := engine.LoadFile(*rulesFile)
	if err != nil {
		return err
	}
	stream, single, closeIn, err := openFacts(ctx, e, *factsFile)
	if err != nil {
		return err
	}
	defer closeIn()
	if single != nil {
		f, err := engine.DecodeFacts(single)
		if err != nil {
			return fmt.Errorf("%s: %w", *factsFile, err)
		}
		res, err := engine.Evaluate(rs, f)
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if err := json.Indent(&out, res.AppendJSON(nil), "", "  "); err != nil {
			return err
		}
		out.WriteByte('\n')
		_, err = e.stdout.Write(out.Bytes())
		return err
	}

	w := bufio.NewWriterSize(e.stdout, 1<<16)
	n, bad := 0, 0
	err = streamFacts(ctx, stream, *workers,
		func(f *engine.Facts) ([]byte, error) {
			res, err := engine.Evaluate(rs, f)
			if err != nil {
				return nil, err
			}
			return append(res.AppendJSON(make([]byte, 0, 512)), '\n'), nil
		},
		func(line int, out []byte, err error) error {
			if err != nil {
				bad++
				fmt.Fprintf(e.stderr, "%s:%d: %v\n", *factsFile, line, err)
				if *strict {
					return errSilent
				}
				return nil
			}
			n++
			_, werr := w.Write(out)
			return werr
		})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if bad > 0 {
		fmt.Fprintf(e.stderr, "%s evaluated, %s\n", plural(n, "employer"), plural(bad, "bad line"))
		return errSilent
	}
	return nil
}

func rulesSimulate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rules simulate", "laborcredit rules simulate --draft FILE (--base FILE --facts FILE|- | --period YEAR [--region CODE] [--db URL])")
	baseFile := fs.String("base", "", "the rule set in force, with --facts")
	draftFile := fs.String("draft", "", "the draft rule set (required)")
	factsFile := fs.String("facts", "", "facts as JSON Lines, or - for stdin")
	period := fs.Int("period", 0, "compare with the period's active rule set over its stored records instead of --base/--facts")
	region := fs.String("region", "", "with --period: the region (default: all)")
	dbf := dbFlag(fs)
	show := fs.Int("show", 20, "how many changed employers to list")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("rules simulate: unexpected argument %q", pos[0])
	}
	stored := *period != 0
	if *draftFile == "" || (stored && (*baseFile != "" || *factsFile != "")) || (!stored && (*baseFile == "" || *factsFile == "")) {
		return usagef("rules simulate: give --draft, and either --base and --facts, or --period")
	}
	draft, err := engine.LoadFile(*draftFile)
	if err != nil {
		return err
	}
	var sim *engine.Simulation
	bad := 0
	if stored {
		svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{})
		if err != nil {
			return err
		}
		defer closeDB()
		if sim, err = svc.SimulatePeriod(ctx, ratings.System, *period, cmp.Or(*region, ratings.AllRegions), draft, *show); err != nil {
			return err
		}
	} else {
		base, err := engine.LoadFile(*baseFile)
		if err != nil {
			return err
		}
		stream, single, closeIn, err := openFacts(ctx, e, *factsFile)
		if err != nil {
			return err
		}
		defer closeIn()
		if single != nil {
			stream = bytes.NewReader(compactJSON(single))
		}
		sim = engine.NewSimulation(base, draft, *show)
		err = streamFacts(ctx, stream, 0,
			func(f *engine.Facts) (engine.Comparison, error) { return engine.Compare(base, draft, f) },
			func(line int, c engine.Comparison, err error) error {
				if err != nil {
					bad++
					fmt.Fprintf(e.stderr, "%s:%d: %v\n", *factsFile, line, err)
					return nil
				}
				sim.Add(c)
				return nil
			})
		if err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sim); err != nil {
			return err
		}
	} else {
		printSimulation(e.stdout, sim)
	}
	if bad > 0 {
		fmt.Fprintf(e.stderr, "%s skipped\n", plural(bad, "bad line"))
		return errSilent
	}
	return nil
}

func rulesUpload(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rules upload", "laborcredit rules upload FILE... [--db URL]")
	dbf := dbFlag(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("rules upload: name at least one rule-set file")
	}
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{})
	if err != nil {
		return err
	}
	defer closeDB()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		row, err := svc.UploadRuleSet(ctx, ratings.System, f, src)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		fmt.Fprintf(e.stdout, "stored %s: %s v%d, %s\n", f, row.Code, row.Version, row.Hash)
	}
	return nil
}

func rulesActivate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rules activate", "laborcredit rules activate --period YEAR (FILE | --hash sha256:…) [--db URL]")
	dbf := dbFlag(fs)
	period := fs.Int("period", 0, "the period (required)")
	hash := fs.String("hash", "", "the stored rule set's hash")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *period == 0 || (len(pos) == 0) == (*hash == "") || len(pos) > 1 {
		return usagef("rules activate: give --period and either one rule-set FILE or --hash")
	}
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{})
	if err != nil {
		return err
	}
	defer closeDB()
	if len(pos) == 1 {
		src, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		row, err := svc.UploadRuleSet(ctx, ratings.System, pos[0], src)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		*hash = row.Hash
	}
	if err := svc.ActivateRuleSet(ctx, ratings.System, *period, *hash); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "period %d is rated with %s\n", *period, *hash)
	return nil
}

func compactJSON(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return b
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func printSimulation(w io.Writer, s *engine.Simulation) {
	fmt.Fprintf(w, "base:  %s (%s)\ndraft: %s (%s)\n\n", s.Base.ID, s.Base.Hash, s.Draft.ID, s.Draft.Hash)
	fmt.Fprintf(w, "%-12s", "base\\draft")
	for _, g := range s.Draft.Grades {
		fmt.Fprintf(w, "%10s", g)
	}
	fmt.Fprintln(w)
	for _, bg := range s.Base.Grades {
		fmt.Fprintf(w, "%-12s", bg)
		for _, dg := range s.Draft.Grades {
			fmt.Fprintf(w, "%10d", s.Matrix[bg][dg])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n%d employers, %d change grade\n", s.Employers, s.Changed)
	if len(s.First) > 0 {
		fmt.Fprintf(w, "\nfirst %d that change:\n", len(s.First))
	}
	for _, c := range s.First {
		fmt.Fprintf(w, "  %s  %s → %s", c.USCC, c.BaseGrade, c.DraftGrade)
		if len(c.OnlyBase) > 0 {
			fmt.Fprintf(w, "  no longer: %s", strings.Join(c.OnlyBase, ", "))
		}
		if len(c.OnlyDraft) > 0 {
			fmt.Fprintf(w, "  now: %s", strings.Join(c.OnlyDraft, ", "))
		}
		fmt.Fprintln(w)
	}
}

// plural writes n and a noun, adding an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
