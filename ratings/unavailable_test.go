package ratings_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/ratings"
)

// TestUnavailable checks that a database that cannot be reached is
// reported as ErrUnavailable-like, quickly, and that other errors are not.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now

	start := time.Now()
	_, err = ratings.Open(context.Background(), "postgres://postgres@"+addr+"/x?sslmode=disable")
	require.Error(t, err)
	require.Less(t, time.Since(start), ratings.ConnectTimeout+time.Second)
	require.True(t, ratings.IsUnavailable(err), "%v", err)

	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "sentinel", err: ratings.ErrUnavailable, want: true},
		{name: "wrapped sentinel", err: errors.Join(errors.New("load"), ratings.ErrUnavailable), want: true},
		{name: "deadline", err: context.DeadlineExceeded, want: true},
		{name: "not found", err: ratings.ErrNotFound, want: false},
		{name: "conflict", err: ratings.ErrConflict, want: false},
		{name: "validation", err: &ratings.ValidationError{Field: "x", Reason: "y"}, want: false},
		{name: "other", err: errors.New("boom"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, ratings.IsUnavailable(tt.err))
		})
	}
}
