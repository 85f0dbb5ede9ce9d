package api_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"laborcredit/ratings/ratingstest"
)

// chromiumPath finds Chromium: /usr/bin/chromium, else chromium on PATH.
func chromiumPath() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		return ""
	}
	return p
}

// TestWebBrowser drives the pages in headless Chromium over the fixture on
// SQLite: one browser for the test, a tab per subtest, each with its own
// time limit so a hung browser fails the test instead of hanging it.
func TestWebBrowser(t *testing.T) {
	t.Parallel()
	path := chromiumPath()
	if path == "" {
		const why = "no Chromium at /usr/bin/chromium or on PATH; install Debian's chromium package (apt-get install chromium)"
		if os.Getenv("LABORCREDIT_REQUIRE_BROWSER") != "" {
			// CI sets it: there the browser tests must run, not skip.
			t.Fatal("browser tests cannot run: " + why)
		}
		t.Skip("browser tests skipped: " + why)
	}
	b := setup(t, ratingstest.SQLite(t))
	srv := httptest.NewServer(b.h)
	t.Cleanup(srv.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	// The first Do starts the browser, which lives as long as its context:
	// no time limit on it, but on a watchdog that cancels it.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browserCtx) }()
	select {
	case err := <-started:
		require.NoError(t, err, "start Chromium")
	case <-time.After(60 * time.Second):
		cancelBrowser()
		t.Fatal("Chromium did not start within 60 s")
	}

	// tab opens a tab with a time limit; scripts can be switched off.
	tab := func(t *testing.T, noScript bool) context.Context {
		t.Helper()
		ctx, cancel := chromedp.NewContext(browserCtx)
		t.Cleanup(cancel)
		require.NoError(t, chromedp.Do(ctx), "open a tab")
		ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
		t.Cleanup(cancelTimeout)
		if noScript {
			_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			require.NoError(t, err)
		}
		return ctx
	}
	at := func(path string) string { return srv.URL + path }
	// submit sends the form and waits for the page it leads to.
	submit := func(t *testing.T, ctx context.Context) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("f-submit")))
		require.NoError(t, err)
		require.Equal(t, int64(200), resp.Status)
	}
	// text reads an element's text (an SVG element has no innerText, so its
	// textContent).
	text := func(t *testing.T, ctx context.Context, sel string) string {
		t.Helper()
		read := chromedp.Text(chromedp.CSS(sel))
		if strings.Contains(sel, "#chart-") {
			read = chromedp.TextContent(chromedp.CSS(sel))
		}
		s, err := chromedp.Run(ctx, read)
		require.NoError(t, err, sel)
		return strings.TrimSpace(s)
	}
	e := b.e

	// cascade chooses a province, sends the form, then a city, and sends it
	// again, as one does without script; it returns the result rows.
	cascade := func(t *testing.T, ctx context.Context) string {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(at("/?lang=zh")), chromedp.WaitVisible(chromedp.ID("f-province"))))
		cities, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#f-city, #f-county"), chromedp.AtLeast(0)))
		require.NoError(t, err)
		require.Empty(t, cities, "no city select before a province is chosen")
		require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("f-province"), "420000")))
		submit(t, ctx)
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("f-city")), chromedp.SetValue(chromedp.ID("f-city"), "420100")))
		submit(t, ctx)
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("f-county"))))
		return text(t, ctx, "#results tbody")
	}

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"search by part of a name", func(t *testing.T) {
			ctx := tab(t, false)
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(at("/?lang=zh")), chromedp.WaitVisible(chromedp.ID("f-q")),
				chromedp.SendKeys(chromedp.ID("f-q"), "物流")))
			submit(t, ctx)
			require.Equal(t, "2025 年度共 1 家单位", text(t, ctx, "#results-title"))
			rows := text(t, ctx, "#results tbody")
			require.Contains(t, rows, e[1].Name)
			require.Contains(t, rows, e[1].USCC)
			require.NotContains(t, rows, e[0].Name)
		}},
		{"cascading region filter", func(t *testing.T) {
			ctx := tab(t, false)
			rows := cascade(t, ctx)
			for _, i := range []int{0, 1, 3} {
				require.Contains(t, rows, e[i].Name)
			}
			require.NotContains(t, rows, e[2].Name, "荆门市 is not in 武汉市")
			require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("f-county"), "420102")))
			submit(t, ctx)
			rows = text(t, ctx, "#results tbody")
			require.Contains(t, rows, e[0].Name)
			require.Contains(t, rows, e[3].Name)
			require.NotContains(t, rows, e[1].Name, "江汉区 is not 江岸区")
		}},
		{"cascading region filter without JavaScript", func(t *testing.T) {
			ctx := tab(t, true)
			rows := cascade(t, ctx)
			for _, i := range []int{0, 1, 3} {
				require.Contains(t, rows, e[i].Name)
			}
			require.NotContains(t, rows, e[2].Name)
		}},
		{"open an employer", func(t *testing.T) {
			ctx := tab(t, false)
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(at("/?lang=zh")), chromedp.WaitVisible(chromedp.ID("results"))))
			_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`#results a[href^="/employers/`+e[2].USCC+`"]`)))
			require.NoError(t, err)
			require.Equal(t, e[2].Name, text(t, ctx, "#employer-name"))
			period := text(t, ctx, "#period-2025")
			require.Contains(t, period, "C级")
			require.Contains(t, period, "因使用童工、强迫劳动等严重劳动保障违法行为被查处（第七条第（三）项第3目）")
		}},
		{"switch language", func(t *testing.T) {
			ctx := tab(t, false)
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(at("/?lang=zh")), chromedp.WaitVisible(chromedp.ID("lang-switch"))))
			require.Equal(t, "评价结果查询", text(t, ctx, "h1"))
			_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("lang-switch")))
			require.NoError(t, err)
			require.Equal(t, "Search published ratings", text(t, ctx, "h1"))
			require.Equal(t, "Province", text(t, ctx, `label[for="f-province"]`))
			lang, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("html"), "lang"))
			require.NoError(t, err)
			require.Equal(t, "en", lang.Value)
			link, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`nav a[href^="/awards"]`), "href"))
			require.NoError(t, err)
			require.Equal(t, "/awards?lang=en", link.Value, "links keep the language")
		}},
		{"award roll", func(t *testing.T) {
			ctx := tab(t, false)
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(at("/awards?lang=zh")), chromedp.WaitVisible(chromedp.ID("awards"))))
			rows := text(t, ctx, "#awards tbody")
			require.Contains(t, rows, e[0].Name)
			require.Contains(t, rows, "最佳诚信单位")
			require.NotContains(t, rows, e[1].Name)
		}},
		{"statistics charts", func(t *testing.T) {
			ctx := tab(t, false)
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(at("/statistics?lang=zh")), chromedp.WaitVisible(chromedp.ID("chart-region"))))
			segs, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#chart-region rect.seg")))
			require.NoError(t, err)
			require.NotEmpty(t, segs)
			// 2025: 武汉市 A 1 (e0), B 2 (e1, and e3 corrected); 荆门市 C 1 (e2).
			got := map[string]map[string]int{}
			for _, r := range segs {
				key := r.Parent.AttributeValue("data-key")
				if got[key] == nil {
					got[key] = map[string]int{}
				}
				n, err := strconv.Atoi(r.AttributeValue("data-count"))
				require.NoError(t, err)
				got[key][r.AttributeValue("data-grade")] = n
				w, err := strconv.ParseFloat(r.AttributeValue("width"), 64)
				require.NoError(t, err)
				require.Positive(t, w)
			}
			require.Equal(t, map[string]map[string]int{"420100": {"A": 1, "B": 2}, "420800": {"C": 1}}, got)
			// The browser lays the bars out: 武汉市's (3) is wider than 荆门市's (1).
			box := func(sel string) int64 {
				m, err := chromedp.Run(ctx, chromedp.Dimensions(chromedp.CSS(sel)))
				require.NoError(t, err, sel)
				return m.Width
			}
			require.Greater(t, box(`#chart-region g.bar[data-key="420100"] rect.g-B`), box(`#chart-region g.bar[data-key="420800"] rect.g-C`))
			require.Equal(t, "A 1 · B 2 · C 0 · 共 3", text(t, ctx, `#chart-region text.num[data-key="420100"]`))
			require.Equal(t, "A 0 · B 0 · C 1 · 共 1", text(t, ctx, `#chart-region text.num[data-key="420800"]`))
			trend, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#chart-trend rect.seg")))
			require.NoError(t, err)
			require.NotEmpty(t, trend)
			require.Equal(t, "A 1（25%） · B 2（50%） · C 1（25%） · 共 4", text(t, ctx, `#chart-trend text.num[data-key="2025"]`))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t)
		})
	}
}
