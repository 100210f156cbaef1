package averos

import (
	"net/http"
	"testing"
	"time"
)

func TestIPLimiterKeysAndRefill(t *testing.T) {
	clock := &testClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	l := newIPLimiter(2, clock.Now)

	for i := 0; i < 2; i++ {
		if ok, _ := l.allow("192.0.2.1"); !ok {
			t.Fatalf("request %d rejected within the burst", i+1)
		}
	}
	ok, wait := l.allow("192.0.2.1")
	if ok || wait != 30*time.Second {
		t.Errorf("third request: allowed %v, wait %v; want rejected, 30s", ok, wait)
	}
	if ok, _ := l.allow("192.0.2.2"); !ok {
		t.Error("another IPv4 address shares the budget")
	}
	if ok, _ := l.allow("::ffff:192.0.2.1"); ok {
		t.Error("the IPv4-mapped form of an address got its own budget")
	}

	// One IPv6 /64 is one client.
	l.allow("2001:db8::1")
	l.allow("2001:db8::2")
	if ok, _ := l.allow("2001:db8::ffff:1"); ok {
		t.Error("an address of the same /64 got its own budget")
	}
	if ok, _ := l.allow("2001:db8:0:1::1"); !ok {
		t.Error("an address of another /64 shares the budget")
	}

	clock.Advance(30 * time.Second)
	if ok, _ := l.allow("192.0.2.1"); !ok {
		t.Error("no request allowed after the refill time")
	}
}

func TestIPLimiterEvictsIdleEntries(t *testing.T) {
	clock := &testClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	l := newIPLimiter(5, clock.Now)
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		l.allow(ip)
	}
	clock.Advance(30 * time.Second)
	l.allow("192.0.2.1")
	if l.size() != 3 {
		t.Fatalf("entries = %d, want 3", l.size())
	}

	clock.Advance(40 * time.Second)
	l.allow("192.0.2.4")
	// 192.0.2.2 and .3 were idle for 70 s; .1 for 40 s.
	if l.size() != 2 {
		t.Errorf("entries after sweep = %d, want 2", l.size())
	}
}

func TestBearerToken(t *testing.T) {
	cases := map[string]string{
		"":                    "",
		"Bearer undefined":    "",
		"Bearer null":         "",
		"Bearer abc.def.ghi":  "abc.def.ghi",
		"bearer  abc.def.ghi": "abc.def.ghi",
		"Basic dXNlcjpwYXNz":  "",
		"Bearer":              "",
	}
	for header, want := range cases {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		if got := bearerToken(r); got != want {
			t.Errorf("bearerToken(%q) = %q, want %q", header, got, want)
		}
	}

	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.Header.Add("Authorization", "Bearer abc.def.ghi")
	r.Header.Add("Authorization", "Bearer other")
	if got := bearerToken(r); got != "" {
		t.Errorf("bearerToken with two headers = %q, want none", got)
	}
}

func TestParseBirthdate(t *testing.T) {
	for _, ok := range []string{"2000-01-31", "2000-01-30T23:00:00.000Z", "2000-01-31T00:00:00+01:00"} {
		if _, err := parseBirthdate(ok); err != nil {
			t.Errorf("parseBirthdate(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"31/01/2000", "Mon Jan 31 2000", "2000-13-01", "yesterday"} {
		if _, err := parseBirthdate(bad); err == nil {
			t.Errorf("parseBirthdate(%q) accepted", bad)
		}
	}
}

func TestFormatLifetime(t *testing.T) {
	cases := map[time.Duration]string{
		time.Hour:        "1 hour",
		24 * time.Hour:   "24 hours",
		90 * time.Minute: "90 minutes",
		time.Minute:      "1 minute",
		90 * time.Second: "1m30s",
	}
	for d, want := range cases {
		if got := formatLifetime(d); got != want {
			t.Errorf("formatLifetime(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	e := newEnv(t)
	cases := map[string]func(*Options){
		"no client id":     func(o *Options) { o.ClientID = "" },
		"bad same-site":    func(o *Options) { o.CookieSameSite = "strict" },
		"relative front":   func(o *Options) { o.FrontendURL = "/app" },
		"no lifetime":      func(o *Options) { o.RefreshTokenLifetime = 0 },
		"short secret":     func(o *Options) { o.SystemSecret = "short" },
		"no outbox folder": func(o *Options) { o.SMTP.Host, o.DataDir = "", "" },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			opts := e.adapter.opts
			change(&opts)
			a, err := New(opts, e.store, e.provider, e.users, nil)
			if err == nil {
				a.Close()
				t.Error("accepted")
			}
		})
	}
}
