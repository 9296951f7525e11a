package samltest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siteadmin/integrations/saml"
)

// TestReplayCache tests a saml.ReplayCache against every guarantee of the
// interface's doc, in the manner of testing/fstest.TestFS: run it from a
// test of your own store, whatever database it lives on,
//
//	func TestReplayCache(t *testing.T) {
//		samltest.TestReplayCache(t, func(t *testing.T) saml.ReplayCache {
//			return newEmptyCacheOnAFreshTable(t)
//		})
//	}
//
// newCache must return an empty cache; it is called once per subtest, with
// that subtest's t (register cleanups on it). The subtests check that an
// ID is accepted once and then refused, whatever its expiry says; that IDs
// differing in case, length or a single byte are told apart, hostile ones
// (quotes, SQL, LIKE wildcards, long IDs, non-ASCII) included; that of
// many concurrent Adds of one ID exactly one succeeds; and that an ID is
// remembered until it expires while thousands of others, expired and live,
// come and go (a cache that forgets live IDs to make room reopens the
// replay window). Expired IDs may be forgotten, and a cache may answer an
// error instead of false, but never true for an ID it already holds.
//
// The suite uses time.Now for expiry times: live IDs expire in an hour,
// expired ones an hour ago. It does not test what happens when the store
// is unreachable (the cache must then answer an error, never true); test
// that against your store yourself.
func TestReplayCache(t *testing.T, newCache func(t *testing.T) saml.ReplayCache) {
	t.Helper()
	for _, c := range replayChecks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.run(t.Context(), newCache(t)); err != nil {
				t.Error(err)
			}
		})
	}
}

// replayCheck is one subtest of TestReplayCache. run returns every
// violation it saw, joined, or nil.
type replayCheck struct {
	name string
	run  func(ctx context.Context, c saml.ReplayCache) error
}

var replayChecks = []replayCheck{
	{"AcceptsOnce", checkAcceptsOnce},
	{"TellsIDsApart", checkTellsIDsApart},
	{"ConcurrentAddsOfOneID", checkConcurrentAddsOfOneID},
	{"ConcurrentDistinctIDs", checkConcurrentDistinctIDs},
	{"RemembersLiveIDsUnderLoad", checkRemembersLiveIDsUnderLoad},
}

// add calls c.Add and describes a failure.
func add(ctx context.Context, c saml.ReplayCache, id string, expires time.Time) (bool, error) {
	added, err := c.Add(ctx, id, expires)
	if err != nil {
		return added, fmt.Errorf("Add(%s): %w", quoteID(id), err)
	}
	return added, nil
}

// wantNew and wantSeen add id and describe a wrong answer.
func wantNew(ctx context.Context, c saml.ReplayCache, id string, expires time.Time) error {
	added, err := add(ctx, c, id, expires)
	switch {
	case err != nil:
		return fmt.Errorf("a new ID: %w", err)
	case !added:
		return fmt.Errorf("Add(%s) of a new ID = false, want true", quoteID(id))
	}
	return nil
}

func wantSeen(ctx context.Context, c saml.ReplayCache, id string, expires time.Time, why string) error {
	added, err := c.Add(ctx, id, expires)
	if added {
		return fmt.Errorf("Add(%s) = true for an ID the cache holds (%s): a replay is accepted", quoteID(id), why)
	}
	if err != nil {
		return fmt.Errorf("Add(%s) of an ID the cache holds (%s): %w; want false without error", quoteID(id), why, err)
	}
	return nil
}

func checkAcceptsOnce(ctx context.Context, c saml.ReplayCache) error {
	now := time.Now()
	live := now.Add(time.Hour)
	if err := wantNew(ctx, c, "_a1", live); err != nil {
		return err
	}
	return errors.Join(
		wantSeen(ctx, c, "_a1", live, "same expiry"),
		wantSeen(ctx, c, "_a1", live.Add(time.Hour), "a later expiry"),
		wantSeen(ctx, c, "_a1", now.Add(time.Minute), "an earlier expiry"),
		wantSeen(ctx, c, "_a1", now.Add(-time.Hour), "an expiry in the past"),
		wantNew(ctx, c, "_a2", live),
		wantSeen(ctx, c, "_a2", live, "added just before"),
		wantSeen(ctx, c, "_a1", live, "asked again after another ID"),
	)
}

