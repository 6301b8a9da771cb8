package synth

import "encoding/binary"

// Stack assembles stack memory word by word for stack-walker tests: each
// append returns the address it was written at, so frames can refer to
// each other (saved frame pointers, return addresses) without hand-counted
// offsets.
//
//	s := synth.NewStack(0x7000, 8)
//	s.Pad(16)                  // callee locals
//	fp := s.Word(0)            // saved frame pointer, patched below
//	s.Word(0x401234)           // return address
//	caller := s.Word(0)
//	s.Set(fp, caller)
//	thread := synth.Thread{ID: 1, Stack: s.Memory(), Context: &ctx}
type Stack struct {
	base    uint64
	ptrSize int
	buf     []byte
}

// NewStack starts a stack at base with 4- or 8-byte words.
func NewStack(base uint64, ptrSize int) *Stack { return &Stack{base: base, ptrSize: ptrSize} }

// Addr is the address the next append writes to.
func (s *Stack) Addr() uint64 { return s.base + uint64(len(s.buf)) }

// Word appends a pointer-sized little-endian value and returns its address.
func (s *Stack) Word(v uint64) uint64 {
	at := s.Addr()
	if s.ptrSize == 4 {
		s.buf = binary.LittleEndian.AppendUint32(s.buf, uint32(v))
	} else {
		s.buf = binary.LittleEndian.AppendUint64(s.buf, v)
	}
	return at
}

// Pad appends n zero bytes and returns the address of the first.
func (s *Stack) Pad(n int) uint64 {
	at := s.Addr()
	s.buf = append(s.buf, make([]byte, n)...)
	return at
}

// Set overwrites the word at addr (which must already be written).
func (s *Stack) Set(addr, v uint64) {
	off := addr - s.base
	if s.ptrSize == 4 {
		binary.LittleEndian.PutUint32(s.buf[off:], uint32(v))
	} else {
		binary.LittleEndian.PutUint64(s.buf[off:], v)
	}
}

// Memory is the assembled region, for Thread.Stack or AddMemory.
func (s *Stack) Memory() Memory { return Memory{Base: s.base, Data: s.buf} }
