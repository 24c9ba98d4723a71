package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os/user"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/token"
)

// adminBackend is what `tessera admin` does, whichever way the calls
// travel. Both backends speak the admin API's wire types, so a command
// prints the same thing from either:
//   - remote: HTTP to --server with a bearer token;
//   - local: the same admin API handler, run in-process over the store of
//     --data/--db as a system administrator (whoever can read the database
//     and master key is one anyway). Going through the handler rather
//     than around it keeps one set of rules, messages and exit codes.
type adminBackend interface {
	CreateTenant(ctx context.Context, spec directory.TenantSpec) (adminapi.Tenant, error)
	ListTenants(ctx context.Context) ([]adminapi.Tenant, error)
	GetTenant(ctx context.Context, tenant string) (adminapi.Tenant, error)
	SetTenantPolicy(ctx context.Context, tenant string, p adminapi.TenantPolicyUpdate) (adminapi.Tenant, error)
	ListTenantDomains(ctx context.Context, tenant string) ([]adminapi.TenantDomain, error)
	AddTenantDomain(ctx context.Context, tenant, domain string) (adminapi.TenantDomain, error)
	RemoveTenantDomain(ctx context.Context, tenant, domain string) error

	CreateApplication(ctx context.Context, tenant string, app adminapi.ApplicationCreate) (adminapi.Application, error)
	GetApplication(ctx context.Context, tenant, ref string) (adminapi.Application, error)
	ListApplications(ctx context.Context, tenant string) ([]adminapi.Application, error)
	UpdateApplication(ctx context.Context, tenant, ref string, p adminapi.ApplicationPatch) (adminapi.Application, error)
	DeleteApplication(ctx context.Context, tenant, ref string) error

	CreateServicePrincipal(ctx context.Context, tenant string, spec directory.ServicePrincipalSpec) (directory.ServicePrincipal, error)
	GetServicePrincipal(ctx context.Context, tenant, ref string) (directory.ServicePrincipal, error)
	ListServicePrincipals(ctx context.Context, tenant string) ([]directory.ServicePrincipal, error)
	UpdateServicePrincipal(ctx context.Context, tenant, ref string, p directory.ServicePrincipalPatch) (directory.ServicePrincipal, error)
	DeleteServicePrincipal(ctx context.Context, tenant, ref string) error

	AddSecret(ctx context.Context, tenant, app, displayName string, end *time.Time) (adminapi.SecretCredential, error)
	AddCertificate(ctx context.Context, tenant, app, displayName, pem string) (directory.Credential, error)
	ListCredentials(ctx context.Context, tenant, app string) ([]directory.Credential, error)
	RemoveCredential(ctx context.Context, tenant, app, keyID string) error

	AssignRole(ctx context.Context, tenant string, spec directory.AssignmentSpec) (directory.RoleAssignment, error)
	ListRoleAssignments(ctx context.Context, tenant string, f directory.AssignmentFilter) ([]directory.RoleAssignment, error)
	RemoveRoleAssignment(ctx context.Context, tenant, id string) error

	CreateUser(ctx context.Context, tenant string, u adminapi.UserCreate) (adminapi.User, error)
	GetUser(ctx context.Context, tenant, ref string) (adminapi.User, error)
	ListUsers(ctx context.Context, tenant string) ([]adminapi.User, error)
	UpdateUser(ctx context.Context, tenant, ref string, p adminapi.UserPatch) (adminapi.User, error)
	SetPassword(ctx context.Context, tenant, ref, password string) (adminapi.User, error)
	DeleteUser(ctx context.Context, tenant, ref string) error

	GrantConsent(ctx context.Context, tenant string, c adminapi.ConsentCreate) (adminapi.ConsentGrant, error)
	ListConsents(ctx context.Context, tenant, client, principal string) ([]adminapi.ConsentGrant, error)
	RevokeConsent(ctx context.Context, tenant, client, resource, principal string) error

	ListKeys(ctx context.Context) ([]token.KeyInfo, error)
	RotateKeys(ctx context.Context) ([]token.KeyInfo, error)

	// ListAudit lists one page of a tenant's audit events ("" for every
	// tenant's); query holds since, until, kind, limit and cursor.
	ListAudit(ctx context.Context, tenant string, query url.Values) (adminapi.AuditList, error)

	// ListBans lists one page of a tenant's lockouts and address bans;
	// query holds limit and cursor.
	ListBans(ctx context.Context, tenant string, query url.Values) (adminapi.BanList, error)
	LiftLockout(ctx context.Context, tenant, user string) error
	LiftAddressBan(ctx context.Context, tenant, address string) error

	Close() error
}

