package migrations_test

import (
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/migrations"
)

// fileRE is a migration file name: YYYYMMDDHHMMSS_name.tx.up.sql or
// .tx.down.sql (every migration runs in a transaction).
var fileRE = regexp.MustCompile(`^([0-9]{14})_([a-z0-9_]+)\.tx\.(up|down)\.sql$`)

var dialectDirs = []string{"postgres", "sqlite"}

// migrationFiles lists the file names in one dialect's folder.
func migrationFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := fs.ReadDir(migrations.Files(), dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// parityProblems lists what is wrong with the migration folders of fsys:
// names that do not match fileRE or whose id is not a timestamp, empty
// files, an up without a down (or the reverse), two names sharing a
// timestamp, and files in one dialect's folder but not the other's.
func parityProblems(fsys fs.FS) []string {
	var problems []string
	files := map[string][]string{}
	for _, dir := range dialectDirs {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			problems = append(problems, dir+": "+err.Error())
			continue
		}
		if len(entries) == 0 {
			problems = append(problems, dir+": no migrations")
		}
		ups, downs := map[string]bool{}, map[string]bool{}
		stamps := map[string]string{}
		for _, e := range entries {
			name := e.Name()
			files[dir] = append(files[dir], name)
			m := fileRE.FindStringSubmatch(name)
			if m == nil || e.IsDir() {
				problems = append(problems, dir+"/"+name+": not a migration file name")
				continue
			}
			if _, err := time.Parse("20060102150405", m[1]); err != nil {
				problems = append(problems, dir+"/"+name+": the id is not a timestamp")
			}
			if data, err := fs.ReadFile(fsys, dir+"/"+name); err != nil || strings.TrimSpace(string(data)) == "" {
				problems = append(problems, dir+"/"+name+": empty")
			}
			id := m[1] + "_" + m[2]
			if other := stamps[m[1]]; other != "" && other != id {
				problems = append(problems, dir+"/"+name+": shares its timestamp with "+other)
			}
			stamps[m[1]] = id
			if m[3] == "up" {
				ups[id] = true
			} else {
				downs[id] = true
			}
		}
		for _, id := range slices.Sorted(maps.Keys(ups)) {
			if !downs[id] {
				problems = append(problems, dir+"/"+id+": up without down")
			}
		}
		for _, id := range slices.Sorted(maps.Keys(downs)) {
			if !ups[id] {
				problems = append(problems, dir+"/"+id+": down without up")
			}
		}
	}
	for _, name := range files["postgres"] {
		if !slices.Contains(files["sqlite"], name) {
			problems = append(problems, "postgres/"+name+": not in sqlite/")
		}
	}
	for _, name := range files["sqlite"] {
		if !slices.Contains(files["postgres"], name) {
			problems = append(problems, "sqlite/"+name+": not in postgres/")
		}
	}
	return problems
}

// The embedded migrations have the same ids in both dialects, each with
// an up and a down.
func TestMigrationParity(t *testing.T) {
	t.Parallel()
	require.Empty(t, parityProblems(migrations.Files()))
}

