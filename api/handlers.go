package api

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"laborcredit/engine"
	"laborcredit/ratings"
)

func (s *server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	ms, err := ratings.MigrationStatus(ctx, s.svc.DB())
	if err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "database unreachable"})
		return
	}
	if n := len(ms.Unapplied()); n > 0 {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "migrations pending", "pending": n})
		return
	}
	ok(c, gin.H{"status": "ready"})
}

// checkCode answers 400 for a malformed code, naming why.
func checkCode(code string) error {
	if err := engine.CheckUSCC(code); err != nil {
		return badRequest("uscc", "malformed unified social credit code: "+err.Error())
	}
	return nil
}

// pathCode is the code in the path, tidied (spaces, full-width
// characters, case) and checked; a code that fails its check character
// passes only if it is on the legacy allow-list.
func (s *server) pathCode(c *gin.Context) (string, error) {
	code, err := s.lookupCode(c, c.Param("uscc"))
	if err != nil {
		return code, badRequest("uscc", "malformed unified social credit code: "+err.Error())
	}
	return code, nil
}

// lookupCode tidies a code someone typed (ratings.NormalizeCode) and
// checks it as a lookup key: the engine's check, or the legacy allow-list.
// The error says why the code is malformed (length, character, check).
func (s *server) lookupCode(c *gin.Context, raw string) (string, error) {
	code := ratings.NormalizeCode(raw)
	err := engine.CheckUSCC(code)
	if err != nil && len(code) == 18 && s.svc.ValidCode(c.Request.Context(), code) == nil {
		err = nil
	}
	return code, err
}

// credit sharing

func (s *server) creditOne(c *gin.Context) {
	cl := client(c)
	code, err := s.pathCode(c)
	if err != nil {
		s.logQuery(cl, "credit", []string{code}, "invalid")
		writeError(c, s.log, err)
		return
	}
	if asOf := c.Query("as_of"); asOf != "" {
		cr, err := s.svc.CreditAsOf(c.Request.Context(), code, asOf)
		s.logQuery(cl, "credit?as_of="+asOf, []string{code}, resultOf(err))
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		ok(c, cr)
		return
	}
	doc, err := s.svc.CreditDocument(c.Request.Context(), code)
	s.logQuery(cl, "credit", []string{code}, resultOf(err))
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

func (s *server) logQuery(cl *ratings.APIClient, endpoint string, codes []string, result string) {
	s.metrics.credit.WithLabelValues(cl.Kind, result).Inc()
	s.qlog.Log(cl.ID, endpoint, codes, result, s.now())
}

type batchRequest struct {
	Codes []string `json:"codes"`
}

func (s *server) creditBatch(c *gin.Context) {
	var req batchRequest
	if err := bindJSON(c, &req); err != nil {
		s.logQuery(client(c), "credit/batch", nil, "invalid")
		writeError(c, s.log, err)
		return
	}
	items, err := s.svc.CreditBatch(c.Request.Context(), req.Codes)
	if err != nil {
		s.logQuery(client(c), "credit/batch", req.Codes, resultOf(err))
		writeError(c, s.log, err)
		return
	}
	found := 0
	for _, it := range items {
		if it.Status == "found" {
			found++
		}
	}
	s.logQuery(client(c), "credit/batch", req.Codes, strconv.Itoa(found)+" found of "+strconv.Itoa(len(items)))
	ok(c, gin.H{"results": items})
}

func (s *server) creditChanges(c *gin.Context) {
	limit := 100
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			s.logQuery(client(c), "credit/changes", nil, "invalid")
			writeError(c, s.log, badRequest("limit", "limit must be a whole number from 1 to 1000"))
			return
		}
		limit = n
	}
	changes, next, err := s.svc.Changes(c.Request.Context(), c.Query("since"), limit)
	if err != nil {
		s.logQuery(client(c), "credit/changes", nil, resultOf(err))
		writeError(c, s.log, err)
		return
	}
	s.logQuery(client(c), "credit/changes", nil, strconv.Itoa(len(changes))+" changes")
	ok(c, gin.H{"changes": changes, "next": next})
}

