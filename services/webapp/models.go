package webapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/services/processor/signature"
)

// Socorro's smaller public API models: NoOp, VersionString and
// CrashSignature, with its parameter names, answers and 400s.

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
