"""The seeds' confluent-kafka style, unchanged: a Producer with a delivery
callback and flush(), then a Consumer in a group reading from the earliest
offset. Prints one JSON line with what it saw, for the Go test to assert.

usage: confluent_client.py BROKERS IN_TOPIC OUT_TOPIC N EXPECT

N events go to IN_TOPIC; the consumer reads EXPECT records from OUT_TOPIC.
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer

brokers, in_topic, out_topic, n, expect = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
delivered, failed = [], []


def delivery_report(err, msg):
    if err is not None:
        failed.append(str(err))
    else:
        delivered.append(msg.offset())


producer = Producer({"bootstrap.servers": brokers})
for i in range(n):
    user = f"py-user-{i % 3}"
    event = {
        "event_type": "click",
        "user_id": user,
        "action": "view",
        "timestamp": "2024-06-27T15:43:43.%06d" % i,
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
received = []
deadline = time.time() + 60
while len(received) < expect and time.time() < deadline:
    msg = consumer.poll(1.0)
    if msg is None:
        continue
    if msg.error():
        raise SystemExit(f"consumer error: {msg.error()}")
    received.append({"key": msg.key().decode(), "value": json.loads(msg.value())})
consumer.close()
print(json.dumps({"delivered": len(delivered), "failed": failed, "received": received}))
