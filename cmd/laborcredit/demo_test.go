package main

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// demoGradeRe matches one grade line of the demo: grade, count, percentage.
var demoGradeRe = regexp.MustCompile(`(?m)^  grade ([ABC]) +(\d+) +(\d+\.\d)%$`)

func TestDemo(t *testing.T) {
	t.Parallel()
	args := []string{"demo", "--employers", "200", "--seed", "7"}
	first := runCLI(t, "", args...)
	require.Equal(t, exitOK, first.code, first.stderr)
	require.Empty(t, first.stderr)
	require.Contains(t, first.stdout, "laborcredit demo: 200 synthetic employers of Hubei (420000), period 2026, rule set national-2016\nsha256:")

	grades := demoGradeRe.FindAllStringSubmatch(first.stdout, -1)
	require.Len(t, grades, 3, first.stdout)
	total := 0
	for i, g := range grades {
		require.Equal(t, []string{"A", "B", "C"}[i], g[1])
		n, err := strconv.Atoi(g[2])
		require.NoError(t, err)
		total += n
	}
	require.Equal(t, 200, total)

	// the same command line, flags in another order
	second := runCLI(t, "", "demo", "--seed", "7", "--employers", "200")
	require.Equal(t, first, second, "the same seed gives the same output")
}

func TestDemoUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{name: "no employers", args: []string{"--employers", "0"}, stderr: "laborcredit: demo: --employers must be at least 1\nRun with --help for usage.\n"},
		{name: "negative employers", args: []string{"--employers=-3"}, stderr: "laborcredit: demo: --employers must be at least 1\nRun with --help for usage.\n"},
		{name: "positional argument", args: []string{"province"}, stderr: "laborcredit: demo: unexpected argument \"province\"\nRun with --help for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", append([]string{"demo"}, tt.args...)...)
			require.Equal(t, exitUsage, got.code)
			require.Empty(t, got.stdout)
			require.Equal(t, tt.stderr, got.stderr)
		})
	}
}
