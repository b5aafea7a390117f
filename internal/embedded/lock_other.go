//go:build !unix

package embedded

import "errors"

// ErrDataDirInUse reports that another broker owns the data directory.
var ErrDataDirInUse = errors.New("data directory in use")

// lockDataDir has no portable flock; the directory is not locked here.
func lockDataDir(string) (func(), error) { return func() {}, nil }
