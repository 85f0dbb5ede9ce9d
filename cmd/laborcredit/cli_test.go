package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// nationalRules is the national rule set, seen from this package's folder.
const nationalRules = "../../scoring-rules/national-2016.yaml"

// cliResult is what one run of the command line gave.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line in-process with stdin as its input.
func runCLI(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	return runCLIContext(t.Context(), stdin, args...)
}

func runCLIContext(ctx context.Context, stdin string, args ...string) cliResult {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestRunExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string // substrings of stdout
		stderr   []string // substrings of stderr
		noStdout bool
		noStderr bool
	}{
		{
			name:   "no arguments prints the help on stderr",
			args:   nil,
			code:   exitUsage,
			stderr: []string{"Usage: laborcredit <command> [flags] [args]", "  demo ", "  rules ", "laborcredit: laborcredit needs a subcommand\nRun with --help for usage.\n"},
			// the help is on stderr, stdout stays clean
			noStdout: true,
		},
		{
			name:     "unknown command",
			args:     []string{"frobnicate"},
			code:     exitUsage,
			stderr:   []string{"laborcredit: unknown command \"frobnicate\" for laborcredit\nRun with --help for usage.\n"},
			noStdout: true,
		},
		{
			name:     "unknown rules subcommand",
			args:     []string{"rules", "frob"},
			code:     exitUsage,
			stderr:   []string{"laborcredit: unknown command \"frob\" for laborcredit rules\n"},
			noStdout: true,
		},
		{
			name:     "rules without a subcommand prints its help on stderr",
			args:     []string{"rules"},
			code:     exitUsage,
			stderr:   []string{"Usage: laborcredit rules <command>", "  check ", "  simulate ", "laborcredit: laborcredit rules needs a subcommand\n"},
			noStdout: true,
		},
		{
			name:     "--help at the root",
			args:     []string{"--help"},
			code:     exitOK,
			stdout:   []string{"Usage: laborcredit <command> [flags] [args]", "  demo ", "  rules ", "Run 'laborcredit <command> --help'"},
			noStderr: true,
		},
		{
			name:     "-h at the root",
			args:     []string{"-h"},
			code:     exitOK,
			stdout:   []string{"Usage: laborcredit <command> [flags] [args]"},
			noStderr: true,
		},
		{
			name:     "help at the root",
			args:     []string{"help"},
			code:     exitOK,
			stdout:   []string{"Usage: laborcredit <command> [flags] [args]"},
			noStderr: true,
		},
		{
			name:     "--help at rules",
			args:     []string{"rules", "--help"},
			code:     exitOK,
			stdout:   []string{"Usage: laborcredit rules <command> [flags] [args]", "  check ", "  test ", "  eval ", "  simulate "},
			noStderr: true,
		},
		{
			name:     "--help at rules eval lists its flags",
			args:     []string{"rules", "eval", "--help"},
			code:     exitOK,
			stdout:   []string{"Usage: laborcredit rules eval --rules FILE --facts FILE|-", "Flags:", "  -rules string", "  -facts string", "  -strict", "  -workers int"},
			noStderr: true,
		},
		{
			name:     "-h at rules eval",
			args:     []string{"rules", "eval", "-h"},
			code:     exitOK,
			stdout:   []string{"Usage: laborcredit rules eval", "  -rules string"},
			noStderr: true,
		},
		{
			name:     "--help at rules check",
			args:     []string{"rules", "check", "--help"},
			code:     exitOK,
			stdout:   []string{"Usage: laborcredit rules check FILE..."},
			noStderr: true,
		},
		{
			name:     "--help at rules test lists -v",
			args:     []string{"rules", "test", "--help"},
			code:     exitOK,
			stdout:   []string{"Usage: laborcredit rules test [PATH...]", "  -v\t"},
			noStderr: true,
		},
		{
			name:     "--help at rules simulate lists its flags",
			args:     []string{"rules", "simulate", "--help"},
			code:     exitOK,
			stdout:   []string{"Usage: laborcredit rules simulate", "  -base string", "  -draft string", "  -facts string", "  -json", "  -show int"},
			noStderr: true,
		},
		{
			name:     "--help at demo lists its flags",
			args:     []string{"demo", "--help"},
			code:     exitOK,
			stdout:   []string{"Usage: laborcredit demo", "  -employers int", "  -seed uint"},
			noStderr: true,
		},
		{
			name:     "--help after a positional argument",
			args:     []string{"rules", "check", nationalRules, "--help"},
			code:     exitOK,
			stdout:   []string{"Usage: laborcredit rules check FILE..."},
			noStderr: true,
		},
		{
			name:   "unknown flag",
			args:   []string{"rules", "eval", "--bogus"},
			code:   exitUsage,
			stderr: []string{"laborcredit: rules eval: flag provided but not defined: -bogus\nRun with --help for usage.\n"},
		},
		{
			name:   "unknown flag after a positional argument",
			args:   []string{"rules", "check", nationalRules, "--bogus"},
			code:   exitUsage,
			stderr: []string{"laborcredit: rules check: flag provided but not defined: -bogus\n"},
		},
		{
			name:   "bad flag value",
			args:   []string{"demo", "--employers", "many"},
			code:   exitUsage,
			stderr: []string{"laborcredit: demo: invalid value \"many\" for flag -employers"},
		},
		{
			name:     "rules check without files",
			args:     []string{"rules", "check"},
			code:     exitUsage,
			stderr:   []string{"laborcredit: rules check: name at least one rule-set file\n"},
			noStdout: true,
		},
		{
			name:     "rules eval with a positional argument",
			args:     []string{"rules", "eval", "--rules", nationalRules, "--facts", "-", "extra"},
			code:     exitUsage,
			stderr:   []string{"laborcredit: rules eval: unexpected argument \"extra\"\n"},
			noStdout: true,
		},
		{
			name:     "rules check of a missing file is a failure, not bad usage",
			args:     []string{"rules", "check", "no-such-rules.yaml"},
			code:     exitFailure,
			stderr:   []string{"no-such-rules.yaml: read rule set: open no-such-rules.yaml: no such file or directory\n", "1 of 1 rule sets have errors\n"},
			noStdout: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", tt.args...)
			require.Equal(t, tt.code, got.code, "stdout:\n%s\nstderr:\n%s", got.stdout, got.stderr)
			for _, s := range tt.stdout {
				require.Contains(t, got.stdout, s)
			}
			for _, s := range tt.stderr {
				require.Contains(t, got.stderr, s)
			}
			if tt.noStdout {
				require.Empty(t, got.stdout)
			}
			if tt.noStderr {
				require.Empty(t, got.stderr)
			}
		})
	}
}

func TestRunHelpPrintedOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{name: "rules eval", args: []string{"rules", "eval", "--help"}},
		{name: "rules check", args: []string{"rules", "check", "-h"}},
		{name: "demo", args: []string{"demo", "--help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", tt.args...)
			require.Equal(t, exitOK, got.code)
			require.Equal(t, 1, strings.Count(got.stdout, "Usage:"), got.stdout)
		})
	}
}

func TestRunUsageErrorKeepsStdoutClean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{name: "unknown flag", args: []string{"rules", "eval", "--bogus"}},
		{name: "bad flag value", args: []string{"demo", "--employers", "many"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", tt.args...)
			require.Equal(t, exitUsage, got.code)
			require.Empty(t, got.stdout)
			require.Contains(t, got.stderr, "Run with --help for usage.")
		})
	}
}

func TestRunFlagsAnywhere(t *testing.T) {
	t.Parallel()
	// rules test runs on a folder of its own, so that only the flags matter
	dir := t.TempDir()
	writeFile(t, dir, "tiny.yaml", tinyRules)
	writeFile(t, dir, "tiny_test.yaml", `defaults:
  period: 2026
  employer: {uscc: 91420102MA4K12345G, name: 武汉某建筑有限公司, region: "420102"}
cases:
  - name: no case is A
    facts: {}
    want: {grade: A, fired: []}
  - name: an order refused is C
    facts:
      cases: [{id: WH-1, source: complaint, opened: 2026-03-02, violations: [], outcome: pending, order_refused: true}]
    want: {grade: C, fired: [c-order-refused]}
`)
	tests := []struct {
		name   string
		before []string
		after  []string
		stdout string // the whole of stdout; "" to only compare the two runs
	}{
		{
			name:   "rules test -v",
			before: []string{"rules", "test", "-v", dir},
			after:  []string{"rules", "test", dir, "-v"},
			stdout: "ok   " + filepath.Join(dir, "tiny_test.yaml") + ":5: no case is A\n" +
				"ok   " + filepath.Join(dir, "tiny_test.yaml") + ":8: an order refused is C\n" +
				"2 passed, 0 failed\n",
		},
		{
			name:   "rules eval flags in any order",
			before: []string{"rules", "eval", "--rules", nationalRules, "--facts", "../../testdata/facts/violation.json"},
			after:  []string{"rules", "eval", "--facts", "../../testdata/facts/violation.json", "--rules", nationalRules},
		},
		{
			name:   "rules check with -- between files",
			before: []string{"rules", "check", nationalRules, nationalRules},
			after:  []string{"rules", "check", nationalRules, "--", nationalRules},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := runCLI(t, "", tt.before...)
			after := runCLI(t, "", tt.after...)
			require.Equal(t, exitOK, before.code, before.stderr)
			require.Equal(t, before, after)
			require.NotEmpty(t, before.stdout)
			if tt.stdout != "" {
				require.Equal(t, tt.stdout, before.stdout)
			}
		})
	}
}

func TestRunDoubleDash(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{
			name:   "--help after -- is a file name",
			args:   []string{"rules", "check", "--", "--help"},
			code:   exitFailure,
			stderr: "--help: read rule set: open --help: no such file or directory\n1 of 1 rule sets have errors\n",
		},
		{
			name:   "-v after -- is a path",
			args:   []string{"rules", "test", "--", "-v"},
			code:   exitFailure,
			stderr: "laborcredit: stat -v: no such file or directory\n",
		},
		{
			name:   "a flag before -- still counts",
			args:   []string{"rules", "check", "-h", "--", "x.yaml"},
			code:   exitOK,
			stdout: "Usage: laborcredit rules check FILE...",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", tt.args...)
			require.Equal(t, tt.code, got.code, got.stderr)
			if tt.stdout == "" {
				require.Empty(t, got.stdout)
			} else {
				require.Contains(t, got.stdout, tt.stdout)
			}
			require.Equal(t, tt.stderr, got.stderr)
		})
	}
}
