package main

import (
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X main.Version=v1.2.3"; a
// plain `go build` falls back to the module version and VCS stamp.
var Version = "0.1.0"

func version() (string, string) {
	v, built := Version, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v == "" && len(s.Value) >= 12 {
					v = "0.1.0-dev+" + s.Value[:12]
				}
			case "vcs.time":
				built = s.Value
			}
		}
	}
	if v == "" {
		v = "0.1.0-dev"
	}
	if built == "" {
		built = "unknown"
	}
	return v, built
}
