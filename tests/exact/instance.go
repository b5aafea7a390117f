package exact

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/tests/harness"
)

// Instance is one `pipeline` process of the job, with its own working
// directory and TMPDIR (its "local disk") and INSTANCE_ID. It can be
// signalled (SIGTERM, SIGINT), killed (SIGKILL) and started again, on the
// same disk or on an empty one.
type Instance struct {
	ID       string
	t        testing.TB
	config   string
	brokers  string
	dir, tmp string
	cmd      *exec.Cmd
	out      *harness.SyncBuffer
	done     chan struct{}
	err      error
	starts   int
	env      []string // extra KEY=VALUE entries for every start
}

func newInstance(t testing.TB, id, config, brokers string) *Instance {
	in := &Instance{ID: id, t: t, config: config, brokers: brokers, out: &harness.SyncBuffer{}}
	in.newDisk()
	t.Cleanup(func() {
		if in.Running() {
			in.kill()
		}
		if t.Failed() && in.starts > 0 {
			t.Logf("instance %s output (%d starts):\n%s", in.ID, in.starts, in.out.String())
		}
	})
	return in
}

// newDisk gives the instance an empty working directory and TMPDIR.
func (in *Instance) newDisk() {
	root := in.t.TempDir()
	in.dir, in.tmp = filepath.Join(root, "work"), filepath.Join(root, "tmp")
	for _, d := range []string{in.dir, in.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			in.t.Fatal(err)
		}
	}
}

// Start runs the process and waits until its /ready answers 200 (input and
// output connected), failing the test with its output if it exits first.
func (in *Instance) Start() {
	in.t.Helper()
	if in.Running() {
		in.t.Fatalf("instance %s started twice", in.ID)
	}
	httpAddr := harness.FreeAddr(in.t)
	cmd := exec.Command(harness.Binary(in.t), "-c", in.config)
	cmd.Dir = in.dir
	cmd.Env = append(os.Environ(), "TMPDIR="+in.tmp, "KAFKA_BROKERS="+in.brokers,
		"INSTANCE_ID="+in.ID, "PIPELINE_HTTP_ADDRESS="+httpAddr)
	cmd.Env = append(cmd.Env, in.env...)
	// One log over all starts, so a failure shows what every run did.
	fmt.Fprintf(in.out, "=== %s start %d (dir %s)\n", in.ID, in.starts+1, in.dir)
	cmd.Stdout, cmd.Stderr = in.out, in.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		in.t.Fatalf("start instance %s: %v", in.ID, err)
	}
	in.cmd, in.done, in.err = cmd, make(chan struct{}), nil
	in.starts++
	done := in.done
	go func() { in.err = cmd.Wait(); close(done) }()
	in.waitReady(httpAddr, 30*time.Second)
}

func (in *Instance) waitReady(httpAddr string, timeout time.Duration) {
	in.t.Helper()
	url := "http://" + httpAddr + "/ready"
	exited := false
	ready := kafkatest.Every(timeout, 100*time.Millisecond, func() bool {
		select {
		case <-in.done:
			exited = true
			return true
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	switch {
	case exited:
		in.t.Fatalf("instance %s exited (%v) before it was ready:\n%s", in.ID, in.err, in.out.String())
	case !ready:
		in.t.Fatalf("instance %s not ready within %v:\n%s", in.ID, timeout, in.out.String())
	}
}

// Running tells whether the process is up.
func (in *Instance) Running() bool {
	if in.done == nil {
		return false
	}
	select {
	case <-in.done:
		return false
	default:
		return true
	}
}

// Signal sends sig (SIGTERM, SIGINT: a graceful stop) and waits up to
// timeout for the process to exit, failing the test otherwise.
func (in *Instance) Signal(sig syscall.Signal, timeout time.Duration) {
	in.t.Helper()
	_ = in.cmd.Process.Signal(sig)
	select {
	case <-in.done:
	case <-time.After(timeout):
		in.t.Fatalf("instance %s did not exit within %v of %v:\n%s", in.ID, timeout, sig, in.out.String())
	}
}

// Stop is a graceful stop with SIGTERM, as an orchestrator does.
func (in *Instance) Stop() { in.t.Helper(); in.Signal(syscall.SIGTERM, 60*time.Second) }

// Kill is a crash: SIGKILL to the process group, nothing gets to clean up.
func (in *Instance) Kill() { in.t.Helper(); in.kill() }

func (in *Instance) kill() {
	_ = syscall.Kill(-in.cmd.Process.Pid, syscall.SIGKILL)
	<-in.done
}

// Restart starts the stopped or killed instance again with the same
// INSTANCE_ID; emptyDisk gives it a new, empty working directory and TMPDIR
// first (a pod rescheduled to another node).
func (in *Instance) Restart(emptyDisk bool) {
	in.t.Helper()
	if emptyDisk {
		in.newDisk()
	}
	in.Start()
}

// Output is what the instance printed over all its starts.
func (in *Instance) Output() string { return in.out.String() }

func (in *Instance) String() string { return fmt.Sprintf("%s (start %d)", in.ID, in.starts) }
