package hub

import "strings"

// skipPrefix starts each error that runtime.BroadcastWith joins, with
// BroadcastOptions.Errors, for a connection it skipped:
// "skipped broadcast to <conn id>: <cause>".
const skipPrefix = "skipped broadcast to "

// broadcastSkips reads the error of runtime.BroadcastWith (called with
// BroadcastOptions.Errors): it returns why each skipped connection was
// skipped, by connection id, and ok. ok is false when err is not a list
// of skips (the message could not be sent at all: a bad type, invalid
// UTF-8, or ctx had ended before the broadcast started).
//
// TODO(runtime.Broadcast): the runtime reports skipped connections only
// through the text of these errors, so the Hub finds the slow ones by
// their id in the text. Once runtime.BroadcastResult (or an option
// callback) names the skipped *Conn values, use that instead;
// TestSlowClientSkippedThenDisconnected pins the current format.
func broadcastSkips(err error) (skips map[string]error, ok bool) {
	if err == nil {
		return nil, true
	}
	joined, isJoin := err.(interface{ Unwrap() []error })
	if !isJoin {
		return nil, false
	}
	for _, e := range joined.Unwrap() {
		rest, found := strings.CutPrefix(e.Error(), skipPrefix)
		if !found {
			continue // ctx ended in the middle of the broadcast
		}
		id, _, found := strings.Cut(rest, ": ")
		if !found {
			continue
		}
		if skips == nil {
			skips = make(map[string]error)
		}
		skips[id] = e
	}
	return skips, true
}
