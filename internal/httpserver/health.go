package httpserver

import (
	"context"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

const (
	readyCheckTimeout = 2 * time.Second
	// notReadyLogInterval is the minimum time between two Warn entries about
	// a failing readiness check.
	notReadyLogInterval = time.Minute
)

type statusBody struct {
	Status string `json:"status"`
}

// serveHealth serves GET /healthz, which succeeds while the process runs.
func serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, statusBody{Status: "ok"})
}

// readiness serves GET /readyz by calling the Ready function for each
// request. Failures are logged at Warn at most once per notReadyLogInterval,
// with the number of failures not logged since the previous entry.
type readiness struct {
	check func(ctx context.Context) error
	now   func() time.Time

	mu         sync.Mutex
	failing    bool
	lastLogged time.Time
	suppressed int
}

func newReadiness(check func(ctx context.Context) error) *readiness {
	return &readiness{check: check, now: time.Now}
}

func (rd *readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")

	err := rd.run(r.Context())
	rd.record(LoggerFrom(r.Context()), err)

	// The cause stays in the log because it may name internal hosts.
	if err != nil {
		WriteJSON(w, http.StatusServiceUnavailable, statusBody{Status: "not ready"})
		return
	}
	WriteJSON(w, http.StatusOK, statusBody{Status: "ready"})
}

func (rd *readiness) run(ctx context.Context) error {
	if rd.check == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, readyCheckTimeout)
	defer cancel()
	return rd.check(ctx)
}

// record logs the first failure at once, later failures at most once per
// notReadyLogInterval, and the first success after a failure at Info.
func (rd *readiness) record(logger *zap.Logger, err error) {
	rd.mu.Lock()
	defer rd.mu.Unlock()

	now := rd.now()
	if err == nil {
		if rd.failing {
			logger.Info("readiness check passed again",
				zap.Int("failures_not_logged", rd.suppressed))
		}
		rd.failing = false
		rd.suppressed = 0
		return
	}

	if rd.failing && now.Sub(rd.lastLogged) < notReadyLogInterval {
		rd.suppressed++
		return
	}
	logger.Warn("readiness check failed",
		zap.Error(err),
		zap.Int("failures_not_logged", rd.suppressed))
	rd.failing = true
	rd.lastLogged = now
	rd.suppressed = 0
}
