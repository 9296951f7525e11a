package saml_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
)

func TestMemoryReplayCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := base
	c := saml.NewMemoryReplayCache(3)
	c.Clock = func() time.Time { return now }
	for i, id := range []string{"a", "b", "c"} {
		added, err := c.Add(ctx, id, base.Add(time.Duration(i+1)*time.Minute))
		require.NoError(t, err)
		assert.True(t, added, id)
	}
	added, err := c.Add(ctx, "b", base.Add(time.Hour))
	require.NoError(t, err)
	assert.False(t, added, "an ID is accepted once")
	assert.Equal(t, 3, c.Len())

	// Full of live IDs: a new one is refused, none is forgotten.
	_, err = c.Add(ctx, "d", base.Add(10*time.Minute))
	assert.ErrorIs(t, err, saml.ErrReplayCacheFull)
	added, _ = c.Add(ctx, "a", base.Add(time.Hour))
	assert.False(t, added, "a is still remembered")

	// Once "a" has expired it makes room.
	now = base.Add(time.Minute)
	added, err = c.Add(ctx, "d", base.Add(10*time.Minute))
	require.NoError(t, err)
	assert.True(t, added)
	assert.Equal(t, 3, c.Len())
	added, _ = c.Add(ctx, "b", base)
	assert.False(t, added, "b is still remembered")
}

func TestMemoryReplayCacheDefaultSize(t *testing.T) {
	t.Parallel()
	c := saml.NewMemoryReplayCache(0)
	for i := range 1000 {
		added, err := c.Add(context.Background(), fmt.Sprint(i), time.Unix(int64(i), 0))
		require.NoError(t, err)
		require.True(t, added)
	}
	assert.Equal(t, 1000, c.Len())
}

func TestMemoryReplayCacheConcurrent(t *testing.T) {
	t.Parallel()
	// Of many concurrent uses of one ID, exactly one wins.
	c := saml.NewMemoryReplayCache(100)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if ok, _ := c.Add(context.Background(), fmt.Sprint("id", i), time.Now().Add(time.Hour)); ok {
					wins.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(50), wins.Load())
}

func BenchmarkMemoryReplayCache(b *testing.B) {
	c := saml.NewMemoryReplayCache(10000)
	ctx := context.Background()
	now := time.Now()
	c.Clock = func() time.Time { return now.Add(time.Hour) } // everything added has expired by then
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		c.Add(ctx, fmt.Sprint(i), now.Add(time.Duration(i)))
	}
}
