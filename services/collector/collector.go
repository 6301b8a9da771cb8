package collector

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Collector is the ingest service: POST /submit plus the background
// republisher. Build it with New, serve Handler, and run Run.
type Collector struct {
	cfg       Config
	store     Store
	mover     *crashMover
	throttler *Throttler
	m         *metrics
	log       zerolog.Logger
	adm       *admission
	limit     *storeLimit
	annMem    *budget
	annChunks *sync.Pool
	engine    *gin.Engine
	token     [32]byte // sha256 of the submitter token, compared in constant time
	pool      *chunkPool
	now       func() time.Time
}

// New builds a collector from a validated Config. store receives the
// objects (use objectstore's Bucket), pub announces crashes, reg receives
// the metrics. It does no I/O: the caller checks the bucket is writable
// before serving (CheckWritable).
func New(cfg Config, store Store, pub Publisher, reg prometheus.Registerer, log zerolog.Logger) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rules := AcceptAll()
	if cfg.RulesFile != "" {
		var err error
		if rules, err = LoadRules(cfg.RulesFile); err != nil {
			return nil, fmt.Errorf("-collector.throttle-rules: %w", err)
		}
	}
	th, err := NewThrottler(rules, nil, nil)
	if err != nil {
		return nil, err
	}
	c := &Collector{cfg: cfg, store: store, throttler: th, log: log,
		now: time.Now, pool: newChunkPool(cfg.SpoolMemoryTotal), annMem: &budget{limit: cfg.AnnotationMemoryTotal},
		annChunks: &sync.Pool{New: func() any { b := make([]byte, annChunkSize); return &b }}}
	c.adm = newAdmission(cfg.MaxInFlight, cfg.EvictMinAge, float64(cfg.EvictBelow), func() time.Time { return c.now() })
	c.limit = newStoreLimit(cfg.StoreLimitMin, cfg.MaxInFlight, cfg.StoreLatencyTarget, func() time.Time { return c.now() })
	if cfg.SubmitterToken != "" {
		c.token = sha256.Sum256([]byte(cfg.SubmitterToken))
	}
	c.mover = newCrashMover(cfg, store, pub, nil, log)
	c.m = newMetrics(reg, func() float64 { return float64(len(c.mover.retry)) }, c.limit.current)
	c.mover.m = c.m

	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.POST("/submit", c.submit)
	c.engine = e
	return c, nil
}

// Handler serves POST /submit.
func (c *Collector) Handler() http.Handler { return c.engine }

// Run retries failed publishes in the background until ctx is done, and
// gives memory back to the OS after a burst (releaseAfterBursts).
func (c *Collector) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() { defer close(done); c.releaseAfterBursts(ctx, 5*time.Second) }()
	err := c.mover.runRepublisher(ctx)
	<-done
	return err
}

// releaseAfterBursts returns freed memory to the OS once the collector is
// idle again after a busy spell (a quarter of the slots or more in use):
// the Go runtime otherwise keeps a burst's heap for minutes, and a pod that
// survived a flood would sit near its limit for the next one.
func (c *Collector) releaseAfterBursts(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every / 10)
	defer t.Stop()
	busy := false
	last := c.now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := c.adm.inFlight()
		if n >= max(c.cfg.MaxInFlight/4, 1) {
			busy = true
		}
		if busy && n == 0 && c.now().Sub(last) >= every {
			// twice: the first collection moves the pooled chunks to the
			// pools' victim caches, the second frees them
			debug.FreeOSMemory()
			debug.FreeOSMemory()
			busy, last = false, c.now()
		}
	}
}

// answer is what one submission gets back.
type answer struct {
	status  int
	body    string
	outcome string // metrics label
	// overrun: the body ended at its Content-Length without parsing;
	// submit checks whether more bytes follow (a false, short length).
	overrun bool
}

func (c *Collector) submit(g *gin.Context) {
	start := c.now()
	a := c.handle(g)
	if a.overrun && c.overrun(g, start) {
		return
	}
	w := g.Writer
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if a.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(int(c.cfg.RetryAfter.Seconds())))
	}
	if a.status >= 400 {
		// A refused request may have left body bytes unread: close the
		// connection instead of letting the server read on to reuse it
		// (a stalled or oversized body would hold it, as nginx's 413 does).
		w.Header().Set("Connection", "close")
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
	c.m.requests.WithLabelValues(a.outcome).Inc()
	class := a.outcome
	if strings.HasPrefix(class, "malformed_") {
		class = "malformed"
	}
	c.m.duration.WithLabelValues(class).Observe(c.now().Sub(start).Seconds())
}

