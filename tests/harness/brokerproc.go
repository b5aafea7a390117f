package harness

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
)

// BrokerProcess is `pipeline broker` run as a child process with a data
// directory, so a test can kill it (SIGKILL: kfake recovers from its append
// logs) or stop it (SIGTERM: it writes its state) and start it again on the
// same port and data directory, as an operator restarts a broker. Clients
// keep the same address throughout.
type BrokerProcess struct {
	t       testing.TB
	Port    int
	Addr    string
	DataDir string
	dir     string
	proc    *Process
}

// StartBrokerProcess runs `pipeline broker` on a free port with a fresh
// data directory; it is killed when the test ends.
func StartBrokerProcess(t testing.TB) *BrokerProcess {
	t.Helper()
	b := &BrokerProcess{t: t, dir: t.TempDir()}
	b.DataDir = filepath.Join(b.dir, "data")
	b.Port = FreePort(t)
	b.Addr = fmt.Sprintf("127.0.0.1:%d", b.Port)
	b.start()
	return b
}

// start runs the broker on b.Port. A port that another process took while
// the broker was down is retried for a while: the restart must use the same
// address, since that is what clients were configured with.
func (b *BrokerProcess) start() {
	b.t.Helper()
	var err error
	var out string
	if !kafkatest.Every(15*time.Second, 200*time.Millisecond, func() bool {
		// KAFKA_BROKERS empty: `pipeline broker` always runs its own broker;
		// PROFILE_URL set so it does not start the demo's profile service.
		p := Start(b.t, b.dir, []string{"KAFKA_BROKERS=", "PROFILE_URL=http://127.0.0.1:9/unused"},
			"broker", "--broker-port", fmt.Sprint(b.Port), "--data-dir", b.DataDir)
		if err = waitOutput(p, "embedded Kafka broker listening on "+b.Addr, 30*time.Second); err == nil {
			b.proc = p
			return true
		}
		if out = p.Output(); !strings.Contains(out, "cannot listen") {
			b.t.Fatalf("broker on %s with data in %s: %v\n%s", b.Addr, b.DataDir, err, out)
		}
		return false
	}) {
		b.t.Fatalf("broker on %s with data in %s: %v\n%s", b.Addr, b.DataDir, err, out)
	}
}

// Kill ends the broker with SIGKILL: nothing gets to write its state.
func (b *BrokerProcess) Kill() { b.proc.Kill() }

// Stop ends the broker with SIGTERM, which writes its state and closes
// client connections.
func (b *BrokerProcess) Stop() {
	b.t.Helper()
	b.proc.Stop(b.t)
}

// Restart starts the broker again on the same port and data directory
// (after Kill or Stop).
func (b *BrokerProcess) Restart() {
	b.t.Helper()
	if _, exited := b.proc.Wait(5 * time.Second); !exited {
		b.t.Fatalf("broker on %s restarted while still running", b.Addr)
	}
	b.start()
}

// Output is what the current broker process printed.
func (b *BrokerProcess) Output() string { return b.proc.Output() }

// waitOutput is WaitForOutput returning an error instead of failing, so a
// start that lost its port can be retried.
func waitOutput(p *Process, s string, timeout time.Duration) error {
	var exitErr error
	exited := false
	printed := kafkatest.Every(timeout, 50*time.Millisecond, func() bool {
		if strings.Contains(p.Output(), s) {
			return true
		}
		select {
		case <-p.done:
			exitErr, exited = p.err, true
		default:
		}
		return exited
	})
	switch {
	case exited && !strings.Contains(p.Output(), s):
		return fmt.Errorf("exited (%v) before printing %q", exitErr, s)
	case !printed:
		return fmt.Errorf("did not print %q within %v", s, timeout)
	}
	return nil
}
