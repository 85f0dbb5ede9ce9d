package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"laborcredit/engine"
)

// maxLine is the longest facts line accepted in JSON Lines input: room for
// engine.MaxListLen cases.
const maxLine = 16 << 20

// batchLines is how many lines travel together between the stages.
const batchLines = 256

type lineBatch[T any] struct {
	seq   int
	first int // line number of the first line
	buf   []byte
	ends  []int // end offset of each line in buf
	out   []T
	errs  []error
}

// streamFacts reads facts as JSON Lines from r, decodes and processes them
// on several goroutines, and calls each in input order, from one goroutine,
// with the line number and the result or error of that line. Memory is
// bounded by the number of batches in flight, whatever the input size.
// Blank lines are skipped. It stops at the first error each returns.
func streamFacts[T any](ctx context.Context, r io.Reader, workers int,
	process func(f *engine.Facts) (T, error), each func(line int, v T, err error) error) error {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan *lineBatch[T], workers*2)
	done := make(chan *lineBatch[T], workers*2)
	free := sync.Pool{New: func() any { return new(lineBatch[T]) }}

	var readErr error
	go func() {
		defer close(todo)
		readErr = readBatches(ctx, r, todo, &free)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var f engine.Facts
			for b := range todo {
				start := 0
				for i, end := range b.ends {
					line := b.buf[start:end]
					start = end
					var v T
					err := engine.DecodeFactsInto(line, &f)
					if err == nil {
						v, err = process(&f)
					}
					b.out[i], b.errs[i] = v, err
				}
				select {
				case done <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	pending := map[int]*lineBatch[T]{}
	next := 0
	var eachErr error
	for {
		var b *lineBatch[T]
		var ok bool
		select {
		case b, ok = <-done:
		case <-ctx.Done():
			// The reader may be blocked in Read on a terminal or a pipe;
			// leave it, the caller is giving up on the input.
			if eachErr != nil {
				return eachErr
			}
			return ctx.Err()
		}
		if !ok {
			break
		}
		if eachErr != nil {
			continue
		}
		pending[b.seq] = b
		for {
			nb, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			for i := range nb.ends {
				if eachErr == nil {
					eachErr = each(nb.first+i, nb.out[i], nb.errs[i])
				}
			}
			free.Put(nb)
		}
		if eachErr != nil {
			cancel()
		}
	}
	if eachErr != nil {
		return eachErr
	}
	if readErr != nil {
		return readErr
	}
	return ctx.Err()
}

func readBatches[T any](ctx context.Context, r io.Reader, todo chan<- *lineBatch[T], free *sync.Pool) error {
	br := bufio.NewReaderSize(r, 1<<20)
	seq, lineNo := 0, 0
	newBatch := func() *lineBatch[T] {
		b := free.Get().(*lineBatch[T])
		b.seq, b.first = seq, 0
		b.buf, b.ends = b.buf[:0], b.ends[:0]
		seq++
		return b
	}
	b := newBatch()
	send := func() error {
		if len(b.ends) == 0 {
			return nil
		}
		b.out = resize(b.out, len(b.ends))
		b.errs = resize(b.errs, len(b.ends))
		select {
		case todo <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b = newBatch()
		return nil
	}
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			if len(long) > maxLine {
				return fmt.Errorf("line %d: longer than %d bytes", lineNo+1, maxLine)
			}
			continue
		}
		if long != nil {
			chunk = append(long, chunk...)
			long = nil
		}
		if len(chunk) > 0 {
			lineNo++
			if t := bytes.TrimSpace(chunk); len(t) > 0 {
				if len(b.ends) == 0 {
					b.first = lineNo
				} else if b.first+len(b.ends) != lineNo {
					// keep line numbers contiguous within a batch
					if serr := send(); serr != nil {
						return serr
					}
					b.first = lineNo
				}
				b.buf = append(b.buf, t...)
				b.ends = append(b.ends, len(b.buf))
				if len(b.ends) == batchLines {
					if serr := send(); serr != nil {
						return serr
					}
				}
			}
		}
		if err == io.EOF {
			return send()
		}
		if err != nil {
			return fmt.Errorf("read facts: %w", err)
		}
	}
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// readFactsInput tells one pretty-printed facts document from JSON Lines:
// a document whose first line is a lone "{" is read whole; anything else is
// JSON Lines, one employer per line (a single document on one line
// included). It returns the reader to stream from, with any leading blank
// lines kept so that line numbers stay right, or the one document. It gives
// up when ctx ends, even while blocked reading.
func readFactsInput(ctx context.Context, r io.Reader) (stream io.Reader, single []byte, err error) {
	type result struct {
		stream io.Reader
		single []byte
		err    error
	}
	ch := make(chan result, 1)
	go func() {
		s, d, err := sniffFacts(r)
		ch <- result{s, d, err}
	}()
	select {
	case res := <-ch:
		return res.stream, res.single, res.err
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

func sniffFacts(r io.Reader) (io.Reader, []byte, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var blank []byte
	var first []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer is no pretty-printed "{".
			first = append([]byte(nil), line...)
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			if err == io.EOF {
				return nil, nil, errors.New("no facts in the input")
			}
			if err != nil {
				return nil, nil, err
			}
			blank = append(blank, line...)
			continue
		}
		first = append([]byte(nil), line...)
		if err != nil && err != io.EOF {
			return nil, nil, err
		}
		break
	}
	if string(bytes.TrimSpace(first)) != "{" {
		return io.MultiReader(bytes.NewReader(blank), bytes.NewReader(first), br), nil, nil
	}
	rest, err := io.ReadAll(io.LimitReader(br, maxLine))
	if err != nil {
		return nil, nil, err
	}
	return nil, append(first, rest...), nil
}
