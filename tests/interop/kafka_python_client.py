"""kafka-python with JSON serializers, as Python users write it: a
KafkaProducer with value_serializer=json.dumps, then a KafkaConsumer with a
value_deserializer. Prints one JSON line with what it saw.

usage: kafka_python_client.py BROKERS IN_TOPIC OUT_TOPIC N EXPECT

N events go to IN_TOPIC; the consumer reads EXPECT records from OUT_TOPIC.
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer

brokers, in_topic, out_topic, n, expect = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

producer = KafkaProducer(
    bootstrap_servers=brokers,
    key_serializer=lambda k: k.encode("utf-8"),
    value_serializer=lambda v: json.dumps(v).encode("utf-8"),
)
futures = []
for i in range(n):
    user = f"kp-user-{i % 2}"
    futures.append(producer.send(in_topic, key=user, value={
        "event_type": "scroll",
        "user_id": user,
        "action": "view",
        "timestamp": "2024-06-27T15:43:43Z",
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
    consumer_timeout_ms=60000,
)
received = []
for msg in consumer:
    received.append({"key": msg.key, "value": msg.value})
    if len(received) >= expect:
        break
consumer.close()
print(json.dumps({"delivered": acked, "failed": [], "received": received}))
