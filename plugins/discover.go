package plugins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// ExecutablePrefix starts the file name of every external plugin.
const ExecutablePrefix = "zrun-plugin-"

// PathEnv lists more directories to search, separated like PATH.
const PathEnv = "ZRUN_PLUGIN_PATH"

// Found is an external plugin executable.
type Found struct {
	Name string
	Path string
}

// SearchDirs returns where external plugins are looked for, in order:
// the project's .zrun/plugins, the user's ~/.zrun/plugins, then each
// directory in $ZRUN_PLUGIN_PATH.
func SearchDirs(projectDir string) []string {
	dirs := []string{filepath.Join(projectDir, ".zrun", "plugins")}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".zrun", "plugins"))
	}
	for _, d := range filepath.SplitList(os.Getenv(PathEnv)) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// Discover lists the plugin executables in dirs. When two directories
// hold the same plugin, the earlier directory wins. Missing directories
// are skipped; an unreadable one is an error, after the others are read.
func Discover(dirs []string) ([]Found, error) {
	var found []Found
	var errs []error
	seen := map[string]bool{}
	for _, dir := range dirs {
		// Opening a FIFO would wait for a writer: only a folder is read.
		info, err := os.Stat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		var entries []os.DirEntry
		if err == nil && !info.IsDir() {
			err = fmt.Errorf("%s is not a folder", dir)
		}
		if err == nil {
			entries, err = os.ReadDir(dir)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reading plugin directory: %w", err))
			continue
		}
		for _, e := range entries {
			name, ok := pluginName(e.Name())
			if !ok || seen[name] || !isExecutable(dir, e) {
				continue
			}
			seen[name] = true
			found = append(found, Found{Name: name, Path: filepath.Join(dir, e.Name())})
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].Name < found[j].Name })
	return found, errors.Join(errs...)
}

func pluginName(file string) (string, bool) {
	if runtime.GOOS == "windows" {
		file = strings.TrimSuffix(file, ".exe")
	}
	name, ok := strings.CutPrefix(file, ExecutablePrefix)
	return name, ok && name != ""
}

func isExecutable(dir string, e fs.DirEntry) bool {
	// Stat follows symlinks; a FIFO or a device is no plugin.
	info, err := os.Stat(filepath.Join(dir, e.Name()))
	if err != nil || !info.Mode().IsRegular() {
		return false
	}
	return runtime.GOOS == "windows" || info.Mode()&0o111 != 0
}
