"""The benchmark's generated readings: repeats carry an earlier reading's content at new offsets."""

from __future__ import annotations

import json

from bench.data import bpm_lines


def readings(frame) -> dict[int, tuple[dict, tuple[int, int]]]:
    """Each line's id: its reading (device, time, heartrate) and its Kafka coordinates."""
    found = {}
    for row in frame.collect():
        line = json.loads(row.value)
        found[row.id] = (json.loads(line["value"]), (line["partition"], line["offset"]))
    return found


def test_repeats_are_earlier_readings_spread_over_them_at_new_offsets(spark):
    base = readings(bpm_lines(spark, 40, first=0, users=4, days=1, per_device=10))
    repeats = readings(bpm_lines(spark, 4, first=40, users=4, days=1, per_device=10, repeating=40))
    assert sorted(repeats) == [40, 41, 42, 43]
    # the four repeats are readings 0, 10, 20 and 30, spread evenly over the forty
    assert [reading for reading, _ in repeats.values()] == [base[i][0] for i in (0, 10, 20, 30)]
    offsets = {coordinates for _, coordinates in base.values()}
    assert not offsets & {coordinates for _, coordinates in repeats.values()}
