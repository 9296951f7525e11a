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
// and the compact key copy. A slot is 4 bytes: the number+1 in its low
// bits (as many as the largest number needs) and a hash tag in the rest.
// The seed is random, but only equality is used, so results do not vary.
type stringIndex struct {
	seed  maphash.Seed
	keys  []string // by number; substrings of one contiguous copy when compact
	slots []uint32 // hash tag | number+1; 0 is empty; at most half full
	mask  uint64
	nums  uint32 // the bits of a slot that hold number+1
	// touched sums what build and findAll read ahead (see batch and
	// touchStrings), so that the compiler keeps those reads.
	touched uint64
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
	var b strings.Builder
	if compact {
		size := 0
		for _, s := range strs {
			size += len(s)
		}
		b.Grow(size)
	}
	n := uint64(1) << bits.Len(uint(2*len(strs)|7))
	// keys reuses strs' array: the key written at k comes from strs[i],
	// i >= k, which has been read by then.
	x := &stringIndex{seed: maphash.MakeSeed(), slots: make([]uint32, n), mask: n - 1, keys: strs[:0],
		nums: uint32(uint64(1)<<bits.Len(uint(len(strs))) - 1)}
	var nums []int32
	if numbered {
		nums = make([]int32, len(strs))
	}
	// In batches (see batch): copy, hash, load the first slots, insert.
	var hs [batch]uint64
	var keys [batch]string
	for lo := 0; lo < len(strs); lo += batch {
		hi := min(lo+batch, len(strs))
		blk := keys[:hi-lo]
		copy(blk, strs[lo:hi])
		if compact {
			x.touched += uint64(touchStrings(blk))
			off := b.Len()
			for _, s := range blk {
				b.WriteString(s)
			}
			all := b.String()
			for i, s := range blk {
				blk[i], off = all[off:off+len(s)], off+len(s)
			}
		}
		for i, s := range blk {
			hs[i] = maphash.String(x.seed, s)
		}
		var touch uint64
		for i := range blk {
			touch += uint64(x.slots[hs[i]&x.mask])
		}
		x.touched += touch
		for i, key := range blk {
			num := int32(-1)
			if key != "" {
				num = x.add(key, hs[i])
			}
			if numbered {
				nums[lo+i] = num
			}
		}
	}
	return x, nums
}

// touchStrings reads the first byte of each of strs and returns their sum.
// Reading a batch of strings scattered over the heap this way, in a loop
// that does nothing else, puts all of their cache misses in flight at
// once, so that the work on them that follows finds them cached. The sum
// only keeps the compiler from dropping the reads.
func touchStrings(strs []string) byte {
	var sum byte
	for _, s := range strs {
		if s != "" {
			sum += s[0]
		}
	}
	return sum
}

// add numbers s, whose hash is h, unless it is already in the index, and
// returns its number.
func (x *stringIndex) add(s string, h uint64) int32 {
	tag := x.tag(h)
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		slot := x.slots[i]
		if slot == 0 {
			x.keys = append(x.keys, s)
			x.slots[i] = tag | uint32(len(x.keys))
			return int32(len(x.keys) - 1)
		}
		if slot&^x.nums == tag && x.keys[slot&x.nums-1] == s {
			return int32(slot&x.nums) - 1
		}
	}
}

// tag returns the tag of hash h: bits of h that the slot index does not
// use, where a slot keeps them.
func (x *stringIndex) tag(h uint64) uint32 {
	return uint32(h>>32) &^ x.nums
}

// find returns the number of s, if s is in the index.
func (x *stringIndex) find(s string) (int, bool) {
	return x.findHashed(s, maphash.String(x.seed, s))
}

// findHashed is find for s whose hash is h.
func (x *stringIndex) findHashed(s string, h uint64) (int, bool) {
	tag := x.tag(h)
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		slot := x.slots[i]
		if slot == 0 {
			return 0, false
		}
		if slot&^x.nums == tag && x.keys[slot&x.nums-1] == s {
			return int(slot&x.nums) - 1, true
		}
	}
}

// batch is how many lookups findAll and build overlap. A lookup in a large
// index misses the caches; one at a time, each waits for its miss. In
// batches, first every hash is computed, then every first slot is loaded
// in a loop without branches on the data, so that the CPU has all of the
// batch's misses in flight at once, and only then are the probes resolved,
// from the caches.
const batch = 32

// findAll sets out[j] to the number of strs[j], or -1 when it is not in
// the index. It works in stages over a batch, each stage a loop whose loads
// do not depend on each other: hashes; first slots; candidates from the
// tags (the probe sequences rarely leave the first slot's cache line);
// the candidates' keys and their first bytes; and only then the
// comparisons, which then read cached memory. Done one lookup at a time,
// a lookup that finds its string waits for three misses in a row at
// 100,000 keys (slot, key header, key bytes).
func (x *stringIndex) findAll(strs []string, out []int32) {
	if len(x.keys) == 0 {
		for j := range out[:len(strs)] {
			out[j] = -1
		}
		return
	}
	var hs [batch]uint64
	var sl [batch]uint32
	var cand [batch]int32
	var ks [batch]string
	for len(strs) > 0 {
		n := min(len(strs), batch)
		for j, s := range strs[:n] {
			hs[j] = maphash.String(x.seed, s)
		}
		for j := range n {
			sl[j] = x.slots[hs[j]&x.mask]
		}
		for j := range n {
			cand[j] = x.candidate(hs[j], sl[j])
		}
		var touch byte
		for j := range n {
			k := x.keys[max(cand[j], 0)]
			ks[j] = k
			touch += k[0] // keys are not empty
		}
		x.touched += uint64(touch)
		for j, s := range strs[:n] {
			switch {
			case cand[j] < 0:
				out[j] = -1
			case ks[j] == s:
				out[j] = cand[j]
			default: // another key with the same tag
				out[j] = x.resolve(s, hs[j])
			}
		}
		strs, out = strs[n:], out[n:]
	}
}

// candidate returns the number in the first slot of the probe sequence
// for hash h whose tag matches, or -1; slot is the sequence's first slot.
func (x *stringIndex) candidate(h uint64, slot uint32) int32 {
	tag := x.tag(h)
	for i := h & x.mask; slot != 0; {
		if slot&^x.nums == tag {
			return int32(slot&x.nums) - 1
		}
		i = (i + 1) & x.mask
		slot = x.slots[i]
	}
	return -1
}

// resolve looks s, whose hash is h, up one slot at a time.
func (x *stringIndex) resolve(s string, h uint64) int32 {
	n, ok := x.findHashed(s, h)
	if !ok {
		return -1
	}
	return int32(n)
}
