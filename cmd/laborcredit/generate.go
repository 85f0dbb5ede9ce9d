package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"laborcredit/ratings"
)

// generateCommand writes a synthetic province as the CSV record files that
// `laborcredit import` reads (docs/IMPORT.md).
func generateCommand() *command {
	return &command{name: "generate", short: "write a synthetic province as CSV record files (docs/IMPORT.md)", run: runGenerate}
}

func runGenerate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "generate", "laborcredit generate --out DIR [--employers N] [--period YEAR] [--years K] [--seed S] [--province CODE]")
	n := fs.Int("employers", 10000, "number of employers")
	period := fs.Int("period", 2026, "the last period (calendar year) to write records for, 1990–2100")
	years := fs.Int("years", 1, "write records for the K periods ending at --period; employers are written once")
	seed := fs.Uint64("seed", 1, "random seed; the same flags give byte-identical files, another seed other data")
	province := fs.String("province", "420000", "province-level GB/T 2260 code whose counties the employers lie in")
	out := fs.String("out", "", "directory for employers.csv, reviews.csv, cases.csv, complaints.csv and deposits.csv (created if missing; files of those names are replaced, other files are left alone)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("generate: unexpected argument %q", pos[0])
	}
	p := generateParams{Employers: *n, Period: *period, Years: *years, Seed: *seed, Province: *province, Out: *out}
	regs, err := ratings.DefaultRegions()
	if err != nil {
		return err
	}
	if err := p.check(regs); err != nil {
		return usagef("generate: %v", err)
	}
	start := time.Now()
	st, err := generateProvince(ctx, p)
	if err != nil {
		return err
	}
	prov, _ := regs.Lookup(p.Province)
	fmt.Fprintf(e.stdout, "laborcredit generate: %d employers of %s (%s), %s, seed %d, in %.2fs\n",
		p.Employers, prov.Name, prov.Code, periodRange(p.Period-p.Years+1, p.Period), p.Seed, time.Since(start).Seconds())
	for k, name := range genFileNames {
		fmt.Fprintf(e.stdout, "  %-40s %10d rows\n", filepath.Join(p.Out, name), st.rows(k))
	}
	fmt.Fprintf(e.stdout, "  %d bytes in all\n", st.Bytes)
	return nil
}

func periodRange(first, last int) string {
	if first == last {
		return "period " + strconv.Itoa(last)
	}
	return fmt.Sprintf("periods %d–%d", first, last)
}

// generateParams says what generateProvince writes.
type generateParams struct {
	// Employers is the number of employers, at least 1.
	Employers int
	// Period is the last period (calendar year, 1990–2100) with records.
	Period int
	// Years is the number of periods with records, ending at Period; 0
	// means 1. Employers are written once whatever it is.
	Years int
	// Seed makes the province: the same parameters give byte-identical files.
	Seed uint64
	// Province is the province-level GB/T 2260 code, e.g. "420000" (Hubei).
	Province string
	// Out is the directory to write into, created if missing. Files named
	// as the five record files are replaced; other files are left alone.
	Out string
}

// maxGenerateEmployers bounds --employers: the numeric organisation codes
// are a permutation of 10^8 values (see newGenerator).
const maxGenerateEmployers = 100_000_000

// paramError is a generate parameter out of range, named by its flag.
type paramError struct{ flag, reason string }

func (e *paramError) Error() string { return "--" + e.flag + " " + e.reason }

// check validates the parameters and names the flag at fault.
func (p *generateParams) check(regs *ratings.Regions) error {
	switch {
	case p.Employers < 1 || p.Employers > maxGenerateEmployers:
		return &paramError{"employers", fmt.Sprintf("must be from 1 to %d, got %d", maxGenerateEmployers, p.Employers)}
	case p.Period < 1990 || p.Period > 2100:
		return &paramError{"period", fmt.Sprintf("must be a year from 1990 to 2100, got %d", p.Period)}
	case p.Years < 1 || p.Period-p.Years+1 < 1990:
		return &paramError{"years", fmt.Sprintf("must be at least 1 and reach back no further than 1990, got %d", p.Years)}
	case p.Out == "":
		return &paramError{"out", "is required: the directory to write the CSV files into"}
	}
	if r, ok := regs.Lookup(p.Province); !ok || r.Level != ratings.LevelProvince {
		return &paramError{"province", fmt.Sprintf("%q is not a province-level code of the GB/T 2260 list (revision %s), e.g. 420000", p.Province, regs.Revision())}
	}
	return nil
}

// The five record files, in the order of genFileNames.
const (
	fileEmployers = iota
	fileReviews
	fileCases
	fileComplaints
	fileDeposits
	genFiles
)

