package ratings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// Limits of the values a query-log entry keeps, in bytes after escaping
// (see Log). A longer value is cut at the limit and ends with
// "…(N more bytes)" (codes: "…(N more codes)"), so the log still shows
// what was asked and how much more there was.
const (
	MaxLoggedEndpoint = 1024     // the endpoint, with as_of when given
	MaxLoggedCode     = 128      // each code of a query
	MaxLoggedCodes    = 64 << 10 // all the codes of one query, joined with ","
	MaxLoggedResult   = 256      // the result text
)

// ErrQueryLogUnavailable: the query log cannot take an entry (it holds
// Capacity entries or MaxBytes it has not been able to write, or it is
// closed). A
// credit answer must not be given unlogged; the API answers 503.
var ErrQueryLogUnavailable = errors.New("query log unavailable")

// QueryLogParams configure a QueryLog.
type QueryLogParams struct {
	// OnError is told of every failure: a batch that could not be
	// written (its entries are held and retried), an entry written only
	// in its reduced form, and an entry that could not be written at all
	// (the error holds the whole entry). Default: nothing.
	OnError func(error)
	// Capacity is how many entries may wait to be written, queued or held
	// after a failed write; Log refuses more. Default 20,000.
	Capacity int
	// MaxBytes bounds the memory of the entries waiting, in bytes (about:
	// their values plus 64 each); Log refuses more. Default 64 MiB.
	MaxBytes int64
	// FlushEvery is how often queued entries are written (also every 500
	// entries). Default 200 ms.
	FlushEvery time.Duration
	// CloseTimeout is how long Close keeps retrying held entries before it
	// reports them as not written. Default 10 s.
	CloseTimeout time.Duration
}

// QueryLog writes credit-sharing queries in batches, off the request
// path: Log queues an entry, and a goroutine inserts what is queued every
// FlushEvery or every 500 entries. A batch the database refuses is
// retried row by row, so a bad row cannot take the others with it; an
// entry that cannot be written because the log cannot be written at all
// (database down) is held and retried, and once Capacity entries wait,
// Log refuses (ErrQueryLogUnavailable) and Healthy is false. Close
// flushes and stops it.
type QueryLog struct {
	db      bun.IDB
	p       QueryLogParams
	ch      chan queryEntry
	pending atomic.Int64 // entries taken by Log, neither written nor reported yet
	bytes   atomic.Int64 // their size (entrySize)
	stalled atomic.Bool  // the last write found the log unwritable
	mu      sync.RWMutex // Log holds it to send, Close to close ch
	closed  bool
	done    chan struct{}
	once    sync.Once
}

type queryEntry struct {
	bun.BaseModel `bun:"table:query_log"`

	ID       int64     `bun:"id,pk,autoincrement"`
	ClientID int64     `bun:"client_id"`
	At       time.Time `bun:"at"`
	Endpoint string    `bun:"endpoint"`
	Codes    string    `bun:"codes"`
	Result   string    `bun:"result"`
}

func (e queryEntry) String() string {
	return fmt.Sprintf("client %d at %s endpoint %q codes %q result %q", e.ClientID, e.At.Format(time.RFC3339Nano), e.Endpoint, e.Codes, e.Result)
}

const queryLogBatch = 500

// NewQueryLog starts a query-log writer with default parameters; onError
// is told of write failures (see QueryLogParams.OnError).
func NewQueryLog(db bun.IDB, onError func(error)) *QueryLog {
	return NewQueryLogWith(db, QueryLogParams{OnError: onError})
}

// NewQueryLogWith starts a query-log writer.
func NewQueryLogWith(db bun.IDB, p QueryLogParams) *QueryLog {
	if p.Capacity <= 0 {
		p.Capacity = 20000
	}
	if p.MaxBytes <= 0 {
		p.MaxBytes = 64 << 20
	}
	if p.FlushEvery <= 0 {
		p.FlushEvery = 200 * time.Millisecond
	}
	if p.CloseTimeout <= 0 {
		p.CloseTimeout = 10 * time.Second
	}
	if p.OnError == nil {
		p.OnError = func(error) {}
	}
	q := &QueryLog{db: db, p: p, ch: make(chan queryEntry, p.Capacity), done: make(chan struct{})}
	go q.loop()
	return q
}

