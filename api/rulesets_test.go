package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// bombRuleSet is a rule set with one harmless rule and one whose when is a
// bomb: before the engine's limits each of them exhausted the memory of
// the process or held a CPU for minutes.
func bombRuleSet(when string) string {
	return "id: bomb-set\ngrades: [A, B, C]\nlet:\n  s0: '\"0123456789abcdef\"'\n" + doubling +
		"rules:\n  - id: fine\n    when: complaints > 100\n    cap: B\n    reason: x\n" +
		"  - id: bomb\n    when: '" + when + "'\n    cap: C\n    reason: x\n"
}

// doubling are lets that double a string up to s12, 64 KiB (MaxStringLen);
// the doubling bomb doubles once more.
var doubling = func() string {
	var b strings.Builder
	for i := 1; i <= 12; i++ {
		b.WriteString("  s" + itoa(i) + ": s" + itoa(i-1) + " + s" + itoa(i-1) + "\n")
	}
	return b.String()
}()

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// hostileDrafts: the rule (or let) each must be refused for.
var hostileDrafts = []struct{ name, when, field string }{
	{"repeat", `len(repeat("0123456789", 100000000)) > 0`, "bomb.when"},
	{"repeat of a long string", `len(repeat(repeat("0123456789", 6000), 1000)) > 0`, "bomb.when"},
	{"lets that double a string", `len(s12 + s12) > 0`, "bomb.when"},
	{"reduce building a string", `len(reduce(1..200000, #acc + "x", "")) > 0`, "bomb.when"},
	{"join of a long list", `len(join(map(1..100000, {"0123456789"}), "")) > 0`, "bomb.when"},
	{"replace that grows", `len(replace(repeat("x", 60000), "", "yyyy")) > 0`, "bomb.when"},
	{"string of a list", `len(string(1..100000)) > 0`, "bomb.when"},
	{"map building arrays", `len(map(1..900000, {[#, #, #]})) > 0`, "bomb.when"},
}

// TestHostileRuleSetsHTTP posts each bomb to rule-sets/check and to a
// simulation: each answer is a 422 naming the rule, and the server still
// answers /healthz after.
func TestHostileRuleSetsHTTP(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		county := b.user(t, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		for _, tt := range hostileDrafts {
			src := bombRuleSet(tt.when)
			p := requireProblem(t, do(t, b.h, yamlRequest("/api/v1/rule-sets/check", county, src)), http.StatusUnprocessableEntity, tt.field)
			require.Contains(t, p.Errors[0].Reason, "limit", tt.name)
			p = requireProblem(t, do(t, b.h, yamlRequest("/api/v1/periods/2025/simulate", county, src)), http.StatusUnprocessableEntity, tt.field)
			require.Contains(t, p.Errors[0].Reason, "limit", tt.name)
			rec := httptest.NewRecorder()
			b.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			require.Equal(t, http.StatusOK, rec.Code, tt.name)
		}
	})
}

// TestCheckRuleSetNeedsAnOfficer: an employer's token may not check rule
// sets (403); an officer's may.
func TestCheckRuleSetNeedsAnOfficer(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := setup(t, db)
		employer := b.user(t, "企业人事", ratings.RoleEmployer, "", b.e[0].USCC)
		county := b.user(t, "江岸区监察大队", ratings.RoleCounty, "420102", "")
		src := bombRuleSet(`period > 0`)
		requireProblem(t, do(t, b.h, yamlRequest("/api/v1/rule-sets/check", employer, src)), http.StatusForbidden, "")
		rec := do(t, b.h, yamlRequest("/api/v1/rule-sets/check", county, src))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	})
}

func yamlRequest(target, token, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/yaml")
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}
