package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"laborcredit/ratings"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []fieldError `json:"errors,omitempty"`
}

type fieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// httpError is an error with its own status, for what only HTTP knows
// (bad JSON, a body too large, a rate limit).
type httpError struct {
	status int
	detail string
	field  string
}

func (e *httpError) Error() string { return e.detail }

func badRequest(field, detail string) error {
	return &httpError{status: http.StatusBadRequest, detail: detail, field: field}
}

// writeError is the one place that maps errors to status codes; a 500 is
// logged and its body says nothing of the cause.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	p := problem{Type: "about:blank"}
	var he *httpError
	var ve *ratings.ValidationError
	switch {
	case errors.As(err, &he):
		p.Status, p.Detail = he.status, he.detail
		if he.field != "" {
			p.Errors = []fieldError{{Field: he.field, Reason: he.detail}}
		}
	case errors.As(err, &ve):
		p.Status, p.Detail = http.StatusUnprocessableEntity, ve.Error()
		p.Errors = []fieldError{{Field: ve.Field, Reason: ve.Reason}}
	case errors.Is(err, ratings.ErrUnauthenticated):
		p.Status, p.Detail = http.StatusUnauthorized, "missing, unknown or revoked credentials"
		c.Header("WWW-Authenticate", `Bearer realm="laborcredit"`)
	case errors.Is(err, ratings.ErrForbidden):
		p.Status, p.Detail = http.StatusForbidden, err.Error()
	case errors.Is(err, ratings.ErrNotFound):
		p.Status, p.Detail = http.StatusNotFound, err.Error()
	case errors.Is(err, ratings.ErrConflict):
		p.Status, p.Detail = http.StatusConflict, err.Error()
	case ratings.IsUnavailable(err):
		p.Status, p.Detail = http.StatusServiceUnavailable, "the database is unavailable; retry later"
		c.Header("Retry-After", "5")
		log.WarnContext(c.Request.Context(), "database unavailable", slog.String("route", c.FullPath()), slog.Any("error", err))
	default:
		p.Status, p.Detail = http.StatusInternalServerError, "internal error; it has been logged"
		log.ErrorContext(c.Request.Context(), "request failed", slog.String("route", c.FullPath()), slog.Any("error", err))
	}
	p.Title = http.StatusText(p.Status)
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}

// bindJSON decodes a JSON body strictly (unknown fields are errors).
func bindJSON(c *gin.Context, v any) error {
	dec := newStrictDecoder(c.Request.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &httpError{status: http.StatusRequestEntityTooLarge, detail: "request body too large"}
		}
		return badRequest("body", "invalid JSON body: "+err.Error())
	}
	return nil
}
