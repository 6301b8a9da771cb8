package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runSignatureCmd(t *testing.T, stdin string, vars map[string]string, args ...string) (string, string, error) {
	t.Helper()
	return runCommand(signatureCommand(), stdin, vars, args...)
}

func TestSignatureCommandSingle(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "testdata", "siggen", "windows-wait-frames.crash_data.json"))
	if err != nil {
		t.Skip("shared test data not found: ", err)
	}
	out, _, err := runSignatureCmd(t, string(data), nil, "--verbose")
	require.NoError(t, err)
	var r struct {
		Signature, ProtoSignature string
		Notes                     []string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	assert.Equal(t, "MsgWaitForMultipleObjects | F_1152915508_____", r.Signature)
	assert.Contains(t, out, `"proto_signature": "NtWaitForMultipleObjects | `)
	assert.Contains(t, out, `"notes": []`)
}

func TestSignatureCommandBatch(t *testing.T) {
	in := `{"threads": [{"frames": [{"function": "a(int)"}]}]}` + "\n" +
		"not json\n" +
		"\n" +
		`{"json_dump": {"threads": [{"frames": [{"module": "m.dll"}, {"function": "<b>"}]}]}}` // no final newline
	out, _, err := runSignatureCmd(t, in, nil, "--batch")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 4, out)
	assert.JSONEq(t, `{"signature": "a", "proto_signature": "a", "notes": []}`, lines[0])
	assert.Contains(t, lines[1], `"error":"line 2: crash data: offset 0: invalid literal`)
	assert.Contains(t, lines[2], `"error":"line 3: crash data: unexpected end of JSON input"`)
	assert.JSONEq(t, `{"signature": "m.dll | <T>", "proto_signature": "m.dll | <T>", "notes": []}`, lines[3])
}

func TestSignatureCommandBatchKeepsOrder(t *testing.T) {
	var in strings.Builder
	const n = 3*batchChunk + 7
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, `{"threads": [{"frames": [{"function": "f%d"}]}]}`+"\n", i)
	}
	for _, workers := range []string{"1", "3"} {
		out, _, err := runSignatureCmd(t, in.String(), nil, "--batch", "--workers", workers)
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		require.Len(t, lines, n)
		for i, l := range lines {
			require.Contains(t, l, fmt.Sprintf(`"signature":"f%d"`, i))
		}
	}
}

func TestSignatureCommandListDir(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"irrelevant_signature_re.txt": "skip\n", "prefix_signature_re.txt": "keep\n",
		"signature_sentinels.txt": "", "signatures_with_line_numbers_re.txt": "js_Interpret\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	in := `{"threads": [{"frames": [{"function": "skip"}, {"function": "keep"}, {"function": "last"}, {"function": "x"}]}]}`
	out, _, err := runSignatureCmd(t, in, nil, "--signature-list-dir", dir)
	require.NoError(t, err)
	assert.Contains(t, out, `"signature": "keep | last"`)

	out, _, err = runSignatureCmd(t, in, map[string]string{"CRASHSTREAM_SIGNATURE_LIST_DIR": dir})
	require.NoError(t, err)
	assert.Contains(t, out, `"signature": "keep | last"`, "the environment sets the list directory too")
}

func TestSignatureCommandErrors(t *testing.T) {
	_, _, err := runSignatureCmd(t, "{}", nil, "--help")
	assert.ErrorIs(t, err, flag.ErrHelp)
	_, stderr, err := runSignatureCmd(t, "{}", nil, "--ruleset", "nope")
	assert.ErrorIs(t, err, errUsage)
	assert.Contains(t, stderr, "-ruleset")
	_, stderr, err = runSignatureCmd(t, "{}", nil, "--signature-list-dir", "/nonexistent")
	assert.ErrorIs(t, err, errUsage)
	assert.Contains(t, stderr, "-signature-list-dir: ")
	_, _, err = runSignatureCmd(t, "[1]", nil)
	assert.ErrorContains(t, err, "want a JSON object")
	_, _, err = runSignatureCmd(t, "{}", nil, "extra")
	assert.ErrorIs(t, err, errUsage)
}

func TestReadLine(t *testing.T) {
	in := "short\n" + strings.Repeat("x", 100) + "\nlast"
	r := bufioReader(in)
	line, err := readLine(r, 10)
	require.NoError(t, err)
	assert.Equal(t, "short", string(line))
	_, err = readLine(r, 10)
	assert.ErrorIs(t, err, errLineTooLong)
	line, err = readLine(r, 10)
	assert.Equal(t, "last", string(line))
	assert.ErrorContains(t, err, "EOF")
	line, err = readLine(r, 10)
	assert.Nil(t, line)
	assert.ErrorContains(t, err, "EOF")
}

// bufioReader uses the smallest buffer so that long lines span reads.
func bufioReader(s string) *bufio.Reader { return bufio.NewReaderSize(strings.NewReader(s), 16) }
