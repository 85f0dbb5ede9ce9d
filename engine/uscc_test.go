package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckUSCC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code, err string
	}{
		{"real fujian", "91350100M000100Y43", ""},
		{"real sichuan", "91512081MA62K0260E", ""},
		{"real shanghai", "91310115591693856A", ""},
		{"wrong check character", "91350100M000100Y44", `check character is '4', want '3'`},
		{"too short", "91350100M000100Y4", "must be 18 characters, got 17"},
		{"letter O not allowed", "91350100MO00100Y43", `character 10 ('O') is not in the USCC character set 0123456789ABCDEFGHJKLMNPQRTUWXY`},
		{"lower case", "91350100m000100Y43", `character 9 ('m') is not in the USCC character set 0123456789ABCDEFGHJKLMNPQRTUWXY`},
		{"empty", "", "must be 18 characters, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckUSCC(tt.code)
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.err)
		})
	}
}

func TestCheckOrgCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code, err string
	}{
		{"real fujian", "91350100M000100Y43", ""},
		{"real sichuan", "91512081MA62K0260E", ""},
		{"real shanghai", "91310115591693856A", ""},
		{"bad org check", "91350100M000100Y53", `organisation code M000100Y5 has check character '5', want '4'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckOrgCode(tt.code)
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.err)
		})
	}
}

func TestUSCCCheckChar(t *testing.T) {
	t.Parallel()
	c, err := USCCCheckChar("91512081MA62K0260")
	require.NoError(t, err)
	require.Equal(t, byte('E'), c)
	_, err = USCCCheckChar("915")
	require.Error(t, err)
}
