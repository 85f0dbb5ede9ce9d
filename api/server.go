package api

import (
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"laborcredit/ratings"
)

// Options configure the server.
type Options struct {
	Logger   *slog.Logger         // default: discard
	Registry *prometheus.Registry // default: a new registry
	QueryLog *ratings.QueryLog    // required for credit sharing; nil: a new one on the service's database
	NowFunc  func() time.Time     // default time.Now
	MaxBody  int64                // request body limit in bytes; default 1 MiB
	// MaxImportBody is the body limit of record-file imports (POST
	// /api/v1/imports/{kind}) in bytes; default 64 MiB.
	MaxImportBody int64
	// PublicLimits are the per-address limits of the public endpoints
	// (/api/v1/public/* and the web pages); zero: the defaults of IPLimits.
	PublicLimits IPLimits
	// TrustedProxies are the addresses or CIDRs of the reverse proxies
	// whose X-Forwarded-For names the client (gin's SetTrustedProxies);
	// default none: the client is the peer's address. Behind a proxy, set
	// it, or every client shares the proxy's per-address limit.
	TrustedProxies []string
	// MetricsToken, if set, lets GET /metrics answer a request that sends
	// it as "Authorization: Bearer TOKEN" (401 otherwise). Unset, /metrics
	// on this handler answers 404: serve MetricsHandler on a separate
	// listener instead.
	MetricsToken string
}

type server struct {
	svc     *ratings.Service
	log     *slog.Logger
	qlog    *ratings.QueryLog
	now     func() time.Time
	limits  *lruLimiter[int64] // by API client id
	metrics *metrics
	// ipLimits limit the public endpoints per address; nil: off.
	ipLimits *ipLimits
	maxBody  int64
	// maxImport is the body limit of importPath.
	maxImport int64
	// imports holds a slot for each import being read (maxImports).
	imports chan struct{}
}