func discard(status int, reason string) answer {
	return answer{status: status, body: "Discarded=" + reason, outcome: reason}
}

func (c *Collector) handle(g *gin.Context) answer {
	// Overload first: it is the cheapest answer and protects everything
	// after it. A full house evicts its slowest body reader (admission);
	// otherwise the newcomer is refused at once, so queued clients never
	// pile up in memory.
	t := c.adm.admit(c.cfg.AdmitWait)
	if t == nil {
		return discard(http.StatusServiceUnavailable, "overloaded")
	}
	defer c.adm.release(t)
	if c.limit.full() {
		// The stores are at their measured limit: refuse before the
		// upload rather than after it.
		return discard(http.StatusServiceUnavailable, "overloaded")
	}
	c.m.inFlight.Inc()
	defer c.m.inFlight.Dec()

	r := g.Request
	if r.ContentLength > c.cfg.MaxBodySize {
		return discard(http.StatusRequestEntityTooLarge, "too_large")
	}
	boundary, err := checkContentType(r.Header.Get("Content-Type"))
	if err != nil {
		return refusal(err)
	}
	if r.ContentLength == 0 {
		return discard(http.StatusBadRequest, "malformed_"+reasonNoContentLength)
	}
	readStart := c.now()
	body := &deadlineReader{r: r.Body, rc: http.NewResponseController(g.Writer), timeout: c.cfg.ReadTimeout,
		start: readStart, bodyTimeout: c.cfg.BodyTimeout, minRate: c.cfg.MinRate, grace: c.cfg.RateGrace, ticket: t, now: c.now}
	stopWatch := body.watch()
	capped := &cappedReader{r: body, max: c.cfg.MaxBodySize, what: "body"}
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	rep, err := parseBody(capped, boundary, enc == "gzip" || enc == "x-gzip", limits{
		maxPayload: c.cfg.MaxPayloadSize, maxAnnotations: c.cfg.MaxAnnotationsSize,
		maxParts: c.cfg.MaxParts, maxDumps: c.cfg.MaxDumps,
		spoolMemory: c.cfg.SpoolMemory, spoolDir: c.cfg.SpoolDir, pool: c.pool, annMem: c.annMem, annChunks: c.annChunks,
	})
	stopWatch()
	body.done()
	t.reading.Store(false)
	if err != nil {
		a := refusal(err)
		// A body cut at its Content-Length that did not parse may be a
		// longer body under a false, short Content-Length (Antenna's
		// test_25mblimit): submit looks past it for the 413.
		a.overrun = a.status == http.StatusBadRequest && r.ContentLength > 0 && body.err == io.EOF && body.n == r.ContentLength
		return a
	}
	defer rep.close()
	readDone := c.now()

	// A client-chosen crash id needs the submitter token.
	var id string
	if uuid, ok := rep.ann["uuid"]; ok {
		if !c.authorized(r.Header.Get("Authorization")) {
			return discard(http.StatusUnauthorized, "unauthorized_uuid")
		}
		if objectstore.CheckCrashID(uuid, true) != nil {
			return discard(http.StatusBadRequest, "malformed_"+reasonInvalidUUID)
		}
		id = uuid
	}

	d := c.throttler.Throttle(rep.ann)
	c.m.throttled.WithLabelValues(d.Rule, d.Result.String()).Inc()
	now := c.now().UTC()
	if d.Result == Reject {
		return answer{status: http.StatusOK, body: "Discarded=rule_" + d.Rule, outcome: "rejected"}
	}
	if id == "" {
		if id, err = newCrashID(now, d.Result); err != nil {
			return discard(http.StatusServiceUnavailable, "internal_error")
		}
	}
	if d.Result == FakeAccept {
		return answer{status: http.StatusOK, body: "CrashID=bp-" + id + "\n", outcome: "fakeaccepted"}
	}

	cr, err := buildCrash(id, now, d, rep, r.UserAgent())
	if err != nil {
		return discard(http.StatusBadRequest, "malformed_"+reasonInvalidUUID)
	}
	if !c.limit.acquire() {
		return discard(http.StatusServiceUnavailable, "overloaded")
	}
	storeStart := c.now()
	if err := c.mover.save(r.Context(), cr); err != nil {
		c.limit.release(c.now().Sub(storeStart), rep.size)
		c.log.Warn().Err(err).Str("crash_id", id).Msg("storing crash failed; answered 503")
		return discard(http.StatusServiceUnavailable, "storage_unavailable")
	}
	publishStart := c.now()
	c.mover.publish(r.Context(), cr.received)
	c.limit.release(c.now().Sub(storeStart), rep.size)
	c.m.stage.WithLabelValues("read").Observe(readDone.Sub(readStart).Seconds())
	c.m.stage.WithLabelValues("store").Observe(publishStart.Sub(storeStart).Seconds())
	c.m.stage.WithLabelValues("publish").Observe(c.now().Sub(publishStart).Seconds())
	c.m.bytes.WithLabelValues("payload").Add(float64(rep.size))
	for _, dmp := range rep.dumps {
		c.m.bytes.WithLabelValues("dumps").Add(float64(dmp.size))
	}
	return answer{status: http.StatusOK, body: "CrashID=bp-" + id + "\n", outcome: "accepted"}
}

