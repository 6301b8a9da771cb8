package webapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/errgroup"

	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// Error shape: every API error is {"error": "<message>"} with the status:
// 400 bad parameters (an unknown or, without view_pii, protected field is
// "unknown field"), 403 missing permission or bad token, 404 unknown crash,
// 413 too large, 429 rate limited (Retry-After), 503 a backend is down.

// maxJSONObject bounds a processed or raw crash read from the store.
const maxJSONObject = 64 << 20

func apiError(c *gin.Context, status int, format string, a ...any) {
	c.AbortWithStatusJSON(status, gin.H{"error": fmt.Sprintf(format, a...)})
}

// backendError answers a failed backend call: 503 for the caller, the
// cause in the log only (it may name internals), written by requestLog with
// the request id the answer carries.
func (s *Server) backendError(c *gin.Context, what string, err error) {
	if errors.Is(err, context.Canceled) {
		c.Abort()
		return
	}
	_ = c.Error(fmt.Errorf("%s: %w", what, err))
	apiError(c, http.StatusServiceUnavailable, "%s failed; try again later", what)
}

// need refuses callers without permission p.
func need(p string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !CallerOf(c).Has(p) {
			apiError(c, http.StatusForbidden, "Forbidden: this needs the %s permission", p)
			return
		}
		c.Next()
	}
}

func (s *Server) withTimeout(c *gin.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
}

// routes mounts the API, the schema registry and sign-in.
func (s *Server) routes(e *gin.Engine) {
	api := e.Group("/api")
	search := s.rateLimit("search", s.search)
	other := s.rateLimit("api", s.api)
	handle := func(method, name string, h ...gin.HandlerFunc) {
		api.Handle(method, "/"+name, h...)
		api.Handle(method, "/"+name+"/", h...)
	}
	handle(http.MethodGet, "SuperSearch", search, s.superSearch(false))
	handle(http.MethodGet, "SuperSearchUnredacted", search, need(auth.ViewPII), s.superSearch(true))
	handle(http.MethodGet, "SuperSearchFields", other, s.superSearchFields)
	handle(http.MethodGet, "ProcessedCrash", other, s.processedCrash)
	handle(http.MethodGet, "RawCrash", other, s.rawCrash)
	handle(http.MethodGet, "SignatureFirstDate", other, s.signatureFirstDate)
	handle(http.MethodGet, "TopCrashers", other, s.topCrashers)
	handle(http.MethodGet, "Bugs", other, s.bugsBySignature)
	handle(http.MethodGet, "SignaturesByBugs", other, s.signaturesByBugs)
	handle(http.MethodGet, "BugzillaBugInfo", other, s.bugzillaBugInfo)
	handle(http.MethodGet, "Correlations", other, s.correlations)
	handle(http.MethodPost, "Reprocessing", other, need(auth.ReprocessCrashes), s.reprocessing)
	handle(http.MethodGet, "NoOp", other, s.noOp)
	handle(http.MethodGet, "VersionString", other, s.versionString)
	handle(http.MethodPost, "CrashSignature", other, s.crashSignature)
	handle(http.MethodGet, "MissingProcessedCrash", other, s.missingProcessedCrash)
	handle(http.MethodGet, "Alerts", other, s.alertsModel)
	handle(http.MethodPost, "upload-symbols", other, need(auth.UploadSymbols), s.uploadSymbols)
	handle(http.MethodGet, "ReprocessJobs", other, need(auth.UploadSymbols), s.reprocessJobs)
	// Tecken's path, so its upload scripts work unchanged.
	e.POST("/upload/", other, need(auth.UploadSymbols), s.uploadSymbols)
	api.GET("/openapi.json", s.openAPI)
	e.GET("/api/", other, s.apiDocs) // the API documentation page, at Socorro's address
	tokens := []gin.HandlerFunc{other, headerOnly, need(auth.ManageTokens)}
	api.GET("/tokens", append(tokens, s.listTokens)...)
	api.POST("/tokens", append(tokens, s.createToken)...)
	api.POST("/tokens/revoke", append(tokens, s.revokeToken)...)

	reg := gin.WrapH(registry.NewHandler(s.deps.Schemas))
	e.GET("/schemas/ids/:id", reg)
	e.GET("/schemas/ids/:id/schema", reg)
	e.GET("/subjects", reg)
	e.GET("/subjects/:subject/versions", reg)
	e.GET("/subjects/:subject/versions/:version", reg)
	e.GET("/subjects/:subject/versions/:version/schema", reg)
	e.GET("/config", reg)

	e.GET("/signin", func(c *gin.Context) { s.signinForm(c, http.StatusOK, "") })
	e.POST("/signin", other, s.signin) // rate limited: each attempt reads the token store
	e.POST("/signout", s.signout)
}

