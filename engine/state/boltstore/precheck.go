package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"
)

// precheck looks at what bbolt trusts without checking: the meta pages,
// the freelist page's header (a damaged count makes bbolt allocate without
// bound) and the tree of pages under every bucket (a branch page pointing
// at one of its ancestors sends bbolt round for ever, or into a fatal
// stack overflow; a leaf whose element count or offsets point past its
// page sends bbolt's cursor reading beyond it). It reads every page of
// every tree, and every inline bucket, once. It returns a *fileDamage, or
// nil when these look sound (or when the file is new or unreadable: bbolt
// then says why).
//
// A Store runs it once per file (checkOnce): the file only changes
// through bbolt after that, and bbolt writes no such damage.
func precheck(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil
	}
	damage := func(format string, args ...any) error {
		return &fileDamage{cause: fmt.Sprintf(format, args...), file: fi}
	}
	// Both meta pages: two pages of the size meta page 0 says, or, if it
	// is damaged, of the largest size parseRaw tries.
	n := int64(2*65536 + pageHeaderSize + 64)
	m0 := make([]byte, min(fi.Size(), pageHeaderSize+64))
	if _, err := f.ReadAt(m0, 0); err == nil {
		if m, ok := readMeta(m0); ok && m.pageSize >= 512 && m.pageSize <= 65536 {
			n = int64(m.pageSize + pageHeaderSize + 64)
		}
	}
	head := make([]byte, min(fi.Size(), n))
	if _, err := f.ReadAt(head, 0); err != nil {
		return damage("reading its meta pages: %v", err)
	}
	raw := parseRaw(head)
	if raw.pages == 0 && len(raw.problems) > 0 {
		return damage("%s", raw.problems[0])
	}
	k := &skeleton{r: f, size: fi.Size(), ps: raw.pageSize, seen: map[uint64]bool{}}
	if err := k.freelist(raw.freelist); err != nil {
		return damage("%v", err)
	}
	if err := k.tree("the root bucket", raw.root, k.buckets); err != nil {
		return damage("%v", err)
	}
	return nil
}

// lockedPrecheck is precheck under a shared lock on the file: looked at
// without one, pages may be halfway through a write.
func lockedPrecheck(ctx context.Context, path string, timeout time.Duration) error {
	f, _, err := openLocked(ctx, path, false, timeout)
	if err != nil {
		return err
	}
	defer f.Close()
	return precheck(path)
}

// skeleton reads a file's pages on demand, each at most once.
type skeleton struct {
	r    io.ReaderAt
	size int64
	ps   int
	seen map[uint64]bool
}

func (k *skeleton) freelist(id uint64) error {
	if id == noFreelist {
		return nil
	}
	pages := uint64(k.size) / uint64(k.ps)
	if id < 2 || id >= pages {
		return fmt.Errorf("its freelist page %d is outside the file", id)
	}
	hdr := make([]byte, pageHeaderSize+8)
	if _, err := k.r.ReadAt(hdr, int64(id)*int64(k.ps)); err != nil {
		return fmt.Errorf("reading its freelist: %v", err)
	}
	count := uint64(binary.LittleEndian.Uint16(hdr[10:]))
	if count == 0xFFFF {
		count = binary.LittleEndian.Uint64(hdr[pageHeaderSize:])
	}
	overflow := uint64(binary.LittleEndian.Uint32(hdr[12:]))
	if binary.LittleEndian.Uint16(hdr[8:]) != freelistPageFlag || count > pages || id+overflow >= pages {
		return fmt.Errorf("its freelist page %d is damaged", id)
	}
	return nil
}

// page reads page id: its header only, unless it is a branch page or
// whole is set. A page outside the file or seen before is an error.
func (k *skeleton) page(where string, id uint64, whole bool) ([]byte, error) {
	pages := uint64(k.size) / uint64(k.ps)
	if id < 2 || id >= pages {
		return nil, fmt.Errorf("%s: page %d is outside the file", where, id)
	}
	if k.seen[id] {
		return nil, fmt.Errorf("%s: page %d is reached twice", where, id)
	}
	k.seen[id] = true
	off := int64(id) * int64(k.ps)
	p := make([]byte, pageHeaderSize)
	if _, err := k.r.ReadAt(p, off); err != nil {
		return nil, fmt.Errorf("%s: page %d: %v", where, id, err)
	}
	if binary.LittleEndian.Uint16(p[8:]) != branchPageFlag && !whole {
		return p, nil
	}
	n := min(int64(1+int64(binary.LittleEndian.Uint32(p[12:])))*int64(k.ps), k.size-off)
	p = make([]byte, n)
	if _, err := k.r.ReadAt(p, off); err != nil {
		return nil, fmt.Errorf("%s: page %d: %v", where, id, err)
	}
	return p, nil
}

// tree walks the pages of the tree at page id, passing each leaf's
// elements to onLeaf, or, when onLeaf is nil, checking only that each
// leaf is one.
func (k *skeleton) tree(where string, id uint64, onLeaf func(string, []element) error) error {
	// Every page is read whole: a leaf whose element count or offsets are
	// damaged would send bbolt's cursor past the page.
	p, err := k.page(where, id, true)
	if err != nil {
		return err
	}
	switch binary.LittleEndian.Uint16(p[8:]) {
	case branchPageFlag:
		_, els, err := elements(p)
		if err != nil {
			return fmt.Errorf("%s: page %d: %v", where, id, err)
		}
		for _, el := range els {
			if err := k.tree(where, el.child, onLeaf); err != nil {
				return err
			}
		}
	case leafPageFlag:
		_, els, err := elements(p)
		if err != nil {
			return fmt.Errorf("%s: page %d: %v", where, id, err)
		}
		if onLeaf == nil {
			return nil
		}
		return onLeaf(where, els)
	default:
		return fmt.Errorf("%s: page %d is neither a branch nor a leaf page", where, id)
	}
	return nil
}

// buckets walks the trees of the buckets among els: the top-level ones,
// and under steps and logs the per-run ones.
func (k *skeleton) buckets(where string, els []element) error {
	for _, el := range els {
		if !el.bucket {
			continue
		}
		name := fmt.Sprintf("%s %q", where, el.key)
		if len(el.value) < inBucketSize {
			return fmt.Errorf("%s: bucket header is damaged", name)
		}
		root := binary.LittleEndian.Uint64(el.value)
		if root == 0 { // inline: a leaf page inside the value, holding no buckets
			if _, _, err := elements(el.value[inBucketSize:]); err != nil {
				return fmt.Errorf("%s: inline bucket: %v", name, err)
			}
			continue
		}
		var onLeaf func(string, []element) error
		if where == "the root bucket" && (string(el.key) == string(bucketSteps) || string(el.key) == string(bucketLogs)) {
			onLeaf = k.buckets
		}
		if err := k.tree(name, root, onLeaf); err != nil {
			return err
		}
	}
	return nil
}
