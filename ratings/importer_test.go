package ratings_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"github.com/xuri/excelize/v2"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// importTables are the tables an import writes.
var importTables = []string{"employers", "annual_reviews", "cases", "case_violations", "complaints", "wage_deposits"}

// importFile imports a file given as text (CSV) or bytes (XLSX).
func importFile(ctx context.Context, svc *ratings.Service, a ratings.Actor, kind, name string, data []byte, skip bool) (*ratings.ImportReport, error) {
	return svc.Import(ctx, a, ratings.ImportParams{Kind: kind, FileName: name, Reader: bytes.NewReader(data), SkipInvalid: skip})
}

// importCSV imports CSV text as KIND.csv, as the system.
func importCSV(t *testing.T, svc *ratings.Service, kind, csv string) *ratings.ImportReport {
	t.Helper()
	rep, err := importFile(context.Background(), svc, ratings.System, kind, kind+".csv", []byte(csv), false)
	require.NoError(t, err)
	return rep
}

// dumpTables returns every row of the import's tables as text, in key
// order, to compare a database before and after.
func dumpTables(t *testing.T, db bun.IDB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range importTables {
		rows, err := db.QueryContext(context.Background(), "SELECT * FROM "+table+" ORDER BY 1, 2")
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			var b strings.Builder
			for i, v := range vals {
				if i > 0 {
					b.WriteString(" | ")
				}
				switch x := v.(type) {
				case []byte:
					b.Write(x)
				case time.Time:
					b.WriteString(x.UTC().Format(time.RFC3339Nano))
				default:
					fmt.Fprint(&b, x)
				}
			}
			out[table] = append(out[table], b.String())
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return out
}

// importFixture is the codes of the employers of the import tests: e[0],
// e[1] in 江岸区 (420102), e[2] in 江汉区 (420103).
func importCodes(t *testing.T) []string {
	return []string{code(t, "420102", 9001), code(t, "420102", 9002), code(t, "420103", 9003)}
}

// importFiles are valid files of every kind over the employers of
// importCodes, in import order.
func importFiles(t *testing.T) []struct{ kind, csv string } {
	e := importCodes(t)
	return []struct{ kind, csv string }{
		{"employers", "uscc,name,region,industry,employees\n" +
			e[0] + ",江岸建筑有限公司,420102,construction,120\n" +
			e[1] + ",江岸物流有限公司,420102,,\n" +
			e[2] + ",\"江汉餐饮, 有限公司\",420103,services,8\n"},
		{"reviews", "uscc,period,submitted,on_time,employees,contracts_signed,insured,roster_complete\n" +
			e[0] + ",2026,true,yes,120,118,110,是\n" +
			e[1] + ",2026,1,0,0,0,0,\n" +
			e[0] + ",2025,TRUE,FALSE,100,100,100,n\n"},
		{"cases", "case_no,uscc,source,opened,concluded,outcome,violations,order_refused,obstructed,mass_incident,serious_impact,criminal,back_wages,workers_affected\n" +
			"WH-2026-0001," + e[0] + ",complaint,2026-03-02,2026-04-10,rectified,wage_arrears;overtime,,,,,,52000.5,14\n" +
			"WH-2026-0002," + e[0] + ",日常巡视检查,2026-05-01,,pending,,,,,,,,\n" +
			"WH-2026-0003," + e[2] + ",special_inspection,2026-01-05,2026-01-20,no_violation,,false,false,false,false,false,0,0\n"},
		{"complaints", "complaint_no,uscc,received\n" +
			"TS-2026-0001," + e[0] + ",2026-02-01\n" +
			"TS-2026-0002," + e[2] + ",2026-06-30\n"},
		{"deposits", "uscc,period,required,paid\n" +
			e[0] + ",2026,true,true\n" +
			e[1] + ",2026,true,false\n"},
	}
}

// Good files of every kind import, and what they say is stored; the same
// files again change nothing.
func TestImportEachKind(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		e := importCodes(t)
		tests := []struct {
			kind string
			want ratings.ImportReport
		}{
			{"employers", ratings.ImportReport{Kind: "employers", Rows: 3, Inserted: 3}},
			{"reviews", ratings.ImportReport{Kind: "reviews", Rows: 3, Inserted: 3}},
			{"cases", ratings.ImportReport{Kind: "cases", Rows: 3, Inserted: 3}},
			{"complaints", ratings.ImportReport{Kind: "complaints", Rows: 2, Inserted: 2}},
			{"deposits", ratings.ImportReport{Kind: "deposits", Rows: 2, Inserted: 2}},
		}
		files := importFiles(t)
		// Steps, in order: each works on what the ones before left.
		for i, tt := range tests {
			require.Equal(t, tt.kind, files[i].kind)
			tt.want.Rejected = []ratings.RowError{}
			require.Equal(t, &tt.want, importCSV(t, svc, tt.kind, files[i].csv), tt.kind)
		}

		emp, err := ratings.EmployerByCode(ctx, db, e[2])
		require.NoError(t, err)
		require.Equal(t, "江汉餐饮, 有限公司", emp.Name)
		require.Equal(t, "420103", emp.Region)
		require.Equal(t, "services", emp.Industry)
		require.Equal(t, 8, emp.Employees)
		emp, err = ratings.EmployerByCode(ctx, db, e[1])
		require.NoError(t, err)
		require.Equal(t, "", emp.Industry)
		require.Equal(t, 0, emp.Employees)

		require.Equal(t, ratings.AnnualReview{Submitted: true, OnTime: true, Employees: 120, ContractsSigned: 118, Insured: 110, RosterComplete: true},
			storedReview(t, db, e[0], 2026))
		require.Equal(t, ratings.AnnualReview{Submitted: true}, storedReview(t, db, e[1], 2026))
		cases := storedCases(t, db, e[0])
		require.Equal(t, []ratings.Case{
			{CaseNo: "WH-2026-0001", Source: "complaint", Opened: "2026-03-02", Concluded: "2026-04-10", Outcome: "rectified",
				BackWages: 52000.5, WorkersAffected: 14, Violations: []string{"overtime", "wage_arrears"}},
			{CaseNo: "WH-2026-0002", Source: "routine_inspection", Opened: "2026-05-01", Outcome: "pending"},
		}, cases)
		require.Equal(t, 1, countRows(t, db, "complaints", "received = ? AND complaint_no = ?", "2026-02-01", "TS-2026-0001"))
		require.Equal(t, 1, countRows(t, db, "wage_deposits", "required = ? AND paid = ?", true, true))
		require.Equal(t, 1, countRows(t, db, "wage_deposits", "required = ? AND paid = ?", true, false))

		// Every file again: nothing changes but one audit entry each.
		before := dumpTables(t, db)
		for i, tt := range tests {
			want := ratings.ImportReport{Kind: tt.kind, Rows: tt.want.Rows, Unchanged: tt.want.Rows, Rejected: []ratings.RowError{}}
			require.Equal(t, &want, importCSV(t, svc, tt.kind, files[i].csv), tt.kind)
		}
		require.Equal(t, before, dumpTables(t, db))
		n, err := ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
		require.EqualValues(t, 2*len(tests), n)
	})
}

