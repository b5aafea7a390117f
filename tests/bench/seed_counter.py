#!/usr/bin/python3
"""F: the seeds' approach, for the benchmark (tests/bench).

Consume the clickstream topic with confluent-kafka (Debian's
python3-confluent-kafka), json.loads each event, parse its ISO timestamp and
count per (user, 10 s window) in a dict. Stops after --expected events and
writes "user<TAB>window_start_unix<TAB>count" lines to --out so the Go driver
can compare the counts with the other implementations.
"""
import argparse
import json
import sys
import time
from datetime import datetime, timezone

from confluent_kafka import Consumer, KafkaError


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", default="clickstream")
    ap.add_argument("--group", required=True)
    ap.add_argument("--expected", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()

    c = Consumer({
        "bootstrap.servers": a.brokers,
        "group.id": a.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
    })
    c.subscribe([a.topic])
    counts = {}
    n = 0
    start = time.monotonic()
    deadline = start + a.timeout
    try:
        while n < a.expected:
            if time.monotonic() > deadline:
                print(f"timeout after {n} of {a.expected} events", file=sys.stderr)
                return 1
            for m in c.consume(num_messages=10000, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    print(f"consume error: {m.error()}", file=sys.stderr)
                    continue
                ev = json.loads(m.value())
                ts = datetime.fromisoformat(ev["timestamp"])
                if ts.tzinfo is None:
                    ts = ts.replace(tzinfo=timezone.utc)
                key = (ev["user_id"], int(ts.timestamp()) // 10 * 10)
                counts[key] = counts.get(key, 0) + 1
                n += 1
    finally:
        c.close()
    elapsed = time.monotonic() - start
    with open(a.out, "w") as f:
        for (u, w), k in counts.items():
            f.write(f"{u}\t{w}\t{k}\n")
    print(json.dumps({"events": n, "seconds": elapsed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
