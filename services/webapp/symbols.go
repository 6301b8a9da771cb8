package webapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/services/webapp/internal/symupload"
)

// UploadResult is the answer to a symbol upload.
type UploadResult struct {
	Stored  []StoredSymbol      `json:"stored"`
	Skipped []symupload.Skipped `json:"skipped"`
	Requeue RequeueResult       `json:"requeued"`
}

// StoredSymbol is one file written to the symbols bucket.
type StoredSymbol struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
}

// RequeueResult says which crashes were sent back to the processor.
type RequeueResult struct {
	Days     int      `json:"days"`
	Count    int      `json:"count"`
	CrashIDs []string `json:"crash_ids"`
	// Truncated is true when more crashes matched than -webapp.symbols.requeue-max.
	Truncated bool   `json:"truncated"`
	Error     string `json:"error,omitempty"`
}

// uploadSymbols takes a zip of Breakpad-layout .sym files or one .sym, as
// the request body or as the first file part of a multipart form; checks
// everything (symupload); stores the files; then re-queues the recent
// crashes whose stacks have one of the uploaded modules, so that symbols
// uploaded late still fix their stacks.
func (s *Server) uploadSymbols(c *gin.Context) {
	body := http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxUploadBytes)
	spool, name, err := s.spoolUpload(c, body)
	if spool != nil {
		defer func() { spool.Close(); os.Remove(spool.Name()) }()
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		apiError(c, http.StatusRequestEntityTooLarge, "upload larger than %d bytes; nothing was stored", s.cfg.MaxUploadBytes)
		return
	case err != nil:
		apiError(c, http.StatusBadRequest, "%v", err)
		return
	}
	st, err := spool.Stat()
	if err != nil {
		s.backendError(c, "spooling the upload", err)
		return
	}
	size := st.Size()
	if size == 0 {
		apiError(c, http.StatusBadRequest, "empty upload")
		return
	}
	var files []symupload.File
	var skipped []symupload.Skipped
	magic := make([]byte, 4)
	_, _ = spool.ReadAt(magic, 0)
	if bytes.HasPrefix(magic, []byte("PK")) || strings.HasSuffix(strings.ToLower(name), ".zip") {
		files, skipped, err = symupload.Zip(spool, size, s.cfg.Upload)
	} else {
		var f symupload.File
		f, err = symupload.Sym(spool, size, name, s.cfg.Upload)
		files = []symupload.File{f}
	}
	if err != nil {
		s.m.symbols.WithLabelValues("refused").Inc()
		status := http.StatusBadRequest
		if errors.Is(err, symupload.ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		apiError(c, status, "%v; nothing was stored", err)
		return
	}
	ctx, cancel := s.withTimeout(c)
	defer cancel()
	res := UploadResult{Stored: []StoredSymbol{}, Skipped: skipped}
	if res.Skipped == nil {
		res.Skipped = []symupload.Skipped{}
	}
	for _, f := range files {
		if err := s.storeSymbol(ctx, f); err != nil {
			s.backendError(c, "storing "+f.Key, err)
			return
		}
		res.Stored = append(res.Stored, StoredSymbol{Key: f.Key, Size: f.Size})
	}
	s.m.symbols.WithLabelValues("stored").Add(float64(len(files)))
	s.m.symbols.WithLabelValues("skipped").Add(float64(len(skipped)))
	res.Requeue = s.requeue(ctx, files, CallerOf(c).Name)
	c.JSON(http.StatusCreated, res)
}

func (s *Server) storeSymbol(ctx context.Context, f symupload.File) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return s.deps.Symbols.Put(ctx, f.Key, io.LimitReader(rc, f.Size), f.Size, "text/plain")
}

