package collector

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Malformed reasons answered as 400 Discarded=malformed_<reason>, Antenna's
// eleven (reference/socorro.md §2.1).
const (
	reasonNoContentType           = "no_content_type"
	reasonWrongContentType        = "wrong_content_type"
	reasonNoBoundary              = "no_boundary"
	reasonNoContentLength         = "no_content_length"
	reasonBadGzip                 = "bad_gzip"
	reasonInvalidJSON             = "invalid_json"
	reasonInvalidJSONValue        = "invalid_json_value"
	reasonInvalidPayloadStructure = "invalid_payload_structure"
	reasonNoAnnotations           = "no_annotations"
	reasonInvalidDumpName         = "invalid_dump_name"
	reasonInvalidUUID             = "invalid_uuid"
)

// malformedError refuses a report with 400 Discarded=malformed_<reason>.
type malformedError struct{ reason string }

func (e *malformedError) Error() string { return "malformed_" + e.reason }

func malformed(reason string) error { return &malformedError{reason} }

// tooLargeError refuses a report with 413; what says which limit.
type tooLargeError struct{ what string }

func (e *tooLargeError) Error() string { return "too large: " + e.what }

// errReadTimeout: the client stopped sending before the body ended (408).
var errReadTimeout = errors.New("read timeout")

// droppedFields are never stored (Antenna's BAD_FIELDS plus Email): they
// identify a person or a telemetry session.
var droppedFields = []string{"Email", "TelemetryClientId", "TelemetryServerURL", "TelemetrySessionId"}

// reservedFields are set by the collector; a client's values are dropped.
var reservedFields = []string{"dump_checksums", "metadata", "submitted_timestamp", "version"}

// reservedDumpNames would collide with the other keys of the layout
// (v1/raw_crash, v1/dump_names, v1/processed_crash) or with the main
// dump's stored name (v1/dump).
var reservedDumpNames = map[string]bool{"dump_names": true, "processed_crash": true, "raw_crash": true, "dump": true, "crash_report": true}

// report is a parsed submission: everything but the crash id.
type report struct {
	annMem     *budget // where annHeld came from
	annHeld    int64   // annotation memory taken from annMem
	ann        map[string]string
	dumps      []*spool // in order of first appearance, names unique
	notes      []string
	payload    string // "multipart" (form annotations) or "json" (an extra part)
	compressed bool
	size       int64 // payload bytes after decompression
}

// close removes the dumps' spill files and gives back the annotation
// memory.
func (r *report) close() {
	for _, d := range r.dumps {
		_ = d.close()
	}
	if r.annMem != nil {
		r.annMem.give(r.annHeld)
		r.annHeld = 0
	}
}

// limits are the parser's caps, taken from Config.
type limits struct {
	maxPayload     int64
	maxAnnotations int64
	maxParts       int
	maxDumps       int
	spoolMemory    int64
	spoolDir       string
	pool           *chunkPool
	annMem         *budget    // process-wide annotation memory; nil: unbounded (tests)
	annChunks      *sync.Pool // recycled annotation read chunks; nil: allocate
}

// maxOverhead bounds the payload bytes of one report that are neither an
// annotation nor a dump we read: boundaries, part headers (the multipart
// reader holds a part's header in memory, up to 10 MiB by itself) and the
// parser's look-ahead. Real reports spend a few hundred bytes per part.
const maxOverhead = 256 << 10

// checkContentType validates the Content-Type header as Antenna does and
// returns the multipart boundary. multipart/mixed is accepted too (docs/design.md).
func checkContentType(ct string) (string, error) {
	if strings.TrimSpace(ct) == "" {
		return "", malformed(reasonNoContentType)
	}
	base, _, _ := strings.Cut(ct, ";")
	base = strings.ToLower(strings.TrimSpace(base))
	if base != "multipart/form-data" && base != "multipart/mixed" {
		return "", malformed(reasonWrongContentType)
	}
	_, params, err := mime.ParseMediaType(ct)
	if err != nil || params["boundary"] == "" {
		return "", malformed(reasonNoBoundary)
	}
	return params["boundary"], nil
}

