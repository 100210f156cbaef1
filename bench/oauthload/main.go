// Command oauthload drives the token service of a running averos-auth over
// loopback and prints throughput and latency for four workloads: refresh
// grant, client credentials grant, password grant and introspection, each at
// several concurrency levels.
//
// The client must be confidential and allowed the password, refresh_token and
// client_credentials grants and the openid, profile and offline_access
// scopes. The server rejects concurrent logins of one user beyond the
// lockout limit, so the password workload spreads its workers over the users
// given. Pass at least as many users as the highest concurrency, or expect
// failures there.
//
//	oauthload -url http://127.0.0.1:8080 -client bench -secret S \
//	    -users bench1,bench2,... -password P
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/averos/averos-auth/configs"
	"github.com/averos/averos-auth/internal/password"
)

type options struct {
	baseURL     string
	clientID    string
	secret      string
	users       []string
	password    string
	scope       string
	duration    time.Duration
	warmup      time.Duration
	concurrency []int
	workloads   []string
	// argon2 are the server's password hash parameters, for the ceiling
	// printed beside the password workload.
	argon2 password.Params
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "oauthload:", err)
		os.Exit(2)
	}
	if err := run(opts, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "oauthload:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("oauthload", flag.ContinueOnError)
	var o options
	var users, levels, workloads string
	fs.StringVar(&o.baseURL, "url", "http://127.0.0.1:8080", "base URL of the server; loopback only")
	fs.StringVar(&o.clientID, "client", "", "client ID of a confidential client")
	fs.StringVar(&o.secret, "secret", "", "secret of the client")
	fs.StringVar(&users, "users", "", "comma-separated user names for the password and refresh workloads")
	fs.StringVar(&o.password, "password", "", "password of every user in -users")
	fs.StringVar(&o.scope, "scope", "openid profile offline_access", "scope of the password grants")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "duration of each measurement")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second,
		"load before each measurement whose requests are not counted")
	fs.StringVar(&levels, "concurrency", "1,8,64", "comma-separated numbers of concurrent workers")
	fs.StringVar(&workloads, "workloads", "refresh,client_credentials,password,introspection",
		"comma-separated workloads to run")
	defaults := configs.Default().Password.Argon2
	var memoryKiB, iterations, parallelism uint
	fs.UintVar(&memoryKiB, "argon2-memory-kib", uint(defaults.MemoryKiB),
		"argon2id memory of the server's password hashes, for the hash ceiling")
	fs.UintVar(&iterations, "argon2-iterations", uint(defaults.Iterations),
		"argon2id iterations of the server's password hashes")
	fs.UintVar(&parallelism, "argon2-parallelism", uint(defaults.Parallelism),
		"argon2id lanes of the server's password hashes")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if memoryKiB > math.MaxUint32 || iterations > math.MaxUint32 {
		return o, errors.New("-argon2-memory-kib and -argon2-iterations must be at most 4294967295")
	}
	if parallelism > math.MaxUint8 {
		return o, fmt.Errorf("invalid -argon2-parallelism %d: must be at most 255", parallelism)
	}
	o.argon2 = password.Params{MemoryKiB: uint32(memoryKiB), Iterations: uint32(iterations),
		Parallelism: uint8(parallelism)}

	if o.clientID == "" || o.secret == "" {
		return o, errors.New("-client and -secret are required")
	}
	if err := checkLoopback(o.baseURL); err != nil {
		return o, err
	}

	o.users = splitList(users)
	for _, s := range splitList(levels) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return o, fmt.Errorf("invalid -concurrency value %q: want positive integers", s)
		}
		o.concurrency = append(o.concurrency, n)
	}
	o.workloads = splitList(workloads)
	for _, w := range o.workloads {
		if !slices.Contains([]string{"refresh", "client_credentials", "password", "introspection"}, w) {
			return o, fmt.Errorf("unknown workload %q", w)
		}
		if w != "client_credentials" && (len(o.users) == 0 || o.password == "") {
			return o, fmt.Errorf("workload %s needs -users and -password", w)
		}
	}
	return o, nil
}

// checkLoopback rejects a base URL whose host is not a loopback address, so
// the load never leaves the machine.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("invalid -url %q", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-url %q is not a loopback address", raw)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// loadClient sends token requests with one shared connection pool.
type loadClient struct {
	o    options
	http *http.Client
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Active       *bool  `json:"active"`
	Error        string `json:"error"`
}

func (c *loadClient) post(ctx context.Context, path string, form url.Values) (tokenResponse, error) {
	var out tokenResponse
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.o.baseURL+path,
		strings.NewReader(form.Encode()))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.o.clientID), url.QueryEscape(c.o.secret))
	resp, err := c.http.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(body, &out); err != nil && resp.StatusCode == http.StatusOK {
		return out, fmt.Errorf("decode response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("%s: status %d %s", path, resp.StatusCode, out.Error)
	}
	return out, nil
}