// Log queues one query. Every value is made safe first: invalid UTF-8
// bytes, control characters (NUL included) and the backslash are written
// \xNN and \\, format characters (bidi controls, zero-width ones) and
// line separators \uNNNN, a comma inside a code \x2c; then each value is
// cut to its limit (MaxLoggedEndpoint, MaxLoggedCode, MaxLoggedCodes,
// MaxLoggedResult). Log never blocks; it returns ErrQueryLogUnavailable
// when Capacity entries wait to be written or the log is closed, and
// then the query must not be answered.
func (q *QueryLog) Log(clientID int64, endpoint string, codes []string, result string, at time.Time) error {
	e := queryEntry{ClientID: clientID, At: at.UTC(), Endpoint: logSafe(endpoint, MaxLoggedEndpoint, escapeText),
		Codes: logCodes(codes), Result: logSafe(result, MaxLoggedResult, escapeText)}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return fmt.Errorf("query log closed: %w", ErrQueryLogUnavailable)
	}
	if q.pending.Add(1) > int64(q.p.Capacity) {
		q.pending.Add(-1)
		return fmt.Errorf("query log: %d entries wait to be written: %w", q.p.Capacity, ErrQueryLogUnavailable)
	}
	if size := e.size(); q.bytes.Add(size) > q.p.MaxBytes {
		q.bytes.Add(-size)
		q.pending.Add(-1)
		return fmt.Errorf("query log: %d bytes wait to be written: %w", q.p.MaxBytes, ErrQueryLogUnavailable)
	}
	q.ch <- e // never blocks: the channel holds Capacity entries
	return nil
}

// Healthy reports whether the log is being written and has room: false
// after a write found the database unwritable (until a write succeeds),
// when Capacity entries wait, or once closed.
func (q *QueryLog) Healthy() bool {
	q.mu.RLock()
	closed := q.closed
	q.mu.RUnlock()
	return !closed && !q.stalled.Load() && q.pending.Load() < int64(q.p.Capacity) && q.bytes.Load() < q.p.MaxBytes
}

// Close writes what is queued and stops the writer. Entries it cannot
// write within CloseTimeout are reported to OnError one by one.
func (q *QueryLog) Close() {
	q.once.Do(func() {
		q.mu.Lock()
		q.closed = true
		close(q.ch)
		q.mu.Unlock()
	})
	<-q.done
}