// --- Super Search -----------------------------------------------------

// SearchResponse is Socorro's Super Search answer: hits, total, facets and
// errors. Facets hold the _facets fields; an _aggs key's buckets nest under
// their field's facet ("facets" of each bucket, level by level);
// histograms are "histogram_<field>" and cardinalities
// "cardinality_<field>": {"value": n}, at the top or inside a bucket.
type SearchResponse struct {
	Hits   []map[string]any `json:"hits"`
	Total  int64            `json:"total"`
	Facets map[string]any   `json:"facets"`
	Errors []SearchError    `json:"errors"`
}

// SearchError is one entry of a Super Search answer's errors: Socorro
// lists objects with a "type" there. crashstream reports each protected
// field it left out of the search (type "protected_field_dropped").
type SearchError struct {
	Type      string `json:"type"`
	Parameter string `json:"parameter,omitempty"`
	Field     string `json:"field,omitempty"`
	Message   string `json:"message,omitempty"`
}

// FacetBucket is one term of a facet or histogram. Term is typed as
// Socorro's (Elasticsearch's) are: a number for number fields, "true" or
// "false" for bools, an ISO 8601 time for dates, else the text. Facets holds
// the nested levels: lists of FacetBucket, or {"value": n} for a
// cardinality.
type FacetBucket struct {
	Term   any            `json:"term"`
	Count  int64          `json:"count"`
	Facets map[string]any `json:"facets,omitempty"`
}

// ParseSearch parses Super Search parameters for a caller: unredacted
// allows protected fields (the caller must hold view_pii). It is what the
// API and the search page use, so both treat parameters alike.
func (s *Server) ParseSearch(params url.Values, unredacted bool) (*supersearch.Query, error) {
	q, err := supersearch.Parse(params, s.fields, unredacted, s.now())
	if err != nil {
		return nil, err
	}
	// The first field of each aggregation is also a facet, so the nested
	// buckets hang under exact counts (Socorro's _aggs.<f> bucket is
	// answered under facets.<f>).
	for _, a := range q.Aggs {
		found := false
		for _, f := range q.Facets {
			found = found || f.Name == a.By[0].Name
		}
		if !found {
			q.Facets = append(q.Facets, a.By[0])
		}
	}
	return q, nil
}

func (s *Server) superSearch(unredacted bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		q, err := s.ParseSearch(c.Request.URL.Query(), unredacted)
		if err != nil {
			apiError(c, http.StatusBadRequest, "%v", err)
			return
		}
		ctx, cancel := s.withTimeout(c)
		defer cancel()
		res, err := s.deps.Reader.SuperSearch(ctx, q)
		if err != nil {
			s.backendError(c, "search", err)
			return
		}
		if !unredacted {
			RedactSearch(s.redactor, res)
		}
		out := s.SearchJSON(q, res, unredacted)
		hint := "needs the " + auth.ViewPII + " permission"
		if CallerOf(c).Has(auth.ViewPII) {
			hint = "is protected: use SuperSearchUnredacted"
		}
		for _, d := range q.Dropped {
			out.Errors = append(out.Errors, SearchError{Type: "protected_field_dropped", Parameter: d.Param, Field: d.Field,
				Message: fmt.Sprintf("%s: field %q %s; it was left out of the search", d.Param, d.Field, hint)})
		}
		c.JSON(http.StatusOK, out)
	}
}

