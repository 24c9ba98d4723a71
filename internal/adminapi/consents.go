package adminapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
)

// Consents are Entra's oauth2PermissionGrants: which delegated scopes of a
// resource a client may use for every user (an admin consent,
// AllPrincipals) or for one user, without asking them.

// appIDOf names an application by its appId for the consent routes. An
// appId whose application is gone is taken as it is, so that consents
// outliving their client or resource can still be listed and withdrawn.
func (a *api) appIDOf(ctx context.Context, tenantID, ref string) (string, error) {
	app, err := a.dir.GetApplication(ctx, tenantID, ref)
	if errors.Is(err, directory.ErrNotFound) && directory.IsGUID(ref) {
		return strings.ToLower(ref), nil
	}
	return app.AppID, err
}

// principalOf resolves the principal of a consent: AllPrincipals (also
// when empty) or a user, by object id or user principal name.
func (a *api) principalOf(ctx context.Context, c *call, ref string) (string, error) {
	if ref == "" || strings.EqualFold(ref, directory.AllPrincipals) {
		return directory.AllPrincipals, nil
	}
	u, err := a.dir.GetUser(ctx, c.tenant.ID, ref)
	if err != nil {
		return "", domainErr(err, "user "+quote(ref)+" does not exist in tenant "+c.tenant.Domain, "")
	}
	return u.ObjectID, nil
}

func (a *api) clientOf(ctx context.Context, c *call, ref string) (string, error) {
	id, err := a.appIDOf(ctx, c.tenant.ID, ref)
	if err != nil {
		return "", domainErr(err, "client application "+quote(ref)+" does not exist in tenant "+c.tenant.Domain, "")
	}
	return id, nil
}

// listConsents lists the consents of one client (?client=, required);
// ?principal= narrows them to those that hold for a user (the user's own
// and the admin consents), or to the admin consents (AllPrincipals).
func (a *api) listConsents(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	if q.Get("client") == "" {
		return badRequest("name the client whose consents to list: ?client={appId}")
	}
	clientID, err := a.clientOf(r.Context(), c, q.Get("client"))
	if err != nil {
		return err
	}
	principal := ""
	if ref := q.Get("principal"); ref != "" {
		if principal, err = a.principalOf(r.Context(), c, ref); err != nil {
			return err
		}
	}
	filterAll := principal == directory.AllPrincipals
	if filterAll {
		principal = "" // the store's "" is every grant; keep the admin ones below
	}
	gs, err := a.dir.ListConsents(r.Context(), c.tenant.ID, clientID, principal)
	if err != nil {
		return domainErr(err, "", "")
	}
	out := []ConsentGrant{}
	for _, g := range gs {
		if !filterAll || g.PrincipalID == directory.AllPrincipals {
			out = append(out, consentOut(g))
		}
	}
	writeJSON(w, http.StatusOK, list(out))
	return nil
}

// grantConsent records a consent and answers with the grant as it now
// stands: a consent only grows, so scopes granted before stay.
func (a *api) grantConsent(w http.ResponseWriter, r *http.Request, c *call) error {
	var body ConsentCreate
	if err := decode(w, r, &body); err != nil {
		return err
	}
	resource := strings.TrimSuffix(strings.TrimSpace(body.Resource), "/")
	if body.ClientID == "" || resource == "" || len(body.Scopes) == 0 {
		return badRequest("clientId, resource and scopes are all required")
	}
	ctx := r.Context()
	client, err := a.dir.GetApplication(ctx, c.tenant.ID, body.ClientID)
	if err != nil {
		return domainErr(err, "client application "+quote(body.ClientID)+" does not exist in tenant "+c.tenant.Domain, "")
	}
	principal, err := a.principalOf(ctx, c, body.Principal)
	if err != nil {
		return err
	}
	q, err := a.consentScopes(ctx, c, resource, body.Scopes)
	if err != nil {
		return err
	}
	if err := a.dir.Consent(ctx, c.tenant.ID, client.AppID, principal, q); err != nil {
		return domainErr(err, "tenant "+c.tenant.Domain+" no longer exists", "")
	}
	resourceAppID := directory.OIDCResource
	if len(q.Resources) > 0 {
		resourceAppID = q.Resources[0].Resource.App.AppID
	}
	gs, err := a.dir.ListConsents(ctx, c.tenant.ID, client.AppID, principal)
	if err != nil {
		return domainErr(err, "", "")
	}
	for _, g := range gs {
		if g.ResourceAppID == resourceAppID && g.PrincipalID == principal {
			a.audit(r, c, "consent.grant", "client_id", g.ClientID, "resource", g.ResourceAppID, "principal", g.PrincipalID,
				"scopes", strings.Join(g.Scopes, " "))
			writeJSON(w, http.StatusOK, consentOut(g))
			return nil
		}
	}
	return internalf("adminapi: consent of %s to %s for %s not found after it was stored", principal, client.AppID, resourceAppID)
}

