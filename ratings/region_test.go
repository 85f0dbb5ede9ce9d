package ratings

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// loadRegions returns the shared embedded region list.
func loadRegions(t *testing.T) *Regions {
	t.Helper()
	r, err := DefaultRegions()
	require.NoError(t, err)
	return r
}

func TestDefaultRegions(t *testing.T) {
	t.Parallel()
	r := loadRegions(t)
	again := loadRegions(t)
	require.Same(t, r, again)
	require.Equal(t, "2023-06-30", r.Revision())

	fresh, err := LoadRegions()
	require.NoError(t, err)
	require.NotSame(t, r, fresh)
	require.Equal(t, r, fresh)
}

func TestRegionCounts(t *testing.T) {
	t.Parallel()
	r := loadRegions(t)
	perLevel := map[int]int{}
	for _, reg := range r.byCode {
		perLevel[reg.Level]++
	}
	require.Equal(t, map[int]int{LevelProvince: 31, LevelPrefecture: 342, LevelCounty: 2975}, perLevel)
	require.Len(t, r.Provinces(), 31)
}

func TestRegionsLookup(t *testing.T) {
	t.Parallel()
	r := loadRegions(t)
	tests := []struct {
		name string
		code string
		want Region
	}{
		{"province", "420000", Region{Code: "420000", Name: "湖北省", Level: LevelProvince}},
		{"prefecture", "420100", Region{Code: "420100", Name: "武汉市", Parent: "420000", Level: LevelPrefecture}},
		{"district", "420102", Region{Code: "420102", Name: "江岸区", Parent: "420100", Level: LevelCounty}},
		{"county-level city", "420881", Region{Code: "420881", Name: "钟祥市", Parent: "420800", Level: LevelCounty}},
		{"province-administered group", "429000", Region{Code: "429000", Name: "省直辖县级行政区划", Parent: "420000", Level: LevelPrefecture}},
		{"province-administered city", "429004", Region{Code: "429004", Name: "仙桃市", Parent: "429000", Level: LevelCounty}},
		{"municipality", "110000", Region{Code: "110000", Name: "北京市", Level: LevelProvince}},
		{"municipality districts", "110100", Region{Code: "110100", Name: "市辖区", Parent: "110000", Level: LevelPrefecture}},
		{"municipality district", "110101", Region{Code: "110101", Name: "东城区", Parent: "110100", Level: LevelCounty}},
		{"chongqing counties", "500200", Region{Code: "500200", Name: "县", Parent: "500000", Level: LevelPrefecture}},
		{"chongqing county", "500230", Region{Code: "500230", Name: "丰都县", Parent: "500200", Level: LevelCounty}},
		{"prefecture without counties", "441900", Region{Code: "441900", Name: "东莞市", Parent: "440000", Level: LevelPrefecture}},
		{"xinjiang corps city", "659001", Region{Code: "659001", Name: "石河子市", Parent: "659000", Level: LevelCounty}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := r.Lookup(tt.code)
			require.True(t, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRegionsLookupMissing(t *testing.T) {
	t.Parallel()
	r := loadRegions(t)
	tests := []struct {
		name string
		code string
	}{
		{"unknown", "999999"},
		{"empty", ""},
		{"five digits", "42010"},
		{"short province", "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := r.Lookup(tt.code)
			require.False(t, ok)
			require.Zero(t, got)
		})
	}
}

func TestRegionsCheck(t *testing.T) {
	t.Parallel()
	r := loadRegions(t)
	tests := []struct {
		name    string
		code    string
		wantErr string
	}{
		{"county", "420102", ""},
		{"province", "420000", ""},
		{"prefecture without counties", "442000", ""},
		{"unknown", "999999", "region code 999999 is not on the GB/T 2260 list (revision 2023-06-30)"},
		{"unknown county of known prefecture", "420199", "region code 420199 is not on the GB/T 2260 list (revision 2023-06-30)"},
		{"five digits", "42010", `region code "42010" is not 6 digits`},
		{"seven digits", "4201021", `region code "4201021" is not 6 digits`},
		{"letters", "42010A", `region code "42010A" is not 6 digits`},
		{"full-width digits", "４２０１０２", `region code "４２０１０２" is not 6 digits`},
		{"empty", "", `region code "" is not 6 digits`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := r.Check(tt.code)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

func TestRegionsWithin(t *testing.T) {
	t.Parallel()
	r := loadRegions(t)
	tests := []struct {
		name  string
		code  string
		scope string
		want  bool
	}{
		{"county in its prefecture", "420102", "420100", true},
		{"county in its province", "420102", "420000", true},
		{"county in itself", "420102", "420102", true},
		{"county not in sibling prefecture", "420102", "420200", false},
		{"county not in other province", "420102", "430000", false},
		{"county not in sibling county", "420102", "420103", false},
		{"prefecture not in its county", "420100", "420102", false},
		{"province not in its prefecture", "420000", "420100", false},
		{"county-level city in its prefecture", "420881", "420800", true},
		{"county-level city not in other prefecture", "420881", "420100", false},
		{"province-administered city in its group", "429004", "429000", true},
		{"province-administered city in its province", "429004", "420000", true},
		{"province-administered city not in wuhan", "429004", "420100", false},
		{"beijing district in beijing", "110101", "110000", true},
		{"beijing district in its districts group", "110101", "110100", true},
		{"beijing district not in tianjin", "110101", "120000", false},
		{"chongqing county in chongqing", "500230", "500000", true},
		{"chongqing county not in chongqing districts", "500230", "500100", false},
		{"dongguan in guangdong", "441900", "440000", true},
		{"dongguan in itself", "441900", "441900", true},
		{"zhongshan not in dongguan", "442000", "441900", false},
		{"unknown code equal to scope", "999999", "999999", false},
		{"unknown code in province", "420199", "420000", false},
		{"known code in unknown scope", "420102", "429900", false},
		{"empty scope", "420102", "", false},
		{"empty code and scope", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, r.Within(tt.code, tt.scope))
		})
	}
}

func TestRegionsAncestors(t *testing.T) {
	t.Parallel()
	r := loadRegions(t)
	tests := []struct {
		name string
		code string
		want []string
	}{
		{"county", "420102", []string{"420100", "420000"}},
		{"province-administered city", "429004", []string{"429000", "420000"}},
		{"municipality district", "310101", []string{"310100", "310000"}},
		{"prefecture", "420100", []string{"420000"}},
		{"prefecture without counties", "441900", []string{"440000"}},
		{"province", "420000", nil},
		{"unknown", "999999", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, codes(r.Ancestors(tt.code)))
		})
	}
}

func TestRegionsChildren(t *testing.T) {
	t.Parallel()
	r := loadRegions(t)
	tests := []struct {
		name string
		code string
		want []string
	}{
		{"province-administered group", "429000", []string{"429004", "429005", "429006", "429021"}},
		{"chongqing", "500000", []string{"500100", "500200"}},
		{"prefecture without counties", "441900", nil},
		{"county", "420102", nil},
		{"unknown", "999999", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, codes(r.Children(tt.code)))
		})
	}
}

