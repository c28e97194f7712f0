"""Create a Kafka topic if it does not exist (idempotent); used by `infra/local/stack start`.

Exits non-zero if the broker cannot be reached, creation fails, or an existing topic has a
different partition count (a stale broker from another configuration: say so, don't hide it).
"""

import argparse
import sys
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic


def partition_count(admin: AdminClient, topic: str) -> int | None:
    meta = admin.list_topics(timeout=10)
    t = meta.topics.get(topic)
    if t is None or t.error is not None:
        return None
    return len(t.partitions)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--partitions", type=int, default=3)
    args = ap.parse_args()

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    have = partition_count(admin, args.topic)
    if have is None:
        fut = admin.create_topics([NewTopic(args.topic, num_partitions=args.partitions)])[args.topic]
        try:
            fut.result(timeout=15)
            print(f"topic {args.topic}: created with {args.partitions} partitions")
        except KafkaException as e:
            # Another caller may have created it between our check and our create.
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
        # Metadata can lag a create by a moment.
        deadline = time.monotonic() + 10
        while (have := partition_count(admin, args.topic)) is None and time.monotonic() < deadline:
            time.sleep(0.2)
    else:
        print(f"topic {args.topic}: already exists")

    if have != args.partitions:
        print(
            f"topic {args.topic}: has {have} partitions, expected {args.partitions}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
