package symbols

import "sort"

// lineChunkBits sizes the chunks of a lineStore (64Ki records, 1 MiB).
const lineChunkBits = 16

// lineStore holds line records in fixed-size chunks instead of one slice:
// line records are most of a large symbol file, and growing one slice by
// doubling would hold the old and the new array at once, more than
// doubling peak memory during a parse.
type lineStore struct {
	chunks [][]lineRec
	n      uint32
}

func (s *lineStore) len() uint32 { return s.n }

func (s *lineStore) at(i uint32) *lineRec {
	return &s.chunks[i>>lineChunkBits][i&(1<<lineChunkBits-1)]
}

func (s *lineStore) append(l lineRec) {
	c := int(s.n >> lineChunkBits)
	if c == len(s.chunks) {
		// Start small (most files are small); append grows a chunk up to
		// its fixed length, which bounds any copy to one chunk.
		size := 1 << lineChunkBits
		if c == 0 {
			size = 256
		}
		s.chunks = append(s.chunks, make([]lineRec, 0, size))
	}
	s.chunks[c] = append(s.chunks[c], l)
	s.n++
}

// truncate drops the records from n on.
func (s *lineStore) truncate(n uint32) {
	for s.n > n {
		c := int((s.n - 1) >> lineChunkBits)
		keep := int(n) - c<<lineChunkBits
		if keep <= 0 {
			s.chunks = s.chunks[:c]
			s.n = uint32(c) << lineChunkBits
			continue
		}
		s.chunks[c] = s.chunks[c][:keep]
		s.n = n
	}
}

// lineRange is the records [lo, hi) of one function, sortable in place.
type lineRange struct {
	s      *lineStore
	lo, hi uint32
}

func (r lineRange) Len() int { return int(r.hi - r.lo) }
func (r lineRange) Less(i, j int) bool {
	a, b := r.s.at(r.lo+uint32(i)), r.s.at(r.lo+uint32(j))
	if a.off != b.off {
		return a.off < b.off
	}
	return a.size < b.size
}
func (r lineRange) Swap(i, j int) {
	a, b := r.s.at(r.lo+uint32(i)), r.s.at(r.lo+uint32(j))
	*a, *b = *b, *a
}

// find returns the record of the range covering off.
func (r lineRange) find(off uint32) (*lineRec, bool) {
	i := sort.Search(r.Len(), func(i int) bool { return r.s.at(r.lo+uint32(i)).off > off }) - 1
	if i < 0 {
		return nil, false
	}
	l := r.s.at(r.lo + uint32(i))
	if off-l.off >= l.size {
		return nil, false
	}
	return l, true
}
