package api

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"laborcredit/engine"
	"laborcredit/ratings"
)

func (s *server) uploadRuleSet(c *gin.Context) {
	src, err := io.ReadAll(c.Request.Body)
	if err != nil {
		writeError(c, s.log, &httpError{status: http.StatusRequestEntityTooLarge, detail: "rule set too large"})
		return
	}
	row, err := s.svc.UploadRuleSet(c.Request.Context(), actor(c), cmp.Or(c.Query("name"), "upload.yaml"), src)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, row)
}

// readRuleSet compiles the rule set sent as the request body; on failure
// it has answered (413, or 422 with one field error per rule error).
func (s *server) readRuleSet(c *gin.Context, name string) (*engine.RuleSet, bool) {
	src, err := io.ReadAll(c.Request.Body)
	if err != nil {
		writeError(c, s.log, &httpError{status: http.StatusRequestEntityTooLarge, detail: "rule set too large"})
		return nil, false
	}
	rs, err := engine.Load(cmp.Or(c.Query("name"), name), src)
	var rse engine.RuleSetError
	switch {
	case errors.As(err, &rse):
		writeRuleErrors(c, rse)
		return nil, false
	case err != nil:
		writeError(c, s.log, &ratings.ValidationError{Field: "rule_set", Reason: err.Error()})
		return nil, false
	}
	return rs, true
}

// checkRuleSet compiles a rule set sent as the body and reports every
// error, without storing it; it also probes the rule set on worst-case
// facts, so that one breaking the engine's limits is refused (422 naming
// the rule). Officers and admins only.
func (s *server) checkRuleSet(c *gin.Context) {
	src, err := io.ReadAll(c.Request.Body)
	if err != nil {
		writeError(c, s.log, &httpError{status: http.StatusRequestEntityTooLarge, detail: "rule set too large"})
		return
	}
	rs, err := s.svc.CheckRuleSet(actor(c), cmp.Or(c.Query("name"), "upload.yaml"), src)
	var rse engine.RuleSetError
	switch {
	case errors.As(err, &rse):
		writeRuleErrors(c, rse)
		return
	case err != nil:
		writeError(c, s.log, err)
		return
	}
	ok(c, gin.H{"id": rs.ID, "version": rs.Version, "hash": rs.Hash, "rules": len(rs.Rules()), "awards": len(rs.Awards()), "evaluator": rs.Evaluator()})
}

// writeRuleErrors answers 422 with one field error per rule error.
func writeRuleErrors(c *gin.Context, rse engine.RuleSetError) {
	p := problem{Type: "about:blank", Title: http.StatusText(http.StatusUnprocessableEntity), Status: http.StatusUnprocessableEntity,
		Detail: "the rule set does not compile"}
	for _, re := range rse {
		field := "rule_set"
		if re.Rule != "" {
			field = re.Rule + "." + cmp.Or(re.Field, "rule")
		}
		p.Errors = append(p.Errors, fieldError{Field: field, Reason: re.Error()})
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}

// simulateRetryAfter is the Retry-After, in seconds, of a simulation
// refused because others run.
const simulateRetryAfter = 10

func (s *server) simulate(c *gin.Context) {
	y, err := yearParam(c)
	var show int
	if err == nil {
		show, err = intQuery(c, "show")
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	draft, ok2 := s.readRuleSet(c, "draft.yaml")
	if !ok2 {
		return
	}
	sim, err := s.svc.SimulatePeriod(c.Request.Context(), actor(c), y, c.Query("region"), draft, cmp.Or(show, 20))
	switch {
	case errors.Is(err, ratings.ErrSimulationBusy):
		c.Header("Retry-After", strconv.Itoa(simulateRetryAfter))
		writeError(c, s.log, &httpError{status: http.StatusTooManyRequests, detail: err.Error()})
		return
	case errors.Is(err, ratings.ErrSimulationDeadline):
		// 422, not 503 or 504: the deadline is reached because of what
		// was asked (the draft's cost times the region's employers), and
		// the same request would reach it again.
		writeError(c, s.log, &httpError{status: http.StatusUnprocessableEntity, detail: err.Error(), field: "rule_set"})
		return
	case errors.Is(err, context.Canceled):
		// The client has gone; nobody reads the answer.
		writeError(c, s.log, &httpError{status: http.StatusRequestTimeout, detail: "the request was cancelled"})
		return
	case err != nil:
		writeError(c, s.log, err)
		return
	}
	ok(c, sim)
}