// facetNode is a facet bucket while the nested levels are attached.
type facetNode struct {
	term  string
	typ   supersearch.Type
	count int64
	kids  map[string][]*facetNode
	cards map[string]uint64
}

func findNode(list []*facetNode, term string) *facetNode {
	for _, n := range list {
		if n.term == term {
			return n
		}
	}
	return nil
}

// at walks from the top-level facets along by/groups to the bucket they
// name; nil when a level was cut by _facets_size.
func at(top map[string][]*facetNode, by, groups []string) *facetNode {
	if len(groups) != len(by) {
		return nil
	}
	n := findNode(top[by[0]], groups[0])
	for i := 1; n != nil && i < len(by); i++ {
		n = findNode(n.kids[by[i]], groups[i])
	}
	return n
}

func (n *facetNode) bucket() FacetBucket {
	b := FacetBucket{Term: termValue(n.typ, n.term), Count: n.count}
	if len(n.kids)+len(n.cards) > 0 {
		b.Facets = map[string]any{}
		for k, list := range n.kids {
			b.Facets[k] = nodeBuckets(list)
		}
		for k, v := range n.cards {
			b.Facets["cardinality_"+k] = map[string]uint64{"value": v}
		}
	}
	return b
}

func nodeBuckets(list []*facetNode) []FacetBucket {
	out := make([]FacetBucket, len(list))
	for i, n := range list {
		out[i] = n.bucket()
	}
	return out
}

