package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// acker acknowledges a Deliverer's sends in groups through a BatchMarker:
// each send that returns joins the pending group, and one goroutine writes
// the group in one MarkDeliveredBatch once it holds a claim's worth of
// messages or ackLinger after its first one, while the next group gathers.
type acker struct {
	d     *Deliverer
	bm    BatchMarker
	full  int // a claim's worth
	mu    sync.Mutex
	group []Message
	wake  chan struct{} // holds a token when group may be non-empty
	syncs chan chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

// ackLinger is the longest a sent message waits for its group to fill
// before it is acknowledged: long enough to gather a claim's worth from a
// busy outbox, short beside any lease.
const ackLinger = 20 * time.Millisecond

// newAcker starts an acker when the Deliverer's outbox is a BatchMarker,
// and returns nil otherwise.
func (d *Deliverer) newAcker(ctx context.Context) *acker {
	bm, ok := d.outbox.(BatchMarker)
	if !ok {
		return nil
	}
	a := &acker{d: d, bm: bm, full: max(d.claimBatch, d.concurrency), wake: make(chan struct{}, 1), syncs: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go a.loop(context.WithoutCancel(ctx))
	return a
}

// add queues m, which was sent, for acknowledgement.
func (a *acker) add(m Message) {
	a.mu.Lock()
	a.group = append(a.group, m)
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// close writes what is pending and stops the acker; call it once no send
// can add more.
func (a *acker) close() {
	if a == nil {
		return
	}
	close(a.stop)
	<-a.done
}

func (a *acker) loop(ctx context.Context) {
	defer close(a.done)
	for {
		select {
		case <-a.wake:
		case reply := <-a.syncs:
			a.flush(ctx)
			close(reply)
			continue
		case <-a.stop:
			a.flush(ctx)
			return
		}
		// A send is pending: let the group grow to a claim's worth, or
		// for ackLinger, whichever comes first.
		linger := time.NewTimer(ackLinger)
		var reply chan struct{} // a sync waiting for this flush
	gather:
		for a.size() < a.full {
			select {
			case <-a.wake:
			case <-linger.C:
				break gather
			case reply = <-a.syncs:
				break gather
			case <-a.stop:
				linger.Stop()
				a.flush(ctx)
				return
			}
		}
		linger.Stop()
		a.flush(ctx)
		if reply != nil {
			close(reply)
		}
	}
}

// sync writes the pending group now and returns once it is written. Run
// calls it before it sleeps, so that no acknowledgement waits on an idle
// Deliverer.
func (a *acker) sync() {
	if a == nil {
		return
	}
	reply := make(chan struct{})
	select {
	case a.syncs <- reply:
		<-reply
	case <-a.done:
	}
}

func (a *acker) size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.group)
}

func (a *acker) flush(ctx context.Context) {
	a.mu.Lock()
	group := a.group
	a.group = nil
	a.mu.Unlock()
	if len(group) == 0 {
		return
	}
	// ctx outlives Run's (see newAcker): those messages were sent, and
	// telling the outbox, even during a shutdown, saves sending them
	// again after their lease. ackTimeout bounds each write.
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if err := a.bm.MarkDeliveredBatch(ctx, group); err != nil {
		a.d.log.ErrorContext(ctx, "notify: sent, but marking delivered failed; they will be sent again after their lease",
			slog.Int("messages", len(group)), slog.String("error", err.Error()))
		return
	}
	for _, m := range group {
		a.d.logDelivered(ctx, m)
	}
}
