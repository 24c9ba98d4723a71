package adminapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// Ban is one entry of a tenant's ban list: a user locked out after wrong
// passwords (type "user"), or a client address banned after failed
// sign-ins from it (type "address"). Every field is present in every
// entry, null or zero where it does not apply, so that a list prints as
// one table or TSV with one column per field.
type Ban struct {
	Type              string     `json:"type"`
	ObjectID          string     `json:"objectId"`
	UserPrincipalName string     `json:"userPrincipalName"`
	FailedSignIns     int        `json:"failedSignIns"`
	LockedUntil       *time.Time `json:"lockedUntil"`
	Address           string     `json:"address"`
	Failures          int        `json:"failures"`
	FirstFailureAt    *time.Time `json:"firstFailureAt"`
	BannedUntil       *time.Time `json:"bannedUntil"`
}

// BanList is a page of the ban list: locked users by object id, then
// banned addresses by address, with the cursor of the next page when
// there is one.
type BanList struct {
	Value []Ban  `json:"value"`
	Next  string `json:"next,omitempty"`
}

// Ban types, and the prefixes of a list cursor.
const (
	banUser    = "user"
	banAddress = "address"
)

// userBan shows a user's brute-force state; lockedUntil is null once the
// lock has run out, as in User.
func userBan(u directory.User, now time.Time) Ban {
	return Ban{Type: banUser, ObjectID: u.ObjectID, UserPrincipalName: u.UserPrincipalName,
		FailedSignIns: u.FailedSignIns, LockedUntil: userOut(u, now).LockedUntil}
}

func addressBan(b directory.AddressBan) Ban {
	first, until := b.FirstFailureAt, b.BannedUntil
	return Ban{Type: banAddress, Address: b.Address, Failures: b.Failures, FirstFailureAt: &first, BannedUntil: &until}
}

// banCursor is where a page ended: the type and key of its last entry.
func banCursor(b Ban) string {
	if b.Type == banUser {
		return banUser + "." + b.ObjectID
	}
	return banAddress + "." + b.Address
}

// maxBanLimit bounds one page, as for the audit log.
const maxBanLimit = 1000

// listBans lists the tenant's locked users, then its banned addresses,
// as they stand now: ?limit= (default 100), ?cursor= (from the previous
// page's next). Each part is read in its key order from where the cursor
// left it, one more entry than asked telling whether a next page exists.
func (a *api) listBans(w http.ResponseWriter, r *http.Request, c *call) error {
	qs := r.URL.Query()
	limit := 100
	if v := qs.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > maxBanLimit {
			return badRequest("limit must be a whole number from 1 to %d", maxBanLimit)
		}
		limit = n
	}
	part, after := banUser, ""
	if cur := qs.Get("cursor"); cur != "" {
		var ok bool
		part, after, ok = strings.Cut(cur, ".")
		if !ok || after == "" || (part != banUser && part != banAddress) {
			return badRequest("cursor is not one a previous page handed out")
		}
	}
	ctx := r.Context()
	out := []Ban{}
	if part == banUser {
		us, err := a.dir.ListLockedUsers(ctx, c.tenant.ID, after, limit+1)
		if err != nil {
			return internalf("adminapi: list locked users: %w", err)
		}
		now := a.now()
		for _, u := range us {
			out = append(out, userBan(u, now))
		}
		after = ""
	}
	if len(out) <= limit {
		bs, err := a.dir.ListAddressBans(ctx, c.tenant.ID, after, limit+1-len(out))
		if err != nil {
			return internalf("adminapi: list address bans: %w", err)
		}
		for _, b := range bs {
			out = append(out, addressBan(b))
		}
	}
	page := BanList{Value: out}
	if len(out) > limit {
		page.Value = out[:limit]
		page.Next = banCursor(out[limit-1])
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// liftLockout clears a user's failure count and lock
// (ResetSignInFailures), as set-password and enable do, without touching
// the password. 404 when the user has nothing to lift.
func (a *api) liftLockout(w http.ResponseWriter, r *http.Request, c *call) error {
	before, after, err := a.dir.LiftLockout(r.Context(), c.tenant.ID, r.PathValue("user"))
	if err != nil {
		return domainErr(err, "user "+quote(r.PathValue("user"))+" does not exist in tenant "+c.tenant.Domain+" or is not locked out", "")
	}
	now := a.now()
	a.auditChange(r, c, "ban.remove", userBan(before, now), userBan(after, now), "target", before.ObjectID, "type", banUser)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// liftAddressBan lifts an address's ban and forgets its failures. The
// address is an IP address or, for IPv6, the /64 the list shows (its
// slash escaped as %2F in the path). 404 when it is not banned.
func (a *api) liftAddressBan(w http.ResponseWriter, r *http.Request, c *call) error {
	b, err := a.dir.LiftAddressBan(r.Context(), c.tenant.ID, r.PathValue("address"))
	if err != nil {
		return domainErr(err, "address "+quote(r.PathValue("address"))+" is not banned in tenant "+c.tenant.Domain, "")
	}
	a.auditChange(r, c, "ban.remove", addressBan(b), nil, "target", b.Address, "type", banAddress)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