// public

func (s *server) publicSearch(c *gin.Context) {
	q := ratings.PublicQuery{Q: c.Query("q"), Region: c.Query("region"), Grade: c.Query("grade")}
	var err error
	if q.Period, err = intQuery(c, "period"); err == nil {
		q.Page, err = intQuery(c, "page")
	}
	if err == nil {
		q.PerPage, err = intQuery(c, "per_page")
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	page, err := s.svc.SearchPublished(c.Request.Context(), q)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, page)
}

func intQuery(c *gin.Context, name string) (int, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badRequest(name, name+" must be a whole number")
	}
	return n, nil
}

func (s *server) publicEmployer(c *gin.Context) {
	code, err := s.pathCode(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	doc, err := s.svc.CreditDocument(c.Request.Context(), code)
	if err != nil {
		writeError(c, s.log, notPublished(err, code))
		return
	}
	rawJSON(c, doc)
}

func (s *server) publicAwards(c *gin.Context) {
	period, err := intQuery(c, "period")
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	roll, err := s.svc.AwardRoll(c.Request.Context(), period, c.Query("region"))
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	if roll == nil {
		roll = []ratings.AwardEntry{}
	}
	ok(c, gin.H{"awards": roll})
}

func (s *server) publicity(c *gin.Context) {
	page, err := intQuery(c, "page")
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	items, err := s.svc.UnderPublicity(c.Request.Context(), c.Query("region"), page)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, gin.H{"ratings": items,
		"how_to_object": "Anyone may object in writing, with their name, until the end of publicity_ends (China time): POST /api/v1/public/objections with rating_id, filed_by, reason and evidence."})
}

type objectionRequest struct {
	RatingID int64  `json:"rating_id"`
	FiledBy  string `json:"filed_by"`
	Reason   string `json:"reason"`
	Evidence string `json:"evidence"`
}

func (s *server) fileObjection(c *gin.Context) {
	var req objectionRequest
	if err := bindJSON(c, &req); err != nil {
		writeError(c, s.log, err)
		return
	}
	o, err := s.svc.FileObjection(c.Request.Context(), ratings.ObjectionParams(req))
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, o)
}

// officers and employers

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

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *server) listRatings(c *gin.Context) {
	period, err := intQuery(c, "period")
	var page int
	if err == nil {
		page, err = intQuery(c, "page")
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
	Decision string `json:"decision"`
}

func (s *server) decideObjection(c *gin.Context) {
	id, err := idParam(c)
	var req objectionDecision
	if err == nil {
		err = bindJSON(c, &req)
	}
	if err == nil && req.Upheld == nil {
		err = badRequest("upheld", "upheld (true or false) is required")
	}
	if err == nil {
		err = s.svc.DecideObjection(c.Request.Context(), actor(c), id, *req.Upheld, req.Decision)
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, gin.H{"objection": id, "upheld": *req.Upheld})
}

type nominationRequest struct {
	USCC   string `json:"uscc"`
	Period int    `json:"period"`
	Award  string `json:"award"`
}

func (s *server) nominate(c *gin.Context) {
	var req nominationRequest
	err := bindJSON(c, &req)
	if err == nil {
		err = checkCode(req.USCC)
	}
	if err != nil {
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

type employerRequest struct {
	USCC      string `json:"uscc"`
	Name      string `json:"name"`
	Region    string `json:"region"`
	Industry  string `json:"industry"`
	Employees int    `json:"employees"`
}

func (s *server) addEmployer(c *gin.Context) {
	var req employerRequest
	if err := bindJSON(c, &req); err != nil {
		writeError(c, s.log, err)
		return
	}
	e, err := s.svc.AddEmployer(c.Request.Context(), actor(c), ratings.Employer{USCC: strings.TrimSpace(req.USCC), Name: req.Name,
		Region: req.Region, Industry: req.Industry, Employees: req.Employees})
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, e)
}

func (s *server) integrityFile(c *gin.Context) {
	rs, err := s.svc.IntegrityFile(c.Request.Context(), actor(c), c.Param("uscc"))
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, gin.H{"ratings": ratingsJSON(rs)})
}

type notificationJSON struct {
	ratings.Notification
	BodyJSON any `json:"body"`
}

func (s *server) notifications(c *gin.Context) {
	ns, err := s.svc.Notifications(c.Request.Context(), actor(c), c.Param("uscc"))
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	out := make([]notificationJSON, len(ns))
	for i := range ns {
		out[i] = notificationJSON{Notification: ns[i], BodyJSON: jsonRaw(ns[i].Body)}
	}
	ok(c, gin.H{"notifications": out})
}

type caseRequest struct {
	USCC string `json:"uscc"`
	engine.Case
}

func (s *server) recordCase(c *gin.Context) {
	var req caseRequest
	if err := bindJSON(c, &req); err != nil {
		writeError(c, s.log, err)
		return
	}
	k, err := s.svc.RecordCase(c.Request.Context(), actor(c), ratings.CaseRecord{USCC: req.USCC, Case: req.Case})
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": k.ID, "case_no": k.CaseNo})
}

type declarationRequest struct {
	Period int `json:"period"`
	engine.AnnualReview
}

func (s *server) declareAnnual(c *gin.Context) {
	var req declarationRequest
	if err := bindJSON(c, &req); err != nil {
		writeError(c, s.log, err)
		return
	}
	if err := s.svc.DeclareAnnual(c.Request.Context(), actor(c), req.Period, req.AnnualReview); err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"period": req.Period, "deadline": ratings.DeclarationDeadline(req.Period)})
}

