package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	"github.com/zrun-dev/zrun/engine/state"
)

// Reading a damaged file without bbolt. bbolt trusts its pages: a flipped
// byte can send it outside the file or into a loop. This reader checks
// every offset against the file, so it never faults, and visits each page
// once, so it never loops. It reads the live tree first (the current
// version of every record), then every leaf page in the file, so a record
// under a damaged branch page is still found; an older copy of a record
// in a freed page counts only when the live tree has lost that record.
//
// The layout is bbolt's (go.etcd.io/bbolt/internal/common), little-endian
// as on every platform zrun is built for.

const (
	pageHeaderSize   = 16
	elementSize      = 16 // a branch and a leaf element have the same size
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	metaPageFlag     = 0x04
	freelistPageFlag = 0x10
	noFreelist       = 0xffffffffffffffff
	bucketLeafFlag   = 0x01
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	inBucketSize     = 16
)

// rawFile is a ledger file's bytes.
type rawFile struct {
	data     []byte
	pageSize int
	pages    int // how many pages the meta says the file uses
	root     uint64
	freelist uint64
	problems []string
}

// meta is the valid meta page with the highest transaction id.
type meta struct {
	pageSize         int
	root, free, high uint64
	txid             uint64
}

func readMeta(b []byte) (meta, bool) {
	if len(b) < pageHeaderSize+64 || binary.LittleEndian.Uint16(b[8:]) != metaPageFlag {
		return meta{}, false
	}
	m := b[pageHeaderSize:]
	h := fnv.New64a()
	h.Write(m[:56])
	if binary.LittleEndian.Uint32(m[0:]) != boltMagic || binary.LittleEndian.Uint32(m[4:]) != boltVersion ||
		h.Sum64() != binary.LittleEndian.Uint64(m[56:]) {
		return meta{}, false
	}
	return meta{
		pageSize: int(binary.LittleEndian.Uint32(m[8:])),
		root:     binary.LittleEndian.Uint64(m[16:]),
		free:     binary.LittleEndian.Uint64(m[32:]),
		high:     binary.LittleEndian.Uint64(m[40:]),
		txid:     binary.LittleEndian.Uint64(m[48:]),
	}, true
}

// parseRaw finds the file's meta pages. Without a valid one there is no
// live tree, and only the scan of every page can find records.
func parseRaw(data []byte) *rawFile {
	f := &rawFile{data: data, pageSize: 4096}
	var best meta
	found := false
	m0, ok0 := readMeta(data)
	if ok0 {
		best, found = m0, true
	}
	for _, ps := range []int{m0.pageSize, 4096, 8192, 16384, 65536} {
		if ps <= 0 || ps > len(data) {
			continue
		}
		if m1, ok := readMeta(data[ps:]); ok && m1.pageSize == ps && (!found || m1.txid > best.txid) {
			best, found = m1, true
			break
		}
	}
	if !found || best.pageSize < 512 || best.pageSize > 1<<20 {
		f.problems = append(f.problems, "both meta pages are damaged")
		return f
	}
	if !ok0 {
		f.problems = append(f.problems, "meta page 0 is damaged")
	}
	f.pageSize, f.pages, f.root, f.freelist = best.pageSize, int(min(best.high, uint64(len(data)/best.pageSize))), best.root, best.free
	return f
}

// page returns page id and its overflow pages, or nil if it lies outside
// the file.
func (f *rawFile) page(id uint64) []byte {
	if id < 2 || id >= uint64(len(f.data)/f.pageSize) {
		return nil
	}
	off := int(id) * f.pageSize
	p := f.data[off:]
	if len(p) < pageHeaderSize {
		return nil
	}
	overflow := int(binary.LittleEndian.Uint32(p[12:]))
	end := off + (1+overflow)*f.pageSize
	if overflow < 0 || end > len(f.data) || end < off {
		end = off + f.pageSize // a damaged overflow count: the first page at least
	}
	return f.data[off:end]
}

