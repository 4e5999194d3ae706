package rclone

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/object"

	"github.com/zrun-dev/zrun/sdk"
)

// smallObject is how much of a stream is read before deciding how to
// upload it: a stream that ends within it is uploaded with its size known
// (one request on S3 and B2), a longer one is streamed (multipart).
const smallObject = 1 << 20

// tempPrefix and tempSuffix make the hidden name a file is uploaded
// under, beside its final name, on remotes where a failed upload can
// leave a partial file (local, sftp): ".<name>.zrun-<random>.partial".
const (
	tempPrefix = "."
	tempMarker = ".zrun-"
	tempSuffix = ".partial"
)

// isTemp reports whether name is one of the hidden names uploads use.
func isTemp(name string) bool {
	return strings.HasPrefix(name, tempPrefix) && strings.Contains(name, tempMarker) && strings.HasSuffix(name, tempSuffix)
}

// sums are what an upload or download measured of the bytes it moved.
type sums struct {
	bytes  int64
	sha256 string
	md5    string
}

// meter counts and hashes the bytes read through it, and reports
// progress. eof is set once its reader returned io.EOF: an upload that
// a backend finished without reading its input to the end did not
// upload the stream.
type meter struct {
	r      io.Reader
	sha    hash.Hash
	md5    hash.Hash
	n      int64
	eof    bool
	report *progress
}

func newMeter(r io.Reader, p *progress) *meter {
	return &meter{r: r, sha: sha256.New(), md5: md5.New(), report: p}
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if n > 0 {
		m.sha.Write(p[:n])
		m.md5.Write(p[:n])
		m.n += int64(n)
		m.report.set(m.n)
	}
	if errors.Is(err, io.EOF) {
		m.eof = true
	}
	return n, err
}

func (m *meter) sums() sums {
	return sums{bytes: m.n, sha256: hex.EncodeToString(m.sha.Sum(nil)), md5: hex.EncodeToString(m.md5.Sum(nil))}
}

// progress reports bytes moved to the UI at most a few times a second.
type progress struct {
	ui    sdk.UI
	total int64
	what  string
	start time.Time

	mu   sync.Mutex
	last time.Time
}

// progressEvery is the least time between two progress reports.
const progressEvery = 250 * time.Millisecond

func newProgress(ui sdk.UI, total int64, what string) *progress {
	now := time.Now()
	return &progress{ui: ui, total: total, what: what, start: now, last: now}
}

func (p *progress) set(done int64) {
	p.mu.Lock()
	now := time.Now()
	due := now.Sub(p.last) >= progressEvery
	if due {
		p.last = now
	}
	p.mu.Unlock()
	if due {
		p.ui.Progress(done, p.total, p.message(done, now))
	}
}

// finish reports the final count.
func (p *progress) finish(done int64) {
	p.ui.Progress(done, p.total, p.message(done, time.Now()))
}

func (p *progress) message(done int64, now time.Time) string {
	elapsed := now.Sub(p.start).Seconds()
	if elapsed <= 0 {
		return fmt.Sprintf("%s %s", p.what, sizeText(done))
	}
	rate := float64(done) / elapsed
	msg := fmt.Sprintf("%s %s at %s/s", p.what, sizeText(done), sizeText(int64(rate)))
	if p.total > 0 && rate > 0 && done < p.total {
		eta := time.Duration(float64(p.total-done) / rate * float64(time.Second)).Round(time.Second)
		msg += fmt.Sprintf(", %s left", eta)
	}
	return msg
}

