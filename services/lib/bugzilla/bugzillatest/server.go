// Package bugzillatest is a local HTTP server speaking the part of
// Bugzilla 5's REST API crashstream uses: GET /rest/bug searches with
// include_fields, last_change_time, product, id, order=bug_id, limit and
// offset, and the custom-search triple f1=cf_crash_signature&o1=isnotempty;
// answers are {"bugs": [...]} (with total_matches when Totals is set, as
// Bugzilla 5.1 adds it) and errors {"error": true, "code", "message"}, as
// Bugzilla documents them. Faults (a status, a stall) can be injected for
// the next requests or for one page, to test retries.
package bugzillatest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bug is a bug the server holds.
type Bug struct {
	ID             int64
	Product        string
	CrashSignature string
	Status         string
	Resolution     string
	Summary        string
	LastChange     time.Time
}

// Server is the local Bugzilla. Close it when done.
type Server struct {
	*httptest.Server
	// APIKey, when set, must be sent as X-BUGZILLA-API-KEY.
	APIKey string
	// Totals adds total_matches to search answers.
	Totals bool

	mu       sync.Mutex
	bugs     map[int64]Bug
	faults   []fault
	pageFail map[int]int // offset -> status, every time
	requests []string
}

type fault struct {
	status int
	stall  time.Duration
}

// New starts a server.
func New() *Server {
	s := &Server{bugs: map[int64]Bug{}, pageFail: map[int]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Put adds or replaces a bug; a zero LastChange is now.
func (s *Server) Put(b Bug) {
	if b.LastChange.IsZero() {
		b.LastChange = time.Now().UTC()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bugs[b.ID] = b
}

// FailNext makes the next request answer status (Bugzilla's error JSON).
func (s *Server) FailNext(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{status: status})
}

// StallNext makes the next request wait d before answering normally (a
// client with a shorter timeout gives up first).
func (s *Server) StallNext(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{stall: d})
}

// FailOffset makes every search at this offset answer status (0: heal).
func (s *Server) FailOffset(offset, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		delete(s.pageFail, offset)
		return
	}
	s.pageFail[offset] = status
}

// Requests returns the query strings received so far and forgets them.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": true, "code": code, "message": msg, "documentation": "https://bmo.readthedocs.io/en/latest/api/"})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/rest/bug" {
		writeError(w, http.StatusNotFound, 32614, "A REST API resource was not found for '"+r.Method+" "+r.URL.Path+"'.")
		return
	}
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.RawQuery)
	var f fault
	if len(s.faults) > 0 {
		f, s.faults = s.faults[0], s.faults[1:]
	}
	if st, ok := s.pageFail[offset]; ok && q.Get("id") == "" {
		f.status = st
	}
	key := s.APIKey
	s.mu.Unlock()
	if f.stall > 0 {
		select {
		case <-time.After(f.stall):
		case <-r.Context().Done():
			return
		}
	}
	if f.status != 0 {
		writeError(w, f.status, 0, "injected failure")
		return
	}
	if key != "" && r.Header.Get("X-BUGZILLA-API-KEY") != key {
		writeError(w, http.StatusBadRequest, 306, "The API key you specified is invalid.")
		return
	}
	var since time.Time
	if v := q.Get("last_change_time"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, 302, "Invalid last_change_time")
			return
		}
		since = t
	}
	var ids []int64
	if v := q.Get("id"); v != "" {
		for _, x := range strings.Split(v, ",") {
			id, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, 54, "Invalid bug id")
				return
			}
			ids = append(ids, id)
		}
	}
	notEmpty := q.Get("f1") == "cf_crash_signature" && q.Get("o1") == "isnotempty"
	s.mu.Lock()
	var match []Bug
	for _, b := range s.bugs {
		switch {
		case ids != nil && !slices.Contains(ids, b.ID),
			len(q["product"]) > 0 && !slices.Contains(q["product"], b.Product),
			b.LastChange.Before(since),
			notEmpty && b.CrashSignature == "":
			continue
		}
		match = append(match, b)
	}
	s.mu.Unlock()
	sort.Slice(match, func(i, j int) bool { return match[i].ID < match[j].ID })
	total := len(match)
	if offset > len(match) {
		offset = len(match)
	}
	match = match[offset:]
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 && n < len(match) {
		match = match[:n]
	}
	want := map[string]bool{}
	for _, f := range strings.Split(q.Get("include_fields"), ",") {
		want[f] = true
	}
	out := make([]map[string]any, 0, len(match))
	for _, b := range match {
		all := map[string]any{"id": b.ID, "product": b.Product, "cf_crash_signature": b.CrashSignature, "status": b.Status,
			"resolution": b.Resolution, "summary": b.Summary, "last_change_time": b.LastChange.Format(time.RFC3339)}
		m := map[string]any{}
		for k, v := range all {
			if len(want) == 1 && want[""] || want[k] || want["_all"] {
				m[k] = v
			}
		}
		out = append(out, m)
	}
	res := map[string]any{"bugs": out}
	if s.Totals && q.Get("limit") != "" {
		res["total_matches"], res["limit"], res["offset"] = total, q.Get("limit"), offset
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}
