package app_test

import (
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"

	"github.com/averos/averos-auth/internal/app"
	"github.com/averos/averos-auth/storage/storagetest"
)

// routeKey names one operation: "GET /uapi/users/{id}". A trailing slash is
// dropped, because the server accepts every path with and without it.
func routeKey(method, path string) string {
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return strings.ToUpper(method) + " " + path
}

func mountedRoutes(t *testing.T, r chi.Router) map[string]bool {
	t.Helper()
	routes := map[string]bool{}
	err := chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		// chi reports a sub-router's root as "/prefix/*" internals only
		// when routes are mounted with Mount; plain patterns come as is.
		route = strings.ReplaceAll(route, "/*/", "/")
		routes[routeKey(method, route)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return routes
}

func documentedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	methods := map[string]bool{"get": true, "post": true, "put": true, "delete": true, "patch": true, "head": true, "options": true}
	routes := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			if methods[method] {
				routes[routeKey(method, path)] = true
			}
		}
	}
	return routes
}

// Every route the server mounts is described in docs/openapi.yaml, and
// every described operation is mounted.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	st := storagetest.New(t)
	a, err := app.New(testConfig(t), zap.NewNop(), st)
	if err != nil {
		t.Fatal(err)
	}
	mounted := mountedRoutes(t, a.Router())
	documented := documentedRoutes(t)

	var undocumented, unmounted []string
	for r := range mounted {
		if !documented[r] {
			undocumented = append(undocumented, r)
		}
	}
	for r := range documented {
		if !mounted[r] {
			unmounted = append(unmounted, r)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unmounted)
	for _, r := range undocumented {
		t.Errorf("mounted but not in docs/openapi.yaml: %s", r)
	}
	for _, r := range unmounted {
		t.Errorf("in docs/openapi.yaml but not mounted: %s", r)
	}
	if len(mounted) < 30 {
		t.Errorf("only %d routes mounted; the walk missed routes", len(mounted))
	}
}
