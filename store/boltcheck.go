package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
)

// bbolt's on-disk layout, as checkBolt reads it.
const (
	pageHeader   = 16
	elemSize     = 16 // a branch or leaf element
	metaOffset   = pageHeader
	branchFlag   = 0x01
	leafFlag     = 0x02
	freelistFlag = 0x10
	bucketFlag   = 0x01 // on a leaf element
	boltMagic    = 0xED0CDAED
	boltVersion  = 2
	minPageSize  = 512
	maxPageSize  = 1 << 20
	inBucketSize = 16
	noFreelist   = ^uint64(0) // a meta's freelist when bbolt keeps none on disk
)

// checkBolt walks a bbolt file's page tree before bbolt reads it, so that
// a corrupt or hostile file is refused with an error instead of sending
// bbolt's cursors round a cycle or out of the file. It follows bbolt's
// documented on-disk layout (v1.3 to v1.5, format version 2, native byte
// order). It finds the page size and the meta page exactly as bbolt v1.5
// does (any difference would let it check one tree while bbolt reads
// another), then visits every branch and leaf page reachable from the
// root bucket, and every sub-bucket, checking that each page lies inside
// the file and below the high-water mark, that no page is reached twice,
// that each is exactly a branch or a leaf page by its flags (bbolt's test),
// that a branch page has elements, and that every element lies inside its
// page.
func checkBolt(data []byte) error {
	le := binary.NativeEndian
	type meta struct {
		pageSize                  uint64
		root, freelist, hwm, txid uint64
	}
	// metaAt reads the meta page at off and validates it as bbolt does
	// (magic, version, checksum: nothing else).
	metaAt := func(off uint64) (meta, bool) {
		if off > uint64(len(data)) || uint64(len(data))-off < metaOffset+64 {
			return meta{}, false
		}
		m := data[off+metaOffset : off+metaOffset+64]
		h := fnv.New64a()
		h.Write(m[:56])
		if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion || h.Sum64() != le.Uint64(m[56:]) {
			return meta{}, false
		}
		return meta{pageSize: uint64(le.Uint32(m[8:])), root: le.Uint64(m[16:]), freelist: le.Uint64(m[32:]),
			hwm: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, true
	}
	// The page size, found as bbolt's DB.getPageSize finds it: from meta
	// 0 if the file holds 4 KiB and meta 0 is valid; else from the first
	// valid meta at 1 KiB, 2 KiB, ... 16 MiB before the last KiB of the
	// file; else the OS page size.
	ps, found := uint64(0), false
	if len(data) >= 0x1000 {
		if m0, ok := metaAt(0); ok {
			ps, found = m0.pageSize, true
		}
	}
	for i := 0; !found && i <= 14; i++ {
		pos := uint64(1024) << i
		if int64(pos) >= int64(len(data))-1024 {
			break
		}
		if m1, ok := metaAt(pos); ok {
			ps, found = m1.pageSize, true
		}
	}
	if !found {
		ps = uint64(os.Getpagesize())
	}
	if ps < minPageSize || ps > maxPageSize || ps&(ps-1) != 0 {
		return fmt.Errorf("page size %d not valid", ps)
	}
	// The meta page bbolt then uses (DB.meta): of meta 0 and meta 1 (at
	// one page in), the one with the higher transaction id if it is valid,
	// else the other if that is.
	rawTxid := func(off uint64) uint64 {
		if off > uint64(len(data)) || uint64(len(data))-off < metaOffset+56 {
			return 0
		}
		return le.Uint64(data[off+metaOffset+48:])
	}
	ma, okA := metaAt(0)
	mb, okB := metaAt(ps)
	if rawTxid(ps) > rawTxid(0) {
		ma, okA, mb, okB = mb, okB, ma, okA
	}
	var m meta
	switch {
	case okA:
		m = ma
	case okB:
		m = mb
	default:
		return fmt.Errorf("no valid meta page")
	}
	if m.hwm > uint64(len(data))/ps {
		return fmt.Errorf("high-water mark %d is past the end of the file (%d pages)", m.hwm, uint64(len(data))/ps)
	}
	visited := make(map[uint64]bool)

	var walkPage func(id uint64, depth int) error
	// walkLeaf checks a leaf page's elements, held in p (page header
	// first), and descends into sub-buckets.
	var walkLeaf func(p []byte, count int, depth int) error
	walkLeaf = func(p []byte, count int, depth int) error {
		if pageHeader+count*elemSize > len(p) {
			return fmt.Errorf("leaf elements past the end of their page")
		}
		for i := range count {
			e := pageHeader + i*elemSize
			flags, pos := le.Uint32(p[e:]), uint64(le.Uint32(p[e+4:]))
			ksize, vsize := uint64(le.Uint32(p[e+8:])), uint64(le.Uint32(p[e+12:]))
			start := uint64(e) + pos
			if start+ksize+vsize > uint64(len(p)) {
				return fmt.Errorf("leaf element %d past the end of its page", i)
			}
			if flags&bucketFlag == 0 {
				continue
			}
			if vsize < inBucketSize {
				return fmt.Errorf("bucket value of %d bytes", vsize)
			}
			v := p[start+ksize : start+ksize+vsize]
			root := le.Uint64(v)
			if root != 0 {
				if err := walkPage(root, depth+1); err != nil {
					return err
				}
				continue
			}
			// An inline bucket: a leaf page inside the value.
			inline := v[inBucketSize:]
			if len(inline) < pageHeader {
				return fmt.Errorf("inline bucket too short")
			}
			if f := le.Uint16(inline[8:]); f != leafFlag {
				return fmt.Errorf("inline bucket is not a leaf page (flags %#x)", f)
			}
			if depth > 64 {
				return fmt.Errorf("buckets nested too deep")
			}
			if err := walkLeaf(inline, int(le.Uint16(inline[10:])), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	walkPage = func(id uint64, depth int) error {
		if id < 2 || id >= m.hwm {
			return fmt.Errorf("page %d out of range (2 to %d)", id, m.hwm)
		}
		if visited[id] {
			return fmt.Errorf("page %d is reached twice", id)
		}
		off := id * ps
		if off+pageHeader > uint64(len(data)) {
			return fmt.Errorf("page %d past the end of the file", id)
		}
		hdr := data[off:]
		flags, count, overflow := le.Uint16(hdr[8:]), int(le.Uint16(hdr[10:])), uint64(le.Uint32(hdr[12:]))
		span := (overflow + 1) * ps
		if id+overflow >= m.hwm || off+span > uint64(len(data)) {
			return fmt.Errorf("page %d with %d overflow pages past the end", id, overflow)
		}
		for o := range overflow + 1 {
			if visited[id+o] {
				return fmt.Errorf("page %d is reached twice", id+o)
			}
			visited[id+o] = true
		}
		p := data[off : off+span]
		// bbolt tells a page's kind by its flags exactly (a cursor takes
		// any page that is not exactly a leaf for a branch), so must this.
		switch flags {
		case branchFlag:
			if count == 0 {
				// bbolt never writes one, and its cursor reads element
				// 0 of a branch page whatever the count says.
				return fmt.Errorf("branch page %d has no elements", id)
			}
			if pageHeader+count*elemSize > len(p) {
				return fmt.Errorf("branch page %d: elements past its end", id)
			}
			for i := range count {
				e := pageHeader + i*elemSize
				pos, ksize := uint64(le.Uint32(p[e:])), uint64(le.Uint32(p[e+4:]))
				if uint64(e)+pos+ksize > uint64(len(p)) {
					return fmt.Errorf("branch page %d: key %d past its end", id, i)
				}
				if err := walkPage(le.Uint64(p[e+8:]), depth+1); err != nil {
					return err
				}
			}
			return nil
		case leafFlag:
			return walkLeaf(p, count, depth)
		}
		return fmt.Errorf("page %d is neither a branch nor a leaf page (flags %#x)", id, flags)
	}
	if err := walkPage(m.root, 0); err != nil {
		return err
	}
	return checkFreelist(data, ps, m.freelist, m.hwm, visited)
}

// checkFreelist checks the freelist page that a bbolt meta page names,
// which bbolt reads on open and then allocates from: it must be a
// freelist page inside the file and below the high-water mark, hold as
// many ids as it says, and list only pages that exist, once each, and that
// the tree does not use (bbolt would hand them out and overwrite them).
// A file written without a freelist (bbolt's NoFreelistSync) has none.
func checkFreelist(data []byte, ps, id, hwm uint64, inTree map[uint64]bool) error {
	if id == noFreelist {
		return nil
	}
	le := binary.NativeEndian
	if id < 2 || id >= hwm || id*ps+pageHeader > uint64(len(data)) {
		return fmt.Errorf("freelist page %d out of range (2 to %d)", id, hwm)
	}
	hdr := data[id*ps:]
	flags, count, overflow := le.Uint16(hdr[8:]), uint64(le.Uint16(hdr[10:])), uint64(le.Uint32(hdr[12:]))
	if flags != freelistFlag {
		return fmt.Errorf("page %d is not a freelist page (flags %#x)", id, flags)
	}
	span := (overflow + 1) * ps
	if overflow >= hwm || id+overflow >= hwm || id*ps+span > uint64(len(data)) {
		return fmt.Errorf("freelist page %d with %d overflow pages past the end", id, overflow)
	}
	p := data[id*ps : id*ps+span]
	first := uint64(pageHeader)
	if count == 0xFFFF { // the real count is the first element
		if pageHeader+8 > span {
			return fmt.Errorf("freelist page %d: count past its end", id)
		}
		count, first = le.Uint64(p[pageHeader:]), pageHeader+8
	}
	if count > (span-first)/8 {
		return fmt.Errorf("freelist page %d says it holds %d ids, more than fit", id, count)
	}
	seen := make(map[uint64]bool, count)
	for i := range count {
		free := le.Uint64(p[first+8*i:])
		switch {
		case free < 2 || free >= hwm:
			return fmt.Errorf("freelist lists page %d, out of range (2 to %d)", free, hwm)
		case inTree[free]:
			return fmt.Errorf("freelist lists page %d, which holds data", free)
		case free >= id && free <= id+overflow:
			return fmt.Errorf("freelist lists its own page %d", free)
		case seen[free]:
			return fmt.Errorf("freelist lists page %d twice", free)
		}
		seen[free] = true
	}
	return nil
}
