package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/ratings/ratingstest"
)

var (
	serveAddrRe    = regexp.MustCompile(`serving on (http://[0-9.:]+)`)
	serveMetricsRe = regexp.MustCompile(`metrics on (http://[0-9.:]+/metrics)`)
)

// TestServeMetrics: with --metrics-token the main listener's /metrics
// wants the token, and --metrics-addr serves the metrics on a listener of
// its own (also behind the token); a bad --trusted-proxies is refused.
func TestServeMetrics(t *testing.T) {
	t.Parallel()
	db := ratingstest.SQLiteURL(t)
	var badOut, badErr syncBuffer
	code := run(context.Background(), []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--trusted-proxies", "nonsense"},
		strings.NewReader(""), &badOut, &badErr)
	require.NotZero(t, code)
	require.Contains(t, badErr.String(), "trusted-proxies")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--metrics-token", "mt0k",
			"--trusted-proxies", "10.0.0.0/8,192.0.2.1", "--tick", "0"}, strings.NewReader(""), &stdout, &stderr)
	}()
	deadline := time.Now().Add(time.Minute)
	for !serveMetricsRe.MatchString(stdout.String()) {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), stdout.String())
	}
	site := serveAddrRe.FindStringSubmatch(stdout.String())[1]
	metrics := serveMetricsRe.FindStringSubmatch(stdout.String())[1]
	get := func(url, token string) int {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	require.Equal(t, http.StatusOK, get(site+"/healthz", ""))
	require.Equal(t, http.StatusUnauthorized, get(site+"/metrics", ""))
	require.Equal(t, http.StatusOK, get(site+"/metrics", "mt0k"))
	require.Equal(t, http.StatusUnauthorized, get(metrics, "wrong"))
	require.Equal(t, http.StatusOK, get(metrics, "mt0k"))
	cancel()
	select {
	case code := <-done:
		require.Zero(t, code, stderr.String())
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop")
	}
}
