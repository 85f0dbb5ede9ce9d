package ratings

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/lib/pq"
)

// Sentinel errors of the domain. The HTTP layer maps them to status codes.
var (
	// ErrNotFound: the thing asked for does not exist (or is not visible).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique key is taken, or the row changed since it was
	// read (optimistic locking).
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the actor's role or region does not allow the act.
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: the database cannot be reached or did not answer in
	// time; the request may be retried later.
	ErrUnavailable = errors.New("database unavailable")
)

// ValidationError is bad input, naming the field (and, for files, the row).
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// invalid returns a *ValidationError.
func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// dbError translates driver errors into the domain's: no rows is
// ErrNotFound, a unique violation ErrConflict, a database that cannot be
// reached or timed out ErrUnavailable; a check or foreign-key
// violation becomes a ValidationError naming the constraint. Other errors
// pass through.
func dbError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var pqe *pq.Error
	if errors.As(err, &pqe) {
		switch pqe.Code {
		case "23505":
			return fmt.Errorf("%w: %s", ErrConflict, pqe.Detail)
		case "23514", "23503", "23502", "22007", "22008", "23P01", "22003":
			return &ValidationError{Field: cmp.Or(pqe.Column, pqe.Constraint, "row"), Reason: pqe.Message}
		}
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed"):
		return fmt.Errorf("%w: %s", ErrConflict, msg)
	case strings.Contains(msg, "CHECK constraint failed"), strings.Contains(msg, "FOREIGN KEY constraint failed"),
		strings.Contains(msg, "NOT NULL constraint failed"):
		return &ValidationError{Field: "row", Reason: msg}
	}
	return err
}

// IsUnavailable reports whether err says the database is unavailable:
// ErrUnavailable, or a driver error dbError would translate to it (for
// the read paths that return driver errors as they come).
func IsUnavailable(err error) bool {
	return errors.Is(err, ErrUnavailable) || unavailable(err)
}

// unavailable reports whether a driver error means the database could not
// be reached, dropped the connection, or did not answer before the
// deadline: connection refused or reset, a bad or closed connection, a
// network timeout, PostgreSQL's connection exceptions (class 08), its
// shutdown and start-up refusals (class 57P), too many connections, or
// a statement cancelled by its timeout.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	var pqe *pq.Error
	if errors.As(err, &pqe) {
		code := string(pqe.Code)
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P") || code == "53300" || code == "57014"
	}
	return false
}