// apiClient calls the admin API over any http.RoundTripper.
type apiClient struct {
	base   string // e.g. https://id.example.com/admin/v1
	http   *http.Client
	token  func(ctx context.Context) (string, error)
	closer func() error
	remote bool
}

var _ adminBackend = (*apiClient)(nil)

// newLocalBackend opens the store of a data folder (or DSN) and serves the
// admin API to itself in memory.
func newLocalBackend(ctx context.Context, dataDir, dsn string, stderr io.Writer) (*apiClient, error) {
	l, err := openLocal(ctx, dataDir, dsn)
	if err != nil {
		return nil, err
	}
	// Only internal errors are logged, with their cause: the local
	// operator is the one the trace id would be given to.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	h := adminapi.New(adminapi.Config{Directory: l.dir, Keys: l.keys, Auth: localOperator{}, Logger: log, Audit: l.audit})
	return &apiClient{
		base:   "http://local/admin/v1",
		http:   &http.Client{Transport: handlerTransport{h: h, readOnly: l.readOnly, dataDir: dataDir}},
		token:  func(context.Context) (string, error) { return "local", nil },
		closer: l.close,
	}, nil
}

// localOperator is the caller of the in-process API: a system admin.
type localOperator struct{}

func (localOperator) Authenticate(*http.Request) (adminapi.Caller, error) {
	name := "local"
	if u, err := user.Current(); err == nil {
		name = "local:" + u.Username
	}
	return adminapi.Caller{Subject: name, Roles: []string{directory.AdminRole}, SystemAdmin: true}, nil
}

// handlerTransport answers requests with a handler, in memory. On a
// database opened read-only, a change is refused before the handler, with
// the reason rather than a server error.
type handlerTransport struct {
	h        http.Handler
	readOnly bool
	dataDir  string
}

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.readOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, withExit(ExitUsage, fmt.Errorf("the database in %s cannot be written here (a read-only folder or file system): it is open for reading only, and this command changes it", t.dataDir))
	}
	w := &memResponse{header: http.Header{}, code: http.StatusOK}
	t.h.ServeHTTP(w, r)
	return &http.Response{
		Status: fmt.Sprintf("%d %s", w.code, http.StatusText(w.code)), StatusCode: w.code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.header, Body: io.NopCloser(&w.body), ContentLength: int64(w.body.Len()), Request: r,
	}, nil
}

type memResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
	wrote  bool
}

func (m *memResponse) Header() http.Header { return m.header }
func (m *memResponse) WriteHeader(code int) {
	if !m.wrote {
		m.code, m.wrote = code, true
	}
}
func (m *memResponse) Write(b []byte) (int, error) {
	m.WriteHeader(http.StatusOK)
	return m.body.Write(b)
}

// newRemoteBackend calls the admin API of server. A bearer token must not
// travel in clear, so plain http is allowed only to a loopback address.
func newRemoteBackend(server, caFile string, tok func(context.Context) (string, error)) (*apiClient, error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, usageErrorf("--server %q must be a URL such as https://id.example.com", server)
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return nil, usageErrorf("--server %s: use https; plain http is allowed only to localhost, as the token would travel in clear", server)
	}
	hc, err := newHTTPClient(caFile)
	if err != nil {
		return nil, err
	}
	return &apiClient{
		base:   strings.TrimRight(server, "/") + "/admin/v1",
		http:   hc.HTTP,
		token:  tok,
		closer: func() error { return nil },
		remote: true,
	}, nil
}

func isLoopbackHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1" || strings.HasPrefix(host, "127.")
}

func (c *apiClient) Close() error { return c.closer() }

// adminAPIError is an error answer of the admin API.
type adminAPIError struct {
	status int
	body   adminapi.ErrorBody
}