// hostileIDs are told apart from each other and stored verbatim.
func hostileIDs() []string {
	long := strings.Repeat("x", 1000)
	return []string{
		"_abc", "_ABC", "_abc ", " _abc", "_ab", "_abcd",
		"_a'b", `_a"b`, `_a\b`, "_a;b", "'); DROP TABLE replay; --",
		"%", "_", "_%", "a%", "a_", "[a]", "*",
		"_ünïcødé", "_日本", "_e\u0301", "_\u00e9", // é composed and not
		long, long + "y", long + "z", "y" + long,
		"id-7f0c2a9e-3b1d-4c5e-9a8f-0123456789ab",
	}
}

func checkTellsIDsApart(ctx context.Context, c saml.ReplayCache) error {
	live := time.Now().Add(time.Hour)
	ids := hostileIDs()
	var errs []error
	for _, id := range ids {
		errs = append(errs, wantNew(ctx, c, id, live))
	}
	for _, id := range ids {
		errs = append(errs, wantSeen(ctx, c, id, live, "hostile IDs"))
	}
	return errors.Join(errs...)
}

func checkConcurrentAddsOfOneID(ctx context.Context, c saml.ReplayCache) error {
	const ids, callers = 10, 16
	live := time.Now().Add(time.Hour)
	var errs []error
	for i := range ids {
		id := fmt.Sprintf("_concurrent-%d", i)
		var wins atomic.Int32
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				added, err := add(ctx, c, id, live)
				if added {
					wins.Add(1)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			errs = append(errs, fmt.Errorf("%d concurrent Adds of %s: %d returned true, want exactly 1", callers, quoteID(id), n))
		}
	}
	return errors.Join(errs...)
}

func checkConcurrentDistinctIDs(ctx context.Context, c saml.ReplayCache) error {
	const callers, each = 8, 25
	live := time.Now().Add(time.Hour)
	errs := make([]error, callers)
	for pass, want := range []bool{true, false} {
		var wg sync.WaitGroup
		for g := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					id := fmt.Sprintf("_distinct-%d-%d", g, i)
					added, err := add(ctx, c, id, live)
					if err == nil && added != want {
						err = fmt.Errorf("pass %d: Add(%s) = %v, want %v", pass+1, quoteID(id), added, want)
					}
					if err != nil && errs[g] == nil {
						errs[g] = err
					}
				}
			}()
		}
		wg.Wait()
	}
	return errors.Join(errs...)
}

func checkRemembersLiveIDsUnderLoad(ctx context.Context, c saml.ReplayCache) error {
	const others = 2000
	now := time.Now()
	live, expired := now.Add(time.Hour), now.Add(-time.Hour)
	if err := wantNew(ctx, c, "_first", live); err != nil {
		return err
	}
	for i := range others {
		exp := live
		if i%2 == 0 {
			exp = expired
		}
		if _, err := add(ctx, c, fmt.Sprintf("_load-%d", i), exp); err != nil {
			return err
		}
	}
	errs := []error{wantSeen(ctx, c, "_first", live, fmt.Sprintf("added before %d others", others))}
	for i := 1; i < others; i += 2 {
		if err := wantSeen(ctx, c, fmt.Sprintf("_load-%d", i), live, "a live ID among expired ones"); err != nil {
			errs = append(errs, err)
			break
		}
	}
	return errors.Join(errs...)
}

// quoteID shortens long IDs in messages.
func quoteID(id string) string {
	if len(id) > 40 {
		return fmt.Sprintf("%q... (%d bytes)", id[:40], len(id))
	}
	return fmt.Sprintf("%q", id)
}
