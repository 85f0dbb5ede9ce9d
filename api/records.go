package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"laborcredit/engine"
	"laborcredit/ratings"
)

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
	page, _, err := paging(c, false)
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
