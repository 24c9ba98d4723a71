package directory

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Client is an application that has authenticated at the token endpoint,
// with the service principal it acts as in the tenant.
type Client struct {
	App        Application
	SP         ServicePrincipal
	Credential Credential // the credential it authenticated with
}

// AuthenticateSecret checks a client secret (RFC 6749 §2.3.1). Every
// failure is ErrInvalidClient, wrapped with the reason for the log.
func (s *Service) AuthenticateSecret(ctx context.Context, tenantID, clientID, secret string) (Client, error) {
	// Hash before looking anything up, so an unknown client costs what a
	// known one does.
	presented := s.hasher.HashSecret(secret)
	app, creds, err := s.clientCredentials(ctx, tenantID, clientID)
	if err != nil {
		return Client{}, err
	}
	now := s.clock()
	var matched *Credential
	for i := range creds {
		c := &creds[i]
		if c.Type != CredentialSecret {
			continue
		}
		// Constant-time comparison of keyed hashes (RFC 9700 §4.10 is about
		// impersonation; a timing side channel is one way to it).
		if hmac.Equal(c.SecretHash, presented) {
			matched = c
		}
	}
	if matched == nil {
		return Client{}, fmt.Errorf("%w: client %s: no secret matches", ErrInvalidClient, clientID)
	}
	if !matched.ValidAt(now) {
		return Client{}, fmt.Errorf("%w: client %s: secret %s expired at %s", ErrInvalidClient, clientID, matched.KeyID, matched.ExpiresAt)
	}
	return s.activeClient(ctx, tenantID, app, *matched)
}

// ClientCertificates returns the application and its certificates valid
// now, for checking a client assertion (RFC 7523 §3).
func (s *Service) ClientCertificates(ctx context.Context, tenantID, clientID string) (Application, []Credential, error) {
	app, creds, err := s.clientCredentials(ctx, tenantID, clientID)
	if err != nil {
		return Application{}, nil, err
	}
	now := s.clock()
	var certs []Credential
	for _, c := range creds {
		if c.Type == CredentialCertificate && c.ValidAt(now) {
			certs = append(certs, c)
		}
	}
	if len(certs) == 0 {
		return Application{}, nil, fmt.Errorf("%w: client %s has no valid certificate", ErrInvalidClient, clientID)
	}
	return app, certs, nil
}

// AuthenticatedByCertificate completes client authentication once the
// caller has verified a client assertion against cert.
func (s *Service) AuthenticatedByCertificate(ctx context.Context, tenantID string, app Application, cert Credential) (Client, error) {
	return s.activeClient(ctx, tenantID, app, cert)
}

// PublicClient identifies a public client (RFC 6749 §2.1) by its client id
// alone. An unknown client is ErrInvalidClient, as a wrong credential is;
// a confidential client is ErrCredentialRequired: it must authenticate.
func (s *Service) PublicClient(ctx context.Context, tenantID, clientID string) (Client, error) {
	id := strings.ToLower(clientID)
	if !IsGUID(id) {
		return Client{}, fmt.Errorf("%w: client id %q is not a GUID", ErrInvalidClient, clientID)
	}
	app, err := s.repo.GetApplication(ctx, tenantID, id)
	if errors.Is(err, ErrNotFound) {
		return Client{}, fmt.Errorf("%w: no application %s in tenant", ErrInvalidClient, id)
	}
	if err != nil {
		return Client{}, err
	}
	if !app.PublicClient {
		return Client{}, fmt.Errorf("%w: client %s is confidential", ErrCredentialRequired, id)
	}
	return s.activeClient(ctx, tenantID, app, Credential{})
}

// ConsumeAssertionID records that a client assertion's jti was used (RFC
// 7523 §3 item 7), durably, until it expires; a second use is ErrReplay.
func (s *Service) ConsumeAssertionID(ctx context.Context, tenantID, clientID, jti string, until time.Time) error {
	return s.repo.ConsumeOnce(ctx, tenantID, "client_assertion:"+clientID+":"+jti, until)
}

// ApplicationByAppID finds an application by its appId exactly (no
// identifier URI, no object id): the sign-in and logout pages match a
// client_id and nothing else.
func (s *Service) ApplicationByAppID(ctx context.Context, tenantID, appID string) (Application, error) {
	return s.repo.GetApplication(ctx, tenantID, appID)
}

func (s *Service) clientCredentials(ctx context.Context, tenantID, clientID string) (Application, []Credential, error) {
	clientID = strings.ToLower(clientID)
	if !IsGUID(clientID) {
		return Application{}, nil, fmt.Errorf("%w: client id %q is not a GUID", ErrInvalidClient, clientID)
	}
	app, err := s.repo.GetApplication(ctx, tenantID, clientID)
	if errors.Is(err, ErrNotFound) {
		return Application{}, nil, fmt.Errorf("%w: no application %s in tenant", ErrInvalidClient, clientID)
	}
	if err != nil {
		return Application{}, nil, err
	}
	creds, err := s.repo.ListCredentials(ctx, tenantID, clientID)
	if err != nil {
		return Application{}, nil, err
	}
	return app, creds, nil
}

