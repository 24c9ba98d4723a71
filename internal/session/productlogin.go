package session

import (
	"context"
	"errors"

	"github.com/tessera-id/tessera/internal/audit"
)

// ErrNotProductLogin: the grant a product logout names was not made by the
// product login, or not for the user whose token names it.
var ErrNotProductLogin = errors.New("not a product login")

// EndProductLogin revokes the grant of a product login, named by the sid
// of one of its tokens, for the user the token is for. Only a grant the
// product login made (ChannelProductLogin) may end so: a resource server
// holds users' tokens of every client, and the CLI's own sign-ins (`az
// login`, `tessera login`) name the same client as product logins, so a
// token alone must not end another sign-in (review L3). Any other grant is
// ErrNotProductLogin and changes nothing; a grant already ended is not an
// error.
func (s *Service) EndProductLogin(ctx context.Context, tenantID, grantID, userID string) error {
	g, err := s.repo.GetGrant(ctx, tenantID, grantID)
	if err != nil {
		return err
	}
	if g.Channel != ChannelProductLogin || g.UserID != userID {
		return ErrNotProductLogin
	}
	if !g.RevokedAt.IsZero() {
		return nil
	}
	return s.revokeGrant(ctx, tenantID, grantID, audit.RevokeGrant, "")
}
