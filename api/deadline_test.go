package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// TestDeadline checks that every request's context has a deadline, the
// long one for the routes that do a period's or a file's work.
func TestDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		route  string
		target string
		want   time.Duration
	}{
		{route: "/api/v1/ratings/:id/review", target: "/api/v1/ratings/1/review", want: requestTimeout},
		{route: "/api/v1/public/ratings", target: "/api/v1/public/ratings", want: requestTimeout},
		{route: "/api/v1/periods/:year", target: "/api/v1/periods/2025", want: requestTimeout},
		{route: "/api/v1/periods/:year/rate", target: "/api/v1/periods/2025/rate", want: longRequestTimeout},
		{route: "/api/v1/periods/:year/review", target: "/api/v1/periods/2025/review", want: longRequestTimeout},
		{route: "/api/v1/periods/:year/simulate", target: "/api/v1/periods/2025/simulate", want: longRequestTimeout},
		{route: importPath, target: "/api/v1/imports/employers", want: longRequestTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			t.Parallel()
			gin.SetMode(gin.ReleaseMode)
			r := gin.New()
			s := &server{}
			var left time.Duration
			r.POST(tt.route, s.deadline, func(c *gin.Context) {
				d, ok := c.Request.Context().Deadline()
				require.True(t, ok)
				left = time.Until(d)
			})
			req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, tt.target, nil)
			r.ServeHTTP(httptest.NewRecorder(), req)
			require.InDelta(t, tt.want.Seconds(), left.Seconds(), 1)
		})
	}
}
