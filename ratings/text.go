package ratings

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// CheckText refuses a value no field may hold: invalid UTF-8 or a NUL
// byte (PostgreSQL cannot store one in text; SQLite would store it and
// every reader would choke on it). The error names the field and the byte
// offset of the first bad byte.
func CheckText(field, s string) error {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return invalid(field, "invalid UTF-8 at byte %d", i)
		case r == 0:
			return invalid(field, "NUL byte at byte %d", i)
		}
		i += n
	}
	return nil
}

// CheckName refuses, beyond CheckText, what has no place in a name shown
// to others: control characters (tabs and line breaks included) and the
// bidirectional-formatting characters that make a name read differently
// from how it is stored (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F,
// U+061C). The error names the field and the character.
func CheckName(field, s string) error {
	if err := CheckText(field, s); err != nil {
		return err
	}
	for i, r := range s {
		if unicode.IsControl(r) || isBidiControl(r) {
			return invalid(field, "character %s at byte %d is not allowed in a name", strconv.QuoteRune(r), i)
		}
	}
	return nil
}

func isBidiControl(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}
