// Package app assembles the server from its parts: it opens storage (a
// MongoDB server, or the embedded engine in the data directory), builds the
// HTTP server with every package's routes, and runs the background work
// (expiry sweep, key rotation) until shutdown.
//
// Files: logger.go builds the zap logger; storage.go opens the store;
// app.go builds and runs the server.
package app
