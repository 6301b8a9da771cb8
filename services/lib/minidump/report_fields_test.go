package minidump_test

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
)

// TestReportSoftErrorsStream: the soft errors stream is written by the
// crashing process, so the report keeps it only when it is valid UTF-8
// JSON (as minidump-stackwalk, which drops it otherwise), re-encoded with
// sorted keys.
func TestReportSoftErrorsStream(t *testing.T) {
	tests := []struct {
		name   string
		stream []byte
		want   string // "" = null
	}{
		{"valid", []byte(`{"z": [1, 2.5], "a": {"y": "\u00e9", "b": null}}`), `{"a":{"b":null,"y":"é"},"z":[1,2.5]}`},
		{"invalid utf-8 inside a string", []byte("{\"a\": \"\xff\xfe\"}"), ""},
		{"not json", []byte(`{"a": `), ""},
		{"empty", []byte{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := synth.New(minidump.ArchAMD64, synth.Linux)
			b.AddStream(minidump.MozSoftErrorsStream, tc.stream)
			d, err := minidump.Parse(b.Bytes())
			require.NoError(t, err)
			out, err := json.Marshal(d.Report())
			require.NoError(t, err)
			assert.True(t, utf8.Valid(out))
			var r struct {
				SoftErrors json.RawMessage `json:"soft_errors"`
			}
			require.NoError(t, json.Unmarshal(out, &r))
			if tc.want == "" {
				assert.Equal(t, "null", string(r.SoftErrors))
			} else {
				assert.Equal(t, tc.want, string(r.SoftErrors))
			}
		})
	}
}

// TestReportVendorLatin1: the x86 vendor id is bytes; each is one Latin-1
// character, as minidump-stackwalk prints it, never U+FFFD.
func TestReportVendorLatin1(t *testing.T) {
	b := synth.New(minidump.ArchX86, synth.Windows)
	s := &synth.SystemInfo{PlatformID: synth.Windows, ProcessorArchitecture: minidump.ProcessorX86, ProcessorLevel: 6, ProcessorRevision: 0x0102}
	copy(s.CPU[:], "Genu\xe9\xffIntel\x00")
	b.SetSystemInfo(s)
	d, err := minidump.Parse(b.Bytes())
	require.NoError(t, err)
	info := d.Report().SystemInfo.CPUInfo
	require.NotNil(t, info)
	assert.Equal(t, "Genuéÿ"+"Intel\x00 family 6 model 1 stepping 2", *info)
}

// TestReportMainModuleAlwaysZero: minidump-stackwalk prints main_module 0
// even for a dump without modules.
func TestReportMainModuleAlwaysZero(t *testing.T) {
	d, err := minidump.Parse(synth.New(minidump.ArchAMD64, synth.Linux).Bytes())
	require.NoError(t, err)
	require.NotNil(t, d.Report().MainModule)
	assert.Equal(t, 0, *d.Report().MainModule)
}