// spoolUpload writes the upload to a temporary file (the zip reader needs
// random access, and a spool keeps memory flat); it returns the uploaded
// file name when the request named one.
func (s *Server) spoolUpload(c *gin.Context, body io.Reader) (*os.File, string, error) {
	src, name := body, ""
	mt, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil, "", errors.New("the multipart form holds no file part")
			}
			if err != nil {
				return nil, "", fmt.Errorf("bad multipart body: %w", err)
			}
			if p.FileName() != "" {
				src, name = p, p.FileName()
				break
			}
			discard(p)
		}
	}
	f, err := os.CreateTemp(s.cfg.UploadDir, "symupload-*")
	if err != nil {
		return nil, "", err
	}
	if _, err := io.Copy(f, src); err != nil {
		return f, "", err
	}
	return f, name, nil
}

// requeue publishes reprocess requests for the crashes of the last
// RequeueDays whose stack has one of the modules (modules_in_stack holds
// "filename/debug_id"). A failure here does not undo the upload: it is
// reported in the answer, and the crashes can be reprocessed by the API.
func (s *Server) requeue(ctx context.Context, files []symupload.File, by string) RequeueResult {
	res := RequeueResult{Days: s.cfg.RequeueDays, CrashIDs: []string{}}
	if s.cfg.RequeueDays == 0 || s.cfg.RequeueMax == 0 {
		return res
	}
	var ids []string
	seen := map[string]bool{}
	for _, f := range files {
		id := strings.ToUpper(f.Module.DebugID)
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	crashes, truncated, err := s.crashesWithModules(ctx, ids)
	res.Truncated = truncated
	if err != nil {
		s.deps.Logger.Warn().Err(err).Msg("finding crashes to re-queue after a symbol upload")
		res.Error = "finding crashes to re-queue failed; reprocess them with the Reprocessing API"
		return res
	}
	for _, id := range crashes {
		if err := s.publish(ctx, s.deps.Topics.Reprocess, id, protocol.ReasonSymbols, protocol.RulesetDefault, "upload-symbols:"+by); err != nil {
			s.deps.Logger.Warn().Err(err).Msg("re-queueing after a symbol upload")
			res.Error = "publishing reprocess requests failed; reprocess the rest with the Reprocessing API"
			break
		}
		s.m.reprocess.Inc()
		res.CrashIDs = append(res.CrashIDs, id)
	}
	res.Count = len(res.CrashIDs)
	return res
}

// crashesWithModules pages through Super Search for crashes of the window
// with any of the debug ids in their stack.
func (s *Server) crashesWithModules(ctx context.Context, debugIDs []string) ([]string, bool, error) {
	if len(debugIDs) == 0 {
		return nil, false, nil
	}
	var out []string
	seen := map[string]bool{}
	since := s.now().UTC().AddDate(0, 0, -s.cfg.RequeueDays).Format("2006-01-02T15:04:05")
	// one search per batch of ids (a field takes at most MaxValues values)
	for start := 0; start < len(debugIDs); start += 40 {
		batch := debugIDs[start:min(start+40, len(debugIDs))]
		vals := make([]string, len(batch))
		for i, id := range batch {
			vals[i] = "$/" + id
		}
		for offset := 0; ; offset += 1000 {
			params := url.Values{"modules_in_stack": vals, "date": {">=" + since}, "_columns": {"crash_id"},
				"_facets": {""}, "_results_number": {"1000"}, "_results_offset": {fmt.Sprint(offset)}, "_sort": {"date"}}
			q, err := s.ParseSearch(params, false)
			if err != nil {
				return nil, false, err
			}
			res, err := s.deps.Reader.SuperSearch(ctx, q)
			if err != nil {
				return nil, false, err
			}
			for _, h := range res.Hits {
				id, _ := h["crash_id"].(string)
				if id != "" && !seen[id] {
					if len(out) >= s.cfg.RequeueMax {
						return out, true, nil
					}
					seen[id] = true
					out = append(out, id)
				}
			}
			if len(res.Hits) < 1000 || offset+2000 > 10000 {
				break
			}
		}
	}
	return out, false, nil
}
