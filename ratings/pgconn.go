package ratings

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// lib/pq cancels a statement whose context ends by asking the server to
// cancel it, and keeps waiting for the answer: when the server is hung
// (stopped, swapping, a network that drops packets) the call, and the
// request's goroutine, wait forever, whatever the deadline. pgConnector
// makes deadlines hold: while a call runs, the end of its context breaks
// the connection's socket, so the call returns at once with an error
// (ErrUnavailable through dbError) and the pool discards the connection.

// pgConnector opens lib/pq connections whose calls end with their context.
type pgConnector struct {
	dsn string
	drv driver.Driver
}

var _ driver.Connector = (*pgConnector)(nil)

func newPGConnector(dsn string) (*pgConnector, error) {
	c, err := pq.NewConnector(dsn) // checks the DSN once, here
	if err != nil {
		return nil, err
	}
	return &pgConnector{dsn: dsn, drv: c.Driver()}, nil
}

func (c *pgConnector) Driver() driver.Driver { return c.drv }

// Connect dials through a dialer that keeps the socket, so that the
// connection can break it.
func (c *pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	pc, err := pq.NewConnector(c.dsn)
	if err != nil {
		return nil, err
	}
	d := &keepDialer{connect: ctx}
	pc.Dialer(d)
	conn, err := pc.Connect(ctx)
	d.mu.Lock()
	sock := d.conn
	for _, stop := range d.stops {
		stop()
	}
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if sock == nil {
		conn.Close()
		return nil, errors.New("postgres: connected without a socket")
	}
	return &pgConn{Conn: conn, sock: sock}, nil
}

// keepDialer dials as lib/pq does and remembers the last socket. Until
// Connect is done, the end of the context breaks the socket: lib/pq
// bounds the start-up exchange only by connect_timeout.
type keepDialer struct {
	connect context.Context // Connect's, not the shorter one lib/pq dials with
	mu      sync.Mutex
	conn    net.Conn
	stops   []func() bool
}

func (d *keepDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d *keepDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d *keepDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.conn = c
	d.stops = append(d.stops, context.AfterFunc(d.connect, func() {
		c.SetDeadline(time.Unix(1, 0)) //nolint:errcheck // the connection fails either way
	}))
	d.mu.Unlock()
	return c, nil
}

// pgConn is a lib/pq connection whose calls end with their context.
type pgConn struct {
	driver.Conn
	sock   net.Conn
	broken atomic.Bool
}

// watch breaks the socket when ctx ends before stop is called.
func (c *pgConn) watch(ctx context.Context) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	s := context.AfterFunc(ctx, func() {
		c.broken.Store(true)
		c.sock.SetDeadline(time.Unix(1, 0)) //nolint:errcheck // the connection is discarded either way
	})
	return func() { s() }
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	stop := c.watch(ctx)
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	if err != nil {
		stop()
		return nil, err
	}
	return &pgRows{Rows: rows, stop: stop}, nil
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	defer c.watch(ctx)()
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	defer c.watch(ctx)()
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

// BeginTx watches the transaction's context until it ends, which covers
// the statements prepared in it (COPY).
func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	stop := c.watch(ctx)
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		stop()
		return nil, err
	}
	return &pgTx{Tx: tx, stop: stop}, nil
}

func (c *pgConn) Ping(ctx context.Context) error {
	defer c.watch(ctx)()
	return c.Conn.(driver.Pinger).Ping(ctx)
}

func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

// ResetSession and IsValid discard a connection whose socket was broken.
func (c *pgConn) ResetSession(ctx context.Context) error {
	if c.broken.Load() {
		return driver.ErrBadConn
	}
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *pgConn) IsValid() bool {
	return !c.broken.Load() && c.Conn.(driver.Validator).IsValid()
}

type pgRows struct {
	driver.Rows
	stop func()
}

func (r *pgRows) Close() error {
	defer r.stop()
	return r.Rows.Close()
}

// The optional interfaces of lib/pq's rows that database/sql uses.

func (r *pgRows) HasNextResultSet() bool {
	return r.Rows.(driver.RowsNextResultSet).HasNextResultSet()
}

func (r *pgRows) NextResultSet() error { return r.Rows.(driver.RowsNextResultSet).NextResultSet() }

func (r *pgRows) ColumnTypeScanType(i int) reflect.Type {
	return r.Rows.(driver.RowsColumnTypeScanType).ColumnTypeScanType(i)
}

func (r *pgRows) ColumnTypeDatabaseTypeName(i int) string {
	return r.Rows.(driver.RowsColumnTypeDatabaseTypeName).ColumnTypeDatabaseTypeName(i)
}

func (r *pgRows) ColumnTypeLength(i int) (int64, bool) {
	return r.Rows.(driver.RowsColumnTypeLength).ColumnTypeLength(i)
}

func (r *pgRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return r.Rows.(driver.RowsColumnTypePrecisionScale).ColumnTypePrecisionScale(i)
}

type pgTx struct {
	driver.Tx
	stop func()
}

func (t *pgTx) Commit() error {
	defer t.stop()
	return t.Tx.Commit()
}

func (t *pgTx) Rollback() error {
	defer t.stop()
	return t.Tx.Rollback()
}
