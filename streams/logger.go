package streams

import (
	"fmt"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kgoLogger routes franz-go's logs into zerolog. franz-go's info level
// reports every connection and group event, so it is logged at zerolog's
// debug level; warnings and errors keep theirs.
type kgoLogger struct{ l zerolog.Logger }

func newKgoLogger(l zerolog.Logger) kgo.Logger {
	return kgoLogger{l.With().Str("component", "kafka").Logger()}
}

// Level implements kgo.Logger from the zerolog logger's level.
func (k kgoLogger) Level() kgo.LogLevel {
	switch lvl := k.l.GetLevel(); {
	case lvl <= zerolog.DebugLevel:
		return kgo.LogLevelInfo
	case lvl <= zerolog.WarnLevel:
		return kgo.LogLevelWarn
	case lvl <= zerolog.ErrorLevel:
		return kgo.LogLevelError
	}
	return kgo.LogLevelNone
}

// Log implements kgo.Logger.
func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	var e *zerolog.Event
	switch level {
	case kgo.LogLevelError:
		e = k.l.Error()
	case kgo.LogLevelWarn:
		e = k.l.Warn()
	default:
		e = k.l.Debug()
	}
	for i := 0; i+1 < len(keyvals); i += 2 {
		key, ok := keyvals[i].(string)
		if !ok {
			key = "key"
		}
		switch v := keyvals[i+1].(type) {
		case error:
			// Interface would render an error struct as {}.
			e = e.AnErr(key, v)
		case fmt.Stringer:
			e = e.Str(key, v.String())
		default:
			e = e.Interface(key, v)
		}
	}
	e.Msg(msg)
}
