// Package connectbuild checks that our plugins build into a Redpanda Connect
// style distribution from another module: a main package that imports only
// connect's Apache-2.0 component bundles plus our plugin packages by module
// path, built as a static binary (CGO_ENABLED=0) and run on a small config.
//
// The build uses the module cache (GOFLAGS=-mod=mod, no network beyond the
// Go proxy, which a warm cache never needs) and the build cache: the first
// CGO_ENABLED=0 build of connect's kafka components takes about 2 minutes,
// later ones a few seconds.
package connectbuild

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// mainGo is the whole distribution: connect's Apache-2.0 bundles and our
// plugins, each registering its components in init.
const mainGo = `package main

import (
	"context"

	"github.com/redpanda-data/benthos/v4/public/service"

	// Redpanda Connect, Apache-2.0 only: kafka/redpanda inputs and outputs,
	// the pure processors/brokers/bloblang, and the stdin/stdout/file/http io.
	_ "github.com/redpanda-data/connect/v4/public/components/io"
	_ "github.com/redpanda-data/connect/v4/public/components/kafka"
	_ "github.com/redpanda-data/connect/v4/public/components/pure"

	// Our plugins.
	_ "github.com/streamkit/pipeline/plugins/batchlines"
	_ "github.com/streamkit/pipeline/plugins/dlq"
	_ "github.com/streamkit/pipeline/plugins/retry"
	_ "github.com/streamkit/pipeline/plugins/validate"
	_ "github.com/streamkit/pipeline/plugins/window"
)

func main() {
	service.RunCLI(context.Background())
}
`

// connectModule is the module whose packages must all be Apache-2.0.
const connectModule = "github.com/redpanda-data/connect/v4"

// rclAllowed are the connect packages under the Redpanda Community License
// that the Apache-2.0 bundles link anyway: internal/impl/kafka's sasl.go
// imports internal/serviceaccount (Redpanda Cloud service-account OAuth2
// tokens for SASL) in v4.110.0. It adds no component; any other RCL
// package fails the test.
var rclAllowed = map[string]bool{
	connectModule + "/internal/serviceaccount": true,
}

// config: six generated events of two users, 4 s apart from a fixed time,
// into 10 s tumbling windows; the idle timeout closes the last windows
// after the bounded input stops, and the process exits once every event is
// acknowledged.
const config = `
http:
  enabled: false
logger:
  level: WARN
input:
  generate:
    count: 6
    interval: ""
    mapping: |
      let i = counter() - 1
      root.user_id = ["u1", "u2"].index($i % 2)
      root.timestamp = (1719502980 + $i * 4).ts_format("2006-01-02T15:04:05Z", "UTC")
buffer:
  window:
    timestamp_field: timestamp
    idle_timeout: 1s
    windows:
      - name: per_user_10s
        type: tumbling
        size: 10s
        key_field: user_id
        key_name: user_id
        aggregates:
          - { name: events, type: count }
pipeline:
  processors:
    - validate:
        schema: |
          fields:
            user_id: { type: string }
            window_start: { type: timestamp }
            window_end: { type: timestamp }
            events: { type: int, min: 1 }
output:
  stdout: {}
`

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// goMod is our go.mod with another module name: the same go version and
// require versions (so the build resolves exactly what ours does), plus our
// module replaced by the repository.
func goMod(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) > 0 && f[0] == "module":
			out = append(out, "module example.com/connectbuild")
		case len(f) > 2 && f[0] == "replace" && (strings.HasPrefix(f[len(f)-1], ".") || strings.HasPrefix(f[len(f)-1], "/")):
			t.Fatalf("go.mod has a local replace this test does not translate: %s", l)
		default:
			out = append(out, l)
		}
	}
	out = append(out,
		"require github.com/streamkit/pipeline v0.0.0-00010101000000-000000000000",
		"",
		"replace github.com/streamkit/pipeline => "+root,
		"")
	return strings.Join(out, "\n")
}

// goEnv is the environment of the go commands: module mode with the module
// cache, no cgo, no workspace, no VCS stamping of the temp dir.
func goEnv() []string {
	return append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "CGO_ENABLED=0", "GOWORK=off")
}

