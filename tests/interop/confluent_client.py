"""The seeds' confluent-kafka style, unchanged: a Producer with a delivery
callback and flush(), then a Consumer in a group reading from the earliest
offset. Prints one JSON line with what it saw, for the Go test to assert.

usage: confluent_client.py BROKERS IN_TOPIC OUT_TOPIC N

N events of three users go to IN_TOPIC, stamped now; the consumer reads the
window results of those users from OUT_TOPIC until they count N events,
then for 3 more seconds to catch anything counted twice.
"""
import json
import sys
import time
from datetime import datetime, timezone

from confluent_kafka import Consumer, Producer

brokers, in_topic, out_topic, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
users = [f"py-user-{i}-{int(time.time())}" for i in range(3)]
delivered, failed = [], []


def delivery_report(err, msg):
    if err is not None:
        failed.append(str(err))
    else:
        delivered.append(msg.offset())


producer = Producer({"bootstrap.servers": brokers})
for i in range(n):
    user = users[i % 3]
    event = {
        "event_type": "click",
        "user_id": user,
        "action": "view",
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "metadata": {"session_id": "s1", "page": f"/p/{i}", "item_id": "05efee91", "user_agent": "confluent"},
    }
    producer.produce(in_topic, key=user, value=json.dumps(event).encode("utf-8"), callback=delivery_report)
    producer.poll(0)
producer.flush(30)

consumer = Consumer({
    "bootstrap.servers": brokers,
    "group.id": "interop-confluent",
    "auto.offset.reset": "earliest",
})
consumer.subscribe([out_topic])
received, counted, stop_at = [], 0, None
deadline = time.time() + 90
while time.time() < deadline and (stop_at is None or time.time() < stop_at):
    msg = consumer.poll(1.0)
    if msg is None:
        continue
    if msg.error():
        raise SystemExit(f"consumer error: {msg.error()}")
    value = json.loads(msg.value())
    if value.get("user_id") not in users:
        continue  # the demo's own users
    received.append({"key": msg.key().decode(), "value": value})
    if value.get("window") == "user_10s":
        counted += value["events"]
    if counted >= n and stop_at is None:
        stop_at = time.time() + 3
consumer.close()
print(json.dumps({"delivered": len(delivered), "failed": failed, "users": users, "received": received}))
