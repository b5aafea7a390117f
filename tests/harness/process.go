package harness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// RepoRoot is the module root, found from this file's location so tests run
// from any directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binary builds cmd/pipeline once per test process and returns its path.
// PIPELINE_BIN points at a prebuilt binary instead (CI builds it once).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PIPELINE_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pipeline-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "pipeline")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/pipeline")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/pipeline: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Process is a running `pipeline` child process.
type Process struct {
	cmd  *exec.Cmd
	out  *SyncBuffer
	done chan struct{}
	err  error
}

// Start runs the pipeline binary with args and extra environment entries
// (KEY=VALUE), in dir (the repo root when ""), with TMPDIR a directory of
// the test's. It is killed when the test ends if still running.
func Start(t testing.TB, dir string, env []string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	if dir == "" {
		dir = RepoRoot()
	}
	cmd.Dir = dir
	// Its temporary files (an --in-memory run's window log) go with the
	// test, also when the test kills it before it can clean up.
	cmd.Env = append(append(os.Environ(), "TMPDIR="+t.TempDir()), env...)
	p := &Process{cmd: cmd, out: &SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// Its own process group, so Kill also ends any children it started
	// (`pipeline demo` runs its jobs as child processes).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pipeline %v: %v", args, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("pipeline %v output:\n%s", args, p.Output())
		}
	})
	return p
}

// Stop sends SIGTERM and waits for a graceful exit.
func (p *Process) Stop(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("pipeline did not stop within 30s of SIGTERM:\n%s", p.Output())
	}
}

// Kill sends SIGKILL to the process and its children: the crash case,
// nothing gets to clean up.
func (p *Process) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Wait waits for the process to exit by itself and returns its error.
func (p *Process) Wait(timeout time.Duration) (error, bool) {
	select {
	case <-p.done:
		return p.err, true
	case <-time.After(timeout):
		return nil, false
	}
}

// Output is everything the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// WaitForOutput waits until the output contains s.
func (p *Process) WaitForOutput(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	if err := waitOutput(p, s, timeout); err != nil {
		t.Fatalf("pipeline %v:\n%s", err, p.Output())
	}
}

// SyncBuffer collects a process's output while a test polls it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
