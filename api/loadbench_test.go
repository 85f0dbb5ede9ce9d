package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // the profile endpoint of the load benchmark, on its own port
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"laborcredit/api"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
	scoringrules "laborcredit/scoring-rules"
)

// TestLoadBenchServe is the server side of the credit-sharing load
// benchmark (GET /api/v1/credit/{uscc} under wrk; see docs/BENCHMARKS.md).
// It is not a timed test: it does nothing unless LABORCREDIT_LOADBENCH=1,
// and docs/loadbench.sh runs it end to end:
//
//	LABORCREDIT_TEST_DATABASE_URL=postgres://… docs/loadbench.sh
//
// When asked, it makes a fresh migrated PostgreSQL database, loads
// LABORCREDIT_LOADBENCH_EMPLOYERS employers (default 1,000,000) with COPY,
// each with one published, current rating of 2025 and its credit document,
// creates an API client, writes the wrk script and the codes it draws from
// into LABORCREDIT_LOADBENCH_DIR (default a temporary directory), and serves
// on loopback, on one *sql.DB (lib/pq, the pool ratings.Open makes):
//
//   - REAL_URL: api.New as `laborcredit serve` builds it (JSON access log,
//     here to DIR/access.log; a ratings.QueryLog);
//   - REAL_QUIET_URL: api.New with the default (discarding) logger;
//   - BARE_URL: gin.New() with no middleware and one handler,
//     `SELECT doc FROM credit_documents WHERE uscc = $1`, written as is
//     (lib/pq: a parameter costs a Parse/Describe round trip first);
//   - BARE_SIMPLE_URL: the same handler sending the SELECT with the code
//     quoted in (lib/pq's simple protocol, one round trip, as bun sends it);
//   - PPROF_URL: net/http/pprof.
//
// It then writes DIR/ready.env (shell assignments of the above, KEY, LUA,
// DB_URL, N, LOAD_SECONDS) and serves until SIGINT or SIGTERM or
// LABORCREDIT_LOADBENCH_SECONDS (default 900) have passed; the database is
// dropped when it ends.
func TestLoadBenchServe(t *testing.T) {
	if os.Getenv("LABORCREDIT_LOADBENCH") != "1" {
		t.Skip("load benchmark server: set LABORCREDIT_LOADBENCH=1 and LABORCREDIT_TEST_DATABASE_URL (docs/loadbench.sh does)")
	}
	n := loadBenchEnvInt(t, "LABORCREDIT_LOADBENCH_EMPLOYERS", 1_000_000)
	serveFor := time.Duration(loadBenchEnvInt(t, "LABORCREDIT_LOADBENCH_SECONDS", 900)) * time.Second
	dir := os.Getenv("LABORCREDIT_LOADBENCH_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dbURL := ratingstest.PostgresURL(t)
	db, err := ratings.Open(ctx, dbURL)
	require.NoError(t, err)
	defer db.Close()
	svc, err := ratings.NewService(db, ratings.ServiceParams{})
	require.NoError(t, err)

	start := time.Now()
	src, err := scoringrules.FS.ReadFile("national-2016.yaml")
	require.NoError(t, err)
	rs, err := svc.UploadRuleSet(ctx, admin, "national-2016.yaml", src)
	require.NoError(t, err)
	require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2025, rs.Hash))
	codes, docBytes := loadBenchData(t, ctx, db.DB, n, rs.ID, rs.Hash)
	loaded := time.Since(start)
	_, err = db.ExecContext(ctx, "VACUUM ANALYZE")
	require.NoError(t, err)
	loadTime := time.Since(start)
	var published int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM ratings WHERE status = 'published' AND current").Scan(&published))
	require.Equal(t, n, published)
	t.Logf("loaded %d employers, %d published ratings, %d credit documents (mean %d bytes) in %.1f s, VACUUM ANALYZE included %.1f s",
		n, published, n, docBytes/int64(n), loaded.Seconds(), loadTime.Seconds())

	_, key, err := svc.CreateAPIClient(ctx, admin, "负载测试银行", "bank", ratings.ScopeCreditRead, 1e9)
	require.NoError(t, err)

	codesFile := filepath.Join(dir, "codes.txt")
	require.NoError(t, os.WriteFile(codesFile, []byte(strings.Join(codes, "\n")+"\n"), 0o644))
	luaFile := filepath.Join(dir, "credit.lua")
	require.NoError(t, os.WriteFile(luaFile, []byte(strings.ReplaceAll(loadBenchLua, "CODES_FILE", strconv.Quote(codesFile))), 0o644))

	var lost atomic.Int64
	qlog := ratings.NewQueryLog(db, func(err error) {
		lost.Add(1)
		fmt.Fprintln(os.Stderr, "LOADBENCH query log error:", err)
	})
	accessLog, err := os.Create(filepath.Join(dir, "access.log"))
	require.NoError(t, err)
	defer accessLog.Close()
	// The load comes from one address, and docs/loadbench.sh reads the
	// metrics with this token.
	realH := api.New(svc, api.Options{Logger: slog.New(slog.NewJSONHandler(accessLog, nil)), QueryLog: qlog,
		MetricsToken: "loadbench", PublicLimits: api.IPLimits{Off: true}})
	quiet := api.New(svc, api.Options{QueryLog: qlog, MetricsToken: "loadbench", PublicLimits: api.IPLimits{Off: true}})
	bare := loadBenchBare(db.DB, false)
	bareSimple := loadBenchBare(db.DB, true)

	urls := map[string]string{}
	var servers []*http.Server
	for _, s := range []struct {
		name string
		h    http.Handler
	}{{"REAL_URL", realH}, {"REAL_QUIET_URL", quiet}, {"BARE_URL", bare}, {"BARE_SIMPLE_URL", bareSimple}, {"PPROF_URL", http.DefaultServeMux}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		// The timeouts of `laborcredit serve`.
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
			WriteTimeout: 120 * time.Second, IdleTimeout: 120 * time.Second}
		go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
		servers = append(servers, srv)
		urls[s.name] = "http://" + ln.Addr().String()
	}
	urls["PPROF_URL"] += "/debug/pprof"

	// Every server answers a known code with the same document, and the
	// API servers refuse a request without the key.
	var want []byte
	for _, name := range []string{"BARE_URL", "BARE_SIMPLE_URL", "REAL_URL", "REAL_QUIET_URL"} {
		status, body := loadBenchGet(t, urls[name]+"/api/v1/credit/"+codes[n/2], key)
		require.Equal(t, http.StatusOK, status, "%s: %s", name, body)
		if want == nil {
			want = body
			var doc ratings.CreditRating
			require.NoError(t, json.Unmarshal(body, &doc))
			require.Equal(t, codes[n/2], doc.USCC)
		}
		require.Equal(t, string(want), string(body), name)
	}
	status, _ := loadBenchGet(t, urls["REAL_URL"]+"/api/v1/credit/"+codes[0], "")
	require.Equal(t, http.StatusUnauthorized, status)

	env := fmt.Sprintf("KEY=%s\nLUA=%s\nCODES=%s\nDB_URL=%s\nN=%d\nLOAD_SECONDS=%.1f\nDOC_BYTES=%d\n",
		key, luaFile, codesFile, loadBenchShellQuote(dbURL), n, loadTime.Seconds(), docBytes/int64(n))
	for _, name := range []string{"REAL_URL", "REAL_QUIET_URL", "BARE_URL", "BARE_SIMPLE_URL", "PPROF_URL"} {
		env += name + "=" + urls[name] + "\n"
	}
	ready := filepath.Join(dir, "ready.env")
	require.NoError(t, os.WriteFile(ready+".tmp", []byte(env), 0o600))
	require.NoError(t, os.Rename(ready+".tmp", ready))
	fmt.Printf("LOADBENCH READY %s\n%s", ready, env)

	select {
	case <-ctx.Done():
		t.Log("signalled; stopping")
	case <-time.After(serveFor):
		t.Logf("served %s; stopping", serveFor)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(sctx) //nolint:errcheck // best effort
	}
	qlog.Close()
	var logged int
	require.NoError(t, db.QueryRowContext(context.Background(), "SELECT count(*) FROM query_log").Scan(&logged))
	t.Logf("query_log holds %d rows; %d failed query-log batches", logged, lost.Load())
	require.Zero(t, lost.Load(), "query-log batches were lost")
}

