package docker

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// buildContext writes a folder as the tar a build's context is: what
// .dockerignore leaves (the Dockerfile and .dockerignore always, as the
// docker CLI sends them, the engine dropping them itself when ignored),
// paths relative to the folder, owned by root, modes and modification
// times kept, symbolic links stored as links (not followed). Files are
// copied as they are read: nothing is held whole.
type buildContext struct {
	root       string
	dockerfile string // slash-separated, relative to root
	pm         *patternmatcher.PatternMatcher
	tw         *tar.Writer
	buf        []byte
	sent       func(n int64) // told the bytes of content written, when not nil
}

// dockerignore reads root's .dockerignore; none is no patterns.
func dockerignore(root string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return patternmatcher.New(nil)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return pm, nil
}

// writeBuildContext writes the context of root to w, and closes the tar
// (not w).
func writeBuildContext(w io.Writer, root, dockerfile string, sent func(int64)) error {
	pm, err := dockerignore(root)
	if err != nil {
		return err
	}
	c := &buildContext{root: root, dockerfile: dockerfile, pm: pm, tw: tar.NewWriter(w), buf: make([]byte, 256<<10), sent: sent}
	if err := c.dir("", patternmatcher.MatchInfo{}); err != nil {
		return err
	}
	return c.tw.Close()
}

// dir writes the entries of the folder rel (slash-separated, "" for the
// root), in lexical order. parent is rel's own match against the patterns.
func (c *buildContext) dir(rel string, parent patternmatcher.MatchInfo) error {
	entries, err := os.ReadDir(filepath.Join(c.root, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := path.Join(rel, e.Name())
		ignored, info, err := c.pm.MatchesUsingParentResults(name, parent)
		if err != nil {
			return fmt.Errorf(".dockerignore: %w", err)
		}
		if ignored && c.alwaysSent(name) {
			ignored = false
		}
		if ignored && !(e.IsDir() && c.mayKeepBelow(name)) {
			continue
		}
		fi, err := e.Info() // lstat: a link is not followed
		if err != nil {
			return err
		}
		if !ignored {
			if err := c.entry(name, fi); err != nil {
				return err
			}
		}
		if fi.IsDir() {
			if err := c.dir(name, info); err != nil {
				return err
			}
		}
	}
	return nil
}

// alwaysSent reports whether name is the Dockerfile or .dockerignore.
func (c *buildContext) alwaysSent(name string) bool {
	return name == c.dockerfile || name == ".dockerignore"
}

// mayKeepBelow reports whether an ignored folder may hold something that
// is sent all the same: the Dockerfile, or a path an exception (`!path`)
// of .dockerignore names. The folder's own entry is then left out (the
// engine makes the folders of the files it unpacks), as the docker CLI
// does.
func (c *buildContext) mayKeepBelow(dir string) bool {
	if strings.HasPrefix(c.dockerfile, dir+"/") {
		return true
	}
	if !c.pm.Exclusions() {
		return false
	}
	for _, p := range c.pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(filepath.ToSlash(p.String())+"/", dir+"/") {
			return true
		}
	}
	return false
}

// entry writes one file, folder or link. Sockets, pipes and devices are
// left out: a build cannot use them.
func (c *buildContext) entry(name string, fi fs.FileInfo) error {
	var link string
	switch mode := fi.Mode(); {
	case mode.IsRegular(), mode.IsDir():
	case mode&fs.ModeSymlink != 0:
		var err error
		if link, err = os.Readlink(filepath.Join(c.root, filepath.FromSlash(name))); err != nil {
			return err
		}
	default:
		return nil
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	// Whole seconds and no access or change time, as the docker CLI
	// sends them: a PAX record per file for the nanoseconds buys nothing.
	hdr.ModTime = hdr.ModTime.Truncate(time.Second)
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	if err := c.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	return c.content(name, fi.Size())
}

// content copies a file's bytes, exactly the size its header announced
// (a file that changes size while it is sent fails the build).
func (c *buildContext) content(name string, size int64) error {
	f, err := os.Open(filepath.Join(c.root, filepath.FromSlash(name)))
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.CopyBuffer(c.tw, io.LimitReader(f, size), c.buf)
	if c.sent != nil {
		c.sent(n)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("%s: changed while it was sent (%d bytes of %d)", name, n, size)
	}
	return nil
}
