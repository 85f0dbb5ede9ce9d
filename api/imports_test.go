package api_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"github.com/xuri/excelize/v2"

	"laborcredit/api"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// importRequest is a multipart/form-data upload of a record file.
func importRequest(t *testing.T, kind, secret, fileName string, content []byte, fields ...string) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for i := 0; i+1 < len(fields); i += 2 {
		require.NoError(t, mw.WriteField(fields[i], fields[i+1]))
	}
	if fileName != "" {
		fw, err := mw.CreateFormFile("file", fileName)
		require.NoError(t, err)
		_, err = fw.Write(content)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	req := httptest.NewRequest(http.MethodPost, "/api/v1/imports/"+kind, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	return req
}

// importReport is the 200 body.
type importReport struct {
	Kind          string             `json:"kind"`
	Rows          int                `json:"rows"`
	Inserted      int                `json:"inserted"`
	Updated       int                `json:"updated"`
	Unchanged     int                `json:"unchanged"`
	Rejected      []ratings.RowError `json:"rejected"`
	RejectedCount int                `json:"rejected_count"`
}

// importProblem is the 422 body.
type importProblem struct {
	problem
	Rows          int                `json:"rows"`
	RejectedCount int                `json:"rejected_count"`
	Rejected      []ratings.RowError `json:"rejected"`
}

// importBundle is a server with employers in two counties of 武汉市 and
// users of each role.
type importBundle struct {
	*testBundle
	codes                           []string // e0, e1 in 江岸区 (420102), e2 in 江汉区 (420103)
	county, city, employerUser, adm string   // tokens
}

func importSetup(t *testing.T, db *bun.DB, o api.Options) *importBundle {
	t.Helper()
	ctx := context.Background()
	svc, err := ratings.NewService(db, ratings.ServiceParams{NowFunc: func() time.Time { return time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	qlog := ratings.NewQueryLog(db, func(err error) { t.Errorf("query log: %v", err) })
	t.Cleanup(qlog.Close)
	o.QueryLog, o.Registry = qlog, prometheus.NewRegistry()
	b := &importBundle{testBundle: &testBundle{db: db, svc: svc, h: api.New(svc, o)}}
	b.codes = []string{code(t, "420102", 501), code(t, "420102", 502), code(t, "420103", 503)}
	_, err = svc.Import(ctx, ratings.System, ratings.ImportParams{Kind: "employers", FileName: "seed.csv", Reader: strings.NewReader(
		"uscc,name,region\n" + b.codes[0] + ",江岸一号,420102\n" + b.codes[2] + ",江汉三号,420103\n")})
	require.NoError(t, err)
	b.county = b.user(t, "江岸区监察", ratings.RoleCounty, "420102", "")
	b.city = b.user(t, "武汉市监察", ratings.RoleCity, "420100", "")
	b.adm = b.user(t, "管理员", ratings.RoleAdmin, "420000", "")
	b.employerUser = b.user(t, "江岸一号", ratings.RoleEmployer, "420102", b.codes[0])
	return b
}

func TestImportEndpoint(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := importSetup(t, db, api.Options{})
		e := b.codes
		employers := "uscc,name,region,employees\n" + e[0] + ",江岸一号,420102,12\n" + e[1] + ",江岸二号,420102,3\n"
		deposits := "统一社会信用代码,年度,是否应缴,是否已缴\n" + e[0] + ",2026,是,否\n" + e[2] + ",2026,是,是\n"
		tests := []struct {
			name     string
			secret   func() string
			kind     string
			file     string
			content  string
			fields   []string
			status   int
			field    string         // the first error's field, for problems
			report   *importReport  // the 200 body
			rejected *importProblem // the 422 body, but its problem part
		}{
			{name: "county officer imports its employers", secret: func() string { return b.county }, kind: "employers", file: "employers.csv",
				content: employers, status: http.StatusOK,
				report: &importReport{Kind: "employers", Rows: 2, Inserted: 1, Updated: 1, Rejected: []ratings.RowError{}}},
			{name: "the same file again changes nothing", secret: func() string { return b.county }, kind: "employers", file: "employers.csv",
				content: employers, status: http.StatusOK,
				report: &importReport{Kind: "employers", Rows: 2, Unchanged: 2, Rejected: []ratings.RowError{}}},
			{name: "county officer registering an employer of another county", secret: func() string { return b.county }, kind: "employers",
				file: "e.csv", content: "uscc,name,region\n" + code(t, "420103", 504) + ",江汉四号,420103\n",
				status: http.StatusUnprocessableEntity, field: "row 2: region",
				rejected: &importProblem{Rows: 1, RejectedCount: 1, Rejected: []ratings.RowError{{Row: 2, Column: "region", Value: "420103",
					Reason: "outside your region 420102 江岸区"}}}},
			{name: "county officer and another county's employer", secret: func() string { return b.county }, kind: "deposits", file: "d.csv",
				content: deposits, status: http.StatusUnprocessableEntity, field: "row 3: 统一社会信用代码",
				rejected: &importProblem{Rows: 2, RejectedCount: 1, Rejected: []ratings.RowError{{Row: 3, Column: "统一社会信用代码", Value: e[2],
					Reason: "the employer is in 420103 江汉区, outside your region 420102 江岸区"}}}},
			{name: "skipping the invalid rows", secret: func() string { return b.county }, kind: "deposits", file: "d.csv",
				content: deposits, fields: []string{"skip_invalid", "true"}, status: http.StatusOK,
				report: &importReport{Kind: "deposits", Rows: 2, Inserted: 1, RejectedCount: 1, Rejected: []ratings.RowError{{Row: 3,
					Column: "统一社会信用代码", Value: e[2], Reason: "the employer is in 420103 江汉区, outside your region 420102 江岸区"}}}},
			{name: "city officer: both counties, XLSX", secret: func() string { return b.city }, kind: "complaints", file: "complaints.xlsx",
				content: string(xlsxFile(t, [][]any{{"投诉编号", "统一社会信用代码", "受理日期"}, {"TS-1", e[0], "2026-02-01"}, {"TS-2", e[2], "2026-02-03"}})),
				status:  http.StatusOK, report: &importReport{Kind: "complaints", Rows: 2, Inserted: 2, Rejected: []ratings.RowError{}}},
			{name: "a bad header", secret: func() string { return b.adm }, kind: "deposits", file: "d.csv",
				content: "uscc,period,required\n", status: http.StatusUnprocessableEntity, field: "row 1: paid",
				rejected: &importProblem{RejectedCount: 1, Rejected: []ratings.RowError{{Row: 1, Column: "paid", Reason: "missing required column paid (是否已缴)"}}}},
			{name: "an employer may not import", secret: func() string { return b.employerUser }, kind: "deposits", file: "d.csv",
				content: deposits, status: http.StatusForbidden},
			{name: "no token", secret: func() string { return "" }, kind: "deposits", file: "d.csv", content: deposits, status: http.StatusUnauthorized},
			{name: "unknown kind", secret: func() string { return b.county }, kind: "blacklist", file: "b.csv", content: deposits,
				status: http.StatusBadRequest, field: "kind"},
			{name: "no file part", secret: func() string { return b.county }, kind: "deposits", fields: []string{"skip_invalid", "true"},
				status: http.StatusBadRequest, field: "file"},
			{name: "not CSV or XLSX", secret: func() string { return b.county }, kind: "deposits", file: "d.txt", content: deposits,
				status: http.StatusBadRequest, field: "file"},
			{name: "bad skip_invalid", secret: func() string { return b.county }, kind: "deposits", file: "d.csv", content: deposits,
				fields: []string{"skip_invalid", "perhaps"}, status: http.StatusBadRequest, field: "skip_invalid"},
		}
		// Steps, in order: each works on what the ones before left.
		for _, tt := range tests {
			rec := do(t, b.h, importRequest(t, tt.kind, tt.secret(), tt.file, []byte(tt.content), tt.fields...))
			switch {
			case tt.report != nil:
				require.Equal(t, http.StatusOK, rec.Code, "%s: %s", tt.name, rec.Body.String())
				require.Equal(t, *tt.report, decode[importReport](t, rec), tt.name)
			case tt.rejected != nil:
				requireProblem(t, rec, tt.status, tt.field)
				got := decode[importProblem](t, rec)
				require.Equal(t, tt.rejected.Rejected, got.Rejected, tt.name)
				require.Equal(t, tt.rejected.Rows, got.Rows, tt.name)
				require.Equal(t, tt.rejected.RejectedCount, got.RejectedCount, tt.name)
				require.Len(t, got.Errors, len(got.Rejected), tt.name)
				require.Contains(t, got.Detail, "nothing was imported", tt.name)
			default:
				requireProblem(t, rec, tt.status, tt.field)
			}
		}
		p := decode[importProblem](t, do(t, b.h, importRequest(t, "deposits", b.county, "d.csv", []byte(deposits))))
		require.Equal(t, `"`+e[2]+`": the employer is in 420103 江汉区, outside your region 420102 江岸区`, p.Errors[0].Reason)
		require.Equal(t, 1, countImported(t, db, "wage_deposits"), "only the skip_invalid upload imported a deposit")
		require.Equal(t, 2, countImported(t, db, "complaints"))
	})
}

// An upload over the import limit is 413; other endpoints keep theirs.
func TestImportEndpointLimit(t *testing.T) {
	t.Parallel()
	b := importSetup(t, ratingstest.SQLite(t), api.Options{MaxImportBody: 4096, MaxBody: 1024})
	big := "uscc,name,region\n" + strings.Repeat(b.codes[0]+",江岸一号,420102\n", 200)
	rec := do(t, b.h, importRequest(t, "employers", b.county, "big.csv", []byte(big)))
	requireProblem(t, rec, http.StatusRequestEntityTooLarge, "")

	// Under the import limit but over the general one: fine here.
	mid := "uscc,name,region\n" + strings.Repeat(b.codes[0]+",江岸一号,420102\n", 30)
	require.Greater(t, len(mid), 1024)
	rec = do(t, b.h, importRequest(t, "employers", b.county, "mid.csv", []byte(mid)))
	requireProblem(t, rec, http.StatusUnprocessableEntity, "row 3: uscc")
}

func countImported(t *testing.T, db bun.IDB, table string) int {
	t.Helper()
	n, err := db.NewSelect().Table(table).Count(context.Background())
	require.NoError(t, err)
	return int(n)
}

// xlsxFile writes rows to the first sheet of a workbook.
func xlsxFile(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		require.NoError(t, err)
		require.NoError(t, f.SetSheetRow("Sheet1", cell, &row))
	}
	var buf bytes.Buffer
	require.NoError(t, f.Write(&buf))
	return buf.Bytes()
}

// importStreamRequest is an upload whose file is streamed from r.
func importStreamRequest(t *testing.T, kind, secret, fileName string, r io.Reader) *http.Request {
	t.Helper()
	pr, pw := io.Pipe()
	// A server that answers without reading the whole body (429, 413)
	// leaves the writer blocked: closing the reader ends it.
	t.Cleanup(func() { pr.CloseWithError(io.ErrClosedPipe) })
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("file", fileName)
		if err == nil {
			_, err = io.Copy(fw, r)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/imports/"+kind, pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+secret)
	return req
}

// Every hostile file uploaded is a 4xx naming what is wrong, or imports;
// nothing is stored for a refused one, and the server still answers.
func TestImportEndpointHostileFiles(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		b := importSetup(t, db, api.Options{})
		for _, f := range ratingstest.HostileFiles() {
			t.Run(f.Name, func(t *testing.T) {
				before := countImported(t, db, "employers")
				rec := do(t, b.h, importStreamRequest(t, "employers", b.county, f.FileName, f.Open()))
				switch {
				case strings.Contains(f.Name, "100 MB"):
					// Over the upload limit before the import sees it.
					requireProblem(t, rec, http.StatusRequestEntityTooLarge, "")
				case f.Want == "":
					require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
					require.Equal(t, f.Rows, decode[importReport](t, rec).Inserted)
				case f.Rejected:
					p := decode[importProblem](t, rec)
					require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
					require.NotEmpty(t, p.Errors)
					require.Contains(t, p.Errors[0].Reason, f.Want)
				default:
					p := requireProblem(t, rec, http.StatusUnprocessableEntity, "file")
					require.Contains(t, p.Errors[0].Reason, f.Want)
				}
				if f.Want != "" {
					require.Equal(t, before, countImported(t, db, "employers"), "a refused file stored something")
				}
				rec = do(t, b.h, httptest.NewRequest(http.MethodGet, "/healthz", nil))
				require.Equal(t, http.StatusOK, rec.Code)
			})
		}
	})
}

