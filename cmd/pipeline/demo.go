package main

// demoConfigs are the streams `pipeline demo` runs together: the main job,
// the /track API and the live page, all on one HTTP server.
var demoConfigs = []string{"configs/clickstream.yaml", "configs/track_api.yaml", "configs/live_view.yaml"}

// expandDemo turns `pipeline demo [flags]` into streams mode over the demo
// configs, so the whole product starts with one command while
// `pipeline -c configs/clickstream.yaml` keeps running the main job alone.
// Endpoints are not prefixed with the stream name, so the page is at / and
// the API at /track.
func expandDemo(args []string) []string {
	if len(args) < 2 || args[1] != "demo" {
		return args
	}
	out := append([]string{args[0], "streams", "--prefix-stream-endpoints=false"}, args[2:]...)
	return append(out, demoConfigs...)
}
