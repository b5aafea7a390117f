package window

// Importing the window buffer also registers window_repartition, the re-key
// step for jobs that window by something other than the Kafka key.
import _ "github.com/streamkit/pipeline/plugins/window/repartition"
