// Package symupload validates Breakpad symbol uploads before anything is
// stored: a zip of Breakpad-layout .sym files (debug_file/debug_id/name.sym)
// or a single .sym file. Every file's first line (MODULE os arch debug_id
// debug_file) must agree with its path; archive paths cannot escape the
// layout (no "..", no absolute or backslash paths); and the archive cannot
// expand without bound: the declared sizes are checked against the caps
// before any byte is inflated, and the actual bytes are counted against the
// same caps while inflating, so a lying header cannot get past them.
//
// Validation reads the whole upload once (to check actual sizes and zip
// checksums); storing reads it again. Nothing is stored unless every file
// passed, so a refused upload leaves the symbols bucket untouched.
package symupload

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"sync"
)

// Limits bounds an upload. Zero values are not allowed; use DefaultLimits.
type Limits struct {
	// MaxFileBytes caps one uncompressed .sym file.
	MaxFileBytes int64
	// MaxTotalBytes caps the sum of the uncompressed files of one upload.
	MaxTotalBytes int64
	// MaxFiles caps the entries of one archive.
	MaxFiles int
}

// DefaultLimits are generous enough for a browser's largest module
// (xul.sym is about 300 MB) and small enough to bound one request's work.
func DefaultLimits() Limits {
	return Limits{MaxFileBytes: 1 << 30, MaxTotalBytes: 4 << 30, MaxFiles: 10000}
}

// ErrInvalid wraps every refusal: the webapp answers 400 with its text.
var ErrInvalid = errors.New("invalid symbol upload")

// ErrTooLarge wraps refusals for size (the webapp answers 413).
var ErrTooLarge = errors.New("symbol upload too large")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

func tooLarge(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrTooLarge, fmt.Sprintf(format, a...))
}

// Module is a parsed MODULE line.
type Module struct {
	OS, Arch, DebugID, DebugFile string
}

// SymName is the .sym file name of the Breakpad layout: the debug file with
// .pdb replaced by .sym, else with .sym appended.
func (m Module) SymName() string {
	if strings.HasSuffix(strings.ToLower(m.DebugFile), ".pdb") {
		return m.DebugFile[:len(m.DebugFile)-4] + ".sym"
	}
	return m.DebugFile + ".sym"
}

// Key is the module's path in the symbols bucket.
func (m Module) Key() string { return m.DebugFile + "/" + m.DebugID + "/" + m.SymName() }

// Patterns of a MODULE line's fields, compiled on first use (never
// changed) so that commands which never parse an upload do not pay for them
// at start.
var (
	debugIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9A-Fa-f]{1,64}$`) })
	osArchRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.+-]{1,32}$`) })
)

const (
	// maxLineLen bounds the MODULE line.
	maxLineLen = 4096
	// moduleSplit is the MODULE line's field count.
	moduleSplit = 5
)

// ParseModule parses a .sym file's first line. The debug file may contain
// spaces (it is the rest of the line).
func ParseModule(line string) (Module, error) {
	line = strings.TrimRight(line, "\r\n")
	if len(line) > maxLineLen {
		return Module{}, invalid("MODULE line longer than %d bytes", maxLineLen)
	}
	parts := strings.SplitN(line, " ", moduleSplit)
	if len(parts) != moduleSplit || parts[0] != "MODULE" {
		return Module{}, invalid("first line is not \"MODULE <os> <arch> <debug_id> <debug_file>\"")
	}
	m := Module{OS: parts[1], Arch: parts[2], DebugID: parts[3], DebugFile: parts[4]}
	if !osArchRE().MatchString(m.OS) || !osArchRE().MatchString(m.Arch) {
		return Module{}, invalid("MODULE line: bad os or arch")
	}
	if !debugIDRE().MatchString(m.DebugID) {
		return Module{}, invalid("MODULE line: debug id %q is not hex", m.DebugID)
	}
	if err := checkName(m.DebugFile); err != nil {
		return Module{}, invalid("MODULE line: debug file: %v", err)
	}
	return m, nil
}