func (e *adminAPIError) Error() string {
	if e.body.Code == "InternalError" {
		return fmt.Sprintf("%s (trace id %s)", e.body.Message, e.body.TraceID)
	}
	return e.body.Message
}

// adminExitCode gives an API error the exit code scripts test for.
func adminExitCode(e *adminAPIError) int {
	switch e.status {
	case http.StatusNotFound:
		return ExitNotFound
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return ExitUsage
	case http.StatusUnauthorized, http.StatusForbidden:
		return ExitAuth
	}
	return ExitError
}

// do sends one call. in, if not nil, is the JSON body; out, if not nil,
// receives the JSON answer.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	tok, err := c.token(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := c.http.Do(req)
	var refused *exitError
	if errors.As(err, &refused) {
		return refused // the local backend's own answer (handlerTransport)
	}
	if err != nil {
		return fmt.Errorf("cannot reach the admin API at %s: %w", strings.TrimSuffix(c.base, "/admin/v1"), err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the admin API's answer: %w", err)
	}
	if res.StatusCode >= 300 {
		return c.failure(res, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the admin API answered %s with something that is not the expected JSON: %w", res.Status, err)
	}
	return nil
}

func (c *apiClient) failure(res *http.Response, raw []byte) error {
	var er adminapi.ErrorResponse
	if err := json.Unmarshal(raw, &er); err != nil || er.Error.Code == "" {
		// Not the API's own error: a proxy in the way, or not tessera.
		return withExit(ExitError, fmt.Errorf("the server answered %s at %s; is --server a tessera server?", res.Status, res.Request.URL.Redacted()))
	}
	e := &adminAPIError{status: res.StatusCode, body: er.Error}
	if res.StatusCode == http.StatusUnauthorized && c.remote {
		return withExit(ExitAuth, fmt.Errorf("%s: log in again (`tessera login --service-principal …`) or pass a fresh --token", strings.TrimSuffix(e.Error(), ".")))
	}
	return withExit(adminExitCode(e), e)
}

// pathSeg escapes one path segment: refs may be identifier URIs (api://x).
func pathSeg(s string) string { return "/" + url.PathEscape(s) }

func adminTenantPath(tenant string) string { return "/tenants" + pathSeg(tenant) }

// apiCall sends one call and decodes its answer into a T. (A separate
// variable, not `return v, c.do(…, &v)`: Go leaves the order of evaluating
// v and the call unspecified.)
func apiCall[T any](ctx context.Context, c *apiClient, method, path string, in any) (T, error) {
	var out T
	err := c.do(ctx, method, path, in, &out)
	return out, err
}

func apiList[T any](ctx context.Context, c *apiClient, method, path string) ([]T, error) {
	l, err := apiCall[adminapi.List[T]](ctx, c, method, path, nil)
	return l.Value, err
}

func (c *apiClient) CreateTenant(ctx context.Context, spec directory.TenantSpec) (adminapi.Tenant, error) {
	return apiCall[adminapi.Tenant](ctx, c, "POST", "/tenants", spec)
}

func (c *apiClient) ListTenants(ctx context.Context) ([]adminapi.Tenant, error) {
	return apiList[adminapi.Tenant](ctx, c, "GET", "/tenants")
}

func (c *apiClient) GetTenant(ctx context.Context, tenant string) (adminapi.Tenant, error) {
	return apiCall[adminapi.Tenant](ctx, c, "GET", adminTenantPath(tenant), nil)
}

func (c *apiClient) SetTenantPolicy(ctx context.Context, tenant string, p adminapi.TenantPolicyUpdate) (adminapi.Tenant, error) {
	return apiCall[adminapi.Tenant](ctx, c, "PUT", adminTenantPath(tenant)+"/policy", p)
}

func (c *apiClient) ListTenantDomains(ctx context.Context, tenant string) ([]adminapi.TenantDomain, error) {
	return apiList[adminapi.TenantDomain](ctx, c, "GET", adminTenantPath(tenant)+"/domains")
}

func (c *apiClient) AddTenantDomain(ctx context.Context, tenant, domain string) (adminapi.TenantDomain, error) {
	return apiCall[adminapi.TenantDomain](ctx, c, "POST", adminTenantPath(tenant)+"/domains", adminapi.TenantDomainCreate{Domain: domain})
}

func (c *apiClient) RemoveTenantDomain(ctx context.Context, tenant, domain string) error {
	return c.do(ctx, "DELETE", adminTenantPath(tenant)+"/domains"+pathSeg(domain), nil, nil)
}

func (c *apiClient) CreateApplication(ctx context.Context, tenant string, app adminapi.ApplicationCreate) (adminapi.Application, error) {
	return apiCall[adminapi.Application](ctx, c, "POST", adminTenantPath(tenant)+"/applications", app)
}

func (c *apiClient) GetApplication(ctx context.Context, tenant, ref string) (adminapi.Application, error) {
	return apiCall[adminapi.Application](ctx, c, "GET", adminTenantPath(tenant)+"/applications"+pathSeg(ref), nil)
}

func (c *apiClient) ListApplications(ctx context.Context, tenant string) ([]adminapi.Application, error) {
	return apiList[adminapi.Application](ctx, c, "GET", adminTenantPath(tenant)+"/applications")
}

func (c *apiClient) UpdateApplication(ctx context.Context, tenant, ref string, p adminapi.ApplicationPatch) (adminapi.Application, error) {
	return apiCall[adminapi.Application](ctx, c, "PATCH", adminTenantPath(tenant)+"/applications"+pathSeg(ref), p)
}

func (c *apiClient) DeleteApplication(ctx context.Context, tenant, ref string) error {
	return c.do(ctx, "DELETE", adminTenantPath(tenant)+"/applications"+pathSeg(ref), nil, nil)
}

func (c *apiClient) CreateServicePrincipal(ctx context.Context, tenant string, spec directory.ServicePrincipalSpec) (directory.ServicePrincipal, error) {
	return apiCall[directory.ServicePrincipal](ctx, c, "POST", adminTenantPath(tenant)+"/servicePrincipals", spec)
}

func (c *apiClient) GetServicePrincipal(ctx context.Context, tenant, ref string) (directory.ServicePrincipal, error) {
	return apiCall[directory.ServicePrincipal](ctx, c, "GET", adminTenantPath(tenant)+"/servicePrincipals"+pathSeg(ref), nil)
}

func (c *apiClient) ListServicePrincipals(ctx context.Context, tenant string) ([]directory.ServicePrincipal, error) {
	return apiList[directory.ServicePrincipal](ctx, c, "GET", adminTenantPath(tenant)+"/servicePrincipals")
}

func (c *apiClient) UpdateServicePrincipal(ctx context.Context, tenant, ref string, p directory.ServicePrincipalPatch) (directory.ServicePrincipal, error) {
	return apiCall[directory.ServicePrincipal](ctx, c, "PATCH", adminTenantPath(tenant)+"/servicePrincipals"+pathSeg(ref), p)
}

func (c *apiClient) DeleteServicePrincipal(ctx context.Context, tenant, ref string) error {
	return c.do(ctx, "DELETE", adminTenantPath(tenant)+"/servicePrincipals"+pathSeg(ref), nil, nil)
}

func (c *apiClient) AddSecret(ctx context.Context, tenant, app, displayName string, end *time.Time) (adminapi.SecretCredential, error) {
	body := adminapi.CredentialCreate{Type: directory.CredentialSecret, DisplayName: displayName, EndDateTime: end}
	return apiCall[adminapi.SecretCredential](ctx, c, "POST", adminTenantPath(tenant)+"/applications"+pathSeg(app)+"/credentials", body)
}

func (c *apiClient) AddCertificate(ctx context.Context, tenant, app, displayName, pem string) (directory.Credential, error) {
	body := adminapi.CredentialCreate{Type: directory.CredentialCertificate, DisplayName: displayName, Certificate: pem}
	return apiCall[directory.Credential](ctx, c, "POST", adminTenantPath(tenant)+"/applications"+pathSeg(app)+"/credentials", body)
}

func (c *apiClient) ListCredentials(ctx context.Context, tenant, app string) ([]directory.Credential, error) {
	return apiList[directory.Credential](ctx, c, "GET", adminTenantPath(tenant)+"/applications"+pathSeg(app)+"/credentials")
}

func (c *apiClient) RemoveCredential(ctx context.Context, tenant, app, keyID string) error {
	return c.do(ctx, "DELETE", adminTenantPath(tenant)+"/applications"+pathSeg(app)+"/credentials"+pathSeg(keyID), nil, nil)
}

func (c *apiClient) AssignRole(ctx context.Context, tenant string, spec directory.AssignmentSpec) (directory.RoleAssignment, error) {
	return apiCall[directory.RoleAssignment](ctx, c, "POST", adminTenantPath(tenant)+"/roleAssignments", spec)
}

func (c *apiClient) ListRoleAssignments(ctx context.Context, tenant string, f directory.AssignmentFilter) ([]directory.RoleAssignment, error) {
	q := url.Values{}
	if f.Principal != "" {
		q.Set("principal", f.Principal)
	}
	if f.Resource != "" {
		q.Set("resource", f.Resource)
	}
	return apiList[directory.RoleAssignment](ctx, c, "GET", adminTenantPath(tenant)+"/roleAssignments?"+q.Encode())
}

func (c *apiClient) RemoveRoleAssignment(ctx context.Context, tenant, id string) error {
	return c.do(ctx, "DELETE", adminTenantPath(tenant)+"/roleAssignments"+pathSeg(id), nil, nil)
}

func (c *apiClient) CreateUser(ctx context.Context, tenant string, u adminapi.UserCreate) (adminapi.User, error) {
	return apiCall[adminapi.User](ctx, c, "POST", adminTenantPath(tenant)+"/users", u)
}

func (c *apiClient) GetUser(ctx context.Context, tenant, ref string) (adminapi.User, error) {
	return apiCall[adminapi.User](ctx, c, "GET", adminTenantPath(tenant)+"/users"+pathSeg(ref), nil)
}

func (c *apiClient) ListUsers(ctx context.Context, tenant string) ([]adminapi.User, error) {
	return apiList[adminapi.User](ctx, c, "GET", adminTenantPath(tenant)+"/users")
}

func (c *apiClient) UpdateUser(ctx context.Context, tenant, ref string, p adminapi.UserPatch) (adminapi.User, error) {
	return apiCall[adminapi.User](ctx, c, "PATCH", adminTenantPath(tenant)+"/users"+pathSeg(ref), p)
}

func (c *apiClient) SetPassword(ctx context.Context, tenant, ref, password string) (adminapi.User, error) {
	return apiCall[adminapi.User](ctx, c, "POST", adminTenantPath(tenant)+"/users"+pathSeg(ref)+"/password", adminapi.PasswordSet{Password: password})
}

func (c *apiClient) DeleteUser(ctx context.Context, tenant, ref string) error {
	return c.do(ctx, "DELETE", adminTenantPath(tenant)+"/users"+pathSeg(ref), nil, nil)
}

func (c *apiClient) GrantConsent(ctx context.Context, tenant string, g adminapi.ConsentCreate) (adminapi.ConsentGrant, error) {
	return apiCall[adminapi.ConsentGrant](ctx, c, "POST", adminTenantPath(tenant)+"/consents", g)
}

func (c *apiClient) ListConsents(ctx context.Context, tenant, client, principal string) ([]adminapi.ConsentGrant, error) {
	q := url.Values{"client": {client}}
	if principal != "" {
		q.Set("principal", principal)
	}
	return apiList[adminapi.ConsentGrant](ctx, c, "GET", adminTenantPath(tenant)+"/consents?"+q.Encode())
}

func (c *apiClient) RevokeConsent(ctx context.Context, tenant, client, resource, principal string) error {
	q := url.Values{"client": {client}, "resource": {resource}}
	if principal != "" {
		q.Set("principal", principal)
	}
	return c.do(ctx, "DELETE", adminTenantPath(tenant)+"/consents?"+q.Encode(), nil, nil)
}

func (c *apiClient) ListKeys(ctx context.Context) ([]token.KeyInfo, error) {
	return apiList[token.KeyInfo](ctx, c, "GET", "/keys")
}

func (c *apiClient) RotateKeys(ctx context.Context) ([]token.KeyInfo, error) {
	return apiList[token.KeyInfo](ctx, c, "POST", "/keys/rotate")
}
