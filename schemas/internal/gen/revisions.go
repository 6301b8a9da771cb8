package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/linkedin/goavro/v2"
)

// revision is one entry of avro/revisions.json, the ledger of every schema
// revision with its schema id. Ids are forever: records in Kafka carry them,
// so the ledger only grows.
type revision struct {
	ID       uint32 `json:"id"`
	File     string `json:"file"`
	Revision int    `json:"revision"`
	// Canonical is the SHA-256 of the revision's Parsing Canonical Form:
	// what the schema means, without docs, defaults or properties.
	Canonical string `json:"canonical_sha256"`
}

// historyPath is where the text of revision r of file is kept, relative
// to avro/.
func historyPath(file string, r int) string {
	return fmt.Sprintf("history/%s.r%d.avsc", strings.TrimSuffix(file, ".avsc"), r)
}

func canonicalHash(text []byte) (string, error) {
	c, err := goavro.NewCodec(string(text))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(c.CanonicalSchema()))
	return hex.EncodeToString(sum[:]), nil
}

// revise brings the ledger and avro/history up to date with the current
// schema texts (by file name) and adds their output to out. A schema whose
// canonical form differs from its latest revision gets a new revision with
// the next id, and its text is kept as that revision's history copy; a
// schema whose docs or properties changed refreshes the copy of its latest
// revision (same canonical form, same id). The previous revision's copy is
// never touched, so the compatibility test checks the new text against it.
func revise(dir string, current map[string][]byte, order []string, out map[string][]byte) error {
	ledger, err := readLedger(dir)
	if err != nil {
		return err
	}
	var maxID uint32
	latest := map[string]int{} // file -> index in ledger
	for i, r := range ledger {
		maxID = max(maxID, r.ID)
		if j, ok := latest[r.File]; !ok || ledger[j].Revision < r.Revision {
			latest[r.File] = i
		}
	}
	for _, file := range order {
		text := current[file]
		hash, err := canonicalHash(text)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		i, ok := latest[file]
		if !ok || ledger[i].Canonical != hash {
			rev := 1
			if ok {
				rev = ledger[i].Revision + 1
			}
			maxID++
			ledger = append(ledger, revision{ID: maxID, File: file, Revision: rev, Canonical: hash})
			i = len(ledger) - 1
		}
		out[filepath.Join("avro", historyPath(file, ledger[i].Revision))] = text
	}
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, r := range ledger {
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		b.WriteString("  ")
		b.Write(line)
		if i < len(ledger)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	out["avro/revisions.json"] = b.Bytes()
	return nil
}

func readLedger(dir string) ([]revision, error) {
	b, err := os.ReadFile(filepath.Join(dir, "avro", "revisions.json"))
	if err != nil {
		return nil, err
	}
	var ledger []revision
	if err := json.Unmarshal(b, &ledger); err != nil {
		return nil, fmt.Errorf("avro/revisions.json: %w", err)
	}
	seen := map[uint32]bool{}
	for _, r := range ledger {
		if r.ID == 0 || seen[r.ID] || r.File == "" || r.Revision <= 0 || r.Canonical == "" {
			return nil, fmt.Errorf("avro/revisions.json: bad or repeated entry %+v", r)
		}
		seen[r.ID] = true
	}
	return ledger, nil
}