// source wraps the body reader chain and remembers the first error it saw
// from below the multipart parser (size caps, timeouts, gzip), so that a
// parser error can be attributed to its real cause.
type source struct {
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// cappedReader fails with a tooLargeError once more than max bytes came
// through: the cap is on bytes actually read, never on a header's claim.
type cappedReader struct {
	r    io.Reader
	n    int64
	max  int64
	what string
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, &tooLargeError{c.what}
	}
	if room := c.max + 1 - c.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, &tooLargeError{c.what}
	}
	return n, err
}

// gzipReader marks the decompressor's own failures as bad_gzip, while
// errors from the body below (size cap, timeout) pass through unchanged.
type gzipReader struct {
	below *source
	z     *gzip.Reader
}

func newGzipReader(below *source) (*gzipReader, error) {
	z, err := gzip.NewReader(below)
	if err != nil {
		if below.err != nil {
			return nil, below.err
		}
		return nil, malformed(reasonBadGzip)
	}
	return &gzipReader{below: below, z: z}, nil
}

func (g *gzipReader) Read(p []byte) (int, error) {
	n, err := g.z.Read(p)
	if err != nil && err != io.EOF {
		if g.below.err != nil {
			return n, g.below.err
		}
		return n, malformed(reasonBadGzip)
	}
	return n, err
}

// parseBody reads a whole submission from body (the raw request body,
// already capped and deadline-guarded by the caller). gzipped says whether
// Content-Encoding is gzip. Dumps are spooled; annotations are kept in
// memory, bounded by lim.maxAnnotations. On error nothing is left behind.
func parseBody(body io.Reader, boundary string, gzipped bool, lim limits) (_ *report, err error) {
	wire := &source{r: body}
	var payload io.Reader = wire
	if gzipped {
		gz, err := newGzipReader(wire)
		if err != nil {
			return nil, err
		}
		payload = gz
	}
	capped := &cappedReader{r: payload, max: lim.maxPayload, what: "decompressed payload"}
	over := &overheadReader{r: capped}
	src := &source{r: over}

	budget := lim.spoolMemory
	rep := &report{ann: map[string]string{}, compressed: gzipped, payload: "multipart", annMem: lim.annMem}
	defer func() {
		if err != nil {
			rep.close()
		}
	}()
	mr := multipart.NewReader(src, boundary)
	var annBytes int64
	var hasJSON, hasKV bool
	parts := 0
	dumpIndex := map[string]int{}
	for {
		rawPart, err := mr.NextRawPart()
		if err == io.EOF { // the closing boundary; not errors.Is: "NextPart: EOF" is junk
			break
		}
		if err != nil {
			return nil, attribute(src, err)
		}
		parts++
		if parts > lim.maxParts {
			return nil, &tooLargeError{"too many parts"}
		}
		var part io.Reader = &partReader{r: rawPart, o: over}
		name, filename := partNames(rawPart)
		if name == "" {
			rep.notes = append(rep.notes, "Dropped a part without a name.")
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, attribute(src, err)
			}
			continue
		}
		if name == "dump_checksums" {
			// a resubmitted raw crash's checksums are not the client's to set
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, attribute(src, err)
			}
			continue
		}
		mt := partMediaType(rawPart.Header.Get("Content-Type"))
		switch {
		case mt == "application/json":
			hasJSON = true
			data, err := readAnnotation(part, lim.maxAnnotations-annBytes, rep, lim.annChunks)
			if err != nil {
				return nil, attribute(src, err)
			}
			annBytes += int64(len(data))
			if err := rep.addJSON(data); err != nil {
				return nil, err
			}
		case (mt == "" || mt == "text/plain") && filename == "":
			hasKV = true
			data, err := readAnnotation(part, lim.maxAnnotations-annBytes-int64(len(name)), rep, lim.annChunks)
			if err != nil {
				return nil, attribute(src, err)
			}
			annBytes += int64(len(name) + len(data))
			rep.addKV(name, data)
		default:
			dn := sanitizeDumpName(name)
			if dn == "" || reservedDumpNames[dn] {
				return nil, malformed(reasonInvalidDumpName)
			}
			if mt != "application/octet-stream" {
				rep.notes = append(rep.notes, fmt.Sprintf("Dump %s has content type %q.", dn, mt))
			}
			sp := newSpool(dn, lim.spoolDir, &budget, lim.pool)
			if i, dup := dumpIndex[dn]; dup {
				_ = rep.dumps[i].close()
				rep.dumps[i] = sp
				rep.notes = append(rep.notes, fmt.Sprintf("Dump %s was sent more than once; kept the last.", dn))
			} else {
				if len(rep.dumps) >= lim.maxDumps {
					return nil, &tooLargeError{"too many dumps"}
				}
				dumpIndex[dn] = len(rep.dumps)
				rep.dumps = append(rep.dumps, sp)
			}
			if _, err := io.Copy(sp, part); err != nil {
				return nil, attribute(src, err)
			}
		}
	}
	// Drain what follows the closing boundary so gzip trailers and the
	// size caps are checked on the whole body, as Antenna does.
	if _, err := io.Copy(io.Discard, &partReader{r: src, o: over}); err != nil {
		return nil, attribute(src, err)
	}
	rep.size = capped.n
	if len(rep.ann) == 0 {
		return nil, malformed(reasonNoAnnotations)
	}
	if hasJSON {
		rep.payload = "json"
		if hasKV {
			// Antenna's spec says 400 malformed_has_json_and_kv; its code
			// keeps both with a note. We follow the code: losing a crash
			// over redundant annotations helps nobody.
			rep.notes = append(rep.notes, "Crash report has both a JSON part and key/value annotations; merged in part order.")
		}
	}
	rep.dropFields()
	return rep, nil
}

