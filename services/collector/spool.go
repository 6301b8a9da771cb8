package collector

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// chunkSize is the unit of in-memory spooling. Fixed-size chunks recycled
// through a pool mean a busy collector allocates almost nothing per
// report, which keeps both the GC's CPU and the heap's headroom small.
const chunkSize = 64 << 10

// chunkPool recycles spool chunks, one per Collector, and bounds the spool
// memory of all requests together: when limit bytes of chunks are out, a
// request spills to disk instead, however many requests are in flight.
type chunkPool struct {
	p     sync.Pool
	limit int64
	used  atomic.Int64
}

func newChunkPool(limit int64) *chunkPool {
	return &chunkPool{limit: limit, p: sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}}
}

// get returns a chunk, or nil when the process-wide limit is reached.
func (c *chunkPool) get() *[]byte {
	if c.used.Add(chunkSize) > c.limit {
		c.used.Add(-chunkSize)
		return nil
	}
	return c.p.Get().(*[]byte)
}

func (c *chunkPool) put(b *[]byte) {
	c.p.Put(b)
	c.used.Add(-chunkSize)
}

// spool holds one dump while the rest of the report is read: the first
// bytes in memory chunks, drawn from a per-request budget and the
// process-wide pool, the rest in a temporary file. The report cannot be stored before it is fully read (the
// throttle decision and the crash id need every annotation, and a refused
// report must leave no object behind), so this is what bounds memory per
// request.
type spool struct {
	name   string // sanitized dump name
	chunks []*[]byte
	mem    int64 // bytes held in chunks
	file   *os.File
	size   int64
	sha    hash.Hash
	budget *int64 // remaining in-memory bytes of the whole request
	dir    string
	pool   *chunkPool
}

func newSpool(name, dir string, budget *int64, pool *chunkPool) *spool {
	return &spool{name: name, sha: sha256.New(), budget: budget, dir: dir, pool: pool}
}

// Write implements io.Writer.
func (s *spool) Write(p []byte) (int, error) {
	n := len(p)
	s.sha.Write(p)
	s.size += int64(n)
	for s.file == nil && len(p) > 0 {
		used := int(s.mem % chunkSize)
		if used == 0 { // the last chunk is full (or there is none)
			if *s.budget < chunkSize {
				break
			}
			c := s.pool.get()
			if c == nil {
				break
			}
			*s.budget -= chunkSize
			s.chunks = append(s.chunks, c)
		}
		k := copy((*s.chunks[len(s.chunks)-1])[used:], p)
		s.mem += int64(k)
		p = p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	if s.file == nil {
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

// ReadFrom reads r straight into the spool's memory chunks (io.Copy uses
// it): without it every dump byte went through io.Copy's own 32 KiB
// buffer, allocated per part, and was copied once more into a chunk — the
// collector's biggest allocation under load (issue 27's profiles). Past the
// memory budget the rest goes through Write to the spill file.
func (s *spool) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for s.file == nil {
		used := int(s.mem % chunkSize)
		var fresh *[]byte // a chunk taken for this read
		if used == 0 {
			if *s.budget < chunkSize {
				break
			}
			if fresh = s.pool.get(); fresh == nil {
				break
			}
			*s.budget -= chunkSize
			s.chunks = append(s.chunks, fresh)
		}
		buf := (*s.chunks[len(s.chunks)-1])[used:]
		n, err := r.Read(buf)
		s.sha.Write(buf[:n])
		s.mem += int64(n)
		s.size += int64(n)
		total += int64(n)
		if fresh != nil && n == 0 {
			// nothing landed in the new chunk: give it back, so that chunk
			// i always holds bytes [i*chunkSize, (i+1)*chunkSize)
			s.chunks = s.chunks[:len(s.chunks)-1]
			s.pool.put(fresh)
			*s.budget += chunkSize
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	n, err := io.CopyBuffer(writeOnly{s}, r, make([]byte, 32<<10))
	return total + n, err
}

// writeOnly hides spool's ReadFrom from io.CopyBuffer (which would call it
// again) for the spill-file part.
type writeOnly struct{ io.Writer }

// checksum is the hex SHA-256 of everything written.
func (s *spool) checksum() string { return hex.EncodeToString(s.sha.Sum(nil)) }

// reader returns the content from the start. It is an io.ReadSeeker so the
// object store client can rewind it to retry a PUT.
func (s *spool) reader() io.ReadSeeker {
	if len(s.chunks) == 1 && s.file == nil {
		return bytes.NewReader((*s.chunks[0])[:s.mem])
	}
	return io.NewSectionReader(spoolReaderAt{s}, 0, s.size)
}

// close returns the chunks and budget and removes the spill file.
func (s *spool) close() error {
	*s.budget += int64(len(s.chunks)) * chunkSize
	for _, c := range s.chunks {
		s.pool.put(c)
	}
	s.chunks, s.mem = nil, 0
	if s.file == nil {
		return nil
	}
	err := errors.Join(s.file.Close(), os.Remove(s.file.Name()))
	s.file = nil
	return err
}

// spoolReaderAt reads the memory chunks then the spill file as one.
type spoolReaderAt struct{ s *spool }

func (r spoolReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for len(p) > 0 && off < r.s.mem {
		c := *r.s.chunks[off/chunkSize]
		end := min(int64(chunkSize), r.s.mem-off/chunkSize*chunkSize)
		k := copy(p, c[off%chunkSize:end])
		n += k
		p = p[k:]
		off += int64(k)
	}
	if len(p) == 0 {
		return n, nil
	}
	if r.s.file == nil {
		return n, io.EOF
	}
	k, err := r.s.file.ReadAt(p, off-r.s.mem)
	return n + k, err
}
