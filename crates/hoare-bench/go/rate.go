// The rate family's Go peer: golang.org/x/time/rate's Limiter.Allow with a quota that never
// denies. Built only when x/time/rate's source is on the GOPATH (Debian's
// golang-golang-x-time-dev puts it under /usr/share/gocode); hoare-bench then adds this file
// to the build and the GOPATH to the environment.
package main

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

func init() {
	scenarios = append(scenarios,
		scenario{"rate_allow_1t", "blocking", "x/time/rate Limit(1e9), burst 1e9, Allow()",
			func(n uint64) (time.Duration, error) { return rateAllow(n, 1) }},
		scenario{"rate_allow_2t", "blocking", "x/time/rate Limit(1e9), burst 1e9, Allow(), 2 goroutines",
			func(n uint64) (time.Duration, error) { return rateAllow(n, 2) }},
	)
}

// rateAllow makes n Allow calls split over g goroutines sharing one limiter.
func rateAllow(n uint64, g int) (time.Duration, error) {
	lim := rate.NewLimiter(rate.Limit(1e9), 1e9)
	var wg sync.WaitGroup
	allowed := make([]uint64, g)
	start := time.Now()
	for i := 0; i < g; i++ {
		calls := n / uint64(g)
		if uint64(i) < n%uint64(g) {
			calls++
		}
		wg.Add(1)
		go func(i int, calls uint64) {
			defer wg.Done()
			for j := uint64(0); j < calls; j++ {
				if lim.Allow() {
					allowed[i]++
				}
			}
		}(i, calls)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var total uint64
	for _, a := range allowed {
		total += a
	}
	if total != n {
		return 0, fmt.Errorf("check failed: %d of %d calls allowed by a never-denying limiter", total, n)
	}
	return elapsed, nil
}