var genFileNames = [genFiles]string{"employers.csv", "reviews.csv", "cases.csv", "complaints.csv", "deposits.csv"}

// genHeader is the header line of record file k: the import's own
// English headers, so a generated file always reads back.
func genHeader(k int) string {
	cols, err := ratings.ImportColumns(strings.TrimSuffix(genFileNames[k], ".csv"))
	if err != nil {
		panic(err) // the five names are the import's kinds
	}
	return strings.Join(cols, ",")
}

// generateStats is what generateProvince wrote: data rows per file (the
// header line not counted) and the size of the five files.
type generateStats struct {
	Employers  int   // rows of employers.csv
	Reviews    int   // rows of reviews.csv
	Cases      int   // rows of cases.csv
	Complaints int   // rows of complaints.csv
	Deposits   int   // rows of deposits.csv
	Bytes      int64 // total size of the five files in bytes
}

func (s generateStats) rows(file int) int {
	return [genFiles]int{s.Employers, s.Reviews, s.Cases, s.Complaints, s.Deposits}[file]
}

// generateProvince writes a synthetic province as the five CSV record files
// of docs/IMPORT.md (English headers) into p.Out: Employers employers in the
// county-level regions of p.Province, and for each of the p.Years periods
// ending at p.Period their annual reviews, cases, complaints and wage
// deposits, at the rates of DOMAIN.md (see generator).
//
// It streams one employer at a time, so memory does not grow with
// Employers. Each file is written under a temporary name in p.Out and
// renamed over its final name once all five are complete and synced: a
// failed or killed run leaves no half-written file under a final name (a
// kill between two of the five renames can leave a mix of old and new
// complete files; the temporary files of a killed run stay behind as
// .NAME.*.tmp).
func generateProvince(ctx context.Context, p generateParams) (generateStats, error) {
	regs, err := ratings.DefaultRegions()
	if err != nil {
		return generateStats{}, err
	}
	if p.Years == 0 {
		p.Years = 1
	}
	if err := p.check(regs); err != nil {
		return generateStats{}, fmt.Errorf("generate: %w", err)
	}
	g, err := newGenerator(p, regs)
	if err != nil {
		return generateStats{}, err
	}
	if err := os.MkdirAll(p.Out, 0o755); err != nil {
		return generateStats{}, fmt.Errorf("generate: %w", err)
	}
	var tmp [genFiles]*os.File
	defer func() {
		for _, f := range tmp {
			if f != nil {
				f.Close()
				os.Remove(f.Name())
			}
		}
	}()
	for k, name := range genFileNames {
		f, err := os.CreateTemp(p.Out, "."+name+".*.tmp")
		if err != nil {
			return generateStats{}, fmt.Errorf("generate: %w", err)
		}
		tmp[k] = f
		g.w[k] = bufio.NewWriterSize(f, 256<<10)
		g.w[k].WriteString(genHeader(k))
		g.w[k].WriteByte('\n')
	}
	for i := range p.Employers {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return generateStats{}, fmt.Errorf("generate: %w", err)
			}
			if g.err != nil {
				break
			}
		}
		g.employer(i)
	}
	var st generateStats
	for k, f := range tmp {
		if err := g.w[k].Flush(); err != nil { // a bufio.Writer keeps its first error
			return generateStats{}, fmt.Errorf("generate: write %s: %w", genFileNames[k], err)
		}
		if err := f.Chmod(0o644); err != nil { // CreateTemp makes 0600
			return generateStats{}, fmt.Errorf("generate: %w", err)
		}
		if err := f.Sync(); err != nil {
			return generateStats{}, fmt.Errorf("generate: sync %s: %w", genFileNames[k], err)
		}
		fi, err := f.Stat()
		if err != nil {
			return generateStats{}, fmt.Errorf("generate: %w", err)
		}
		st.Bytes += fi.Size()
	}
	for k, f := range tmp {
		if err := f.Close(); err != nil {
			return generateStats{}, fmt.Errorf("generate: close %s: %w", genFileNames[k], err)
		}
	}
	for k, f := range tmp {
		if err := os.Rename(f.Name(), filepath.Join(p.Out, genFileNames[k])); err != nil {
			return generateStats{}, fmt.Errorf("generate: %w", err)
		}
		tmp[k] = nil
	}
	st.Employers, st.Reviews, st.Cases = g.rows[fileEmployers], g.rows[fileReviews], g.rows[fileCases]
	st.Complaints, st.Deposits = g.rows[fileComplaints], g.rows[fileDeposits]
	return st, nil
}
