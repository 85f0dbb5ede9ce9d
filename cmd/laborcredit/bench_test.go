package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"laborcredit/engine"
)

// benchFacts is n synthetic employers as JSON Lines (the demo's mix:
// about 1% with cases in the period).
func benchFacts(tb testing.TB, n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf bytes.Buffer
	for i := range n {
		b, err := json.Marshal(syntheticFacts(rng, i))
		require.NoError(tb, err)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// BenchmarkEvalStream measures `rules eval` on JSON Lines: decode, evaluate
// with the national rule set, encode, in input order. The metric
// employers/s is the figure for docs/BENCHMARKS.md.
func BenchmarkEvalStream(b *testing.B) {
	const n = 20000
	data := benchFacts(b, n)
	rs, err := engine.LoadFile("../../scoring-rules/national-2016.yaml")
	require.NoError(b, err)
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[workers], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			lines := 0
			for b.Loop() {
				err := streamFacts(context.Background(), bytes.NewReader(data), workers,
					func(f *engine.Facts) ([]byte, error) {
						res, err := engine.Evaluate(rs, f)
						if err != nil {
							return nil, err
						}
						return append(res.AppendJSON(make([]byte, 0, 512)), '\n'), nil
					},
					func(line int, out []byte, err error) error {
						if err != nil {
							return err
						}
						lines++
						_, err = io.Discard.Write(out)
						return err
					})
				require.NoError(b, err)
			}
			b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "employers/s")
			require.Equal(b, n*b.N, lines)
		})
	}
}

// BenchmarkDecodeFacts is the decoding share of the stream on its own.
func BenchmarkDecodeFacts(b *testing.B) {
	data := benchFacts(b, 1000)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	b.ReportAllocs()
	var f engine.Facts
	i := 0
	for b.Loop() {
		require.NoError(b, engine.DecodeFactsInto(lines[i%len(lines)], &f))
		i++
	}
}
