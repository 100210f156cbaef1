package httpserver

import "net/http"

// responseRecorder wraps a ResponseWriter to record the status code and the
// number of body bytes written. Unwrap lets http.ResponseController reach the
// optional interfaces of the wrapped writer.
type responseRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

// recorderFor returns w itself when an outer middleware already wrapped it,
// so the chain records each response once.
func recorderFor(w http.ResponseWriter) *responseRecorder {
	if rec, ok := w.(*responseRecorder); ok {
		return rec
	}
	return &responseRecorder{ResponseWriter: w}
}

func (rec *responseRecorder) WriteHeader(status int) {
	// 1xx responses other than 101 Switching Protocols are interim, and the
	// final status follows later.
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		rec.ResponseWriter.WriteHeader(status)
		return
	}
	if !rec.wroteHeader {
		rec.status = status
		rec.wroteHeader = true
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *responseRecorder) Write(b []byte) (int, error) {
	if !rec.wroteHeader {
		rec.status = http.StatusOK
		rec.wroteHeader = true
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// Flush sends buffered data to the client, for handlers that type-assert
// http.Flusher instead of using http.ResponseController.
func (rec *responseRecorder) Flush() {
	if !rec.wroteHeader {
		rec.status = http.StatusOK
		rec.wroteHeader = true
	}
	_ = http.NewResponseController(rec.ResponseWriter).Flush()
}

func (rec *responseRecorder) Unwrap() http.ResponseWriter {
	return rec.ResponseWriter
}

// finalStatus returns the status the client receives. A handler that
// returned without writing gets 200 from net/http. A handler that panicked
// before writing (completed is false) gets 500 from recoverPanics.
func (rec *responseRecorder) finalStatus(completed bool) int {
	switch {
	case rec.wroteHeader:
		return rec.status
	case completed:
		return http.StatusOK
	default:
		return http.StatusInternalServerError
	}
}