// attribute maps a parser or copy error to the refusal it stands for: the
// first error from below the parser (cap, timeout, gzip) wins; otherwise
// the multipart structure is broken.
func attribute(src *source, err error) error {
	var m *malformedError
	var tl *tooLargeError
	if errors.As(err, &m) || errors.As(err, &tl) || errors.Is(err, errReadTimeout) || errors.Is(err, errOverloaded) {
		return err
	}
	if src.err != nil {
		err = src.err
		if errors.As(err, &m) || errors.As(err, &tl) || errors.Is(err, errReadTimeout) || errors.Is(err, errOverloaded) {
			return err
		}
	}
	return malformed(reasonInvalidPayloadStructure)
}

// partNames reads name and filename from Content-Disposition, whatever its
// type (form-data in multipart/form-data, often attachment in mixed).
func partNames(p *multipart.Part) (name, filename string) {
	cd := p.Header.Get("Content-Disposition")
	if cd == "" {
		return "", ""
	}
	_, params, err := mime.ParseMediaType(cd)
	if err != nil {
		return "", ""
	}
	return params["name"], params["filename"]
}

func partMediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		base, _, _ := strings.Cut(ct, ";")
		return strings.ToLower(strings.TrimSpace(base))
	}
	return mt
}

// readAnnotation reads one annotation part, refusing more than room bytes.
func readAnnotation(r io.Reader, room int64, rep *report, chunks *sync.Pool) ([]byte, error) {
	if room < 0 {
		room = 0
	}
	// Read into pooled fixed-size chunks, each paid for from the
	// process-wide budget before it is used, then copy once into a slice
	// of the exact size: a stalled or refused annotation leaves no garbage
	// behind (doubling a buffer would allocate twice the data).
	var held []*[]byte
	defer func() {
		for _, c := range held {
			if chunks != nil {
				chunks.Put(c)
			}
		}
	}()
	var total int64
	used := annChunkSize // bytes used in the last chunk; full: take another
	for {
		if used == annChunkSize {
			if rep.annMem != nil {
				if !rep.annMem.take(annChunkSize) {
					return nil, errOverloaded
				}
				rep.annHeld += annChunkSize
			}
			var c *[]byte
			if chunks != nil {
				c = chunks.Get().(*[]byte)
			} else {
				b := make([]byte, annChunkSize)
				c = &b
			}
			held = append(held, c)
			used = 0
		}
		n, err := r.Read((*held[len(held)-1])[used:])
		used += n
		total += int64(n)
		if total > room {
			return nil, &tooLargeError{"annotations"}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	data := make([]byte, 0, total)
	for i, c := range held {
		if i == len(held)-1 {
			data = append(data, (*c)[:used]...)
		} else {
			data = append(data, *c...)
		}
	}
	if rep.annMem != nil {
		// keep paying only for what stays: the annotation itself
		spare := int64(len(held))*annChunkSize - total
		rep.annMem.give(spare)
		rep.annHeld -= spare
	}
	return data, nil
}

// annChunkSize is the unit annotations are read in.
const annChunkSize = 16 << 10

// overheadReader counts the payload bytes the multipart parser reads, and
// partReader the bytes of parts we read, so the difference (boundaries,
// part headers, look-ahead) is capped at maxOverhead.
type overheadReader struct {
	r     io.Reader
	read  int64
	parts int64
}

func (o *overheadReader) Read(p []byte) (int, error) {
	if o.read-o.parts > maxOverhead {
		return 0, &tooLargeError{"part headers"}
	}
	n, err := o.r.Read(p)
	o.read += int64(n)
	return n, err
}

type partReader struct {
	r io.Reader
	o *overheadReader
}

func (p *partReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.o.parts += int64(n)
	return n, err
}

// addKV stores a text annotation. A name or value that is not UTF-8 is
// dropped with a note (Antenna's code; its spec says 400
// malformed_invalid_annotation_value, but a lost crash is worse than a lost
// annotation).
func (r *report) addKV(name string, data []byte) {
	if !utf8.ValidString(name) {
		r.notes = append(r.notes, fmt.Sprintf("Dropped annotation %q: name is not UTF-8.", strings.ToValidUTF8(name, "?")))
		return
	}
	if !utf8.Valid(data) {
		r.notes = append(r.notes, fmt.Sprintf("Dropped annotation %s: value is not UTF-8.", name))
		return
	}
	r.ann[name] = string(data)
}

// addJSON merges the annotations of a JSON part: an object, whose string
// values are kept as they are and whose other values are kept as their
// compact JSON text (annotations are strings everywhere downstream).
func (r *report) addJSON(data []byte) error {
	if !utf8.Valid(data) {
		return malformed(reasonInvalidJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return malformed(reasonInvalidJSON)
	}
	if _, err := dec.Token(); err != io.EOF {
		return malformed(reasonInvalidJSON) // trailing data after the value
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return malformed(reasonInvalidJSONValue)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch x := obj[k].(type) {
		case string:
			r.ann[k] = x
		case nil:
			r.notes = append(r.notes, fmt.Sprintf("Dropped annotation %s: null.", k))
		default:
			b, _ := json.Marshal(x)
			r.ann[k] = string(b)
			r.notes = append(r.notes, fmt.Sprintf("Annotation %s was not a string; kept its JSON text.", k))
		}
	}
	return nil
}

// dropFields removes personal and reserved fields, noting each removal.
func (r *report) dropFields() {
	for _, f := range droppedFields {
		if _, ok := r.ann[f]; ok {
			delete(r.ann, f)
			r.notes = append(r.notes, fmt.Sprintf("Removed %s from raw crash.", f))
		}
	}
	for _, f := range reservedFields {
		if _, ok := r.ann[f]; ok {
			delete(r.ann, f)
			r.notes = append(r.notes, fmt.Sprintf("Removed reserved field %s sent by the client.", f))
		}
	}
}

// sanitizeDumpName keeps [A-Za-z0-9_] and cuts at 30 characters, as
// Antenna does, so a dump name is always a safe key segment.
func sanitizeDumpName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name) && b.Len() < 30; i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			b.WriteByte(c)
		}
	}
	return b.String()
}
