"""The original consumer's parse step, re-stated for a side-by-side benchmark.

Same regex, same strptime/isoformat as the original DAG's parse_log_entry
(DESIGN.md section 1); reads lines from stdin, parses them all once untimed to
warm up, then times a second pass and prints lines/s.

    logpipe generate -n 100000 --seed 7 | python3 original_parse.py
"""

import re
import sys
import time
from datetime import datetime

LOG_PATTERN = (
    r'(?P<ip>[\d\.]+) - - \[(?P<timestamp>.*?)\] "(?P<method>\w+) (?P<endpoint>[\w/]+) '
    r'(?P<protocol>[\w/\.]+)" (?P<status>\d+) (?P<size>\d+) "(?P<referrer>.*?)" '
    r'"(?P<user_agent>.*?)"'
)


def parse_log_entry(log_entry):
    match = re.match(LOG_PATTERN, log_entry)
    if not match:
        return None
    data = match.groupdict()
    try:
        data["timestamp"] = datetime.strptime(data["timestamp"], "%b %d %Y, %H:%M:%S").isoformat()
    except ValueError:
        return None
    return data


def main():
    lines = sys.stdin.read().splitlines()
    parsed = [parse_log_entry(line) for line in lines]
    start = time.perf_counter()
    parsed = [parse_log_entry(line) for line in lines]
    elapsed = time.perf_counter() - start
    ok = sum(1 for p in parsed if p is not None)
    print(f"original Python parse+normalise: {len(lines)} lines ({ok} parsed) "
          f"in {elapsed:.3f} s = {len(lines) / elapsed:,.0f} lines/s")


if __name__ == "__main__":
    main()
