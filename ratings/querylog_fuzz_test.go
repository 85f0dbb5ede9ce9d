package ratings

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLogSafe: whatever a client sends, a logged value is valid UTF-8
// without NUL, control or bidi characters, and within its limit.
func FuzzLogSafe(f *testing.F) {
	for _, s := range []string{"", "2026-01-01", "\x00", "\xff", "中\xe6\x96", "abc\u202Egpj", `a\b`, "a,b", strings.Repeat("中", 400)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tt := range []struct {
			max  int
			mode escapeMode
		}{{MaxLoggedEndpoint, escapeText}, {MaxLoggedCode, escapeCode}, {64, escapeASCII}} {
			out := logSafe(s, tt.max, tt.mode)
			if !utf8.ValidString(out) || len(out) > tt.max {
				t.Fatalf("logSafe(%q, %d) = %q (%d bytes)", s, tt.max, out, len(out))
			}
			if err := CheckName("v", strings.ReplaceAll(out, "…", "")); err != nil {
				t.Fatalf("logSafe(%q) = %q: %v", s, out, err)
			}
			if tt.mode == escapeCode && strings.Contains(out, ",") {
				t.Fatalf("logSafe(%q) = %q keeps a comma", s, out)
			}
		}
		if codes := logCodes(strings.Split(s, "|")); len(codes) > MaxLoggedCodes || !utf8.ValidString(codes) {
			t.Fatalf("logCodes(%q) = %q", s, codes)
		}
	})
}