// A file that changes some values updates exactly those records.
func TestImportUpdates(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		e := importCodes(t)
		for _, f := range importFiles(t) {
			importCSV(t, svc, f.kind, f.csv)
		}
		tests := []struct {
			kind, csv string
			want      ratings.ImportReport
		}{
			{"employers", "uscc,employees,name,region\n" + // columns in another order, industry absent: emptied
				e[0] + ",121,江岸建筑有限公司,420102\n" + // employees and industry change
				e[1] + ",0,江岸物流有限公司,420102\n" + // the same
				code(t, "420102", 9004) + ",5,江岸新公司,420102\n", // new
				ratings.ImportReport{Kind: "employers", Rows: 3, Inserted: 1, Updated: 1, Unchanged: 1}},
			{"reviews", "uscc,period,submitted,on_time\n" +
				e[0] + ",2026,true,false\n" + // on_time and every count change
				e[1] + ",2026,1,0\n",
				ratings.ImportReport{Kind: "reviews", Rows: 2, Updated: 1, Unchanged: 1}},
			{"cases", "case_no,uscc,source,opened,concluded,outcome,violations,back_wages,workers_affected\n" +
				"WH-2026-0001," + e[0] + ",complaint,2026-03-02,2026-04-10,rectified,overtime;wage_arrears,52000.50,14\n" + // same set, other order
				"WH-2026-0002," + e[0] + ",routine_inspection,2026-05-01,2026-06-01,penalized,no_contract,,\n" + // concluded
				"WH-2026-0003," + e[2] + ",special_inspection,2026-01-05,2026-01-20,no_violation,,0,0\n",
				ratings.ImportReport{Kind: "cases", Rows: 3, Updated: 1, Unchanged: 2}},
			{"cases", "case_no,uscc,source,opened,concluded,outcome,violations,back_wages,workers_affected\n" +
				"WH-2026-0001," + e[0] + ",complaint,2026-03-02,2026-04-10,rectified,wage_arrears,52000.5,14\n", // only a violation less
				ratings.ImportReport{Kind: "cases", Rows: 1, Updated: 1}},
			{"complaints", "complaint_no,uscc,received\nTS-2026-0001," + e[0] + ",2026-02-02\nTS-2026-0002," + e[2] + ",2026-06-30\n",
				ratings.ImportReport{Kind: "complaints", Rows: 2, Updated: 1, Unchanged: 1}},
			{"deposits", "uscc,period,required,paid\n" + e[1] + ",2026,true,true\n" + e[2] + ",2025,false,false\n",
				ratings.ImportReport{Kind: "deposits", Rows: 2, Inserted: 1, Updated: 1}},
		}
		// Steps, in order: each works on what the ones before left.
		for _, tt := range tests {
			tt.want.Rejected = []ratings.RowError{}
			require.Equal(t, &tt.want, importCSV(t, svc, tt.kind, tt.csv), tt.kind)
		}
		emp, err := ratings.EmployerByCode(ctx, db, e[0])
		require.NoError(t, err)
		require.Equal(t, 121, emp.Employees)
		require.Equal(t, "", emp.Industry)
		require.Equal(t, ratings.AnnualReview{Submitted: true}, storedReview(t, db, e[0], 2026))
		cases := storedCases(t, db, e[0])
		require.Len(t, cases, 2)
		require.Equal(t, []string{"wage_arrears"}, cases[0].Violations)
		require.Equal(t, ratings.Date("2026-06-01"), cases[1].Concluded)
		require.Equal(t, []string{"no_contract"}, cases[1].Violations)
		require.Zero(t, countRows(t, db, "case_violations", "violation = ?", "overtime"))
		require.Equal(t, 1, countRows(t, db, "complaints", "received = ?", "2026-02-02"))
		require.Equal(t, 2, countRows(t, db, "wage_deposits", "period = 2026 AND paid = ?", true))
	})
}