type element struct {
	bucket     bool
	key, value []byte
	child      uint64 // branch elements
}

// elements parses a page's elements; a page that is neither a branch nor
// a leaf, or whose elements point outside it, is reported as an error
// with the elements that could be read.
func elements(p []byte) (flags uint16, out []element, err error) {
	if len(p) < pageHeaderSize {
		return 0, nil, fmt.Errorf("page too short")
	}
	flags = binary.LittleEndian.Uint16(p[8:])
	count := int(binary.LittleEndian.Uint16(p[10:]))
	if flags != branchPageFlag && flags != leafPageFlag {
		return flags, nil, fmt.Errorf("not a branch or leaf page (flags %#x)", flags)
	}
	for i := range count {
		at := pageHeaderSize + i*elementSize
		if at+elementSize > len(p) {
			return flags, out, fmt.Errorf("%d elements do not fit in the page", count)
		}
		e := p[at : at+elementSize]
		var el element
		var pos, ksize, vsize int
		if flags == branchPageFlag {
			pos, ksize = int(binary.LittleEndian.Uint32(e[0:])), int(binary.LittleEndian.Uint32(e[4:]))
			el.child = binary.LittleEndian.Uint64(e[8:])
		} else {
			el.bucket = binary.LittleEndian.Uint32(e[0:])&bucketLeafFlag != 0
			pos, ksize, vsize = int(binary.LittleEndian.Uint32(e[4:])), int(binary.LittleEndian.Uint32(e[8:])), int(binary.LittleEndian.Uint32(e[12:]))
		}
		start := at + pos
		if pos < 0 || ksize < 0 || vsize < 0 || start < at || start+ksize+vsize > len(p) || start+ksize+vsize < start {
			err = fmt.Errorf("element %d points outside the page", i)
			continue
		}
		el.key = p[start : start+ksize]
		el.value = p[start+ksize : start+ksize+vsize]
		out = append(out, el)
	}
	return flags, out, err
}

// walk calls fn for each leaf element of the tree rooted at page id,
// visiting a page at most once.
func (f *rawFile) walk(where string, id uint64, seen map[uint64]bool, fn func(element)) {
	if seen[id] {
		f.problems = append(f.problems, fmt.Sprintf("%s: page %d is reached twice", where, id))
		return
	}
	seen[id] = true
	p := f.page(id)
	if p == nil {
		f.problems = append(f.problems, fmt.Sprintf("%s: page %d is outside the file", where, id))
		return
	}
	flags, els, err := elements(p)
	if err != nil {
		f.problems = append(f.problems, fmt.Sprintf("%s: page %d: %v", where, id, err))
	}
	for _, el := range els {
		if flags == branchPageFlag {
			f.walk(where, el.child, seen, fn)
		} else {
			fn(el)
		}
	}
}

// walkBucket calls fn for each element of the bucket whose header is v.
func (f *rawFile) walkBucket(where string, v []byte, seen map[uint64]bool, fn func(element)) {
	if len(v) < inBucketSize {
		f.problems = append(f.problems, fmt.Sprintf("%s: bucket header is damaged", where))
		return
	}
	if root := binary.LittleEndian.Uint64(v); root != 0 {
		f.walk(where, root, seen, fn)
		return
	}
	flags, els, err := elements(v[inBucketSize:])
	if err == nil && flags != leafPageFlag {
		err = fmt.Errorf("inline bucket is not a leaf")
	}
	if err != nil {
		f.problems = append(f.problems, fmt.Sprintf("%s: %v", where, err))
	}
	for _, el := range els {
		fn(el)
	}
}

// dataset is every record read from a ledger file.
type dataset struct {
	runs     map[string]*state.Run
	steps    map[string]map[string]*stepRecord // run id, step key
	logs     map[string]map[int64]state.LogLine
	locks    map[string]state.LockHolder
	problems []string
	// standIns counts the runs adoptOrphans made up.
	standIns int
}

