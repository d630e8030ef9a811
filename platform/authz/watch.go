package authz

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Reloads and ReloadFailures count reload attempts, for /metrics.
var (
	Reloads        atomic.Int64
	ReloadFailures atomic.Int64
)

func (a *Authorizer) reloadLogged(log *slog.Logger, why string) {
	if err := a.Reload(); err != nil {
		ReloadFailures.Add(1)
		log.Error("policy reload refused; the policy in force stays", "reason", why, "error", err.Error())
		return
	}
	Reloads.Add(1)
	log.Info("policy reloaded", "reason", why, "dir", a.dir)
}

// Watch reloads the policy on SIGHUP and, when it is read from a folder, on
// every change in that folder (the folder itself is watched, so an editor
// that saves by renaming a new file over the old one is seen). It returns
// when ctx ends.
func (a *Authorizer) Watch(ctx context.Context, log *slog.Logger) error {
	var events chan fsnotify.Event
	var errors chan error
	if a.dir != "" {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			return err
		}
		if err := w.Add(a.dir); err != nil {
			w.Close()
			return err
		}
		events, errors = w.Events, w.Errors
		go func() { <-ctx.Done(); w.Close() }()
	}
	// Signals are asked for only once the watcher stands, so no error path
	// has to give them back.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		var debounce <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				a.reloadLogged(log, "SIGHUP")
			case _, ok := <-events:
				if !ok {
					events = nil
					continue
				}
				debounce = time.After(100 * time.Millisecond)
			case err, ok := <-errors:
				if !ok {
					errors = nil
					continue
				}
				log.Warn("policy watcher", "error", err.Error())
			case <-debounce:
				debounce = nil
				a.reloadLogged(log, "file changed")
			}
		}
	}()
	return nil
}
