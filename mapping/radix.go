package mapping

import "strings"

// This file sorts strings, and tuples of strings, in time linear in the
// bytes that tell them apart, for the lists a large Plan reports.
//
// A comparison sort over strings costs n log n comparisons, and each one
// follows two string pointers: at 100,000 values the log factor is 17 and
// most of those pointers miss the CPU caches, so sorting alone grew the
// time of BenchmarkPlan by far more than its input. sortStrings is a
// most-significant-digit radix sort instead. It reads each key once per
// 8-byte chunk that a group of keys still shares, into a record holding
// that chunk inline (sortRec), and orders the records with stable
// counting-sort passes over the chunk's bytes, skipping the bytes that are
// the same in the whole group (so a shared prefix such as "org-" or
// "unknown-" costs no pass). Groups that still tie recurse on the next
// chunk; small groups are sorted by insertion on the inline chunks. Every
// pass walks contiguous memory, so the cost per key stays the same from
// ten keys to a hundred thousand.

// sortRec is one item of a sort with its current chunk inline.
type sortRec struct {
	k uint64 // bytes 8d to 8d+8 of the current field, big-endian, zero-padded
	n uint32 // bytes of the field from 8d on, capped at 9 (9: the field goes on)
	i uint32 // the item
}

// before orders records by chunk, then by length: zero padding makes a
// field that ends in the chunk equal to a longer one with NUL bytes there,
// and the shorter one comes first.
func (a sortRec) before(b sortRec) bool {
	return a.k < b.k || a.k == b.k && a.n < b.n
}

// insertionMax is the largest group sorted by insertion rather than by
// counting passes, whose 256-entry counts cost more on a small group.
const insertionMax = 32

// keySource gives the sort key of item i: a tuple of strings, ordered
// field by field, each by its bytes (as strings.Compare orders them).
type keySource interface {
	key(i uint32, f int) string
}

// stringSorter sorts items by the keys of a keySource with nf fields.
type stringSorter[K keySource] struct {
	src K
	nf  int
	tmp []sortRec
	dup []bool // by item: the key equals the key of the item sorted before it
}

// sortScratch is memory that one sort after another reuses: records and
// their counting-pass copy, and repeat flags.
type sortScratch struct {
	buf []sortRec
	dup []bool
}

// reserve makes room for sorts of up to m items.
func (sc *sortScratch) reserve(m int) {
	if cap(sc.buf) < 2*m {
		sc.buf = make([]sortRec, 2*m)
		sc.dup = make([]bool, m)
	}
}

// recs returns room for m records, to fill with the items to sort.
func (sc *sortScratch) recs(m int) []sortRec {
	sc.reserve(m)
	return sc.buf[:m:m]
}

// sortStrings returns the items 0 to m-1 ordered by their keys in src,
// which have nf fields, stable, as records whose i is the item, and
// reports for each item whether its key equals that of the item before it
// in that order (dup, indexed by item). Both live in scratch, until the
// next sort. For locality the keys should be substrings of one contiguous
// copy, or be read in an order close to that of their memory.
func sortStrings[K keySource](src K, m, nf int, scratch *sortScratch) (order []sortRec, dup []bool) {
	recs := scratch.recs(m)
	for i := range recs {
		recs[i].i = uint32(i)
	}
	dup = scratch.dup[:m]
	clear(dup)
	sortRecs(src, recs, nf, scratch, dup)
	return recs, dup
}

// sortRecs orders recs, whose i fields name the items, by their keys in
// src (nf fields), stable, and sets dup[i] for an item i whose key equals
// that of the item before it; dup may be nil when the keys are distinct.
// recs must come from scratch.recs.
func sortRecs[K keySource](src K, recs []sortRec, nf int, scratch *sortScratch, dup []bool) {
	m := len(recs)
	s := stringSorter[K]{src: src, nf: nf, tmp: scratch.buf[m : 2*m], dup: dup}
	s.sort(recs, 0, 0)
}

// sort orders recs by field f from byte 8d on; all earlier bytes tie.
func (s *stringSorter[K]) sort(recs []sortRec, f, d int) {
	for len(recs) > insertionMax {
		for j := range recs {
			recs[j].k, recs[j].n = chunk(s.src.key(recs[j].i, f), d)
		}
		s.radix(recs)
		// Ties recurse, except the last run, which loops (a long shared
		// prefix then costs no stack).
		lo := 0
		for hi := 1; hi < len(recs); hi++ {
			if recs[hi].k != recs[lo].k || recs[hi].n != recs[lo].n {
				s.next(recs[lo:hi], f, d)
				lo = hi
			}
		}
		last := recs[lo:]
		switch {
		case len(last) < 2:
			return
		case last[0].n > 8:
			recs, d = last, d+1
		case f+1 < s.nf:
			recs, f, d = last, f+1, 0
		default:
			s.same(last)
			return
		}
	}
	s.small(recs, f, d)
}

