package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// mixed is a reader of n deterministic bytes of mixed content, made as
// they are read (nothing is held): 64 KiB blocks, a quarter of them
// random (incompressible, as compressed columns or keys), the rest text
// of words drawn from a small vocabulary (as a dump's rows), which
// compresses about 3 to 1.
type mixed struct {
	rng   *rand.ChaCha8
	left  int64
	block []byte
	off   int
}

const mixedBlock = 64 << 10

var vocabulary = func() [][]byte {
	words := strings.Fields("INSERT INTO public.orders VALUES id name email created_at status paid shipped cancelled " +
		"2026-11-30 2026-12-01 NULL true false alice bob carol dave eve mallory trent peggy victor walter " +
		"0 1 2 3 4 5 6 7 8 9 10 42 100 1000 ( ) , ; ' \\N \t \n COPY FROM stdin")
	out := make([][]byte, 256)
	for i := range out {
		w := words[i%len(words)]
		if i >= len(words) { // more words: numbers of several digits
			w = strings.Repeat(w, 1+i%3)
		}
		out[i] = []byte(w + " ")
	}
	return out
}()

func newMixed(seed byte, n int64) *mixed {
	return &mixed{rng: rand.NewChaCha8([32]byte{seed}), left: n, block: make([]byte, 0, mixedBlock+64)}
}

func (m *mixed) Read(p []byte) (int, error) {
	if m.left == 0 {
		return 0, io.EOF
	}
	if m.off == len(m.block) {
		m.fill()
	}
	n := copy(p, m.block[m.off:])
	if int64(n) > m.left {
		n = int(m.left)
	}
	m.off += n
	m.left -= int64(n)
	return n, nil
}

func (m *mixed) fill() {
	m.block, m.off = m.block[:0], 0
	if m.rng.Uint64()%4 == 0 {
		m.block = m.block[:mixedBlock]
		_, _ = m.rng.Read(m.block)
		return
	}
	var word [8]byte
	for len(m.block) < mixedBlock {
		binary.LittleEndian.PutUint64(word[:], m.rng.Uint64())
		for _, w := range word {
			m.block = append(m.block, vocabulary[w]...)
		}
	}
}

// mixedBytes is n bytes of newMixed(seed, n), held.
func mixedBytes(t testing.TB, seed byte, n int64) []byte {
	t.Helper()
	data, err := io.ReadAll(newMixed(seed, n))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// big is the data of the round trips: bigger than zstd's window and than
// a parallel job, so matches and jobs cross their boundaries. Made once.
var big = sync.OnceValue(func() []byte {
	data, _ := io.ReadAll(newMixed(1, sized(64<<20)))
	return data
})

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// packed is what a pack did.
type packed struct {
	res  *sdktest.Result
	data []byte // the stream
}

func (p packed) out(name string) cty.Value { return p.res.Outputs.GetAttr(name) }

// runPackOn packs input with args (from is set here).
func runPackOn(t testing.TB, input io.Reader, args map[string]cty.Value) packed {
	t.Helper()
	all := map[string]cty.Value{"from": cty.StringVal("step.dump.stream")}
	for k, v := range args {
		all[k] = v
	}
	res := sdktest.Run(t, Plugin(), "pack", all, sdktest.WithInput("from", input), sdktest.WithOutput("stream"))
	return packed{res: res, data: []byte(res.Streams["stream"])}
}

// runUnpackOn unpacks input with args; the result's stream is what its
// consumer got.
func runUnpackOn(t testing.TB, input []byte, args map[string]cty.Value) packed {
	t.Helper()
	all := map[string]cty.Value{"from": cty.StringVal("step.download.stream")}
	for k, v := range args {
		all[k] = v
	}
	res := sdktest.Run(t, Plugin(), "unpack", all, sdktest.WithInput("from", bytes.NewReader(input)), sdktest.WithOutput("stream"))
	return packed{res: res, data: []byte(res.Streams["stream"])}
}

// keys is an age key pair.
type keys struct {
	secret, public string
}

func newKeys(t testing.TB) keys {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return keys{secret: id.String(), public: id.Recipient().String()}
}

func strs(ss ...string) cty.Value {
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

// tool finds a command the test needs: missing, the test skips naming
// install, or fails under CI=true.
func tool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (CI=true): %s", name, install)
	}
	t.Skipf("%s is missing: %s", name, install)
	return ""
}

// heapSampler watches the bytes of live and not yet swept heap objects
// (runtime/metrics), every few milliseconds, from its start to peak.
type heapSampler struct {
	base, max uint64
	stop      chan struct{}
	wg        sync.WaitGroup
}

const heapObjects = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	h := &heapSampler{base: heapNow(), stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			h.max = max(h.max, heapNow())
			select {
			case <-h.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return h
}

// peak stops the sampler and returns the highest heap above its start.
func (h *heapSampler) peak() uint64 {
	close(h.stop)
	h.wg.Wait()
	if h.max < h.base {
		return 0
	}
	return h.max - h.base
}

// runWithoutOutput runs action on input with no step reading its stream.
func runWithoutOutput(t testing.TB, action string, input []byte, args map[string]cty.Value) *sdktest.Result {
	t.Helper()
	return sdktest.Run(t, Plugin(), action, args, sdktest.WithInput("from", bytes.NewReader(input)))
}

// plan plans action with args in process, as zrun plan does.
func plan(t testing.TB, action string, args map[string]cty.Value) *sdk.PlanResponse {
	t.Helper()
	var planner sdk.Planner
	for _, a := range Plugin().Actions {
		if a.Schema().Name == action {
			planner = a.(sdk.Planner)
		}
	}
	resp, err := planner.Plan(t.Context(), &sdk.PlanRequest{Args: sdktest.Args(t, Plugin(), action, args)})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
