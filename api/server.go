package api

import (
	"cmp"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
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
}

type server struct {
	svc     *ratings.Service
	log     *slog.Logger
	qlog    *ratings.QueryLog
	now     func() time.Time
	limits  sync.Map // client id → *bucket
	metrics *metrics
	maxBody int64
	// maxImport is the body limit of importPath.
	maxImport int64
}

// New builds the HTTP handler. Close the QueryLog (when the caller made
// it) after the server has stopped.
func New(svc *ratings.Service, o Options) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	s := &server{svc: svc, log: o.Logger, qlog: o.QueryLog, now: o.NowFunc, maxBody: cmp.Or(o.MaxBody, 1<<20),
		maxImport: cmp.Or(o.MaxImportBody, 64<<20)}
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
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(s.recover, s.observe, s.limitBody, s.deadline)
	r.NoRoute(func(c *gin.Context) {
		if s.webNotFound(c) {
			return
		}
		writeError(c, s.log, &httpError{status: http.StatusNotFound, detail: "no such endpoint"})
	})
	r.NoMethod(func(c *gin.Context) {
		writeError(c, s.log, &httpError{status: http.StatusMethodNotAllowed, detail: "method not allowed on this endpoint"})
	})
	s.routes(r, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return r
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
	s.metrics.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
	s.metrics.latency.WithLabelValues(c.Request.Method, route).Observe(d.Seconds())
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
