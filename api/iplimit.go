package api

import (
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
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
	// 100,000. Past it, addresses idle the longest are forgotten first.
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

// keyedLimiter is a token bucket per key, in a map of bounded size: keys
// idle for longer than idle are dropped, and when the map is full the
// key idle the longest goes first.
type keyedLimiter struct {
	every rate.Limit
	burst int
	max   int
	idle  time.Duration

	mu    sync.Mutex
	m     map[string]*keyedEntry
	swept time.Time
}

type keyedEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newKeyedLimiter(perSecond float64, burst, maxKeys int, idle time.Duration) *keyedLimiter {
	return &keyedLimiter{every: rate.Limit(perSecond), burst: burst, max: maxKeys, idle: idle, m: map[string]*keyedEntry{}}
}

// take spends a token of key at now and returns 0, or how long until one
// is there (nothing is spent then).
func (k *keyedLimiter) take(key string, now time.Time) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.m[key]
	if !ok {
		if len(k.m) >= k.max || now.Sub(k.swept) > k.idle {
			k.sweep(now)
		}
		e = &keyedEntry{lim: rate.NewLimiter(k.every, k.burst)}
		k.m[key] = e
	}
	e.seen = now
	r := e.lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Duration(math.MaxInt64)
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// sweep drops idle keys and, if the map is still full, the oldest tenth.
func (k *keyedLimiter) sweep(now time.Time) {
	k.swept = now
	for key, e := range k.m {
		if now.Sub(e.seen) > k.idle {
			delete(k.m, key)
		}
	}
	if len(k.m) < k.max {
		return
	}
	type aged struct {
		key  string
		seen time.Time
	}
	all := make([]aged, 0, len(k.m))
	for key, e := range k.m {
		all = append(all, aged{key, e.seen})
	}
	// Forget the least recently seen tenth (at least one) at once, so a
	// flood of new addresses costs one sort per tenth of the map.
	slices.SortFunc(all, func(a, b aged) int { return a.seen.Compare(b.seen) })
	for _, a := range all[:max(1, len(all)/10)] {
		delete(k.m, a.key)
	}
}

// len is how many keys are tracked.
func (k *keyedLimiter) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}

// ipLimits are the public endpoints' limiters, GETs and POSTs apart.
type ipLimits struct {
	get, post *keyedLimiter
	now       func() time.Time
}

func newIPLimits(l IPLimits) *ipLimits {
	if l.Off {
		return nil
	}
	l = l.withDefaults()
	return &ipLimits{get: newKeyedLimiter(l.GetPerSecond, l.GetBurst, l.MaxAddresses, l.Idle),
		post: newKeyedLimiter(l.PostPerSecond, l.PostBurst, l.MaxAddresses, l.Idle), now: time.Now}
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
	c.Header("Retry-After", strconv.FormatInt(int64(math.Ceil(min(wait, 24*time.Hour).Seconds())), 10))
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
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
