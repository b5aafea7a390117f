package embedded

import (
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// autoCreateForOldMetadata makes Metadata requests below v4 create unknown
// topics, as Kafka does: those versions have no allow_auto_topic_creation
// field and leave the choice to the broker's auto.create.topics.enable, but
// kfake reads the missing field as false. kafka-python (2.0) asks with v1, so
// without this its first write to a new topic waits 60 s for metadata and
// fails. The request is only amended; kfake still answers it.
func autoCreateForOldMetadata(c *kfake.Cluster) {
	c.ControlKey(int16(kmsg.Metadata), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if m, ok := req.(*kmsg.MetadataRequest); ok && m.Version < 4 {
			m.AllowAutoTopicCreation = true
		}
		return nil, nil, false
	})
}
