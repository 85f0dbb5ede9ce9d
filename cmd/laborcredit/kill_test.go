package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
	scoringrules "laborcredit/scoring-rules"
)

// serveHelperEnv carries the arguments of `laborcredit serve` (one per
// line) to TestHelperServeProcess in a child process of the test binary.
const serveHelperEnv = "LABORCREDIT_TEST_SERVE_HELPER"

// TestHelperServeProcess is not a test: run as a child process (with
// serveHelperEnv set) it is the command, as main runs it, until it is
// killed. Re-running the test binary spares the tests a link of the
// command (over ten seconds on a busy machine) and runs the same code.
func TestHelperServeProcess(t *testing.T) {
	args := os.Getenv(serveHelperEnv)
	if args == "" {
		t.Skip("not a test: the server of TestServerSurvivesSIGKILL")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, strings.Split(args, "\n"), os.Stdin, os.Stdout, os.Stderr))
}

// serverProcess is `laborcredit serve` running in a child process.
type serverProcess struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT
	done chan error
	out  *syncBuffer
}

var servingRe = regexp.MustCompile(`serving on (http://\S+) `)

// startServer starts `laborcredit serve` on the database and waits until
// it answers /readyz.
func startServer(t *testing.T, url string) *serverProcess {
	t.Helper()
	p := &serverProcess{cmd: exec.Command(os.Args[0], "-test.run=^TestHelperServeProcess$", "-test.count=1"),
		done: make(chan error, 1), out: &syncBuffer{}}
	p.cmd.Env = append(os.Environ(), serveHelperEnv+"="+strings.Join([]string{"serve", "--addr", "127.0.0.1:0", "--db", url, "--tick", "0"}, "\n"))
	p.cmd.Stderr = p.out
	stdout, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() { p.cmd.Process.Kill() }) //nolint:errcheck // may have ended
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := servingRe.FindStringSubmatch(sc.Text()); m != nil {
			p.base = m[1]
			break
		}
	}
	require.NotEmpty(t, p.base, "the server did not start: %s", p.out.String())
	go func() {
		io.Copy(io.Discard, stdout) //nolint:errcheck // to the end, before Wait
		p.done <- p.cmd.Wait()
	}()
	require.Eventually(t, func() bool {
		res, err := http.Get(p.base + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "the server is not ready: %s", p.out.String())
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serverProcess) kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // it may be dead already
	err := <-p.done
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	ws, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, ws.Signaled(), "the server was not killed by the signal: %v", err)
}

// killClient talks to the server with a bearer token.
type killClient struct {
	http  *http.Client
	token string
}

// do sends a request and decodes a 2xx answer into out; err is a
// transport error (the server is gone: the outcome is unknown).
func (c *killClient) do(method, url string, body io.Reader, contentType string, out any) (int, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	if res.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, fmt.Errorf("decode %s: %w", b, err)
		}
	}
	return res.StatusCode, nil
}

type killRating struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	LockVersion int    `json:"lock_version"`
}

// killFixture loads a small generated province into a migrated database,
// rates 2025 and returns a provincial officer's token. It goes through
// the Service, as the demo does.
func killFixture(t *testing.T, url string, employers int) string {
	t.Helper()
	ctx := context.Background()
	db, err := ratings.Open(ctx, url)
	require.NoError(t, err)
	defer db.Close()
	svc, err := ratings.NewService(db, ratings.ServiceParams{})
	require.NoError(t, err)
	dir := t.TempDir()
	_, err = generateProvince(ctx, generateParams{Employers: employers, Period: 2025, Seed: 3, Province: "420000", Out: dir})
	require.NoError(t, err)
	admin := ratings.Actor{Name: "系统管理员", Role: ratings.RoleAdmin, Region: "420000"}
	for _, kind := range []string{"employers", "reviews", "cases", "complaints", "deposits"} {
		f, err := os.Open(filepath.Join(dir, kind+".csv"))
		require.NoError(t, err)
		_, err = svc.Import(ctx, admin, ratings.ImportParams{Kind: kind, FileName: kind + ".csv", Reader: f})
		f.Close()
		require.NoError(t, err, kind)
	}
	src, err := scoringrules.FS.ReadFile("national-2016.yaml")
	require.NoError(t, err)
	rs, err := svc.UploadRuleSet(ctx, admin, "national-2016.yaml", src)
	require.NoError(t, err)
	require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2025, rs.Hash))
	rep, err := svc.Rate(ctx, admin, ratings.RateParams{Period: 2025, Region: ratings.AllRegions})
	require.NoError(t, err)
	require.Equal(t, employers, rep.Rated)
	_, token, err := svc.CreateUser(ctx, admin, "湖北省人社厅", ratings.RoleProvince, "420000", "")
	require.NoError(t, err)
	return token
}

