package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"laborcredit/ratings"
)

// fuzzBody is a request body with the shapes the handlers decode: strings,
// a list of strings, a number and a nested object.
type fuzzBody struct {
	Reason string   `json:"reason"`
	Codes  []string `json:"codes"`
	Period int      `json:"period"`
	Review struct {
		Name string `json:"name"`
	} `json:"review"`
}

// requireRefusal checks that err is a 400 or 413 httpError or a
// ValidationError naming a field.
func requireRefusal(t *testing.T, err error) {
	t.Helper()
	var he *httpError
	var ve *ratings.ValidationError
	switch {
	case errors.As(err, &he):
		require.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}, he.status, err.Error())
		require.NotEmpty(t, he.field, err.Error())
	case errors.As(err, &ve):
		require.NotEmpty(t, ve.Field, err.Error())
	default:
		t.Fatalf("not a refusal: %v", err)
	}
}

// FuzzBindJSON: a body either decodes into one value whose every string
// is valid UTF-8 without NUL, or is refused as bad input (400, 413, 415,
// 422 naming a field) — never a panic, never a quiet replacement.
func FuzzBindJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"reason":"a"}`, `{"codes":["a","b"]}`, `{"review":{"name":"x"}}`, `{} {}`, `{}x`,
		`{"reason":"\u0000"}`, "{\"reason\":\"\xff\"}", `{"reason":"a","reason":"b"}`, `{"reason":"a","REASON":"b"}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`, `{"period":1e400}`, `null`, ``, `{"a\u0000":1}`, `{"reason":"\ud800"}`, "\xef\xbb\xbf{}"} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(`{}`), "application/json; charset=UTF-8")
	f.Add([]byte(`{}`), "text/plain")
	f.Add([]byte(`{}`), "application/json; charset=latin1")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		c.Request.Header.Set("Content-Type", contentType)
		var v fuzzBody
		err := bindJSON(c, &v)
		if err != nil {
			requireRefusal(t, err)
			return
		}
		require.True(t, json.Valid(body), "%q", body)
		for i, s := range append([]string{v.Reason, v.Review.Name}, v.Codes...) {
			require.NoError(t, ratings.CheckText(strconv.Itoa(i), s), "%q", body)
		}
	})
}

// FuzzCheckQuery: a query string passes only if it parses and every name
// and value is valid text within the limits; else a 400 names what.
func FuzzCheckQuery(f *testing.F) {
	for _, s := range []string{"", "q=a", "q=%00", "q=%FF", "a%00b=1", "q=%zz", "page=9223372036854775807", "x=1&x=2",
		"q=" + url.QueryEscape("荆楚建筑"), "name=%C0%AF", "a;b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := checkQuery(raw)
		if err != nil {
			var he *httpError
			require.ErrorAs(t, err, &he)
			require.Equal(t, http.StatusBadRequest, he.status)
			require.NotEmpty(t, he.field)
			return
		}
		require.LessOrEqual(t, len(raw), maxRawQuery)
		vals, perr := url.ParseQuery(raw)
		require.NoError(t, perr)
		for k, vs := range vals {
			require.NoError(t, ratings.CheckText("query", k))
			for _, v := range vs {
				require.NoError(t, ratings.CheckText(k, v))
				require.LessOrEqual(t, len(v), maxQueryValue)
			}
		}
	})
}

// The limiter map stays bounded: past its size the least recently seen
// keys go, and idle keys go on the next sweep.
func TestKeyedLimiterBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 4, 8, 2, 0, 0, 0, time.UTC)
	k := &ipLimit{keys: newLRULimiter[string](100, time.Minute), rate: 1, burst: 2}
	for i := range 1000 {
		require.Zero(t, k.take("10.0.0."+strconv.Itoa(i), now))
		require.LessOrEqual(t, k.keys.len(), 100)
	}
	// A key over its limit waits, without spending; then it may go again.
	require.Zero(t, k.take("a", now))
	require.Zero(t, k.take("a", now))
	wait := k.take("a", now)
	require.Greater(t, wait, time.Duration(0))
	require.LessOrEqual(t, wait, time.Second)
	require.Equal(t, wait, k.take("a", now), "a refused request spends nothing")
	require.Zero(t, k.take("a", now.Add(time.Second)))
	// Idle keys are dropped by the sweep that a new key starts.
	later := now.Add(2 * time.Minute)
	require.Zero(t, k.take("b", later))
	require.Equal(t, 1, k.keys.len())
}
