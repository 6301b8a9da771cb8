package minidump

// Windows exception codes with special crash-address rules.
const (
	ExceptionAccessViolation = 0xc0000005
	ExceptionInPageError     = 0xc0000006
)

// CrashReason names an exception the way minidump-stackwalk does, given
// the system_info.os name.
func CrashReason(os string, code, flags uint32, params []uint64) string {
	return crashReason(os, code, flags, params)
}

func crashReason(os string, code, flags uint32, params []uint64) string {
	return fmtHex32(code)
}

func fmtHex32(v uint32) string {
	const digits = "0123456789abcdef"
	b := []byte("0x00000000")
	for i := 9; i >= 2; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b)
}