// overrun answers a body that ended at its Content-Length without
// parsing: when more bytes follow on the connection and the whole would pass
// -collector.max-body-size, the Content-Length was a lie covering an
// oversized body, and the answer is Antenna's 413 Discarded=too_large
// (nginx counts the bytes sent, not the header). The connection is taken
// over (hijacked) to look, answered by hand and closed. It reports whether
// it answered; if not, the caller answers the 400 as usual.
func (c *Collector) overrun(g *gin.Context, start time.Time) bool {
	r := g.Request
	room := c.cfg.MaxBodySize - r.ContentLength + 1 // extra bytes that make it too large
	if room <= 0 {
		return false
	}
	// gin's own Hijack panics when the server's writer cannot: ask that one
	// first, then hijack through gin, so gin knows the answer is written
	u, ok := g.Writer.(interface{ Unwrap() http.ResponseWriter })
	if !ok {
		return false
	}
	if _, ok := u.Unwrap().(http.Hijacker); !ok {
		return false // not hijackable (HTTP/2, tests): the 400 stands
	}
	conn, rw, err := g.Writer.Hijack()
	if err != nil {
		return false
	}
	defer conn.Close()
	// Look for at most room extra bytes, each within the idle timeout; a
	// client that stops sending ends the look.
	var extra int64
	buf := make([]byte, 32<<10)
	for extra < room {
		_ = conn.SetReadDeadline(c.now().Add(min(c.cfg.ReadTimeout, 2*time.Second)))
		n, err := rw.Read(buf[:min(int64(len(buf)), room-extra)])
		extra += int64(n)
		if err != nil {
			break
		}
	}
	a := discard(http.StatusBadRequest, "malformed_"+reasonInvalidPayloadStructure)
	if extra >= room {
		a = discard(http.StatusRequestEntityTooLarge, "too_large")
	}
	_ = conn.SetWriteDeadline(c.now().Add(5 * time.Second))
	_, _ = fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		a.status, http.StatusText(a.status), len(a.body), a.body)
	_ = rw.Flush()
	c.m.requests.WithLabelValues(a.outcome).Inc()
	class := a.outcome
	if strings.HasPrefix(class, "malformed_") {
		class = "malformed"
	}
	c.m.duration.WithLabelValues(class).Observe(c.now().Sub(start).Seconds())
	return true
}

// refusal turns a parse error into its answer.
func refusal(err error) answer {
	var m *malformedError
	var tl *tooLargeError
	switch {
	case errors.As(err, &m):
		return discard(http.StatusBadRequest, m.Error())
	case errors.As(err, &tl):
		return discard(http.StatusRequestEntityTooLarge, "too_large")
	case errors.Is(err, errReadTimeout):
		return discard(http.StatusRequestTimeout, "timeout")
	case errors.Is(err, errOverloaded):
		return discard(http.StatusServiceUnavailable, "overloaded")
	}
	// Spool I/O failures (disk full): our fault, retryable.
	return discard(http.StatusServiceUnavailable, "spool_unavailable")
}

func (c *Collector) authorized(header string) bool {
	if c.cfg.SubmitterToken == "" {
		return false
	}
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return false
	}
	// Hashing first makes the comparison constant-time in the token's
	// length too.
	h := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(h[:], c.token[:]) == 1
}

