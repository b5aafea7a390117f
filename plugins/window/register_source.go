package window

// Importing the window buffer also registers the window_kafka input built
// for it, so a Redpanda Connect build that imports this package has both.
import _ "github.com/streamkit/pipeline/plugins/window/source"
