package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// appSummary and appDescription replace Benthos' "A stream processor for
// mundane tasks" in `pipeline --help`: a newcomer should learn what this
// binary is for and where to start. (Benthos fixes the app's Usage text, so
// the help template is where it can change.)
const appSummary = "Kafka stream jobs as YAML: event-time windows, validation, retry topics, dead letters (Benthos v4 runtime)"

const appDescription = `pipeline runs stream-processing jobs written as YAML configs: the clickstream
   and IoT jobs people write with Faust, PyFlink or a confluent_kafka loop. With
   KAFKA_BROKERS unset it starts an embedded Kafka broker on 127.0.0.1:9092.

   Start here (from the repository root):

     pipeline demo                           broker, demo events, main job, /track API, live page
     pipeline -c configs/clickstream.yaml    the main job (windows, validation, retries, DLQ)
     pipeline broker                         the embedded Kafka broker alone
     pipeline dlq inspect --topic clickstream-dlq
     pipeline lint ./configs/...             check configs; pipeline test ./configs/... runs their tests
     pipeline list inputs                    every component; pipeline create //window prints a config`

func init() {
	cli.AppHelpTemplate = strings.Replace(strings.Replace(cli.AppHelpTemplate,
		`{{template "helpNameTemplate" .}}`, `{{.HelpName}} - `+appSummary, 1),
		`{{template "descriptionTemplate" .}}`, appDescription, 1)
}
