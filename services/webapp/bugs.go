package webapp

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/services/lib/bugzilla"
)

// Socorro's bug models: Bugs and SignaturesByBugs answer from the
// association set the bugassociations cron job keeps; BugzillaBugInfo asks
// the configured Bugzilla, through a cache.

// maxBugQuery bounds the values of one Bugs or SignaturesByBugs call.
const maxBugQuery = 1000

// Bugs is the association set the cron job writes, read again every
// -webapp.bugzilla.refresh (the pages use it too).
func (s *Server) Bugs() *bugzilla.Cache { return s.bugs }

// listParam is a list parameter as Socorro's clients send it: repeated
// name=, or name[]= (jQuery's form).
func listParam(c *gin.Context, name string) []string {
	return append(c.QueryArray(name), c.QueryArray(name+"[]")...)
}

func bugIDs(c *gin.Context, name string, most int) ([]int64, bool) {
	vals := listParam(c, name)
	if len(vals) == 0 {
		apiError(c, http.StatusBadRequest, "%s: required", name)
		return nil, false
	}
	if len(vals) > most {
		apiError(c, http.StatusBadRequest, "%s: at most %d", name, most)
		return nil, false
	}
	ids := make([]int64, 0, len(vals))
	for _, v := range vals {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			apiError(c, http.StatusBadRequest, "%s: %q is not a bug number", name, v)
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

func pairsJSON(p []bugzilla.Pair) gin.H {
	if p == nil {
		p = []bugzilla.Pair{}
	}
	return gin.H{"hits": p, "total": len(p)}
}

// bugsBySignature is Socorro's Bugs: signatures[] → {hits: [{id,
// signature}], total}.
func (s *Server) bugsBySignature(c *gin.Context) {
	sigs := listParam(c, "signatures")
	switch {
	case len(sigs) == 0:
		apiError(c, http.StatusBadRequest, "signatures: required")
		return
	case len(sigs) > maxBugQuery:
		apiError(c, http.StatusBadRequest, "signatures: at most %d", maxBugQuery)
		return
	}
	for _, sg := range sigs {
		if len(sg) > 1024 {
			apiError(c, http.StatusBadRequest, "signatures: a signature is at most 1024 bytes")
			return
		}
	}
	ix, err := s.bugs.Index(c.Request.Context())
	if err != nil {
		s.backendError(c, "reading bug associations", err)
		return
	}
	c.JSON(http.StatusOK, pairsJSON(ix.BySignatures(sigs)))
}

// signaturesByBugs is Socorro's SignaturesByBugs: bug_ids[] → {hits:
// [{id, signature}], total}.
func (s *Server) signaturesByBugs(c *gin.Context) {
	ids, ok := bugIDs(c, "bug_ids", maxBugQuery)
	if !ok {
		return
	}
	ix, err := s.bugs.Index(c.Request.Context())
	if err != nil {
		s.backendError(c, "reading bug associations", err)
		return
	}
	c.JSON(http.StatusOK, pairsJSON(ix.ByBugs(ids)))
}

// bugzillaBugInfo is Socorro's BugzillaBugInfo: bugs[] → {bugs: [{id,
// status, resolution, summary}]}, the bugs the Bugzilla knows.
func (s *Server) bugzillaBugInfo(c *gin.Context) {
	ids, ok := bugIDs(c, "bugs", bugzilla.MaxInfoBugs)
	if !ok {
		return
	}
	if s.bugInfo == nil {
		apiError(c, http.StatusServiceUnavailable, "no Bugzilla is configured (-webapp.bugzilla.url)")
		return
	}
	ctx, cancel := s.withTimeout(c)
	defer cancel()
	bugs, err := s.bugInfo.Bugs(ctx, ids)
	if err != nil {
		s.backendError(c, "asking Bugzilla", err)
		return
	}
	out := make([]gin.H, 0, len(bugs))
	for _, b := range bugs {
		out = append(out, gin.H{"id": b.ID, "status": b.Status, "resolution": b.Resolution, "summary": b.Summary})
	}
	c.JSON(http.StatusOK, gin.H{"bugs": out})
}

// addReportPaths describes the bug and correlation models in the OpenAPI
// document (and so on the /api/ page).
func addReportPaths(paths obj, sec []obj) {
	pairs := "hits: [{id, signature}], total; from the association set the bugassociations cron job keeps"
	paths["/api/Bugs/"] = obj{"get": obj{"summary": "Bugs whose crash-signature field lists the signatures", "security": sec,
		"parameters": []obj{qp("signatures", "signatures (repeat; at most 1000)", true, strs())},
		"responses":  std(jsonResp(pairs), nil)}}
	paths["/api/SignaturesByBugs/"] = obj{"get": obj{"summary": "Signatures the bugs' crash-signature fields list", "security": sec,
		"parameters": []obj{qp("bug_ids", "bug numbers (repeat; at most 1000)", true, strs())},
		"responses":  std(jsonResp(pairs), nil)}}
	paths["/api/BugzillaBugInfo/"] = obj{"get": obj{"summary": "Status, resolution and summary of bugs, asked of the configured Bugzilla and cached (an hour by default)", "security": sec,
		"parameters": []obj{qp("bugs", "bug numbers (repeat; at most 500)", true, strs())},
		"responses":  std(jsonResp("bugs: [{id, status, resolution, summary}]: the bugs Bugzilla knows"), nil)}}
	addCorrelationPath(paths, sec)
}
