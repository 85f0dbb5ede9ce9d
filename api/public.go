package api

import (
	"math"
	"net/http"

	"github.com/gin-gonic/gin"

	"laborcredit/ratings"
)

// Public pages' data: search, the employer page, the award roll, publicity and objections.

func (s *server) publicSearch(c *gin.Context) {
	q := ratings.PublicQuery{Q: c.Query("q"), Region: c.Query("region"), Grade: c.Query("grade")}
	var err error
	if q.Period, err = intQuery(c, "period"); err == nil {
		q.Page, q.PerPage, err = paging(c, true)
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

// intQuery reads a whole-number query parameter from 0 to 2^31-1 (what
// the databases' integer columns hold); 0 when absent.
func intQuery(c *gin.Context, name string) (int, error) {
	return boundedQuery(c, name, 0, math.MaxInt32)
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
	page, _, err := paging(c, false)
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
		"how_to_object": "Anyone may object in writing, with their name and a way to reach them, until the end of publicity_ends (China time): POST /api/v1/public/objections with rating_id, filed_by (your name), contact (a phone number or an e-mail address), reason and evidence; the rated employer may instead object with its user's bearer token, without filed_by and contact."})
}

type objectionRequest struct {
	RatingID int64  `json:"rating_id"`
	FiledBy  string `json:"filed_by"`
	Contact  string `json:"contact"`
	Reason   string `json:"reason"`
	Evidence string `json:"evidence"`
}

// fileObjection takes a public objection (a name and a contact) or, with
// an employer user's bearer token, the employer's objection to its own
// rating. The client address is clientAddress (an IPv6 /64 is one), for
// the per-address limits.
func (s *server) fileObjection(c *gin.Context) {
	var req objectionRequest
	if err := bindJSON(c, &req); err != nil {
		writeError(c, s.log, err)
		return
	}
	p := ratings.ObjectionParams{RatingID: req.RatingID, FiledBy: req.FiledBy, Contact: req.Contact, Reason: req.Reason,
		Evidence: req.Evidence, Address: clientAddress(c)}
	if tok := bearer(c); tok != "" {
		a, err := s.svc.ActorForToken(c.Request.Context(), tok)
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		p.By = &a
	}
	o, err := s.svc.FileObjection(c.Request.Context(), p)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, o)
}
