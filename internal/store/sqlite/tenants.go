package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const tenantColumns = `id, domain, display_name, policy, created_at`

func scanTenant(sc scanner) (directory.Tenant, error) {
	var t directory.Tenant
	var policy string
	var created int64
	if err := sc.Scan(&t.ID, &t.Domain, &t.DisplayName, &policy, &created); err != nil {
		return directory.Tenant{}, err
	}
	var err error
	if t.Policy, err = stored.DecodePolicy(policy); err != nil {
		return directory.Tenant{}, fmt.Errorf("tenant %s: decode policy: %w", t.ID, err)
	}
	t.CreatedAt = decTime(created)
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
	return s.write(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO tenants (id, domain, domain_key, display_name, policy, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.ID, t.Domain, stored.DomainKey(t.Domain), t.DisplayName, policy, encTime(t.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO tenant_domains (domain_key, tenant_id, domain, created_at) VALUES (?, ?, ?, ?)`,
			stored.DomainKey(t.Domain), t.ID, t.Domain, encTime(t.CreatedAt))
		return err
	})
}

// UpdateTenant replaces the display name and the policy of the tenant
// with t.ID. The domain and the creation time are not changed: the domain
// stands for the tenant in URLs and tokens issued under it.
func (s *Store) UpdateTenant(ctx context.Context, t directory.Tenant) error {
	op := "update tenant " + t.ID
	policy, err := stored.EncodePolicy(t.Policy)
	if err != nil {
		return wrap(op, err)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE tenants SET display_name = ?, policy = ? WHERE id = ?`,
		t.DisplayName, policy, t.ID)
	if err == nil {
		err = affected(res)
	}
	return wrap(op, err)
}

func (s *Store) GetTenant(ctx context.Context, id string) (directory.Tenant, error) {
	t, err := scanTenant(s.readRow(ctx,
		`SELECT `+tenantColumns+` FROM tenants WHERE id = ?`, id))
	return t, wrap("get tenant "+id, err)
}

// GetTenantByDomain finds the tenant holding the domain, matched
// case-insensitively.
func (s *Store) GetTenantByDomain(ctx context.Context, domain string) (directory.Tenant, error) {
	t, err := scanTenant(s.readRow(ctx,
		`SELECT `+tenantColumnsOf("t")+` FROM tenant_domains d JOIN tenants t ON t.id = d.tenant_id WHERE d.domain_key = ?`,
		stored.DomainKey(domain)))
	return t, wrap("get tenant by domain "+domain, err)
}

// tenantColumnsOf is tenantColumns qualified by a table alias.
func tenantColumnsOf(alias string) string {
	return alias + ".id, " + alias + ".domain, " + alias + ".display_name, " + alias + ".policy, " + alias + ".created_at"
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
	_, err := s.w.ExecContext(ctx, `INSERT INTO tenant_domains (domain_key, tenant_id, domain, created_at) VALUES (?, ?, ?, ?)`,
		stored.DomainKey(d.Domain), tenantID, d.Domain, encTime(d.CreatedAt))
	return wrap(op, err)
}

func scanTenantDomain(sc scanner) (directory.TenantDomain, error) {
	var d directory.TenantDomain
	var created int64
	if err := sc.Scan(&d.TenantID, &d.Domain, &created); err != nil {
		return directory.TenantDomain{}, err
	}
	d.CreatedAt = decTime(created)
	return d, nil
}

// ListTenantDomains lists the tenant's domains, its own first.
func (s *Store) ListTenantDomains(ctx context.Context, tenantID string) ([]directory.TenantDomain, error) {
	return queryList(ctx, s, "list domains of tenant "+tenantID, scanTenantDomain,
		`SELECT d.tenant_id, d.domain, d.created_at FROM tenant_domains d JOIN tenants t ON t.id = d.tenant_id
		WHERE d.tenant_id = ? ORDER BY d.domain_key <> t.domain_key, d.created_at, d.domain_key`, tenantID)
}

// DeleteTenantDomain removes a domain the tenant holds, never its own.
func (s *Store) DeleteTenantDomain(ctx context.Context, tenantID, domain string) error {
	op := fmt.Sprintf("remove domain %s from tenant %s", domain, tenantID)
	return s.write(ctx, op, func(tx *sql.Tx) error {
		var own string
		if err := tx.QueryRowContext(ctx, `SELECT domain_key FROM tenants WHERE id = ?`, tenantID).Scan(&own); err != nil {
			return err
		}
		if own == stored.DomainKey(domain) {
			return fmt.Errorf("%w: the tenant's own domain", directory.ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tenant_domains WHERE domain_key = ? AND tenant_id = ?`,
			stored.DomainKey(domain), tenantID)
		if err != nil {
			return err
		}
		return affected(res)
	})
}

func (s *Store) ListTenants(ctx context.Context) ([]directory.Tenant, error) {
	return queryList(ctx, s, "list tenants", scanTenant,
		`SELECT `+tenantColumns+` FROM tenants ORDER BY created_at, id`)
}