// buildCrash assembles the raw crash JSON and the crash.received event.
func buildCrash(id string, now time.Time, d Decision, rep *report, userAgent string) (*crash, error) {
	rawKey, err := objectstore.RawCrashKey(id)
	if err != nil {
		return nil, err
	}
	checksums := map[string]string{}
	dumps := make([]schemas.Dump, 0, len(rep.dumps))
	for _, dmp := range rep.dumps {
		sum := dmp.checksum()
		checksums[dmp.name] = sum
		dumps = append(dumps, schemas.Dump{Name: dmp.name, Size: dmp.size, SHA256: sum})
	}
	notes := rep.notes
	if notes == nil {
		notes = []string{}
	}
	raw := make(map[string]any, len(rep.ann)+4)
	for k, v := range rep.ann {
		raw[k] = v
	}
	compressed := "0"
	if rep.compressed {
		compressed = "1"
	}
	raw["metadata"] = map[string]any{
		"collector_notes":    notes,
		"dump_checksums":     checksums,
		"payload":            rep.payload,
		"payload_compressed": compressed,
		"payload_size":       rep.size,
		"throttle_rule":      d.Rule,
		"user_agent":         userAgent,
	}
	raw["submitted_timestamp"] = now.Format("2006-01-02T15:04:05.000000+00:00")
	raw["uuid"] = id
	raw["version"] = 2
	data, err := json.Marshal(raw) // map keys come out sorted, as Antenna writes them
	if err != nil {
		return nil, err
	}
	return &crash{id: id, raw: data, rawKey: rawKey, rep: rep, received: schemas.CrashReceived{
		CrashID:            id,
		SubmittedTimestamp: now,
		Product:            rep.ann["ProductName"],
		Version:            rep.ann["Version"],
		ReleaseChannel:     rep.ann["ReleaseChannel"],
		ProcessType:        rep.ann["ProcessType"],
		ThrottleRule:       d.Rule,
		Dumps:              dumps,
		RawCrashKey:        rawKey,
	}}, nil
}

// deadlineReader extends the connection's read deadline before each read,
// so a stalled client is cut off after ReadTimeout of silence however long
// its (legitimate, slow) upload takes overall.
//
// Once the body has ended it never touches the deadline again, and it
// clears it: after the body's EOF net/http keeps a background read on the
// connection, and a deadline left on it would fire while the crash is being
// stored (a slow object store), which cancels the connection's context —
// that request and every later one on the same keep-alive connection would
// then fail with "context canceled" (found by tests/chaos: a MinIO pause
// turned into 503s for all pooled client connections, for good).
type deadlineReader struct {
	r       io.Reader
	rc      *http.ResponseController
	timeout time.Duration
	err     error // the body's end (or failure), sticky
	n       int64 // bytes read

	// The whole-body bounds: by start+bodyTimeout the body must be in, and
	// by start+grace+n/minRate the next bytes (the minimum average rate).
	start       time.Time
	bodyTimeout time.Duration
	minRate     int64
	grace       time.Duration
	ticket      *ticket // admission: bytes for the eviction choice
	now         func() time.Time
}

// deadline is the earliest of the idle, whole-body and minimum-rate
// deadlines.
func (d *deadlineReader) deadline() time.Time {
	now := d.now()
	dl := now.Add(d.timeout)
	if d.bodyTimeout > 0 {
		if b := d.start.Add(d.bodyTimeout); b.Before(dl) {
			dl = b
		}
	}
	if d.minRate > 0 {
		budget := d.grace + time.Duration(float64(d.n)/float64(d.minRate)*float64(time.Second))
		if r := d.start.Add(budget); r.Before(dl) {
			dl = r
		}
	}
	return dl
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.ticket != nil {
		select {
		case <-d.ticket.evict:
			d.err = errReadTimeout
			return 0, d.err
		default:
		}
	}
	_ = d.rc.SetReadDeadline(d.deadline()) // unsupported writers (tests) just keep no deadline
	n, err := d.r.Read(p)
	d.n += int64(n)
	if d.ticket != nil {
		d.ticket.bytes.Store(d.n)
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = errReadTimeout
		}
		d.err = err
		_ = d.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// watch interrupts a blocked Read when admission evicts this request (the
// read deadline is moved to now); the returned stop ends the watch.
func (d *deadlineReader) watch() (stop func()) {
	if d.ticket == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-d.ticket.evict:
			_ = d.rc.SetReadDeadline(time.Unix(1, 0))
		case <-done:
		}
	}()
	return func() { close(done); <-finished }
}

// done clears the read deadline when the parse stopped before the body's
// end (the multipart closing boundary came first), for the same reason.
func (d *deadlineReader) done() {
	if d.err == nil {
		_ = d.rc.SetReadDeadline(time.Time{})
	}
}
