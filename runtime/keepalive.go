package runtime

import (
	"crypto/rand"
	"errors"
	"time"

	"github.com/tetherws/tether/keepalive"
	"github.com/tetherws/tether/ws"
)

// keeper is the keepalive of a connection. It follows the schedule of
// keepalive.Run (Python's: sleep Interval minus the last measured latency,
// send a ping, wait up to Timeout for its pong and fail the connection
// with 1011 "keepalive ping timeout" when it does not come; with no
// Timeout, ping every Interval; in Heartbeat mode, an unsolicited pong
// every Interval), but it is driven by one timer at a time instead of a
// goroutine that sleeps, so that an idle connection has no keepalive
// goroutine: the timer's callback sends the ping, and the reader, when
// the pong arrives, arms the next sleep (receivePong → kaAckLocked).
//
// Each arming gets a sequence number; a callback that fires for an older
// one (a timer stopped too late) does nothing. With an injected clock
// (Options.KeepaliveClock, for tests), whose timers are channels, a
// short-lived goroutine waits on each timer. The state is under c.pingMu.
type keeper struct {
	pol   keepalive.Policy
	phase kaPhase
	seq   uint64          // the current arming
	timer *time.Timer     // real time
	ftime keepalive.Timer // the injected clock's timer
	fstop chan struct{}   // stops the goroutine waiting on ftime
}

type kaPhase uint8

const (
	kaOff   kaPhase = iota
	kaSleep         // waiting to send the next ping
	kaWait          // waiting for the pong of the last ping
)

// startKeepalive starts the schedule: the first ping goes out after the
// full Interval.
func (c *Conn) startKeepalive() {
	pol := keepalive.Policy{Interval: c.opts.PingInterval, Timeout: c.opts.PingTimeout, Pong: c.opts.Heartbeat}
	if pol.Interval <= 0 {
		return
	}
	c.pingMu.Lock()
	c.ka.pol = pol
	c.ka.phase = kaSleep
	c.armLocked(pol.Interval)
	c.pingMu.Unlock()
}

// stopKeepalive stops the schedule for good.
func (c *Conn) stopKeepalive() {
	c.pingMu.Lock()
	c.ka.phase = kaOff
	c.disarmLocked()
	c.pingMu.Unlock()
}

// armLocked makes kaFire run in d (at once for d <= 0, without a timer of
// the injected clock, as keepalive.Run does not sleep then).
func (c *Conn) armLocked(d time.Duration) {
	c.disarmLocked()
	c.ka.seq++
	seq := c.ka.seq
	clock := c.opts.KeepaliveClock
	if clock == nil {
		c.ka.timer = time.AfterFunc(max(d, 0), func() { c.kaFire(seq) })
		return
	}
	stop := make(chan struct{})
	c.ka.fstop = stop
	var fired <-chan time.Time
	if d > 0 {
		c.ka.ftime = clock.NewTimer(d)
		fired = c.ka.ftime.C()
	} else {
		now := make(chan time.Time, 1)
		now <- time.Time{}
		fired = now
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case <-fired:
			c.kaFire(seq)
		case <-stop:
		}
	}()
}

func (c *Conn) disarmLocked() {
	if c.ka.timer != nil {
		c.ka.timer.Stop()
		c.ka.timer = nil
	}
	if c.ka.ftime != nil {
		c.ka.ftime.Stop()
		c.ka.ftime = nil
	}
	if c.ka.fstop != nil {
		close(c.ka.fstop)
		c.ka.fstop = nil
	}
}

// kaFire runs when the timer of arming seq fires: a ping is due, or its
// pong is late.
func (c *Conn) kaFire(seq uint64) {
	c.pingMu.Lock()
	if c.ka.phase == kaOff || seq != c.ka.seq {
		c.pingMu.Unlock()
		return
	}
	if c.ka.phase == kaWait {
		c.ka.phase = kaOff
		c.pingMu.Unlock()
		c.log.Debug("- timed out waiting for keepalive pong")
		c.fail(ws.CloseInternalError, "keepalive ping timeout")
		return
	}
	if c.ka.pol.Pong {
		c.armLocked(c.ka.pol.Interval)
		c.pingMu.Unlock()
		if err := c.Pong(nil); err != nil {
			c.kaFailed(err)
		}
		return
	}
	// Register the ping and arm the pong wait before the ping goes out:
	// the pong can arrive before queueControl returns.
	payload := c.pingPayloadLocked()
	c.pings = append(c.pings, pendingPing{payload: string(payload[:]), sent: time.Now()})
	if c.ka.pol.Timeout > 0 {
		c.ka.phase = kaWait
		c.armLocked(c.ka.pol.Timeout)
	} else {
		c.armLocked(c.ka.pol.Interval)
	}
	c.pingMu.Unlock()
	if err := c.queueControl(ws.OpPing, payload[:]); err != nil {
		c.forgetPayload(string(payload[:]))
		c.kaFailed(err)
	}
}

// kaAckLocked takes the latency of the keepalive ping a pong answered:
// the next ping goes out Interval after this one was sent.
func (c *Conn) kaAckLocked(l time.Duration) {
	if c.ka.phase != kaWait {
		return // no pong wait (no Timeout), or the keepalive stopped
	}
	c.ka.phase = kaSleep
	c.armLocked(c.ka.pol.Interval - l)
}

// kaFailed stops the keepalive after a ping or pong could not be sent.
func (c *Conn) kaFailed(err error) {
	c.pingMu.Lock()
	c.ka.phase = kaOff
	c.disarmLocked()
	c.pingMu.Unlock()
	if !errors.Is(err, ws.ErrClosed) {
		c.log.Error("keepalive ping failed", "err", err)
	}
}

// pingPayloadLocked picks 4 random bytes not used by a pending ping.
func (c *Conn) pingPayloadLocked() [4]byte {
	for {
		var b [4]byte
		_, _ = rand.Read(b[:])
		if !c.pendingLocked(string(b[:])) {
			return b
		}
	}
}

// forgetPayload drops the pending ping with this payload.
func (c *Conn) forgetPayload(payload string) {
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	for i, p := range c.pings {
		if p.payload == payload {
			c.pings = append(c.pings[:i], c.pings[i+1:]...)
			return
		}
	}
}
