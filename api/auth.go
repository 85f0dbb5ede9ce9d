package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"laborcredit/ratings"
)

const (
	clientKey = "laborcredit.client"
	actorKey  = "laborcredit.actor"
)

func bearer(c *gin.Context) string {
	h := c.GetHeader("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// requireClient authenticates a credit-sharing client by API key, checks
// its scope and applies its rate limit.
func (s *server) requireClient(c *gin.Context) {
	cl, err := s.svc.ClientForKey(c.Request.Context(), bearer(c))
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	if !cl.HasScope(ratings.ScopeCreditRead) {
		writeError(c, s.log, &httpError{status: http.StatusForbidden, detail: "this key does not have the scope " + ratings.ScopeCreditRead})
		return
	}
	if wait := s.take(cl); wait > 0 {
		retryAfter(c, wait)
		writeError(c, s.log, &httpError{status: http.StatusTooManyRequests, detail: "rate limit of this key exceeded"})
		return
	}
	if !s.qlog.Healthy() {
		// Refused before any work: the answer could not be logged.
		writeUnlogged(c, s.log)
		return
	}
	c.Set(clientKey, cl)
	c.Next()
}

// requireUser authenticates an officer, admin or employer user by token.
func (s *server) requireUser(c *gin.Context) {
	a, err := s.svc.ActorForToken(c.Request.Context(), bearer(c))
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.Set(actorKey, a)
	c.Next()
}

func actor(c *gin.Context) ratings.Actor { return c.MustGet(actorKey).(ratings.Actor) }

func client(c *gin.Context) *ratings.APIClient { return c.MustGet(clientKey).(*ratings.APIClient) }

// Client limiter bounds: at most clientLimiters clients' buckets are
// held, a bucket unused for clientIdle is forgotten (any bucket of a rate
// of 2 ÷ 600 requests a second or more has refilled by then).
const (
	clientLimiters = 10000
	clientIdle     = 10 * time.Minute
)

// take spends one request of the client's rate limit — RateLimit requests
// a second, bursts of twice that (at least 1) — or says how long to wait.
func (s *server) take(cl *ratings.APIClient) time.Duration {
	return s.limits.take(cl.ID, s.now(), rate.Limit(cl.RateLimit), int(2*cl.RateLimit))
}