// A file with bad rows imports nothing, and the report names every bad row
// with its column, its value and why.
func TestImportBadRows(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		e := importCodes(t)
		importCSV(t, svc, "employers", importFiles(t)[0].csv)
		importCSV(t, svc, "cases", importFiles(t)[2].csv)
		unknown := code(t, "420102", 9999)
		badCheck := badCheckChar(t, code(t, "420102", 9005))
		tests := []struct {
			name, kind, csv string
			rows            int
			want            []ratings.RowError
		}{
			{
				name: "employers",
				kind: "employers",
				csv: "统一社会信用代码,单位名称,行政区划代码,行业,职工人数,\n" +
					code(t, "420102", 9010) + ",好公司,420102,,1,\n" + // row 2: fine
					badCheck + ",坏公司,420102,,1,\n" +
					"91420102MA4K1234,短代码,420102,,1,\n" +
					code(t, "420102", 9011) + ",,420102,,1,\n" +
					code(t, "420102", 9012) + ",无区划,999999,,1,\n" +
					code(t, "420102", 9013) + ",人数,420102,,-3,\n" +
					code(t, "420102", 9014) + ",人数,420102,,十二,\n" +
					"\n" + // row 9: blank, skipped
					code(t, "420102", 9010) + ",重复,420102,,2,\n" + // row 10: duplicate of row 2
					code(t, "420102", 9015) + ",多余,420102,,2,x\n" +
					code(t, "420102", 9016) + ",人数,420102,,12.5,\n",
				rows: 10,
				want: []ratings.RowError{
					{Row: 3, Column: "统一社会信用代码", Value: badCheck, Reason: "not a valid unified social credit code: check character is '" + badCheck[17:] + "', want '" + code(t, "420102", 9005)[17:] + "'"},
					{Row: 4, Column: "统一社会信用代码", Value: "91420102MA4K1234", Reason: "not a valid unified social credit code: must be 18 characters, got 16"},
					{Row: 5, Column: "单位名称", Reason: "required"},
					{Row: 6, Column: "行政区划代码", Value: "999999", Reason: "region code 999999 is not on the GB/T 2260 list (revision 2023-06-30)"},
					{Row: 7, Column: "职工人数", Value: "-3", Reason: "must be from 0 to 10000000"},
					{Row: 8, Column: "职工人数", Value: "十二", Reason: "not a whole number"},
					{Row: 10, Column: "统一社会信用代码", Value: code(t, "420102", 9010), Reason: "duplicate: row 2 has the same 统一社会信用代码"},
					{Row: 11, Column: "F", Value: "x", Reason: "a value in a column without a header"},
					{Row: 12, Column: "职工人数", Value: "12.5", Reason: "not a whole number"},
				},
			},
			{
				name: "reviews",
				kind: "reviews",
				csv: "uscc,period,submitted,on_time,employees,contracts_signed,insured\n" +
					e[0] + ",2026,false,true,1,1,1\n" +
					e[0] + ",1989,true,true,1,1,1\n" +
					e[1] + ",2026,true,true,10,11,1\n" +
					e[1] + ",2025,true,true,10,1,11\n" +
					e[1] + ",2024,maybe,true,10,1,1\n" +
					unknown + ",2026,true,true,1,1,1\n" +
					"not-a-code,2026,true,true,1,1,1\n" +
					e[2] + ",2026,true,true,1,1,1\n" +
					e[2] + ",2026,true,false,1,1,1\n",
				rows: 9,
				want: []ratings.RowError{
					{Row: 2, Column: "on_time", Value: "true", Reason: "cannot be true when submitted is false"},
					{Row: 3, Column: "period", Value: "1989", Reason: "must be a year between 1990 and 2100"},
					{Row: 4, Column: "contracts_signed", Value: "11", Reason: "more than the employees (10)"},
					{Row: 5, Column: "insured", Value: "11", Reason: "more than the employees (10)"},
					{Row: 6, Column: "submitted", Value: "maybe", Reason: "not a boolean: want true/false, 1/0, yes/no, y/n or 是/否"},
					{Row: 7, Column: "uscc", Value: unknown, Reason: "no employer with this code is registered (import employers first)"},
					{Row: 8, Column: "uscc", Value: "not-a-code", Reason: "no employer has this code, and it is not a valid unified social credit code: must be 18 characters, got 10"},
					{Row: 10, Column: "uscc", Value: e[2], Reason: "duplicate: row 9 has the same uscc and period"},
				},
			},
			{
				name: "cases",
				kind: "cases",
				csv: "case_no,uscc,source,opened,concluded,outcome,violations,back_wages\n" +
					"C-1," + e[0] + ",complaint,2026-03-02,2026-03-01,rectified,overtime,\n" +
					"C-2," + e[0] + ",complaint,2026-03-02,2026-04-01,pending,,\n" +
					"C-3," + e[0] + ",complaint,2026-03-02,,rectified,overtime,\n" +
					"C-4," + e[0] + ",complaint,2026-03-02,2026-04-01,no_violation,overtime,\n" +
					"C-5," + e[0] + ",complaint,2026-03-02,2026-04-01,penalized,,\n" +
					"C-6," + e[0] + ",complaint,2026-02-30,,pending,,\n" +
					"C-7," + e[0] + ",complaint,2026/03/02,,pending,,\n" +
					"C-8," + e[0] + ",phone,2026-03-02,,pending,,\n" +
					"C-9," + e[0] + ",complaint,2026-03-02,2026-04-01,rectified,overtime;theft,\n" +
					"C-10," + e[0] + ",complaint,2026-03-02,2026-04-01,rectified,overtime,1.234\n" +
					"WH-2026-0003," + e[0] + ",special_inspection,2026-01-05,2026-01-20,no_violation,,\n" + // belongs to e[2]
					"\"C-12," + e[0] + ",complaint\n",
				rows: 12,
				want: []ratings.RowError{
					{Row: 2, Column: "concluded", Value: "2026-03-01", Reason: "2026-03-01 is before opened 2026-03-02"},
					{Row: 3, Column: "outcome", Value: "pending", Reason: "pending, but the case has a concluded date"},
					{Row: 4, Column: "concluded", Reason: "required when the outcome is rectified"},
					{Row: 5, Column: "violations", Value: "overtime", Reason: "listed, but the outcome is no_violation"},
					{Row: 6, Column: "violations", Reason: "at least one is required when the outcome is penalized"},
					{Row: 7, Column: "opened", Value: "2026-02-30", Reason: "not a date: want YYYY-MM-DD"},
					{Row: 8, Column: "opened", Value: "2026/03/02", Reason: "not a date: want YYYY-MM-DD"},
					{Row: 9, Column: "source", Value: "phone", Reason: "unknown value: want one of complaint, routine_inspection, special_inspection, written_review"},
					{Row: 10, Column: "violations", Value: "overtime;theft", Reason: `unknown violation "theft": want codes of child_labor, forced_labor, wage_arrears, below_min_wage, overtime, no_contract, social_insurance, illegal_dispatch, illegal_job_agency, female_minor_protection, deposit_or_id_retention, discrimination, no_roster, other separated by ;`},
					{Row: 11, Column: "back_wages", Value: "1.234", Reason: "at most two decimals (yuan and fen)"},
					{Row: 12, Column: "case_no", Value: "WH-2026-0003", Reason: "already recorded for the employer " + e[2] + "; a record cannot move to another employer"},
					{Row: 13, Reason: "malformed CSV: extraneous or missing \" in quoted-field"},
				},
			},
		}
		before := dumpTables(t, db)
		t.Run("files", func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					_, err := importFile(ctx, svc, ratings.System, tt.kind, tt.kind+".csv", []byte(tt.csv), false)
					var ie *ratings.ImportError
					require.ErrorAs(t, err, &ie)
					require.Equal(t, &ratings.ImportReport{Kind: tt.kind, Rows: tt.rows, Rejected: tt.want, RejectedCount: len(tt.want)}, ie.Report)
					first := tt.want[0]
					require.Contains(t, err.Error(), fmt.Sprintf("%d of %d rows invalid; first: row %d, column %s", len(tt.want), tt.rows, first.Row, first.Column))
				})
			}
		})
		require.Equal(t, before, dumpTables(t, db), "nothing imported")
		n, err := ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
		require.EqualValues(t, 2, n, "only the two good imports are audited")
	})
}

