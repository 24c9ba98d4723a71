package server

import (
	"github.com/tessera-id/tessera/internal/ratelimit"
)

// abuseLimits builds the configured abuse limits. They live in this
// instance's memory: a throughput limit is as good per instance (n
// instances allow n times the rate, and an operator sizes for that),
// while what must hold across instances, the per-account lockout, is kept
// in the database (directory.RecordSignInFailure).
func (s *Server) abuseLimits() *ratelimit.Limits {
	// Validate has parsed both lists already.
	trusted, _ := ratelimit.ParsePrefixes(s.cfg.TrustedProxies)
	exempt, _ := ratelimit.ParsePrefixes(s.cfg.RateExempt)
	return &ratelimit.Limits{
		Addresses:     ratelimit.NewAddresses(trusted, exempt, s.log),
		SignIn:        ratelimit.New(s.cfg.RateSignIn, s.cfg.RateSignInBurst, ratelimit.Options{}),
		TokenClient:   ratelimit.New(s.cfg.RateTokenClient, s.cfg.RateTokenClientBurst, ratelimit.Options{}),
		TokenAddress:  ratelimit.New(s.cfg.RateTokenAddress, s.cfg.RateTokenAddrBurst, ratelimit.Options{}),
		DeviceAddress: ratelimit.New(s.cfg.RateDeviceAddress, s.cfg.RateDeviceAddrBurst, ratelimit.Options{}),
	}
}