func (s *server) listEmployers(c *gin.Context) {
	page, err := intQuery(c, "page")
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	es, err := s.svc.ListEmployers(c.Request.Context(), actor(c), c.Query("region"), c.Query("q"), page)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ok(c, gin.H{"employers": es})
}

type reviewRequest struct {
	USCC   string `json:"uscc"`
	Period int    `json:"period"`
	engine.AnnualReview
}

func (s *server) recordReview(c *gin.Context) {
	var req reviewRequest
	if err := bindJSON(c, &req); err != nil {
		writeError(c, s.log, err)
		return
	}
	if err := s.svc.RecordReview(c.Request.Context(), actor(c), ratings.ReviewRecord(req)); err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"uscc": req.USCC, "period": req.Period})
}

type complaintRequest struct {
	USCC        string `json:"uscc"`
	ComplaintNo string `json:"complaint_no"`
	Received    string `json:"received"`
}

func (s *server) recordComplaint(c *gin.Context) {
	var req complaintRequest
	if err := bindJSON(c, &req); err != nil {
		writeError(c, s.log, err)
		return
	}
	if err := s.svc.RecordComplaint(c.Request.Context(), actor(c), req.USCC, req.ComplaintNo, req.Received); err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"complaint_no": req.ComplaintNo})
}

type depositRequest struct {
	USCC     string `json:"uscc"`
	Period   int    `json:"period"`
	Required bool   `json:"required"`
	Paid     bool   `json:"paid"`
}

func (s *server) recordDeposit(c *gin.Context) {
	var req depositRequest
	if err := bindJSON(c, &req); err != nil {
		writeError(c, s.log, err)
		return
	}
	if err := s.svc.RecordDeposit(c.Request.Context(), actor(c), req.USCC, req.Period, req.Required, req.Paid); err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"uscc": req.USCC, "period": req.Period})
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

type awardApplication struct {
	Period    int    `json:"period"`
	Award     string `json:"award"`
	Statement string `json:"statement"`
}

func (s *server) applyForAward(c *gin.Context) {
	var req awardApplication
	if err := bindJSON(c, &req); err != nil {
		writeError(c, s.log, err)
		return
	}
	if err := s.svc.ApplyForAward(c.Request.Context(), actor(c), req.Period, req.Award, req.Statement); err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"period": req.Period, "award": req.Award})
}
