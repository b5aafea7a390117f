//go:build !unix

package wal

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir opens dir/LOCK; without flock, sharing a directory between two
// buffers is not detected on this platform.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("wal.dir: %w", err)
	}
	return f, nil
}