// SearchJSON shapes a result as Socorro does. Every name is checked again
// by permission: defence in depth behind Parse.
func (s *Server) SearchJSON(q *supersearch.Query, res *clickhouse.SearchResult, viewPII bool) SearchResponse {
	out := SearchResponse{Hits: []map[string]any{}, Total: res.Total, Facets: map[string]any{}, Errors: []SearchError{}}
	visible := func(names ...string) bool {
		for _, n := range names {
			if !viewPII && !s.public(n) {
				return false
			}
		}
		return true
	}
	for _, h := range res.Hits {
		hit := make(map[string]any, len(h))
		for k, v := range h {
			if visible(k) {
				hit[k] = v
			}
		}
		out.Hits = append(out.Hits, hit)
	}
	// Field types by the names the answer uses, to type the terms.
	types := map[string]supersearch.Type{}
	for _, f := range q.Facets {
		types[f.Name] = f.Type
	}
	for _, a := range q.Aggs {
		for _, f := range a.By {
			types[f.Name] = f.Type
		}
		types[a.Target.Name] = a.Target.Type
	}
	for _, h := range q.Histograms {
		types[h.Field.Name] = h.Field.Type
		for _, f := range h.Terms {
			types[f.Name] = f.Type
		}
	}
	// A missing value ("" here: empty text, NULL number) is no term, as in
	// Elasticsearch, which does not bucket documents without the field.
	top := map[string][]*facetNode{}
	for name, bs := range res.Facets {
		if !visible(name) {
			continue
		}
		list := make([]*facetNode, 0, len(bs))
		for _, b := range bs {
			if b.Term != "" {
				list = append(list, &facetNode{term: b.Term, typ: types[name], count: b.Count, kids: map[string][]*facetNode{}, cards: map[string]uint64{}})
			}
		}
		top[name] = list
	}
	// shallow levels first, so every level finds its parent
	keys := make([]string, 0, len(res.Aggs))
	for k := range res.Aggs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		di, dj := strings.Count(keys[i], "."), strings.Count(keys[j], ".")
		return di < dj || (di == dj && keys[i] < keys[j])
	})
	for _, key := range keys {
		parts := strings.Split(key, ".")
		if !visible(parts...) {
			continue
		}
		by, target := parts[:len(parts)-1], parts[len(parts)-1]
		for _, b := range res.Aggs[key] {
			if n := at(top, by, strings.Split(b.Group, "\x1f")); n != nil && b.Term != "" {
				n.kids[target] = append(n.kids[target], &facetNode{term: b.Term, typ: types[target], count: b.Count,
					kids: map[string][]*facetNode{}, cards: map[string]uint64{}})
			}
		}
	}
	for key, bs := range res.AggCardinality {
		parts := strings.Split(key, ".")
		if !visible(parts...) {
			continue
		}
		by, target := parts[:len(parts)-1], parts[len(parts)-1]
		for _, b := range bs {
			if n := at(top, by, strings.Split(b.Group, "\x1f")); n != nil {
				n.cards[target] = uint64(b.Count)
			}
		}
	}
	for key, bs := range res.AggHistograms {
		parts := strings.Split(key, ".")
		if !visible(parts...) {
			continue
		}
		by, target := parts[:len(parts)-1], parts[len(parts)-1]
		for _, b := range bs {
			n := at(top, by, strings.Split(b.Group, "\x1f"))
			if n == nil || b.Term == "" {
				continue
			}
			term, typ := b.Term, types[target]
			if typ == supersearch.Date {
				term, typ = histogramDate(term), supersearch.String
			}
			name := "histogram_" + target
			n.kids[name] = append(n.kids[name], &facetNode{term: term, typ: typ, count: b.Count})
		}
	}
	for name, list := range top {
		out.Facets[name] = nodeBuckets(list)
	}
	dateHist := map[string]bool{}
	for _, h := range q.Histograms {
		dateHist[h.Field.Name] = h.Field.Type == supersearch.Date
	}
	hists := map[string][]*facetNode{}
	histNode := func(field, group string) *facetNode {
		term := group
		if dateHist[field] {
			term = histogramDate(group)
		}
		if n := findNode(hists[field], term); n != nil {
			return n
		}
		n := &facetNode{term: term, typ: types[field], kids: map[string][]*facetNode{}, cards: map[string]uint64{}}
		if dateHist[field] {
			n.typ = supersearch.String // already written as Socorro's
		}
		hists[field] = append(hists[field], n)
		return n
	}
	for key, bs := range res.Histograms {
		field, split, _ := strings.Cut(key, ".")
		if !visible(field) || (split != "" && !visible(split)) {
			continue
		}
		for _, b := range bs {
			if b.Group == "" { // NULL numbers have no interval
				continue
			}
			n := histNode(field, b.Group)
			if split == "" {
				n.count += b.Count
				continue
			}
			if b.Term != "" {
				n.kids[split] = append(n.kids[split], &facetNode{term: b.Term, typ: types[split], count: b.Count})
			}
		}
	}
	for key, bs := range res.HistogramCardinality {
		field, card, _ := strings.Cut(key, ".")
		if !visible(field, card) {
			continue
		}
		for _, b := range bs {
			if b.Group != "" {
				histNode(field, b.Group).cards[card] = uint64(b.Count)
			}
		}
	}
	for field, list := range hists {
		sort.SliceStable(list, func(i, j int) bool { return list[i].term < list[j].term })
		out.Facets["histogram_"+field] = nodeBuckets(list)
	}
	for name, n := range res.Cardinality {
		if visible(name) {
			out.Facets["cardinality_"+name] = map[string]uint64{"value": n}
		}
	}
	return out
}

// termValue types a facet term as Socorro's answer has it.
func termValue(t supersearch.Type, term string) any {
	switch t {
	case supersearch.Number:
		if n, err := strconv.ParseInt(term, 10, 64); err == nil {
			return n
		}
		if x, err := strconv.ParseFloat(term, 64); err == nil {
			return x
		}
	case supersearch.Bool:
		switch term {
		case "1":
			return "true"
		case "0":
			return "false"
		}
	case supersearch.Date:
		return histogramDate(term)
	}
	return term
}

