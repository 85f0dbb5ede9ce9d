package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/api"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
	scoringrules "laborcredit/scoring-rules"
)

// TestSoak is the soak run of issue 10: mixed traffic — public search,
// credit single and batch, officer transitions, imports over HTTP —
// against the real server on PostgreSQL with LABORCREDIT_SOAK_EMPLOYERS
// (default 1,000,000) published employers, for LABORCREDIT_SOAK_SECONDS
// (default 600). It is not a timed test: it does nothing unless
// LABORCREDIT_SOAK=1 (docs/soak.sh sets it). Traffic goes to a loopback
// listener only and stops by itself at the duration or after
// LABORCREDIT_SOAK_MAX_REQUESTS (default 5,000,000) requests.
//
// Every 30 s it prints a line per interval: requests and errors by kind,
// p50/p99, the process's resident memory, Go heap and goroutines. 429s
// are counted apart (intended: rate limits). Any other non-2xx answer is
// an error, and the test fails if there is one, if an acknowledged
// transition is not in the database at the end, or if the query log
// holds fewer rows than credit answers given.
func TestSoak(t *testing.T) {
	if os.Getenv("LABORCREDIT_SOAK") != "1" {
		t.Skip("soak run: set LABORCREDIT_SOAK=1 and LABORCREDIT_TEST_DATABASE_URL (docs/soak.sh does)")
	}
	n := loadBenchEnvInt(t, "LABORCREDIT_SOAK_EMPLOYERS", 1_000_000)
	dur := time.Duration(loadBenchEnvInt(t, "LABORCREDIT_SOAK_SECONDS", 600)) * time.Second
	maxReq := int64(loadBenchEnvInt(t, "LABORCREDIT_SOAK_MAX_REQUESTS", 5_000_000))
	out := os.Getenv("LABORCREDIT_SOAK_REPORT")
	ctx := context.Background()

	dbURL := ratingstest.PostgresURL(t)
	db, err := ratings.Open(ctx, dbURL)
	require.NoError(t, err)
	defer db.Close()
	svc, err := ratings.NewService(db, ratings.ServiceParams{})
	require.NoError(t, err)

	t0 := time.Now()
	src, err := scoringrules.FS.ReadFile("national-2016.yaml")
	require.NoError(t, err)
	rs, err := svc.UploadRuleSet(ctx, admin, "national-2016.yaml", src)
	require.NoError(t, err)
	require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2025, rs.Hash))
	codes, _ := loadBenchData(t, ctx, db.DB, n, rs.ID, rs.Hash)
	_, err = db.ExecContext(ctx, "VACUUM ANALYZE")
	require.NoError(t, err)
	// The officers' work of the soak: period 2026 rated in one county.
	require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2026, rs.Hash))
	const county = "420102"
	rep, err := svc.Rate(ctx, admin, ratings.RateParams{Period: 2026, Region: county})
	require.NoError(t, err)
	t.Logf("loaded %d employers and rated %+v of 2026 in %s in %.0f s", n, rep, county, time.Since(t0).Seconds())

	_, key, err := svc.CreateAPIClient(ctx, admin, "浸泡测试银行", "bank", ratings.ScopeCreditRead, 1e9)
	require.NoError(t, err)
	_, officer, err := svc.CreateUser(ctx, admin, "区县检查员", ratings.RoleCounty, county, "")
	require.NoError(t, err)

	// The server believes X-Forwarded-For from loopback, as behind a
	// reverse proxy: searches come from 10,000 citizens' addresses, and
	// one abuser hammers from one address and is answered 429 (the
	// default per-address limits).
	handler := api.New(svc, api.Options{Logger: slog.New(slog.DiscardHandler), TrustedProxies: []string{"127.0.0.1"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 120 * time.Second, IdleTimeout: 120 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	defer srv.Shutdown(context.Background())
	base := "http://" + ln.Addr().String()

	s := &soak{base: base, key: key, officer: officer, codes: codes, client: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, stats: map[string]*soakStats{},
		deadline: time.Now().Add(dur)}
	kinds := []struct {
		name    string
		workers int
		pause   time.Duration // before each request, not timed
		fn      func(r *rand.Rand) (int, error)
	}{
		{"public_search", 3, 0, s.publicSearch},
		{"abuser_search", 1, 5 * time.Millisecond, s.abuserSearch},
		{"credit_one", 2, 0, s.creditOne},
		{"credit_batch", 1, 0, s.creditBatch},
		{"officer_transition", 1, 0, s.transition},
		{"import", 1, 2 * time.Second, s.importEmployers},
	}
	s.max.Store(maxReq)
	for _, k := range kinds {
		s.stats[k.name] = &soakStats{}
	}
	var report bytes.Buffer
	logf := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		fmt.Println(line)
		report.WriteString(line + "\n")
	}
	logf("soak: %d employers, %s, %d cores, server on %s", n, dur, runtime.NumCPU(), base)
	var wg sync.WaitGroup
	for ki, k := range kinds {
		for w := range k.workers {
			r := rand.New(rand.NewPCG(uint64(ki), uint64(w)))
			wg.Go(func() {
				for s.more() {
					time.Sleep(k.pause)
					start := time.Now()
					status, err := k.fn(r)
					s.stats[k.name].add(time.Since(start), status, err)
				}
			})
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	started := time.Now()
	names := make([]string, 0, len(kinds))
	for _, k := range kinds {
		names = append(names, k.name)
	}
	logf("%6s %-19s %8s %7s %6s %6s %9s %9s %8s %8s %5s", "t(s)", "kind", "requests", "req/s", "errors", "429s", "p50(ms)", "p99(ms)", "RSS(MB)", "heap(MB)", "gor")
	interval := func(final bool) {
		rss, heap, gor := soakMemory()
		el := time.Since(started).Seconds()
		for _, name := range names {
			snap := s.stats[name].take(final)
			logf("%6.0f %-19s %8d %7.1f %6d %6d %9.2f %9.2f %8.1f %8.1f %5d", el, name, snap.n, snap.rate, snap.errors, snap.limited,
				snap.p50, snap.p99, rss, heap, gor)
		}
	}
loop:
	for {
		select {
		case <-tick.C:
			interval(false)
		case <-done:
			break loop
		}
	}
	logf("== whole run (%.0f s)", time.Since(started).Seconds())
	interval(true)

	var errs int64
	var errText []string
	for _, name := range names {
		st := s.stats[name]
		errs += st.allErrors
		errText = append(errText, st.firstErrors...)
	}
	// Every acknowledged transition is in the database.
	var reviewed int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM ratings WHERE period = 2026 AND current AND status IN ('reviewed','confirmed')").Scan(&reviewed))
	logf("acknowledged reviews %d, confirmations %d; ratings reviewed or confirmed in the database: %d", s.reviewed.Load(), s.confirmed.Load(), reviewed)
	// Every credit answer is logged (the log writes in the background).
	var logged int64
	answered := s.creditAnswered.Load()
	for range 60 {
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM query_log").Scan(&logged))
		if logged >= answered {
			break
		}
		time.Sleep(time.Second)
	}
	logf("credit requests answered %d; query_log rows %d", answered, logged)
	if out != "" {
		require.NoError(t, os.WriteFile(out, report.Bytes(), 0o644))
	}
	require.Zero(t, errs, "errors: %s", strings.Join(errText, "; "))
	require.GreaterOrEqual(t, int64(reviewed), s.reviewed.Load())
	require.GreaterOrEqual(t, logged, answered)
}

type soak struct {
	base, key, officer string
	codes              []string
	client             *http.Client
	stats              map[string]*soakStats
	sent, max          atomic.Int64
	deadline           time.Time
	reviewed           atomic.Int64
	confirmed          atomic.Int64
	creditAnswered     atomic.Int64
	imported           atomic.Int64
	importMu           sync.Mutex
	queue              []soakRating // rated or reviewed ratings to move on
	queueMu            sync.Mutex
}

type soakRating struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	LockVersion int    `json:"lock_version"`
}

func (s *soak) more() bool {
	return time.Now().Before(s.deadline) && s.sent.Add(1) <= s.max.Load()
}

func (s *soak) do(method, path, token string, body io.Reader, contentType string, into any) (int, error) {
	return s.doFrom("", method, path, token, body, contentType, into)
}

// doFrom sends a request on behalf of a client address (X-Forwarded-For;
// "" for none).
func (s *soak) doFrom(from, method, path, token string, body io.Reader, contentType string, into any) (int, error) {
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		return 0, err
	}
	if from != "" {
		req.Header.Set("X-Forwarded-For", from)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, soakCut(b))
	}
	if into != nil {
		return resp.StatusCode, json.Unmarshal(b, into)
	}
	return resp.StatusCode, nil
}

