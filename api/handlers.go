package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"laborcredit/ratings"
)

func (s *server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	ms, err := ratings.MigrationStatus(ctx, s.svc.DB())
	switch {
	case err != nil && ctx.Err() != nil:
		c.Header("Retry-After", "5")
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "database timeout", "reason": "timeout", "detail": "the database did not answer within 2s"})
		return
	case err != nil:
		c.Header("Retry-After", "5")
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "database unreachable", "reason": "unreachable", "detail": "the database cannot be reached"})
		return
	}
	if n := len(ms.Unapplied()); n > 0 {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "migrations pending", "reason": "migrations_pending", "detail": "run laborcredit migrate up", "pending": n})
		return
	}
	ok(c, gin.H{"status": "ready"})
}

// pathCode is the code in the path under ratings.LookupCode: tidied
// (spaces, full-width characters, case) and checked; a code that fails its
// check character passes only if it is on the legacy allow-list. A
// malformed code is a 400 naming why.
func (s *server) pathCode(c *gin.Context) (string, error) {
	return s.svc.LookupCode(c.Request.Context(), c.Param("uscc"))
}