func TestRegionsChildrenOfHubei(t *testing.T) {
	t.Parallel()
	r := loadRegions(t)
	kids := r.Children("420000")
	got := codes(kids)
	require.True(t, slices.IsSorted(got))
	require.Contains(t, got, "420100")
	require.Contains(t, got, "420800")
	require.Contains(t, got, "429000")
	for _, k := range kids {
		require.Equal(t, "420000", k.Parent)
		require.Equal(t, LevelPrefecture, k.Level)
	}

	kids[0].Name = "changed"
	first, ok := r.Lookup(kids[0].Code)
	require.True(t, ok)
	require.NotEqual(t, "changed", first.Name)
	require.NotEqual(t, "changed", r.Children("420000")[0].Name)
}

func TestRegionsProvinces(t *testing.T) {
	t.Parallel()
	r := loadRegions(t)
	provinces := r.Provinces()
	got := codes(provinces)
	require.Len(t, got, 31)
	require.True(t, slices.IsSorted(got))
	require.Equal(t, "110000", got[0])
	require.Equal(t, "650000", got[len(got)-1])
	for _, p := range provinces {
		require.Equal(t, LevelProvince, p.Level)
		require.Empty(t, p.Parent)
		require.True(t, strings.HasSuffix(p.Code, "0000"), p.Code)
	}
}

