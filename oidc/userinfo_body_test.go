package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A POST whose form body exceeds the body limit gets an error about the body
// size, not one about the access token.
func TestUserinfoBodyTooLarge(t *testing.T) {
	validate := func(context.Context, string) (AccessToken, error) {
		t.Error("the token was validated although the body could not be read")
		return AccessToken{}, ErrInvalidToken
	}
	h := NewUserinfoHandler(validate, nil, "test", nil)

	rec := httptest.NewRecorder()
	body := "scope=" + strings.Repeat("x", 64)
	req := httptest.NewRequest(http.MethodPost, "/userinfo", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer abc")
	// What the server's body limit middleware installs for a limit of 16 bytes.
	req.Body = http.MaxBytesReader(rec, req.Body, 16)
	h.ServeHTTP(rec, req)

	var out struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("decode %q: %v", rec.Body.String(), err)
	}
	if rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 400 or 413", rec.Code)
	}
	if strings.Contains(out.Description, "sent once") {
		t.Errorf("error_description = %q blames the token, want the body size", out.Description)
	}
	if !strings.Contains(out.Description, "too large") {
		t.Errorf("error_description = %q, want it to say the body is too large", out.Description)
	}
}
