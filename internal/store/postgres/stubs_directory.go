// Stubs of the directory half of store.Store, removed one by one as the
// methods are written. This file is deleted when empty.

package postgres

import (
	"context"
	"errors"
	"github.com/tessera-id/tessera/internal/directory"
	"time"
)

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