// histogramDate writes a date histogram interval as Socorro does
// (Elasticsearch's key_as_string): "2026-11-27T00:00:00+00:00". The query
// gives "2026-11-27" for days, weeks and months, and "2026-11-27 10:00:00"
// for hours.
func histogramDate(group string) string {
	switch len(group) {
	case len("2006-01-02"):
		return group + "T00:00:00+00:00"
	case len("2006-01-02 15:04:05"):
		return group[:10] + "T" + group[11:] + "+00:00"
	}
	return group
}

// public reports whether a field (by API name or Socorro alias) is public;
// unknown names are not (default deny).
func (s *Server) public(name string) bool {
	f, ok := s.deps.Fields.Lookup(supersearch.Canonical(name))
	return ok && f.IsPublic()
}

// fieldJSON is one SuperSearchFields entry, in Socorro's shape.
type fieldJSON struct {
	Name                string   `json:"name"`
	Namespace           string   `json:"namespace"`
	InDatabaseName      string   `json:"in_database_name"`
	QueryType           string   `json:"query_type"`
	DataValidationType  string   `json:"data_validation_type"`
	PermissionsNeeded   []string `json:"permissions_needed"`
	IsExposed           bool     `json:"is_exposed"`
	IsReturned          bool     `json:"is_returned"`
	Description         string   `json:"description"`
	FormFieldChoices    []string `json:"form_field_choices"`
	HasFullVersion      bool     `json:"has_full_version"`
	DefaultValue        any      `json:"default_value"`
	StorageMappingType  string   `json:"storage_mapping_type,omitempty"`
	ClickHouseFieldType string   `json:"clickhouse_type,omitempty"`
}

// queryType is Socorro's query_type of a field type.
func queryType(t fields.Type) string {
	switch t {
	case fields.Int, fields.Float:
		return "number"
	case fields.Bool:
		return "bool"
	case fields.Date:
		return "date"
	case fields.Object:
		return "object"
	default:
		return "string"
	}
}

func (s *Server) superSearchFields(c *gin.Context) {
	viewPII := CallerOf(c).Has(auth.ViewPII)
	out := map[string]fieldJSON{}
	for _, f := range s.deps.Fields.Visible(viewPII) {
		perms := []string{}
		if !f.IsPublic() {
			perms = []string{"crashstats." + auth.ViewPII}
		}
		out[f.Name] = fieldJSON{
			Name: f.Name, Namespace: "processed_crash", InDatabaseName: f.ClickHouseColumn,
			QueryType: queryType(f.Type), DataValidationType: string(f.Type), PermissionsNeeded: perms,
			IsExposed: f.Searchable && f.ClickHouseColumn != "", IsReturned: f.Searchable && f.ClickHouseColumn != "",
			Description: f.Description, FormFieldChoices: []string{}, ClickHouseFieldType: f.ClickHouseType,
		}
	}
	// Socorro's names for fields the registry names otherwise, so a client
	// that checks its field names against SuperSearchFields finds them.
	for alias, name := range supersearch.Aliases() {
		f, ok := out[name]
		if !ok {
			continue
		}
		f.Name = alias
		f.Description = fmt.Sprintf("Socorro's name for %s: %s", name, f.Description)
		if alias == "date" {
			f.Description = "Socorro's date: in crashstream the submission time (submitted_timestamp), which never changes when a crash is reprocessed; Socorro's date is date_processed. " + f.Description
		}
		out[alias] = f
	}
	c.JSON(http.StatusOK, out)
}

// --- crashes ------------------------------------------------------------

func crashIDParam(c *gin.Context) (string, bool) {
	id := strings.TrimPrefix(strings.TrimSpace(c.Query("crash_id")), "bp-")
	if err := objectstore.CheckCrashID(id, false); err != nil {
		apiError(c, http.StatusBadRequest, "crash_id: not a crash id")
		return "", false
	}
	return id, true
}