// checkName refuses names that could leave the layout or confuse a reader.
func checkName(s string) error {
	switch {
	case s == "" || s == "." || s == "..":
		return fmt.Errorf("%q is not a file name", s)
	case len(s) > 256:
		return errors.New("name longer than 256 bytes")
	case strings.ContainsAny(s, "/\\"):
		return fmt.Errorf("%q contains a path separator", s)
	case len(s) >= 2 && s[1] == ':':
		// "C:" would make the key's first segment look like a drive,
		// which CheckPath (rightly) refuses in archives
		return fmt.Errorf("%q looks like a drive letter", s)
	case strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return fmt.Errorf("%q contains control characters", s)
	}
	return nil
}

// CheckPath checks an archive path for zip-slip: relative, forward slashes,
// no empty, "." or ".." segments, no drive letter.
func CheckPath(p string) error {
	switch {
	case p == "":
		return invalid("empty path")
	case len(p) > 1024:
		return invalid("path longer than 1024 bytes")
	case strings.HasPrefix(p, "/"):
		return invalid("%q is an absolute path", p)
	case strings.Contains(p, "\\"):
		return invalid("%q contains a backslash", p)
	case len(p) >= 2 && p[1] == ':':
		return invalid("%q has a drive letter", p)
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "..":
			return invalid("%q escapes the archive (..)", p)
		case "", ".":
			return invalid("%q has an empty or \".\" segment", p)
		}
	}
	return nil
}

// File is one validated symbol file.
type File struct {
	// Path is where it was in the upload; Key where it is stored.
	Path, Key string
	Module    Module
	Size      int64
	// SHA256 is the hex SHA-256 of its bytes: the store keeps it, so the
	// same file uploaded again is recognised and not rewritten.
	SHA256 string
	// Open reads its bytes (again) for storing.
	Open func() (io.ReadCloser, error)
}

// Skipped is an archive entry that is not a symbol file (a directory or
// another file): reported, not stored, not an error.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// firstLine reads the MODULE line of r.
func firstLine(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(r, maxLineLen+2)
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return "", invalid("MODULE line longer than %d bytes", maxLineLen)
	}
	if err != nil && err != io.EOF {
		return "", err
	}
	return string(line), nil
}

// checkFile verifies that a file at p (the archive path, or "" for a bare
// upload with name) holds a MODULE line agreeing with it.
func checkFile(p, name string, head []byte) (Module, error) {
	label := p
	if label == "" {
		label = name
	}
	if label == "" {
		label = "upload"
	}
	line, err := firstLine(bytes.NewReader(head))
	if err != nil {
		return Module{}, fmt.Errorf("%s: %w", label, err)
	}
	m, err := ParseModule(line)
	if err != nil {
		return Module{}, fmt.Errorf("%s: %w", label, err)
	}
	if p != "" {
		segs := strings.Split(p, "/")
		if len(segs) != 3 {
			return Module{}, invalid("%s: want debug_file/debug_id/file.sym", p)
		}
		if segs[0] != m.DebugFile || !strings.EqualFold(segs[1], m.DebugID) || segs[2] != m.SymName() {
			return Module{}, invalid("%s: MODULE line says %s", p, m.Key())
		}
	} else if name != "" && path.Base(name) != m.SymName() {
		return Module{}, invalid("%s: MODULE line says the file is %s", name, m.SymName())
	}
	return m, nil
}