// activeClient checks, after authentication, that the client may act in
// the tenant at all: it needs an enabled service principal there.
func (s *Service) activeClient(ctx context.Context, tenantID string, app Application, cred Credential) (Client, error) {
	sp, err := s.repo.GetServicePrincipalByAppID(ctx, tenantID, app.AppID)
	if errors.Is(err, ErrNotFound) {
		return Client{}, fmt.Errorf("%w: application %s has no service principal in the tenant", ErrClientDisabled, app.AppID)
	}
	if err != nil {
		return Client{}, err
	}
	if !sp.Enabled {
		return Client{}, fmt.Errorf("%w: service principal %s is disabled", ErrClientDisabled, sp.ObjectID)
	}
	return Client{App: app, SP: sp, Credential: cred}, nil
}

// Resource is an application as the audience of a token.
type Resource struct {
	App Application
	SP  ServicePrincipal
	// Requested is the resource as the client named it: v1 tokens carry it
	// as their aud (Entra does the same).
	Requested string
}

// ResolveResource finds the resource a `resource` parameter or the prefix
// of a `{resource}/.default` scope names: an identifier URI, an appId, or
// api://{appId}. It must have a service principal in the tenant.
func (s *Service) ResolveResource(ctx context.Context, tenantID, ref string) (Resource, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Resource{}, fmt.Errorf("%w: empty resource", ErrUnknownResource)
	}
	app, err := s.repo.GetApplicationByIdentifierURI(ctx, tenantID, ref)
	if errors.Is(err, ErrNotFound) {
		// Clients also name a resource by its bare appId, with or without
		// a trailing slash (`https://x//.default` style requests).
		id := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(ref, "api://"), "/"))
		if IsGUID(id) {
			app, err = s.repo.GetApplication(ctx, tenantID, id)
		} else if trimmed := strings.TrimSuffix(ref, "/"); trimmed != ref {
			app, err = s.repo.GetApplicationByIdentifierURI(ctx, tenantID, trimmed)
		} else {
			// And an identifier URI registered with a trailing slash
			// named without it (https://management.core.windows.net/.default).
			app, err = s.repo.GetApplicationByIdentifierURI(ctx, tenantID, ref+"/")
		}
	}
	if errors.Is(err, ErrNotFound) {
		return Resource{}, fmt.Errorf("%w: %q", ErrUnknownResource, ref)
	}
	if err != nil {
		return Resource{}, err
	}
	sp, err := s.repo.GetServicePrincipalByAppID(ctx, tenantID, app.AppID)
	if errors.Is(err, ErrNotFound) {
		return Resource{}, fmt.Errorf("%w: %q has no service principal in the tenant", ErrUnknownResource, ref)
	}
	if err != nil {
		return Resource{}, err
	}
	if !sp.Enabled {
		return Resource{}, fmt.Errorf("%w: %q is disabled", ErrUnknownResource, ref)
	}
	return Resource{App: app, SP: sp, Requested: ref}, nil
}

// ApplicationRoles returns the values of the enabled app roles of resource
// that principal holds, in the order the resource defines them.
func (s *Service) ApplicationRoles(ctx context.Context, tenantID, principalID string, resource Resource) ([]string, error) {
	return s.rolesOf(ctx, tenantID, principalID, resource, MemberTypeApplication)
}

func (s *Service) rolesOf(ctx context.Context, tenantID, principalID string, resource Resource, memberType string) ([]string, error) {
	assignments, err := s.repo.ListRoleAssignmentsByPrincipal(ctx, tenantID, principalID)
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, a := range assignments {
		if a.ResourceID == resource.SP.ObjectID {
			held[a.AppRoleID] = true
		}
	}
	var roles []string
	for _, r := range resource.App.AppRoles {
		if held[r.ID] && r.Enabled && r.AllowsMemberType(memberType) {
			roles = append(roles, r.Value)
		}
	}
	return roles, nil
}

// ClientCredentialsGrant is the directory's decision on a client-credentials
// request: which resource, and which roles go into the token.
type ClientCredentialsGrant struct {
	Resource Resource
	Roles    []string
}

// AuthorizeClientCredentials decides whether client may get an app-only
// token for resourceRef, and with which roles (RFC 6749 §4.4). An
// application may always get a token for itself.
func (s *Service) AuthorizeClientCredentials(ctx context.Context, tenantID string, client Client, resourceRef string) (ClientCredentialsGrant, error) {
	res, err := s.ResolveResource(ctx, tenantID, resourceRef)
	if err != nil {
		return ClientCredentialsGrant{}, err
	}
	roles, err := s.ApplicationRoles(ctx, tenantID, client.SP.ObjectID, res)
	if err != nil {
		return ClientCredentialsGrant{}, err
	}
	if len(roles) == 0 && res.SP.AppRoleAssignmentRequired && res.App.AppID != client.App.AppID {
		return ClientCredentialsGrant{}, fmt.Errorf("%w: client %s holds no role of %s", ErrNotAssigned, client.App.AppID, res.App.AppID)
	}
	return ClientCredentialsGrant{Resource: res, Roles: roles}, nil
}
