"""kafka-python with JSON serializers, as Python users write it: a
KafkaProducer with value_serializer=json.dumps, then a KafkaConsumer with a
value_deserializer. Prints one JSON line with what it saw.

usage: kafka_python_client.py BROKERS IN_TOPIC OUT_TOPIC N

N events of two users go to IN_TOPIC, stamped now; the consumer reads the
window results of those users from OUT_TOPIC until they count N events,
then for 3 more seconds to catch anything counted twice.
"""
import json
import sys
import time
from datetime import datetime, timezone

from kafka import KafkaConsumer, KafkaProducer

brokers, in_topic, out_topic, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
users = [f"kp-user-{i}-{int(time.time())}" for i in range(2)]

producer = KafkaProducer(
    bootstrap_servers=brokers,
    key_serializer=lambda k: k.encode("utf-8"),
    value_serializer=lambda v: json.dumps(v).encode("utf-8"),
)
futures = []
for i in range(n):
    user = users[i % 2]
    futures.append(producer.send(in_topic, key=user, value={
        "event_type": "scroll",
        "user_id": user,
        "action": "view",
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "metadata": {"session_id": "s2", "page": f"/k/{i}", "item_id": "05efee91", "user_agent": "kafka-python"},
    }))
producer.flush()
acked = sum(1 for f in futures if f.get(timeout=30) is not None)
producer.close()

consumer = KafkaConsumer(
    out_topic,
    bootstrap_servers=brokers,
    group_id="interop-kafka-python",
    auto_offset_reset="earliest",
    key_deserializer=lambda k: k.decode("utf-8"),
    value_deserializer=lambda v: json.loads(v.decode("utf-8")),
    consumer_timeout_ms=1000,
)
received, counted, stop_at = [], 0, None
deadline = time.time() + 90
while time.time() < deadline and (stop_at is None or time.time() < stop_at):
    for msg in consumer:  # ends after consumer_timeout_ms without records
        if time.time() > deadline or (stop_at is not None and time.time() > stop_at):
            break
        if msg.value.get("user_id") not in users:
            continue  # the demo's own users
        received.append({"key": msg.key, "value": msg.value})
        if msg.value.get("window") == "user_10s":
            counted += msg.value["events"]
        if counted >= n and stop_at is None:
            stop_at = time.time() + 3
consumer.close()
print(json.dumps({"delivered": acked, "failed": [], "users": users, "received": received}))
