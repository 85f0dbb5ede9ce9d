package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"laborcredit/ratings"
)

// importPath is the route of record-file imports; it has its own body
// limit (Options.MaxImportBody).
const importPath = "/api/v1/imports/:kind"

// importTimeout is the deadline of an import over HTTP, under the server's
// write timeout (120 s) so that the answer still reaches the client.
const importTimeout = 100 * time.Second

// maxImports is how many imports the server reads at once (each holds up
// to 32 MiB of multipart buffer and its rows, some 120 MB for a 60 MB
// file); one more is a 429 with Retry-After importRetryAfter (seconds).
const (
	maxImports       = 2
	importRetryAfter = 10
)

// importRecords imports a record file sent as multipart/form-data: the
// part "file" (CSV or XLSX, by its file name) and optionally the field
// "skip_invalid". The report is 200; bad rows are 422 with one error per
// row, and nothing is imported.
func (s *server) importRecords(c *gin.Context) {
	kind := c.Param("kind")
	if !slices.Contains(ratings.ImportKinds(), kind) {
		writeError(c, s.log, badRequest("kind", fmt.Sprintf("unknown kind %q: want one of %s", kind, strings.Join(ratings.ImportKinds(), ", "))))
		return
	}
	select {
	case s.imports <- struct{}{}:
		defer func() { <-s.imports }()
	default:
		c.Header("Retry-After", strconv.Itoa(importRetryAfter))
		writeError(c, s.log, &httpError{status: http.StatusTooManyRequests,
			detail: fmt.Sprintf("%d imports are being read, the most at once; try again later", maxImports)})
		return
	}
	fh, err := c.FormFile("file")
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(c, s.log, &httpError{status: http.StatusRequestEntityTooLarge,
				detail: fmt.Sprintf("the file is over the limit of %d MiB", mbe.Limit>>20)})
			return
		}
		writeError(c, s.log, badRequest("file", "send the records as multipart/form-data with the file in a part named file: "+err.Error()))
		return
	}
	if _, err := ratings.ImportFormat(fh.Filename); err != nil {
		var ve *ratings.ValidationError
		if errors.As(err, &ve) {
			err = badRequest("file", ve.Reason)
		}
		writeError(c, s.log, err)
		return
	}
	skip := false
	if v := c.PostForm("skip_invalid"); v != "" {
		if skip, err = strconv.ParseBool(v); err != nil {
			writeError(c, s.log, badRequest("skip_invalid", "want true or false, got "+strconv.Quote(v)))
			return
		}
	}
	f, err := fh.Open()
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	defer f.Close()
	rep, err := s.svc.Import(c.Request.Context(), actor(c), ratings.ImportParams{Kind: kind, FileName: fh.Filename, Reader: f,
		SkipInvalid: skip, Timeout: importTimeout})
	var ie *ratings.ImportError
	var ve *ratings.ValidationError
	switch {
	case errors.As(err, &ie):
		writeImportErrors(c, ie)
	case errors.As(err, &ve):
		// The file as a whole: not readable, or over a limit.
		writeImportProblem(c, ve.Error()+"; nothing was imported", &ratings.ImportReport{Kind: kind, Rejected: []ratings.RowError{}},
			[]fieldError{{Field: ve.Field, Reason: ve.Reason}})
	case err != nil:
		writeError(c, s.log, err)
	default:
		ok(c, rep)
	}
}

// importProblem is the 422 of an import with bad rows: a problem document
// with one error per rejected row (field "row 12: 单位名称") and the report.
type importProblem struct {
	problem
	Rows          int                `json:"rows"`
	RejectedCount int                `json:"rejected_count"`
	Rejected      []ratings.RowError `json:"rejected"`
}

// writeImportErrors answers 422 for an import refused for its rows or its
// header.
func writeImportErrors(c *gin.Context, ie *ratings.ImportError) {
	rep := ie.Report
	var errs []fieldError
	for _, r := range rep.Rejected {
		field := "row " + strconv.Itoa(r.Row)
		if r.Column != "" {
			field += ": " + r.Column
		}
		reason := r.Reason
		if r.Value != "" && r.Value != r.Column {
			reason = strconv.Quote(r.Value) + ": " + reason
		}
		errs = append(errs, fieldError{Field: field, Reason: reason})
	}
	writeImportProblem(c, ie.Error()+"; nothing was imported", rep, errs)
}

// writeImportProblem answers 422 for an import that imported nothing.
func writeImportProblem(c *gin.Context, detail string, rep *ratings.ImportReport, errs []fieldError) {
	p := importProblem{problem: problem{Type: "about:blank", Title: http.StatusText(http.StatusUnprocessableEntity),
		Status: http.StatusUnprocessableEntity, Detail: detail, Errors: errs},
		Rows: rep.Rows, RejectedCount: rep.RejectedCount, Rejected: rep.Rejected}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}
