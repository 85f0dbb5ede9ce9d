package ratings

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzObjectionContact: any contact is refused with a ValidationError
// naming contact, or normalized to a valid, bounded spelling that
// normalizes to itself (so duplicates are caught however they are spelt).
func FuzzObjectionContact(f *testing.F) {
	for _, s := range []string{"13800000000", "+86 138-0000-0000", "(027) 8888.6666", "a@example.com", "A@Example.COM",
		"Zhang <z@example.com>", "z@localhost", "", " ", "12345", "微信 abc", "a\x00@b.cn", "\xff@b.cn", "a@b.c\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := normalContact(s)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "contact" {
				t.Fatalf("normalContact(%q): %v, want a ValidationError on contact", s, err)
			}
			return
		}
		if got == "" || len(got) > MaxObjectionContact || !utf8.ValidString(got) {
			t.Fatalf("normalContact(%q) = %q", s, got)
		}
		if again, err := normalContact(got); err != nil || again != got {
			t.Fatalf("normalContact(%q) = %q, then %q, %v", s, got, again, err)
		}
	})
}
