package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"laborcredit/api"
	"laborcredit/ratings"
)

func serveCommand() *command {
	return &command{name: "serve", short: "run the HTTP service (credit sharing, officer, employer and public API)", run: runServe}
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "laborcredit serve [--addr HOST:PORT] [--db URL] [--tick DURATION] [--metrics-token TOKEN] [--metrics-addr HOST:PORT] [--trusted-proxies LIST]")
	dbf := dbFlag(fs)
	addr := fs.String("addr", "", "listen address (default $LABORCREDIT_ADDR, else 127.0.0.1:8080)")
	tick := fs.Duration("tick", time.Minute, "how often to publish ratings whose publicity has ended (0: never)")
	metricsToken := fs.String("metrics-token", "", "bearer token that GET /metrics requires (default $LABORCREDIT_METRICS_TOKEN; "+
		"unset: /metrics answers 404 on --addr)")
	metricsAddr := fs.String("metrics-addr", "", "separate listen address for GET /metrics (default $LABORCREDIT_METRICS_ADDR; unset: none); "+
		"open unless --metrics-token is set")
	proxies := fs.String("trusted-proxies", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client, "+
		"for the per-address limits (default $LABORCREDIT_TRUSTED_PROXIES; unset: none, the peer is the client)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve: unexpected argument %q", pos[0])
	}
	so := serveOptions{metricsToken: cmp.Or(*metricsToken, os.Getenv("LABORCREDIT_METRICS_TOKEN")),
		metricsAddr: cmp.Or(*metricsAddr, os.Getenv("LABORCREDIT_METRICS_ADDR"))}
	for p := range strings.SplitSeq(cmp.Or(*proxies, os.Getenv("LABORCREDIT_TRUSTED_PROXIES")), ",") {
		if p = strings.TrimSpace(p); p != "" {
			so.trustedProxies = append(so.trustedProxies, p)
		}
	}
	if err := api.CheckTrustedProxies(so.trustedProxies); err != nil {
		return usagef("serve: --trusted-proxies: %v", err)
	}
	logger := slog.New(slog.NewJSONHandler(e.stderr, nil))
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{Logger: logger})
	if err != nil {
		return err
	}
	defer closeDB()
	listen := cmp.Or(*addr, os.Getenv("LABORCREDIT_ADDR"), "127.0.0.1:8080")
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	return serveWith(ctx, e, ln, svc, logger, *tick, nil, so)
}

// serveOptions are serve's options for the metrics and proxies.
type serveOptions struct {
	metricsToken   string   // api.Options.MetricsToken
	metricsAddr    string   // a listener of its own for /metrics; "": none
	trustedProxies []string // api.Options.TrustedProxies
}

// serveOn serves until ctx ends, then shuts down gracefully: in-flight
// requests finish, the query log is flushed. ready, if set, is called once
// the server listens.
func serveOn(ctx context.Context, e *env, ln net.Listener, svc *ratings.Service, logger *slog.Logger, tick time.Duration, ready func()) error {
	return serveWith(ctx, e, ln, svc, logger, tick, ready, serveOptions{})
}

func serveWith(ctx context.Context, e *env, ln net.Listener, svc *ratings.Service, logger *slog.Logger, tick time.Duration, ready func(),
	so serveOptions) error {
	qlog := ratings.NewQueryLog(svc.DB(), func(err error) { logger.Error("query log", slog.Any("error", err)) })
	reg := prometheus.NewRegistry()
	handler := api.New(svc, api.Options{Logger: logger, QueryLog: qlog, Registry: reg, MetricsToken: so.metricsToken,
		TrustedProxies: so.trustedProxies})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 120 * time.Second, IdleTimeout: 120 * time.Second}
	fmt.Fprintf(e.stdout, "serving on http://%s (API under /api/v1, OpenAPI at /api/v1/openapi.json)\n", ln.Addr())
	errc := make(chan error, 2)
	// Slow clients from one address cannot hold every connection (file
	// handle) the process has: docs/LIMITS.md.
	limited := api.LimitListener(ln, api.MaxConnsPerAddress, api.MaxConns, so.trustedProxies)
	go func() { errc <- srv.Serve(limited) }()
	if so.metricsAddr != "" {
		mln, err := net.Listen("tcp", so.metricsAddr)
		if err != nil {
			_ = srv.Close()
			qlog.Close()
			return fmt.Errorf("metrics listener: %w", err)
		}
		msrv := &http.Server{Handler: api.MetricsHandler(reg, so.metricsToken), ReadHeaderTimeout: 10 * time.Second}
		defer msrv.Close()
		fmt.Fprintf(e.stdout, "metrics on http://%s/metrics\n", mln.Addr())
		go func() { errc <- msrv.Serve(mln) }()
	}
	// The public statistics are summed in memory from one query that reads
	// every published rating; load it now rather than on the first visitor.
	go func() {
		if err := svc.WarmStats(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("grade statistics not warmed", slog.Any("error", err))
		}
	}()
	if ready != nil {
		ready()
	}
	var ticker <-chan time.Time
	if tick > 0 {
		t := time.NewTicker(tick)
		defer t.Stop()
		ticker = t.C
	}
	for {
		select {
		case err := <-errc:
			qlog.Close()
			return err
		case <-ticker:
			// Safe on several replicas: each rating is published once.
			if n, err := svc.Tick(ctx); err != nil {
				logger.Error("publication tick", slog.Any("error", err))
			} else if n > 0 {
				logger.Info("published", slog.Int("ratings", n))
			}
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			err := srv.Shutdown(sctx)
			cancel()
			qlog.Close()
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}
	}
}