// The same key twice in a file is refused on the later row, whether the
// key is new (a first import) or already in the table — even when the
// earlier row would change nothing.
func TestImportDuplicates(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		e := importCodes(t)
		fresh := code(t, "420102", 9030)
		tests := []struct {
			name, kind, csv string
			skip            bool
			want            ratings.RowError
			report          ratings.ImportReport // with skip
			check           func(t *testing.T, db bun.IDB)
		}{
			{name: "new employers", kind: "employers", csv: "uscc,name,region\n" + fresh + ",甲,420102\n" + fresh + ",乙,420102\n",
				want: ratings.RowError{Row: 3, Column: "uscc", Value: fresh, Reason: "duplicate: row 2 has the same uscc"}},
			{name: "a registered employer, unchanged then changed", kind: "employers",
				csv:  "uscc,name,region,industry,employees\n" + e[1] + ",江岸物流有限公司,420102,,\n" + e[1] + ",改名,420102,,\n",
				want: ratings.RowError{Row: 3, Column: "uscc", Value: e[1], Reason: "duplicate: row 2 has the same uscc"}},
			{name: "new reviews", kind: "reviews", csv: "uscc,period,submitted,on_time\n" + e[2] + ",2026,1,1\n" + e[2] + ",2025,1,1\n" + e[2] + ",2026,1,0\n",
				want: ratings.RowError{Row: 4, Column: "uscc", Value: e[2], Reason: "duplicate: row 2 has the same uscc and period"}},
			{name: "new cases, skipping", kind: "cases", skip: true,
				csv: "case_no,uscc,source,opened,concluded,outcome,violations\n" +
					"D-1," + e[2] + ",complaint,2026-03-02,2026-04-01,rectified,overtime\n" +
					"D-1," + e[2] + ",complaint,2026-03-02,2026-04-01,penalized,child_labor;overtime\n" +
					"D-2," + e[2] + ",complaint,2026-03-02,2026-04-01,penalized,no_roster\n",
				report: ratings.ImportReport{Kind: "cases", Rows: 3, Inserted: 2, RejectedCount: 1, Rejected: []ratings.RowError{
					{Row: 3, Column: "case_no", Value: "D-1", Reason: "duplicate: row 2 has the same case_no"}}},
				check: func(t *testing.T, db bun.IDB) {
					cs := storedCases(t, db, e[2])
					require.Len(t, cs, 2)
					require.Equal(t, "rectified", cs[0].Outcome)
					require.Equal(t, []string{"overtime"}, cs[0].Violations)
					require.Equal(t, []string{"no_roster"}, cs[1].Violations)
				}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				db := db
				if ratings.IsPostgres(db) {
					db = ratingstest.Postgres(t)
				} else {
					db = ratingstest.SQLite(t)
				}
				svc := newService(t, db)
				importCSV(t, svc, "employers", importFiles(t)[0].csv)
				before := dumpTables(t, db)
				rep, err := importFile(ctx, svc, ratings.System, tt.kind, "x.csv", []byte(tt.csv), tt.skip)
				if tt.skip {
					require.NoError(t, err)
					require.Equal(t, &tt.report, rep)
					tt.check(t, db)
					return
				}
				var ie *ratings.ImportError
				require.ErrorAs(t, err, &ie)
				require.Equal(t, []ratings.RowError{tt.want}, ie.Report.Rejected)
				require.Equal(t, before, dumpTables(t, db))
			})
		}
	})
}

