package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/ratings"
)

// syncBuffer is a bytes.Buffer that the demo writes to while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	demoSiteRe   = regexp.MustCompile(`(?m)^  (http://[0-9.:]+)/ +search$`)
	demoKeyRe    = regexp.MustCompile(`(?m)^  credit-sharing API key \(.*\): (lck_\S+)$`)
	demoTokenRe  = regexp.MustCompile(`(?m)^  officer token \(湖北省人社厅, province\): +(lct_\S+)$`)
	demoCreditRe = regexp.MustCompile(`(?m)^  curl -s -H 'Authorization: Bearer lck_\S+' \S+/api/v1/credit/(\S+)$`)
	demoGradesRe = regexp.MustCompile(`(?m)^  period (\d{4}) published: A (\d+) · B (\d+) · C (\d+)$`)
)

// TestDemoServes runs the demo end to end on a small province: it loads,
// runs the period, serves, and a published rating it prints is reachable
// from the public API and from the credit API with the key it prints.
func TestDemoServes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "demo.db")
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--employers", "400", "--addr", "127.0.0.1:0", "--db", db}, strings.NewReader(""), &stdout, &stderr)
	}()
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(stdout.String(), "Press Ctrl-C to stop.") {
		select {
		case code := <-done:
			t.Fatalf("demo exited with %d before serving\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "demo did not start serving in time:\n%s", stdout.String())
	}
	out := stdout.String()
	site := demoSiteRe.FindStringSubmatch(out)
	key := demoKeyRe.FindStringSubmatch(out)
	token := demoTokenRe.FindStringSubmatch(out)
	code := demoCreditRe.FindStringSubmatch(out)
	require.NotNil(t, site, out)
	require.NotNil(t, key, out)
	require.NotNil(t, token, out)
	require.NotNil(t, code, out)
	grades := demoGradesRe.FindAllStringSubmatch(out, -1)
	require.Len(t, grades, 2, out)
	require.Equal(t, "2024", grades[0][1])
	require.Equal(t, "2025", grades[1][1])

	get := func(path, secret string) (int, []byte) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, site[1]+path, nil)
		require.NoError(t, err)
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, b
	}
	var public, credit struct {
		USCC   string `json:"uscc"`
		Period int    `json:"period"`
		Grade  string `json:"grade"`
	}
	status, body := get("/api/v1/public/ratings/"+code[1], "")
	require.Equal(t, http.StatusOK, status, string(body))
	require.NoError(t, json.Unmarshal(body, &public))
	status, body = get("/api/v1/credit/"+code[1], key[1])
	require.Equal(t, http.StatusOK, status, string(body))
	require.NoError(t, json.Unmarshal(body, &credit))
	require.Equal(t, code[1], credit.USCC)
	require.Equal(t, 2025, credit.Period)
	require.Equal(t, public, credit)
	status, _ = get("/api/v1/credit/"+code[1], "")
	require.Equal(t, http.StatusUnauthorized, status)
	// The public site shows the same grade on the employer's page.
	status, body = get("/employers/"+code[1], "")
	require.Equal(t, http.StatusOK, status, string(body))
	require.Contains(t, string(body), code[1])
	status, body = get("/?q="+code[1], "")
	require.Equal(t, http.StatusOK, status, string(body))
	require.Contains(t, string(body), "/employers/"+code[1])
	// The officer token works, and the period has ratings under publicity
	// again (the upheld objection) as the demo said.
	status, body = get("/api/v1/ratings?period=2025&status=publicized", token[1])
	require.Equal(t, http.StatusOK, status, string(body))
	require.Contains(t, out, "under publicity again after an upheld objection: ")
	require.Contains(t, string(body), `"status":"publicized"`)

	cancel()
	select {
	case code := <-done:
		require.Equal(t, exitOK, code, stderr.String())
	case <-time.After(time.Minute):
		t.Fatal("demo did not stop after its context ended")
	}
}

// TestDemoLoads checks what the demo leaves in the database, without
// serving: the same seed gives the same grades, the whole procedure ran
// through the real workflow (audited, notified, published), and a
// database that holds employers is refused.
func TestDemoLoads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := runCLI(t, "", "demo", "--no-serve", "--employers", "300", "--seed", "7", "--db", "sqlite://"+filepath.Join(dir, "a.db"))
	require.Equal(t, exitOK, first.code, first.stderr)
	second := runCLI(t, "", "demo", "--seed", "7", "--db", "sqlite://"+filepath.Join(dir, "b.db"), "--employers", "300", "--no-serve")
	require.Equal(t, exitOK, second.code, second.stderr)
	require.Equal(t, demoGradesRe.FindAllString(first.stdout, -1), demoGradesRe.FindAllString(second.stdout, -1))
	require.Len(t, demoGradesRe.FindAllString(first.stdout, -1), 2, first.stdout)
	// The URLs it printed are not served: it says how to serve them.
	require.Contains(t, first.stdout, "not served (--no-serve); serve them with: laborcredit serve --db sqlite://"+filepath.Join(dir, "a.db"))

	ctx := context.Background()
	db, err := ratings.Open(ctx, "sqlite://"+filepath.Join(dir, "a.db"))
	require.NoError(t, err)
	defer db.Close()
	count := func(table, where string, args ...any) int {
		n, err := db.NewSelect().Table(table).Where(where, args...).Count(ctx)
		require.NoError(t, err)
		return int(n)
	}
	require.Equal(t, 300, count("employers", "1 = 1"))
	// Every employer has a published rating of each period, except the one
	// under publicity again.
	require.Equal(t, 300, count("ratings", "current AND status = 'published' AND period = 2024"))
	require.Equal(t, 299, count("ratings", "current AND status = 'published' AND period = 2025"))
	require.Equal(t, 1, count("ratings", "current AND status = 'publicized' AND period = 2025"))
	// Up to two objections by employers graded worst (one upheld) and one
	// by a worker; a small province may have only one employer not graded A.
	require.GreaterOrEqual(t, count("objections", "1 = 1"), 2)
	require.Equal(t, 1, count("objections", "status = 'upheld'"))
	require.Equal(t, 1, count("ratings", "override_reason IS NOT NULL AND period = 2025 AND current AND status = 'published'"))
	require.Positive(t, count("award_nominations", "status = 'approved'"))
	require.Equal(t, 1, count("award_nominations", "status = 'rejected'"))
	require.Positive(t, count("notifications", "kind = 'published'"))
	require.Positive(t, count("audit_log", "action = 'records.import'"))
	_, err = ratings.VerifyAudit(ctx, db)
	require.NoError(t, err)

	// The printed tokens work on the real clock too (laborcredit serve on
	// the demo's database, or on a restored backup of it), for 90 days.
	svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: func() time.Time { return time.Now().Add(89 * 24 * time.Hour) }})
	require.NoError(t, err)
	tokens := regexp.MustCompile(`officer token \([^)]*\): +(lct_\S+)`).FindAllStringSubmatch(first.stdout, -1)
	require.Len(t, tokens, 2, first.stdout)
	for _, m := range tokens {
		_, err := svc.ActorForToken(ctx, m[1])
		require.NoError(t, err, m[0])
	}

	again := runCLI(t, "", "demo", "--no-serve", "--employers", "10", "--db", "sqlite://"+filepath.Join(dir, "a.db"))
	require.Equal(t, exitFailure, again.code)
	require.Contains(t, again.stderr, "the database already holds 300 employers")
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
