package ratings

import (
	"strings"

	"github.com/lib/pq"
)

// copyIn is the COPY … FROM STDIN statement that lib/pq prepares as a
// bulk load into table's columns (identifiers quoted).
func copyIn(table string, cols ...string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pq.QuoteIdentifier(c)
	}
	return "COPY " + pq.QuoteIdentifier(table) + " (" + strings.Join(q, ", ") + ") FROM STDIN"
}
