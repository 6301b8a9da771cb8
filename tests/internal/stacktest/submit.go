package stacktest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// PostReport posts one crash report to the collector at base
// (http://host:port) as a client does: the annotations, in sorted order so
// that the body is the same every run, and the dump as the
// upload_file_minidump part (none when dump is nil) of a
// multipart/form-data POST to /submit. It returns the crash id the
// collector gave, or an error unless the collector answered 200 with one.
func PostReport(ctx context.Context, client *http.Client, base string, annotations map[string]string, dump []byte) (string, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := w.WriteField(k, annotations[k]); err != nil {
			return "", err
		}
	}
	if dump != nil {
		fw, err := w.CreateFormFile("upload_file_minidump", "dump.dmp")
		if err != nil {
			return "", err
		}
		if _, err := fw.Write(dump); err != nil {
			return "", err
		}
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/submit", &body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	text := strings.TrimSpace(string(out))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(text, "CrashID=bp-") {
		return "", fmt.Errorf("collector answered %d %s", resp.StatusCode, text)
	}
	return strings.TrimPrefix(text, "CrashID=bp-"), nil
}

// Submit is PostReport for a test: it fails the test unless the collector
// accepted the report, and returns the crash id.
func Submit(t testing.TB, base string, annotations map[string]string, dump []byte) string {
	t.Helper()
	id, err := PostReport(context.Background(), http.DefaultClient, base, annotations, dump)
	require.NoError(t, err)
	return id
}
