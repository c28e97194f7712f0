"""Publishing throughput into the local broker, side by side in one run:

  logpipe    `logpipe produce` (release build): generate + publish, idempotent, batched,
             compressed, one wait for the delivery reports at the end
  original   the original producer DAG's task re-stated (DESIGN.md section 1): Faker and
             random.choice build each line, confluent-kafka publishes it and `flush()` waits
             for it before the next (one synchronous round trip per line)
  ceiling    what the broker takes from confluent-kafka with lines made beforehand
             (idempotent, lz4): the stand-in's own bound, for scale

    make bench-producer          # or, with the stack started and its env loaded:
    python functions/producer/benches/producer_compare.py --count 1000000

The original is slow enough that a full million would take minutes: it runs for
--original-seconds (default 30) and its rate is what is compared. Prints a Markdown table.
"""

import argparse
import json
import os
import platform
import random
import subprocess
import time
from datetime import datetime
from pathlib import Path

from confluent_kafka import Producer
from faker import Faker

ROOT = Path(__file__).resolve().parents[3]
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVER", "127.0.0.1:9092")
TOPIC = os.environ.get("KAFKA_TOPIC", "billion_website_logs")

# The original DAG's value sets.
METHODS = ["GET", "POST", "PUT", "DELETE"]
ENDPOINTS = ["/api/users", "/home", "/about", "/contact", "/services"]
STATUSES = [200, 301, 302, 400, 404, 500]
REFERRERS = ["https://example.com", "https://google.com", "-", "https://bing.com", "https://yahoo.com"]
USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 14_6 like Mac OS X)",
    "Mozilla/5.0 (X11; Linux x86_64)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36",
]


def original_line(fake):
    timestamp = datetime.now().strftime("%b %d %Y, %H:%M:%S")
    return (f'{fake.ipv4()} - - [{timestamp}] "{random.choice(METHODS)} {random.choice(ENDPOINTS)} HTTP/1.1" '
            f'{random.choice(STATUSES)} {random.randint(1000, 15000)} "{random.choice(REFERRERS)}" '
            f'"{random.choice(USER_AGENTS)}"')


def run_original(seconds):
    """The original task's loop, bounded by time: lines/s."""
    fake = Faker()
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    sent, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        producer.produce(TOPIC, original_line(fake))
        producer.flush()
        sent += 1
    return sent, time.perf_counter() - start


def run_ceiling(count):
    lines = [original_line(Faker()).encode()] * 1000
    errors = []
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True,
                         "compression.type": "lz4", "linger.ms": 5})
    start = time.perf_counter()
    for i in range(count):
        while True:
            try:
                producer.produce(TOPIC, lines[i % 1000], on_delivery=lambda e, _: e and errors.append(e))
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    assert producer.flush(120) == 0 and not errors, errors[:3]
    return count, time.perf_counter() - start


def run_logpipe(binary, count):
    start = time.perf_counter()
    done = subprocess.run([binary, "produce", "--quiet", "--count", str(count), "--seed", "7"],
                          capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"logpipe produce failed: {done.stderr}")
    report = json.loads(done.stdout)
    assert report["produced"] == count, report
    return count, elapsed  # process start to exit: start-up and the final wait included


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="lines for logpipe and the ceiling")
    parser.add_argument("--original-seconds", type=float, default=30.0)
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "logpipe"))
    args = parser.parse_args()

    rows = [
        ("logpipe produce (release)", *run_logpipe(args.binary, args.count)),
        ("original task (Faker, flush per line)", *run_original(args.original_seconds)),
        ("broker ceiling (confluent-kafka, premade lines)", *run_ceiling(args.count)),
    ]
    rates = {name: n / s for name, n, s in rows}
    original = rates[rows[1][0]]
    print(f"Broker: tansu at {BOOTSTRAP}, topic {TOPIC}; {os.cpu_count()} cores, {cpu_name()}\n")
    print("| producer | lines | seconds | lines/s | × original |")
    print("|---|---:|---:|---:|---:|")
    for name, n, s in rows:
        print(f"| {name} | {n:,} | {s:.2f} | {n / s:,.0f} | {rates[name] / original:,.1f} |")


if __name__ == "__main__":
    main()
