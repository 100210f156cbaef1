// Package httpserver provides the HTTP server of averos-auth: one chi router
// behind one shared middleware chain, the operational endpoints and a Serve
// method that shuts down gracefully.
//
// Every request, including one that ends in 404 or 405, passes through this
// chain, outermost first:
//
//  1. panic recovery (middleware.go): a panic becomes a plain-text 500 and an
//     Error log entry with the stack and the request id.
//  2. request id (requestid.go): an id per request, stored in the context and
//     sent back in the X-Request-Id header. LoggerFrom returns a logger that
//     carries it.
//  3. access log (middleware.go): one Info entry per request with the route
//     pattern and the path, never the query string, headers or bodies.
//  4. metrics (metrics.go): a request counter and a duration histogram
//     labeled by route pattern, when Options.MetricsEnabled is set.
//  5. security headers (middleware.go).
//  6. CORS (cors.go) for the exact origins in Options.AllowedOrigins.
//  7. body limit (middleware.go): Options.MaxBodyBytes per request body.
//
// New mounts GET /healthz, GET /readyz (health.go) and, with metrics
// enabled, GET /metrics. Other packages mount their own routes on Router.
// Serve (server.go) runs the http.Server on a listener until its context is
// canceled.
package httpserver
