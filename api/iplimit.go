package api

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// IPLimits are the per-address request limits of the public endpoints
// (/api/v1/public/* and the web pages). A zero field takes its default.
// The address is gin's ClientIP: the peer's address unless it is one of
// Options.TrustedProxies, whose X-Forwarded-For is then believed.
type IPLimits struct {
	// GetPerSecond is the sustained rate of GET requests per address;
	// default 20.
	GetPerSecond float64
	// GetBurst is how many GET requests an address may make at once;
	// default 100.
	GetBurst int
	// PostPerSecond is the sustained rate of POST requests per address;
	// default 0.2 (12 a minute).
	PostPerSecond float64
	// PostBurst is how many POST requests an address may make at once;
	// default 10.
	PostBurst int
	// MaxAddresses is how many addresses are tracked at once; default
	// 100,000. Past it, the least recently seen address is forgotten.
	MaxAddresses int
	// Idle is how long an address is remembered after its last request;
	// default 10 minutes (long enough for any bucket to refill).
	Idle time.Duration
	// Off turns the limits off (tests that send many requests).
	Off bool
}

func (l IPLimits) withDefaults() IPLimits {
	if l.GetPerSecond <= 0 {
		l.GetPerSecond = 20
	}
	if l.GetBurst <= 0 {
		l.GetBurst = 100
	}
	if l.PostPerSecond <= 0 {
		l.PostPerSecond = 0.2
	}
	if l.PostBurst <= 0 {
		l.PostBurst = 10
	}
	if l.MaxAddresses <= 0 {
		l.MaxAddresses = 100_000
	}
	if l.Idle <= 0 {
		l.Idle = 10 * time.Minute
	}
	return l
}

// ipLimits are the public endpoints' limiters, GETs and POSTs apart, on
// the one bounded per-key bucket map the credit keys use (lruLimiter).
type ipLimits struct {
	get, post *ipLimit
	now       func() time.Time
}

// ipLimit is one rate and burst, per address.
type ipLimit struct {
	keys  *lruLimiter[string]
	rate  rate.Limit
	burst int
}

func (l *ipLimit) take(addr string, now time.Time) time.Duration {
	return l.keys.take(addr, now, l.rate, l.burst)
}

func newIPLimits(l IPLimits) *ipLimits {
	if l.Off {
		return nil
	}
	l = l.withDefaults()
	return &ipLimits{
		get:  &ipLimit{keys: newLRULimiter[string](l.MaxAddresses, l.Idle), rate: rate.Limit(l.GetPerSecond), burst: l.GetBurst},
		post: &ipLimit{keys: newLRULimiter[string](l.MaxAddresses, l.Idle), rate: rate.Limit(l.PostPerSecond), burst: l.PostBurst},
		now:  time.Now}
}

// limitIP answers 429, with Retry-After in whole seconds, to an address
// over its limit (HTML on the web pages).
func (s *server) limitIP(c *gin.Context) {
	if s.ipLimits == nil {
		c.Next()
		return
	}
	lim := s.ipLimits.get
	if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		lim = s.ipLimits.post
	}
	wait := lim.take(clientAddress(c), s.ipLimits.now())
	if wait == 0 {
		c.Next()
		return
	}
	retryAfter(c, wait)
	err := &httpError{status: http.StatusTooManyRequests, detail: "too many requests from this address; try again later"}
	if isWebPath(c.Request.URL.Path) {
		s.webRefuse(c, err)
		return
	}
	writeError(c, s.log, err)
}

// clientAddress is the client's address as the per-address limits count
// it: gin's ClientIP, with an IPv6 address cut to its /64 (one
// subscriber's, who can use any of its 2^64 addresses) and an IPv4 address
// mapped into IPv6 unmapped.
func clientAddress(c *gin.Context) string {
	ip := c.ClientIP()
	if a, err := netip.ParseAddr(ip); err == nil {
		return addressKey(a)
	}
	return ip
}

// addressKey is the key an address counts under in every per-address
// limit (requests, objections, connections): IPv4 as itself (unmapped
// from IPv6), IPv6 as its /64.
func addressKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	if p, err := a.WithZone("").Prefix(64); err == nil {
		return p.String()
	}
	return a.String()
}