// New builds the HTTP handler. Close the QueryLog (when the caller made
// it) after the server has stopped.
func New(svc *ratings.Service, o Options) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	s := &server{svc: svc, log: o.Logger, qlog: o.QueryLog, now: o.NowFunc, maxBody: cmp.Or(o.MaxBody, 1<<20),
		maxImport: cmp.Or(o.MaxImportBody, 64<<20), limits: newLRULimiter[int64](clientLimiters, clientIdle),
		imports: make(chan struct{}, maxImports)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.qlog == nil {
		s.qlog = ratings.NewQueryLog(svc.DB(), func(err error) { s.log.Error("query log", slog.Any("error", err)) })
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(reg)
	s.ipLimits = newIPLimits(o.PublicLimits)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	if err := r.SetTrustedProxies(o.TrustedProxies); err != nil {
		// Check them first (CheckTrustedProxies); here, trust none.
		s.log.Error("trusted proxies ignored", slog.Any("error", err))
		_ = r.SetTrustedProxies(nil)
	}
	r.Use(s.recover, s.observe, s.headers, s.checkInput, s.limitBody, s.deadline)
	r.NoRoute(func(c *gin.Context) {
		if s.webNotFound(c) {
			return
		}
		writeError(c, s.log, &httpError{status: http.StatusNotFound, detail: "no such endpoint"})
	})
	r.NoMethod(func(c *gin.Context) {
		writeError(c, s.log, &httpError{status: http.StatusMethodNotAllowed, detail: "method not allowed on this endpoint"})
	})
	s.routes(r, metricsHandler(reg, o.MetricsToken, true))
	return r
}

// CheckTrustedProxies checks a list for Options.TrustedProxies: each an
// IP address or a CIDR.
func CheckTrustedProxies(proxies []string) error {
	gin.SetMode(gin.ReleaseMode) // as New: no debug-mode warning on the operator's terminal
	return gin.New().SetTrustedProxies(proxies)
}

// MetricsHandler serves the registry's metrics in the Prometheus text
// format, for a listener of its own (serve --metrics-addr); with a token,
// only to requests that send it as "Authorization: Bearer TOKEN".
func MetricsHandler(reg *prometheus.Registry, token string) http.Handler {
	return metricsHandler(reg, token, false)
}

// metricsHandler guards the metrics: with a token, 401 without it;
// without one, 404 if hidden (the main listener), else open.
func metricsHandler(reg *prometheus.Registry, token string, hidden bool) http.Handler {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case token != "":
			got, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !found || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="laborcredit metrics"`)
				writeProblem(w, http.StatusUnauthorized, "the metrics need the metrics token")
				return
			}
		case hidden:
			writeProblem(w, http.StatusNotFound, "no such endpoint")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// headers are set on every response: no page or answer is sniffed as
// another type, and no link followed from one tells where it came from
// (the pages' links carry search terms).
func (s *server) headers(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	c.Next()
}

func (s *server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			s.log.ErrorContext(c.Request.Context(), "panic", slog.Any("panic", v))
			writeError(c, s.log, &httpError{status: http.StatusInternalServerError, detail: "internal error; it has been logged"})
		}
	}()
	c.Next()
}

// observe logs one line per request and counts it, by route.
func (s *server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	d := time.Since(start)
	method := methodLabel(c.Request.Method)
	s.metrics.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	s.metrics.latency.WithLabelValues(method, route).Observe(d.Seconds())
	attrs := []slog.Attr{slog.String("method", c.Request.Method), slog.String("route", route), slog.Int("status", status),
		slog.Duration("latency", d)}
	if who, ok := c.Get(clientKey); ok {
		attrs = append(attrs, slog.Int64("client_id", who.(*ratings.APIClient).ID))
	}
	if a, ok := c.Get(actorKey); ok {
		attrs = append(attrs, slog.String("actor", a.(ratings.Actor).Name))
	}
	s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "request", attrs...)
}

func (s *server) limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		limit := s.maxBody
		if c.FullPath() == importPath {
			limit = s.maxImport
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	}
	c.Next()
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	credit   *prometheus.CounterVec
	rated    *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "laborcredit_http_requests_total", Help: "HTTP requests by method, route and status."},
			[]string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "laborcredit_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"method", "route"}),
		credit: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "laborcredit_credit_queries_total", Help: "Credit-sharing queries by client kind and result."},
			[]string{"kind", "result"}),
	}
	m.rated = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "laborcredit_rating_cycle_employers_total",
		Help: "Employers handled by rating-cycle runs started over HTTP, by outcome (rated, unchanged, held)."}, []string{"outcome"})
	reg.MustRegister(m.requests, m.latency, m.credit, m.rated)
	return m
}

// Metric labels come from fixed sets, never from a request or a result:
// a series per value would grow without bound.

// methodLabel is the method, or "other" for one no route takes.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// creditLabels are the labels of a credit query: the client's kind (bank,
// commerce, construction, else other) and its result as logged, reduced
// to found, not_published, partial (a batch with some found), invalid or
// error.
func creditLabels(kind, result string) (string, string) {
	switch kind {
	case "bank", "commerce", "construction":
	default:
		kind = "other"
	}
	switch result {
	case "found", "not_published", "invalid", "error":
		return kind, result
	}
	// A batch logs "N found of M", the changes feed "N changes".
	var n, m int
	if _, err := fmt.Sscanf(result, "%d found of %d", &n, &m); err == nil {
		switch {
		case n == m:
			return kind, "found"
		case n == 0:
			return kind, "not_published"
		}
		return kind, "partial"
	}
	if strings.HasSuffix(result, " changes") {
		return kind, "found"
	}
	return kind, "error"
}

// rendering

func ok(c *gin.Context, v any) { c.JSON(http.StatusOK, v) }

func rawJSON(c *gin.Context, b []byte) { c.Data(http.StatusOK, "application/json; charset=utf-8", b) }

func newStrictDecoder(r io.Reader) *json.Decoder {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	return d
}

// jsonRaw passes stored JSON through unchanged.
type jsonRaw string

// MarshalJSON implements json.Marshaler.
func (j jsonRaw) MarshalJSON() ([]byte, error) { return []byte(j), nil }
