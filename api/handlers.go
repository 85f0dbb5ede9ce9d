package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"laborcredit/engine"
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