// small sorts a few records by insertion, comparing their keys from field
// f, byte 8d, on, and marks repeats.
func (s *stringSorter[K]) small(recs []sortRec, f, d int) {
	if len(recs) < 2 {
		return
	}
	for j := 1; j < len(recs); j++ {
		r := recs[j]
		k := j
		for ; k > 0 && s.compare(r.i, recs[k-1].i, f, d) < 0; k-- {
			recs[k] = recs[k-1]
		}
		recs[k] = r
	}
	for j := 1; j < len(recs); j++ {
		if s.compare(recs[j].i, recs[j-1].i, f, d) == 0 && s.dup != nil {
			s.dup[recs[j].i] = true
		}
	}
}

// compare compares the keys of items a and b from field f, byte 8d, on.
func (s *stringSorter[K]) compare(a, b uint32, f, d int) int {
	if c := strings.Compare(s.src.key(a, f)[8*d:], s.src.key(b, f)[8*d:]); c != 0 {
		return c
	}
	for f++; f < s.nf; f++ {
		if c := strings.Compare(s.src.key(a, f), s.src.key(b, f)); c != 0 {
			return c
		}
	}
	return 0
}

// next finishes a run of records that tie on the chunk just sorted.
func (s *stringSorter[K]) next(run []sortRec, f, d int) {
	switch {
	case len(run) < 2:
	case run[0].n > 8:
		s.sort(run, f, d+1)
	case f+1 < s.nf:
		s.sort(run, f+1, 0)
	default:
		s.same(run)
	}
}

// same marks a run of equal keys: all but the first are repeats.
func (s *stringSorter[K]) same(run []sortRec) {
	if s.dup == nil {
		return
	}
	for _, r := range run[1:] {
		s.dup[r.i] = true
	}
}

// radix sorts recs by (k, n) with stable counting passes over the bytes
// that differ within recs, least significant first.
func (s *stringSorter[K]) radix(recs []sortRec) {
	var kx, nx uint64
	k0, n0 := recs[0].k, recs[0].n
	for _, r := range recs {
		kx |= r.k ^ k0
		nx |= uint64(r.n ^ n0)
	}
	src, dst := recs, s.tmp[:len(recs)]
	if nx != 0 {
		lengthPass(src, dst)
		src, dst = dst, src
	}
	for shift := uint(0); shift < 64; shift += 8 {
		if kx>>shift&0xff != 0 {
			bytePass(src, dst, shift)
			src, dst = dst, src
		}
	}
	if &src[0] != &recs[0] {
		copy(recs, src)
	}
}

// bytePass is a stable counting sort of src into dst by byte k>>shift.
func bytePass(src, dst []sortRec, shift uint) {
	var count [256]uint32
	for _, r := range src {
		count[uint8(r.k>>shift)]++
	}
	sum := uint32(0)
	for b, c := range count {
		count[b] = sum
		sum += c
	}
	for _, r := range src {
		b := uint8(r.k >> shift)
		dst[count[b]] = r
		count[b]++
	}
}

// lengthPass is a stable counting sort of src into dst by n (0 to 9).
func lengthPass(src, dst []sortRec) {
	var count [10]uint32
	for _, r := range src {
		count[r.n]++
	}
	sum := uint32(0)
	for b, c := range count {
		count[b] = sum
		sum += c
	}
	for _, r := range src {
		dst[count[r.n]] = r
		count[r.n]++
	}
}

// chunk returns bytes 8d to 8d+8 of s, big-endian and zero-padded, and how
// many bytes s has from 8d on, capped at 9.
func chunk(s string, d int) (uint64, uint32) {
	s = s[8*d:]
	if len(s) >= 8 {
		k := uint64(s[0])<<56 | uint64(s[1])<<48 | uint64(s[2])<<40 | uint64(s[3])<<32 |
			uint64(s[4])<<24 | uint64(s[5])<<16 | uint64(s[6])<<8 | uint64(s[7])
		return k, uint32(min(len(s), 9))
	}
	var k uint64
	for j := 0; j < len(s); j++ {
		k |= uint64(s[j]) << (56 - 8*j)
	}
	return k, uint32(len(s))
}