// A code that fails its check characters imports only when it is on the
// legacy allow-list, as AddEmployer has it.
func TestImportLegacyCodes(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		allowed := badCheckChar(t, code(t, "420102", 9040))
		refused := badCheckChar(t, code(t, "420102", 9041))
		orgRefused := badOrgCode(t, "420102", 9042)
		require.NoError(t, svc.AddLegacyCode(ctx, admin, allowed, "登记机关档案 2014-123"))
		csv := "uscc,name,region\n" + allowed + ",试点企业,420102\n" + refused + ",错码企业,420102\n" + orgRefused + ",错码企业二,420102\n"
		rep, err := importFile(ctx, svc, ratings.System, "employers", "e.csv", []byte(csv), true)
		require.NoError(t, err)
		require.Equal(t, &ratings.ImportReport{Kind: "employers", Rows: 3, Inserted: 1, RejectedCount: 2, Rejected: []ratings.RowError{
			{Row: 3, Column: "uscc", Value: refused, Reason: "not a valid unified social credit code: " + engine.CheckUSCC(refused).Error()},
			{Row: 4, Column: "uscc", Value: orgRefused, Reason: "not a valid unified social credit code: " + engine.CheckOrgCode(orgRefused).Error()},
		}}, rep)
		e, err := ratings.EmployerByCode(ctx, db, allowed)
		require.NoError(t, err)
		require.Equal(t, "试点企业", e.Name)
	})
}

