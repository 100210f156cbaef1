package averos

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
)

// existsResponse is the body of the availability checks. It reveals nothing
// about the user except whether the value is taken.
type existsResponse struct {
	Exists bool `json:"exists"`
}

// userNameExists reports whether a user name is taken. The query string
// (filter, compositekeys) that the client appends is ignored.
func (a *Adapter) userNameExists(w http.ResponseWriter, r *http.Request) {
	a.writeExists(w, r, "userName", a.store.Users.GetByUserName)
}

// emailExists reports whether an email is registered.
func (a *Adapter) emailExists(w http.ResponseWriter, r *http.Request) {
	a.writeExists(w, r, "email", a.store.Users.GetByEmail)
}

func (a *Adapter) writeExists(w http.ResponseWriter, r *http.Request, param string,
	lookup func(ctx context.Context, value string) (*storage.User, error)) {
	if ok, wait := a.available.allow(clientIP(r)); !ok {
		seconds := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(max(seconds, 1)))
		httpserver.WriteText(w, http.StatusTooManyRequests, "too many availability checks; try again later")
		return
	}
	value, err := pathParam(r, param)
	if err != nil {
		httpserver.WriteText(w, http.StatusBadRequest, param+" is not a valid path segment")
		return
	}

	_, err = lookup(r.Context(), value)
	switch {
	case err == nil:
		httpserver.WriteJSON(w, http.StatusOK, existsResponse{Exists: true})
	case errors.Is(err, storage.ErrNotFound):
		httpserver.WriteJSON(w, http.StatusOK, existsResponse{Exists: false})
	default:
		a.requestLog(r).Error("availability check", zap.String("field", param), zap.Error(err))
		writeServerError(w, "availability check")
	}
}

// pathParam returns the decoded value of a route parameter. chi matches the
// escaped path when the request has one, so its parameters are then still
// percent-encoded.
func pathParam(r *http.Request, name string) (string, error) {
	value := chi.URLParam(r, name)
	if r.URL.RawPath == "" {
		return value, nil
	}
	return url.PathUnescape(value)
}
