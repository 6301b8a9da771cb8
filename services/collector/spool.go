package collector

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"os"
)

// spool holds one dump while the rest of the report is read: the first
// bytes in memory, drawn from a per-request budget, the rest in a temporary
// file. The report cannot be stored before it is fully read (the throttle
// decision and the crash id need every annotation, and a refused report
// must leave no object behind), so this is what bounds memory per request.
type spool struct {
	name   string // sanitized dump name
	mem    []byte
	file   *os.File
	size   int64
	sha    hash.Hash
	budget *int64 // remaining in-memory bytes of the whole request
	dir    string
}

func newSpool(name, dir string, budget *int64) *spool {
	return &spool{name: name, sha: sha256.New(), budget: budget, dir: dir}
}

// Write implements io.Writer.
func (s *spool) Write(p []byte) (int, error) {
	n := len(p)
	s.sha.Write(p)
	s.size += int64(n)
	if s.file == nil {
		take := int64(len(p))
		if take > *s.budget {
			take = *s.budget
		}
		if take > 0 {
			s.mem = append(s.mem, p[:take]...)
			*s.budget -= take
			p = p[take:]
		}
		if len(p) == 0 {
			return n, nil
		}
		f, err := os.CreateTemp(s.dir, "crashstream-spool-*")
		if err != nil {
			return 0, err
		}
		s.file = f
	}
	if _, err := s.file.Write(p); err != nil {
		return 0, err
	}
	return n, nil
}

// checksum is the hex SHA-256 of everything written.
func (s *spool) checksum() string { return hex.EncodeToString(s.sha.Sum(nil)) }

// reader returns the content from the start. It is an io.ReadSeeker so the
// object store client can rewind it to retry a PUT.
func (s *spool) reader() io.ReadSeeker {
	if s.file == nil {
		return bytes.NewReader(s.mem)
	}
	return io.NewSectionReader(multiReaderAt{s.mem, s.file}, 0, s.size)
}

// close releases the memory budget and removes the spill file.
func (s *spool) close() error {
	*s.budget += int64(len(s.mem))
	s.mem = nil
	if s.file == nil {
		return nil
	}
	err := errors.Join(s.file.Close(), os.Remove(s.file.Name()))
	s.file = nil
	return err
}

// multiReaderAt reads the in-memory head then the spill file as one.
type multiReaderAt struct {
	head []byte
	tail io.ReaderAt
}

func (m multiReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < int64(len(m.head)) {
		n = copy(p, m.head[off:])
		if n == len(p) {
			return n, nil
		}
		off = int64(len(m.head))
	}
	k, err := m.tail.ReadAt(p[n:], off-int64(len(m.head)))
	return n + k, err
}