// A bad header is refused before any row is read.
func TestImportBadHeader(t *testing.T) {
	t.Parallel()
	db := ratingstest.SQLite(t)
	svc := newService(t, db)
	tests := []struct {
		name, kind, csv string
		want            []ratings.RowError
	}{
		{
			name: "missing required columns",
			kind: "employers",
			csv:  "uscc,industry\n\"broken,\n",
			want: []ratings.RowError{
				{Row: 1, Column: "name", Reason: "missing required column name (单位名称)"},
				{Row: 1, Column: "region", Reason: "missing required column region (行政区划代码)"},
			},
		},
		{
			name: "unknown and duplicate columns",
			kind: "deposits",
			csv:  "uscc,年度,required,paid,payed,period\n",
			want: []ratings.RowError{
				{Row: 1, Column: "payed", Value: "payed", Reason: "unknown column (a misspelling?); deposits files have: uscc (统一社会信用代码), period (年度), required (是否应缴), paid (是否已缴)"},
				{Row: 1, Column: "period", Value: "period", Reason: `column F names period again (column B is "年度")`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := importFile(context.Background(), svc, ratings.System, tt.kind, "x.csv", []byte(tt.csv), true)
			var ie *ratings.ImportError
			require.ErrorAs(t, err, &ie)
			require.Equal(t, &ratings.ImportReport{Kind: tt.kind, Rejected: tt.want, RejectedCount: len(tt.want)}, ie.Report)
			require.Contains(t, err.Error(), "invalid header")
		})
	}
	_, err := importFile(context.Background(), svc, ratings.System, "employers", "x.csv", nil, false)
	requireField(t, err, "file")
	_, err = importFile(context.Background(), svc, ratings.System, "employers", "x.txt", []byte("uscc\n"), false)
	requireField(t, err, "file")
	_, err = importFile(context.Background(), svc, ratings.System, "blacklist", "x.csv", []byte("uscc\n"), false)
	requireField(t, err, "kind")
}

// With SkipInvalid the good rows are imported and every bad one is listed
// (more than the 1,000 listed otherwise).
func TestImportSkipInvalid(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		var b strings.Builder
		b.WriteString("uscc,name,region\n")
		for i := range 1300 {
			if i%13 == 0 {
				fmt.Fprintf(&b, "%s,企业%d,420102\n", code(t, "420102", 20000+i), i)
			} else {
				fmt.Fprintf(&b, "%s,,420102\n", code(t, "420102", 20000+i)) // no name
			}
		}
		fmt.Fprintf(&b, "%s,重复,420102\n", code(t, "420102", 20000)) // row 1302, duplicate of row 2
		_, err := importFile(ctx, svc, ratings.System, "employers", "e.csv", []byte(b.String()), false)
		var ie *ratings.ImportError
		require.ErrorAs(t, err, &ie)
		require.Equal(t, 1301, ie.Report.Rows)
		require.Equal(t, 1201, ie.Report.RejectedCount)
		require.Len(t, ie.Report.Rejected, ratings.MaxRejectedReported)
		require.Equal(t, 3, ie.Report.Rejected[0].Row)
		require.Zero(t, countRows(t, db, "employers"))

		rep, err := importFile(ctx, svc, ratings.System, "employers", "e.csv", []byte(b.String()), true)
		require.NoError(t, err)
		require.Equal(t, 1301, rep.Rows)
		require.Equal(t, 100, rep.Inserted)
		require.Equal(t, 1201, rep.RejectedCount)
		require.Len(t, rep.Rejected, 1201)
		require.Equal(t, ratings.RowError{Row: 1302, Column: "uscc", Value: code(t, "420102", 20000), Reason: "duplicate: row 2 has the same uscc"},
			rep.Rejected[1200])
		require.Equal(t, 100, countRows(t, db, "employers"))
		require.Equal(t, 1, countRows(t, db, "employers", "name = ?", "企业0"), "the first of two duplicates is kept")
	})
}