func userCommand() *command {
	return &command{name: "user", short: "manage officer, admin and employer users",
		subs: []*command{
			{name: "create", short: "create a user; prints its token as the last line", run: runUserCreate},
			{name: "token", short: "give a user a new token; prints it as the last line", run: runUserToken},
			{name: "revoke", short: "revoke every token of a user", run: runUserRevoke},
			{name: "list", short: "list users and their tokens' state", run: runUserList},
		}}
}

func runUserCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user create", "laborcredit user create --role county|city|province|admin|employer --region CODE [--uscc CODE] [--name NAME] [--ttl DURATION] [--db URL]")
	dbf := dbFlag(fs)
	role := fs.String("role", "", "county, city, province, admin or employer (required)")
	region := fs.String("region", "", "the user's region (GB/T 2260); for an employer, its own")
	uscc := fs.String("uscc", "", "the employer's code, for an employer user")
	name := fs.String("name", "", "the user's name (default: role and region; for an employer, role and code)")
	ttl := ttlFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("user create: unexpected argument %q", pos[0])
	}
	if *role == "" {
		return usagef("user create: --role is required")
	}
	if *ttl < 0 {
		return usagef("user create: --ttl must be positive")
	}
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{TokenTTL: *ttl})
	if err != nil {
		return err
	}
	defer closeDB()
	// By default a user is named by its role and region, an employer by its code.
	u, token, err := svc.CreateUser(ctx, ratings.System, cmp.Or(*name, *role+" "+cmp.Or(*uscc, *region)), ratings.Role(*role), *region, *uscc)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created user %d: %s, %s %s\nits token (shown once, valid for %s):\n%s\n", u.ID, u.Name, u.Role, u.Region, days(*ttl), token)
	return nil
}

func apikeyCommand() *command {
	return &command{name: "apikey", short: "manage credit-sharing API keys",
		subs: []*command{
			{name: "create", short: "create a key for a bank or bureau; prints the key as the last line", run: runAPIKeyCreate},
			{name: "revoke", short: "revoke a client's key", run: runAPIKeyRevoke},
			{name: "list", short: "list credit-sharing clients", run: runAPIKeyList},
		}}
}

func runAPIKeyCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "apikey create", "laborcredit apikey create --org NAME --kind bank|commerce|construction --scope credit:read [--rate N] [--db URL]")
	dbf := dbFlag(fs)
	org := fs.String("org", "", "the organisation (required)")
	kind := fs.String("kind", "bank", "bank, commerce or construction")
	scope := fs.String("scope", ratings.ScopeCreditRead, "what the key may do")
	rate := fs.Float64("rate", 50, "requests per second allowed (bursts of twice that)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("apikey create: unexpected argument %q", pos[0])
	}
	if *org == "" {
		return usagef("apikey create: --org is required")
	}
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{})
	if err != nil {
		return err
	}
	defer closeDB()
	c, key, err := svc.CreateAPIClient(ctx, ratings.System, *org, *kind, *scope, *rate)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created API client %d: %s (%s), scope %s, %g requests/s\nits key (shown once):\n%s\n", c.ID, c.Org, c.Kind, c.Scope, c.RateLimit, key)
	return nil
}

func runAPIKeyRevoke(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "apikey revoke", "laborcredit apikey revoke --id N [--db URL]")
	dbf := dbFlag(fs)
	id := fs.Int64("id", 0, "the client id (required)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *id == 0 {
		return usagef("apikey revoke: --id is required")
	}
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{})
	if err != nil {
		return err
	}
	defer closeDB()
	if err := svc.RevokeAPIClient(ctx, ratings.System, *id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked API client %d\n", *id)
	return nil
}