func newDataset() *dataset {
	return &dataset{runs: map[string]*state.Run{}, steps: map[string]map[string]*stepRecord{},
		logs: map[string]map[int64]state.LogLine{}, locks: map[string]state.LockHolder{}}
}

// readDataset reads every record of a ledger file's bytes.
func readDataset(data []byte) *dataset {
	f := parseRaw(data)
	d := newDataset()
	if f.pages > 0 {
		f.readLive(d)
	}
	live := len(f.problems) == 0
	d.problems = f.problems
	if !live {
		// Only when the live tree is damaged: records it lost may be in
		// pages it no longer reaches.
		f.scanPages(d)
	}
	d.standIns = d.adoptOrphans()
	return d
}

// readLive reads the tree the meta page names.
func (f *rawFile) readLive(d *dataset) {
	seen := map[uint64]bool{}
	f.walk("root", f.root, seen, func(top element) {
		if !top.bucket {
			return
		}
		name := string(top.key)
		f.walkBucket(name, top.value, seen, func(el element) {
			switch name {
			case string(bucketRuns):
				f.liveRun(d, el)
			case string(bucketLocks):
				var h state.LockHolder
				if json.Unmarshal(el.value, &h) != nil || h.Key != string(el.key) {
					f.problems = append(f.problems, fmt.Sprintf("lock %q is unreadable", el.key))
					return
				}
				d.locks[h.Key] = h
			case string(bucketSteps), string(bucketLogs):
				if !el.bucket {
					return
				}
				runID := string(el.key)
				f.walkBucket(fmt.Sprintf("%s of run %s", name, runID), el.value, seen, func(rec element) {
					if !d.addRecord(rec.value) || recordRun(rec.value) != runID {
						f.problems = append(f.problems, fmt.Sprintf("a record in the %s of run %s is unreadable", name, runID))
					}
				})
			}
		})
	})
}

func (f *rawFile) liveRun(d *dataset, el element) {
	var r state.Run
	if json.Unmarshal(el.value, &r) != nil || r.ID != string(el.key) {
		f.problems = append(f.problems, fmt.Sprintf("the record of run %q is unreadable", el.key))
		return
	}
	d.runs[r.ID] = &r
}

// scanPages reads every leaf page, live or freed, for records the live
// tree did not give. Bucket records are told apart by their fields.
func (f *rawFile) scanPages(d *dataset) {
	found := newDataset()
	var visit func(el element)
	visit = func(el element) {
		if el.bucket {
			if len(el.value) >= inBucketSize && binary.LittleEndian.Uint64(el.value) == 0 {
				if _, els, _ := elements(el.value[inBucketSize:]); els != nil {
					for _, in := range els {
						visit(in)
					}
				}
			}
			return
		}
		found.addRecord(el.value)
	}
	for id := 2; id < len(f.data)/f.pageSize; id++ {
		p := f.data[id*f.pageSize : (id+1)*f.pageSize]
		if binary.LittleEndian.Uint16(p[8:]) != leafPageFlag {
			continue
		}
		_, els, _ := elements(f.page(uint64(id)))
		for _, el := range els {
			visit(el)
		}
	}
	for id, r := range found.runs {
		if _, ok := d.runs[id]; !ok {
			d.runs[id] = r
		}
	}
	for runID, steps := range found.steps {
		for k, rec := range steps {
			d.addStep(runID, k, rec, false)
		}
	}
	for _, lines := range found.logs {
		for _, l := range lines {
			d.addLog(l)
		}
	}
}