// Chinese headers, a BOM, Chinese values, and every kind in XLSX with
// date, number and boolean cells.
func TestImportXLSXAndChinese(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		e := importCodes(t)
		rep := importCSV(t, svc, "employers", "\ufeff统一社会信用代码,单位名称,行政区划代码,行业,职工人数\n"+
			e[0]+",江岸建筑有限公司,420102,建筑业,120\n"+e[2]+",江汉餐饮有限公司,420103,,\n")
		require.Equal(t, 2, rep.Inserted)

		sheets := map[string][][]any{
			"cases": {
				{"案件编号", "统一社会信用代码", "案件来源", "立案日期", "结案日期", "处理结果", "违法行为", "追发工资", "涉及人数", "拒不履行"},
				{"WH-1", e[0], "投诉举报", date(2026, 3, 2), date(2026, 4, 10), "已整改", "wage_arrears；overtime", 52000.5, 14, true},
				{},
				{"WH-2", e[2], "专项检查", "2026-05-01", nil, "办理中", nil, nil, nil, false},
			},
			"complaints": {
				{"投诉编号", "统一社会信用代码", "受理日期"},
				{"TS-1", e[0], date(2026, 2, 1)},
			},
			"reviews": {
				{"统一社会信用代码", "年度", "是否提交", "是否按时提交", "职工人数", "签订劳动合同人数", "参保人数"},
				{e[0], 2026, "是", "否", 120, 118, 110},
			},
			"deposits": {
				{"统一社会信用代码", "年度", "是否应缴", "是否已缴"},
				{e[2], 2026, true, 1},
			},
		}
		for _, kind := range []string{"cases", "complaints", "reviews", "deposits"} {
			rows := sheets[kind]
			rep, err := importFile(ctx, svc, ratings.System, kind, kind+".xlsx", xlsx(t, rows), false)
			require.NoError(t, err, kind)
			require.Equal(t, rowsIn(rows), rep.Inserted, kind)
		}
		require.Equal(t, []ratings.Case{{CaseNo: "WH-1", Source: "complaint", Opened: "2026-03-02", Concluded: "2026-04-10", Outcome: "rectified",
			OrderRefused: true, BackWages: 52000.5, WorkersAffected: 14, Violations: []string{"overtime", "wage_arrears"}}}, storedCases(t, db, e[0]))
		require.Equal(t, ratings.AnnualReview{Submitted: true, Employees: 120, ContractsSigned: 118, Insured: 110}, storedReview(t, db, e[0], 2026))
		require.Equal(t, 1, countRows(t, db, "complaints", "received = ?", "2026-02-01"))
		require.Equal(t, 1, countRows(t, db, "cases", "case_no = 'WH-2' AND concluded IS NULL AND outcome = 'pending'"))
		require.Equal(t, 1, countRows(t, db, "wage_deposits", "required = ? AND paid = ?", true, true))

		// A bad date cell, reported with the sheet's row number.
		_, err := importFile(ctx, svc, ratings.System, "complaints", "c.xlsx", xlsx(t, [][]any{
			{"投诉编号", "统一社会信用代码", "受理日期"}, {}, {"TS-9", e[0], "2月1日"},
		}), false)
		var ie *ratings.ImportError
		require.ErrorAs(t, err, &ie)
		require.Equal(t, []ratings.RowError{{Row: 3, Column: "受理日期", Value: "2月1日", Reason: "not a date: want YYYY-MM-DD"}}, ie.Report.Rejected)

		// ReadImportFile sees the rows as Import does: dates as dates.
		var got [][]string
		err = ratings.ReadImportFile("complaints", "c.xlsx", bytes.NewReader(xlsx(t, sheets["complaints"])), func(row int, cells []string) error {
			got = append(got, append([]string{fmt.Sprint(row)}, cells...))
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, [][]string{{"1", "投诉编号", "统一社会信用代码", "受理日期"}, {"2", "TS-1", e[0], "2026-02-01"}}, got)
	})
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func rowsIn(rows [][]any) int {
	n := 0
	for _, r := range rows[1:] {
		if len(r) > 0 {
			n++
		}
	}
	return n
}

// xlsx writes rows to the first sheet of a workbook; time.Time values
// become date cells (numbers with a date format).
func xlsx(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	style, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	require.NoError(t, err)
	for i, row := range rows {
		for j, v := range row {
			cell, err := excelize.CoordinatesToCellName(j+1, i+1)
			require.NoError(t, err)
			if v == nil {
				continue
			}
			require.NoError(t, f.SetCellValue("Sheet1", cell, v))
			if _, ok := v.(time.Time); ok {
				require.NoError(t, f.SetCellStyle("Sheet1", cell, cell, style))
			}
		}
	}
	var buf bytes.Buffer
	require.NoError(t, f.Write(&buf))
	return buf.Bytes()
}

// Officers import inside their region; employers may not import.
func TestImportRegionScope(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		e := importCodes(t)
		importCSV(t, svc, "employers", importFiles(t)[0].csv)
		newCode := code(t, "420103", 9020)
		tests := []struct {
			name  string
			actor ratings.Actor
			kind  string
			csv   string
			want  []ratings.RowError
			err   error
		}{
			{name: "county: a new employer of another county", actor: countyJiangan, kind: "employers",
				csv:  "uscc,name,region\n" + newCode + ",江汉新公司,420103\n",
				want: []ratings.RowError{{Row: 2, Column: "region", Value: "420103", Reason: "outside your region 420102 江岸区"}}},
			{name: "county: moving another county's employer in", actor: countyJiangan, kind: "employers",
				csv:  "uscc,name,region\n" + e[2] + ",江汉餐饮有限公司,420102\n",
				want: []ratings.RowError{{Row: 2, Column: "uscc", Value: e[2], Reason: "this employer is registered in 420103 江汉区, outside your region 420102 江岸区"}}},
			{name: "county: a review of another county's employer", actor: countyJiangan, kind: "reviews",
				csv:  "uscc,period,submitted,on_time\n" + e[0] + ",2026,true,true\n" + e[2] + ",2026,true,true\n",
				want: []ratings.RowError{{Row: 3, Column: "uscc", Value: e[2], Reason: "the employer is in 420103 江汉区, outside your region 420102 江岸区"}}},
			{name: "city: both counties", actor: cityWuhan, kind: "deposits",
				csv: "uscc,period,required,paid\n" + e[0] + ",2026,true,true\n" + e[2] + ",2026,true,true\n"},
			{name: "employer user", actor: ratings.Actor{Name: "企业", Role: ratings.RoleEmployer, Region: "420102", USCC: e[0]}, kind: "deposits",
				csv: "uscc,period,required,paid\n" + e[0] + ",2026,true,true\n", err: ratings.ErrForbidden},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				rep, err := importFile(ctx, svc, tt.actor, tt.kind, "x.csv", []byte(tt.csv), false)
				switch {
				case tt.err != nil:
					require.ErrorIs(t, err, tt.err)
				case tt.want != nil:
					var ie *ratings.ImportError
					require.ErrorAs(t, err, &ie)
					require.Equal(t, tt.want, ie.Report.Rejected)
				default:
					require.NoError(t, err)
					require.Equal(t, 2, rep.Inserted)
				}
			})
		}
	})
}

