package averos

import (
	"fmt"
	"net/http"
	"time"
)

// cookiePath limits the refresh token cookie to the /auth endpoints, so the
// browser sends it to /auth/rt/ and /auth/logout but not to other APIs.
const cookiePath = "/auth"

// refreshCookie builds the HttpOnly cookie that carries the refresh token.
type refreshCookie struct {
	name     string
	secure   bool
	sameSite http.SameSite
	lifetime time.Duration
}

// parseSameSite maps the configured SameSite value; "" means Strict.
func parseSameSite(value string) (http.SameSite, error) {
	switch value {
	case "", "Strict":
		return http.SameSiteStrictMode, nil
	case "Lax":
		return http.SameSiteLaxMode, nil
	case "None":
		return http.SameSiteNoneMode, nil
	default:
		return 0, fmt.Errorf("averos: invalid cookie SameSite value %q: use Strict, Lax or None", value)
	}
}

func newRefreshCookie(name string, secure bool, sameSite http.SameSite,
	lifetime time.Duration) refreshCookie {
	// Browsers drop a SameSite=None cookie without Secure.
	if sameSite == http.SameSiteNoneMode {
		secure = true
	}
	return refreshCookie{name: name, secure: secure, sameSite: sameSite, lifetime: lifetime}
}

// set stores token in the browser for the refresh token's lifetime.
func (c refreshCookie) set(w http.ResponseWriter, token string, now time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     c.name,
		Value:    token,
		Path:     cookiePath,
		MaxAge:   int(c.lifetime / time.Second),
		Expires:  now.Add(c.lifetime).UTC(),
		HttpOnly: true,
		Secure:   c.secure,
		SameSite: c.sameSite,
	})
}

// clear removes the cookie: same name, path and attributes, Max-Age=0.
func (c refreshCookie) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     c.name,
		Value:    "",
		Path:     cookiePath,
		MaxAge:   -1,
		Expires:  time.Unix(0, 0).UTC(),
		HttpOnly: true,
		Secure:   c.secure,
		SameSite: c.sameSite,
	})
}

// read returns the refresh token the browser sent, or "".
func (c refreshCookie) read(r *http.Request) string {
	cookie, err := r.Cookie(c.name)
	if err != nil {
		return ""
	}
	return cookie.Value
}
