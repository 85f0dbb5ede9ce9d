package ratings_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// hostileValues are what a client can put in a logged field: the query
// string, a code of a batch, and through them the endpoint text.
var hostileValues = []string{
	"\x00",
	"2026-01-01\x00",
	"\xff\xfe",
	"中\xe6\x96",
	strings.Repeat("x", 1<<20),
	strings.Repeat("中", 1<<18),
	"abc\u202Egpj.exe",
	"\u2066\u2067\u2069",
	`'"; DROP TABLE query_log; --`,
	"' OR 1=1 --",
	`\x00 already escaped \`,
	"%00%ff",
	"😀👩‍👩‍👧",
	"a\tb\nc\rd\x1b[31m\x7f\u0085",
	"a,b,c",
	"",
}

type queryLogRow struct {
	ClientID int64  `bun:"client_id"`
	Endpoint string `bun:"endpoint"`
	Codes    string `bun:"codes"`
	Result   string `bun:"result"`
}

func queryLogRows(t *testing.T, db bun.IDB, clientID int64) []queryLogRow {
	t.Helper()
	var rows []queryLogRow
	require.NoError(t, db.NewSelect().Table("query_log").Column("client_id", "endpoint", "codes", "result").
		Where("client_id = ?", clientID).Order("id").Scan(context.Background(), &rows))
	return rows
}

func newClients(t *testing.T, db *bun.DB, n int) (*ratings.Service, []int64) {
	t.Helper()
	svc, err := ratings.NewService(db, ratings.ServiceParams{})
	require.NoError(t, err)
	var ids []int64
	for i := range n {
		c, _, err := svc.CreateAPIClient(context.Background(), admin, fmt.Sprintf("银行%d", i), "bank", ratings.ScopeCreditRead, 10)
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	return svc, ids
}

// errorsOf collects what a QueryLog reports.
type errorsOf struct {
	mu   sync.Mutex
	errs []error
}

func (e *errorsOf) add(err error) { e.mu.Lock(); e.errs = append(e.errs, err); e.mu.Unlock() }

func (e *errorsOf) all() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.errs...)
}

// TestQueryLogHostileValues: hostile values in every logged field, from
// one client, mixed with other clients' normal queries: every query of
// every client is written, and each hostile value is stored escaped,
// valid UTF-8 without NUL, within its length limit.
func TestQueryLogHostileValues(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		_, ids := newClients(t, db, 3)
		hostile, others := ids[0], ids[1:]
		var reported errorsOf
		qlog := ratings.NewQueryLog(db, reported.add)
		at := time.Date(2026, 4, 8, 10, 0, 0, 0, time.UTC)
		normal := queryLogRow{Endpoint: "credit?as_of=2026-03-25", Codes: "91420102MA4K0001XX,91420102MA4K0002XX", Result: "2 found of 2"}
		var wg sync.WaitGroup
		for _, id := range others {
			wg.Go(func() {
				for range 3 * len(hostileValues) {
					require.NoError(t, qlog.Log(id, normal.Endpoint, strings.Split(normal.Codes, ","), normal.Result, at))
				}
			})
		}
		wg.Go(func() {
			for _, v := range hostileValues {
				require.NoError(t, qlog.Log(hostile, "credit?as_of="+v, []string{v}, "invalid", at))
				require.NoError(t, qlog.Log(hostile, "credit/batch", []string{"91420102MA4K0001XX", v, v}, "0 found of 3", at))
				require.NoError(t, qlog.Log(hostile, "credit", nil, v, at))
			}
		})
		wg.Wait()
		qlog.Close()
		require.Empty(t, reported.all(), "no entry needed the reduced form")

		for _, id := range others {
			rows := queryLogRows(t, db, id)
			require.Len(t, rows, 3*len(hostileValues), "client %d", id)
			for _, r := range rows {
				want := normal
				want.ClientID = id
				require.Equal(t, want, r, "normal values are logged as they are")
			}
		}
		rows := queryLogRows(t, db, hostile)
		require.Len(t, rows, 3*len(hostileValues), "every hostile query is logged")
		for _, r := range rows {
			for _, v := range []string{r.Endpoint, r.Codes, r.Result} {
				require.True(t, utf8.ValidString(v))
				require.NotContains(t, v, "\x00")
				require.NotContains(t, v, "\u202E")
			}
			require.LessOrEqual(t, len(r.Endpoint), ratings.MaxLoggedEndpoint)
			require.LessOrEqual(t, len(r.Result), ratings.MaxLoggedResult)
			require.LessOrEqual(t, len(r.Codes), ratings.MaxLoggedCodes)
		}
		// What was asked can still be read.
		require.Equal(t, `credit?as_of=2026-01-01\x00`, rows[3].Endpoint)
		require.Equal(t, `2026-01-01\x00`, rows[3].Codes)
		require.Equal(t, `credit?as_of=\xff\xfe`, rows[6].Endpoint)
		require.Equal(t, `91420102MA4K0001XX,abc\u202egpj.exe,abc\u202egpj.exe`, rows[19].Codes)
		require.Equal(t, `\\x00 already escaped \\`, rows[32].Result)
		require.Equal(t, `a\x2cb\x2cc`, rows[42].Codes, "a comma inside a code does not make two codes")
		require.True(t, strings.HasPrefix(rows[12].Endpoint, "credit?as_of=xxxx"))
		require.Contains(t, rows[12].Endpoint, "more bytes)")
	})
}

// TestQueryLogOneBadRow: a row the database refuses (here: a client that
// does not exist) does not take the other rows of its batch with it; it
// is reported, not silently dropped.
func TestQueryLogOneBadRow(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		_, ids := newClients(t, db, 2)
		var reported errorsOf
		qlog := ratings.NewQueryLog(db, reported.add)
		at := time.Now()
		for i := range 50 {
			require.NoError(t, qlog.Log(ids[i%2], "credit", []string{"91420102MA4K0001XX"}, "found", at))
			if i == 25 {
				require.NoError(t, qlog.Log(999999, "credit", []string{"91420102MA4K0001XX"}, "found", at))
			}
		}
		qlog.Close()
		require.Len(t, queryLogRows(t, db, ids[0]), 25)
		require.Len(t, queryLogRows(t, db, ids[1]), 25)
		errs := reported.all()
		require.Len(t, errs, 1)
		require.ErrorContains(t, errs[0], "client 999999")
	})
}

// TestQueryLogUnwritable: while the log cannot be written, entries are
// held (up to the capacity), Healthy says so and Log refuses once full;
// when the database can be written again every held entry is written.
func TestQueryLogUnwritable(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		_, ids := newClients(t, db, 1)
		qlog := ratings.NewQueryLogWith(db, ratings.QueryLogParams{Capacity: 10, OnError: func(error) {}})
		t.Cleanup(qlog.Close)
		require.True(t, qlog.Healthy())
		_, err := db.ExecContext(ctx, "ALTER TABLE query_log RENAME TO query_log_away")
		require.NoError(t, err)
		at := time.Now()
		for range 10 {
			require.NoError(t, qlog.Log(ids[0], "credit", []string{"91420102MA4K0001XX"}, "found", at))
		}
		err = qlog.Log(ids[0], "credit", []string{"91420102MA4K0001XX"}, "found", at)
		require.ErrorIs(t, err, ratings.ErrQueryLogUnavailable)
		require.Eventually(t, func() bool { return !qlog.Healthy() }, 5*time.Second, 10*time.Millisecond)

		_, err = db.ExecContext(ctx, "ALTER TABLE query_log_away RENAME TO query_log")
		require.NoError(t, err)
		require.Eventually(t, qlog.Healthy, 10*time.Second, 20*time.Millisecond)
		require.Eventually(t, func() bool { return len(queryLogRows(t, db, ids[0])) == 10 }, 10*time.Second, 20*time.Millisecond)
		require.NoError(t, qlog.Log(ids[0], "credit", []string{"91420102MA4K0001XX"}, "found", at))
		qlog.Close()
		require.Len(t, queryLogRows(t, db, ids[0]), 11)
	})
}

// TestQueryLogClosedWhileUnwritable: entries that cannot be written by
// Close are reported one by one, in full, never dropped silently.
func TestQueryLogClosedWhileUnwritable(t *testing.T) {
	t.Parallel()
	db := ratingstest.SQLite(t)
	_, ids := newClients(t, db, 1)
	var reported errorsOf
	qlog := ratings.NewQueryLogWith(db, ratings.QueryLogParams{OnError: reported.add, CloseTimeout: 200 * time.Millisecond})
	_, err := db.ExecContext(context.Background(), "ALTER TABLE query_log RENAME TO query_log_away")
	require.NoError(t, err)
	require.NoError(t, qlog.Log(ids[0], "credit?as_of=\x00", []string{"91420102MA4K0001XX"}, "invalid", time.Now()))
	require.NoError(t, qlog.Log(ids[0], "credit", []string{"91420102MA4K0002XX"}, "found", time.Now()))
	qlog.Close()
	var lost []string
	for _, err := range reported.all() {
		if errors.Is(err, ratings.ErrQueryLogUnavailable) && strings.Contains(err.Error(), "not written") {
			lost = append(lost, err.Error())
		}
	}
	require.Len(t, lost, 2, "%q", reported.all())
	require.Contains(t, lost[0], `endpoint "credit?as_of=\\x00"`, "the entry, quoted")
	require.Contains(t, lost[1], "91420102MA4K0002XX")
	require.ErrorIs(t, qlog.Log(ids[0], "credit", nil, "found", time.Now()), ratings.ErrQueryLogUnavailable, "a closed log takes nothing")
}

// TestQueryLogReducedForm: an entry the database refuses as it is (here a
// trigger refuses long endpoints) is written in its reduced form —
// printable ASCII, each value cut short — and reported.
func TestQueryLogReducedForm(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		_, ids := newClients(t, db, 1)
		stmts := []string{`CREATE TRIGGER query_log_short BEFORE INSERT ON query_log
			WHEN length(NEW.endpoint) > 200 BEGIN SELECT RAISE(ABORT, 'endpoint too long'); END`}
		if ratings.IsPostgres(db) {
			stmts = []string{`CREATE FUNCTION query_log_short() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF length(NEW.endpoint) > 200 THEN RAISE EXCEPTION 'endpoint too long'; END IF; RETURN NEW; END $$`,
				`CREATE TRIGGER query_log_short BEFORE INSERT ON query_log FOR EACH ROW EXECUTE FUNCTION query_log_short()`}
		}
		for _, q := range stmts {
			_, err := db.ExecContext(ctx, q)
			require.NoError(t, err)
		}
		var reported errorsOf
		qlog := ratings.NewQueryLog(db, reported.add)
		long := "credit?as_of=" + strings.Repeat("中", 300)
		require.NoError(t, qlog.Log(ids[0], long, []string{"91420102MA4K0001XX"}, "invalid", time.Now()))
		require.NoError(t, qlog.Log(ids[0], "credit", []string{"91420102MA4K0002XX"}, "found", time.Now()))
		qlog.Close()
		rows := queryLogRows(t, db, ids[0])
		require.Len(t, rows, 2)
		byEndpoint := map[string]queryLogRow{}
		for _, r := range rows {
			byEndpoint[r.Endpoint[:min(len(r.Endpoint), 19)]] = r
		}
		require.Equal(t, "credit", byEndpoint["credit"].Endpoint)
		reduced := byEndpoint[`credit?as_of=\u4e2d`]
		require.LessOrEqual(t, len(reduced.Endpoint), 128)
		require.Contains(t, reduced.Endpoint, "...(")
		require.Regexp(t, `^[\x20-\x7e]+$`, reduced.Endpoint, "printable ASCII")
		require.Equal(t, "91420102MA4K0001XX", reduced.Codes)
		errs := reported.all()
		require.Len(t, errs, 1)
		require.ErrorContains(t, errs[0], "written in reduced form")
		require.ErrorContains(t, errs[0], "endpoint too long")
	})
}

// TestQueryLogBytesBound: what waits to be written is bounded in bytes
// too: large entries are refused once MaxBytes wait, and written when the
// log can be written again.
func TestQueryLogBytesBound(t *testing.T) {
	t.Parallel()
	db := ratingstest.SQLite(t)
	ctx := context.Background()
	_, ids := newClients(t, db, 1)
	qlog := ratings.NewQueryLogWith(db, ratings.QueryLogParams{MaxBytes: 200 << 10, OnError: func(error) {}})
	t.Cleanup(qlog.Close)
	_, err := db.ExecContext(ctx, "ALTER TABLE query_log RENAME TO query_log_away")
	require.NoError(t, err)
	big := make([]string, 1000)
	for i := range big {
		big[i] = strings.Repeat("9", 100)
	}
	n := 0
	for ; n < 10; n++ {
		if err := qlog.Log(ids[0], "credit/batch", big, "invalid", time.Now()); err != nil {
			require.ErrorIs(t, err, ratings.ErrQueryLogUnavailable)
			break
		}
	}
	require.Equal(t, 3, n, "three entries of about 64 KiB fit in 200 KiB")
	require.Eventually(t, func() bool { return !qlog.Healthy() }, 5*time.Second, 10*time.Millisecond)
	_, err = db.ExecContext(ctx, "ALTER TABLE query_log_away RENAME TO query_log")
	require.NoError(t, err)
	require.Eventually(t, qlog.Healthy, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return len(queryLogRows(t, db, ids[0])) == 3 }, 5*time.Second, 20*time.Millisecond)
	require.NoError(t, qlog.Log(ids[0], "credit/batch", big, "invalid", time.Now()), "room again")
}
