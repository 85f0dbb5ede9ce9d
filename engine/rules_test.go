package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRuleSetCases runs every scoring-rules/*_test.yaml case as a subtest.
func TestRuleSetCases(t *testing.T) {
	t.Parallel()
	files, err := TestFiles("../scoring-rules")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		results, err := RunTestFile(file)
		require.NoError(t, err, file)
		for _, r := range results {
			t.Run(file+"/"+r.Name, func(t *testing.T) {
				t.Parallel()
				require.Empty(t, r.Failures, r.String())
			})
		}
	}
}