func run(t *testing.T, dir string, timeout time.Duration, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

func TestConnectDistributionBuildsStaticAndRunsWindow(t *testing.T) {
	root := repoRoot()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"main.go":     mainGo,
		"go.mod":      goMod(t, root),
		"config.yaml": config,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}

	// Every connect package linked in is Apache-2.0 (the enterprise
	// components carry the Redpanda Community License header instead).
	t.Run("only Apache-2.0 connect packages", func(t *testing.T) {
		out := run(t, dir, 2*time.Minute, "go", "list", "-deps", "-json=ImportPath,Dir,GoFiles,Module", ".")
		dec := json.NewDecoder(bytes.NewReader(out))
		n, rcl := 0, 0
		for dec.More() {
			var p struct {
				ImportPath, Dir string
				GoFiles         []string
				Module          *struct{ Path, Version string }
			}
			if err := dec.Decode(&p); err != nil {
				t.Fatal(err)
			}
			if p.Module == nil || p.Module.Path != connectModule {
				continue
			}
			n++
			if p.Module.Version != "v4.110.0" {
				t.Errorf("%s from connect %s, want v4.110.0", p.ImportPath, p.Module.Version)
			}
			if strings.Contains(p.ImportPath, "enterprise") {
				t.Errorf("enterprise package linked: %s", p.ImportPath)
			}
			for _, f := range p.GoFiles {
				src, err := os.ReadFile(filepath.Join(p.Dir, f))
				if err != nil {
					t.Fatal(err)
				}
				head := string(src[:min(len(src), 1500)])
				if strings.Contains(head, "Community License") || !strings.Contains(head, "Apache License") {
					if rclAllowed[p.ImportPath] {
						rcl++
						continue
					}
					t.Errorf("%s/%s is not under the Apache License header", p.ImportPath, f)
				}
			}
		}
		if n == 0 {
			t.Fatal("no connect package in the dependency graph")
		}
		t.Logf("%d connect packages; RCL files linked from the allow list: %d", n, rcl)
	})

	start := time.Now()
	bin := filepath.Join(dir, "connect-pipeline")
	run(t, dir, 5*time.Minute, "go", "build", "-o", bin, ".")
	t.Logf("go build (CGO_ENABLED=0): %v", time.Since(start).Round(100*time.Millisecond))

	t.Run("static binary", func(t *testing.T) {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("program header %v: not a static binary", p.Type)
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) != 0 {
			t.Errorf("dynamic libraries needed: %v", libs)
		}
		bi, err := buildinfo.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if settings["CGO_ENABLED"] != "0" {
			t.Errorf("build setting CGO_ENABLED=%q, want 0", settings["CGO_ENABLED"])
		}
		deps := map[string]string{}
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil {
				v += " => " + d.Replace.Path
			}
			deps[d.Path] = v
		}
		for path, want := range map[string]string{
			connectModule:                         "v4.110.0",
			"github.com/redpanda-data/benthos/v4": "v4.80.0",
			"github.com/streamkit/pipeline":       "v0.0.0-00010101000000-000000000000 => " + root,
		} {
			if deps[path] != want {
				t.Errorf("module %s: %q, want %q", path, deps[path], want)
			}
		}
	})

	t.Run("components registered", func(t *testing.T) {
		out := run(t, dir, 30*time.Second, bin, "list", "--format", "json", "inputs", "outputs", "processors", "buffers", "scanners")
		var got map[string][]string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("list: %v\n%s", err, out)
		}
		for kind, names := range map[string][]string{
			"inputs":     {"redpanda", "retry_topics", "generate", "stdin"},
			"outputs":    {"redpanda", "dead_letter", "route_errors", "retry_router", "stdout"},
			"processors": {"validate", "dlq_keep_raw", "mapping"},
			"buffers":    {"window"},
			"scanners":   {"batched_lines"},
		} {
			for _, n := range names {
				if !slices.Contains(got[kind], n) {
					t.Errorf("%s: %s is not registered (have %v)", kind, n, got[kind])
				}
			}
		}
	})

	t.Run("window config runs", func(t *testing.T) {
		run(t, dir, 30*time.Second, bin, "lint", "config.yaml")
		start := time.Now()
		out := run(t, dir, 30*time.Second, bin, "-c", "config.yaml")
		t.Logf("run: %v", time.Since(start).Round(100*time.Millisecond))
		got := strings.Split(strings.TrimSpace(string(out)), "\n")
		sort.Strings(got)
		row := func(u, from, to string, n int) string {
			return fmt.Sprintf(`{"user_id":%q,"window_start":"2024-06-27T15:43:%sZ","window_end":"2024-06-27T15:43:%sZ","events":%d}`, u, from, to, n)
		}
		// u1 at :00 :08 :16, u2 at :04 :12 :20.
		want := []string{
			row("u1", "00", "10", 2), row("u1", "10", "20", 1),
			row("u2", "00", "10", 1), row("u2", "10", "20", 1), row("u2", "20", "30", 1),
		}
		sort.Strings(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("stdout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
