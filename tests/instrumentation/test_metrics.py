"""Metrics are queued by the call and handed to the SDK when a reader collects."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.metrics._internal import _ProxyMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from qwenobs.fake.samples import TRAVEL_SYSTEM_PROMPT
from qwenobs.instruments import QUEUE_LIMIT, Instruments, MetricKey

SYSTEM = {"role": "system", "content": TRAVEL_SYSTEM_PROMPT}  # cacheable
USER = {"role": "user", "content": "Should I bring an umbrella to Shanghai?"}
KEY = MetricKey("qwen-plus", "qwen-plus", "dashscope.aliyuncs.com", 443, None)
USAGE = {
    "gen_ai.usage.input_tokens": 300,
    "gen_ai.usage.output_tokens": 20,
    "gen_ai.usage.cache_read.input_tokens": 256,
}


def call(fake):
    fake.reply("Yes.")
    return fake.client().chat.completions.create(
        model="qwen-plus", max_tokens=50, messages=[SYSTEM, USER]
    )


def cached_sum(spans) -> int:
    total = sum(s.attributes["gen_ai.usage.cache_read.input_tokens"] for s in spans)
    assert total >= 256, "the repeated system prompt is served from the prefix cache"
    return total


def test_a_collection_sees_every_finished_call_with_exemplars_of_its_span(fake, telemetry):
    for _ in range(3):
        call(fake)
    spans = telemetry.spans()
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert duration.count == 3
    assert {e.span_id for e in duration.exemplars} <= {s.context.span_id for s in spans}
    assert duration.exemplars, "a sampled call's span is the measurement's exemplar"
    (cached,) = telemetry.points("dashscope.client.cache_read.input_tokens")
    assert cached.value == cached_sum(spans)


def test_instrumenting_again_keeps_one_set_of_counters(fake, telemetry):
    call(fake)
    telemetry.instrument()  # same meter provider: the same instruments and running totals
    call(fake)
    (cached,) = telemetry.points("dashscope.client.cache_read.input_tokens")
    assert cached.value == cached_sum(telemetry.spans())
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert duration.count == 2


def test_the_queue_stays_bounded_when_nothing_collects_and_no_call_pays_for_the_backlog():
    reader = InMemoryMetricReader()
    instruments = Instruments(MeterProvider(metric_readers=[reader]).get_meter("t"))
    calls = QUEUE_LIMIT + 500
    for _ in range(calls):
        before = len(instruments._pending)
        instruments.record(KEY, 0.5, USAGE, None)
        assert len(instruments._pending) <= QUEUE_LIMIT + 1
        assert len(instruments._pending) >= before - 1  # at most two handed over per call
    points = {
        m.name: m.data.data_points
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert points["gen_ai.client.operation.duration"][0].count == calls
    assert points["dashscope.client.cache_read.input_tokens"][0].value == 256 * calls


def test_instrumenting_before_and_after_the_global_provider_is_set_loses_nothing(tmp_path):
    # The global meter provider can be set once per process: run this in a fresh interpreter.
    script = textwrap.dedent(
        """
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        import qwenobs
        from qwenobs.fake import FakeDashScope

        qwenobs.instrument()  # no provider yet: the API's proxy meter
        qwenobs.uninstrument()
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        qwenobs.instrument()
        fake = FakeDashScope()
        fake.reply("Yes.", repeat=True)
        client = fake.client()
        system = {"role": "system", "content": "You plan trips around Hangzhou. " * 80}
        for _ in range(10):
            client.chat.completions.create(
                model="qwen-plus", max_tokens=50,
                messages=[system, {"role": "user", "content": "Umbrella?"}],
            )
        points = {
            m.name: m.data.data_points
            for rm in reader.get_metrics_data().resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        }
        print(points["gen_ai.client.operation.duration"][0].count)
        print(points["dashscope.client.cache_read.input_tokens"][0].value > 0)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out == ["10", "True"]


def points_of(reader: InMemoryMetricReader) -> dict:
    data = reader.get_metrics_data()
    if data is None:
        return {}
    return {
        m.name: m.data.data_points
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }


def record_if_wanted(instruments: Instruments) -> None:
    """What a finished call does (lifecycle.TracedCall._end)."""
    if instruments.enabled or instruments.recording():
        instruments.record(KEY, 0.5, USAGE, None)


