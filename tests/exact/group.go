package exact

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/streamkit/pipeline/internal/kafkatest"
)

// Group is the job's consumer group (JobConfig).
const Group = "exact"

// WaitAssigned waits until the job's consumer group is stable with exactly
// the given instances (INSTANCE_IDs) as members, each owning at least one
// partition of the events topic and all of them owned, and returns who
// owns what. A scaling
// scenario calls it so that it proves the partitions did move, instead of
// trusting that starting a process made them move.
func (e *Env) WaitAssigned(timeout time.Duration, ids ...string) string {
	e.t.Helper()
	adm := kadm.NewClient(kafkatest.Client(e.t, e.Broker.Addr))
	want := append([]string(nil), ids...)
	sort.Strings(want)
	last, owners := "nothing described", ""
	settled := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		groups, err := adm.DescribeGroups(ctx, Group)
		if err != nil {
			last = err.Error()
			return false
		}
		g := groups[Group]
		var ok bool
		owners, ok = e.assignment(g)
		last = fmt.Sprintf("state %s, members %s", g.State, owners)
		return ok && g.State == "Stable" && strings.Join(memberIDs(g), ",") == strings.Join(want, ",")
	}
	// Each check is a DescribeGroups request: every 200 ms is enough.
	if !kafkatest.Every(timeout, 200*time.Millisecond, settled) {
		e.t.Fatalf("group %s did not settle on members %v each owning a partition of %s within %v: %s", Group, want, EventsTopic, timeout, last)
	}
	return owners
}

// memberIDs are the group members' instance ids (member ids when not
// static), sorted.
func memberIDs(g kadm.DescribedGroup) []string {
	var ids []string
	for _, m := range g.Members {
		ids = append(ids, memberID(m))
	}
	sort.Strings(ids)
	return ids
}

func memberID(m kadm.DescribedGroupMember) string {
	if m.InstanceID != nil {
		return *m.InstanceID
	}
	return m.MemberID
}

// assignment renders who owns which events partitions, and tells whether
// every member owns at least one and all partitions are owned.
func (e *Env) assignment(g kadm.DescribedGroup) (string, bool) {
	all, total := true, 0
	var parts []string
	for _, m := range g.Members {
		var owned []int32
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range c.Topics {
				if t.Topic == EventsTopic {
					owned = append(owned, t.Partitions...)
				}
			}
		}
		all = all && len(owned) > 0
		total += len(owned)
		sort.Slice(owned, func(i, j int) bool { return owned[i] < owned[j] })
		parts = append(parts, fmt.Sprintf("%s=%v", memberID(m), owned))
	}
	return strings.Join(parts, " "), all && len(g.Members) > 0 && total == e.Data.Opt.Partitions
}
