package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"laborcredit/ratings"
)

// Credit sharing for banks and bureaus: one code, a batch, the changes feed.

func (s *server) creditOne(c *gin.Context) {
	cl := client(c)
	code, err := s.pathCode(c)
	if err != nil {
		if s.logQuery(c, cl, "credit", []string{code}, "invalid") {
			writeError(c, s.log, err)
		}
		return
	}
	if asOf := c.Query("as_of"); asOf != "" {
		cr, err := s.svc.CreditAsOf(c.Request.Context(), code, asOf)
		if !s.logQuery(c, cl, "credit?as_of="+asOf, []string{code}, resultOf(err)) {
			return
		}
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		ok(c, cr)
		return
	}
	doc, err := s.svc.CreditDocument(c.Request.Context(), code)
	if !s.logQuery(c, cl, "credit", []string{code}, resultOf(err)) {
		return
	}
	if err != nil {
		writeError(c, s.log, notPublished(err, code))
		return
	}
	rawJSON(c, doc)
}

func notPublished(err error, code string) error {
	if errors.Is(err, ratings.ErrNotFound) {
		return &httpError{status: http.StatusNotFound, detail: "no published rating for " + code}
	}
	return err
}

func resultOf(err error) string {
	var ve *ratings.ValidationError
	switch {
	case err == nil:
		return "found"
	case errors.Is(err, ratings.ErrNotFound):
		return "not_published"
	case errors.As(err, &ve):
		return "invalid"
	}
	return "error"
}

// logQuery logs a client's query before it is answered. If the query log
// cannot take it, the query is refused with 503 and Retry-After instead
// (every answered credit query is logged) and logQuery returns false.
func (s *server) logQuery(c *gin.Context, cl *ratings.APIClient, endpoint string, codes []string, result string) bool {
	if err := s.qlog.Log(cl.ID, endpoint, codes, result, s.now()); err != nil {
		s.log.ErrorContext(c.Request.Context(), "credit query refused: query log unavailable", slog.Int64("client_id", cl.ID), slog.Any("error", err))
		writeUnlogged(c, s.log)
		return false
	}
	s.metrics.credit.WithLabelValues(creditLabels(cl.Kind, result)).Inc()
	return true
}

// queryLogRetry is the Retry-After of a query refused because the query
// log cannot be written, in seconds.
const queryLogRetry = 5

func writeUnlogged(c *gin.Context, log *slog.Logger) {
	c.Header("Retry-After", strconv.Itoa(queryLogRetry))
	writeError(c, log, &httpError{status: http.StatusServiceUnavailable,
		detail: "the query log cannot be written now, and no credit query is answered unlogged; retry later"})
}

type batchRequest struct {
	Codes []string `json:"codes"`
}

func (s *server) creditBatch(c *gin.Context) {
	var req batchRequest
	if err := bindJSON(c, &req); err != nil {
		if s.logQuery(c, client(c), "credit/batch", nil, "invalid") {
			writeError(c, s.log, err)
		}
		return
	}
	items, err := s.svc.CreditBatch(c.Request.Context(), req.Codes)
	if err != nil {
		if s.logQuery(c, client(c), "credit/batch", req.Codes, resultOf(err)) {
			writeError(c, s.log, err)
		}
		return
	}
	found := 0
	for _, it := range items {
		if it.Status == "found" {
			found++
		}
	}
	if s.logQuery(c, client(c), "credit/batch", req.Codes, strconv.Itoa(found)+" found of "+strconv.Itoa(len(items))) {
		ok(c, gin.H{"results": items})
	}
}

func (s *server) creditChanges(c *gin.Context) {
	limit := 100
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			if s.logQuery(c, client(c), "credit/changes", nil, "invalid") {
				writeError(c, s.log, badRequest("limit", "limit must be a whole number from 1 to 1000"))
			}
			return
		}
		limit = n
	}
	changes, next, err := s.svc.Changes(c.Request.Context(), c.Query("since"), limit)
	if err != nil {
		if s.logQuery(c, client(c), "credit/changes", nil, resultOf(err)) {
			writeError(c, s.log, err)
		}
		return
	}
	if s.logQuery(c, client(c), "credit/changes", nil, strconv.Itoa(len(changes))+" changes") {
		ok(c, gin.H{"changes": changes, "next": next})
	}
}
