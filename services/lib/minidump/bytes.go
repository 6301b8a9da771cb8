package minidump

import (
	"encoding/binary"
	"unicode/utf16"
)

// cursor reads fixed-layout records field by field. Reads past the end
// return zero and set bad, so a struct parser checks once at the end instead
// of after every field.
type cursor struct {
	b   []byte
	o   binary.ByteOrder
	off int
	bad bool
}

func (c *cursor) take(n int) []byte {
	if c.bad || n < 0 || c.off > len(c.b)-n {
		c.bad = true
		return nil
	}
	p := c.b[c.off : c.off+n]
	c.off += n
	return p
}

func (c *cursor) skip(n int) { c.take(n) }

func (c *cursor) u8() uint8 {
	p := c.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (c *cursor) u16() uint16 {
	p := c.take(2)
	if p == nil {
		return 0
	}
	return c.o.Uint16(p)
}

func (c *cursor) u32() uint32 {
	p := c.take(4)
	if p == nil {
		return 0
	}
	return c.o.Uint32(p)
}

func (c *cursor) u64() uint64 {
	p := c.take(8)
	if p == nil {
		return 0
	}
	return c.o.Uint64(p)
}

// guid reads a Windows GUID {u32,u16,u16,[8]u8} into its canonical 16-byte
// big-endian-group form, so formatting needs no byte order afterwards.
func (c *cursor) guid() GUID {
	var g GUID
	d1, d2, d3 := c.u32(), c.u16(), c.u16()
	binary.BigEndian.PutUint32(g[0:4], d1)
	binary.BigEndian.PutUint16(g[4:6], d2)
	binary.BigEndian.PutUint16(g[6:8], d3)
	if p := c.take(8); p != nil {
		copy(g[8:], p)
	}
	return g
}

// location is a MINIDUMP_LOCATION_DESCRIPTOR.
type location struct {
	size uint32
	rva  uint32
}

func (c *cursor) loc() location {
	s := c.u32()
	return location{size: s, rva: c.u32()}
}

// maxString caps every string read from a dump (bytes of UTF-16).
const maxString = 64 << 10

// decodeUTF16 turns UTF-16 code units in byte order o into a string;
// unpaired surrogates become U+FFFD, as in rust-minidump's lossy decoding.
func decodeUTF16(p []byte, o binary.ByteOrder) string {
	n := len(p) / 2
	u := make([]uint16, n)
	for i := range n {
		u[i] = o.Uint16(p[2*i:])
	}
	return string(utf16.Decode(u))
}

// cString returns p up to its first NUL.
func cString(p []byte) string {
	for i, b := range p {
		if b == 0 {
			return string(p[:i])
		}
	}
	return string(p)
}