// ProcessedCrash reads a processed crash from the object store, redacted
// for the caller: without view_pii the registry's redaction (schemas/redact)
// drops every protected or unknown key, nested ones in json_dump and the
// structured fields included, and sanitises java_stack_trace. found is
// false for a crash not (yet) processed.
func (s *Server) ProcessedCrash(ctx context.Context, id string, caller auth.Caller) (map[string]json.RawMessage, bool, error) {
	key, err := objectstore.ProcessedCrashKey(id)
	if err != nil {
		return nil, false, err
	}
	b, found, err := s.readObject(ctx, key)
	if err != nil || !found {
		return nil, found, err
	}
	if !caller.Has(auth.ViewPII) {
		if b, err = s.redactor.JSON(b); err != nil {
			return nil, false, fmt.Errorf("%s: %w", key, err)
		}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, false, fmt.Errorf("%s: %w", key, err)
	}
	return m, true, nil
}

// readObject reads a JSON object from the crash bucket; found is false
// when it does not exist.
func (s *Server) readObject(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := s.deps.Crashes.GetBytes(ctx, key, maxJSONObject)
	if errors.Is(err, objectstore.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

func (s *Server) processedCrash(c *gin.Context) {
	id, ok := crashIDParam(c)
	if !ok {
		return
	}
	ctx, cancel := s.withTimeout(c)
	defer cancel()
	m, found, err := s.ProcessedCrash(ctx, id, CallerOf(c))
	if err != nil {
		s.backendError(c, "reading the processed crash", err)
		return
	}
	if !found {
		apiError(c, http.StatusNotFound, "Crash not found: %s has no processed crash", id)
		return
	}
	c.JSON(http.StatusOK, m)
}

// PublicAnnotation reports whether a raw-crash annotation may be shown
// without view_pii (schemas/redact: every processed field copied from it
// is public and unsanitised; unknown annotations and metadata are not).
func (s *Server) PublicAnnotation(name string) bool { return s.redactor.PublicAnnotation(name) }

// RawCrash reads a raw crash (annotations), redacted for the caller.
func (s *Server) RawCrash(ctx context.Context, id string, caller auth.Caller) (map[string]json.RawMessage, bool, error) {
	key, err := objectstore.RawCrashKey(id)
	if err != nil {
		return nil, false, err
	}
	b, found, err := s.readObject(ctx, key)
	if err != nil || !found {
		return nil, found, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, false, fmt.Errorf("%s: %w", key, err)
	}
	if !caller.Has(auth.ViewPII) {
		s.redactor.RawCrash(m)
	}
	return m, true, nil
}

func (s *Server) rawCrash(c *gin.Context) {
	id, ok := crashIDParam(c)
	if !ok {
		return
	}
	ctx, cancel := s.withTimeout(c)
	defer cancel()
	switch c.DefaultQuery("format", "meta") {
	case "meta":
		m, found, err := s.RawCrash(ctx, id, CallerOf(c))
		if err != nil {
			s.backendError(c, "reading the raw crash", err)
			return
		}
		if !found {
			apiError(c, http.StatusNotFound, "Crash not found: %s", id)
			return
		}
		c.JSON(http.StatusOK, m)
	case "raw":
		if !CallerOf(c).Has(auth.ViewRawDump) {
			apiError(c, http.StatusForbidden, "Forbidden: raw dumps need the %s permission", auth.ViewRawDump)
			return
		}
		name := c.DefaultQuery("name", objectstore.MainDumpField)
		key, err := objectstore.DumpKey(name, id)
		if err != nil {
			apiError(c, http.StatusBadRequest, "name: not a dump name")
			return
		}
		rc, info, err := s.deps.Crashes.Get(ctx, key)
		if errors.Is(err, objectstore.ErrNotFound) {
			apiError(c, http.StatusNotFound, "Crash not found: %s has no dump %q", id, name)
			return
		}
		if err != nil {
			s.backendError(c, "reading the dump", err)
			return
		}
		defer rc.Close()
		c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.dmp"`, id))
		c.DataFromReader(http.StatusOK, info.Size, "application/octet-stream", rc, nil)
	default:
		apiError(c, http.StatusBadRequest, "format: want meta or raw")
	}
}

// --- reports --------------------------------------------------------------

func (s *Server) signatureFirstDate(c *gin.Context) {
	sigs := listParam(c, "signatures")
	if len(sigs) == 0 {
		apiError(c, http.StatusBadRequest, "signatures: required")
		return
	}
	if len(sigs) > clickhouse.MaxSignatures {
		apiError(c, http.StatusBadRequest, "signatures: at most %d", clickhouse.MaxSignatures)
		return
	}
	for _, sig := range sigs {
		if len(sig) > 1024 {
			apiError(c, http.StatusBadRequest, "signatures: a signature is at most 1024 bytes")
			return
		}
	}
	ctx, cancel := s.withTimeout(c)
	defer cancel()
	res, err := s.deps.Reader.SignatureFirstDate(ctx, sigs)
	if err != nil {
		s.backendError(c, "reading signatures", err)
		return
	}
	hits := make([]gin.H, 0, len(res))
	for _, r := range res {
		hits = append(hits, gin.H{"signature": r.Signature, "first_date": r.FirstDate.Format(time.RFC3339), "first_build": r.FirstBuild})
	}
	c.JSON(http.StatusOK, gin.H{"hits": hits, "total": len(hits)})
}

// ParseTopCrashers reads the top-crashers parameters of a request (the
// API and the page share it).
func ParseTopCrashers(q url.Values) (clickhouse.TopCrashersParams, error) {
	p := clickhouse.TopCrashersParams{Product: q.Get("product"), ProcessType: q.Get("process_type"), Platform: q.Get("platform"), Days: 7}
	for _, v := range q["version"] {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				p.Versions = append(p.Versions, x)
			}
		}
	}
	var err error
	if d := q.Get("days"); d != "" {
		if p.Days, err = strconv.Atoi(d); err != nil {
			return p, fmt.Errorf("days: want 1, 3, 7, 14 or 28")
		}
	}
	lim := q.Get("limit")
	if lim == "" {
		lim = q.Get("_facets_size")
	}
	if lim != "" {
		if p.Limit, err = strconv.Atoi(lim); err != nil {
			return p, fmt.Errorf("limit: want 50, 100, 200 or 300")
		}
	}
	if e := q.Get("end_date"); e != "" {
		if p.End, err = time.Parse("2006-01-02", e); err != nil {
			return p, fmt.Errorf("end_date: want YYYY-MM-DD")
		}
		p.End = p.End.AddDate(0, 0, 1) // inclusive day in the API, exclusive in the query
	}
	p.Installs = q.Get("installs") == "1" || q.Get("installs") == "true"
	if len(p.ProcessType) > 64 || len(p.Platform) > 64 {
		return p, fmt.Errorf("process_type, platform: at most 64 bytes")
	}
	return p, p.Validate()
}

