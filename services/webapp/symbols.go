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
	"os"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/services/webapp/internal/symupload"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// UploadResult is the answer to a symbol upload.
type UploadResult struct {
	Stored  []StoredSymbol      `json:"stored"`
	Skipped []symupload.Skipped `json:"skipped"`
	// Jobs are the reprocess jobs of the stored files: one per file, new
	// or (the same file stored before) the existing one.
	Jobs []JobRef `json:"reprocess_jobs"`
	// JobsError says why some jobs were not started (the files are stored;
	// the bucket scan, when on, starts them later).
	JobsError string `json:"reprocess_jobs_error,omitempty"`
}

// StoredSymbol is one file written to the symbols bucket.
type StoredSymbol struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
	// Unchanged is true when the bucket already held these very bytes
	// under the key: nothing was written, and the file's reprocess job is
	// the one it started before.
	Unchanged bool `json:"unchanged"`
}

// JobRef names a symbol file's reprocess job.
type JobRef struct {
	ID     string `json:"id"`
	Module string `json:"module"`
	// New is false when the same file had started it before.
	New   bool   `json:"new"`
	State string `json:"state"`
	URL   string `json:"url"`
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
		unchanged, err := s.storeSymbol(ctx, f)
		if err != nil {
			s.backendError(c, "storing "+f.Key, err)
			return
		}
		res.Stored = append(res.Stored, StoredSymbol{Key: f.Key, Size: f.Size, Unchanged: unchanged})
	}
	s.m.symbols.WithLabelValues("stored").Add(float64(len(files)))
	s.m.symbols.WithLabelValues("skipped").Add(float64(len(skipped)))
	res.Jobs, res.JobsError = s.startJobs(ctx, files, "upload-symbols:"+CallerOf(c).Name)
	c.JSON(http.StatusCreated, res)
}

// storeSymbol writes f with its SHA-256, unless the bucket already holds
// the same bytes under its key (unchanged). Not rewriting them keeps the
// object's ETag, which is part of the reprocess job's identity: a store
// whose ETags are not content hashes would otherwise give the same file
// uploaded again a new job.
func (s *Server) storeSymbol(ctx context.Context, f symupload.File) (unchanged bool, err error) {
	info, err := s.deps.Symbols.Stat(ctx, f.Key)
	switch {
	case err == nil && info.SHA256 == f.SHA256 && info.Size == f.Size:
		return true, nil
	case err != nil && !errors.Is(err, objectstore.ErrNotFound):
		return false, err
	}
	rc, err := f.Open()
	if err != nil {
		return false, err
	}
	defer rc.Close()
	return false, s.deps.Symbols.PutWithSHA256(ctx, f.Key, io.LimitReader(rc, f.Size), f.Size, "text/plain", f.SHA256)
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