// addRecord adds a run, step or log line record, by its fields; it
// reports whether v was one. A newer copy wins over an older one.
func (d *dataset) addRecord(v []byte) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(v, &fields) != nil {
		return false
	}
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := fields[n]; !ok {
				return false
			}
		}
		return true
	}
	switch {
	case has("id", "workflow", "lock_key", "started_at"):
		var r state.Run
		if json.Unmarshal(v, &r) != nil || r.ID == "" {
			return false
		}
		if old, ok := d.runs[r.ID]; !ok || newer(r.Status, r.EndedAt.Unix(), old.Status, old.EndedAt.Unix()) {
			d.runs[r.ID] = &r
		}
	case has("run_id", "step", "attempt", "Order"):
		var rec stepRecord
		if json.Unmarshal(v, &rec) != nil || rec.RunID == "" {
			return false
		}
		d.addStep(rec.RunID, string(stepKey(rec.Addr, rec.Attempt)), &rec, true)
	case has("RunID", "Seq", "Line", "Stream"):
		var l state.LogLine
		if json.Unmarshal(v, &l) != nil || l.RunID == "" || l.Seq <= 0 {
			return false
		}
		d.addLog(l)
	default:
		return false
	}
	return true
}

// newer reports whether a record with status a (ended at ae) is a later
// version than one with status b: a step or run only ever moves from
// running to its end.
func newer(a state.Status, ae int64, b state.Status, be int64) bool {
	if (a == state.StatusRunning) != (b == state.StatusRunning) {
		return b == state.StatusRunning
	}
	return ae > be
}

func (d *dataset) addStep(runID, key string, rec *stepRecord, replace bool) {
	m := d.steps[runID]
	if m == nil {
		m = map[string]*stepRecord{}
		d.steps[runID] = m
	}
	if old, ok := m[key]; !ok || (replace && newer(rec.Status, rec.EndedAt.UnixNano(), old.Status, old.EndedAt.UnixNano())) {
		m[key] = rec
	}
}

func (d *dataset) addLog(l state.LogLine) {
	m := d.logs[l.RunID]
	if m == nil {
		m = map[int64]state.LogLine{}
		d.logs[l.RunID] = m
	}
	if _, ok := m[l.Seq]; !ok {
		m[l.Seq] = l
	}
}

// recordRun is the run id a step or log record names.
func recordRun(v []byte) string {
	var ids struct {
		A string `json:"run_id"`
		B string `json:"RunID"`
	}
	_ = json.Unmarshal(v, &ids)
	return ids.A + ids.B
}

// adoptOrphans gives the steps and lines of a run whose own record is
// lost a stand-in record, so that they stay visible; it returns how many
// runs it stood in for.
func (d *dataset) adoptOrphans() int {
	n := 0
	adopt := func(id string, at time.Time) {
		r := d.runs[id]
		if r == nil {
			r = &state.Run{ID: id, Status: state.StatusAbandoned, StartedAt: at, Error: lostRunRecord}
			d.runs[id] = r
			n++
		}
		if r.Error == lostRunRecord && (r.StartedAt.IsZero() || at.Before(r.StartedAt)) && !at.IsZero() {
			r.StartedAt = at
		}
	}
	for id, steps := range d.steps {
		for _, st := range steps {
			adopt(id, st.StartedAt)
		}
	}
	for id, lines := range d.logs {
		for _, l := range lines {
			adopt(id, l.Time)
		}
	}
	return n
}

// lostRunRecord is the Error of a run salvaged from its steps and lines.
const lostRunRecord = "the ledger was damaged and this run's own record lost; its steps and output were salvaged"

// listRuns answers ListRuns from the dataset.
func (d *dataset) listRuns(f state.Filter) []*state.Run {
	var out []*state.Run
	for _, r := range d.runs {
		if f.Match(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.After(out[j].StartedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out[:min(len(out), f.MaxRuns())]
}

// runSteps answers Steps from the dataset.
func (d *dataset) runSteps(runID string) []*state.Step {
	recs := make([]stepRecord, 0, len(d.steps[runID]))
	for _, rec := range d.steps[runID] {
		recs = append(recs, *rec)
	}
	return sortSteps(recs)
}

// runLogs answers Logs from the dataset.
func (d *dataset) runLogs(runID, step string, afterSeq int64) []state.LogLine {
	var out []state.LogLine
	for _, l := range d.logs[runID] {
		if l.Seq > afterSeq && (step == "" || l.Step == step) {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}
