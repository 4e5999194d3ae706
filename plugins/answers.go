package plugins

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/zrun-dev/zrun/dsl/limits"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/rpc"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// answers keeps what one plugin executable answers that depends on the
// executable and the request alone, its schema and its validation of
// arguments, in a file under Options.CacheDir named after the
// executable's identity: its path, size and modification time, its entry
// in the lock file and the protocol version. A rebuilt or replaced plugin
// has another identity, so a stale answer is never used; `zrun validate`
// on an unchanged project starts no plugin at all.
//
// The file is only a cache: one that cannot be read or decoded is
// ignored and rewritten, and writing it may fail without harm. Only a
// regular file of bounded size is read; anything else in its place is
// reported as a warning and replaced.
type answers struct {
	path   string
	plugin string
	logger hclog.Logger

	mu     sync.Mutex
	loaded bool
	data   answerFile
}

// answerFile is the cache file's content.
type answerFile struct {
	Version     int                        `json:"version"`
	Identity    string                     `json:"identity"`
	Schema      []byte                     `json:"schema,omitempty"`
	Validations map[string]cachedValidated `json:"validations,omitempty"`
}

type cachedValidated struct {
	Diagnostics []byte `json:"diagnostics"`
	// Added orders the entries: beyond maxValidations the oldest go.
	Added int64 `json:"added"`
}

const (
	answerFileVersion = 1
	maxValidations    = 4096
	idLen             = 16 // hex digits of the identity in the file name
)

// answersFor returns the cache of pc's executable, or nil when there is
// none (no CacheDir, or the executable cannot be examined) or the plugin
// is not pinned by the lock file: then it must start, and be refused.
func (m *Manager) answersFor(pc *pluginClient) *answers {
	if m.opts.CacheDir == "" {
		return nil
	}
	if _, err := m.pinned(pc); err != nil {
		return nil
	}
	id, err := m.identity(pc)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256([]byte(id))
	name := pc.name + "-" + hex.EncodeToString(sum[:idLen/2]) + ".json"
	return &answers{path: filepath.Join(m.opts.CacheDir, name), plugin: pc.name, logger: m.opts.Logger, data: answerFile{Identity: id}}
}

// identity names a plugin executable as it is now, without reading it.
func (m *Manager) identity(pc *pluginClient) (string, error) {
	fi, err := os.Stat(pc.path)
	if err != nil {
		return "", err
	}
	lock := "no lock file"
	if l := m.opts.Lock; l != nil && !pc.builtin {
		lock = "not locked"
		if e, ok := l.Plugins[pc.name]; ok {
			lock = "sha256 " + e.SHA256
		}
	}
	return fmt.Sprintf("protocol %d; %s %s; size %d; modified %d; %s",
		rpc.ProtocolVersion, pc.path, strings.Join(pc.args, " "), fi.Size(), fi.ModTime().UnixNano(), lock), nil
}

// load reads the file once; a missing, unreadable or foreign one counts
// as empty. Called with a.mu held.
func (a *answers) load() {
	if a.loaded {
		return
	}
	a.loaded = true
	b, err := limits.ReadRegular(a.path, maxAnswerSize)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			a.logger.Warn("ignoring the plugin answer cache", "plugin", a.plugin, "error", err.Error())
		}
		return
	}
	var f answerFile
	if json.Unmarshal(b, &f) != nil || f.Version != answerFileVersion || f.Identity != a.data.Identity {
		return
	}
	a.data = f
}

func (a *answers) schema() *schema.Plugin {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.load()
	if a.data.Schema == nil {
		return nil
	}
	s, err := rpc.UnmarshalSchema(a.data.Schema)
	if err != nil {
		return nil
	}
	return s
}

func (a *answers) putSchema(s *schema.Plugin) {
	b, err := rpc.MarshalSchema(s)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.load()
	a.data.Schema = b
	a.save()
}

// validation returns the cached diagnostics of a call by its key.
func (a *answers) validation(key string) (sdk.Diagnostics, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.load()
	v, ok := a.data.Validations[key]
	if !ok {
		return nil, false
	}
	d, err := rpc.UnmarshalDiagnostics(v.Diagnostics)
	return d, err == nil
}

// putValidations records diagnostics by key, all in one write.
func (a *answers) putValidations(keys []string, diags []sdk.Diagnostics) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.load()
	if a.data.Validations == nil {
		a.data.Validations = map[string]cachedValidated{}
	}
	now := time.Now().UnixNano()
	for i, k := range keys {
		b, err := rpc.MarshalDiagnostics(diags[i])
		if err != nil {
			continue
		}
		a.data.Validations[k] = cachedValidated{Diagnostics: b, Added: now}
	}
	if extra := len(a.data.Validations) - maxValidations; extra > 0 {
		byAge := make([]string, 0, len(a.data.Validations))
		for k := range a.data.Validations {
			byAge = append(byAge, k)
		}
		slices.SortFunc(byAge, func(x, y string) int {
			return cmp.Compare(a.data.Validations[x].Added, a.data.Validations[y].Added)
		})
		for _, k := range byAge[:extra] {
			delete(a.data.Validations, k)
		}
	}
	a.save()
}

// save replaces the file atomically and removes the plugin's files of
// other identities (older builds). Called with a.mu held.
func (a *answers) save() {
	a.data.Version = answerFileVersion
	b, err := json.Marshal(a.data)
	if err != nil {
		return
	}
	dir := filepath.Dir(a.path)
	if os.MkdirAll(dir, 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".answers-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), a.path) != nil {
		_ = os.Remove(tmp.Name())
		return
	}
	old, _ := filepath.Glob(filepath.Join(dir, a.plugin+"-"+strings.Repeat("?", idLen)+".json"))
	for _, f := range old {
		if f != a.path {
			_ = os.Remove(f)
		}
	}
}
