package samltest

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
)

func TestReplayCacheOnMemoryCache(t *testing.T) {
	t.Parallel()
	TestReplayCache(t, func(*testing.T) saml.ReplayCache { return saml.NewMemoryReplayCache(0) })
}

// The suite is only worth something if it fails on broken caches: each
// mutant below is a plausible mistake, and the test names the subtests that
// must catch it.
func TestReplayCacheSuiteCatchesMutants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		cache  func() saml.ReplayCache
		caught []string
	}{
		{"forgets everything", func() saml.ReplayCache { return forgetful{} },
			[]string{"AcceptsOnce", "TellsIDsApart", "ConcurrentAddsOfOneID", "ConcurrentDistinctIDs", "RemembersLiveIDsUnderLoad"}},
		{"refuses everything", func() saml.ReplayCache { return refuser{} },
			[]string{"AcceptsOnce", "TellsIDsApart", "ConcurrentAddsOfOneID", "ConcurrentDistinctIDs", "RemembersLiveIDsUnderLoad"}},
		{"checks then inserts without a lock", func() saml.ReplayCache { return &racy{ids: map[string]bool{}} },
			[]string{"ConcurrentAddsOfOneID"}},
		{"keeps only the latest 1000 IDs", func() saml.ReplayCache { return &bounded{max: 1000, ids: map[string]bool{}} },
			[]string{"RemembersLiveIDsUnderLoad"}},
		{"forgets an ID when its expiry is updated to the past", func() saml.ReplayCache { return &expiryFollower{ids: map[string]time.Time{}} },
			[]string{"AcceptsOnce"}},
		{"folds case", func() saml.ReplayCache { return &normalizer{norm: strings.ToLower, ids: map[string]bool{}} },
			[]string{"TellsIDsApart"}},
		{"truncates IDs to 255 bytes", func() saml.ReplayCache {
			return &normalizer{norm: func(s string) string { return s[:min(len(s), 255)] }, ids: map[string]bool{}}
		}, []string{"TellsIDsApart"}},
		{"trims spaces", func() saml.ReplayCache { return &normalizer{norm: strings.TrimSpace, ids: map[string]bool{}} },
			[]string{"TellsIDsApart"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			failed := map[string]error{}
			for _, c := range replayChecks {
				if err := c.run(t.Context(), tc.cache()); err != nil {
					failed[c.name] = err
				}
			}
			for _, name := range tc.caught {
				assert.Contains(t, failed, name, "subtest %s passed a cache that %s", name, tc.name)
			}
			for name, err := range failed {
				t.Logf("%s: %v", name, firstLine(err))
			}
		})
	}
}

func TestReplayCacheSuiteReportsErrors(t *testing.T) {
	t.Parallel()
	err := checkAcceptsOnce(t.Context(), failing{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "database is down")
}

func firstLine(err error) string { s, _, _ := strings.Cut(err.Error(), "\n"); return s }

type forgetful struct{}

func (forgetful) Add(context.Context, string, time.Time) (bool, error) { return true, nil }

type refuser struct{}

func (refuser) Add(context.Context, string, time.Time) (bool, error) { return false, nil }

type failing struct{}

func (failing) Add(context.Context, string, time.Time) (bool, error) {
	return false, errDown
}

var errDown = errors.New("database is down")

// racy looks the ID up and inserts it under two separate locks.
type racy struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (r *racy) Add(_ context.Context, id string, _ time.Time) (bool, error) {
	r.mu.Lock()
	seen := r.ids[id]
	r.mu.Unlock()
	if seen {
		return false, nil
	}
	runtime.Gosched() // as a round trip to the database would
	r.mu.Lock()
	r.ids[id] = true
	r.mu.Unlock()
	return true, nil
}

// bounded forgets the oldest ID to make room, live or not.
type bounded struct {
	mu    sync.Mutex
	max   int
	order []string
	ids   map[string]bool
}

func (b *bounded) Add(_ context.Context, id string, _ time.Time) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ids[id] {
		return false, nil
	}
	if len(b.order) == b.max {
		delete(b.ids, b.order[0])
		b.order = b.order[1:]
	}
	b.order = append(b.order, id)
	b.ids[id] = true
	return true, nil
}

// expiryFollower stores the latest expiry it is given (an upsert instead
// of DO NOTHING), and forgets expired IDs at once.
type expiryFollower struct {
	mu  sync.Mutex
	ids map[string]time.Time
}

func (e *expiryFollower) Add(_ context.Context, id string, expires time.Time) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	old, seen := e.ids[id]
	e.ids[id] = expires
	return !seen || !old.After(time.Now()), nil
}

// normalizer stores norm(id) instead of id.
type normalizer struct {
	mu   sync.Mutex
	norm func(string) string
	ids  map[string]bool
}

func (n *normalizer) Add(_ context.Context, id string, _ time.Time) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	id = n.norm(id)
	if n.ids[id] {
		return false, nil
	}
	n.ids[id] = true
	return true, nil
}