func (q *QueryLog) loop() {
	defer close(q.done)
	tick := time.NewTicker(q.p.FlushEvery)
	defer tick.Stop()
	var buf []queryEntry
	var retryAt time.Time
	backoff := q.p.FlushEvery
	for {
		select {
		case e, ok := <-q.ch:
			if !ok {
				q.closing(buf)
				return
			}
			buf = append(buf, e)
			if len(buf) < queryLogBatch {
				continue
			}
		case <-tick.C:
			if len(buf) == 0 {
				continue
			}
		}
		if time.Now().Before(retryAt) {
			continue
		}
		buf = q.write(buf)
		if len(buf) == 0 {
			backoff, retryAt = q.p.FlushEvery, time.Time{}
			continue
		}
		retryAt = time.Now().Add(backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
}

// closing writes what is left, retrying until CloseTimeout, and reports
// what it could not write.
func (q *QueryLog) closing(buf []queryEntry) {
	deadline := time.Now().Add(q.p.CloseTimeout)
	backoff := q.p.FlushEvery
	for {
		if buf = q.write(buf); len(buf) == 0 {
			return
		}
		if time.Now().Add(backoff).After(deadline) {
			break
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
	for _, e := range buf {
		q.p.OnError(fmt.Errorf("query log: entry not written at shutdown: %s: %w", e, ErrQueryLogUnavailable))
	}
	q.release(buf, nil)
}

// write writes buf in batches and returns the entries it holds because
// the log could not be written.
func (q *QueryLog) write(buf []queryEntry) []queryEntry {
	var held []queryEntry
	for i := 0; i < len(buf); i += queryLogBatch {
		batch := buf[i:min(i+queryLogBatch, len(buf))]
		h := q.writeBatch(batch)
		held = append(held, h...)
		if len(h) == len(batch) {
			// Nothing could be written: do not try the rest now.
			held = append(held, buf[i+len(batch):]...)
			break
		}
	}
	q.stalled.Store(len(held) > 0)
	return held
}

// writeBatch writes one batch in one statement or, if that fails, row by
// row: a row refused as it is is written in a reduced form, and a row
// refused in that form too is reported in full and dropped — unless the
// log cannot be written at all (nothing of several rows could be, or the
// log's table cannot be read), and then the rows not written are held and
// returned, to be retried.
func (q *QueryLog) writeBatch(batch []queryEntry) []queryEntry {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	rows := slices.Clone(batch)
	err := q.insert(ctx, &rows)
	cancel()
	if err == nil {
		q.release(batch, nil)
		return nil
	}
	if perr := q.probeFor(5 * time.Second); perr != nil {
		// Not a bad row: the database does not answer.
		q.p.OnError(fmt.Errorf("query log: %d entries held, to be retried: %w", len(batch), err))
		return batch
	}
	var failed []queryEntry
	var errs []error
	for i, e := range batch {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		row := e
		rowErr := q.insert(ctx, &row)
		if rowErr != nil {
			reduced := e.reduced()
			rerr := q.insert(ctx, &reduced)
			switch {
			case errors.Is(rerr, context.DeadlineExceeded):
				// The database stopped answering: hold the rest untried.
				cancel()
				held := append(failed, batch[i:]...)
				q.p.OnError(fmt.Errorf("query log: %d entries held, to be retried: %w", len(held), rerr))
				q.release(batch, held)
				return held
			case rerr != nil:
				failed, errs = append(failed, e), append(errs, rerr)
			default:
				q.p.OnError(fmt.Errorf("query log: entry written in reduced form: %s: %w", e, rowErr))
			}
		}
		cancel()
	}
	if len(failed) == 0 {
		q.release(batch, nil)
		return nil
	}
	if (len(failed) == len(batch) && len(batch) > 1) || q.probeFor(5*time.Second) != nil {
		q.p.OnError(fmt.Errorf("query log: %d entries held, to be retried: %w", len(failed), errs[0]))
		q.release(batch, failed)
		return failed
	}
	for i, e := range failed {
		q.p.OnError(fmt.Errorf("query log: entry not written: %s: %w", e, errs[i]))
	}
	q.release(batch, nil)
	return nil
}

// release counts the entries of done, but those of held, as no longer
// waiting.
func (q *QueryLog) release(done, held []queryEntry) {
	var n int64
	for _, e := range done {
		n += e.size()
	}
	for _, e := range held {
		n -= e.size()
	}
	q.pending.Add(-int64(len(done) - len(held)))
	q.bytes.Add(-n)
}

// size is about what an entry takes in memory, in bytes.
func (e queryEntry) size() int64 { return int64(64 + len(e.Endpoint) + len(e.Codes) + len(e.Result)) }

func (q *QueryLog) insert(ctx context.Context, model any) error {
	_, err := q.db.NewInsert().Model(model).Exec(ctx)
	return dbError(err)
}

// probeFor reads the log's table, to tell a row the database refuses from
// a database that cannot be reached or has no log table.
func (q *QueryLog) probeFor(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var n int
	return q.db.NewSelect().Table("query_log").ColumnExpr("count(*)").Where("id < 0").Scan(ctx, &n)
}

// reduced is the entry in printable ASCII, each value cut short (its
// values are already escaped; their escapes are kept as they are).
func (e queryEntry) reduced() queryEntry {
	r := e
	r.ID = 0
	r.Endpoint = logSafe(e.Endpoint, 128, escapeASCII)
	r.Codes = logSafe(e.Codes, 256, escapeASCII)
	r.Result = logSafe(e.Result, 64, escapeASCII)
	return r
}

type escapeMode int

const (
	escapeText  escapeMode = iota // control, format and separator characters, invalid UTF-8, backslash
	escapeCode                    // as escapeText, and the comma
	escapeASCII                   // of a value escapeText made (backslashes kept): every character beyond ASCII
)

// truncRoom is the room kept for the "…(N more bytes)" mark.
const truncRoom = 40

// logSafe escapes s (see QueryLog.Log) and cuts it to max bytes.
func logSafe(s string, max int, mode escapeMode) string {
	if out, ok := escapeUpTo(s, max, mode); ok {
		return out
	}
	out, _ := escapeUpTo(s, max-truncRoom, mode)
	return out
}

// escapeUpTo escapes s while the result fits in max bytes; ok is false
// if it did not, and the result then ends with a mark of what was left.
func escapeUpTo(s string, max int, mode escapeMode) (string, bool) {
	var b strings.Builder
	var piece []byte
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		piece = piece[:0]
		switch {
		case r == utf8.RuneError && n == 1:
			piece = fmt.Appendf(piece, `\x%02x`, s[i])
		case r == '\\' && mode != escapeASCII:
			piece = append(piece, `\\`...)
		case r < 0x20 || r == 0x7f || (mode == escapeCode && r == ','):
			piece = fmt.Appendf(piece, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) || (mode == escapeASCII && r >= 0x80):
			if r > 0xffff {
				piece = fmt.Appendf(piece, `\U%08x`, r)
			} else {
				piece = fmt.Appendf(piece, `\u%04x`, r)
			}
		default:
			piece = append(piece, s[i:i+n]...)
		}
		if b.Len()+len(piece) > max {
			mark := "…"
			if mode == escapeASCII {
				mark = "..."
			}
			b.WriteString(mark + "(" + strconv.Itoa(len(s)-i) + " more bytes)")
			return b.String(), false
		}
		b.Write(piece)
		i += n
	}
	return b.String(), true
}

// logCodes joins the escaped codes, each cut to MaxLoggedCode, the whole
// to MaxLoggedCodes.
func logCodes(codes []string) string {
	var b strings.Builder
	for i, c := range codes {
		c = logSafe(c, MaxLoggedCode, escapeCode)
		if b.Len()+1+len(c) > MaxLoggedCodes-truncRoom {
			b.WriteString("…(" + strconv.Itoa(len(codes)-i) + " more codes)")
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c)
	}
	return b.String()
}
