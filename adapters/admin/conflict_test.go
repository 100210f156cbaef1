package admin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/storage"
)

// An update that lost every race to concurrent writers fails with
// storage.ErrConflict, a condition a retry may clear. The client must get a
// status that means that (409 Conflict or 503), not 500 Internal Server Error.
func TestWriteErrorConflict(t *testing.T) {
	a := &API{log: zap.NewNop()}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPut, "/uapi/users/u1", nil)
	err := fmt.Errorf("storage: update user u1: %w in each of 5 attempts, retry the request", storage.ErrConflict)

	a.writeError(rec, req, err, "user")

	if rec.Code != http.StatusConflict && rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d (%q), want 409 or 503", rec.Code, rec.Body.String())
	}
}
