package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"laborcredit/ratings"
)

// The procedure: periods, ratings and their transitions, objections, nominations.

type actorJSON struct {
	Name   string       `json:"name"`
	Role   ratings.Role `json:"role"`
	Region string       `json:"region"`
	USCC   string       `json:"uscc,omitempty"`
}

func actorView(a ratings.Actor) actorJSON { return actorJSON(a) }

func (s *server) listPeriods(c *gin.Context) {
	ps, err := s.svc.Periods(c.Request.Context())
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	if ps == nil {
		ps = []ratings.Period{}
	}
	ok(c, gin.H{"periods": ps})
}

// yearBody reads the period in the path and then the JSON body into req.
func yearBody(c *gin.Context, req any) (int, error) {
	y, err := yearParam(c)
	if err == nil {
		err = bindJSON(c, req)
	}
	return y, err
}

func yearParam(c *gin.Context) (int, error) {
	y, err := strconv.Atoi(c.Param("year"))
	if err != nil {
		return 0, badRequest("year", "the period must be a year")
	}
	return y, nil
}

func idParam(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0, badRequest("id", "the id must be a whole number")
	}
	return id, nil
}

type activateRequest struct {
	Hash string `json:"hash"`
}

func (s *server) activate(c *gin.Context) {
	var req activateRequest
	y, err := yearBody(c, &req)
	if err == nil {
		err = s.svc.ActivateRuleSet(c.Request.Context(), actor(c), y, req.Hash)
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, gin.H{"period": y, "hash": req.Hash})
}

type periodRequest struct {
	PublicityDays int `json:"publicity_days"`
}

func (s *server) updatePeriod(c *gin.Context) {
	var req periodRequest
	y, err := yearBody(c, &req)
	if err == nil {
		err = s.svc.SetPublicityDays(c.Request.Context(), actor(c), y, req.PublicityDays)
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, gin.H{"period": y, "publicity_days": req.PublicityDays})
}

type regionRequest struct {
	Region string  `json:"region"`
	IDs    []int64 `json:"ids,omitempty"`
}

type rateRequest struct {
	Region string `json:"region"`
}

func (s *server) rate(c *gin.Context) {
	var req rateRequest
	y, err := yearBody(c, &req)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	rep, err := s.svc.Rate(c.Request.Context(), actor(c), ratings.RateParams{Period: y, Region: req.Region})
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	s.metrics.rated.WithLabelValues("rated").Add(float64(rep.Rated))
	s.metrics.rated.WithLabelValues("unchanged").Add(float64(rep.Unchanged))
	s.metrics.rated.WithLabelValues("held").Add(float64(rep.Held))
	ok(c, gin.H{"run": rep.RunID, "resumed": rep.Resumed, "employers": rep.Employers, "rated": rep.Rated,
		"unchanged": rep.Unchanged, "held": rep.Held, "rule_set": rep.RuleSet, "hash": rep.Hash})
}

func (s *server) publicize(c *gin.Context) {
	var req regionRequest
	y, err := yearBody(c, &req)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	n, ends, err := s.svc.Publicize(c.Request.Context(), actor(c), ratings.PublicizeParams{Period: y, Region: req.Region, IDs: req.IDs})
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, gin.H{"publicized": n, "publicity_ends": ends})
}

// bulkStep serves a whole-list step of the period: review or confirm
// every rating of the region (or the ids given) at once.
func (s *server) bulkStep(step func(context.Context, ratings.Actor, ratings.BulkParams) (int, error), key string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req regionRequest
		y, err := yearBody(c, &req)
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		n, err := step(c.Request.Context(), actor(c), ratings.BulkParams{Period: y, Region: req.Region, IDs: req.IDs})
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		ok(c, gin.H{key: n})
	}
}

func (s *server) listRatings(c *gin.Context) {
	period, err := intQuery(c, "period")
	var page int
	if err == nil {
		page, _, err = paging(c, false)
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	rs, err := s.svc.ListRatings(c.Request.Context(), actor(c), ratings.RatingFilter{Period: period, Region: c.Query("region"), Status: c.Query("status"), Page: page})
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, gin.H{"ratings": ratingsJSON(rs)})
}

// ratingJSON is a rating as officers see it: everything, with the result
// and facts as JSON.
type ratingJSON struct {
	ratings.RatingView
	ResultJSON any `json:"result"`
	FactsJSON  any `json:"facts"`
}

func ratingsJSON(rs []ratings.RatingView) []ratingJSON {
	out := make([]ratingJSON, len(rs))
	for i := range rs {
		out[i] = toRatingJSON(&rs[i])
	}
	return out
}

func toRatingJSON(r *ratings.RatingView) ratingJSON {
	return ratingJSON{RatingView: *r, ResultJSON: rawOrNil(r.Result), FactsJSON: rawOrNil(r.Facts)}
}

func rawOrNil(s string) any {
	if s == "" {
		return nil
	}
	return jsonRaw(s)
}

func (s *server) getRating(c *gin.Context) {
	id, err := idParam(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	r, err := s.svc.Rating(c.Request.Context(), actor(c), id)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, toRatingJSON(r))
}