func (s *Server) topCrashers(c *gin.Context) {
	p, err := ParseTopCrashers(c.Request.URL.Query())
	if err != nil {
		apiError(c, http.StatusBadRequest, "%v", err)
		return
	}
	ctx, cancel := s.withTimeout(c)
	defer cancel()
	res, err := s.deps.Reader.TopCrashers(ctx, p)
	if err != nil {
		s.backendError(c, "top crashers", err)
		return
	}
	crashers := make([]gin.H, 0, len(res.Crashers))
	for _, t := range res.Crashers {
		pct := any(t.Percent - t.PrevPercent)
		if t.New {
			pct = "new"
		}
		crashers = append(crashers, gin.H{
			"rank": t.Rank, "signature": t.Signature, "count": t.Count, "percent": t.Percent,
			"previous_rank": t.PrevRank, "rank_diff": t.RankDiff, "previous_count": t.PrevCount,
			"previous_percent": t.PrevPercent, "percent_diff": pct, "new": t.New,
			"platforms": t.Platforms, "process_types": t.ProcessTypes,
			"startup_count": t.StartupCount, "short_uptime_count": t.ShortUptimeCount, "gc_count": t.GCCount,
			"startup_crash_all": t.StartupAll, "startup_crash_some": t.StartupSome, "startup_crash_likely": t.StartupLikely,
			"installs": t.Installs,
		})
	}
	c.JSON(http.StatusOK, gin.H{"start_date": res.Start.Format(time.RFC3339), "end_date": res.End.Format(time.RFC3339),
		"total": res.Total, "crashes": crashers})
}

