package admin

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
)

// maxLifetimeSeconds bounds a token lifetime given in seconds (ten years),
// far below the overflow of time.Duration.
const maxLifetimeSeconds = 10 * 365 * 24 * 3600

// clientView is an OAuth client as this API returns it. Lifetimes are whole
// seconds, 0 meaning the server default. The secret appears only in the
// responses that create or rotate it.
type clientView struct {
	ID                   string    `json:"client_id"`
	Name                 string    `json:"client_name,omitempty"`
	Public               bool      `json:"public"`
	GrantTypes           []string  `json:"grant_types"`
	Scopes               []string  `json:"scopes"`
	Audiences            []string  `json:"audiences"`
	AccessTokenLifetime  int64     `json:"access_token_lifetime"`
	RefreshTokenLifetime int64     `json:"refresh_token_lifetime"`
	IDTokenLifetime      int64     `json:"id_token_lifetime"`
	CORSOrigins          []string  `json:"cors_origins"`
	IntrospectAny        bool      `json:"introspect_any"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
	ClientSecret         string    `json:"client_secret,omitempty"`
}

func newClientView(c *storage.Client) clientView {
	return clientView{
		ID:                   c.ID,
		Name:                 c.Name,
		Public:               c.Public,
		GrantTypes:           nonNil(c.GrantTypes),
		Scopes:               nonNil(c.Scopes),
		Audiences:            nonNil(c.Audiences),
		AccessTokenLifetime:  int64(c.AccessTokenLifetime / time.Second),
		RefreshTokenLifetime: int64(c.RefreshTokenLifetime / time.Second),
		IDTokenLifetime:      int64(c.IDTokenLifetime / time.Second),
		CORSOrigins:          nonNil(c.CORSOrigins),
		IntrospectAny:        c.IntrospectAny,
		CreatedAt:            c.CreatedAt,
		UpdatedAt:            c.UpdatedAt,
	}
}

// specOf returns the settings of c as the input for accounts.Clients.
func specOf(c *storage.Client) accounts.ClientSpec {
	return accounts.ClientSpec{
		ID:                   c.ID,
		Name:                 c.Name,
		Public:               c.Public,
		GrantTypes:           c.GrantTypes,
		Scopes:               c.Scopes,
		Audiences:            c.Audiences,
		AccessTokenLifetime:  c.AccessTokenLifetime,
		RefreshTokenLifetime: c.RefreshTokenLifetime,
		IDTokenLifetime:      c.IDTokenLifetime,
		CORSOrigins:          c.CORSOrigins,
		IntrospectAny:        c.IntrospectAny,
	}
}

// applyClientBody overwrites the fields of spec that the body gives,
// checking each value's JSON type. accounts.Clients validates the result.
// client_id is taken only when setID is true (on creation). Unknown keys
// and null values are ignored.
func applyClientBody(spec *accounts.ClientSpec, members []member, setID bool) error {
	for _, m := range members {
		if isNull(m.value) {
			continue
		}
		var err error
		switch m.key {
		case "client_id":
			if setID {
				spec.ID, err = decodeString(m.value, m.key)
			}
		case "client_name":
			spec.Name, err = decodeString(m.value, m.key)
		case "public":
			spec.Public, err = decodeBool(m.value, m.key)
		case "introspect_any":
			spec.IntrospectAny, err = decodeBool(m.value, m.key)
		case "grant_types":
			spec.GrantTypes, err = decodeStringArray(m.value, m.key)
		case "scopes":
			spec.Scopes, err = decodeStringArray(m.value, m.key)
		case "audiences":
			spec.Audiences, err = decodeStringArray(m.value, m.key)
		case "cors_origins":
			spec.CORSOrigins, err = decodeStringArray(m.value, m.key)
		case "access_token_lifetime":
			spec.AccessTokenLifetime, err = decodeSeconds(m.value, m.key)
		case "refresh_token_lifetime":
			spec.RefreshTokenLifetime, err = decodeSeconds(m.value, m.key)
		case "id_token_lifetime":
			spec.IDTokenLifetime, err = decodeSeconds(m.value, m.key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// decodeSeconds reads a lifetime: a whole number of seconds from 0 (the
// server default) to maxLifetimeSeconds.
func decodeSeconds(v json.RawMessage, field string) (time.Duration, error) {
	if t := jsonType(v); t != "number" {
		return 0, invalidInput("%s must be a number of seconds, not %s", field, article(t))
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
	if err != nil || n < 0 || n > maxLifetimeSeconds {
		return 0, invalidInput("%s must be a whole number of seconds from 0 to %d", field, maxLifetimeSeconds)
	}
	return time.Duration(n) * time.Second, nil
}

// listClients serves GET /uapi/clients/.
func (a *API) listClients(w http.ResponseWriter, r *http.Request) {
	clients, err := a.store.Clients.List(r.Context(), a.maxResults)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	views := make([]clientView, len(clients))
	for i := range clients {
		views[i] = newClientView(&clients[i])
	}
	httpserver.WriteJSON(w, http.StatusOK, listResponse{ReturnedEntities: views})
}

// getClient serves GET /uapi/clients/{id}.
func (a *API) getClient(w http.ResponseWriter, r *http.Request) {
	c, err := a.store.Clients.Get(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		a.writeError(w, r, err, "client")
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, newClientView(c))
}

// createClient serves POST /uapi/clients/. A confidential client's secret
// is generated and returned once, as client_secret.
func (a *API) createClient(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	members, err := readObject(r)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	var spec accounts.ClientSpec
	if err := applyClientBody(&spec, members, true); err != nil {
		a.writeError(w, r, err, "")
		return
	}
	c, secret, err := a.clients.Create(ctx, spec)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	a.logger(ctx).Info("created an OAuth client", zap.String("client_id", c.ID),
		zap.String("by", callerFrom(ctx).user.ID))
	view := newClientView(c)
	view.ClientSecret = secret
	noStore(w)
	httpserver.WriteJSON(w, http.StatusCreated, view)
}

// updateClient serves PUT /uapi/clients/{id}, a partial update: settings
// the body does not give keep their values. The id and the secret stay.
func (a *API) updateClient(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	if a.rejectProtectedClient(w, id) {
		return
	}
	members, err := readObject(r)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	current, err := a.store.Clients.Get(ctx, id)
	if err != nil {
		a.writeError(w, r, err, "client")
		return
	}
	spec := specOf(current)
	if err := applyClientBody(&spec, members, false); err != nil {
		a.writeError(w, r, err, "")
		return
	}
	c, err := a.clients.Update(ctx, id, spec)
	if err != nil {
		a.writeError(w, r, err, "client")
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, newClientView(c))
}

// rotateClientSecret serves POST /uapi/clients/{id}/secret: it replaces the
// secret of a confidential client and returns the new one once.
func (a *API) rotateClientSecret(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	// NOTE: the rotation drops this instance's cached copy of the client at
	// once, but other server instances may accept the old secret (and the old
	// settings after updateClient) for up to 5 s more.
	secret, err := a.clients.RotateSecret(ctx, id)
	if err != nil {
		a.writeError(w, r, err, "client")
		return
	}
	a.logger(ctx).Info("rotated an OAuth client secret", zap.String("client_id", id),
		zap.String("by", callerFrom(ctx).user.ID))
	noStore(w)
	httpserver.WriteJSON(w, http.StatusOK, struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}{id, secret})
}

// deleteClient serves DELETE /uapi/clients/{id}: it revokes the client's
// tokens, deletes the client and returns the deleted settings.
func (a *API) deleteClient(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	if a.rejectProtectedClient(w, id) {
		return
	}
	c, err := a.store.Clients.Get(ctx, id)
	if err != nil {
		a.writeError(w, r, err, "client")
		return
	}
	if err := a.clients.Delete(ctx, id); err != nil {
		a.writeError(w, r, err, "client")
		return
	}
	a.logger(ctx).Info("deleted an OAuth client", zap.String("client_id", id),
		zap.String("by", callerFrom(ctx).user.ID))
	httpserver.WriteJSON(w, http.StatusOK, newClientView(c))
}

// noStore keeps a response that carries a secret out of every cache.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// rejectProtectedClient responds with 409 for a client that the server's
// configuration owns (the Averos first-party client): changing or deleting
// it through the API would break /auth/login.
func (a *API) rejectProtectedClient(w http.ResponseWriter, id string) bool {
	if !slices.Contains(a.protectedClients, id) {
		return false
	}
	httpserver.WriteText(w, http.StatusConflict,
		"client "+id+" is managed by the server configuration and cannot be changed or deleted here")
	return true
}
