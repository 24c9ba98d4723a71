package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// domainKey is the form of a domain its uniqueness and lookups use: Unicode
// lower case, computed here rather than by SQL's lower(), which in SQLite
// folds ASCII only.
func domainKey(domain string) string { return strings.ToLower(domain) }

// policyDoc is the stored form of a tenant policy (see the JSON types of
// applications.go for why it is not the directory type). Durations are
// JSON integers of nanoseconds, so they round-trip exactly. It has the
// fields of directory.TenantPolicy, so a field added there stops the build
// until it is added here.
type policyDoc struct {
	PasswordGrantDisabled  bool          `json:"passwordGrantDisabled,omitempty"`
	RefreshTokenInactivity time.Duration `json:"refreshTokenInactivity,omitempty"`
	RefreshTokenLifetime   time.Duration `json:"refreshTokenLifetime,omitempty"`
	RefreshGrace           time.Duration `json:"refreshGrace,omitempty"`
	SessionLifetime        time.Duration `json:"sessionLifetime,omitempty"`
	ProductLoginLifetime   time.Duration `json:"productLoginLifetime,omitempty"`
	ProductLoginResource   string        `json:"productLoginResource,omitempty"`
	ProductLoginResources  []string      `json:"productLoginResources,omitempty"`
	LockoutThreshold       int           `json:"lockoutThreshold,omitempty"`
	LockoutDuration        time.Duration `json:"lockoutDuration,omitempty"`
}

const tenantColumns = `id, domain, display_name, policy, created_at`

func scanTenant(sc scanner) (directory.Tenant, error) {
	var t directory.Tenant
	var policy string
	var created int64
	if err := sc.Scan(&t.ID, &t.Domain, &t.DisplayName, &policy, &created); err != nil {
		return directory.Tenant{}, err
	}
	var doc policyDoc
	if err := decJSON(policy, &doc); err != nil {
		return directory.Tenant{}, fmt.Errorf("tenant %s: decode policy: %w", t.ID, err)
	}
	t.Policy = directory.TenantPolicy(doc)
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
	policy, err := encJSON(policyDoc(t.Policy))
	if err != nil {
		return wrap(op, err)
	}
	_, err = s.w.ExecContext(ctx,
		`INSERT INTO tenants (id, domain, domain_key, display_name, policy, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.Domain, domainKey(t.Domain), t.DisplayName, policy, encTime(t.CreatedAt))
	return wrap(op, err)
}

// UpdateTenant replaces the display name and the policy of the tenant
// with t.ID. The domain and the creation time are not changed: the domain
// stands for the tenant in URLs and tokens issued under it.
func (s *Store) UpdateTenant(ctx context.Context, t directory.Tenant) error {
	op := "update tenant " + t.ID
	policy, err := encJSON(policyDoc(t.Policy))
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
