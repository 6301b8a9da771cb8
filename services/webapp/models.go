package webapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/errgroup"

	"github.com/crashstream/crashstream/services/lib/signature"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// Socorro's smaller public API models: NoOp, VersionString, CrashSignature
// and MissingProcessedCrash, with its parameter names, answers and 400s.

// noOp is Socorro's NoOp: it checks the API is reachable. product is
// required; "bad" is refused, as Socorro's test hook.
func (s *Server) noOp(c *gin.Context) {
	product := c.Query("product")
	switch product {
	case "":
		apiError(c, http.StatusBadRequest, "product: required")
	case "bad":
		apiError(c, http.StatusBadRequest, "product: Bad product")
	default:
		c.JSON(http.StatusOK, gin.H{"hits": []any{}, "total": 0})
	}
}

// versionString is Socorro's VersionString: the version strings of a
// product's build on a channel. For beta and aurora builds, beta versions
// (with a "b") hide the release candidates (rc), and otherwise only
// release candidates are answered, as Socorro does.
func (s *Server) versionString(c *gin.Context) {
	product, channel, buildID := c.Query("product"), c.Query("channel"), c.Query("build_id")
	for name, v := range map[string]string{"product": product, "channel": channel, "build_id": buildID} {
		if v == "" {
			apiError(c, http.StatusBadRequest, "%s: required", name)
			return
		}
		if len(v) > 128 {
			apiError(c, http.StatusBadRequest, "%s: at most 128 bytes", name)
			return
		}
	}
	build, err := strconv.ParseInt(buildID, 10, 64)
	if err != nil || build < 0 {
		apiError(c, http.StatusBadRequest, "build_id: want a build id (digits, e.g. 20261101094512)")
		return
	}
	ctx, cancel := s.withTimeout(c)
	defer cancel()
	versions, err := s.deps.Reader.VersionStrings(ctx, product, channel, build)
	if err != nil {
		s.backendError(c, "reading versions", err)
		return
	}
	if ch := strings.ToLower(channel); len(versions) > 0 && (ch == "beta" || ch == "aurora") {
		beta := strings.Contains(versions[0], "b")
		kept := versions[:0]
		for _, v := range versions {
			if strings.Contains(v, "rc") != beta {
				kept = append(kept, v)
			}
		}
		versions = kept
	}
	hits := make([]gin.H, 0, len(versions))
	for _, v := range versions {
		hits = append(hits, gin.H{"version_string": v})
	}
	c.JSON(http.StatusOK, gin.H{"hits": hits, "total": len(hits)})
}

// Bounds of one CrashSignature request.
const (
	maxSignatureBody = 4 << 20
	maxSignatureJobs = 100
)

// crashSignature is Socorro's CrashSignature: POST {"jobs": [crash data,
// ...]} (siggen's crash data schema) and get {"results": [{signature,
// notes, extra: {proto_signature, normalized_frames}}]}, one per job, from
// the processor's own signature generator.
func (s *Server) crashSignature(c *gin.Context) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxSignatureBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		apiError(c, http.StatusRequestEntityTooLarge, "body: at most %d bytes", maxSignatureBody)
		return
	}
	if err != nil {
		apiError(c, http.StatusBadRequest, "body: %v", err)
		return
	}
	var req struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		apiError(c, http.StatusBadRequest, "jobs: the body must be a JSON object {\"jobs\": [...]}: %v", err)
		return
	}
	if len(req.Jobs) == 0 {
		apiError(c, http.StatusBadRequest, "jobs: no jobs specified")
		return
	}
	if len(req.Jobs) > maxSignatureJobs {
		apiError(c, http.StatusBadRequest, "jobs: at most %d per request", maxSignatureJobs)
		return
	}
	results := make([]gin.H, 0, len(req.Jobs))
	for i, raw := range req.Jobs {
		data, err := signature.ParseCrashData(raw)
		if err != nil {
			apiError(c, http.StatusBadRequest, "jobs[%d]: %v", i, err)
			return
		}
		r := s.siggen.Generate(data)
		notes := r.Notes
		if notes == nil {
			notes = []string{}
		}
		frames := r.NormalizedFrames
		if frames == nil {
			frames = []string{}
		}
		results = append(results, gin.H{"signature": r.Signature, "notes": notes,
			"extra": gin.H{"proto_signature": r.ProtoSignature, "normalized_frames": frames}})
	}
	c.JSON(http.StatusOK, gin.H{"results": results})
}

// Bounds of MissingProcessedCrash.
const (
	missingPageSize = 1000
	// maxMissing bounds the records listed; a healthy pipeline has few.
	maxMissing = 100_000
)

// missingRecord is one MissingProcessedCrash record, in Socorro's shape.
type missingRecord struct {
	CrashID     string    `json:"crash_id"`
	IsProcessed bool      `json:"is_processed"`
	Created     time.Time `json:"created"`
}

// missingProcessedCrash is Socorro's MissingProcessedCrash: the crashes
// cron's verify-processed found without a processed crash, 1000 a page
// (?page=, 1-based), each saying whether it has been processed since:
// {"results": [...], "count", "next", "previous"} with page links. Records
// are ordered by crash id (Socorro: by when they were found).
func (s *Server) missingProcessedCrash(c *gin.Context) {
	page := 1
	if p := c.Query("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > maxMissing/missingPageSize {
			apiError(c, http.StatusBadRequest, "page: invalid page number (want 1..%d)", maxMissing/missingPageSize)
			return
		}
		page = n
	}
	ctx, cancel := s.withTimeout(c)
	defer cancel()
	var all []missingRecord
	for info, err := range s.deps.Crashes.List(ctx, objectstore.MissingProcessedPrefix) {
		if err != nil {
			s.backendError(c, "listing missing processed crashes", err)
			return
		}
		id := strings.TrimPrefix(info.Key, objectstore.MissingProcessedPrefix)
		if objectstore.CheckCrashID(id, false) != nil {
			continue
		}
		all = append(all, missingRecord{CrashID: id, Created: info.LastModified.UTC()})
		if len(all) >= maxMissing {
			break
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].CrashID < all[j].CrashID })
	lo := min((page-1)*missingPageSize, len(all))
	results := all[lo:min(lo+missingPageSize, len(all))]
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range results {
		g.Go(func() error {
			key, err := objectstore.ProcessedCrashKey(results[i].CrashID)
			if err != nil {
				return err
			}
			results[i].IsProcessed, err = s.deps.Crashes.Exists(gctx, key)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		s.backendError(c, "checking processed crashes", err)
		return
	}
	link := func(n int) any {
		if n < 1 || (n-1)*missingPageSize >= len(all) {
			return nil
		}
		u := *c.Request.URL
		q := u.Query()
		q.Set("page", strconv.Itoa(n))
		u.RawQuery = q.Encode()
		base := strings.TrimRight(s.cfg.PublicURL, "/")
		if base == "" {
			base = "http://" + c.Request.Host
		}
		return base + u.Path + "?" + u.RawQuery
	}
	c.JSON(http.StatusOK, gin.H{"results": append([]missingRecord{}, results...), "count": len(all),
		"next": link(page + 1), "previous": link(page - 1)})
}