// putAtomic uploads in as the object p of r (size -1 when unknown) so
// that nothing complete-looking is at p unless the whole of in was
// uploaded: on S3 and B2 (and crypt over them) an upload is published
// only when it completes, and a failed multipart upload is aborted; on
// the others the bytes go to a hidden name beside p, renamed into place
// once complete. in must be a meter's reader: the upload fails unless in
// was read to its end.
func putAtomic(ctx context.Context, r *remote, p string, m *meter, size int64) (fs.Object, error) {
	dir, name := path.Split(p)
	f, err := r.fs(ctx, strings.TrimSuffix(dir, "/"))
	if err != nil {
		return nil, err
	}
	dest := name
	staged := !publishesWhole(f)
	if staged {
		dest = tempName(name)
		if f.Features().Move == nil {
			return nil, fmt.Errorf("cannot upload to %s atomically: its backend can neither publish a whole upload nor rename", r.label)
		}
	}
	var in io.Reader = m
	if size < 0 {
		// Read the head first: a stream that ends within it is uploaded
		// with its size known.
		head := make([]byte, smallObject)
		n, err := io.ReadFull(m, head)
		switch {
		case err == nil:
			in = io.MultiReader(bytes.NewReader(head[:n]), m)
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			in, size = bytes.NewReader(head[:n]), int64(n)
		default:
			return nil, fmt.Errorf("reading the stream: %w", err)
		}
	}
	info := object.NewStaticObjectInfo(dest, time.Now(), size, true, nil, f)
	var obj fs.Object
	if size >= 0 {
		obj, err = f.Put(ctx, in, info)
	} else if put := f.Features().PutStream; put != nil {
		obj, err = put(ctx, in, info)
	} else {
		return nil, fmt.Errorf("%s cannot take a stream of unknown size", r.label)
	}
	if err != nil && !staged {
		// A failed direct upload published nothing: whatever obj is,
		// the object at p is the previous one, if any.
		obj = nil
	}
	if err == nil && !m.eof {
		err = errors.New("the backend finished before the stream ended")
	}
	if err == nil && obj != nil && obj.Size() >= 0 && obj.Size() != m.n {
		err = fmt.Errorf("the remote holds %d bytes, %d were sent", obj.Size(), m.n)
	}
	if err != nil {
		removeQuietly(ctx, f, obj, dest, staged)
		return nil, r.wrap(err)
	}
	if staged {
		moved, err := f.Features().Move(ctx, obj, name)
		if err != nil {
			removeQuietly(ctx, f, obj, dest, true)
			return nil, r.wrap(fmt.Errorf("renaming the upload into place: %w", err))
		}
		obj = moved
	}
	return obj, nil
}

// removeQuietly removes what a failed upload may have left: its hidden
// file, or an object a direct upload published that does not hold the
// stream (an object a failed direct upload did not publish is not there).
func removeQuietly(ctx context.Context, f fs.Fs, obj fs.Object, dest string, staged bool) {
	// The step's context may be why the upload failed: clean up anyway,
	// for a bounded time.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if obj == nil && staged {
		obj, _ = f.NewObject(ctx, dest)
	}
	if obj != nil {
		_ = obj.Remove(ctx)
	}
}

// publishesWhole reports whether f's backend makes an upload visible only
// once it completed (object stores), so no staging is needed.
func publishesWhole(f fs.Fs) bool {
	base := fs.UnWrapFs(f)
	ri := fs.FindFromFs(base)
	return ri != nil && (ri.Name == "s3" || ri.Name == "b2")
}

func tempName(name string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return tempPrefix + name + tempMarker + hex.EncodeToString(b) + tempSuffix
}

// object returns the object p of r.
func (r *remote) object(ctx context.Context, p string) (fs.Fs, fs.Object, error) {
	dir, name := path.Split(p)
	f, err := r.fs(ctx, strings.TrimSuffix(dir, "/"))
	if err != nil {
		return nil, nil, err
	}
	obj, err := f.NewObject(ctx, name)
	if err != nil {
		return f, nil, r.wrap(err)
	}
	return f, obj, nil
}

// readAll streams the object p of r into w (which may be nil: the bytes
// are then only measured), checking that every byte arrived.
func readAll(ctx context.Context, r *remote, p string, w io.Writer, ui sdk.UI, verb string) (sums, error) {
	_, obj, err := r.object(ctx, p)
	if err != nil {
		return sums{}, err
	}
	rc, err := obj.Open(ctx)
	if err != nil {
		return sums{}, r.wrap(err)
	}
	defer rc.Close()
	prog := newProgress(ui, max(obj.Size(), 0), verb+" "+p)
	m := newMeter(rc, prog)
	if w == nil {
		w = io.Discard
	}
	if _, err := io.Copy(w, m); err != nil {
		return sums{}, r.wrap(err)
	}
	if obj.Size() >= 0 && m.n != obj.Size() {
		return sums{}, fmt.Errorf("%s: read %d bytes, the remote says it holds %d", p, m.n, obj.Size())
	}
	prog.finish(m.n)
	return m.sums(), nil
}

// sizeText renders a byte count for people: "512 B", "1.5 MiB".
func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