func (c *loadClient) login(ctx context.Context, user string) (tokenResponse, error) {
	return c.post(ctx, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {user},
		"password": {c.o.password}, "scope": {c.o.scope}})
}

// worker runs one request after another until ctx ends; step returns the
// next request's error.
type worker func(ctx context.Context) error

// prepare returns one worker per concurrency slot for a workload. Logins it
// needs run one at a time, before the measurement.
func (c *loadClient) prepare(ctx context.Context, workload string, n int) ([]worker, error) {
	workers := make([]worker, n)
	switch workload {
	case "client_credentials":
		for i := range workers {
			workers[i] = func(ctx context.Context) error {
				_, err := c.post(ctx, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}})
				return err
			}
		}
	case "password":
		for i := range workers {
			user := c.o.users[i%len(c.o.users)]
			workers[i] = func(ctx context.Context) error {
				_, err := c.login(ctx, user)
				return err
			}
		}
	case "refresh":
		for i := range workers {
			login, err := c.login(ctx, c.o.users[i%len(c.o.users)])
			if err != nil {
				return nil, fmt.Errorf("login before the refresh workload: %w", err)
			}
			if login.RefreshToken == "" {
				return nil, errors.New("the login returned no refresh token: grant the refresh scope")
			}
			token := login.RefreshToken
			workers[i] = func(ctx context.Context) error {
				next, err := c.post(ctx, "/oauth2/token",
					url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
				if err != nil {
					return err
				}
				token = next.RefreshToken
				return nil
			}
		}
	case "introspection":
		login, err := c.login(ctx, c.o.users[0])
		if err != nil {
			return nil, fmt.Errorf("login before the introspection workload: %w", err)
		}
		form := url.Values{"token": {login.AccessToken}}
		for i := range workers {
			workers[i] = func(ctx context.Context) error {
				out, err := c.post(ctx, "/oauth2/introspect", form)
				if err == nil && (out.Active == nil || !*out.Active) {
					err = errors.New("the introspected token is inactive")
				}
				return err
			}
		}
	}
	return workers, nil
}

// result is one measurement.
type result struct {
	workload    string
	concurrency int
	requests    int
	errors      int64
	firstError  string
	elapsed     time.Duration
	p50, p99    time.Duration
}

// measure runs the workers for the warm-up and then for the measurement's
// duration. Requests that start during the warm-up are not counted, except
// for their errors.
func (c *loadClient) measure(workload string, workers []worker) result {
	ctx, cancel := context.WithTimeout(context.Background(), c.o.warmup+c.o.duration)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errCount  atomic.Int64
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	start := time.Now().Add(c.o.warmup)
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			for ctx.Err() == nil {
				t0 := time.Now()
				err := w(ctx)
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					errCount.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if t0.Before(start) {
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	slices.Sort(latencies)
	r := result{workload: workload, concurrency: len(workers), requests: len(latencies),
		errors: errCount.Load(), elapsed: elapsed}
	if msg, ok := firstErr.Load().(string); ok {
		r.firstError = msg
	}
	if len(latencies) > 0 {
		r.p50 = latencies[len(latencies)*50/100]
		r.p99 = latencies[min(len(latencies)-1, len(latencies)*99/100)]
	}
	return r
}

func run(o options, out io.Writer) error {
	c := &loadClient{o: o, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256},
	}}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tconcurrency\trequests\terrors\treq/s\tp50 ms\tp99 ms\t")
	var firstErrors []string
	bestPassword := 0.0
	for _, workload := range o.workloads {
		for _, n := range o.concurrency {
			workers, err := c.prepare(context.Background(), workload, n)
			if err != nil {
				return err
			}
			r := c.measure(workload, workers)
			rate := float64(r.requests) / r.elapsed.Seconds()
			if workload == "password" {
				bestPassword = max(bestPassword, rate)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%.1f\t%.1f\t\n", r.workload, r.concurrency,
				r.requests, r.errors, rate,
				float64(r.p50.Microseconds())/1000, float64(r.p99.Microseconds())/1000)
			if r.firstError != "" {
				firstErrors = append(firstErrors, fmt.Sprintf("%s at %d: %s", workload, n, r.firstError))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if slices.Contains(o.workloads, "password") {
		// Measured after the load, with the server idle, in this process.
		ceiling, err := hashCeiling(o.argon2, o.duration)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "password hash ceiling (argon2id m=%d,t=%d,p=%d on %d CPUs): %.0f/s; "+
			"best password grant rate: %.0f/s = %.0f %% of it\n", o.argon2.MemoryKiB, o.argon2.Iterations,
			o.argon2.Parallelism, runtime.GOMAXPROCS(0), ceiling, bestPassword, 100*bestPassword/ceiling)
	}
	for _, e := range firstErrors {
		fmt.Fprintln(out, "first error:", e)
	}
	return nil
}
