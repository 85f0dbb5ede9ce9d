package ratings_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine running (a
// query-log writer not closed, a COPY not ended, a watcher not stopped).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
