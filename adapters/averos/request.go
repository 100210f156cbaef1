package averos

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
)

// jsonObject is a request body decoded one level deep, so each field can be
// type-checked and reported by name.
type jsonObject map[string]json.RawMessage

var errNotObject = errors.New("request body must be a JSON object")

// readObject reads the request body as one JSON object. On failure it writes
// the response (413 for a body past the size limit, 400 otherwise) and
// returns false.
func readObject(w http.ResponseWriter, r *http.Request) (jsonObject, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if httpserver.IsBodyTooLarge(err) {
			httpserver.WriteText(w, http.StatusRequestEntityTooLarge, "request body too large")
			return nil, false
		}
		httpserver.WriteText(w, http.StatusBadRequest, "failed to read the request body")
		return nil, false
	}
	obj, err := decodeObject(body)
	if err != nil {
		httpserver.WriteText(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return obj, true
}

func decodeObject(body []byte) (jsonObject, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, errNotObject
	}
	var obj jsonObject
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&obj); err != nil {
		return nil, errors.New("request body is not valid JSON: " + jsonProblem(err))
	}
	if dec.More() {
		return nil, errors.New("request body must contain one JSON object only")
	}
	return obj, nil
}

// jsonProblem describes a decoding error, quoting at most the offending
// character of the input.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return syntax.Error()
	}
	return "unexpected end or invalid value"
}

// fieldReader reads string fields of a jsonObject and keeps the first
// problem, so a handler reads every field and checks once.
type fieldReader struct {
	obj jsonObject
	err error
}

// optional returns the field's string value, or "" when it is absent or
// null.
func (f *fieldReader) optional(name string) string {
	raw, ok := f.obj[name]
	if !ok || string(raw) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.fail(name + " must be a string")
		return ""
	}
	return s
}

// required returns the field's string value and records a problem when it
// is absent, null or empty.
func (f *fieldReader) required(name string) string {
	s := f.optional(name)
	if s == "" {
		f.fail(name + " is required")
	}
	return s
}

func (f *fieldReader) fail(msg string) {
	if f.err == nil {
		f.err = errors.New(msg)
	}
}

// bearerToken returns the access token of the Authorization header, or ""
// when there is none. The Averos client sends "Bearer undefined" when it has
// no session, so that value counts as none, and so do several headers.
func bearerToken(r *http.Request) string {
	if len(r.Header.Values("Authorization")) > 1 {
		return ""
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	token = strings.TrimSpace(token)
	if token == "undefined" || token == "null" {
		return ""
	}
	return token
}

// clientIP returns the address of the TCP peer.
//
// TODO: behind a reverse proxy every request comes from the proxy's address,
// so the per-client rate limit becomes one shared limit. Trusting a forwarded
// header needs a configured list of trusted proxies, which does not exist yet.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr.Unmap().String()
	}
	return host
}

// requestLog returns the adapter's logger with the request id.
func (a *Adapter) requestLog(r *http.Request) *zap.Logger {
	return a.log.With(zap.String("request_id", httpserver.RequestID(r.Context())))
}

// noStore keeps responses that carry tokens or account data out of caches.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// writeServerError responds 500 with a message that names the failed step
// and no internal detail; the caller logs the cause.
func writeServerError(w http.ResponseWriter, step string) {
	httpserver.WriteText(w, http.StatusInternalServerError,
		step+" failed because of a server error; try again later")
}
