package webapp

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	panics      prometheus.Counter
	ratelimited *prometheus.CounterVec
	priority    *prometheus.CounterVec
	reprocess   prometheus.Counter
	symbols     *prometheus.CounterVec
	probes      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crashstream_webapp_requests_total",
			Help: "Webapp requests by route pattern, method and status."}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "crashstream_webapp_request_seconds",
			Help: "Webapp request duration by route pattern.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}, []string{"route"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{Name: "crashstream_webapp_panics_total",
			Help: "Handlers that panicked (answered 500)."}),
		ratelimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crashstream_webapp_ratelimited_total",
			Help: "Requests answered 429, by limit class."}, []string{"class"}),
		priority: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crashstream_webapp_priority_requests_total",
			Help: "Priority processing requests: published, deduplicated or error."}, []string{"result"}),
		reprocess: prometheus.NewCounter(prometheus.CounterOpts{Name: "crashstream_webapp_reprocess_requests_total",
			Help: "Crashes sent to crash.reprocess (API and symbol uploads)."}),
		symbols: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crashstream_webapp_symbol_files_total",
			Help: "Uploaded symbol files: stored, skipped, refused."}, []string{"result"}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crashstream_webapp_symbol_probes_total",
			Help: "Symbol-server probe requests by outcome: new-job, known, missing, server-error, timeout, unreachable."}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.panics, m.ratelimited, m.priority, m.reprocess, m.symbols, m.probes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// instrument counts every request by its route pattern (bounded labels;
// unmatched paths share one label).
func (s *Server) instrument(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	s.m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
	s.m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
}