// blockedReader blocks until release is closed, then ends.
type blockedReader struct{ release chan struct{} }

func (r blockedReader) Read([]byte) (int, error) {
	<-r.release
	return 0, io.EOF
}

// TestImportEndpointConcurrency: the imports read at once are bounded
// (each holds up to 32 MiB of multipart buffer and its rows: six
// concurrent 60 MB uploads took a demo to 730 MB); one more is a 429 with
// Retry-After, and the slots free when the imports end.
func TestImportEndpointConcurrency(t *testing.T) {
	t.Parallel()
	b := importSetup(t, ratingstest.SQLite(t), api.Options{})
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // a failed assertion must not leave the uploads hanging
	const uploads = 8
	statuses := make(chan int, uploads)
	var wg sync.WaitGroup
	for range uploads {
		wg.Go(func() {
			statuses <- do(t, b.h, importStreamRequest(t, "employers", b.county, "slow.csv", blockedReader{release})).Code
		})
	}
	// Two uploads hold the slots (their bodies never end until released);
	// the other six are refused. Waiting for the six, not for a time, keeps
	// this independent of how loaded the machine is.
	for range uploads - 2 {
		select {
		case code := <-statuses:
			require.Equal(t, http.StatusTooManyRequests, code)
		case <-time.After(60 * time.Second):
			t.Fatal("the uploads over the limit were not refused")
		}
	}
	small := []byte("uscc,name,region\n" + b.codes[0] + ",江岸一号,420102\n")
	rec := do(t, b.h, importRequest(t, "employers", b.county, "one.csv", small))
	unblock()
	wg.Wait()
	requireProblem(t, rec, http.StatusTooManyRequests, "")
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	rec = do(t, b.h, importRequest(t, "employers", b.county, "one.csv", small))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, http.StatusOK, b.get(t, "/healthz", "").Code)
}
