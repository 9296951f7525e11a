package mapping

import (
	"hash/maphash"
	"math/bits"
	"strings"
)

// stringIndex numbers a set of distinct strings and finds a string's
// number. It exists for speed with large assertions: Go's map keeps a
// string header per slot and compares keys where they were allocated,
// which at 100,000 values costs several cache misses per lookup.
// stringIndex can copy the keys into one contiguous string, and keeps only
// a hash tag and a number per slot (8 bytes), so a lookup touches one slot
// and the compact key copy.
// The seed is random, but only equality is used, so results do not vary.
type stringIndex struct {
	seed  maphash.Seed
	keys  []string // by number; substrings of one contiguous copy when compact
	slots []uint64 // hash tag << 32 | number+1; 0 is empty; at most half full
	mask  uint64
}

// newStringIndex indexes strs, dropping empty strings and duplicates; keys
// keeps the first occurrence of each, in order.
func newStringIndex(strs []string) *stringIndex {
	x, _ := build(strs, true, false)
	return x
}

// numberStrings is newStringIndex that also returns the number of each of
// strs (-1 for an empty string); a string's first occurrence gets the next
// number. The keys stay where they are: numberStrings serves IDs that are
// looked up rarely.
func numberStrings(strs []string) (*stringIndex, []int32) {
	return build(strs, false, true)
}

// build indexes strs, copying the keys into one string when compact, and
// returns the number of each of strs when numbered. The index keeps its
// keys in strs' array, overwriting it.
func build(strs []string, compact, numbered bool) (*stringIndex, []int32) {
	all := ""
	if compact {
		size := 0
		for _, s := range strs {
			size += len(s)
		}
		var b strings.Builder
		b.Grow(size)
		for _, s := range strs {
			b.WriteString(s)
		}
		all = b.String()
	}
	n := uint64(1) << bits.Len(uint(2*len(strs)|7))
	// keys reuses strs' array: the key written at k comes from strs[i],
	// i >= k, which has been read by then.
	x := &stringIndex{seed: maphash.MakeSeed(), slots: make([]uint64, n), mask: n - 1, keys: strs[:0]}
	var nums []int32
	if numbered {
		nums = make([]int32, len(strs))
	}
	off := 0
	for i := range strs {
		key := strs[i]
		if compact {
			key = all[off : off+len(key)]
			off += len(key)
		}
		num := int32(-1)
		if key != "" {
			num = x.add(key)
		}
		if numbered {
			nums[i] = num
		}
	}
	return x, nums
}

// add numbers s unless it is already in the index, and returns its number.
func (x *stringIndex) add(s string) int32 {
	h := maphash.String(x.seed, s)
	tag := h >> 32 << 32
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		slot := x.slots[i]
		if slot == 0 {
			x.keys = append(x.keys, s)
			x.slots[i] = tag | uint64(len(x.keys))
			return int32(len(x.keys) - 1)
		}
		if slot>>32<<32 == tag && x.keys[slot&0xffffffff-1] == s {
			return int32(slot&0xffffffff) - 1
		}
	}
}

// find returns the number of s, if s is in the index.
func (x *stringIndex) find(s string) (int, bool) {
	h := maphash.String(x.seed, s)
	tag := h >> 32 << 32
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		slot := x.slots[i]
		if slot == 0 {
			return 0, false
		}
		if slot>>32<<32 == tag && x.keys[slot&0xffffffff-1] == s {
			return int(slot&0xffffffff) - 1, true
		}
	}
}
