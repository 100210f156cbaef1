package httpserver

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// findMetric returns the metric of family name whose labels equal labels,
// or nil.
func findMetric(t *testing.T, registry *prometheus.Registry, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	families, err := registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, family := range families {
		if family.GetName() != name {
			continue
		}
		for _, metric := range family.GetMetric() {
			if labelsEqual(metric.GetLabel(), labels) {
				return metric
			}
		}
	}
	return nil
}

func labelsEqual(pairs []*dto.LabelPair, want map[string]string) bool {
	if len(pairs) != len(want) {
		return false
	}
	for _, pair := range pairs {
		if value, ok := want[pair.GetName()]; !ok || value != pair.GetValue() {
			return false
		}
	}
	return true
}

func counterValue(t *testing.T, registry *prometheus.Registry, labels map[string]string) float64 {
	t.Helper()
	metric := findMetric(t, registry, "http_requests_total", labels)
	if metric == nil {
		return 0
	}
	return metric.GetCounter().GetValue()
}

func TestMetricsCountByRoutePattern(t *testing.T) {
	registry := prometheus.NewRegistry()
	ts := startServer(t, Options{MetricsEnabled: true, Registry: registry}, func(r chi.Router) {
		r.Get("/clients/{id}", okHandler)
	})
	clientLabels := map[string]string{"method": "GET", "route": "/clients/{id}", "status": "200"}
	missingLabels := map[string]string{"method": "GET", "route": unmatchedRoute, "status": "404"}
	otherLabels := map[string]string{"method": "other", "route": unmatchedRoute, "status": "405"}

	ts.get(t, "/clients/1")
	if got := counterValue(t, registry, clientLabels); got != 1 {
		t.Errorf("after one request: http_requests_total%v = %v, want 1", clientLabels, got)
	}
	ts.get(t, "/clients/2")
	if got := counterValue(t, registry, clientLabels); got != 2 {
		t.Errorf("after two requests: http_requests_total%v = %v, want 2", clientLabels, got)
	}

	ts.get(t, "/missing/1")
	ts.get(t, "/missing/2")
	if got := counterValue(t, registry, missingLabels); got != 2 {
		t.Errorf("http_requests_total%v = %v, want 2", missingLabels, got)
	}

	ts.do(t, ts.newRequest(t, "BREW", "/clients/1", nil))
	if got := counterValue(t, registry, otherLabels); got != 1 {
		t.Errorf("http_requests_total%v = %v, want 1", otherLabels, got)
	}

	histogram := findMetric(t, registry, "http_request_duration_seconds",
		map[string]string{"method": "GET", "route": "/clients/{id}"})
	if histogram == nil {
		t.Fatalf("no http_request_duration_seconds for GET /clients/{id}")
	}
	if got := histogram.GetHistogram().GetSampleCount(); got != 2 {
		t.Errorf("duration sample count = %d, want 2", got)
	}
}

func TestMetricsEndpointServesRegistry(t *testing.T) {
	ts := startServer(t, Options{MetricsEnabled: true}, func(r chi.Router) {
		r.Get("/clients/{id}", okHandler)
	})
	ts.get(t, "/clients/7")

	resp, body := ts.get(t, "/metrics")

	assertStatus(t, resp, http.StatusOK)
	assertContains(t, "/metrics body", body,
		`http_requests_total{method="GET",route="/clients/{id}",status="200"} 1`)
	assertContains(t, "/metrics body", body, "go_goroutines ")
	assertContains(t, "/metrics body", body, "process_start_time_seconds ")
}

func TestMetricsDisabledHasNoEndpoint(t *testing.T) {
	ts := startServer(t, Options{}, nil)

	resp, _ := ts.get(t, "/metrics")

	assertStatus(t, resp, http.StatusNotFound)
}

func TestMetricsSharedRegistry(t *testing.T) {
	registry := prometheus.NewRegistry()
	New(Options{MetricsEnabled: true, Registry: registry})
	ts := startServer(t, Options{MetricsEnabled: true, Registry: registry}, nil)

	ts.get(t, "/healthz")

	labels := map[string]string{"method": "GET", "route": "/healthz", "status": "200"}
	if got := counterValue(t, registry, labels); got != 1 {
		t.Errorf("second server on the registry: http_requests_total%v = %v, want 1", labels, got)
	}
}