// consentScopes resolves the scopes of one resource as the token endpoint
// would (directory.ParseScopes), so that a consent names only scopes a
// client can actually request.
func (a *api) consentScopes(ctx context.Context, c *call, resource string, values []string) (directory.ScopeRequest, error) {
	oidc := resource == directory.OIDCResource
	full := make([]string, 0, len(values))
	for _, v := range values {
		v = strings.TrimSpace(v)
		switch {
		case v == "" || strings.ContainsAny(v, " \t\r\n/"):
			return directory.ScopeRequest{}, badRequest("scope %s must be a scope value such as read, without the resource", quote(v))
		case v == ".default":
			return directory.ScopeRequest{}, badRequest(".default is no scope to consent to: name the scopes")
		case oidc && !directory.IsOIDCScope(v):
			return directory.ScopeRequest{}, badRequest("the openid resource has only the scopes openid, profile, email and offline_access, not %s", quote(v))
		case oidc:
			full = append(full, v)
		default:
			full = append(full, resource+"/"+v)
		}
	}
	q, err := a.dir.ParseScopes(ctx, c.tenant.ID, strings.Join(full, " "), "")
	switch {
	case errors.Is(err, directory.ErrInvalidScope):
		return q, &apiError{kind: kindBadRequest, cause: err, message: strings.TrimPrefix(err.Error(), directory.ErrInvalidScope.Error()+": ")}
	case errors.Is(err, directory.ErrUnknownResource):
		return q, &apiError{kind: kindNotFound, cause: err,
			message: "resource " + quote(resource) + " does not exist in tenant " + c.tenant.Domain + ", or has no enabled service principal there"}
	case err != nil:
		return q, domainErr(err, "", "")
	}
	return q, nil
}

// revokeConsent withdraws a whole grant: ?client=, ?resource= (an
// identifier URI, an appId, or openid) and ?principal= (default
// AllPrincipals). Tokens already issued stay valid until they expire, as
// in Entra; disable the user or revoke the grant to end them at once.
func (a *api) revokeConsent(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	if q.Get("client") == "" || q.Get("resource") == "" {
		return badRequest("name the consent to revoke: ?client={appId}&resource={resource}[&principal={user}]")
	}
	ctx := r.Context()
	clientID, err := a.clientOf(ctx, c, q.Get("client"))
	if err != nil {
		return err
	}
	resourceAppID := directory.OIDCResource
	if ref := strings.TrimSuffix(q.Get("resource"), "/"); ref != directory.OIDCResource {
		if resourceAppID, err = a.appIDOf(ctx, c.tenant.ID, ref); err != nil {
			return domainErr(err, "resource "+quote(ref)+" does not exist in tenant "+c.tenant.Domain, "")
		}
	}
	principal, err := a.principalOf(ctx, c, q.Get("principal"))
	if err != nil {
		return err
	}
	if err := a.dir.RevokeConsent(ctx, c.tenant.ID, clientID, resourceAppID, principal); err != nil {
		return domainErr(err, "there is no such consent to client "+quote(q.Get("client"))+" for "+quote(q.Get("resource"))+" in tenant "+c.tenant.Domain, "")
	}
	a.audit(r, c, "consent.revoke", "client_id", clientID, "resource", resourceAppID, "principal", principal)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
