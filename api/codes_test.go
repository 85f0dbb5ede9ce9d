package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// One code policy (ratings.LookupCode): every endpoint that takes a code
// accepts what people paste (spaces, full-width, lower case) and
// allow-listed legacy codes, and refuses a malformed code as a 400 on
// field uscc — the same answer from each.
func TestCodePolicy(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		e0 := b.e[0].USCC
		legacy := badCheck(code(t, "420102", 996))
		require.NoError(t, b.svc.AddLegacyCode(context.Background(), admin, legacy, "早期试点代码，经登记机关核实"))
		county := b.user(t, "江岸区 科员", ratings.RoleCounty, "420102", "")
		city := b.user(t, "武汉市人社局", ratings.RoleCity, "420100", "")

		// Each endpoint says whether it took the code as malformed.
		isMalformed := func(status int, body string) bool {
			if status != http.StatusBadRequest {
				return false
			}
			var p problem
			return json.Unmarshal([]byte(body), &p) == nil && len(p.Errors) > 0 && p.Errors[0].Field == "uscc"
		}
		endpoints := []struct {
			name string
			try  func(code string) bool // true: refused as malformed
		}{
			{"credit one", func(c string) bool {
				rec := b.get(t, "/api/v1/credit/"+url.PathEscape(c), b.key)
				return isMalformed(rec.Code, rec.Body.String())
			}},
			{"credit as of", func(c string) bool {
				rec := b.get(t, "/api/v1/credit/"+url.PathEscape(c)+"?as_of=2026-04-01", b.key)
				return isMalformed(rec.Code, rec.Body.String())
			}},
			{"credit batch", func(c string) bool {
				rec := b.post(t, "/api/v1/credit/batch", b.key, map[string]any{"codes": []string{c}})
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				var res struct {
					Results []ratings.BatchItem `json:"results"`
				}
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res), rec.Body.String())
				require.Len(t, res.Results, 1, rec.Body.String())
				return res.Results[0].Status == "invalid"
			}},
			{"public employer", func(c string) bool {
				rec := b.get(t, "/api/v1/public/ratings/"+url.PathEscape(c), "")
				return isMalformed(rec.Code, rec.Body.String())
			}},
			{"public employer page", func(c string) bool {
				rec := b.page(t, "/employers/"+url.PathEscape(c), "zh-CN")
				require.Contains(t, []int{http.StatusOK, http.StatusBadRequest, http.StatusNotFound}, rec.Code, rec.Body.String())
				return rec.Code == http.StatusBadRequest
			}},
			{"integrity file", func(c string) bool {
				rec := b.get(t, "/api/v1/employers/"+url.PathEscape(c)+"/integrity-file", county)
				return isMalformed(rec.Code, rec.Body.String())
			}},
			{"notifications", func(c string) bool {
				rec := b.get(t, "/api/v1/employers/"+url.PathEscape(c)+"/notifications", county)
				return isMalformed(rec.Code, rec.Body.String())
			}},
			{"nomination", func(c string) bool {
				rec := b.post(t, "/api/v1/nominations", city, map[string]any{"uscc": c, "period": 2025, "award": "best-integrity-unit"})
				return isMalformed(rec.Code, rec.Body.String())
			}},
		}
		codes := []struct {
			name      string
			code      string
			malformed bool
		}{
			{"as stored", e0, false},
			{"pasted with spaces", "  " + e0 + "\u3000", false},
			{"full-width", fullWidth(e0), false},
			{"lower case", strings.ToLower(e0), false},
			{"legacy on the allow-list", legacy, false},
			{"wrong check character", badCheck(e0), true},
			{"too short", e0[:17], true},
			{"a letter outside the alphabet", "O" + e0[1:], true},
		}
		for _, ep := range endpoints {
			for _, c := range codes {
				require.Equal(t, c.malformed, ep.try(c.code), "%s: %s (%q)", ep.name, c.name, c.code)
			}
		}
	})
}
