package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/api"
	"laborcredit/ratings"
)

// TestDatabaseOutage stops a PostgreSQL of the test's own under a running
// server and starts it again: while it is down, /healthz answers, /readyz
// says why not, and every request fails fast with 503 problem+json and
// Retry-After, without goroutines piling up; when it is back, requests
// succeed again without restarting the server.
func TestDatabaseOutage(t *testing.T) {
	// Not parallel: it counts the process's goroutines, and parallel tests
	// start their own (a sequential test runs while they wait).
	pg := startPostgres(t)
	url := pg.createDB(t, "outage")
	ctx := context.Background()
	db, err := ratings.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = ratings.MigrateUp(ctx, db)
	require.NoError(t, err)
	svc, err := ratings.NewService(db, ratings.ServiceParams{})
	require.NoError(t, err)
	_, token, err := svc.CreateUser(ctx, ratings.System, "江岸区监察大队", ratings.RoleCounty, "420102", "")
	require.NoError(t, err)
	qlog := ratings.NewQueryLog(db, nil)
	t.Cleanup(qlog.Close)
	// 200 requests at once from one address: above the public limits.
	limits := api.IPLimits{GetPerSecond: 1e6, GetBurst: 1e6, PostPerSecond: 1e6, PostBurst: 1e6}
	srv := httptest.NewServer(api.New(svc, api.Options{QueryLog: qlog, PublicLimits: limits}))
	t.Cleanup(srv.Close)

	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	t.Cleanup(tr.CloseIdleConnections)
	cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	// Requests that need the database: a public page and an officer's
	// list (whose token is looked up first).
	paths := []struct{ path, token string }{
		{"/api/v1/public/ratings/91420102MA0001034J", ""},
		{"/api/v1/ratings?period=2026", token},
		{"/api/v1/public/ratings?q=武汉", ""},
	}
	get := func(path, token string) (int, http.Header, []byte, error) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			return 0, nil, nil, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := cl.Do(req)
		if err != nil {
			return 0, nil, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, b, err
	}
	healthy := func() {
		t.Helper()
		for _, p := range paths {
			status, _, body, err := get(p.path, p.token)
			require.NoError(t, err)
			require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, status, "%s: %s", p.path, body)
		}
	}
	healthy()

	pg.stop(t)
	tr.CloseIdleConnections()
	before := runtime.NumGoroutine()
	const concurrent = 200
	type answer struct {
		status int
		header http.Header
		body   []byte
		took   time.Duration
		err    error
	}
	answers := make([]answer, concurrent)
	var wg sync.WaitGroup
	for i := range concurrent {
		wg.Go(func() {
			p := paths[i%len(paths)]
			start := time.Now()
			status, h, b, err := get(p.path, p.token)
			answers[i] = answer{status, h, b, time.Since(start), err}
		})
	}
	wg.Wait()
	for i, a := range answers {
		require.NoError(t, a.err, "request %d", i)
		require.Equal(t, http.StatusServiceUnavailable, a.status, "request %d: %s", i, a.body)
		require.Less(t, a.took, 5*time.Second, "request %d took too long", i)
		require.Equal(t, "application/problem+json", a.header.Get("Content-Type"))
		require.NotEmpty(t, a.header.Get("Retry-After"))
		_, err := strconv.Atoi(a.header.Get("Retry-After"))
		require.NoError(t, err)
		var p struct {
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		require.NoError(t, json.Unmarshal(a.body, &p), string(a.body))
		require.Equal(t, http.StatusServiceUnavailable, p.Status)
	}
	// The handlers' goroutines have ended: none waits on the database.
	tr.CloseIdleConnections()
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+20 }, 5*time.Second, 50*time.Millisecond,
		"goroutines before %d, now %d", before, runtime.NumGoroutine())

	status, _, body, err := get("/healthz", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, string(body))
	status, h, body, err := get("/readyz", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, status, string(body))
	require.NotEmpty(t, h.Get("Retry-After"))
	var ready map[string]any
	require.NoError(t, json.Unmarshal(body, &ready))
	require.Equal(t, "database unreachable", ready["status"])
	require.Equal(t, "unreachable", ready["reason"])

	// Back up: the same server answers again, by itself.
	pg.start(t)
	require.Eventually(t, func() bool {
		status, _, _, err := get("/readyz", "")
		return err == nil && status == http.StatusOK
	}, 15*time.Second, 100*time.Millisecond)
	healthy()

	// Hung: the server stops answering but its connections stay open.
	// Deadlines still hold: /readyz says "timeout" within its 2 s, a
	// query with a deadline returns at it, and nothing stays blocked.
	t0 := time.Now()
	pg.freeze(t, syscall.SIGSTOP)
	thawed := false
	t.Cleanup(func() {
		if !thawed {
			pg.freeze(t, syscall.SIGCONT)
		}
	})
	tr.CloseIdleConnections()
	before = runtime.NumGoroutine()
	for i := range concurrent / 4 {
		wg.Go(func() {
			start := time.Now()
			status, _, body, err := get("/readyz", "")
			answers[i] = answer{status: status, body: body, took: time.Since(start), err: err}
		})
	}
	wg.Wait()
	for i, a := range answers[:concurrent/4] {
		require.NoError(t, a.err, "readyz %d", i)
		require.Equal(t, http.StatusServiceUnavailable, a.status, "readyz %d: %s", i, a.body)
		require.Less(t, a.took, 4*time.Second, "readyz %d", i)
		require.NoError(t, json.Unmarshal(a.body, &ready))
		require.Equal(t, "timeout", ready["reason"], string(a.body))
	}
	t.Logf("readyz done at %s", time.Since(t0))
	qctx, cancel := context.WithTimeout(ctx, time.Second)
	start := time.Now()
	_, err = svc.CreditDocument(qctx, "91420102MA0001034J")
	cancel()
	require.Error(t, err)
	require.True(t, ratings.IsUnavailable(err), "%v", err)
	require.Less(t, time.Since(start), 3*time.Second)
	status, _, body, err = get("/healthz", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, string(body))
	tr.CloseIdleConnections()
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+20 }, 5*time.Second, 50*time.Millisecond,
		"goroutines before %d, now %d", before, runtime.NumGoroutine())
	t.Logf("goroutines done at %s", time.Since(t0))
	pg.freeze(t, syscall.SIGCONT)
	thawed = true
	require.Eventually(t, func() bool {
		status, _, _, err := get("/readyz", "")
		return err == nil && status == http.StatusOK
	}, 15*time.Second, 100*time.Millisecond)
	t.Logf("ready at %s", time.Since(t0))
	healthy()
}
