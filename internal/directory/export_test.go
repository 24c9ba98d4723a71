package directory

// DummyHashOf is the dummy hash s verifies unknown names against.
func DummyHashOf(s *Service) string { return s.dummy() }

// Repository is the store under s, for tests that plant rows the domain's
// rules refuse (a user from before names were bound, a ban's raw state).
func (s *Service) Repository() Repository { return s.repo }
