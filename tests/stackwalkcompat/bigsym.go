package stackwalkcompat

import (
	"bufio"
	"fmt"
	"io"
)

// BigSymID is the debug id of the generated symbol file.
const BigSymID = "0123456789ABCDEF0123456789ABCDEF0"

// WriteBigSym writes a synthetic .sym file of about size bytes shaped like
// a large real one (Firefox's libxul): many FILE records, FUNCs with line
// records and inline records, PUBLICs, and STACK CFI for every function.
// It is deterministic. It returns the module-relative address of a
// function in the middle, for lookups.
func WriteBigSym(w io.Writer, size int64) (mid uint64, err error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &countWriter{w: bw}
	fmt.Fprintf(cw, "MODULE Linux x86_64 %s bigmodule.so\n", BigSymID)
	fmt.Fprintf(cw, "INFO CODE_ID 67452301EFCDAB8967452301EFCDAB89 bigmodule.so\n")
	const files = 20000
	for i := 0; i < files; i++ {
		fmt.Fprintf(cw, "FILE %d /builds/worker/checkouts/gecko/dom/component%d/src/SourceFile%d.cpp\n", i, i%500, i)
	}
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(cw, "INLINE_ORIGIN %d mozilla::detail::InlineHelper%d<mozilla::dom::Thing%d>::operator()(int) const\n", i, i, i%97)
	}
	addr := uint64(0x10000)
	rng := uint64(0x9e3779b97f4a7c15)
	next := func(n uint64) uint64 {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return rng % n
	}
	funcs := 0
	for cw.n < size {
		fsize := 0x40 + next(0x400)
		fmt.Fprintf(cw, "FUNC %x %x 0 mozilla::dom::Component%d::Method%d(nsISupports*, unsigned int, mozilla::ErrorResult&)\n",
			addr, fsize, funcs%4000, funcs)
		if funcs%3 == 0 {
			fmt.Fprintf(cw, "INLINE 0 %d %d %d %x %x\n", 10+next(900), next(files), next(5000), addr+8, fsize/2)
			fmt.Fprintf(cw, "INLINE 1 %d %d %d %x %x\n", 10+next(900), next(files), next(5000), addr+12, fsize/4)
		}
		file := next(files)
		line := 1 + next(3000)
		for off := uint64(0); off < fsize; {
			n := 1 + next(12)
			if off+n > fsize {
				n = fsize - off
			}
			fmt.Fprintf(cw, "%x %x %d %d\n", addr+off, n, line, file)
			line += next(3)
			off += n
		}
		if funcs%7 == 0 {
			fmt.Fprintf(cw, "PUBLIC %x 0 _ZN7mozilla3dom9Component%dC2Ev\n", addr, funcs)
		}
		fmt.Fprintf(cw, "STACK CFI INIT %x %x .cfa: $rsp 8 + .ra: .cfa -8 + ^\n", addr, fsize)
		fmt.Fprintf(cw, "STACK CFI %x .cfa: $rsp 16 + $rbp: .cfa -16 + ^\n", addr+1)
		fmt.Fprintf(cw, "STACK CFI %x .cfa: $rbp 16 +\n", addr+4)
		if funcs%2 == 0 {
			fmt.Fprintf(cw, "STACK CFI %x $rbx: .cfa -24 + ^ $r12: .cfa -32 + ^\n", addr+8)
		}
		if cw.n < size/2 {
			mid = addr + fsize/2
		}
		addr += fsize + next(16)
		funcs++
	}
	if cw.err != nil {
		return 0, cw.err
	}
	return mid, bw.Flush()
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
