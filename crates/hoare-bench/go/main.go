// Command chanbench is hoare-bench's Go peer: the channel, select, context, spawn, waitgroup and
// pattern scenarios of hoare-bench written with goroutines, Go channels, select, package context
// and sync.WaitGroup (the patterns as the book writes them), measured with the same method (op
// count calibrated to a target repetition time, 1 untimed warm-up, then -reps timed
// repetitions; median ns/op).
//
// Standard library only. hoare-bench builds it with GO111MODULE=off and runs it with
// GOMAXPROCS=2. It prints one JSON object per scenario (and mode, for a scenario measured per
// mode) on stdout and progress on stderr.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// result is one measured scenario, as read back by hoare-bench.
type result struct {
	Scenario string  `json:"scenario"`
	NsPerOp  float64 `json:"ns_per_op"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	Ops      uint64  `json:"ops"`
	Reps     int     `json:"reps"`
	Note     string  `json:"note"`
	// Mode is set when the scenario's Go case is for one hoare-bench mode only; hoare-bench
	// reports a result without one under every mode.
	Mode string `json:"mode,omitempty"`
}

// rep runs one repetition of n ops on fresh channels and goroutines and returns its wall time.
type rep func(n uint64) (time.Duration, error)

type scenario struct {
	name string
	mode string // "blocking" or "async" for a case of one mode only; "" for every mode
	note string
	run  rep
}

var scenarios = []scenario{
	{"pingpong0", "", "unbuffered, goroutines", pingpong},
	{"spsc1024", "", "goroutines", func(n uint64) (time.Duration, error) { return throughput(n, 1, 1) }},
	{"mpsc", "", "goroutines", func(n uint64) (time.Duration, error) { return throughput(n, 2, 1) }},
	{"mpmc", "", "goroutines", func(n uint64) (time.Duration, error) { return throughput(n, 2, 2) }},
	{"select4", "", "goroutines, select", select4},
	{"select2ready", "", "one goroutine, select", select2ready},
	{"cancel_tree", "blocking", "select on ctx.Done() with default", cancelTreeSweep},
	{"cancel_tree", "async", "goroutines, <-ctx.Done()", cancelTreeWaiters},
	{"ctx_child", "blocking", "WithCancel, cancel()", ctxChild},
	{"spawn", "async", "go statement, WaitGroup", spawn},
	{"waitgroup", "blocking", "new WaitGroup, Add(1), Done(), Wait()", waitgroup},
	{"or_done", "async", "the book's orDone goroutine", orDoneBench},
	{"tee", "async", "the book's tee goroutine, two consumers", teeBench},
	{"bridge", "async", "the book's bridge goroutine, streams of 64", bridgeBench},
	{"fan_in8", "async", "the book's fanIn: a goroutine per input, WaitGroup", fanIn8Bench},
}

// source sends 0..n on a fresh unbuffered channel from a goroutine.
func source(n uint64) <-chan uint64 {
	c := make(chan uint64)
	go func() {
		defer close(c)
		for i := uint64(0); i < n; i++ {
			c <- i
		}
	}()
	return c
}

// consume receives everything from c and checks it was 0..n in any order.
func consume(c <-chan uint64, n uint64) error {
	var count, sum uint64
	for v := range c {
		count++
		sum += v
	}
	return check(n, count, sum)
}

// orDone is the book's or-done channel.
func orDone(done <-chan struct{}, c <-chan uint64) <-chan uint64 {
	valStream := make(chan uint64)
	go func() {
		defer close(valStream)
		for {
			select {
			case <-done:
				return
			case v, ok := <-c:
				if !ok {
					return
				}
				select {
				case valStream <- v:
				case <-done:
				}
			}
		}
	}()
	return valStream
}

func orDoneBench(n uint64) (time.Duration, error) {
	done := make(chan struct{})
	defer close(done)
	start := time.Now()
	err := consume(orDone(done, source(n)), n)
	return time.Since(start), err
}

// tee is the book's tee channel.
func tee(done <-chan struct{}, in <-chan uint64) (<-chan uint64, <-chan uint64) {
	out1 := make(chan uint64)
	out2 := make(chan uint64)
	go func() {
		defer close(out1)
		defer close(out2)
		for val := range orDone(done, in) {
			var out1, out2 = out1, out2
			for i := 0; i < 2; i++ {
				select {
				case <-done:
				case out1 <- val:
					out1 = nil
				case out2 <- val:
					out2 = nil
				}
			}
		}
	}()
	return out1, out2
}

func teeBench(n uint64) (time.Duration, error) {
	done := make(chan struct{})
	defer close(done)
	start := time.Now()
	a, b := tee(done, source(n))
	errB := make(chan error, 1)
	go func() { errB <- consume(b, n) }()
	if err := consume(a, n); err != nil {
		return 0, err
	}
	if err := <-errB; err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// bridge is the book's bridge channel.
func bridge(done <-chan struct{}, chanStream <-chan (<-chan uint64)) <-chan uint64 {
	valStream := make(chan uint64)
	go func() {
		defer close(valStream)
		for {
			var stream <-chan uint64
			select {
			case maybeStream, ok := <-chanStream:
				if !ok {
					return
				}
				stream = maybeStream
			case <-done:
				return
			}
			for val := range orDone(done, stream) {
				select {
				case valStream <- val:
				case <-done:
				}
			}
		}
	}()
	return valStream
}

func bridgeBench(n uint64) (time.Duration, error) {
	const perStream = 64
	done := make(chan struct{})
	defer close(done)
	start := time.Now()
	streams := make(chan (<-chan uint64))
	go func() {
		defer close(streams)
		for next := uint64(0); next < n; {
			size := uint64(perStream)
			if n-next < size {
				size = n - next
			}
			s := make(chan uint64, size)
			for v := next; v < next+size; v++ {
				s <- v
			}
			next += size
			close(s)
			streams <- s
		}
	}()
	err := consume(bridge(done, streams), n)
	return time.Since(start), err
}

// fanIn is the book's fan-in: a goroutine per input channel.
func fanIn(done <-chan struct{}, channels ...<-chan uint64) <-chan uint64 {
	var wg sync.WaitGroup
	multiplexedStream := make(chan uint64)
	multiplex := func(c <-chan uint64) {
		defer wg.Done()
		for i := range c {
			select {
			case <-done:
				return
			case multiplexedStream <- i:
			}
		}
	}
	wg.Add(len(channels))
	for _, c := range channels {
		go multiplex(c)
	}
	go func() {
		wg.Wait()
		close(multiplexedStream)
	}()
	return multiplexedStream
}

func fanIn8Bench(n uint64) (time.Duration, error) {
	const inputs = 8
	done := make(chan struct{})
	defer close(done)
	start := time.Now()
	channels := make([]<-chan uint64, inputs)
	for p := uint64(0); p < inputs; p++ {
		c := make(chan uint64)
		channels[p] = c
		go func(p uint64) {
			defer close(c)
			for i := p; i < n; i += inputs {
				c <- i
			}
		}(p)
	}
	err := consume(fanIn(done, channels...), n)
	return time.Since(start), err
}

func expectedSum(n uint64) uint64 {
	if n == 0 {
		return 0
	}
	if n%2 == 0 {
		return n / 2 * (n - 1)
	}
	return (n - 1) / 2 * n
}

func check(n, count, sum uint64) error {
	if count != n || sum != expectedSum(n) {
		return fmt.Errorf("check failed: received %d messages summing to %d, expected %d summing to %d",
			count, sum, n, expectedSum(n))
	}
	return nil
}

// pingpong: A sends on ch1, B replies on ch2, both unbuffered; ns per round trip.
func pingpong(n uint64) (time.Duration, error) {
	ch1 := make(chan uint64)
	ch2 := make(chan uint64)
	var count, sum, echoed uint64
	var wg sync.WaitGroup
	wg.Add(2)
	start := time.Now()
	go func() {
		defer wg.Done()
		for v := range ch1 {
			ch2 <- v
			echoed++
		}
	}()
	go func() {
		defer wg.Done()
		for i := uint64(0); i < n; i++ {
			ch1 <- i
			sum += <-ch2
			count++
		}
		close(ch1)
	}()
	wg.Wait()
	elapsed := time.Since(start)
	if err := check(n, count, sum); err != nil {
		return 0, err
	}
	if echoed != n {
		return 0, fmt.Errorf("check failed: echoed %d of %d", echoed, n)
	}
	return elapsed, nil
}

// throughput: p producers send n messages in total over one chan of capacity 1024 to c consumers.
func throughput(n uint64, p, c int) (time.Duration, error) {
	per := n / uint64(p)
	ch := make(chan uint64, 1024)
	counts := make([]uint64, c*8) // padded: one cache line per consumer
	sums := make([]uint64, c*8)
	var prod, cons sync.WaitGroup
	prod.Add(p)
	cons.Add(c)
	start := time.Now()
	for j := 0; j < c; j++ {
		go func(j int) {
			defer cons.Done()
			var count, sum uint64
			for v := range ch {
				count++
				sum += v
			}
			counts[j*8], sums[j*8] = count, sum
		}(j)
	}
	for i := 0; i < p; i++ {
		go func(i uint64) {
			defer prod.Done()
			for v := i * per; v < (i+1)*per; v++ {
				ch <- v
			}
		}(uint64(i))
	}
	prod.Wait()
	close(ch)
	cons.Wait()
	elapsed := time.Since(start)
	var count, sum uint64
	for j := 0; j < c; j++ {
		count += counts[j*8]
		sum += sums[j*8]
	}
	return elapsed, check(per*uint64(p), count, sum)
}

// select4: 4 producers, one chan of capacity 1024 each, send n messages in total; one
// consumer selects over the 4 chans, setting a chan to nil (disabling its case) once closed.
func select4(n uint64) (time.Duration, error) {
	const fan = 4
	per := n / fan
	var chs [fan]chan uint64
	for i := range chs {
		chs[i] = make(chan uint64, 1024)
	}
	var count, sum uint64
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		a, b, c, d := chs[0], chs[1], chs[2], chs[3]
		for open := fan; open > 0; {
			select {
			case v, ok := <-a:
				if !ok {
					a, open = nil, open-1
					continue
				}
				count, sum = count+1, sum+v
			case v, ok := <-b:
				if !ok {
					b, open = nil, open-1
					continue
				}
				count, sum = count+1, sum+v
			case v, ok := <-c:
				if !ok {
					c, open = nil, open-1
					continue
				}
				count, sum = count+1, sum+v
			case v, ok := <-d:
				if !ok {
					d, open = nil, open-1
					continue
				}
				count, sum = count+1, sum+v
			}
		}
	}()
	for i := range chs {
		go func(i uint64, ch chan<- uint64) {
			for v := i * per; v < (i+1)*per; v++ {
				ch <- v
			}
			close(ch)
		}(uint64(i), chs[i])
	}
	<-done
	elapsed := time.Since(start)
	return elapsed, check(per*fan, count, sum)
}

// readyValues circulate in select2ready: chan i always holds readyValues[i].
var readyValues = [2]uint64{3, 5}

// select2ready: one goroutine selects over 2 chans of capacity 1 that are full whenever it
// selects, and puts the received value back; ns per select. Checks as hoare-bench does: each
// case got its own chan's value, both fired at least n/8 times, and the values are still there.
func select2ready(n uint64) (time.Duration, error) {
	a := make(chan uint64, 1)
	b := make(chan uint64, 1)
	a <- readyValues[0]
	b <- readyValues[1]
	var counts, sums [2]uint64
	start := time.Now()
	for i := uint64(0); i < n; i++ {
		select {
		case v := <-a:
			counts[0], sums[0] = counts[0]+1, sums[0]+v
			a <- v
		case v := <-b:
			counts[1], sums[1] = counts[1]+1, sums[1]+v
			b <- v
		}
	}
	elapsed := time.Since(start)
	if counts[0]+counts[1] != n {
		return 0, fmt.Errorf("check failed: %d selects fired, expected %d", counts[0]+counts[1], n)
	}
	left := [2]chan uint64{a, b}
	for i := range counts {
		if sums[i] != counts[i]*readyValues[i] {
			return 0, fmt.Errorf("check failed: case %d fired %d times but received values summing to %d", i, counts[i], sums[i])
		}
		if counts[i] < n/8 {
			return 0, fmt.Errorf("check failed: case %d fired %d times of %d", i, counts[i], n)
		}
		if len(left[i]) != 1 || <-left[i] != readyValues[i] {
			return 0, fmt.Errorf("check failed: chan %d does not hold its value at the end", i)
		}
	}
	return elapsed, nil
}

// wholeBatches is the number of whole batches of size ops that a repetition of n ops runs:
// n / size, rounded to the nearest, at least 1 (as hoare-bench's context::batches).
func wholeBatches(n, size uint64) uint64 {
	k := (n + size/2) / size
	if k == 0 {
		k = 1
	}
	return k
}

// scaled is elapsed, measured over ran ops, scaled to the n ops asked for, so that time / n is
// the time per op actually run (as hoare-bench's context::scale).
func scaled(elapsed time.Duration, n, ran uint64) time.Duration {
	return time.Duration(float64(elapsed) * float64(n) / float64(ran))
}

// treeSize is the number of children of the root in cancel_tree.
const treeSize = 10000

// newTree makes a cancelable root with treeSize cancelable children.
func newTree() (context.CancelFunc, []context.Context, []context.CancelFunc) {
	root, cancelRoot := context.WithCancel(context.Background())
	children := make([]context.Context, treeSize)
	cancels := make([]context.CancelFunc, treeSize)
	for i := range children {
		children[i], cancels[i] = context.WithCancel(root)
	}
	return cancelRoot, children, cancels
}

// checkCanceled checks, after the timed part, that every child reports canceled, then
// releases the children.
func checkCanceled(children []context.Context, cancels []context.CancelFunc) error {
	live := 0
	for i, c := range children {
		if c.Err() != context.Canceled {
			live++
		}
		cancels[i]()
	}
	if live > 0 {
		return fmt.Errorf("check failed: %d of %d children are not canceled after the root's cancel", live, treeSize)
	}
	return nil
}

// cancelTree runs whole trees for n ops (one op = one child) with one; ns per child.
func cancelTree(n uint64, one func() (time.Duration, error)) (time.Duration, error) {
	trees := wholeBatches(n, treeSize)
	var total time.Duration
	for t := uint64(0); t < trees; t++ {
		d, err := one()
		if err != nil {
			return 0, err
		}
		total += d
	}
	return scaled(total, n, trees*treeSize), nil
}

// cancelTreeSweep (blocking mode): no waiters; the children's done channels are taken before
// the cancel, and the goroutine that cancels the root then sweeps them with non-blocking
// receives until every one is seen closed.
func cancelTreeSweep(n uint64) (time.Duration, error) {
	return cancelTree(n, func() (time.Duration, error) {
		cancelRoot, children, cancels := newTree()
		defer cancelRoot()
		dones := make([]<-chan struct{}, treeSize)
		for i, c := range children {
			dones[i] = c.Done()
		}
		for _, d := range dones {
			select {
			case <-d:
				return 0, fmt.Errorf("check failed: a child is done before the root's cancel")
			default:
			}
		}
		start := time.Now()
		cancelRoot()
		left := dones
		for len(left) > 0 {
			keep := left[:0]
			for _, d := range left {
				select {
				case <-d:
				default:
					keep = append(keep, d)
				}
			}
			left = keep
		}
		elapsed := time.Since(start)
		return elapsed, checkCanceled(children, cancels)
	})
}

// cancelTreeWaiters (async mode): one goroutine per child waits on <-ctx.Done() and then
// decrements a shared counter; the one that brings it to 0 wakes the timing goroutine.
func cancelTreeWaiters(n uint64) (time.Duration, error) {
	return cancelTree(n, func() (time.Duration, error) {
		cancelRoot, children, cancels := newTree()
		defer cancelRoot()
		var started, left int64 = 0, treeSize
		allStarted := make(chan struct{})
		allDone := make(chan struct{})
		for _, c := range children {
			go func(c context.Context) {
				if atomic.AddInt64(&started, 1) == treeSize {
					close(allStarted)
				}
				<-c.Done()
				if atomic.AddInt64(&left, -1) == 0 {
					close(allDone)
				}
			}(c)
		}
		<-allStarted
		if atomic.LoadInt64(&left) != treeSize {
			return 0, fmt.Errorf("check failed: a waiter saw its child done before the root's cancel")
		}
		start := time.Now()
		cancelRoot()
		<-allDone
		elapsed := time.Since(start)
		return elapsed, checkCanceled(children, cancels)
	})
}

// ctxChild: make and cancel one cancelable child of a live root; ns per child.
func ctxChild(n uint64) (time.Duration, error) {
	root, cancelRoot := context.WithCancel(context.Background())
	defer cancelRoot()
	start := time.Now()
	for i := uint64(0); i < n; i++ {
		_, cancel := context.WithCancel(root)
		cancel()
	}
	elapsed := time.Since(start)
	if root.Err() != nil {
		return 0, fmt.Errorf("check failed: the root is done")
	}
	return elapsed, nil
}

// spawnBatch is the number of goroutines spawned, then waited for, per batch in spawn.
const spawnBatch = 100000

// spawn: start spawnBatch goroutines that each store their index in a slice, wait for them
// all (WaitGroup) and add up the results; ns per spawn+join.
func spawn(n uint64) (time.Duration, error) {
	batches := wholeBatches(n, spawnBatch)
	var total time.Duration
	for b := uint64(0); b < batches; b++ {
		start := time.Now()
		res := make([]uint64, spawnBatch)
		var wg sync.WaitGroup
		for i := uint64(0); i < spawnBatch; i++ {
			wg.Add(1)
			go func(i uint64) {
				res[i] = i
				wg.Done()
			}(i)
		}
		wg.Wait()
		var sum uint64
		for _, v := range res {
			sum += v
		}
		total += time.Since(start)
		if want := expectedSum(spawnBatch); sum != want {
			return 0, fmt.Errorf("check failed: the goroutines' results sum to %d, expected %d", sum, want)
		}
	}
	return scaled(total, n, batches*spawnBatch), nil
}

// waitgroup: per cycle, make a WaitGroup counting 1, hand it over a chan of capacity 1 to a
// long-lived worker goroutine that calls Done, and Wait; ns per cycle. The worker counts the
// groups it got; the repetition counts only if that is n.
func waitgroup(n uint64) (time.Duration, error) {
	ch := make(chan *sync.WaitGroup, 1)
	count := make(chan uint64)
	go func() {
		var c uint64
		for wg := range ch {
			wg.Done()
			c++
		}
		count <- c
	}()
	start := time.Now()
	for i := uint64(0); i < n; i++ {
		wg := new(sync.WaitGroup)
		wg.Add(1)
		ch <- wg
		wg.Wait()
	}
	elapsed := time.Since(start)
	close(ch)
	if c := <-count; c != n {
		return 0, fmt.Errorf("check failed: %d of %d cycles were marked done", c, n)
	}
	return elapsed, nil
}

const opQuantum = 64

func measure(run rep, reps int, target time.Duration) (result, error) {
	goal := target.Seconds() / 10
	n := uint64(1024)
	var perOp float64
	for {
		t, err := run(n)
		if err != nil {
			return result{}, err
		}
		if t.Seconds() >= goal || n >= 1<<40 {
			perOp = t.Seconds() / float64(n)
			break
		}
		grow := 100.0
		if t > 0 {
			grow = goal / t.Seconds() * 1.5
		}
		if grow < 2 {
			grow = 2
		} else if grow > 100 {
			grow = 100
		}
		n = uint64(float64(n) * grow)
	}
	n = uint64(target.Seconds()/perOp) / opQuantum * opQuantum
	if n < opQuantum {
		n = opQuantum
	}
	if _, err := run(n); err != nil {
		return result{}, err
	}
	samples := make([]float64, 0, reps)
	for i := 0; i < reps; i++ {
		t, err := run(n)
		if err != nil {
			return result{}, err
		}
		samples = append(samples, float64(t.Nanoseconds())/float64(n))
	}
	sort.Float64s(samples)
	median := samples[len(samples)/2]
	if len(samples)%2 == 0 {
		median = (samples[len(samples)/2-1] + samples[len(samples)/2]) / 2
	}
	return result{NsPerOp: median, Min: samples[0], Max: samples[len(samples)-1], Ops: n, Reps: reps}, nil
}

func main() {
	names := flag.String("scenarios", "", "comma-separated scenario names (empty: all); unknown names are ignored")
	reps := flag.Int("reps", 7, "timed repetitions")
	targetMs := flag.Int("target-ms", 200, "target wall time of one repetition, in ms")
	modes := flag.String("modes", "", "comma-separated hoare-bench modes (empty: all); cases of other modes are skipped")
	list := flag.Bool("list", false, "print the supported scenario names and exit")
	flag.Parse()
	if *list {
		for _, s := range scenarios {
			if s.mode != "" {
				fmt.Println(s.name, s.mode)
			} else {
				fmt.Println(s.name)
			}
		}
		return
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2)
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*names, ",") {
		if s != "" {
			want[s] = true
		}
	}
	wantMode := map[string]bool{}
	for _, m := range strings.Split(*modes, ",") {
		if m != "" {
			wantMode[m] = true
		}
	}
	enc := json.NewEncoder(os.Stdout)
	failed := false
	for _, s := range scenarios {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		if s.mode != "" && len(wantMode) > 0 && !wantMode[s.mode] {
			continue
		}
		label := s.name
		if s.mode != "" {
			label += " [" + s.mode + "]"
		}
		fmt.Fprintf(os.Stderr, "  go %s (GOMAXPROCS=%d) ... ", label, runtime.GOMAXPROCS(0))
		r, err := measure(s.run, *reps, time.Duration(*targetMs)*time.Millisecond)
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAILED: %v\n", err)
			failed = true
			continue
		}
		fmt.Fprintf(os.Stderr, "%.1f ns/op\n", r.NsPerOp)
		r.Scenario, r.Note, r.Mode = s.name, s.note, s.mode
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if failed {
		os.Exit(1)
	}
}
