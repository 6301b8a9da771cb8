package streams

import (
	"bytes"
	"errors"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestKgoLoggerRendersErrors(t *testing.T) {
	var buf bytes.Buffer
	l := newKgoLogger(zerolog.New(&buf))
	l.Log(kgo.LogLevelError, "group manage loop errored", "err", errors.New("broker down"), "group", "processor")
	assert.Contains(t, buf.String(), `"err":"broker down"`)
	assert.Contains(t, buf.String(), `"group":"processor"`)
}
