package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultWatchDebounce is how long WatchAgents waits after the last change
// before reloading: editors and deploy tools write a file in several steps.
const DefaultWatchDebounce = 250 * time.Millisecond

// WatchAgents reloads the agents (Reload) when the agent config files at
// paths change: each path is a file or a directory of *.yaml and *.yml
// files. It watches the directories, not the files, so that editors that
// save by writing a new file and renaming it over the old one are seen.
// Changes are gathered until none came for debounce (DefaultWatchDebounce
// when 0); onReload, when not nil, gets each reload's outcome (after Reload
// has logged it). Stop ends the watch and waits for it; it also ends when
// ctx does.
func (s *Server) WatchAgents(ctx context.Context, paths []string, debounce time.Duration, onReload func(ReloadResult, error)) (stop func(), err error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("watching agent configs: no files or directories to watch")
	}
	if debounce <= 0 {
		debounce = DefaultWatchDebounce
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching agent configs: %w", err)
	}
	files := map[string]bool{} // watched files, by clean path
	dirs := map[string]bool{}  // watched directories of configs
	for _, p := range paths {
		p = filepath.Clean(p)
		st, err := os.Stat(p)
		if err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("watching agent configs: %w", err)
		}
		dir := p
		if st.IsDir() {
			dirs[p] = true
		} else {
			files[p] = true
			dir = filepath.Dir(p)
		}
		if err := w.Add(dir); err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("watching agent configs in %s: %w", dir, err)
		}
	}
	relevant := func(name string) bool {
		name = filepath.Clean(name)
		if files[name] {
			return true
		}
		ext := strings.ToLower(filepath.Ext(name))
		return dirs[filepath.Dir(name)] && (ext == ".yaml" || ext == ".yml")
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer w.Close()
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op == fsnotify.Chmod || !relevant(ev.Name) {
					continue
				}
				s.log.Debug("agent config changed", "file", ev.Name, "op", ev.Op.String())
				timer.Reset(debounce)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				s.log.Warn("watching agent configs", "err", err)
			case <-timer.C:
				res, err := s.Reload()
				if onReload != nil {
					onReload(res, err)
				}
			}
		}
	}()
	s.log.Info("watching agent configs for changes", "paths", paths)
	return func() { cancel(); <-done }, nil
}
