package ratings_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"laborcredit/ratings"
)

// TestRedact: every way a database URL or DSN can carry a password is
// masked, and nothing else is changed.
func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"sqlite", "sqlite://laborcredit.db", "sqlite://laborcredit.db"},
		{"no password", "postgres://alice@db:5432/lc?sslmode=disable", "postgres://alice@db:5432/lc?sslmode=disable"},
		{"user:pass@", "postgres://alice:s3cret@db:5432/lc", "postgres://alice:***@db:5432/lc"},
		{"postgresql scheme", "postgresql://alice:s3cret@db/lc", "postgresql://alice:***@db/lc"},
		{"url-encoded password", "postgres://alice:p%40ss%3Aw%2Fd@db/lc", "postgres://alice:***@db/lc"},
		{"@ and / in password", "postgres://alice:p@ss/w@db/lc", "postgres://alice:***@db/lc"},
		{"empty password", "postgres://alice:@db/lc", "postgres://alice:***@db/lc"},
		{"?password=", "postgres://alice@db/lc?password=s3cret", "postgres://alice@db/lc?password=***"},
		{"&password=", "postgres://db/lc?sslmode=require&password=s3cret&user=alice", "postgres://db/lc?sslmode=require&password=***&user=alice"},
		{"PASSWORD upper case", "postgres://db/lc?PASSWORD=s3cret", "postgres://db/lc?PASSWORD=***"},
		{"sslpassword", "postgres://db/lc?sslkey=/k.pem&sslpassword=s3cret", "postgres://db/lc?sslkey=/k.pem&sslpassword=***"},
		{"url-encoded key", "postgres://db/lc?pass%77ord=s3cret", "postgres://db/lc?pass%77ord=***"},
		{"both forms", "postgres://alice:one@db/lc?password=two", "postgres://alice:***@db/lc?password=***"},
		{"@ in the query", "postgres://db/lc?password=a@b", "postgres://db/lc?password=***"},
		{"fragment", "postgres://db/lc?password=s3cret#frag", "postgres://db/lc?password=***#frag"},
		{"key=value", "host=db user=alice password=s3cret dbname=lc", "host=db user=alice password=*** dbname=lc"},
		{"key=value spaces", "host=db password = s3cret dbname=lc", "host=db password=*** dbname=lc"},
		{"key=value quoted", "host=db password='s3 cr\\'et' dbname=lc", "host=db password=*** dbname=lc"},
		{"key=value sslpassword", "host=db sslpassword=s3cret", "host=db sslpassword=***"},
		{"key=value upper case", "host=db Password=s3cret", "host=db Password=***"},
		{"no scheme user:pass@", "alice:s3cret@db:5432/lc", "alice:***@db:5432/lc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ratings.Redact(tt.in)
			require.Equal(t, tt.want, got)
			require.NotContains(t, got, "s3cret")
		})
	}
}
