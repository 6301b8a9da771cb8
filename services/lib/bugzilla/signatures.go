package bugzilla

import (
	"sort"
	"strings"
)

// ParseSignatures returns the signatures a cf_crash_signature field lists,
// as Socorro's bugassociations job reads them: the text is split at each
// "[@", the part before the first is ignored, and each later part's
// signature runs to its last "]" with surrounding whitespace trimmed. A part
// without a closing "]" or with an empty signature is malformed: it is
// skipped and counted. The signatures are sorted and unique.
func ParseSignatures(field string) (sigs []string, malformed int) {
	parts := strings.Split(field, "[@")
	seen := map[string]bool{}
	for _, part := range parts[1:] {
		end := strings.LastIndex(part, "]")
		if end < 0 {
			malformed++
			continue
		}
		sig := strings.TrimSpace(part[:end])
		if sig == "" {
			malformed++
			continue
		}
		if !seen[sig] {
			seen[sig] = true
			sigs = append(sigs, sig)
		}
	}
	sort.Strings(sigs)
	return sigs, malformed
}
