// Command chanbench is hoare-bench's Go peer: the channel and select scenarios of hoare-bench
// written with goroutines, Go channels and select, measured with the same method (op count calibrated to a target
// repetition time, 1 untimed warm-up, then -reps timed repetitions; median ns/op).
//
// Standard library only. hoare-bench builds it with GO111MODULE=off and runs it with
// GOMAXPROCS=2. It prints one JSON object per scenario on stdout and progress on stderr.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
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
}

// rep runs one repetition of n ops on fresh channels and goroutines and returns its wall time.
type rep func(n uint64) (time.Duration, error)

type scenario struct {
	name string
	note string
	run  rep
}

var scenarios = []scenario{
	{"pingpong0", "unbuffered, goroutines", pingpong},
	{"spsc1024", "goroutines", func(n uint64) (time.Duration, error) { return throughput(n, 1, 1) }},
	{"mpsc", "goroutines", func(n uint64) (time.Duration, error) { return throughput(n, 2, 1) }},
	{"mpmc", "goroutines", func(n uint64) (time.Duration, error) { return throughput(n, 2, 2) }},
	{"select4", "goroutines, select", select4},
	{"select2ready", "one goroutine, select", select2ready},
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
	list := flag.Bool("list", false, "print the supported scenario names and exit")
	flag.Parse()
	if *list {
		for _, s := range scenarios {
			fmt.Println(s.name)
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
	enc := json.NewEncoder(os.Stdout)
	failed := false
	for _, s := range scenarios {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		fmt.Fprintf(os.Stderr, "  go %s (GOMAXPROCS=%d) ... ", s.name, runtime.GOMAXPROCS(0))
		r, err := measure(s.run, *reps, time.Duration(*targetMs)*time.Millisecond)
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAILED: %v\n", err)
			failed = true
			continue
		}
		fmt.Fprintf(os.Stderr, "%.1f ns/op\n", r.NsPerOp)
		r.Scenario, r.Note = s.name, s.note
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if failed {
		os.Exit(1)
	}
}
