package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// TestUserTokenRevokedOrExpired: a revoked or expired user token gets the
// same 401 as an unknown one.
func TestUserTokenRevokedOrExpired(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		ctx := context.Background()
		unknown := b.get(t, "/api/v1/me", "lct_unknown")
		want := requireProblem(t, unknown, http.StatusUnauthorized, "")
		// The one answer names every case and what to do about it.
		require.Contains(t, want.Detail, "expired")
		require.Contains(t, want.Detail, "administrator")

		revoked := b.user(t, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		require.Equal(t, http.StatusOK, b.get(t, "/api/v1/me", revoked).Code)
		users, err := b.svc.Users(ctx, admin)
		require.NoError(t, err)
		_, err = b.svc.RevokeUser(ctx, admin, users[len(users)-1].ID)
		require.NoError(t, err)

		expiring := b.user(t, "江汉区监察大队", ratings.RoleCounty, "420103", "")
		require.Equal(t, http.StatusOK, b.get(t, "/api/v1/me", expiring).Code)
		b.clk.Set(b.clk.Now().Add(ratings.DefaultTokenTTL).Format(time.DateOnly))

		for _, tok := range []string{revoked, expiring} {
			rec := b.get(t, "/api/v1/me", tok)
			require.Equal(t, want, requireProblem(t, rec, http.StatusUnauthorized, ""))
			require.Equal(t, unknown.Header().Get("WWW-Authenticate"), rec.Header().Get("WWW-Authenticate"))
		}
	})
}
