package postgres

import (
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

// The hot lookups by key must use the primary key even on a new database,
// whose tables are empty and have no statistics yet: a plan chosen then is
// kept in every pooled connection's plan cache (a generic plan, after five
// executions) while the table grows. When a secondary index led with
// tenant_id like the primary key, the planner took it for "tenant_id = $1"
// and each refresh read every refresh token of the tenant (see migration
// 0005). Checked here for the custom and the generic plan of each.
//
// The directory tables keep tenant_id first in their list indexes
// (tenant_id, created_at, id), which their paginated lists need; on an
// empty table a lookup by key may take one of those too, which costs
// little while the table is small, and the first automatic ANALYZE (after
// 50 rows and a tenth of the table have changed) invalidates every cached
// plan of the table. The session tables grow by thousands of rows a
// minute, on every request's path, from the first minute.
func TestHotLookupsUseThePrimaryKey(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()

	now := time.Now().UTC()
	next := session.RefreshToken{Hash: []byte("next"), CreatedAt: now, ExpiresAt: now.Add(time.Hour), AccessTokenExpiresAt: now}
	rotateArgs := append(refreshTokenArgs("a", next), []byte("presented"), now, []byte{}, "", "")
	for _, tc := range []struct {
		name, sql string
		args      []any
		want      []string // primary keys the plan must use
	}{
		{"refresh rotation", rotateRefreshToken, rotateArgs, []string{"refresh_tokens_pkey", "grants_pkey"}},
		{"refresh token with its grant", tokenAndGrant, []any{"a", []byte("h")}, []string{"refresh_tokens_pkey", "grants_pkey"}},
		{"code redemption", redeemCode, []any{"a", []byte("h"), now}, []string{"codes_pkey", "grants_pkey"}},
		{"grant by id", `SELECT ` + grantColumns + ` FROM grants WHERE tenant_id = $1 AND id = $2`, []any{"a", "g"}, []string{"grants_pkey"}},
	} {
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			if _, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode); err != nil {
				t.Fatal(err)
			}
			rows, err := conn.Query(ctx, "EXPLAIN "+tc.sql, tc.args...)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var plan strings.Builder
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan.WriteString(line + "\n")
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			for _, idx := range tc.want {
				if !strings.Contains(plan.String(), idx) {
					t.Errorf("%s (%s) does not use %s:\n%s", tc.name, mode, idx, plan.String())
				}
			}
			if strings.Contains(plan.String(), "_by_") {
				t.Errorf("%s (%s) uses a secondary index:\n%s", tc.name, mode, plan.String())
			}
		}
	}
}

// Introspection looks a token's revocations up by the values it names
// (session.Service.AccessTokenRevoked), one probe of revocations_by_value
// per value: never a scan of the feed, whose length grows with the
// sign-ins. Checked, as above, for the custom and the generic plan on a
// new database.
func TestRevocationLookupUsesTheValueIndex(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		if _, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.Query(ctx, "EXPLAIN "+lookupRevocations, "a", []string{"sid", "jti", "oid", "client"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan.String(), "revocations_by_value") || strings.Contains(plan.String(), "Seq Scan") {
			t.Errorf("the revocation lookup (%s) does not use revocations_by_value:\n%s", mode, plan.String())
		}
	}
}