// --- reprocessing -----------------------------------------------------------

// MaxReprocess bounds the crash ids of one Reprocessing call.
const MaxReprocess = 1000

type reprocessJob struct {
	CrashID string `json:"crash_id"`
	Ruleset string `json:"ruleset"`
}

func (s *Server) reprocessing(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20)
	if err := c.Request.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		apiError(c, http.StatusBadRequest, "bad form: %v", err)
		return
	}
	form := c.Request.Form
	ruleset := form.Get("ruleset")
	if ruleset == "" {
		ruleset = protocol.RulesetDefault
	}
	var raw []string
	for _, name := range []string{"crash_ids", "crash_ids[]"} {
		for _, v := range form[name] {
			raw = append(raw, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })...)
		}
	}
	if len(raw) == 0 {
		apiError(c, http.StatusBadRequest, "crash_ids: required")
		return
	}
	if len(raw) > MaxReprocess {
		apiError(c, http.StatusBadRequest, "crash_ids: at most %d per request", MaxReprocess)
		return
	}
	var jobs []reprocessJob
	seen := map[string]bool{}
	for _, r := range raw {
		id, rs, hasRS := strings.Cut(strings.TrimPrefix(r, "bp-"), ":")
		if !hasRS {
			rs = ruleset
		}
		if err := objectstore.CheckCrashID(id, false); err != nil {
			apiError(c, http.StatusBadRequest, "crash_ids: %q is not a crash id", r)
			return
		}
		if !protocol.IsRuleset(rs) {
			apiError(c, http.StatusBadRequest, "ruleset: %q is not one of %s", rs, strings.Join(protocol.Rulesets(), ", "))
			return
		}
		if !seen[id] {
			seen[id] = true
			jobs = append(jobs, reprocessJob{CrashID: id, Ruleset: rs})
		}
	}
	ctx, cancel := s.withTimeout(c)
	defer cancel()
	missing, err := s.missingRaw(ctx, jobs)
	if err != nil {
		s.backendError(c, "checking crashes", err)
		return
	}
	if len(missing) > 0 {
		apiError(c, http.StatusBadRequest, "crash_ids: no such crash: %s", strings.Join(missing, ", "))
		return
	}
	by := "api:" + CallerOf(c).Name
	for _, j := range jobs {
		if err := s.publish(ctx, s.deps.Topics.Reprocess, j.CrashID, protocol.ReasonReprocess, j.Ruleset, by); err != nil {
			s.backendError(c, "publishing reprocess requests", err)
			return
		}
		s.m.reprocess.Inc()
	}
	c.JSON(http.StatusOK, gin.H{"reprocessed": jobs, "count": len(jobs)})
}

// missingRaw returns the jobs' crash ids that have no raw crash.
func (s *Server) missingRaw(ctx context.Context, jobs []reprocessJob) ([]string, error) {
	found := make([]bool, len(jobs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, j := range jobs {
		g.Go(func() error {
			key, err := objectstore.RawCrashKey(j.CrashID)
			if err != nil {
				return err
			}
			found[i], err = s.deps.Crashes.Exists(ctx, key)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var missing []string
	for i, ok := range found {
		if !ok {
			missing = append(missing, jobs[i].CrashID)
		}
	}
	sort.Strings(missing)
	return missing, nil
}

// discard drains a body so keep-alive connections can be reused.
func discard(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20)) }
