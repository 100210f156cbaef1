package wellknown

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
)

// Handler serves the JWKS and the two discovery documents from bytes
// prepared once per key set and configuration.
type Handler struct {
	m            *Manager
	d            Discovery
	cacheControl []string

	metaMu sync.Mutex
	meta   atomic.Pointer[preparedMetadata]
}

// preparedMetadata is the encoded discovery document for one published set.
type preparedMetadata struct {
	published *publishedSet
	body      []byte
	etag      string
}

// NewHandler checks d and returns the handler of m's well-known endpoints.
func NewHandler(m *Manager, d Discovery) (*Handler, error) {
	if err := checkIssuer(d.Issuer); err != nil {
		return nil, err
	}
	maxAge := max(int64(d.MaxAge.Seconds()), 0)
	return &Handler{
		m:            m,
		d:            d,
		cacheControl: []string{"public, max-age=" + strconv.FormatInt(maxAge, 10)},
	}, nil
}

// Mount checks d and mounts the JWKS and discovery routes on r.
func (m *Manager) Mount(r chi.Router, d Discovery) error {
	h, err := NewHandler(m, d)
	if err != nil {
		return err
	}
	h.Mount(r)
	return nil
}

// Mount registers GET and HEAD for PathJWKS, PathOpenIDConfiguration and
// PathAuthorizationServerMetadata. For an issuer with a path, it also
// registers the RFC 8414 §3.1 location, which inserts the well-known part
// before that path.
//
// TODO: the routes are registered at the router's root whatever the issuer's
// path, so an issuer with a path works only behind a proxy that removes that
// path before the request reaches this server.
func (h *Handler) Mount(r chi.Router) {
	routes := map[string]http.HandlerFunc{
		PathJWKS:                        h.ServeJWKS,
		PathOpenIDConfiguration:         h.ServeMetadata,
		PathAuthorizationServerMetadata: h.ServeMetadata,
	}
	if u, err := url.Parse(h.d.Issuer); err == nil && u.Path != "" && u.Path != "/" {
		routes[PathAuthorizationServerMetadata+u.EscapedPath()] = h.ServeMetadata
	}
	for path, fn := range routes {
		r.Get(path, fn)
		r.Head(path, fn)
	}
}

// ServeJWKS writes the published public keys as a JWK Set.
func (h *Handler) ServeJWKS(w http.ResponseWriter, r *http.Request) {
	p, err := h.m.publishedAt(h.m.opts.Now())
	if err != nil {
		h.fail(w, r, "serve JWKS", err)
		return
	}
	h.write(w, r, p.jwks, p.etag)
}

// ServeMetadata writes the discovery document, served at both
// PathOpenIDConfiguration and PathAuthorizationServerMetadata.
func (h *Handler) ServeMetadata(w http.ResponseWriter, r *http.Request) {
	meta, err := h.metadata()
	if err != nil {
		h.fail(w, r, "serve discovery document", err)
		return
	}
	h.write(w, r, meta.body, meta.etag)
}

// metadata returns the discovery document, encoded again only when the
// published algorithms change.
func (h *Handler) metadata() (*preparedMetadata, error) {
	p, err := h.m.publishedAt(h.m.opts.Now())
	if err != nil {
		return nil, err
	}
	if meta := h.meta.Load(); meta != nil && meta.published == p {
		return meta, nil
	}

	h.metaMu.Lock()
	defer h.metaMu.Unlock()
	prev := h.meta.Load()
	if prev != nil && prev.published == p {
		return prev, nil
	}
	next := &preparedMetadata{published: p}
	if prev != nil && sameStrings(prev.published.algorithms, p.algorithms) {
		next.body, next.etag = prev.body, prev.etag
	} else {
		if next.body, err = buildMetadata(h.d, p.algorithms); err != nil {
			return nil, err
		}
		next.etag = strongETag(next.body)
	}
	h.meta.Store(next)
	return next, nil
}

// write sends body with its caching headers, or 304 Not Modified when the
// request's If-None-Match matches etag.
func (h *Handler) write(w http.ResponseWriter, r *http.Request, body []byte, etag string) {
	header := w.Header()
	header["Cache-Control"] = h.cacheControl
	header["Etag"] = []string{etag}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	header["Content-Type"] = contentTypeJSON
	header["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

var contentTypeJSON = []string{"application/json"}

// retryAfterNotLoaded is the Retry-After in seconds of a 503 sent before the
// signing keys are loaded. The server loads them once storage responds, and
// it retries storage with a backoff from 0.5 s up to 30 s, so the value is
// an estimate of a short first wait, not a promise.
const retryAfterNotLoaded = "5"

// fail logs a server-side failure and sends a plain 500. Before Init has
// loaded the keys, it sends 503 with Retry-After instead and logs at Debug.
// That is the expected state while storage does not respond, and /readyz
// already reports it.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	w.Header().Set("Cache-Control", "no-store")
	if errors.Is(err, ErrNotInitialized) {
		h.m.log.Debug("responded 503 because the signing keys are not loaded yet",
			zap.String("request_id", w.Header().Get(httpserver.RequestIDHeader)),
			zap.String("path", r.URL.Path))
		w.Header().Set("Retry-After", retryAfterNotLoaded)
		httpserver.WriteText(w, http.StatusServiceUnavailable, "service unavailable: retry later")
		return
	}
	h.m.log.Error(op+" failed", zap.String("request_id", w.Header().Get(httpserver.RequestIDHeader)),
		zap.String("path", r.URL.Path), zap.Error(err))
	httpserver.WriteText(w, http.StatusInternalServerError, "internal server error")
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
