package embedded

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

func splitPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return h, n
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