func soakCut(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

var soakWords = []string{"湖北示例", "建筑工程", "有限公司", "示例建筑", "0000123", "工程00"}

func (s *soak) publicSearch(r *rand.Rand) (int, error) {
	q := "?q=" + soakWords[r.IntN(len(soakWords))]
	switch r.IntN(4) {
	case 0:
		q += "&region=420102"
	case 1:
		q += "&grade=C"
	case 2:
		q = "?region=420100&grade=B&page=" + strconv.Itoa(1+r.IntN(5))
	}
	from := fmt.Sprintf("198.18.%d.%d", r.IntN(40), 1+r.IntN(250))
	return s.doFrom(from, http.MethodGet, "/api/v1/public/ratings"+q, "", nil, "", nil)
}

// abuserSearch is one address searching as fast as it can.
func (s *soak) abuserSearch(r *rand.Rand) (int, error) {
	return s.doFrom("203.0.113.66", http.MethodGet, "/api/v1/public/ratings?q="+soakWords[r.IntN(len(soakWords))], "", nil, "", nil)
}

func (s *soak) creditOne(r *rand.Rand) (int, error) {
	path := "/api/v1/credit/" + s.codes[r.IntN(len(s.codes))]
	if r.IntN(4) == 0 {
		path += "?as_of=2026-06-30"
	}
	status, err := s.do(http.MethodGet, path, s.key, nil, "", nil)
	if status == http.StatusOK || status == http.StatusNotFound {
		s.creditAnswered.Add(1)
	}
	return status, err
}

func (s *soak) creditBatch(r *rand.Rand) (int, error) {
	codes := make([]string, 20+r.IntN(80))
	for i := range codes {
		codes[i] = s.codes[r.IntN(len(s.codes))]
	}
	b, _ := json.Marshal(map[string]any{"codes": codes})
	status, err := s.do(http.MethodPost, "/api/v1/credit/batch", s.key, bytes.NewReader(b), "application/json", nil)
	if status == http.StatusOK {
		s.creditAnswered.Add(1)
	}
	return status, err
}

// transition moves one rating of 2026 on: rated → reviewed → confirmed,
// refilling its queue from the officer's worklist.
func (s *soak) transition(r *rand.Rand) (int, error) {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	if len(s.queue) == 0 {
		var page struct {
			Ratings []soakRating `json:"ratings"`
		}
		status := "rated"
		if r.IntN(2) == 0 {
			status = "reviewed"
		}
		code, err := s.do(http.MethodGet, "/api/v1/ratings?period=2026&status="+status, s.officer, nil, "", &page)
		if err != nil {
			return code, err
		}
		s.queue = page.Ratings
		return code, nil
	}
	rt := s.queue[0]
	s.queue = s.queue[1:]
	step := "review"
	if rt.Status == "reviewed" {
		step = "confirm"
	}
	b, _ := json.Marshal(map[string]any{"lock_version": rt.LockVersion})
	code, err := s.do(http.MethodPost, "/api/v1/ratings/"+strconv.FormatInt(rt.ID, 10)+"/"+step, s.officer, bytes.NewReader(b), "application/json", nil)
	if err == nil {
		if step == "review" {
			s.reviewed.Add(1)
		} else {
			s.confirmed.Add(1)
		}
	}
	return code, err
}

// importEmployers uploads a file of 100 new employers of the county (or,
// every third time, the same file again, which changes nothing).
func (s *soak) importEmployers(r *rand.Rand) (int, error) {
	s.importMu.Lock()
	defer s.importMu.Unlock()
	batch := s.imported.Load()
	if r.IntN(3) != 0 || batch == 0 {
		batch = s.imported.Add(1)
	}
	var csv strings.Builder
	csv.WriteString("uscc,name,region,industry,employees\n")
	for i := range 100 {
		k := int(batch)*100 + i
		fmt.Fprintf(&csv, "%s,浸泡导入测试%07d有限公司,420102,manufacturing,%d\n", soakCode(k), k, 5+i)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "employers.csv")
	if err != nil {
		return 0, err
	}
	fw.Write([]byte(csv.String())) //nolint:errcheck // a bytes.Buffer
	mw.Close()                     //nolint:errcheck // a bytes.Buffer
	return s.do(http.MethodPost, "/api/v1/imports/employers", s.officer, &body, mw.FormDataContentType(), nil)
}

// soakCode is the k-th code of the soak's imported employers: county
// 420102, an organisation number the loaded ones do not use.
func soakCode(k int) string { return ratingstest.Code("420102", fmt.Sprintf("MB%06d", k%1_000_000)) }

type soakStats struct {
	mu          sync.Mutex
	lat         []float64 // ms, this interval
	all         []float64
	errors      int64
	limited     int64
	allErrors   int64
	allLimited  int64
	since       time.Time
	begun       time.Time
	firstErrors []string
}

type soakSnap struct {
	n, errors, limited int64
	rate, p50, p99     float64
}

func (st *soakStats) add(d time.Duration, status int, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	ms := float64(d.Microseconds()) / 1000
	st.lat = append(st.lat, ms)
	switch {
	case status == http.StatusTooManyRequests:
		st.limited++
		st.allLimited++
	case err != nil:
		st.errors++
		st.allErrors++
		if len(st.firstErrors) < 5 {
			st.firstErrors = append(st.firstErrors, err.Error())
		}
	}
}

func (st *soakStats) take(final bool) soakSnap {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := time.Now()
	if st.since.IsZero() {
		st.since, st.begun = now.Add(-30*time.Second), now.Add(-30*time.Second)
	}
	lat, errs, lim, from := st.lat, st.errors, st.limited, st.since
	st.all = append(st.all, st.lat...)
	st.lat, st.errors, st.limited, st.since = nil, 0, 0, now
	if final {
		lat, errs, lim, from = st.all, st.allErrors, st.allLimited, st.begun
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	return soakSnap{n: int64(len(lat)), errors: errs, limited: lim, rate: float64(len(lat)) / now.Sub(from).Seconds(), p50: q(0.5), p99: q(0.99)}
}

// soakMemory is the process's resident set (MB, from /proc), the Go heap
// in use (MB) and the number of goroutines.
func soakMemory() (float64, float64, int) {
	var rss float64
	if b, err := os.ReadFile(filepath.Join("/proc", "self", "status")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				rss = kb / 1024
			}
		}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return rss, float64(m.HeapInuse) / (1 << 20), runtime.NumGoroutine()
}
