package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"laborcredit/ratings"
)

// The user and apikey subcommands beyond create (serve.go): new tokens,
// revocation and listings. All act as ratings.System and are audited.

// ttlFlag is the --ttl flag of the commands that make a user token.
func ttlFlag(fs *flagSet) *time.Duration {
	return fs.Duration("ttl", ratings.DefaultTokenTTL, "how long the token is valid (e.g. 720h)")
}

// days writes a duration of whole days as "90 days".
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

func userIDFlag(fs *flagSet) *int64 {
	return fs.Int64("id", 0, "the user's id (required; see user list)")
}

func runUserToken(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user token", "laborcredit user token --id N [--ttl DURATION] [--db URL]")
	dbf := dbFlag(fs)
	id := userIDFlag(fs)
	ttl := ttlFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *id == 0 {
		return usagef("user token: --id is required")
	}
	if *ttl <= 0 {
		return usagef("user token: --ttl must be positive")
	}
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{TokenTTL: *ttl})
	if err != nil {
		return err
	}
	defer closeDB()
	token, exp, err := svc.IssueToken(ctx, ratings.System, *id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "new token of user %d, valid until %s (shown once):\n%s\n", *id, exp.UTC().Format(time.RFC3339), token)
	return nil
}

func runUserRevoke(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user revoke", "laborcredit user revoke --id N [--db URL]")
	dbf := dbFlag(fs)
	id := userIDFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *id == 0 {
		return usagef("user revoke: --id is required")
	}
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{})
	if err != nil {
		return err
	}
	defer closeDB()
	n, err := svc.RevokeUser(ctx, ratings.System, *id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked %d token(s) of user %d\n", n, *id)
	return nil
}

func runUserList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user list", "laborcredit user list [--db URL]")
	dbf := dbFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("user list: unexpected argument %q", pos[0])
	}
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{})
	if err != nil {
		return err
	}
	defer closeDB()
	users, err := svc.Users(ctx, ratings.System)
	if err != nil {
		return err
	}
	now := time.Now()
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tROLE\tREGION\tUSCC\tTOKENS")
	for _, u := range users {
		uscc := "-"
		if u.USCC != nil {
			uscc = *u.USCC
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Name, u.Role, u.Region, uscc, tokenStates(u.Tokens, now))
	}
	return w.Flush()
}

// tokenStates sums up a user's tokens: "1 valid until 2026-07-07, 2 revoked, 1 expired".
func tokenStates(toks []ratings.UserToken, now time.Time) string {
	var valid, revoked, expired int
	var until time.Time
	for _, t := range toks {
		switch {
		case t.RevokedAt != nil:
			revoked++
		case !now.Before(t.ExpiresAt):
			expired++
		default:
			valid++
			if t.ExpiresAt.After(until) {
				until = t.ExpiresAt
			}
		}
	}
	s := fmt.Sprintf("%d valid", valid)
	if valid > 0 {
		s += " until " + until.UTC().Format(time.DateOnly)
	}
	return s + fmt.Sprintf(", %d revoked, %d expired", revoked, expired)
}

func runAPIKeyList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "apikey list", "laborcredit apikey list [--db URL]")
	dbf := dbFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("apikey list: unexpected argument %q", pos[0])
	}
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{})
	if err != nil {
		return err
	}
	defer closeDB()
	clients, err := svc.APIClients(ctx, ratings.System)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tORG\tKIND\tSCOPE\tRATE/S\tCREATED\tSTATE")
	for _, c := range clients {
		state := "active"
		if c.RevokedAt != nil {
			state = "revoked " + c.RevokedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%g\t%s\t%s\n", c.ID, c.Org, c.Kind, c.Scope, c.RateLimit, c.CreatedAt.UTC().Format(time.DateOnly), state)
	}
	return w.Flush()
}
