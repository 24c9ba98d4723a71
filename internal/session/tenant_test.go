package session

import "testing"

func TestTenantOf(t *testing.T) {
	tid := "3f1c7a52-9d0e-4b7a-8c61-0a2b3c4d5e6f"
	s := NewService(nil, hashFunc(func(string) []byte { return nil }), nil, Options{})
	for _, prefix := range []string{CodePrefix, RefreshTokenPrefix, DeviceCodePrefix, BrowserSessionPrefix} {
		v, _ := s.opaque(prefix, tid)
		if got, ok := TenantOf(v); !ok || got != tid {
			t.Errorf("TenantOf(%s…) = %q, %v", prefix, got, ok)
		}
	}
	for _, bad := range []string{"", "tac_", "tac_xyz.abc", "tac_3f1c7a529d0e4b7a8c610a2b3c4d5e6fabc", "tac_3f1c7a529d0e4b7a8c610a2b3c4d5e6g.x"} {
		if _, ok := TenantOf(bad); ok {
			t.Errorf("TenantOf(%q) accepted", bad)
		}
	}
}

type hashFunc func(string) []byte

func (f hashFunc) HashToken(s string) []byte { return f(s) }