// One audit entry per import, naming the file, its hash and the counts.
func TestImportAudit(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		data := []byte(importFiles(t)[0].csv)
		_, err := importFile(ctx, svc, countyJiangan, "employers", "/tmp/导入/employers.csv", data, true)
		require.NoError(t, err)
		var entries []ratings.AuditEntry
		require.NoError(t, db.NewSelect().Model(&entries).Order("seq").Scan(ctx))
		require.Len(t, entries, 1)
		require.Equal(t, "records.import", entries[0].Action)
		require.Equal(t, "import:employers", entries[0].Subject)
		require.Equal(t, countyJiangan.String(), entries[0].Actor)
		require.Nil(t, entries[0].Before)
		sum := sha256.Sum256(data)
		var after map[string]any
		require.NoError(t, json.Unmarshal([]byte(*entries[0].After), &after))
		require.Equal(t, map[string]any{"file": "employers.csv", "sha256": hex.EncodeToString(sum[:]), "rows": 3.0,
			"inserted": 2.0, "updated": 0.0, "unchanged": 0.0, "rejected": 1.0}, after)
	})
}

// An import cancelled part way leaves nothing behind.
func TestImportCancelled(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		svc := newService(t, db)
		var b strings.Builder
		b.WriteString("uscc,name,region\n")
		for i := range 1000 {
			fmt.Fprintf(&b, "%s,企业%d,420102\n", code(t, "420102", 30000+i), i)
		}
		var calls [][2]int
		_, err := svc.Import(ctx, ratings.System, ratings.ImportParams{Kind: "employers", FileName: "e.csv", Reader: io.MultiReader(strings.NewReader(b.String())),
			BatchSize: 300, Progress: func(done, total int) {
				calls = append(calls, [2]int{done, total})
				if done >= 600 {
					cancel()
				}
			}})
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, [][2]int{{300, 0}, {600, 0}}, calls, "total unknown: the reader cannot seek")
		require.Zero(t, countRows(t, db, "employers"))
		n, err := ratings.VerifyAudit(context.Background(), db)
		require.NoError(t, err)
		require.Zero(t, n)

		// The same file through a reader that can seek: the total is known.
		calls = nil
		rep, err := svc.Import(context.Background(), ratings.System, ratings.ImportParams{Kind: "employers", FileName: "e.csv",
			Reader: bytes.NewReader([]byte(b.String())), BatchSize: 300, Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }})
		require.NoError(t, err)
		require.Equal(t, 1000, rep.Inserted)
		require.Equal(t, [][2]int{{300, 1000}, {600, 1000}, {900, 1000}, {1000, 1000}}, calls)
	})
}

// storedReview is an employer's annual review as stored (keys zeroed).
func storedReview(t *testing.T, db bun.IDB, uscc string, period int) ratings.AnnualReview {
	t.Helper()
	var ar ratings.AnnualReview
	require.NoError(t, db.NewSelect().Model(&ar).Where("employer_id = (SELECT id FROM employers WHERE uscc = ?) AND period = ?", uscc, period).
		Scan(context.Background()))
	ar.EmployerID, ar.Period = 0, 0
	return ar
}

// storedCases are an employer's cases as stored, by case number, with
// their violations (ids zeroed).
func storedCases(t *testing.T, db bun.IDB, uscc string) []ratings.Case {
	t.Helper()
	ctx := context.Background()
	var cs []ratings.Case
	require.NoError(t, db.NewSelect().Model(&cs).Where("employer_id = (SELECT id FROM employers WHERE uscc = ?)", uscc).Order("case_no").Scan(ctx))
	for i := range cs {
		require.NoError(t, db.NewSelect().Model((*ratings.CaseViolation)(nil)).Column("violation").Where("case_id = ?", cs[i].ID).
			Order("violation").Scan(ctx, &cs[i].Violations))
		cs[i].ID, cs[i].EmployerID = 0, 0
	}
	return cs
}