// Zip validates a zip archive. Entries that are not .sym files are skipped;
// any bad .sym entry, unsafe path or size over a cap refuses the whole
// upload.
func Zip(r io.ReaderAt, size int64, lim Limits) ([]File, []Skipped, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, nil, invalid("not a zip archive: %v", err)
	}
	if len(zr.File) > lim.MaxFiles {
		return nil, nil, tooLarge("%d entries (at most %d)", len(zr.File), lim.MaxFiles)
	}
	// Declared sizes first: nothing is inflated if they are over the caps.
	var declared uint64
	seen := map[string]bool{}
	for _, zf := range zr.File {
		if err := CheckPath(zf.Name); err != nil {
			return nil, nil, err
		}
		if seen[zf.Name] {
			return nil, nil, invalid("%s: duplicate entry", zf.Name)
		}
		seen[zf.Name] = true
		if zf.UncompressedSize64 > uint64(lim.MaxFileBytes) {
			return nil, nil, tooLarge("%s: %d bytes uncompressed (at most %d per file)", zf.Name, zf.UncompressedSize64, lim.MaxFileBytes)
		}
		declared += zf.UncompressedSize64
		if declared > uint64(lim.MaxTotalBytes) {
			return nil, nil, tooLarge("archive expands to more than %d bytes", lim.MaxTotalBytes)
		}
	}
	var files []File
	var skipped []Skipped
	var total int64
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			continue
		}
		if !strings.HasSuffix(zf.Name, ".sym") {
			skipped = append(skipped, Skipped{Path: zf.Name, Reason: "not a .sym file"})
			continue
		}
		if zf.Mode()&(1<<31|1<<27) != 0 { // directory or symlink bits
			return nil, nil, invalid("%s: not a regular file", zf.Name)
		}
		n, head, sum, err := inflate(zf, lim.MaxFileBytes)
		if err != nil {
			return nil, nil, err
		}
		total += n
		if total > lim.MaxTotalBytes {
			return nil, nil, tooLarge("archive expands to more than %d bytes", lim.MaxTotalBytes)
		}
		m, err := checkFile(zf.Name, "", head)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, File{Path: zf.Name, Key: m.Key(), Module: m, Size: n, SHA256: sum, Open: zf.Open})
	}
	if len(files) == 0 {
		return nil, skipped, invalid("the archive holds no .sym file")
	}
	return files, skipped, nil
}

// inflate reads a whole entry, counting its actual bytes against max (a
// header may understate them) and letting the zip reader check its CRC; it
// returns the count, the first line's bytes and the SHA-256 of the whole.
func inflate(zf *zip.File, max int64) (int64, []byte, string, error) {
	rc, err := zf.Open()
	if err != nil {
		return 0, nil, "", invalid("%s: %v", zf.Name, err)
	}
	defer rc.Close()
	head := make([]byte, maxLineLen+2)
	hn, err := io.ReadFull(rc, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, nil, "", invalid("%s: entry is corrupt or larger than its header says (%v)", zf.Name, err)
	}
	h := sha256.New()
	h.Write(head[:hn])
	n, err := io.Copy(h, io.LimitReader(rc, max-int64(hn)+1))
	if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) {
		// archive/zip stops at the declared size: a bomb that understates
		// itself ends here, having inflated no more than it declared.
		return 0, nil, "", invalid("%s: entry is corrupt or larger than its header says (%v)", zf.Name, err)
	}
	if err != nil {
		return 0, nil, "", invalid("%s: %v", zf.Name, err)
	}
	n += int64(hn)
	if n > max {
		return 0, nil, "", tooLarge("%s: more than %d bytes uncompressed (at most %d per file)", zf.Name, max, max)
	}
	return n, head[:hn], hex.EncodeToString(h.Sum(nil)), nil
}

// Sym validates a single uploaded .sym file of size bytes; name is the
// uploaded file name ("" if none), which must then be the layout's name.
func Sym(r io.ReaderAt, size int64, name string, lim Limits) (File, error) {
	if size > lim.MaxFileBytes {
		return File{}, tooLarge("%d bytes (at most %d per file)", size, lim.MaxFileBytes)
	}
	head := make([]byte, min(size, int64(maxLineLen+2)))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return File{}, err
	}
	label := name
	if label == "" {
		label = "upload"
	}
	m, err := checkFile("", name, head)
	if err != nil {
		return File{}, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return File{}, err
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(r, 0, size)), nil }
	return File{Path: label, Key: m.Key(), Module: m, Size: size, SHA256: hex.EncodeToString(h.Sum(nil)), Open: open}, nil
}
