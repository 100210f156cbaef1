package admin

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-playground/validator/v10"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/storage"
)

// Defaults for zero Options fields, equal to the configuration defaults.
const (
	DefaultAdminRole  = "admin"
	DefaultMaxResults = 1000
)

// Options configures the administration API.
type Options struct {
	// AdminRole is the role name that grants administration, or
	// DefaultAdminRole when empty.
	AdminRole string
	// MaxResults is the maximum number of entities one list request
	// returns, or DefaultMaxResults when zero or less.
	MaxResults int
	// Clients lists the client IDs whose access tokens the API accepts;
	// empty accepts the tokens of every client.
	Clients []string
	// ProtectedClients lists client IDs that the server's configuration
	// owns; the API refuses to change or delete them (409).
	ProtectedClients []string
}

// API serves the /uapi routes.
type API struct {
	adminRole  string
	maxResults int
	// tokenClients lists the clients whose tokens are accepted; empty
	// accepts every client.
	tokenClients []string
	// protectedClients cannot be changed or deleted through the API.
	protectedClients []string
	store            *storage.Store
	tokens           TokenService
	users            *accounts.Users
	roles            *accounts.Roles
	clients          *accounts.Clients
	validate         *validator.Validate
	log              *zap.Logger
}

// New returns the administration API. log may be nil.
func New(opts Options, store *storage.Store, tokens TokenService, users *accounts.Users,
	roles *accounts.Roles, clients *accounts.Clients, log *zap.Logger) *API {
	if opts.AdminRole == "" {
		opts.AdminRole = DefaultAdminRole
	}
	if opts.MaxResults <= 0 {
		opts.MaxResults = DefaultMaxResults
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &API{
		adminRole:        opts.AdminRole,
		maxResults:       opts.MaxResults,
		tokenClients:     opts.Clients,
		protectedClients: opts.ProtectedClients,
		store:            store,
		tokens:           tokens,
		users:            users,
		roles:            roles,
		clients:          clients,
		validate:         accounts.NewValidator(),
		log:              log,
	}
}

// Mount adds the /uapi routes to r. Every route needs a valid bearer access
// token of a verified user (authenticate), and the handlers check the
// administrator role or the self-service rules.
func (a *API) Mount(r chi.Router) {
	r.Route("/uapi", func(r chi.Router) {
		r.Use(addCollectionSlash)
		r.Use(a.authenticate)

		r.Get("/users/", a.listUsers)
		r.Post("/users/", a.requireAdmin(a.createUser))
		r.Get("/users/{id}", a.getUser)
		r.Put("/users/{id}", a.updateUser)
		r.Delete("/users/{id}", a.requireAdmin(a.deleteUser))
		r.Delete("/users/{id}/collection/{relation}", a.requireAdmin(a.removeUserRelation))

		r.Get("/roles/", a.requireAdmin(a.listRoles))
		r.Post("/roles/", a.requireAdmin(a.createRole))
		r.Get("/roles/{id}", a.requireAdmin(a.getRole))
		r.Put("/roles/{id}", a.requireAdmin(a.updateRole))
		r.Delete("/roles/{id}", a.requireAdmin(a.deleteRole))

		r.Get("/clients/", a.requireAdmin(a.listClients))
		r.Post("/clients/", a.requireAdmin(a.createClient))
		r.Get("/clients/{id}", a.requireAdmin(a.getClient))
		r.Put("/clients/{id}", a.requireAdmin(a.updateClient))
		r.Delete("/clients/{id}", a.requireAdmin(a.deleteClient))
		r.Post("/clients/{id}/secret", a.requireAdmin(a.rotateClientSecret))
	})
}

// addCollectionSlash routes /uapi/users, /uapi/roles and /uapi/clients like
// their spellings with a trailing slash, which the Averos client uses, so
// that both work while each route has one pattern.
func addCollectionSlash(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rctx := chi.RouteContext(r.Context()); rctx != nil {
			switch rctx.RoutePath {
			case "/users", "/roles", "/clients":
				rctx.RoutePath += "/"
			}
		}
		next.ServeHTTP(w, r)
	})
}
