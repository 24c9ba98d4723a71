package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const tenantColumns = `id, domain, display_name, policy, created_at`

func scanTenant(row pgx.Row) (directory.Tenant, error) {
	var t directory.Tenant
	var policy []byte
	if err := row.Scan(&t.ID, &t.Domain, &t.DisplayName, &policy, &t.CreatedAt); err != nil {
		return directory.Tenant{}, err
	}
	var err error
	if t.Policy, err = stored.DecodePolicy(policy); err != nil {
		return directory.Tenant{}, fmt.Errorf("tenant %s: decode policy: %w", t.ID, err)
	}
	t.CreatedAt = utc(t.CreatedAt)
	return t, nil
}

// CreateTenant stores a new tenant with its domain as its first tenant
// domain, in one transaction. A second tenant with the same id, or a
// domain any tenant holds (in any letter case), is directory.ErrConflict.
func (s *Store) CreateTenant(ctx context.Context, t directory.Tenant) error {
	op := "create tenant " + t.ID
	policy, err := stored.PrepareNewTenant(t)
	if err != nil {
		return wrap(op, err)
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			`INSERT INTO tenants (id, domain, domain_key, display_name, policy, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			t.ID, t.Domain, stored.DomainKey(t.Domain), t.DisplayName, policy, t.CreatedAt); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO tenant_domains (domain_key, tenant_id, domain, created_at) VALUES ($1, $2, $3, $4)`,
			stored.DomainKey(t.Domain), t.ID, t.Domain, t.CreatedAt)
		return err
	})
}

// UpdateTenant replaces the display name and the policy of the tenant with
// t.ID. The domain and the creation time are not changed: the domain stands
// for the tenant in URLs and tokens issued under it.
func (s *Store) UpdateTenant(ctx context.Context, t directory.Tenant) error {
	op := "update tenant " + t.ID
	policy, err := stored.EncodePolicy(t.Policy)
	if err != nil {
		return wrap(op, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE tenants SET display_name = $1, policy = $2 WHERE id = $3`,
		t.DisplayName, policy, t.ID)
	if err == nil {
		err = affected(tag)
	}
	return wrap(op, err)
}

func (s *Store) GetTenant(ctx context.Context, id string) (directory.Tenant, error) {
	t, err := scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
	return t, wrap("get tenant "+id, err)
}

// GetTenantByDomain finds the tenant holding the domain, matched
// case-insensitively.
func (s *Store) GetTenantByDomain(ctx context.Context, domain string) (directory.Tenant, error) {
	t, err := scanTenant(s.pool.QueryRow(ctx,
		`SELECT t.id, t.domain, t.display_name, t.policy, t.created_at FROM tenant_domains d JOIN tenants t ON t.id = d.tenant_id
		WHERE d.domain_key = $1`, stored.DomainKey(domain)))
	return t, wrap("get tenant by domain "+domain, err)
}

// AddTenantDomain records that the tenant holds a domain: the primary key
// of tenant_domains, across tenants, makes a domain held anywhere
// directory.ErrConflict; the foreign key makes an unknown tenant
// directory.ErrNotFound.
func (s *Store) AddTenantDomain(ctx context.Context, tenantID string, d directory.TenantDomain) error {
	op := fmt.Sprintf("add domain %s to tenant %s", d.Domain, tenantID)
	if err := stored.CheckTenant(tenantID, d.TenantID); err != nil {
		return wrap(op, err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO tenant_domains (domain_key, tenant_id, domain, created_at) VALUES ($1, $2, $3, $4)`,
		stored.DomainKey(d.Domain), tenantID, d.Domain, d.CreatedAt)
	return wrap(op, err)
}

func scanTenantDomain(row pgx.Row) (directory.TenantDomain, error) {
	var d directory.TenantDomain
	if err := row.Scan(&d.TenantID, &d.Domain, &d.CreatedAt); err != nil {
		return directory.TenantDomain{}, err
	}
	d.CreatedAt = utc(d.CreatedAt)
	return d, nil
}

// ListTenantDomains lists the tenant's domains, its own first.
func (s *Store) ListTenantDomains(ctx context.Context, tenantID string) ([]directory.TenantDomain, error) {
	return queryList(ctx, s.pool, "list domains of tenant "+tenantID, scanTenantDomain,
		`SELECT d.tenant_id, d.domain, d.created_at FROM tenant_domains d JOIN tenants t ON t.id = d.tenant_id
		WHERE d.tenant_id = $1 ORDER BY d.domain_key <> t.domain_key, d.created_at, d.domain_key`, tenantID)
}

// DeleteTenantDomain removes a domain the tenant holds, never its own.
func (s *Store) DeleteTenantDomain(ctx context.Context, tenantID, domain string) error {
	op := fmt.Sprintf("remove domain %s from tenant %s", domain, tenantID)
	return s.write(ctx, op, func(tx pgx.Tx) error {
		var own string
		if err := tx.QueryRow(ctx, `SELECT domain_key FROM tenants WHERE id = $1`, tenantID).Scan(&own); err != nil {
			return err
		}
		if own == stored.DomainKey(domain) {
			return fmt.Errorf("%w: the tenant's own domain", directory.ErrConflict)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM tenant_domains WHERE domain_key = $1 AND tenant_id = $2`, stored.DomainKey(domain), tenantID)
		if err != nil {
			return err
		}
		return affected(tag)
	})
}

func (s *Store) ListTenants(ctx context.Context) ([]directory.Tenant, error) {
	return queryList(ctx, s.pool, "list tenants", scanTenant,
		`SELECT `+tenantColumns+` FROM tenants ORDER BY created_at, id`)
}
