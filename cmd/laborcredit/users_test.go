package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestUserCommands: create, token, revoke and list users; the token of a
// revoked user no longer works; every act is audited.
func TestUserCommands(t *testing.T) {
	t.Parallel()
	url := ratingstest.SQLiteURL(t)
	got := runCLI(t, "", "user", "create", "--role", "county", "--region", "420102", "--name", "江岸区监察大队", "--ttl", "720h", "--db", url)
	require.Equal(t, exitOK, got.code, got.stderr)
	require.Contains(t, got.stdout, "valid for 30 days")
	first := lastLine(got.stdout)
	require.True(t, strings.HasPrefix(first, "lct_"), got.stdout)

	got = runCLI(t, "", "user", "token", "--id", "1", "--db", url)
	require.Equal(t, exitOK, got.code, got.stderr)
	require.Regexp(t, `^new token of user 1, valid until \d{4}-\d\d-\d\dT`, got.stdout)
	second := lastLine(got.stdout)

	got = runCLI(t, "", "user", "list", "--db", url)
	require.Equal(t, exitOK, got.code, got.stderr)
	require.Regexp(t, regexp.MustCompile(`(?m)^1 +江岸区监察大队 +county +420102 +- +2 valid until \d{4}-\d\d-\d\d, 0 revoked, 0 expired$`), got.stdout)

	svc, closeDB, err := openService(context.Background(), url, ratings.ServiceParams{})
	require.NoError(t, err)
	defer closeDB()
	for _, tok := range []string{first, second} {
		_, err := svc.ActorForToken(context.Background(), tok)
		require.NoError(t, err)
	}

	got = runCLI(t, "", "user", "revoke", "--id", "1", "--db", url)
	require.Equal(t, exitOK, got.code, got.stderr)
	require.Equal(t, "revoked 2 token(s) of user 1\n", got.stdout)
	for _, tok := range []string{first, second} {
		_, err := svc.ActorForToken(context.Background(), tok)
		require.ErrorIs(t, err, ratings.ErrUnauthenticated)
	}
	got = runCLI(t, "", "user", "list", "--db", url)
	require.Contains(t, got.stdout, "0 valid, 2 revoked, 0 expired")

	got = runCLI(t, "", "user", "revoke", "--db", url)
	require.Equal(t, exitUsage, got.code)
	got = runCLI(t, "", "user", "revoke", "--id", "99", "--db", url)
	require.Equal(t, exitFailure, got.code)
	require.Contains(t, got.stderr, "user 99")
	got = runCLI(t, "", "user", "token", "--id", "1", "--ttl", "-1h", "--db", url)
	require.Equal(t, exitUsage, got.code)

	got = runCLI(t, "", "audit", "verify", "--db", url)
	require.Equal(t, exitOK, got.code, got.stderr)
}

// TestAPIKeyList: clients are listed with their state.
func TestAPIKeyList(t *testing.T) {
	t.Parallel()
	url := ratingstest.SQLiteURL(t)
	for _, org := range []string{"甲银行", "乙银行"} {
		got := runCLI(t, "", "apikey", "create", "--org", org, "--rate", "5", "--db", url)
		require.Equal(t, exitOK, got.code, got.stderr)
	}
	got := runCLI(t, "", "apikey", "revoke", "--id", "2", "--db", url)
	require.Equal(t, exitOK, got.code, got.stderr)
	got = runCLI(t, "", "apikey", "list", "--db", url)
	require.Equal(t, exitOK, got.code, got.stderr)
	require.Regexp(t, `(?m)^1 +甲银行 +bank +credit:read +5 +\d{4}-\d\d-\d\d +active$`, got.stdout)
	require.Regexp(t, `(?m)^2 +乙银行 +bank +credit:read +5 +\d{4}-\d\d-\d\d +revoked \d{4}-`, got.stdout)
}

// TestUserCreateDefaultName: without --name a user is named by its role
// and region, an employer by its role and code (not the region and code
// run together).
func TestUserCreateDefaultName(t *testing.T) {
	t.Parallel()
	url := ratingstest.SQLiteURL(t)
	ctx := context.Background()
	svc, closeDB, err := openService(ctx, url, ratings.ServiceParams{})
	require.NoError(t, err)
	_, err = svc.AddEmployer(ctx, ratings.System, ratings.Employer{USCC: "914201140669394401", Name: "武汉某家政公司", Region: "420114"})
	require.NoError(t, err)
	closeDB()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--role", "county", "--region", "420102"}, "county 420102"},
		{[]string{"--role", "employer", "--region", "420114", "--uscc", "914201140669394401"}, "employer 914201140669394401"},
	} {
		got := runCLI(t, "", append(append([]string{"user", "create"}, tc.args...), "--db", url)...)
		require.Equal(t, exitOK, got.code, got.stderr)
		require.Contains(t, got.stdout, ": "+tc.want+", ")
	}
}
