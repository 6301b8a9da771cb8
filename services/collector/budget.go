package collector

import (
	"errors"
	"sync/atomic"
)

// errOverloaded: a process-wide memory budget is spent; the request is
// refused with 503 overloaded (and Retry-After) rather than grow memory.
var errOverloaded = errors.New("overloaded")

// budget is a process-wide byte budget (annotation memory): requests take
// bytes as data arrives and give them back when they end.
type budget struct {
	limit int64
	used  atomic.Int64
}

// take reserves n bytes; false (and nothing taken) past the limit.
func (b *budget) take(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *budget) give(n int64) { b.used.Add(-n) }
