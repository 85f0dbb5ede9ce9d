package engine

import (
	"fmt"
	"strings"
)

// USCCAlphabet is the character set of the unified social credit code
// (GB 32100-2015): digits and upper-case letters without I, O, S, V and Z.
// A character's value is its index, 0–30.
const USCCAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

const usccAlphabet = USCCAlphabet

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

var orgWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// usccValue maps an ASCII byte to its value in usccAlphabet, or -1.
var usccValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(usccAlphabet); i++ {
		t[usccAlphabet[i]] = int8(i)
	}
	return t
}()

// CheckUSCC reports whether code is a well-formed unified social credit code:
// 18 characters from the standard's 31-character set whose last character is
// the GB 32100-2015 check character. The error says which of these fails.
//
// It does not check the check character of the embedded organisation code
// (see CheckOrgCode), which some legacy codes fail.
func CheckUSCC(code string) error {
	if n := len(code); n != 18 {
		return fmt.Errorf("must be 18 characters, got %d", n)
	}
	sum := 0
	for i := 0; i < 18; i++ {
		v := usccValue[code[i]]
		if v < 0 {
			return fmt.Errorf("character %d (%q) is not in the USCC character set %s", i+1, rune(code[i]), usccAlphabet)
		}
		if i < 17 {
			sum += int(v) * usccWeights[i]
		}
	}
	want := usccAlphabet[(31-sum%31)%31]
	if code[17] != want {
		return fmt.Errorf("check character is %q, want %q", rune(code[17]), rune(want))
	}
	return nil
}

// CheckOrgCode checks the check character (position 9) of the 9-character
// organisation code (GB 11714) embedded at positions 9–17 of a USCC. Its
// alphabet is the full one: 0–9 and A=10 … Z=35.
func CheckOrgCode(code string) error {
	if len(code) != 18 {
		return fmt.Errorf("must be 18 characters, got %d", len(code))
	}
	org := code[8:17]
	want, err := OrgCheckChar(org[:8])
	if err != nil {
		return err
	}
	if org[8] != want {
		return fmt.Errorf("organisation code %s has check character %q, want %q", org, rune(org[8]), rune(want))
	}
	return nil
}

// OrgCheckChar returns the GB 11714 check character of the first 8
// characters of an organisation code (0–9 and A=10 … Z=35, weights 3 7 9
// 10 5 8 4 2; 10 is X and 11 is 0). It takes a string or a byte slice, so
// generators need not allocate.
func OrgCheckChar[T ~string | ~[]byte](first8 T) (byte, error) {
	if len(first8) != 8 {
		return 0, fmt.Errorf("need 8 characters, got %d", len(first8))
	}
	sum := 0
	for i := 0; i < 8; i++ {
		c := first8[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		default:
			return 0, fmt.Errorf("organisation code character %d (%q) is not 0-9 or A-Z", i+1, rune(c))
		}
		sum += v * orgWeights[i]
	}
	switch r := 11 - sum%11; r {
	case 10:
		return 'X', nil
	case 11:
		return '0', nil
	default:
		return byte('0' + r), nil
	}
}

// USCCCheckChar returns the check character for the first 17 characters of a
// USCC. It is meant for generating test and synthetic data.
func USCCCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("need 17 characters, got %d", len(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := usccValue[first17[i]]
		if v < 0 {
			return 0, fmt.Errorf("character %d (%q) is not in the USCC character set", i+1, rune(first17[i]))
		}
		sum += int(v) * usccWeights[i]
	}
	return usccAlphabet[(31-sum%31)%31], nil
}

// IsRegionCode reports whether s has the shape of a GB/T 2260 region code:
// exactly six ASCII digits. Whether the code exists is for the caller to check.
func IsRegionCode(s string) bool {
	return len(s) == 6 && strings.Trim(s, "0123456789") == ""
}

// InUSCCAlphabet reports whether s is 18 characters, all from the USCC's
// 31-character set (whatever its check characters say).
func InUSCCAlphabet(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < 18; i++ {
		if usccValue[s[i]] < 0 {
			return false
		}
	}
	return true
}
