package collector

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// NewCrashID makes an Antenna-format crash id: a random uuid4 text whose
// 7th-from-last character is the throttle result digit and whose last six
// characters are the UTC date yymmdd (so storage keys and retention can be
// derived from the id alone). rnd is crypto/rand.Reader in production.
func NewCrashID(rnd io.Reader, now time.Time, result Result) (string, error) {
	if result < Accept || result > FakeAccept {
		return "", fmt.Errorf("crash id: throttle result %d has no digit", result)
	}
	var b [16]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("crash id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:29]) + string(rune('0'+result)) + now.UTC().Format("060102"), nil
}

// newCrashID is NewCrashID with the system's random source.
func newCrashID(now time.Time, result Result) (string, error) {
	return NewCrashID(rand.Reader, now, result)
}
