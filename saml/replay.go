package saml

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// ReplayCache remembers the IDs of accepted assertions so that each is
// accepted once (SAML profiles 4.1.4.5).
type ReplayCache interface {
	// Add records id until expires and reports whether it was new. It
	// must be atomic: of two concurrent calls with one id, at most one
	// returns true, across every instance that shares the cache. An ID
	// whose expiry has passed may be forgotten.
	Add(ctx context.Context, id string, expires time.Time) (added bool, err error)
}

// DefaultReplayCacheSize is the capacity of a MemoryReplayCache made with
// size 0: about ten minutes of logins at 150 per second.
const DefaultReplayCacheSize = 100000

// MemoryReplayCache is a ReplayCache for one process, bounded in size.
// When it is full it forgets expired IDs; when every ID it holds is still
// live it refuses new ones (and so the logins that bring them) rather than
// forget a live ID, which would open a replay window.
type MemoryReplayCache struct {
	// Clock tells when an ID has expired. Default: time.Now. A service
	// provider's default cache uses the provider's Config.Clock.
	Clock func() time.Time

	mu    sync.Mutex
	size  int
	ids   map[string]time.Time
	queue expiryHeap
}

// ErrReplayCacheFull is returned by MemoryReplayCache.Add when every ID it
// holds is still live.
var ErrReplayCacheFull = errors.New("saml: the replay cache is full of assertions that have not expired; give it a larger size")

// NewMemoryReplayCache returns an empty cache holding at most size IDs
// (DefaultReplayCacheSize when size is 0 or less).
func NewMemoryReplayCache(size int) *MemoryReplayCache {
	if size <= 0 {
		size = DefaultReplayCacheSize
	}
	return &MemoryReplayCache{size: size, ids: make(map[string]time.Time)}
}

// Add implements ReplayCache.
func (c *MemoryReplayCache) Add(_ context.Context, id string, expires time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, seen := c.ids[id]; seen {
		return false, nil
	}
	if len(c.queue) >= c.size {
		now := time.Now
		if c.Clock != nil {
			now = c.Clock
		}
		t := now()
		for len(c.queue) > 0 && !c.queue[0].expires.After(t) {
			e := heap.Pop(&c.queue).(replayEntry)
			delete(c.ids, e.id)
		}
		if len(c.queue) >= c.size {
			return false, ErrReplayCacheFull
		}
	}
	c.ids[id] = expires
	heap.Push(&c.queue, replayEntry{id: id, expires: expires})
	return true, nil
}

// Len returns how many IDs the cache holds.
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ids)
}

type replayEntry struct {
	id      string
	expires time.Time
}

type expiryHeap []replayEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(replayEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
