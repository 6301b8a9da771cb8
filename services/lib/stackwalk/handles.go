package stackwalk

import (
	"encoding/json"
	"unicode/utf16"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// JSONHandle is one entry of the handle data stream (open file descriptors
// on Linux, handles on Windows).
type JSONHandle struct {
	Handle     uint64  `json:"handle"`
	ObjectName *string `json:"object_name"`
	TypeName   *string `json:"type_name"`
}

// maxHandleString bounds one handle name, in bytes.
const maxHandleString = 64 << 10

// handles decodes MINIDUMP_HANDLE_DATA_STREAM (which the reader keeps raw)
// into minidump-stackwalk's "handles" list; null when absent or unreadable.
func handles(d *minidump.Dump) json.RawMessage {
	p, ok := d.Stream(minidump.HandleDataStream)
	if !ok || len(p) < 12 {
		return jsonNull()
	}
	o := d.ByteOrder
	hdr, size, n := o.Uint32(p), o.Uint32(p[4:]), o.Uint32(p[8:])
	if (size != 32 && size != 40) || uint64(hdr) > uint64(len(p)) || uint64(n)*uint64(size) > uint64(len(p))-uint64(hdr) {
		return jsonNull()
	}
	data := d.Data()
	str := func(rva uint32) *string {
		if rva == 0 || uint64(rva)+4 > uint64(len(data)) {
			return nil
		}
		l := o.Uint32(data[rva:])
		if l > maxHandleString || uint64(rva)+4+uint64(l) > uint64(len(data)) {
			return nil
		}
		b := data[rva+4 : uint64(rva)+4+uint64(l)]
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = o.Uint16(b[2*i:])
		}
		s := string(utf16.Decode(u))
		return &s
	}
	out := make([]JSONHandle, 0, n)
	for i := uint32(0); i < n; i++ {
		e := p[hdr+i*size:]
		out = append(out, JSONHandle{Handle: o.Uint64(e), TypeName: str(o.Uint32(e[8:])), ObjectName: str(o.Uint32(e[12:]))})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return jsonNull()
	}
	return b
}
