package mapping

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStringIndex(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 7, 8, 1000, 50_000} {
		strs := make([]string, 0, 2*n+2)
		for i := range n {
			strs = append(strs, "k"+strconv.Itoa(i))
		}
		strs = append(strs, strs...) // every key twice
		strs = append(strs, "", "")  // empty strings are dropped
		x, nums := numberStrings(append([]string(nil), strs...))
		require.Len(t, x.keys, n)
		for i := range n {
			key := "k" + strconv.Itoa(i)
			assert.Equal(t, key, x.keys[i], "keys keep first-seen order")
			got, ok := x.find(key)
			require.True(t, ok, key)
			assert.Equal(t, i, got)
			assert.Equal(t, int32(i), nums[i])
			assert.Equal(t, int32(i), nums[n+i], "a repeat gets the first number")
		}
		assert.Equal(t, int32(-1), nums[len(nums)-1])
		for _, missing := range []string{"", "k", "k-1", "K0", "k0 ", strconv.Itoa(n)} {
			_, ok := x.find(missing)
			assert.False(t, ok, missing)
		}
		compact := newStringIndex(append([]string(nil), strs...))
		assert.Equal(t, x.keys, compact.keys, "the compact copy holds the same keys")
	}
}
