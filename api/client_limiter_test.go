package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLRULimiter(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 4, 8, 10, 0, 0, 0, time.UTC)
	t.Run("burst then rate", func(t *testing.T) {
		t.Parallel()
		k := newLRULimiter[int64](10, time.Minute)
		require.Zero(t, k.take(1, t0, 1, 2))
		require.Zero(t, k.take(1, t0, 1, 2))
		require.Equal(t, time.Second, k.take(1, t0, 1, 2), "the third waits a second")
		require.Equal(t, 250*time.Millisecond, k.take(1, t0.Add(750*time.Millisecond), 1, 2), "a refused take spends nothing")
		require.Zero(t, k.take(1, t0.Add(time.Second), 1, 2))
		require.Zero(t, k.take(2, t0, 1, 2), "other keys are not held back")
	})
	t.Run("a million keys, bounded", func(t *testing.T) {
		t.Parallel()
		k := newLRULimiter[int](1000, time.Minute)
		for i := range 1_000_000 {
			k.take(i, t0, 10, 20)
		}
		require.Equal(t, 1000, k.len())
	})
	t.Run("idle keys forgotten", func(t *testing.T) {
		t.Parallel()
		k := newLRULimiter[string](1000, time.Minute)
		for _, key := range []string{"a", "b", "c"} {
			k.take(key, t0, 1, 2)
		}
		k.take("a", t0.Add(30*time.Second), 1, 2)
		k.take("d", t0.Add(61*time.Second), 1, 2)
		require.Equal(t, 2, k.len(), "b and c were idle a minute")
	})
	t.Run("limit follows the latest call", func(t *testing.T) {
		t.Parallel()
		k := newLRULimiter[int](10, time.Minute)
		require.Zero(t, k.take(1, t0, 1, 1))
		require.Equal(t, time.Second, k.take(1, t0, 1, 1))
		require.Equal(t, 100*time.Millisecond, k.take(1, t0, 10, 1))
	})
}