// TestServerSurvivesSIGKILL kills `laborcredit serve` with SIGKILL at a
// random moment while an officer reviews and confirms ratings one by one,
// and again during an import over HTTP, and restarts it on the same
// database: every acknowledged transition is there, none is doubled (one
// audit entry each, no new rating versions), the import is all or nothing,
// and `laborcredit audit verify` passes.
func TestServerSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{name: "sqlite", url: func(t *testing.T) string { return ratingstest.SQLiteURL(t) }},
		{name: "postgres", url: func(t *testing.T) string { return ratingstest.PostgresURL(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := tt.url(t)
			t0 := time.Now()
			const employers = 60
			token := killFixture(t, url, employers)
			t.Logf("fixture in %s", time.Since(t0))
			cl := &killClient{http: &http.Client{Timeout: time.Minute}, token: token}
			ctx := context.Background()

			// (a) Workflow transitions, one request at a time.
			srv := startServer(t, url)
			var page struct {
				Ratings []killRating `json:"ratings"`
			}
			status, err := cl.do(http.MethodGet, srv.base+"/api/v1/ratings?period=2025&status=rated", nil, "", &page)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
			require.Len(t, page.Ratings, employers)
			initial := map[int64]int{} // rating → lock version as rated
			for _, r := range page.Ratings {
				initial[r.ID] = r.LockVersion
			}
			// acked[id] is the number of transitions acknowledged (1:
			// reviewed, 2: confirmed); sent counts those sent.
			acked, sent := map[int64]int{}, map[int64]int{}
			killAt := 10 + rand.IntN(2*employers-20) // acknowledged requests before the kill
			var once sync.Once
			n := 0
		drive:
			for _, r := range page.Ratings {
				for step, action := range []string{"review", "confirm"} {
					body := fmt.Sprintf(`{"lock_version":%d}`, initial[r.ID]+step)
					sent[r.ID]++
					var got killRating
					status, err := cl.do(http.MethodPost, fmt.Sprintf("%s/api/v1/ratings/%d/%s", srv.base, r.ID, action), strings.NewReader(body), "application/json", &got)
					if err != nil {
						break drive // the server is gone; this one's outcome is unknown
					}
					require.Equal(t, http.StatusOK, status, "%s rating %d", action, r.ID)
					require.Equal(t, initial[r.ID]+step+1, got.LockVersion)
					acked[r.ID]++
					if n++; n == killAt {
						once.Do(func() {
							go func() {
								time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
								srv.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // checked by kill below
							}()
						})
					}
				}
			}
			srv.kill(t)
			t.Logf("killed after %d acknowledged transitions, at %s", n, time.Since(t0))
			require.GreaterOrEqual(t, n, killAt)

			srv = startServer(t, url)
			db, err := ratings.Open(ctx, url)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			type row struct {
				ID          int64
				Status      string
				LockVersion int
			}
			var rows []row
			require.NoError(t, db.NewSelect().Table("ratings").Column("id", "status", "lock_version").Where("period = 2025").Scan(ctx, &rows))
			require.Len(t, rows, employers, "a transition made a new rating version")
			audits := func(action string) map[int64]int {
				var targets []string
				require.NoError(t, db.NewSelect().Table("audit_log").Column("subject").Where("action = ?", action).Scan(ctx, &targets))
				m := map[int64]int{}
				for _, tg := range targets {
					var id int64
					_, err := fmt.Sscanf(tg, "rating:%d", &id)
					require.NoError(t, err, tg)
					m[id]++
				}
				return m
			}
			reviews, confirms := audits("rating.review"), audits("rating.confirm")
			steps := map[string]int{ratings.StatusRated: 0, ratings.StatusReviewed: 1, ratings.StatusConfirmed: 2}
			for _, r := range rows {
				done, ok := steps[r.Status]
				require.True(t, ok, "rating %d is %s", r.ID, r.Status)
				require.GreaterOrEqual(t, done, acked[r.ID], "rating %d: an acknowledged transition is lost", r.ID)
				require.LessOrEqual(t, done, sent[r.ID], "rating %d: a transition that was never sent", r.ID)
				require.Equal(t, initial[r.ID]+done, r.LockVersion, "rating %d", r.ID)
				require.Equal(t, min(done, 1), reviews[r.ID], "rating %d: review audit entries", r.ID)
				require.Equal(t, max(done-1, 0), confirms[r.ID], "rating %d: confirm audit entries", r.ID)
			}
			verify := runCLI(t, "", "audit", "verify", "--db", url)
			require.Equal(t, exitOK, verify.code, verify.stderr)

			// The restarted server finishes the work.
			for _, r := range rows {
				for step := steps[r.Status]; step < 2; step++ {
					action := []string{"review", "confirm"}[step]
					status, err := cl.do(http.MethodPost, fmt.Sprintf("%s/api/v1/ratings/%d/%s", srv.base, r.ID, action),
						strings.NewReader(fmt.Sprintf(`{"lock_version":%d}`, initial[r.ID]+step)), "application/json", nil)
					require.NoError(t, err)
					require.Equal(t, http.StatusOK, status, "%s rating %d after the restart", action, r.ID)
				}
			}
			require.Equal(t, int64(employers), count(t, db, "audit_log", "action = 'rating.confirm'"))
			require.Equal(t, int64(employers), count(t, db, "ratings", "period = 2025 AND status = 'confirmed'"))

			t.Logf("workflow checked at %s", time.Since(t0))
			// (b) An import over HTTP, killed part way: first one like it
			// (other codes) to learn how long an import takes, then the
			// one killed at a random moment within that time.
			const rows2 = 20000
			post := func(body []byte, contentType string) (int, error) {
				return cl.do(http.MethodPost, srv.base+"/api/v1/imports/employers", bytes.NewReader(body), contentType, nil)
			}
			t1 := time.Now()
			status, err = post(employersUpload(t, "J", "校准导入企业", rows2))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
			took := time.Since(t1)
			body, contentType := employersUpload(t, "K", "杀进程导入企业", rows2)
			auditBefore := count(t, db, "audit_log", "1 = 1")
			answered := make(chan error, 1)
			var importStatus int
			go func() {
				var err error
				importStatus, err = post(body, contentType)
				answered <- err
			}()
			time.Sleep(took/10 + rand.N(took*8/10))
			srv.kill(t)
			importErr := <-answered
			srv = startServer(t, url)
			imported := count(t, db, "employers", "name LIKE '杀进程导入企业%'")
			importAudits := count(t, db, "audit_log", "action = 'records.import'") - 6 // the fixture's five, the first
			if importErr == nil {
				require.Equal(t, http.StatusOK, importStatus)
				require.Equal(t, int64(rows2), imported, "an acknowledged import is not all there")
			}
			require.Contains(t, []int64{0, rows2}, imported, "the interrupted import is not all or nothing")
			require.Equal(t, min(imported, 1), importAudits)
			require.Equal(t, auditBefore+importAudits, count(t, db, "audit_log", "1 = 1"))
			t.Logf("import killed within %s: answered %v, %d of %d rows there", took, importErr == nil, imported, rows2)
			verify = runCLI(t, "", "audit", "verify", "--db", url)
			require.Equal(t, exitOK, verify.code, verify.stderr)
			// And it can be sent again.
			status, err = post(body, contentType)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, int64(rows2), count(t, db, "employers", "name LIKE '杀进程导入企业%'"))
		})
	}
}

// employersUpload is a multipart upload of n valid employers whose codes
// start with series (one letter) and whose names start with name.
func employersUpload(t *testing.T, series, name string, n int) ([]byte, string) {
	t.Helper()
	var csv bytes.Buffer
	fmt.Fprintln(&csv, "uscc,name,region,industry,employees")
	for i := range n {
		org := fmt.Sprintf("%s%07d", series, i)
		oc, err := engine.OrgCheckChar(org)
		require.NoError(t, err)
		first := "91420102" + org + string(oc)
		check, err := engine.USCCCheckChar(first)
		require.NoError(t, err)
		fmt.Fprintf(&csv, "%s%c,%s%06d有限公司,420102,construction,%d\n", first, check, name, i, i%500)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "employers.csv")
	require.NoError(t, err)
	_, err = fw.Write(csv.Bytes())
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return body.Bytes(), mw.FormDataContentType()
}
