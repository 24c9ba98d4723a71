package sqlite

import (
	"context"
	"errors"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
)

// domainKey is the form of a domain its uniqueness and lookups use: Unicode
// lower case, computed here rather than by SQL's lower(), which in SQLite
// folds ASCII only.
func domainKey(domain string) string { return strings.ToLower(domain) }

const tenantColumns = `id, domain, display_name, created_at`

func scanTenant(sc scanner) (directory.Tenant, error) {
	var t directory.Tenant
	var created int64
	if err := sc.Scan(&t.ID, &t.Domain, &t.DisplayName, &created); err != nil {
		return directory.Tenant{}, err
	}
	t.CreatedAt = decTime(created)
	return t, nil
}

// CreateTenant stores a new tenant. A second tenant with the same id, or
// with the same domain in any letter case, is directory.ErrConflict.
func (s *Store) CreateTenant(ctx context.Context, t directory.Tenant) error {
	op := "create tenant " + t.ID
	if t.ID == "" || t.Domain == "" {
		return wrap(op, errors.New("tenant needs an id and a domain"))
	}
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO tenants (id, domain, domain_key, display_name, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.Domain, domainKey(t.Domain), t.DisplayName, encTime(t.CreatedAt))
	return wrap(op, err)
}

func (s *Store) GetTenant(ctx context.Context, id string) (directory.Tenant, error) {
	t, err := scanTenant(s.readRow(ctx,
		`SELECT `+tenantColumns+` FROM tenants WHERE id = ?`, id))
	return t, wrap("get tenant "+id, err)
}

// GetTenantByDomain matches the domain case-insensitively.
func (s *Store) GetTenantByDomain(ctx context.Context, domain string) (directory.Tenant, error) {
	t, err := scanTenant(s.readRow(ctx,
		`SELECT `+tenantColumns+` FROM tenants WHERE domain_key = ?`, domainKey(domain)))
	return t, wrap("get tenant by domain "+domain, err)
}

func (s *Store) ListTenants(ctx context.Context) ([]directory.Tenant, error) {
	return queryList(ctx, s, "list tenants", scanTenant,
		`SELECT `+tenantColumns+` FROM tenants ORDER BY created_at, id`)
}
