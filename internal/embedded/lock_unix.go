//go:build unix

package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFile is the file in a data directory that the running broker holds
// an exclusive flock on; it holds that broker's pid for the error message.
const lockFile = ".pipeline-broker.lock"

// ErrDataDirInUse reports that another broker owns the data directory.
var ErrDataDirInUse = errors.New("data directory in use")

// lockDataDir takes the data directory for this process: two brokers
// writing one directory would overwrite each other's files. The lock is an
// flock, so it goes with the process, also when it is killed.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded Kafka broker data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("embedded Kafka broker data directory %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner, _ := os.ReadFile(path)
		f.Close()
		who := "another process"
		if pid := strings.TrimSpace(string(owner)); pid != "" {
			who = "process " + pid
		}
		return nil, fmt.Errorf("embedded Kafka broker data directory %s: %w by %s (another `pipeline` or `pipeline broker` "+
			"runs on it; use that broker with KAFKA_BROKERS, or give this one another --data-dir / PIPELINE_DATA_DIR)", dir, ErrDataDirInUse, who)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
