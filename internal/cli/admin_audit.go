package cli

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/audit"
)

func (c *apiClient) ListAudit(ctx context.Context, tenant string, query url.Values) (adminapi.AuditList, error) {
	path := "/audit"
	if tenant != "" {
		path = adminTenantPath(tenant) + "/audit"
	}
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	return apiCall[adminapi.AuditList](ctx, c, "GET", path, nil)
}

// auditPage is the most events asked for in one call: the API's limit.
const auditPage = 1000

func newAdminAuditCmd(o *adminOptions) *cobra.Command {
	var tenant, since, until, kind string
	var all bool
	var limit int
	var out output
	list := adminLeaf("list", "List audit events, oldest first",
		`  tessera admin audit list --since 1h
  tessera admin audit list --since 2026-01-02T00:00:00Z --kind signin.failure -o table
  tessera admin audit list --since 24h --kind admin --query "[].{at:time, who:actor, what:kind, target:target}" -o table
  tessera admin audit list --all-tenants --since 7d --kind key.rotate`)
	list.Long = `List audit events, oldest first: sign-ins (success and failure with the
reason), tokens issued (grant, client, subject, resource; never the token),
admin changes (who, what, the object before and after), revocations and key
rotations. No event holds a token, secret or password.

--since and --until take an RFC 3339 time or a duration back from now
(90m, 1h, 7d). --kind takes a kind (signin.failure) or a family (signin,
admin, admin.user, revocation). --all-tenants lists every tenant's events
and the server-wide ones (key rotations): home tenant administrators only.`
	list.Flags().StringVar(&since, "since", "24h", "earliest event: RFC 3339 time or duration back from now (1h, 7d)")
	list.Flags().StringVar(&until, "until", "", "events before this: RFC 3339 time or duration back from now")
	list.Flags().StringVar(&kind, "kind", "", "a kind (signin.failure) or family (signin, admin.user)")
	list.Flags().IntVar(&limit, "limit", 1000, "most events to print")
	list.Flags().BoolVar(&all, "all-tenants", false, "every tenant's events and the server-wide ones (home tenant administrators)")
	addTenantFlag(list, &tenant)
	out.addFlags(list)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		now := time.Now()
		q := url.Values{}
		for _, f := range []struct{ name, v string }{{"since", since}, {"until", until}} {
			if f.v == "" {
				continue
			}
			t, err := parseSince(f.v, now)
			if err != nil {
				return usageErrorf("--%s %q: want an RFC 3339 time (2026-01-02T15:04:05Z) or a duration such as 1h or 7d", f.name, f.v)
			}
			q.Set(f.name, t.UTC().Format(time.RFC3339Nano))
		}
		if kind != "" {
			q.Set("kind", kind)
		}
		if limit <= 0 {
			return usageErrorf("--limit %d: want a positive number", limit)
		}
		if all && cmd.Flags().Changed("tenant") {
			return usageErrorf("--all-tenants and --tenant: pass one of them")
		}
		target := tenant
		if all {
			target = ""
		}
		return adminRun(cmd, o, target, &out, func(ctx context.Context, b adminBackend) (any, error) {
			events := []audit.Event{}
			for len(events) < limit {
				q.Set("limit", strconv.Itoa(min(auditPage, limit-len(events))))
				page, err := b.ListAudit(ctx, target, q)
				if err != nil {
					return nil, err
				}
				events = append(events, page.Value...)
				if page.Next == "" {
					break
				}
				q.Set("cursor", page.Next)
			}
			return events, nil
		})
	}
	return adminGroup("audit", "Read the audit log", `  tessera admin audit list --since 1h --kind signin.failure`, list)
}

// parseSince reads an RFC 3339 time, or a duration back from now; a
// duration may end in d for days, which time.ParseDuration lacks.
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return time.Time{}, errors.New("not a number of days")
		}
		return now.Add(-time.Duration(n) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return time.Time{}, errors.New("not a time or a duration")
	}
	return now.Add(-d), nil
}
