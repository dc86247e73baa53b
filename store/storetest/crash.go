package storetest

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herd-project/herd/store"
)

// childEnv names the storage a crash writer process writes to.
const childEnv = "HERD_STORETEST_CRASH_STORAGE"

// crashChild is the writer process: it applies numbered change sets, each
// to two tables, and reports each one after Apply returns. It stops by
// itself after a minute, should its parent be gone.
func crashChild(t *testing.T, h Harness) {
	b := h.Open(t, os.Getenv(childEnv))
	next := 1
	err := b.Load(context.Background(), func(r store.Record) error {
		if r.Table == "crash_a" {
			next++
		}
		return nil
	})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
	deadline := time.Now().Add(time.Minute)
	for i := next; time.Now().Before(deadline); i++ {
		if err := b.Apply(context.Background(), crashValue(i)); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(3)
		}
		fmt.Fprintf(out, "ack %d\n", i)
		out.Flush()
	}
	os.Exit(0)
}

// testCrash kills a writer process with SIGKILL at random moments and
// checks, after each kill, that every acknowledged change set is there and
// that none is there in part.
func testCrash(t *testing.T, h Harness) {
	if !h.Processes {
		t.Skip("the backend's storage is not shared with other processes")
	}
	cycles := 200
	if testing.Short() {
		cycles = 20
	}
	name := h.NewStorage(t)
	if err := h.Open(t, name).Close(); err != nil {
		t.Fatal(err)
	}
	parent := testName(t)
	parent = parent[:strings.LastIndex(parent, "/")]
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	acked, maxAck := 0, 0
	for c := range cycles {
		cmd := exec.Command(os.Args[0], "-test.run="+parent, "-test.v=false")
		cmd.Env = append(os.Environ(), childEnv+"="+name)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		ack := func(l string) {
			if strings.HasPrefix(l, "ERROR") {
				_ = cmd.Process.Kill() // failing anyway
				t.Fatalf("cycle %d: writer: %s", c, l)
			}
			if n, err := strconv.Atoi(strings.TrimPrefix(l, "ack ")); err == nil {
				acked++
				maxAck = max(maxAck, n)
			}
		}
		// Kill at a random moment after the writer has acknowledged a few.
		want, got := 1+rng.IntN(8), 0
		deadline := time.After(30 * time.Second)
	read:
		for got < want {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				ack(l)
				got++
			case <-deadline:
				_ = cmd.Process.Kill() // failing anyway
				t.Fatalf("cycle %d: the writer acknowledged nothing", c)
			}
		}
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("cycle %d: kill: %v", c, err)
		}
		for l := range lines { // acknowledgements written before the kill
			ack(l)
		}
		_ = cmd.Wait() // "signal: killed", as meant

		b := h.Open(t, name)
		held := load(t, b)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		lost, partial := 0, 0
		for i := 1; i <= maxAck; i++ {
			for _, r := range crashValue(i) {
				if held[r.Table][r.Key] != string(r.Value) {
					lost++
				}
			}
		}
		for k := range held["crash_a"] {
			if _, ok := held["crash_b"][k]; !ok {
				partial++
			}
		}
		for k := range held["crash_b"] {
			if _, ok := held["crash_a"][k]; !ok {
				partial++
			}
		}
		if lost > 0 || partial > 0 {
			t.Fatalf("cycle %d: %d acknowledged records lost or changed, %d change sets in part", c, lost, partial)
		}
	}
	t.Logf("%d kill cycles, %d acknowledged change sets (highest %d), none lost, none in part", cycles, acked, maxAck)
}
