package api

import (
	"cmp"
	"errors"
	"io"
	"net/http"

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
	row, err := s.svc.UploadRuleSet(c.Request.Context(), actor(c), cmpOr(c.Query("name"), "upload.yaml"), src)
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
	rs, err := engine.Load(cmpOr(c.Query("name"), name), src)
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
// error, without storing it.
func (s *server) checkRuleSet(c *gin.Context) {
	rs, ok2 := s.readRuleSet(c, "upload.yaml")
	if !ok2 {
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
			field = re.Rule + "." + cmpOr(re.Field, "rule")
		}
		p.Errors = append(p.Errors, fieldError{Field: field, Reason: re.Error()})
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}

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
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, sim)
}
