package oauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/averos/averos-auth/internal/password"
)

// Benchmarks run the real handler over the embedded engine, through
// httptest.NewServer over loopback, with RS256 keys. The password grant uses
// the OWASP argon2id parameters, so it measures the hashing cost too.

func newBenchEnv(b *testing.B) *testEnv {
	b.Helper()
	e := newTestEnv(b, envOptions{config: func(c *Config) { c.Now = time.Now }})
	e.clock = nil
	e.addUser("ada", "correct horse")
	e.addClient("web", "s3cret")
	return e
}

// benchPost sends form and fails the benchmark unless the status is 200.
func benchPost(b *testing.B, client *http.Client, target string, form url.Values, id, secret string) map[string]any {
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d: %v", resp.StatusCode, body)
	}
	return body
}

func BenchmarkRefreshGrant(b *testing.B) {
	e := newBenchEnv(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	target := e.srv.URL + "/oauth2/token"
	// Logins run one at a time: concurrent logins of one user beyond the
	// lockout limit are refused by design.
	const workers = 8
	tokens := make(chan string, workers)
	for range workers {
		login := benchPost(b, client, target, url.Values{"grant_type": {"password"}, "username": {"ada"},
			"password": {"correct horse"}, "scope": {"openid profile offline_access"}}, "web", "s3cret")
		tokens <- login["refresh_token"].(string)
	}
	b.SetParallelism(workers / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		token := <-tokens
		for pb.Next() {
			body := benchPost(b, client, target,
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}, "web", "s3cret")
			token = body["refresh_token"].(string)
		}
	})
}

func BenchmarkClientCredentialsGrant(b *testing.B) {
	e := newBenchEnv(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	target := e.srv.URL + "/oauth2/token"
	b.SetParallelism(8 / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchPost(b, client, target, url.Values{"grant_type": {"client_credentials"}}, "web", "s3cret")
		}
	})
}

func BenchmarkPasswordGrant(b *testing.B) {
	e := newBenchEnv(b)
	owasp, err := password.NewHasher(password.OWASP())
	if err != nil {
		b.Fatal(err)
	}
	e.p.passwords = owasp
	e.hasher = owasp
	// One user per worker: concurrent logins of one user beyond the lockout
	// limit are refused by design.
	const workers = 8
	users := make(chan string, workers)
	for i := range workers {
		name := fmt.Sprintf("bench%d", i)
		e.addUser(name, "correct horse")
		users <- name
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	target := e.srv.URL + "/oauth2/token"
	b.SetParallelism(workers / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		name := <-users
		for pb.Next() {
			benchPost(b, client, target, url.Values{"grant_type": {"password"}, "username": {name},
				"password": {"correct horse"}, "scope": {"openid offline_access"}}, "web", "s3cret")
		}
	})
}

func BenchmarkIntrospection(b *testing.B) {
	e := newBenchEnv(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	login := benchPost(b, client, e.srv.URL+"/oauth2/token", url.Values{"grant_type": {"password"},
		"username": {"ada"}, "password": {"correct horse"}, "scope": {"openid offline_access"}}, "web", "s3cret")
	form := url.Values{"token": {login["access_token"].(string)}}
	target := e.srv.URL + "/oauth2/introspect"
	b.SetParallelism(8 / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := benchPost(b, client, target, form, "web", "s3cret")
			if body["active"] != true {
				b.Fatalf("token inactive: %v", body)
			}
		}
	})
}
