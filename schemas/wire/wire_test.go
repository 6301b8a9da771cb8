package wire

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAppendSplit(t *testing.T) {
	tests := []struct {
		name    string
		id      uint32
		payload []byte
		want    []byte
	}{
		{"small id", 3, []byte{0x02, 0x61}, []byte{0, 0, 0, 0, 3, 0x02, 0x61}},
		{"big id", 0x01020304, nil, []byte{0, 1, 2, 3, 4}},
		{"max id", 0xffffffff, []byte{9}, []byte{0, 0xff, 0xff, 0xff, 0xff, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Append(nil, tt.id, tt.payload)
			assert.Equal(t, tt.want, b)
			id, p, err := Split(b)
			require.NoError(t, err)
			assert.Equal(t, tt.id, id)
			assert.Equal(t, len(tt.payload), len(p))
		})
	}
}

func TestSplitErrors(t *testing.T) {
	for _, in := range [][]byte{nil, {0}, {0, 0, 0, 1}, {1, 0, 0, 0, 1, 2}, []byte("{\"json\":1}")} {
		_, _, err := Split(in)
		assert.ErrorIs(t, err, ErrNotFramed, "%q", in)
	}
}

func FuzzSplit(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 2})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, p, err := Split(b)
		if err != nil {
			return
		}
		assert.Equal(t, b, Append(nil, id, p))
	})
}
