package ratings

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

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
// ErrNotFound, a unique violation ErrConflict; a check or foreign-key
// violation becomes a ValidationError naming the constraint. Other errors
// pass through.
func dbError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pqe *pq.Error
	if errors.As(err, &pqe) {
		switch pqe.Code {
		case "23505":
			return fmt.Errorf("%w: %s", ErrConflict, pqe.Detail)
		case "23514", "23503", "23502", "22007", "22008", "23P01", "22003":
			return &ValidationError{Field: cmpOr(pqe.Column, pqe.Constraint, "row"), Reason: pqe.Message}
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

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
