package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

// retryAfter sets Retry-After to a wait in whole seconds, rounded up
// (at least 1, at most a day).
func retryAfter(c *gin.Context, wait time.Duration) {
	c.Header("Retry-After", strconv.FormatInt(int64(math.Ceil(min(max(wait, time.Second), 24*time.Hour).Seconds())), 10))
}

// writeError is the one place that maps errors to status codes; a 500 is
// logged and its body says nothing of the cause.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	p := problem{Type: "about:blank"}
	var he *httpError
	var ve *ratings.ValidationError
	var le *ratings.LimitError
	var ce *ratings.CodeError
	switch {
	case errors.As(err, &le):
		p.Status, p.Detail = http.StatusTooManyRequests, le.Error()
		if le.RetryAfter > 0 {
			retryAfter(c, le.RetryAfter)
		}
	case errors.As(err, &ce):
		p.Status, p.Detail = http.StatusBadRequest, ce.Error()
		p.Errors = []fieldError{{Field: "uscc", Reason: ce.Error()}}
	case errors.As(err, &he):
		p.Status, p.Detail = he.status, he.detail
		if he.field != "" {
			p.Errors = []fieldError{{Field: he.field, Reason: he.detail}}
		}
	case errors.As(err, &ve):
		p.Status, p.Detail = http.StatusUnprocessableEntity, ve.Error()
		p.Errors = []fieldError{{Field: ve.Field, Reason: ve.Reason}}
	case errors.Is(err, ratings.ErrUnauthenticated):
		p.Status, p.Detail = http.StatusUnauthorized, "missing, unknown, revoked or expired credentials; "+
			"send Authorization: Bearer with a valid token or key, or ask your administrator for a new one"
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

// writeProblem writes a problem document outside gin (the metrics
// handler, which may serve a listener of its own).
func writeProblem(w http.ResponseWriter, status int, detail string) {
	b, _ := json.Marshal(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// maxJSONDepth is how deeply a JSON body may nest arrays and objects.
const maxJSONDepth = 32

// bindJSON decodes a JSON body strictly: not empty, or 400; Content-Type
// application/json (charset utf-8 at most), or 415; exactly one JSON value, no duplicate or
// unknown keys, nesting at most maxJSONDepth deep, or 400; every string
// (keys included) valid UTF-8 without NUL, or 422 naming the field, as in
// "codes[2]" or "review.name" (the decoder would quietly replace invalid
// UTF-8, and \u0000 decodes to NUL).
func bindJSON(c *gin.Context, v any) error {
	var body []byte
	if c.Request.Body != nil {
		var err error
		if body, err = io.ReadAll(c.Request.Body); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return &httpError{status: http.StatusRequestEntityTooLarge, detail: "request body too large"}
			}
			return badRequest("body", "could not read the body: "+err.Error())
		}
	}
	if len(body) == 0 {
		return badRequest("body", "invalid JSON body: a JSON body is required")
	}
	if err := checkJSONType(c.GetHeader("Content-Type")); err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// checkJSONType refuses a Content-Type other than application/json, with
// no parameter but charset=utf-8.
func checkJSONType(ct string) error {
	refuse := &httpError{status: http.StatusUnsupportedMediaType, field: "Content-Type",
		detail: "send the body as JSON, with Content-Type: application/json"}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return refuse
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return refuse
		}
	}
	return nil
}

// decodeJSON checks body (checkJSON) and decodes it into v, refusing
// unknown fields.
func decodeJSON(body []byte, v any) error {
	if err := checkJSON(body); err != nil {
		return err
	}
	if err := newStrictDecoder(bytes.NewReader(body)).Decode(v); err != nil {
		return badRequest("body", "invalid JSON body: "+err.Error())
	}
	return nil
}

// jsonFrame is an array or object being walked by checkJSON.
type jsonFrame struct {
	obj     bool
	path    string // the container's field path; "" at the top
	keys    map[string]bool
	key     string // the member being read (objects)
	n       int    // the element being read (arrays)
	wantKey bool
}

// checkJSON walks body token by token, before anything is decoded: one
// value and nothing after it, nesting, duplicate keys, and the text of
// every string, raw (invalid UTF-8) and decoded (NUL).
func checkJSON(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []jsonFrame
	join := func(parent, key string) string {
		if parent == "" {
			return key
		}
		return parent + "." + key
	}
	// here is the field path of the value about to be read.
	here := func() string {
		if len(stack) == 0 {
			return "body"
		}
		f := &stack[len(stack)-1]
		if f.obj {
			return cmp.Or(join(f.path, f.key), "body") // an empty key at the top names the body
		}
		return f.path + "[" + strconv.Itoa(f.n) + "]"
	}
	done := func() bool { // a value was read; reports whether it was the top one
		if len(stack) == 0 {
			return true
		}
		f := &stack[len(stack)-1]
		if f.obj {
			f.wantKey = true
		} else {
			f.n++
		}
		return false
	}
	var prev int64
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return badRequest("body", "invalid JSON body: empty")
		}
		if err != nil {
			return badRequest("body", "invalid JSON body: "+err.Error())
		}
		raw := body[prev:dec.InputOffset()]
		prev = dec.InputOffset()
		top := false
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) >= maxJSONDepth {
					return badRequest("body", "invalid JSON body: nested deeper than "+strconv.Itoa(maxJSONDepth))
				}
				path := ""
				if len(stack) > 0 {
					path = here()
				}
				stack = append(stack, jsonFrame{obj: t == '{', path: path, keys: map[string]bool{}, wantKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
				top = done()
			}
		case string:
			if f := top1(stack); f != nil && f.obj && f.wantKey {
				field := cmp.Or(join(f.path, t), "body")
				if !utf8.Valid(raw) || ratings.CheckText(field, t) != nil {
					return &ratings.ValidationError{Field: cmp.Or(f.path, "body"), Reason: "a key is not valid UTF-8 text without NUL"}
				}
				fold := strings.ToLower(t) // the decoder matches keys to fields case-insensitively
				if f.keys[fold] {
					return badRequest(field, "duplicate key "+strconv.Quote(t))
				}
				f.keys[fold], f.key, f.wantKey = true, t, false
				continue
			}
			field := here()
			if !utf8.Valid(raw) {
				return &ratings.ValidationError{Field: field, Reason: "invalid UTF-8"}
			}
			if err := ratings.CheckText(field, t); err != nil {
				return err
			}
			top = done()
		default:
			top = done()
		}
		if top {
			break
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("body", "invalid JSON body: data after the JSON value")
	}
	return nil
}

func top1(stack []jsonFrame) *jsonFrame {
	if len(stack) == 0 {
		return nil
	}
	return &stack[len(stack)-1]
}
