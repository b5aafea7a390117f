"""The seed's /track app (seed 002: FastAPI + pydantic `Event` + a Kafka
producer), with kafka-python as the seeds' other apps use it, for
`go run ./tests/loadtrack` to measure next to configs/track_api.yaml.

usage: seed_app.py BROKERS TOPIC PORT MODE     (MODE: ack | noack)

ack:   the endpoint waits for the broker's acknowledgement (future.get()),
       so a 200 means written, as ours;
noack: the seed's own behaviour: answer once the record is queued.
Both use acks="all" like our idempotent producer.
"""
import sys
from datetime import datetime
from typing import Literal, Optional

import uvicorn
from fastapi import FastAPI
from kafka import KafkaProducer
from pydantic import BaseModel

brokers, topic, port, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


class Metadata(BaseModel):
    session_id: Optional[str] = None
    page: Optional[str] = None
    item_id: Optional[str] = None
    user_agent: Optional[str] = None


class Event(BaseModel):
    event_type: Literal["page_view", "click", "scroll", "add_to_cart", "purchase"]
    user_id: str
    action: str
    timestamp: datetime
    metadata: Optional[Metadata] = None


producer = KafkaProducer(bootstrap_servers=brokers, acks="all")
app = FastAPI()


@app.post("/track")
def track(event: Event):
    # A plain def runs in FastAPI's thread pool, so a request blocked on its
    # acknowledgement does not hold up the others.
    data = event.json().encode()
    future = producer.send(topic, key=event.user_id.encode(), value=data)
    if mode == "ack":
        future.get(timeout=10)
    return {"message": "User data submitted successfully!", "user_data": {"user_id": event.user_id}}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
