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

func TestOrgCheckChar(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		first string
		want  byte
		err   string
	}{
		{name: "real code 91350100M000100Y43", first: "M000100Y", want: '4'},
		{name: "real code 91512081MA62K0260E", first: "MA62K026", want: '0'},
		{name: "real code 91310115591693856A", first: "59169385", want: '6'},
		{name: "too short", first: "MA62K02", err: "need 8 characters, got 7"},
		{name: "lower case", first: "ma62K026", err: `organisation code character 1 ('m') is not 0-9 or A-Z`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := OrgCheckChar(tt.first)
			gotBytes, errBytes := OrgCheckChar([]byte(tt.first))
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				require.EqualError(t, errBytes, tt.err)
				return
			}
			require.NoError(t, err)
			require.NoError(t, errBytes)
			require.Equal(t, string(tt.want), string(got))
			require.Equal(t, got, gotBytes)
		})
	}
}