// loadBenchLua draws a code uniformly from the loaded ones for every
// request; the Authorization header comes from wrk's -H.
const loadBenchLua = `-- GET /api/v1/credit/{uscc} for a code drawn uniformly from the loaded employers.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  codes = {}
  ncodes = 0
  for line in io.lines(CODES_FILE) do
    ncodes = ncodes + 1
    codes[ncodes] = line
  end
  math.randomseed(os.time() * 1000 + 7919 * (thread_id or 0))
end

function request()
  return wrk.format("GET", "/api/v1/credit/" .. codes[math.random(ncodes)])
end
`

// loadBenchBare is the baseline: gin with no middleware and one handler
// doing the primary-key SELECT of the credit document.
func loadBenchBare(db *sql.DB, simple bool) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/api/v1/credit/:uscc", func(c *gin.Context) {
		var doc string
		var err error
		if simple {
			err = db.QueryRowContext(c.Request.Context(), "SELECT doc FROM credit_documents WHERE uscc = "+pq.QuoteLiteral(c.Param("uscc"))).Scan(&doc)
		} else {
			err = db.QueryRowContext(c.Request.Context(), "SELECT doc FROM credit_documents WHERE uscc = $1", c.Param("uscc")).Scan(&doc)
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			c.Status(http.StatusNotFound)
		case err != nil:
			c.String(http.StatusInternalServerError, err.Error())
		default:
			c.Data(http.StatusOK, "application/json; charset=utf-8", []byte(doc))
		}
	})
	return r
}

