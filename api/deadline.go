package api

import (
	"context"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Deadlines of a request's work (its database calls above all), so that a
// slow or hung database makes requests fail with 503 instead of piling up
// behind the connection pool.
const (
	// requestTimeout bounds an ordinary request.
	requestTimeout = 30 * time.Second
	// longRequestTimeout bounds the requests that do a period's or a
	// file's work (rate, bulk steps, simulate, publicize, imports); it
	// matches the server's write timeout, after which no answer could be
	// sent anyway.
	longRequestTimeout = 2 * time.Minute
)

// deadline gives the request's context a deadline, unless it has an
// earlier one.
func (s *server) deadline(c *gin.Context) {
	d := requestTimeout
	if longRoute(c.FullPath()) {
		d = longRequestTimeout
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), d)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// longRoute reports whether a route does a period's or a file's work.
func longRoute(route string) bool {
	if route == importPath {
		return true
	}
	if !strings.HasPrefix(route, "/api/v1/periods/:year/") {
		return false
	}
	switch strings.TrimPrefix(route, "/api/v1/periods/:year/") {
	case "rate", "review", "confirm", "publicize", "simulate":
		return true
	}
	return false
}