def test_no_meter_provider_queues_nothing_and_one_set_later_gets_every_call_from_then_on():
    # The API's stand-in for the global provider, in this process only (not the global one).
    stand_in = _ProxyMeterProvider()
    instruments = Instruments(stand_in.get_meter("t"))
    for _ in range(QUEUE_LIMIT + 10):
        record_if_wanted(instruments)
    assert len(instruments._pending) == 0, "nothing to measure for: nothing kept"
    reader = InMemoryMetricReader()
    stand_in.on_set_meter_provider(MeterProvider(metric_readers=[reader]))
    for _ in range(7):
        record_if_wanted(instruments)
    points = points_of(reader)
    assert points["gen_ai.client.operation.duration"][0].count == 7
    assert points["dashscope.client.cache_read.input_tokens"][0].value == 256 * 7


@pytest.mark.parametrize("later", [False, True], ids=["given", "set-later"])
def test_a_no_op_meter_provider_queues_nothing(later):
    if later:
        stand_in = _ProxyMeterProvider()
        instruments = Instruments(stand_in.get_meter("t"))
        stand_in.on_set_meter_provider(NoOpMeterProvider())
    else:
        instruments = Instruments(NoOpMeterProvider().get_meter("t"))
    for _ in range(100):
        record_if_wanted(instruments)
    assert len(instruments._pending) == 0
    assert not instruments.recording()


# Sync and async, streamed and not, through instrument() with the global provider: none set at
# first (nothing may be queued), then set (every call from then on is measured). The global
# meter provider can be set once per process, so each case runs in a fresh interpreter.
GLOBAL_PROVIDER_SET_LATER = """
import asyncio, sys
from opentelemetry import metrics
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
import qwenobs
from qwenobs import instruments as qi
from qwenobs.fake import FakeDashScope

qwenobs.instrument()
fake = FakeDashScope()
fake.reply("Yes.", repeat=True)
client, aclient = fake.client(), fake.async_client()
ASK = dict(model="qwen-plus", max_tokens=50, messages=[{"role": "user", "content": "Umbrella?"}])

async def async_calls():
    await aclient.chat.completions.create(**ASK)
    async for _ in await aclient.chat.completions.create(**ASK, stream=True):
        pass

def four_calls():
    client.chat.completions.create(**ASK)
    for _ in client.chat.completions.create(**ASK, stream=True):
        pass
    asyncio.run(async_calls())

for _ in range(5):
    four_calls()
print(sum(len(i._pending) for i in list(qi._live)))
reader = InMemoryMetricReader()
metrics.set_meter_provider(
    NoOpMeterProvider() if sys.argv[1] == "noop" else MeterProvider(metric_readers=[reader])
)
for _ in range(3):
    four_calls()
print(sum(len(i._pending) for i in list(qi._live)))
data = reader.get_metrics_data() if sys.argv[1] == "sdk" else None
points = {m.name: m.data.data_points for m in data.resource_metrics[0].scope_metrics[0].metrics} if data else {}
print(sum(p.count for p in points.get("gen_ai.client.operation.duration", ())))
print(sum(p.count for p in points.get("gen_ai.client.operation.time_to_first_chunk", ())))
"""


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        # queued before, queued after, calls measured, streams measured (3 rounds of 4 calls)
        ("sdk", ["0", "12", "12", "6"]),
        ("noop", ["0", "0", "0", "0"]),
    ],
)
def test_the_global_provider_set_after_instrument_gets_every_later_call(provider, expected):
    out = subprocess.run(
        [sys.executable, "-c", GLOBAL_PROVIDER_SET_LATER, provider],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == expected


def test_threads_recording_while_a_reader_collects_lose_nothing():
    reader = InMemoryMetricReader()
    instruments = Instruments(MeterProvider(metric_readers=[reader]).get_meter("t"))
    per_thread, threads = 2_000, 8
    done = threading.Event()

    def collect_repeatedly() -> None:
        while not done.is_set():
            reader.get_metrics_data()

    def work() -> None:
        for _ in range(per_thread):
            instruments.record(KEY, 0.5, USAGE, None)

    collector = threading.Thread(target=collect_repeatedly)
    collector.start()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    done.set()
    collector.join()
    data = reader.get_metrics_data()
    points = {m.name: m.data.data_points for m in data.resource_metrics[0].scope_metrics[0].metrics}
    assert points["gen_ai.client.operation.duration"][0].count == per_thread * threads
    (tokens_in,) = [
        p
        for p in points["gen_ai.client.token.usage"]
        if p.attributes["gen_ai.token.type"] == "input"
    ]
    assert tokens_in.sum == 300 * per_thread * threads
    assert points["dashscope.client.cache_read.input_tokens"][0].value == 256 * per_thread * threads