func TestRegionsInvariants(t *testing.T) {
	t.Parallel()
	r := loadRegions(t)

	var fileCodes []string
	for line := range strings.Lines(gb2260) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		code, _, ok := strings.Cut(line, "\t")
		require.True(t, ok, line)
		fileCodes = append(fileCodes, code)
	}
	require.True(t, slices.IsSorted(fileCodes), "file is sorted by code")
	require.Len(t, slices.Compact(slices.Clone(fileCodes)), len(fileCodes), "no duplicate codes")
	require.Len(t, r.byCode, len(fileCodes))
	require.Less(t, len(gb2260), 200<<10)

	for code, reg := range r.byCode {
		require.Equal(t, code, reg.Code)
		require.NotEmpty(t, reg.Name, code)
		require.Len(t, r.Ancestors(code), reg.Level-1, code)
		if reg.Parent == "" {
			require.Equal(t, LevelProvince, reg.Level, code)
			continue
		}
		parent, ok := r.Lookup(reg.Parent)
		require.True(t, ok, "parent %s of %s is on the list", reg.Parent, code)
		require.Equal(t, parent.Level+1, reg.Level, code)
		require.Equal(t, code[:2], parent.Code[:2], "%s stays in its province", code)
		require.True(t, r.Within(code, reg.Parent), code)
	}
}

func TestParseRegionsErrors(t *testing.T) {
	t.Parallel()
	const header = "# revision: test\n"
	tests := []struct {
		name    string
		data    string
		wantErr string
	}{
		{"two fields", header + "420000\t湖北省\n", "line 2: want 3 tab-separated fields, got 2"},
		{"five-digit code", header + "42000\t湖北省\t\n", `line 2: code "42000" is not 6 digits`},
		{"empty name", header + "420000\t\t\n", "line 2: region 420000 has no name"},
		{"bad parent", header + "420100\t武汉市\t42\n", `line 2: parent code "42" is not 6 digits`},
		{"own parent", header + "420000\t湖北省\t420000\n", "line 2: region 420000 is its own parent"},
		{"duplicate", header + "420000\t湖北省\t\n420000\t湖北省\t\n", "line 3: duplicate code 420000 (first on line 2)"},
		{"missing parent", header + "420000\t湖北省\t\n420102\t江岸区\t420100\n", "line 3: region 420102: parent 420100 is not on the list"},
		{"too deep", header + "420000\t湖北省\t\n420100\t武汉市\t420000\n420102\t江岸区\t420100\n420103\t江汉区\t420102\n", "line 5: region 420103: more than 3 levels deep"},
		{"cycle", header + "420100\t武汉市\t420200\n420200\t黄石市\t420100\n", "more than 3 levels deep"},
		{"second revision", header + header, "line 2: second revision header"},
		{"no revision", "420000\t湖北省\t\n", `no "# revision:" header line`},
		{"no regions", header, "no regions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := parseRegions(tt.data)
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, r)
		})
	}
}

func TestParseRegions(t *testing.T) {
	t.Parallel()
	r, err := parseRegions("# source: test\n# revision: 2000-01-01\n\n420000\t湖北省\t\n420100\t武汉市\t420000\n")
	require.NoError(t, err)
	require.Equal(t, "2000-01-01", r.Revision())
	require.Equal(t, []Region{{Code: "420000", Name: "湖北省", Level: LevelProvince}}, r.Provinces())
	require.Equal(t, []Region{{Code: "420100", Name: "武汉市", Parent: "420000", Level: LevelPrefecture}}, r.Children("420000"))
}

// codes returns the codes of regions in order, nil for none.
func codes(regions []Region) []string {
	var out []string
	for _, reg := range regions {
		out = append(out, reg.Code)
	}
	return out
}
