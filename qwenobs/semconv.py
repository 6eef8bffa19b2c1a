"""Every attribute, event and metric name qwenobs writes (GenAI semantic conventions; ours under
``dashscope.``), defined once; and how a call is recognised as a DashScope chat call."""

from __future__ import annotations

from collections.abc import Iterable

OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
PROVIDER_NAME = "dashscope"  # no well-known value exists; custom values are allowed
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_TOP_P = "gen_ai.request.top_p"
REQUEST_SEED = "gen_ai.request.seed"
REQUEST_STOP = "gen_ai.request.stop_sequences"
REQUEST_STREAM = "gen_ai.request.stream"
REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
RESPONSE_ID = "gen_ai.response.id"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
RESPONSE_TTFC = "gen_ai.response.time_to_first_chunk"
USAGE_INPUT = "gen_ai.usage.input_tokens"
USAGE_OUTPUT = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ = "gen_ai.usage.cache_read.input_tokens"
USAGE_REASONING = "gen_ai.usage.reasoning.output_tokens"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"
TOKEN_TYPE = "gen_ai.token.type"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
HTTP_STATUS = "http.response.status_code"

THINKING = "dashscope.request.enable_thinking"
THINKING_BUDGET = "dashscope.request.thinking_budget"
REASONING_CHARS = "dashscope.response.reasoning.chars"
TIME_TO_FIRST_CONTENT = "dashscope.response.time_to_first_content"
TOOL_ROUNDS = "dashscope.tool.rounds"
RESPONSE_TOOL_CALLS = "dashscope.response.tool_calls"
REQUEST_ID = "dashscope.request_id"
ERROR_CODE = "dashscope.error.code"  # DashScope's code for a failed call: limit_requests, ...
# Under content capture: the request's parameters as sent (JSON; messages and tools have their
# own attributes), so a captured trace can be replayed and the application's calls checked.
REQUEST_PARAMETERS = "dashscope.request.parameters"
STREAM_END = "dashscope.stream.end"  # how a stream's span ended: exhausted, closed, abandoned, ...
VALIDATION_EVENT = "dashscope.validation"
SYSTEM_PROMPT_FINGERPRINT = "dashscope.system_prompt.fingerprint"  # content-free, per call

# What a call cost (qwenobs.cost): in the currency its region bills in.
COST_AMOUNT = "dashscope.cost.amount"
COST_CURRENCY = "dashscope.cost.currency"  # "CNY" (China) or "USD" (international)
COST_TIER = "dashscope.cost.tier"  # the input-size band the call was billed at, e.g. "0-128K"
COST_PRICES_AS_OF = "dashscope.cost.prices_as_of"  # the date of the price table used
COST_CACHE_SAVINGS = "dashscope.cost.cache_savings"  # what the prefix cache saved on this call
# The cost convention proposed for the GenAI semantic conventions (not settled; opt-in).
GENAI_COST_AMOUNT = "gen_ai.usage.cost.amount"
GENAI_COST_CURRENCY = "gen_ai.usage.cost.currency"
GENAI_COST_SOURCE = "gen_ai.usage.cost.source"

# Agent and tool spans (qwenobs.agent, qwenobs.tool).
OPERATION_CHAT = "chat"
OPERATION_AGENT = "invoke_agent"
OPERATION_TOOL = "execute_tool"
CONVERSATION_ID = "gen_ai.conversation.id"
AGENT_NAME = "gen_ai.agent.name"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
AGENT_ROUNDS = "dashscope.agent.rounds"
AGENT_TOOL_CALLS = "dashscope.agent.tool_calls"
AGENT_REPEATED = "dashscope.agent.repeated_tool_calls"
AGENT_REUSED = "dashscope.agent.reused_tool_results"  # repeats answered from the first result
TOOL_REUSED = "dashscope.tool.reused"  # this execution returned an earlier call's result
AGENT_FORCED_ANSWER = "dashscope.agent.forced_answer"
AGENT_MAX_ROUNDS = "dashscope.agent.max_rounds"
AGENT_ANSWER_AFTER = "dashscope.agent.answer_after"
AGENT_COST_AMOUNT = "dashscope.agent.cost.amount"  # the run's total: no call counted twice
AGENT_COST_CURRENCY = "dashscope.agent.cost.currency"
AGENT_UNPRICED_CALLS = "dashscope.agent.cost.unpriced_calls"  # calls whose cost is unknown
AGENT_MAX_COST = "dashscope.agent.max_cost"
REPEATED_EVENT = "dashscope.agent.repeated_tool_call"

METRIC_DURATION = "gen_ai.client.operation.duration"
METRIC_TOKENS = "gen_ai.client.token.usage"
METRIC_TTFC = "gen_ai.client.operation.time_to_first_chunk"
METRIC_CACHE_READ = "dashscope.client.cache_read.input_tokens"
METRIC_REASONING = "dashscope.client.reasoning.output_tokens"
METRIC_COST = "dashscope.client.cost"  # a counter of cost by model and currency

# Bucket advice from the GenAI metric conventions.
DURATION_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
TOKEN_BUCKETS = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)

DASHSCOPE_DOMAIN = ".aliyuncs.com"
COMPATIBLE_PATH = "/compatible-mode/"


def is_dashscope_endpoint(host: str, path: str) -> bool:
    """DashScope's own endpoint: every DashScope host ends in .aliyuncs.com, and the
    /compatible-mode/ path is distinctive too (the fake serves it)."""
    return host.lower().endswith(DASHSCOPE_DOMAIN) or COMPATIBLE_PATH in path


def is_dashscope(host: str, path: str, extra_hosts: Iterable[str] = ()) -> bool:
    """DashScope's own endpoint, or one of ``extra_hosts`` (lower case), e.g. a gateway."""
    return is_dashscope_endpoint(host, path) or host.lower() in extra_hosts


_CHAT_PATHS = ("/chat/completions", "/chat/completions/")
_RELATIVE_CHAT_PATHS = ("chat/completions", "chat/completions/")


def is_chat_path(path: str) -> bool:
    """True for the chat-completions endpoint, absolute (``/v1/chat/completions``) or relative."""
    return path.endswith(_CHAT_PATHS) or path in _RELATIVE_CHAT_PATHS
