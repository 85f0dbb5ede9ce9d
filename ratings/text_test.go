package ratings

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckTextAndName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		textErr string
		nameErr string
	}{
		{"plain", "广州市天河区某某有限公司", "", ""},
		{"nul", "a\x00b", "f: NUL byte at byte 1", "f: NUL byte at byte 1"},
		{"invalid utf8", "ab\xff", "f: invalid UTF-8 at byte 2", "f: invalid UTF-8 at byte 2"},
		{"truncated rune", "中\xe6\x96", "f: invalid UTF-8 at byte 3", "f: invalid UTF-8 at byte 3"},
		{"tab", "a\tb", "", `f: character '\t' at byte 1 is not allowed in a name`},
		{"newline", "a\nb", "", `f: character '\n' at byte 1 is not allowed in a name`},
		{"rlo", "abc\u202Egpj.exe", "", `f: character '\u202e' at byte 3 is not allowed in a name`},
		{"isolate", "x\u2066y", "", `f: character '\u2066' at byte 1 is not allowed in a name`},
		{"del", "a\x7f", "", `f: character '\x7f' at byte 1 is not allowed in a name`},
		{"c1", "a\u0085", "", `f: character '\u0085' at byte 1 is not allowed in a name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			check := func(err error, want string) {
				if want == "" {
					require.NoError(t, err)
					return
				}
				require.EqualError(t, err, want)
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
			}
			check(CheckText("f", tt.in), tt.textErr)
			check(CheckName("f", tt.in), tt.nameErr)
		})
	}
}
