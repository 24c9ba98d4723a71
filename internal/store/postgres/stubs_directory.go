// Stubs of the directory half of store.Store, removed one by one as the
// methods are written. This file is deleted when empty.

package postgres

import (
	"context"
	"errors"
	"github.com/tessera-id/tessera/internal/directory"
	"time"
)

func (s *Store) CreateTenant(ctx context.Context, t directory.Tenant) error { return errNotImplemented }

func (s *Store) GetTenant(ctx context.Context, id string) (directory.Tenant, error) {
	return directory.Tenant{}, errNotImplemented
}

func (s *Store) GetTenantByDomain(ctx context.Context, domain string) (directory.Tenant, error) {
	return directory.Tenant{}, errNotImplemented
}

func (s *Store) ListTenants(ctx context.Context) ([]directory.Tenant, error) {
	return nil, errNotImplemented
}

func (s *Store) UpdateTenant(ctx context.Context, t directory.Tenant) error { return errNotImplemented }

func (s *Store) CreateApplication(ctx context.Context, tenantID string, app directory.Application) error {
	return errNotImplemented
}

func (s *Store) UpdateApplication(ctx context.Context, tenantID string, app directory.Application) error {
	return errNotImplemented
}

func (s *Store) GetApplication(ctx context.Context, tenantID, appID string) (directory.Application, error) {
	return directory.Application{}, errNotImplemented
}

func (s *Store) GetApplicationByIdentifierURI(ctx context.Context, tenantID, uri string) (directory.Application, error) {
	return directory.Application{}, errNotImplemented
}

func (s *Store) ListApplications(ctx context.Context, tenantID string) ([]directory.Application, error) {
	return nil, errNotImplemented
}

func (s *Store) DeleteApplication(ctx context.Context, tenantID, appID string) error {
	return errNotImplemented
}

func (s *Store) CreateServicePrincipal(ctx context.Context, tenantID string, sp directory.ServicePrincipal) error {
	return errNotImplemented
}

func (s *Store) UpdateServicePrincipal(ctx context.Context, tenantID string, sp directory.ServicePrincipal) error {
	return errNotImplemented
}

func (s *Store) GetServicePrincipal(ctx context.Context, tenantID, objectID string) (directory.ServicePrincipal, error) {
	return directory.ServicePrincipal{}, errNotImplemented
}

func (s *Store) GetServicePrincipalByAppID(ctx context.Context, tenantID, appID string) (directory.ServicePrincipal, error) {
	return directory.ServicePrincipal{}, errNotImplemented
}

func (s *Store) ListServicePrincipals(ctx context.Context, tenantID string) ([]directory.ServicePrincipal, error) {
	return nil, errNotImplemented
}

func (s *Store) DeleteServicePrincipal(ctx context.Context, tenantID, objectID string) error {
	return errNotImplemented
}

func (s *Store) AddCredential(ctx context.Context, tenantID string, c directory.Credential) error {
	return errNotImplemented
}

func (s *Store) ListCredentials(ctx context.Context, tenantID, appID string) ([]directory.Credential, error) {
	return nil, errNotImplemented
}

func (s *Store) DeleteCredential(ctx context.Context, tenantID, appID, keyID string) error {
	return errNotImplemented
}

func (s *Store) CreateRoleAssignment(ctx context.Context, tenantID string, a directory.RoleAssignment) error {
	return errNotImplemented
}

func (s *Store) ListRoleAssignmentsByPrincipal(ctx context.Context, tenantID, principalID string) ([]directory.RoleAssignment, error) {
	return nil, errNotImplemented
}

func (s *Store) ListRoleAssignmentsByResource(ctx context.Context, tenantID, resourceID string) ([]directory.RoleAssignment, error) {
	return nil, errNotImplemented
}

func (s *Store) DeleteRoleAssignment(ctx context.Context, tenantID, id string) error {
	return errNotImplemented
}

func (s *Store) CreateUser(ctx context.Context, tenantID string, u directory.User) error {
	return errNotImplemented
}

func (s *Store) GetUser(ctx context.Context, tenantID, objectID string) (directory.User, error) {
	return directory.User{}, errNotImplemented
}

func (s *Store) GetUserByUPN(ctx context.Context, tenantID, upn string) (directory.User, error) {
	return directory.User{}, errNotImplemented
}

func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]directory.User, error) {
	return nil, errNotImplemented
}

func (s *Store) UpdateUser(ctx context.Context, tenantID string, u directory.User) error {
	return errNotImplemented
}

func (s *Store) DeleteUser(ctx context.Context, tenantID, objectID string) error {
	return errNotImplemented
}

func (s *Store) RecordSignInFailure(ctx context.Context, tenantID, objectID string, at time.Time, threshold int, lockUntil time.Time) (directory.User, error) {
	return directory.User{}, errNotImplemented
}

func (s *Store) ResetSignInFailures(ctx context.Context, tenantID, objectID string) error {
	return errNotImplemented
}

func (s *Store) PutConsent(ctx context.Context, tenantID string, g directory.ConsentGrant) error {
	return errNotImplemented
}

func (s *Store) ListConsents(ctx context.Context, tenantID, clientID, principalID string) ([]directory.ConsentGrant, error) {
	return nil, errNotImplemented
}

func (s *Store) DeleteConsent(ctx context.Context, tenantID, clientID, resourceAppID, principalID string) error {
	return errNotImplemented
}

func (s *Store) ConsumeOnce(ctx context.Context, tenantID, key string, expiresAt time.Time) error {
	return errNotImplemented
}

func (s *Store) DirectoryVersion(ctx context.Context) (int64, error) { return 0, errNotImplemented }

var errNotImplemented = errors.New("postgres: not implemented yet")