type transitionRequest struct {
	LockVersion int    `json:"lock_version"`
	Grade       string `json:"grade,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

func (s *server) transition(c *gin.Context, do func(ctx context.Context, a ratings.Actor, ref ratings.Ref, req transitionRequest) (*ratings.RatingView, error)) {
	id, err := idParam(c)
	var req transitionRequest
	if err == nil {
		err = bindJSON(c, &req)
	}
	if err == nil && req.LockVersion < 1 {
		err = badRequest("lock_version", "lock_version is required: the version of the rating you read")
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	r, err := do(c.Request.Context(), actor(c), ratings.Ref{ID: id, LockVersion: req.LockVersion}, req)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, toRatingJSON(r))
}

func (s *server) review(c *gin.Context) {
	s.transition(c, func(ctx context.Context, a ratings.Actor, ref ratings.Ref, _ transitionRequest) (*ratings.RatingView, error) {
		return s.svc.Review(ctx, a, ref)
	})
}

func (s *server) confirm(c *gin.Context) {
	s.transition(c, func(ctx context.Context, a ratings.Actor, ref ratings.Ref, req transitionRequest) (*ratings.RatingView, error) {
		return s.svc.Confirm(ctx, a, ref, req.Grade, req.Reason)
	})
}

func (s *server) rerate(c *gin.Context) {
	s.transition(c, func(ctx context.Context, a ratings.Actor, ref ratings.Ref, _ transitionRequest) (*ratings.RatingView, error) {
		return s.svc.Rerate(ctx, a, ref)
	})
}

func (s *server) correct(c *gin.Context) {
	s.transition(c, func(ctx context.Context, a ratings.Actor, ref ratings.Ref, req transitionRequest) (*ratings.RatingView, error) {
		return s.svc.Correct(ctx, a, ref, req.Grade, req.Reason)
	})
}

type objectionDecision struct {
	Upheld   *bool  `json:"upheld"`
	Outcome  string `json:"outcome"` // upheld, rejected or inadmissible; instead of upheld
	Decision string `json:"decision"`
}

// outcome reads the decision's outcome from upheld (true or false) or
// outcome (one of three).
func (d objectionDecision) outcome() (string, error) {
	switch {
	case d.Upheld != nil && d.Outcome != "":
		return "", badRequest("outcome", "give upheld or outcome, not both")
	case d.Upheld != nil && *d.Upheld:
		return ratings.ObjectionUpheld, nil
	case d.Upheld != nil:
		return ratings.ObjectionRejected, nil
	case d.Outcome == "":
		return "", badRequest("upheld", "upheld (true or false) or outcome (upheld, rejected or inadmissible) is required")
	}
	return d.Outcome, nil
}

func (s *server) decideObjection(c *gin.Context) {
	id, err := idParam(c)
	var req objectionDecision
	if err == nil {
		err = bindJSON(c, &req)
	}
	var outcome string
	if err == nil {
		outcome, err = req.outcome()
	}
	if err == nil {
		_, err = s.svc.DecideObjections(c.Request.Context(), actor(c), ratings.DecideObjectionsParams{IDs: []int64{id}, Outcome: outcome, Decision: req.Decision})
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	if req.Upheld != nil {
		ok(c, gin.H{"objection": id, "upheld": *req.Upheld})
		return
	}
	ok(c, gin.H{"objection": id, "outcome": outcome})
}

type objectionsDecision struct {
	IDs []int64 `json:"ids"`
	All bool    `json:"all"`
	objectionDecision
}

// decideObjections answers several (or all open) objections to one rating
// with one outcome and one written decision.
func (s *server) decideObjections(c *gin.Context) {
	id, err := idParam(c)
	var req objectionsDecision
	if err == nil {
		err = bindJSON(c, &req)
	}
	var outcome string
	if err == nil {
		outcome, err = req.outcome()
	}
	var out *ratings.ObjectionsDecided
	if err == nil {
		out, err = s.svc.DecideObjections(c.Request.Context(), actor(c), ratings.DecideObjectionsParams{RatingID: id, IDs: req.IDs, All: req.All,
			Outcome: outcome, Decision: req.Decision})
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, out)
}

type nominationRequest struct {
	USCC   string `json:"uscc"`
	Period int    `json:"period"`
	Award  string `json:"award"`
}

func (s *server) nominate(c *gin.Context) {
	var req nominationRequest
	if err := bindJSON(c, &req); err != nil {
		writeError(c, s.log, err)
		return
	}
	n, err := s.svc.Nominate(c.Request.Context(), actor(c), req.USCC, req.Period, req.Award)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, n)
}

type nominationDecision struct {
	Approve *bool  `json:"approve"`
	Reason  string `json:"reason"`
}

func (s *server) decideNomination(c *gin.Context) {
	id, err := idParam(c)
	var req nominationDecision
	if err == nil {
		err = bindJSON(c, &req)
	}
	if err == nil && req.Approve == nil {
		err = badRequest("approve", "approve (true or false) is required")
	}
	if err == nil {
		err = s.svc.DecideNomination(c.Request.Context(), actor(c), id, *req.Approve, req.Reason)
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, gin.H{"nomination": id, "approved": *req.Approve})
}

// listObjections is an officer's queue of objections (the objector's
// statement, name and contact), by region, rating and status.
func (s *server) listObjections(c *gin.Context) {
	page, _, err := paging(c, false)
	var ratingID int64
	if err == nil && c.Query("rating_id") != "" {
		ratingID, err = strconv.ParseInt(c.Query("rating_id"), 10, 64)
		if err != nil || ratingID <= 0 {
			err = badRequest("rating_id", "rating_id must be a positive whole number")
		}
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	obs, err := s.svc.Objections(c.Request.Context(), actor(c), ratings.ObjectionFilter{Region: c.Query("region"),
		RatingID: ratingID, Status: c.Query("status"), Page: page})
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, gin.H{"objections": obs})
}