// loadBenchData COPYs n employers, then — on two connections at once — a
// published current rating of 2025 for each (feed numbers 1…n) and its
// credit document. It returns the codes in id order and the total size of
// the documents.
func loadBenchData(t *testing.T, ctx context.Context, db *sql.DB, n int, ruleSetID int64, ruleSetHash string) ([]string, int64) {
	t.Helper()
	regions := []string{"420102", "420103", "420104", "420105", "420106", "420111", "420881", "420202", "420302", "420502"}
	codes := make([]string, n)
	names := make([]string, n)
	for i := range n {
		codes[i] = code(t, regions[i%len(regions)], i/len(regions))
		names[i] = fmt.Sprintf("湖北示例建筑工程%07d有限公司", i+1)
	}
	copyIn := func(table string, cols []string, row func(i int) []any) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
		st, err := tx.PrepareContext(ctx, "COPY "+table+" ("+strings.Join(cols, ", ")+") FROM STDIN")
		if err != nil {
			return err
		}
		for i := range n {
			if _, err := st.ExecContext(ctx, row(i)...); err != nil {
				return fmt.Errorf("%s row %d: %w", table, i, err)
			}
		}
		if _, err := st.ExecContext(ctx); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		if err := st.Close(); err != nil {
			return err
		}
		return tx.Commit()
	}
	t0 := time.Now()
	require.NoError(t, copyIn("employers", []string{"uscc", "name", "region", "industry", "employees"}, func(i int) []any {
		return []any{codes[i], names[i], regions[i%len(regions)], "construction", 10 + i%300}
	}))
	// A fresh database: identities run from 1 in the order COPY wrote.
	var count, minID, maxID int64
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*), min(id), max(id) FROM employers").Scan(&count, &minID, &maxID))
	require.Equal(t, []int64{int64(n), 1, int64(n)}, []int64{count, minID, maxID})
	var last string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT uscc FROM employers WHERE id = $1", n).Scan(&last))
	require.Equal(t, codes[n-1], last)
	t.Logf("COPY employers: %.1f s", time.Since(t0).Seconds())

	computed := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	publicized := time.Date(2026, 3, 10, 1, 0, 0, 0, time.UTC)
	publishedAt := time.Date(2026, 3, 20, 1, 0, 0, 0, time.UTC)
	grade := func(i int) (string, []ratings.CreditReason) {
		switch {
		case i%100 < 3:
			return "C", []ratings.CreditReason{reasonChild, reasonViolation}
		case i%100 < 15:
			return "B", []ratings.CreditReason{reasonViolation}
		}
		return "A", []ratings.CreditReason{}
	}
	var docBytes atomic.Int64
	var wg sync.WaitGroup
	var ratingsErr, docsErr error
	t0 = time.Now()
	wg.Go(func() {
		ratingsErr = copyIn("ratings", []string{"employer_id", "period", "version", "current", "status", "rule_set_id", "rule_set_hash",
			"engine_grade", "grade", "score", "result", "facts", "computed_at", "lock_version", "publicized_at", "publicity_ends", "published_at", "feed_seq"},
			func(i int) []any {
				g, reasons := grade(i)
				fired, _ := json.Marshal(reasons)
				emp := 10 + i%300
				region := regions[i%len(regions)]
				result := fmt.Sprintf(`{"uscc":%q,"period":2025,"rule_set":"national-2016","rule_set_hash":%q,"grade":%q,"score":null,"fired":%s,"awards":[]}`,
					codes[i], ruleSetHash, g, fired)
				facts := fmt.Sprintf(`{"period":2025,"employer":{"uscc":%q,"name":%q,"region":%q,"industry":"construction","employees":%d},`+
					`"annual_review":{"submitted":true,"on_time":true,"employees":%d,"contracts_signed":%d,"insured":%d,"roster_complete":true},`+
					`"cases":null,"complaints":0,"wage_deposit":{"required":false,"paid":false},"blacklisted":false,"history":null}`,
					codes[i], names[i], region, emp, emp, emp-i%3, emp-i%5)
				return []any{i + 1, 2025, 1, true, "published", ruleSetID, ruleSetHash, g, g, nil, result, facts,
					computed, 2, publicized, "2026-03-17", publishedAt, i + 1}
			})
	})
	wg.Go(func() {
		docsErr = copyIn("credit_documents", []string{"uscc", "employer_id", "doc", "updated_at"}, func(i int) []any {
			g, reasons := grade(i)
			doc, err := json.Marshal(ratings.CreditRating{USCC: codes[i], Name: names[i], Region: regions[i%len(regions)], Period: 2025,
				Grade: g, Version: 1, PublishedAt: publishedAt, RuleSet: "national-2016", Reasons: reasons, Awards: []string{},
				History: []ratings.CreditHistory{{Period: 2025, Grade: g, PublishedAt: publishedAt}}})
			if err != nil {
				panic(err)
			}
			docBytes.Add(int64(len(doc)))
			return []any{codes[i], i + 1, string(doc), publishedAt}
		})
	})
	wg.Wait()
	require.NoError(t, ratingsErr)
	require.NoError(t, docsErr)
	// Each publication took the next number of the changes feed.
	_, err := db.ExecContext(ctx, "UPDATE feed_head SET seq = $1 WHERE id = 1", n)
	require.NoError(t, err)
	t.Logf("COPY ratings and credit_documents (concurrently): %.1f s", time.Since(t0).Seconds())
	return codes, docBytes.Load()
}

func loadBenchGet(t *testing.T, url, key string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

func loadBenchEnvInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	i, err := strconv.Atoi(v)
	require.NoError(t, err, name)
	require.Positive(t, i, name)
	return i
}

// loadBenchShellQuote quotes a value for a POSIX shell.
func loadBenchShellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
