package hub

import (
	"errors"

	"github.com/tetherws/tether/runtime"
)

// broadcastSkips reads the error of runtime.BroadcastWith (called with
// BroadcastOptions.Errors): it returns why each skipped connection was
// skipped, by connection id, and ok. ok is false when err is not a list
// of skips (the message could not be sent at all: a bad type, invalid
// UTF-8, or ctx had ended before the broadcast started).
func broadcastSkips(err error) (skips map[string]error, ok bool) {
	if err == nil {
		return nil, true
	}
	joined, isJoin := err.(interface{ Unwrap() []error })
	if !isJoin {
		return nil, false
	}
	for _, e := range joined.Unwrap() {
		var se *runtime.SkipError
		if !errors.As(e, &se) {
			continue // ctx ended in the middle of the broadcast
		}
		if skips == nil {
			skips = make(map[string]error)
		}
		skips[se.Conn.ID()] = e
	}
	return skips, true
}
