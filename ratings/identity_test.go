package ratings_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

func auditActions(t *testing.T, db bun.IDB, subject string) []string {
	t.Helper()
	var actions []string
	require.NoError(t, db.NewSelect().Table("audit_log").Column("action").Where("subject = ?", subject).Order("seq").
		Scan(context.Background(), &actions))
	return actions
}

// TestTokenExpiry: a user token expires after the service's token TTL
// (default 90 days); an expired token is refused like an unknown one, and
// a new token (IssueToken) works.
func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		tests := []struct {
			name string
			ttl  time.Duration
			want time.Duration
		}{
			{"default", 0, ratings.DefaultTokenTTL},
			{"a week", 7 * 24 * time.Hour, 7 * 24 * time.Hour},
		}
		for _, tt := range tests {
			clk := newClockAt(time.Date(2026, 4, 8, 9, 0, 0, 0, time.UTC))
			svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: clk.Now, TokenTTL: tt.ttl})
			require.NoError(t, err)
			u, tok, err := svc.CreateUser(ctx, admin, "江岸区监察大队 "+tt.name, ratings.RoleCounty, "420102", "")
			require.NoError(t, err)
			a, err := svc.ActorForToken(ctx, tok)
			require.NoError(t, err, tt.name)
			require.Equal(t, ratings.RoleCounty, a.Role)
			clk.Add(tt.want - time.Second)
			_, err = svc.ActorForToken(ctx, tok)
			require.NoError(t, err, "%s: valid until its expiry", tt.name)
			clk.Add(time.Second)
			_, err = svc.ActorForToken(ctx, tok)
			require.ErrorIs(t, err, ratings.ErrUnauthenticated, "%s: expired", tt.name)

			fresh, exp, err := svc.IssueToken(ctx, admin, u.ID)
			require.NoError(t, err)
			require.Equal(t, clk.Now().Add(tt.want), exp)
			_, err = svc.ActorForToken(ctx, fresh)
			require.NoError(t, err)
			require.Equal(t, []string{"user.create", "user.token"}, auditActions(t, db, "user:"+itoa(u.ID)))
		}
	})
}

// TestTokenMadeBeforeExpiry: a token stored without expires_at (made
// before tokens expired) expires DefaultTokenTTL after it was made.
func TestTokenMadeBeforeExpiry(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := newClockAt(time.Date(2026, 4, 8, 9, 0, 0, 0, time.UTC))
		svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: clk.Now})
		require.NoError(t, err)
		_, tok, err := svc.CreateUser(ctx, admin, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		require.NoError(t, err)
		_, err = db.NewUpdate().Table("tokens").Set("expires_at = NULL").Where("1 = 1").Exec(ctx)
		require.NoError(t, err)
		clk.Add(ratings.DefaultTokenTTL - time.Minute)
		_, err = svc.ActorForToken(ctx, tok)
		require.NoError(t, err)
		clk.Add(time.Minute)
		_, err = svc.ActorForToken(ctx, tok)
		require.ErrorIs(t, err, ratings.ErrUnauthenticated)
	})
}

// TestRevokeUser: revoking a user revokes all its tokens at once, is
// audited, and is for admins only; Users lists the tokens' state.
func TestRevokeUser(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := newClockAt(time.Date(2026, 4, 8, 9, 0, 0, 0, time.UTC))
		svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: clk.Now})
		require.NoError(t, err)
		u, tok1, err := svc.CreateUser(ctx, admin, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		require.NoError(t, err)
		tok2, _, err := svc.IssueToken(ctx, admin, u.ID)
		require.NoError(t, err)
		other, otherTok, err := svc.CreateUser(ctx, admin, "江汉区监察大队", ratings.RoleCounty, "420103", "")
		require.NoError(t, err)
		county := ratings.Actor{Name: "江岸区监察大队", Role: ratings.RoleCounty, Region: "420102"}

		_, err = svc.RevokeUser(ctx, county, other.ID)
		require.ErrorIs(t, err, ratings.ErrForbidden)
		_, err = svc.RevokeUser(ctx, admin, 999999)
		require.ErrorIs(t, err, ratings.ErrNotFound)
		_, _, err = svc.IssueToken(ctx, admin, 999999)
		require.ErrorIs(t, err, ratings.ErrNotFound)

		clk.Add(time.Hour)
		n, err := svc.RevokeUser(ctx, admin, u.ID)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		for _, tok := range []string{tok1, tok2} {
			_, err = svc.ActorForToken(ctx, tok)
			require.ErrorIs(t, err, ratings.ErrUnauthenticated)
		}
		_, err = svc.ActorForToken(ctx, otherTok)
		require.NoError(t, err, "other users keep their tokens")
		require.Equal(t, []string{"user.create", "user.token", "user.revoke"}, auditActions(t, db, "user:"+itoa(u.ID)))
		n, err = svc.RevokeUser(ctx, admin, u.ID)
		require.NoError(t, err)
		require.Zero(t, n, "nothing left to revoke")

		_, err = svc.Users(ctx, county)
		require.ErrorIs(t, err, ratings.ErrForbidden)
		users, err := svc.Users(ctx, admin)
		require.NoError(t, err)
		require.Len(t, users, 2)
		require.Equal(t, u.ID, users[0].ID)
		require.Len(t, users[0].Tokens, 2)
		for _, tk := range users[0].Tokens {
			require.NotNil(t, tk.RevokedAt)
			require.True(t, tk.RevokedAt.Equal(clk.Now()))
			require.True(t, tk.ExpiresAt.After(clk.Now()))
		}
		require.Len(t, users[1].Tokens, 1)
		require.Nil(t, users[1].Tokens[0].RevokedAt)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// newClockAt is a test clock reading t.
func newClockAt(t time.Time) *ratingstest.Clock {
	c := &ratingstest.Clock{}
	c.SetTime(t)
	return c
}
