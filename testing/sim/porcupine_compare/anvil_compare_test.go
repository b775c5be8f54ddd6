// Times porcupine's checker on its own test data, for the side-by-side
// figure with anvil's //testing/sim:linearizability_benchmark. Copied into
// a porcupine checkout by compare.sh and run there as one of its tests: it
// uses the models and parsers of porcupine's porcupine_test.go.
package porcupine

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

func anvilCPU() time.Duration {
	var usage syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// Same expectations as porcupine's TestEtcdJepsenNNN; it has none for 095.
var anvilEtcdLinearizable = map[int]bool{2: true, 5: true, 7: true, 18: true,
	25: true, 31: true, 38: true, 45: true, 48: true, 49: true, 51: true,
	53: true, 56: true, 67: true, 75: true, 76: true, 80: true, 87: true,
	92: true, 98: true, 100: true, 101: true, 102: true}

func TestAnvilCompare(t *testing.T) {
	const rounds = 5
	var etcd [][]Event
	for log := 0; log <= 102; log++ {
		if log != 95 {
			etcd = append(etcd, parseJepsenLog(fmt.Sprintf("test_data/jepsen/etcd_%03d.log", log)))
		}
	}
	kvNames := []string{"c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok", "c50-bad"}
	var kv [][]Event
	for _, name := range kvNames {
		kv = append(kv, parseKvLog(fmt.Sprintf("test_data/kv/%s.txt", name)))
	}
	for round := 0; round < rounds; round++ {
		start, wall := anvilCPU(), time.Now()
		for i, events := range etcd {
			log := i
			if log >= 95 {
				log++
			}
			if CheckEvents(etcdModel, events) != anvilEtcdLinearizable[log] {
				t.Fatalf("etcd_%03d: wrong verdict", log)
			}
		}
		fmt.Fprintf(os.Stderr, "porcupine etcd logs: %v CPU, %v wall\n", anvilCPU()-start, time.Since(wall))
		start, wall = anvilCPU(), time.Now()
		for i, events := range kv {
			ok := kvNames[i][len(kvNames[i])-2:] == "ok"
			if CheckEvents(kvModel, events) != ok {
				t.Fatalf("%s: wrong verdict", kvNames[i])
			}
		}
		fmt.Fprintf(os.Stderr, "porcupine kv logs: %v CPU, %v wall\n", anvilCPU()-start, time.Since(wall))
	}
}