// parityProblems finds each kind of problem (so TestMigrationParity can fail).
func TestParityProblems(t *testing.T) {
	t.Parallel()
	file := &fstest.MapFile{Data: []byte("SELECT 1;\n")}
	both := func(names ...string) fstest.MapFS {
		m := fstest.MapFS{}
		for _, n := range names {
			m["postgres/"+n] = file
			m["sqlite/"+n] = file
		}
		return m
	}
	with := func(m fstest.MapFS, path string, f *fstest.MapFile) fstest.MapFS {
		if f == nil {
			delete(m, path)
		} else {
			m[path] = f
		}
		return m
	}
	ok := []string{"20261128000001_schema.tx.up.sql", "20261128000001_schema.tx.down.sql"}
	tests := []struct {
		name string
		fsys fstest.MapFS
		want []string
	}{
		{name: "good", fsys: both(ok...)},
		{name: "missing in sqlite", fsys: with(both(ok...), "sqlite/20261128000001_schema.tx.down.sql", nil),
			want: []string{"sqlite/20261128000001_schema: up without down", "postgres/20261128000001_schema.tx.down.sql: not in sqlite/"}},
		{name: "different name", fsys: with(with(both(ok...), "sqlite/20261128000001_schema.tx.up.sql", nil), "sqlite/20261128000001_schemas.tx.up.sql", file),
			want: []string{
				"sqlite/20261128000001_schemas.tx.up.sql: shares its timestamp with 20261128000001_schema",
				"sqlite/20261128000001_schema: down without up", "sqlite/20261128000001_schemas: up without down",
				"postgres/20261128000001_schema.tx.up.sql: not in sqlite/", "sqlite/20261128000001_schemas.tx.up.sql: not in postgres/",
			}},
		{name: "no tx", fsys: both("20261128000001_schema.up.sql", "20261128000001_schema.down.sql"),
			want: []string{
				"postgres/20261128000001_schema.down.sql: not a migration file name", "postgres/20261128000001_schema.up.sql: not a migration file name",
				"sqlite/20261128000001_schema.down.sql: not a migration file name", "sqlite/20261128000001_schema.up.sql: not a migration file name",
			}},
		{name: "not a timestamp", fsys: both("20261399000001_schema.tx.up.sql", "20261399000001_schema.tx.down.sql"),
			want: []string{
				"postgres/20261399000001_schema.tx.down.sql: the id is not a timestamp", "postgres/20261399000001_schema.tx.up.sql: the id is not a timestamp",
				"sqlite/20261399000001_schema.tx.down.sql: the id is not a timestamp", "sqlite/20261399000001_schema.tx.up.sql: the id is not a timestamp",
			}},
		{name: "empty file", fsys: with(both(ok...), "postgres/20261128000001_schema.tx.down.sql", &fstest.MapFile{Data: []byte(" \n")}),
			want: []string{"postgres/20261128000001_schema.tx.down.sql: empty"}},
		{name: "no sqlite folder", fsys: fstest.MapFS{"postgres/" + ok[0]: file, "postgres/" + ok[1]: file},
			want: []string{"sqlite: open sqlite: file does not exist", "postgres/" + ok[0] + ": not in sqlite/", "postgres/" + ok[1] + ": not in sqlite/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parityProblems(tt.fsys)
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			require.Equal(t, want, got)
		})
	}
}

func TestNewListsTheSameMigrations(t *testing.T) {
	t.Parallel()
	names := map[string][]string{}
	for _, dialect := range []string{"pg", "sqlite"} {
		ms, err := migrations.New(dialect)
		require.NoError(t, err)
		sorted := ms.Sorted()
		require.NotEmpty(t, sorted)
		for _, m := range sorted {
			require.NotNil(t, m.Up, "%s %s has no up", dialect, m)
			require.NotNil(t, m.Down, "%s %s has no down", dialect, m)
			names[dialect] = append(names[dialect], m.String())
		}
	}
	require.Equal(t, names["pg"], names["sqlite"])

	// And they are the migrations in the folders.
	var want []string
	for _, name := range migrationFiles(t, "postgres") {
		m := fileRE.FindStringSubmatch(name)
		require.NotNil(t, m, name)
		if m[3] == "up" {
			want = append(want, m[1]+"_"+m[2])
		}
	}
	slices.Sort(want)
	require.Equal(t, want, names["pg"])
}

func TestNewUnknownDialect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		dialect string
		wantErr string
	}{
		{name: "mysql", dialect: "mysql", wantErr: `migrations: unknown dialect "mysql" (want pg or sqlite)`},
		{name: "folder name", dialect: "postgres", wantErr: `migrations: unknown dialect "postgres" (want pg or sqlite)`},
		{name: "empty", dialect: "", wantErr: `migrations: unknown dialect "" (want pg or sqlite)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ms, err := migrations.New(tt.dialect)
			require.EqualError(t, err, tt.wantErr)
			require.Nil(t, ms)
		})
	}
}
