#!/usr/bin/env python3
"""The gateway's fallback to another provider, end to end with real clients and real peers.

The simulator overloads claude-opus-5-5 (every `/v1/messages` for it answers 529). Gateways run
with `--fallback claude-opus-5-5,<provider>:<model> --fallback-after 0s`, so each request for
that model meets a real 529 first and is then translated to Chat Completions for:

- LiteLLM's proxy (`litellm --config`), answering offline with `mock_response` /
  `mock_tool_calls`: plain text, a streamed text and a tool call (LiteLLM's own mocks cannot
  stream a tool call, see README.md), and a provider that fails too;
- a capture server in this process (`--provider capture=…`), which checks every request body
  the gateway sends against the official `openai` package's request types and answers the way
  api.openai.com does (recorded-style JSON and SSE, tool calls included), or, when told to, the
  way a hostile server does (a stream cut mid-line, a stream that ends early, a 200 carrying an
  error, no choices, an unknown finish_reason).

The client is the official Anthropic Python SDK (`anthropic.Anthropic(base_url=gateway)`), so
what is checked is what a real program sees: parsed messages, `text_stream`,
`get_final_message()`, tool input accumulated from `input_json` deltas, and the SDK's own
exceptions for errors.

Everything binds 127.0.0.1 and lives in a temporary folder; every wait is bounded; every child
is stopped at the end whatever happens. One table (case, outcome, ms) is printed at the end, and
the exit status is non-zero if any case failed.

    tests/fallback/e2e.py --sim target/debug/claude-status-sim --cli target/debug/claude-status \\
        --litellm target/fallback-venv/bin/litellm [--only tool] [--keep]
"""

import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic
# The SDK 2.x speaks through httpx2, not httpx.
import httpx2
import openai
import pydantic
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.completion_create_params import (
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from e2e_support import Processes, free_port, get_json, wait_for  # noqa: E402

# The Claude model the simulator overloads, and one it leaves alone.
MODEL = "claude-opus-5-5"
HEALTHY_MODEL = "claude-sonnet-5-5"
# The model the fallback chains name on the provider's side.
PROVIDER_MODEL = "gpt-4o"
FALLBACK_HEADER = "x-claude-status-fallback"
LITELLM_KEY = "sk-litellm-e2e-master"
CAPTURE_KEY = "sk-capture-e2e"
LITELLM_TEXT = "Hello from LiteLLM's mock."
CAPTURE_TEXT = "Hello from the capture server."
WEATHER_TEXT = "It is 18 °C and sunny in Paris."
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city's name"}},
        "required": ["city"],
    },
}
WEATHER_INPUT = {"city": "Paris"}
# Anthropic's error types (https://docs.anthropic.com/en/api/errors).
ANTHROPIC_ERROR_TYPES = {
    "invalid_request_error", "authentication_error", "billing_error", "permission_error",
    "not_found_error", "request_too_large", "rate_limit_error", "api_error", "timeout_error",
    "overloaded_error",
}
STOP_REASONS = {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"}


# ---------------------------------------------------------------------------------------------
# The request check: openai's own request types.

STREAMING = pydantic.TypeAdapter(CompletionCreateParamsStreaming)
NON_STREAMING = pydantic.TypeAdapter(CompletionCreateParamsNonStreaming)


def materialise(value):
    """The validated value with every lazy `Iterable[...]` field read: pydantic validates such
    fields (`messages`, `tools`, content parts…) only as they are iterated, so a check that does
    not read them checks nothing below the top level."""
    if isinstance(value, dict):
        return {key: materialise(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [materialise(item) for item in value]
    if hasattr(value, "__next__"):
        return [materialise(item) for item in value]
    return value


def dropped_keys(sent, validated, path="body"):
    """Keys in `sent` that validation dropped: a TypedDict ignores keys it does not declare, so
    an unknown key at any depth shows up only as a key missing from the validated value."""
    if isinstance(sent, dict) and isinstance(validated, dict):
        for key, item in sent.items():
            if key not in validated:
                yield f"{path}.{key}"
            else:
                yield from dropped_keys(item, validated[key], f"{path}.{key}")
    elif isinstance(sent, list) and isinstance(validated, list):
        for index, (item, checked) in enumerate(zip(sent, validated)):
            yield from dropped_keys(item, checked, f"{path}[{index}]")


def check_chat_request(body):
    """What is wrong with a Chat Completions request body, by openai's types; [] when nothing."""
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    streaming = body.get("stream") is True
    params = CompletionCreateParamsStreaming if streaming else CompletionCreateParamsNonStreaming
    adapter = STREAMING if streaming else NON_STREAMING
    problems = []
    unknown = sorted(set(body) - set(params.__annotations__))
    if unknown:
        problems.append(f"top-level keys openai does not know: {unknown}")
    missing = sorted(params.__required_keys__ - set(body))
    if missing:
        problems.append(f"required keys missing: {missing}")
    try:
        validated = materialise(adapter.validate_python(body, strict=True))
        # Dict[str, object] fields (a tool's JSON Schema, metadata) keep every key, so anything
        # dropped is a key openai's types do not declare.
        dropped = list(dropped_keys(body, validated))
        if dropped:
            problems.append(f"keys openai's types do not declare: {dropped}")
    except pydantic.ValidationError as error:
        problems.append(f"openai's {params.__name__} rejects it: {error}".replace("\n", " | "))
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        problems.append("no messages")
    return problems


# ---------------------------------------------------------------------------------------------
# The capture server: an OpenAI-compatible server that checks and answers like api.openai.com.

def completion(message, finish_reason, prompt_tokens=25, completion_tokens=9):
    """A non-streaming answer shaped like one recorded from api.openai.com (gpt-4o-2024-08-06)."""
    return {
        "id": "chatcmpl-CapTure0000000000000000001",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_e2e0000000",
    }


def chunk(delta=None, finish_reason=None, usage=None, choices=True):
    """One streamed chunk, shaped like the recorded ones (`usage: null` until the last)."""
    body = {
        "id": "chatcmpl-CapTure0000000000000000002",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "gpt-4o-2024-08-06",
        "service_tier": "default",
        "system_fingerprint": "fp_e2e0000000",
        "choices": [],
        "usage": usage,
    }
    if choices:
        body["choices"] = [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}]
    return body


def text_message(text):
    return {"role": "assistant", "content": text, "refusal": None, "annotations": []}


def tool_call_message():
    return {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "annotations": [],
        "tool_calls": [{
            "id": "call_e2eWeather0001",
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps(WEATHER_INPUT)},
        }],
    }


def stream_chunks(body, answer):
    """The chunks of a streamed answer: text in small pieces, or a tool call whose arguments
    arrive split mid-token, as api.openai.com sends them."""
    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    if answer == "tool":
        arguments = json.dumps(WEATHER_INPUT)
        chunks = [chunk({"role": "assistant", "content": None, "refusal": None, "tool_calls": [{
            "index": 0, "id": "call_e2eWeather0002", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}}]})]
        for start in range(0, len(arguments), 4):
            chunks.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments[start:start + 4]}}]}))
        chunks.append(chunk({}, "tool_calls"))
    else:
        text = WEATHER_TEXT if answer == "weather" else CAPTURE_TEXT
        for start in range(0, len(text), 5):
            chunks.append(chunk({"content": text[start:start + 5]}))
        chunks.append(chunk({}, "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append(chunk(choices=False, usage={
            "prompt_tokens": 25, "completion_tokens": 9, "total_tokens": 34,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}))
    return chunks


def choose_answer(body):
    """What a sensible model answers: the weather after a tool result, a tool call when given a
    tool, else a greeting."""
    messages = body.get("messages") or []
    if messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "tool":
        return "weather"
    if body.get("tools") and body.get("tool_choice") != "none":
        return "tool"
    return "text"


class Capture:
    """The capture server. `mode` picks how it answers the next requests: "normal", or one of the
    hostile modes "cut" (the connection dies mid-line), "ends_early" (a clean end with no
    finish_reason and no [DONE]), "error_200" (a 200 whose body is an error), "empty_choices",
    "unknown_finish"."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.mode = "normal"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                outer.handle(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def since(self, mark):
        with self.lock:
            return list(self.requests[mark:])

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def read_body(handler):
        if "chunked" in handler.headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    handler.rfile.readline()
                    return b"".join(parts)
                parts.append(handler.rfile.read(size))
                handler.rfile.readline()
        return handler.rfile.read(int(handler.headers.get("content-length", "0")))

    def handle(self, handler):
        raw = self.read_body(handler)
        problems = []
        try:
            body = json.loads(raw)
        except ValueError as error:
            body = None
            problems.append(f"not JSON: {error}")
        if body is not None:
            problems += check_chat_request(body)
        if not handler.path.endswith("/v1/chat/completions"):
            problems.append(f"path {handler.path}, not /v1/chat/completions")
        if handler.headers.get("authorization") != f"Bearer {CAPTURE_KEY}":
            problems.append(f"authorization {handler.headers.get('authorization')!r}, not the CAPTURE_API_KEY")
        for header in handler.headers.keys():
            if header.lower().startswith("anthropic-") or header.lower() == "x-api-key":
                problems.append(f"an Anthropic header reached the provider: {header}")
        with self.lock:
            mode = self.mode
            self.requests.append({"body": body, "problems": problems, "mode": mode,
                                  "headers": dict(handler.headers.items())})
        body = body if isinstance(body, dict) else {}
        streaming = body.get("stream") is True
        answer = choose_answer(body)
        if mode == "error_200":
            error = {"error": {"message": "The server had an error while processing your request.",
                               "type": "server_error", "param": None, "code": None}}
            if streaming:
                return self.send_stream(handler, [error])
            return self.send_json(handler, 200, error)
        if mode == "empty_choices":
            if streaming:
                return self.send_stream(handler, [chunk(choices=False)])
            answered = completion(text_message(CAPTURE_TEXT), "stop")
            answered["choices"] = []
            return self.send_json(handler, 200, answered)
        if mode == "unknown_finish":
            if streaming:
                chunks = stream_chunks(body, "text")
                for item in chunks:
                    for choice in item["choices"]:
                        if choice["finish_reason"]:
                            choice["finish_reason"] = "mystery_reason"
                return self.send_stream(handler, chunks)
            return self.send_json(handler, 200, completion(text_message(CAPTURE_TEXT), "mystery_reason"))
        if streaming:
            chunks = stream_chunks(body, answer)
            if mode == "cut":
                return self.send_stream(handler, chunks[:3], cut=True)
            if mode == "ends_early":
                return self.send_stream(handler, chunks[:3], done=False)
            return self.send_stream(handler, chunks)
        if answer == "tool":
            return self.send_json(handler, 200, completion(tool_call_message(), "tool_calls"))
        text = WEATHER_TEXT if answer == "weather" else CAPTURE_TEXT
        return self.send_json(handler, 200, completion(text_message(text), "stop"))

    @staticmethod
    def send_json(handler, status, value):
        data = json.dumps(value).encode()
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.send_header("openai-processing-ms", "12")
        handler.send_header("x-request-id", "req_e2e0000000000000000000001")
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def send_stream(handler, chunks, cut=False, done=True):
        """Chunked SSE, as api.openai.com sends it. `cut` stops mid-line and drops the connection
        without the last chunk, which the reader must see as a broken body."""
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream; charset=utf-8")
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()

        def write(data):
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            handler.wfile.flush()
        for item in chunks:
            write(f"data: {json.dumps(item)}\n\n".encode())
        if cut:
            write(b'data: {"id":"chatcmpl-CapTure0000000000000000002","object":"chat.comp')
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if done:
            write(b"data: [DONE]\n\n")
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()


def check_the_checks():
    """The request check rejects what it must (so a pass means something), and the capture
    server's answers are what openai's own response types read."""
    good = {"model": "gpt-4o", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]}
    assert check_chat_request(good) == [], check_chat_request(good)
    assert check_chat_request({**good, "stream": True, "stream_options": {"include_usage": True}}) == []
    bad = {
        "an unknown top-level key": {**good, "top_k": 5},
        "an unknown role": {**good, "messages": [{"role": "human", "content": "Hi"}]},
        "an unknown key in a message": {**good, "messages": [{"role": "user", "content": "Hi", "cache_control": {}}]},
        "an unknown content part": {**good, "messages": [{"role": "user", "content": [{"type": "document", "text": "x"}]}]},
        "a string for an integer": {**good, "max_tokens": "10"},
        "a tool without a function": {**good, "tools": [{"type": "function", "name": "f"}]},
        "tool arguments as an object": {**good, "messages": [{"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}]},
        "a tool message without its id": {**good, "messages": [{"role": "tool", "content": "x"}]},
    }
    for what, body in bad.items():
        assert check_chat_request(body), f"the request check let {what} through"
    for answer in ("text", "tool", "weather"):
        message = tool_call_message() if answer == "tool" else text_message(CAPTURE_TEXT)
        ChatCompletion.model_validate(completion(message, "tool_calls" if answer == "tool" else "stop"), strict=False)
        for item in stream_chunks({"stream_options": {"include_usage": True}}, answer):
            ChatCompletionChunk.model_validate(item)


# ---------------------------------------------------------------------------------------------
# LiteLLM's proxy.

LITELLM_CONFIG = f"""# Written by tests/fallback/e2e.py. Every model answers from a mock: nothing leaves the machine.
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-not-used-mock
      mock_response: {json.dumps(LITELLM_TEXT)}
  - model_name: gpt-4o-tools
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-not-used-mock
      mock_response: ""
      mock_tool_calls:
        - id: call_litellmWeather01
          type: function
          function:
            name: get_weather
            arguments: '{json.dumps(WEATHER_INPUT)}'
  - model_name: gpt-4o-busy
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-not-used-mock
      mock_response: litellm.InternalServerError
litellm_settings:
  telemetry: false
  num_retries: 0
general_settings:
  master_key: {LITELLM_KEY}
"""

# Every remote file LiteLLM would fetch at import or start (the model cost map, Anthropic's beta
# headers, the autorouter presets, blog posts, policy templates) read from the package instead.
LITELLM_OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
    "DISABLE_SCHEMA_UPDATE": "True",
    "PYTHONUNBUFFERED": "1",
}


class LiteLLM:
    def __init__(self, procs, litellm, work):
        self.procs = procs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = os.path.join(work, "litellm.yaml")
        with open(config, "w") as f:
            f.write(LITELLM_CONFIG)
        home = os.path.join(work, "litellm-home")
        os.makedirs(home)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, **LITELLM_OFFLINE_ENV}
        self.started = time.monotonic()
        procs.start("litellm", [litellm, "--config", config, "--host", "127.0.0.1",
                                "--port", str(self.port), "--telemetry", "False", "--num_workers", "1"], env)
        self.log = os.path.join(work, "litellm.log")

    def wait_ready(self, timeout=90):
        def ready():
            self.procs.check_alive()
            return urllib.request.urlopen(f"{self.url}/health/liveliness", timeout=2).status == 200
        wait_for("LiteLLM's proxy ready", ready, timeout, every=0.1)
        return time.monotonic() - self.started

    def count(self):
        """Chat Completions requests LiteLLM answered, from uvicorn's access log."""
        with open(self.log, "rb") as f:
            return f.read().count(b'"POST /v1/chat/completions ')

    def wait_count(self, want, timeout=3):
        """The count once the access log has caught up (it is written after the answer)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= want:
                break
            time.sleep(0.05)
        return self.count()


# ---------------------------------------------------------------------------------------------
# The cases.

class Failure(AssertionError):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


def header(response, name):
    return response.headers.get(name)


def check_message(message, *, text=None, stop_reason="end_turn"):
    expect(message.type == "message" and message.role == "assistant", f"not an assistant message: {message!r}")
    expect(message.model == MODEL, f"model {message.model!r}, not the requested {MODEL}")
    expect(message.stop_reason == stop_reason, f"stop_reason {message.stop_reason!r}, not {stop_reason}")
    expect(message.usage is not None and isinstance(message.usage.input_tokens, int)
           and isinstance(message.usage.output_tokens, int), f"usage incomplete: {message.usage!r}")
    expect(message.usage.output_tokens > 0, f"output_tokens {message.usage.output_tokens}")
    expect(str(message.id).startswith("msg_"), f"id {message.id!r} does not look like a Messages id")
    if text is not None:
        texts = [block.text for block in message.content if block.type == "text"]
        expect("".join(texts) == text, f"text {texts!r}, not {text!r}")


def tool_use_block(message):
    blocks = [block for block in message.content if block.type == "tool_use"]
    expect(len(blocks) == 1, f"{len(blocks)} tool_use blocks in {message.content!r}")
    block = blocks[0]
    expect(block.name == "get_weather", f"tool {block.name!r}")
    expect(block.input == WEATHER_INPUT, f"tool input {block.input!r}, not {WEATHER_INPUT}")
    expect(str(block.id), "a tool_use block without an id")
    return block


def check_anthropic_error(error, status=None, kind=None):
    """A well-formed Anthropic error, as the SDK raised it."""
    expect(isinstance(error, anthropic.APIStatusError), f"{type(error).__name__} ({error}), not an APIStatusError")
    body = error.body
    expect(isinstance(body, dict) and body.get("type") == "error", f"error body {body!r} is not Anthropic's shape")
    detail = body.get("error")
    expect(isinstance(detail, dict) and detail.get("type") in ANTHROPIC_ERROR_TYPES
           and isinstance(detail.get("message"), str) and detail["message"],
           f"error {detail!r} is not an Anthropic error type with a message")
    if status is not None:
        expect(error.status_code == status, f"status {error.status_code}, not {status}")
    if kind is not None:
        expect(detail["type"] == kind, f"error type {detail['type']!r}, not {kind}")
    return f"{error.status_code} {detail['type']}: {detail['message'][:70]}"


class Run:
    """What every case shares: the SDK clients of each gateway, the servers and their counters."""

    def __init__(self, sim_url, gateways, capture, litellm):
        self.sim_url = sim_url
        self.capture = capture
        self.litellm = litellm
        self.moved = set()
        self.clients = {
            name: anthropic.Anthropic(
                base_url=url, api_key="sk-ant-test", max_retries=0, timeout=30,
                # SDK 2.x sends an api_key as `Authorization: Bearer`; the simulator reads only
                # x-api-key, so the key goes both ways.
                default_headers={"x-api-key": "sk-ant-test"},
                http_client=anthropic.DefaultHttpxClient(trust_env=False))
            for name, url in gateways.items()
        }

    def sim_stats(self):
        return get_json(f"{self.sim_url}/_sim/stats")

    def sim_overloaded(self):
        return self.sim_stats().get("messages_by_model", {}).get(MODEL, {}).get("overloaded", 0)

    def valid_requests(self, mark, want=None):
        """The capture server's requests since `mark`, each checked against openai's types."""
        new = self.capture.since(mark)
        if want is not None:
            expect(len(new) == want, f"the capture server got {len(new)} requests, not {want}")
        for request in new:
            expect(not request["problems"], "the gateway sent a request openai's types reject: "
                   + "; ".join(request["problems"]) + f"\nbody: {json.dumps(request['body'])[:1500]}")
            expect(request["body"].get("model") == PROVIDER_MODEL, f"model {request['body'].get('model')!r}")
        return new

    def met_claude_first(self, gateways, overloaded_before, moves=True):
        """A gateway's first request for the overloaded model meets Claude's 529 before it goes
        to the provider; once the model is moved, the next ones go straight to the provider
        (Claude gets one recovery try every 30 s), so only the first is counted."""
        gateways = [gateways] if isinstance(gateways, str) else gateways
        fresh = [name for name in gateways if name not in self.moved]
        got = self.sim_overloaded() - overloaded_before
        expect(got >= len(fresh), f"the simulator answered {got} 529s for {MODEL}, but the first request "
               f"through {fresh} should have met Claude before the provider")
        if moves:
            self.moved.update(gateways)

    def claude_answered(self, overloaded_before):
        got = self.sim_overloaded() - overloaded_before
        expect(got >= 1, f"the simulator answered {got} 529s for {MODEL}: the 529 the client got is not Claude's")


def user(text):
    return [{"role": "user", "content": text}]


# --- LiteLLM ---------------------------------------------------------------------------------

def case_litellm_create(run):
    before, seen = run.sim_overloaded(), run.litellm.count()
    raw = run.clients["litellm"].messages.with_raw_response.create(
        model=MODEL, max_tokens=64, messages=user("Say hello."))
    message = raw.parse()
    expect(header(raw, FALLBACK_HEADER) == "openai:gpt-4o", f"{FALLBACK_HEADER}: {header(raw, FALLBACK_HEADER)!r}")
    check_message(message, text=LITELLM_TEXT)
    expect(message.content[0].type == "text", f"first block {message.content[0].type}")
    run.met_claude_first("litellm", before)
    expect(run.litellm.wait_count(seen + 1) == seen + 1, f"LiteLLM answered {run.litellm.count() - seen} requests, not 1")
    return f"{message.usage.input_tokens} in / {message.usage.output_tokens} out"


def case_litellm_stream(run):
    before, seen = run.sim_overloaded(), run.litellm.count()
    with run.clients["litellm"].messages.stream(model=MODEL, max_tokens=64, messages=user("Say hello.")) as stream:
        expect(header(stream.response, FALLBACK_HEADER) == "openai:gpt-4o",
               f"{FALLBACK_HEADER}: {header(stream.response, FALLBACK_HEADER)!r}")
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    expect("".join(pieces) == LITELLM_TEXT, f"text_stream gave {pieces!r}")
    expect(len(pieces) > 1, f"the text came in {len(pieces)} piece(s), not as a stream")
    check_message(final, text=LITELLM_TEXT)
    run.met_claude_first("litellm", before)
    expect(run.litellm.wait_count(seen + 1) == seen + 1, "LiteLLM did not answer exactly one request")
    return f"{len(pieces)} text deltas, {final.usage.output_tokens} out"


def case_litellm_tool_round_trip(run):
    """LiteLLM's `mock_tool_calls` answers with finish_reason "stop" and content "", not
    "tool_calls": the gateway must still say tool_use, since the answer holds a tool call. The
    tool result then goes to the gateway whose LiteLLM model answers text."""
    before, seen = run.sim_overloaded(), run.litellm.count()
    question = user("What is the weather in Paris?")
    raw = run.clients["litellm_tools"].messages.with_raw_response.create(
        model=MODEL, max_tokens=256, tools=[WEATHER_TOOL], messages=question)
    first = raw.parse()
    expect(header(raw, FALLBACK_HEADER) == "openai-compatible:litetools:gpt-4o-tools",
           f"{FALLBACK_HEADER}: {header(raw, FALLBACK_HEADER)!r}")
    check_message(first, stop_reason="tool_use")
    block = tool_use_block(first)
    second = run.clients["litellm"].messages.create(
        model=MODEL, max_tokens=256, tools=[WEATHER_TOOL],
        messages=question + [
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "18 °C, sunny"}]},
        ])
    check_message(second, text=LITELLM_TEXT)
    run.met_claude_first(["litellm_tools", "litellm"], before)
    expect(run.litellm.wait_count(seen + 2) == seen + 2, "LiteLLM did not answer exactly two requests")
    return f"tool_use {block.input} (LiteLLM said finish_reason stop), then text"


def case_litellm_provider_fails_too(run):
    """LiteLLM's model answers 500 (mock_response litellm.InternalServerError)."""
    before, seen = run.sim_overloaded(), run.litellm.count()
    try:
        run.clients["litellm_busy"].messages.create(model=MODEL, max_tokens=64, messages=user("Hello?"))
    except anthropic.APIError as error:
        outcome = check_anthropic_error(error)
        expect(error.status_code >= 500, f"status {error.status_code} for a provider that failed with 500")
    else:
        raise Failure("a message came back although Claude answered 529 and the provider 500")
    run.met_claude_first("litellm_busy", before, moves=False)
    expect(run.litellm.wait_count(seen + 1) >= seen + 1, "LiteLLM was never asked")
    return outcome


# --- The capture server: openai's types and the tool round trip -------------------------------

def case_capture_create(run):
    before, mark = run.sim_overloaded(), run.capture.count()
    raw = run.clients["capture"].messages.with_raw_response.create(
        # SDK 2.x has no temperature / top_p parameters; the API still reads them from the body.
        model=MODEL, max_tokens=100, extra_body={"temperature": 0.5, "top_p": 0.9}, stop_sequences=["\n\nHuman:"],
        system="You are terse.", metadata={"user_id": "e2e-user"},
        messages=[{"role": "user", "content": "Say hello."},
                  {"role": "assistant", "content": "Hello"},
                  {"role": "user", "content": [{"type": "text", "text": "Once more, please."}]}])
    message = raw.parse()
    expect(header(raw, FALLBACK_HEADER) == "openai-compatible:capture:gpt-4o",
           f"{FALLBACK_HEADER}: {header(raw, FALLBACK_HEADER)!r}")
    check_message(message, text=CAPTURE_TEXT)
    expect(message.usage.input_tokens == 25 and message.usage.output_tokens == 9, f"usage {message.usage!r}")
    run.met_claude_first("capture", before)
    [request] = run.valid_requests(mark, 1)
    body = request["body"]
    expect(body["messages"][0] == {"role": "system", "content": "You are terse."} or
           body["messages"][0].get("role") in ("system", "developer"), f"first message {body['messages'][0]!r}")
    expect(body.get("stream") in (None, False), f"stream {body.get('stream')!r}")
    return f"{len(body['messages'])} messages, keys {sorted(body)}"


def case_capture_stream(run):
    before, mark = run.sim_overloaded(), run.capture.count()
    with run.clients["capture"].messages.stream(model=MODEL, max_tokens=100, messages=user("Say hello.")) as stream:
        expect(header(stream.response, FALLBACK_HEADER) == "openai-compatible:capture:gpt-4o",
               f"{FALLBACK_HEADER}: {header(stream.response, FALLBACK_HEADER)!r}")
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    expect("".join(pieces) == CAPTURE_TEXT, f"text_stream gave {pieces!r}")
    check_message(final, text=CAPTURE_TEXT)
    run.met_claude_first("capture", before)
    [request] = run.valid_requests(mark, 1)
    expect(request["body"].get("stream") is True, "the provider was not asked to stream")
    usage_asked = (request["body"].get("stream_options") or {}).get("include_usage")
    expect(final.usage.output_tokens == 9 or not usage_asked, f"usage {final.usage!r}, the stream said 9 out")
    return f"{len(pieces)} text deltas, include_usage={usage_asked}, usage {final.usage.input_tokens}/{final.usage.output_tokens}"


def check_tool_requests(first, second, tool_id):
    """The translated requests of a tool round trip, beyond openai's types."""
    tools = first["body"].get("tools") or []
    expect(len(tools) == 1 and tools[0].get("type") == "function"
           and tools[0]["function"].get("name") == "get_weather"
           and tools[0]["function"].get("parameters") == WEATHER_TOOL["input_schema"],
           f"tools sent {tools!r}")
    messages = second["body"]["messages"]
    assistant = [m for m in messages if m.get("role") == "assistant"]
    expect(assistant and assistant[-1].get("tool_calls"), f"no assistant tool_calls in {messages!r}")
    call = assistant[-1]["tool_calls"][0]
    expect(call["id"] == tool_id and call["function"]["name"] == "get_weather"
           and json.loads(call["function"]["arguments"]) == WEATHER_INPUT, f"tool call sent back {call!r}")
    results = [m for m in messages if m.get("role") == "tool"]
    expect(len(results) == 1 and results[0].get("tool_call_id") == tool_id, f"tool results {results!r}")
    expect("18" in json.dumps(results[0].get("content")), f"tool result content {results[0].get('content')!r}")


def case_tool_round_trip_create(run):
    before, mark = run.sim_overloaded(), run.capture.count()
    client = run.clients["capture"]
    question = user("What is the weather in Paris?")
    first = client.messages.create(model=MODEL, max_tokens=256, tools=[WEATHER_TOOL], messages=question)
    check_message(first, stop_reason="tool_use")
    block = tool_use_block(first)
    second = client.messages.create(
        model=MODEL, max_tokens=256, tools=[WEATHER_TOOL],
        messages=question + [
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "18 °C, sunny"}]},
        ])
    check_message(second, text=WEATHER_TEXT)
    run.met_claude_first("capture", before)
    requests = run.valid_requests(mark, 2)
    check_tool_requests(requests[0], requests[1], block.id)
    return f"tool_use {block.id} {block.input} → tool_result → text"


def case_tool_round_trip_stream(run):
    before, mark = run.sim_overloaded(), run.capture.count()
    client = run.clients["capture"]
    question = user("What is the weather in Paris?")
    partials = []
    with client.messages.stream(model=MODEL, max_tokens=256, tools=[WEATHER_TOOL], messages=question) as stream:
        for event in stream:
            if event.type == "input_json":
                partials.append(event.partial_json)
        first = stream.get_final_message()
    check_message(first, stop_reason="tool_use")
    block = tool_use_block(first)
    expect(len(partials) > 1 and json.loads("".join(partials)) == WEATHER_INPUT,
           f"input_json deltas {partials!r} do not build {WEATHER_INPUT}")
    with client.messages.stream(
        model=MODEL, max_tokens=256, tools=[WEATHER_TOOL],
        messages=question + [
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id,
                                          "content": [{"type": "text", "text": "18 °C, sunny"}]}]},
        ],
    ) as stream:
        text = "".join(stream.text_stream)
        second = stream.get_final_message()
    expect(text == WEATHER_TEXT, f"text_stream gave {text!r}")
    check_message(second, text=WEATHER_TEXT)
    run.met_claude_first("capture", before)
    requests = run.valid_requests(mark, 2)
    check_tool_requests(requests[0], requests[1], block.id)
    return f"{len(partials)} input_json deltas → {block.input}, then {len(text)} chars of text"


# --- What must not be translated ---------------------------------------------------------------

UNTRANSLATABLE = {
    "thinking": dict(max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024}),
    "cache_control": dict(system=[{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}]),
    "top_k": dict(extra_body={"top_k": 5}),
    "anthropic_beta": dict(extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"}),
    "document": dict(messages=[{"role": "user", "content": [
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "A short file."}},
        {"type": "text", "text": "Summarise it."}]}]),
    "server_tool": dict(tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 1}]),
}


def untranslatable_case(feature):
    def case(run):
        before, mark = run.sim_overloaded(), run.capture.count()
        kwargs = {"model": MODEL, "max_tokens": 64, "messages": user("Hello?"), **UNTRANSLATABLE[feature]}
        try:
            run.clients["capture"].messages.create(**kwargs)
        except anthropic.APIError as error:
            expect(isinstance(error, anthropic.InternalServerError),
                   f"{type(error).__name__}, not the SDK's InternalServerError")
            outcome = check_anthropic_error(error, 529, "overloaded_error")
            expect(error.response.headers.get(FALLBACK_HEADER) is None, "a fallback header on a refused request")
        else:
            raise Failure(f"a message came back for a request with {feature}")
        run.claude_answered(before)
        reached = run.capture.since(mark)
        expect(not reached, f"the request with {feature} reached the provider: "
               + (json.dumps(reached[0]["body"])[:400] if reached else ""))
        return outcome
    case.__name__ = f"case_untranslatable_{feature}"
    return case


def case_count_tokens(run):
    stats, mark = run.sim_stats(), run.capture.count()
    counted = run.clients["capture"].messages.count_tokens(model=MODEL, messages=user("How many tokens is this?"))
    expect(isinstance(counted.input_tokens, int) and counted.input_tokens > 0, f"count {counted!r}")
    path = "/v1/messages/count_tokens"
    got = run.sim_stats()["requests_by_path"].get(path, 0) - stats["requests_by_path"].get(path, 0)
    expect(got == 1, f"the simulator saw {got} count_tokens requests, not 1")
    expect(run.capture.count() == mark, "count_tokens reached the provider")
    return f"{counted.input_tokens} input tokens, from the simulator"


def case_healthy_model_not_moved(run):
    """A model outside the chain goes to Claude and comes back untouched."""
    mark = run.capture.count()
    raw = run.clients["capture"].messages.with_raw_response.create(
        model=HEALTHY_MODEL, max_tokens=16, messages=user("Hello?"))
    message = raw.parse()
    expect(header(raw, FALLBACK_HEADER) is None, f"{FALLBACK_HEADER}: {header(raw, FALLBACK_HEADER)!r}")
    expect(message.model.startswith(HEALTHY_MODEL), f"model {message.model!r}")
    expect(run.capture.count() == mark, "a request for a healthy model reached the provider")
    return f"{message.model} from the simulator"


# --- A hostile provider ------------------------------------------------------------------------

def hostile(mode):
    def wrap(case):
        def run_hostile(run):
            run.capture.mode = mode
            try:
                return case(run)
            finally:
                run.capture.mode = "normal"
        run_hostile.__name__ = case.__name__
        run_hostile.__doc__ = case.__doc__
        return run_hostile
    return wrap


def stream_must_fail(run, what):
    """Streams a request and expects the SDK to raise (an `event: error`), never to hand back a
    final message as if the answer were complete."""
    mark = run.capture.count()
    seen_text = []
    try:
        with run.clients["capture"].messages.stream(model=MODEL, max_tokens=100, messages=user("Say hello.")) as stream:
            for event in stream:
                if event.type == "text":
                    seen_text.append(event.text)
            final = stream.get_final_message()
    except anthropic.APIStatusError as error:
        outcome = check_anthropic_error(error)
    except (anthropic.APIError, httpx2.HTTPError) as error:
        raise Failure(f"{what}: the SDK raised {type(error).__name__} ({error}), not an error event") from error
    else:
        raise Failure(f"{what}: the SDK returned a final message as complete: stop_reason "
                      f"{final.stop_reason!r}, content {final.content!r}")
    asked = len(run.valid_requests(mark))
    return f"raised after {len(seen_text)} text deltas: {outcome} (provider asked {asked}×)"


def create_must_fail(run, what):
    mark = run.capture.count()
    try:
        message = run.clients["capture"].messages.create(model=MODEL, max_tokens=100, messages=user("Say hello."))
    except anthropic.APIStatusError as error:
        outcome = check_anthropic_error(error)
        expect(error.status_code >= 500, f"status {error.status_code} for a provider's fault")
    except anthropic.APIError as error:
        raise Failure(f"{what}: the SDK raised {type(error).__name__} ({error}), not a status error") from error
    else:
        raise Failure(f"{what}: a message came back: {message!r}")
    asked = len(run.valid_requests(mark))
    return f"{outcome} (provider asked {asked}×)"


@hostile("cut")
def case_hostile_stream_cut(run):
    return stream_must_fail(run, "a stream whose connection dies mid-line")


@hostile("ends_early")
def case_hostile_stream_ends_early(run):
    return stream_must_fail(run, "a stream that ends with no finish_reason and no [DONE]")


@hostile("error_200")
def case_hostile_200_error_body(run):
    return create_must_fail(run, "a 200 whose body is an error")


@hostile("error_200")
def case_hostile_200_error_in_stream(run):
    return stream_must_fail(run, "a stream whose only event is an error")


@hostile("empty_choices")
def case_hostile_empty_choices(run):
    return create_must_fail(run, "an answer with no choices")


@hostile("empty_choices")
def case_hostile_empty_choices_stream(run):
    return stream_must_fail(run, "a stream with no choices")


@hostile("unknown_finish")
def case_hostile_unknown_finish_reason(run):
    return create_must_fail(run, "an unknown finish_reason")


@hostile("unknown_finish")
def case_hostile_unknown_finish_reason_stream(run):
    return stream_must_fail(run, "a stream with an unknown finish_reason")


def case_hostile_answer_costs_one_provider_request(run):
    """One client request, one provider request: while the model is moved, a provider whose
    answer cannot be used must not be asked the same thing again in the same exchange (it costs
    the user twice and doubles the wait before the client gets its error)."""
    # A good answer first, so the model is moved whichever cases ran before.
    run.clients["capture"].messages.create(model=MODEL, max_tokens=100, messages=user("Say hello."))
    run.moved.add("capture")
    mark = run.capture.count()
    run.capture.mode = "error_200"
    try:
        run.clients["capture"].messages.create(model=MODEL, max_tokens=100, messages=user("Say hello."))
    except anthropic.APIStatusError as error:
        check_anthropic_error(error)
    finally:
        run.capture.mode = "normal"
    asked = len(run.valid_requests(mark))
    expect(asked == 1, f"one non-streaming request whose provider answered 200 with an error body was "
           f"sent to the provider {asked} times")
    return "asked once"


# --- The prompt-cache advisor (issue 17) --------------------------------------------------------

ADVISOR_MODEL = "claude-haiku-4-5"
# Text that must never reach the advisor's gateway's data folder.
ADVISOR_MARKER = "okapi-lantern-7f3c"


def advisor_report(run):
    """`claude-status usage --advice --json` on the advisor gateway's data folder."""
    import subprocess
    done = subprocess.run([run.cli, "usage", "--advice", "--json"], env=run.advisor_env,
                          capture_output=True, text=True, timeout=60)
    expect(done.returncode == 0, f"usage --advice: {done.returncode}: {done.stderr[-500:]}")
    return json.loads(done.stdout)


def case_advisor_with_the_sdk(run):
    """The real SDK through `claude-status proxy --count-prefix-tokens` (history on): 6 sends of
    a 20,000-character system prompt without caching and 3 with `cache_control`, then the CLI's
    advice: the saving exact from Haiku 4.5's prices and the size count_tokens gives, the cached
    prefix's hits from the simulator's cache, and no prompt text in the data folder."""
    client = run.clients["advisor"]
    system = (f"{ADVISOR_MARKER} You are a terse assistant. " * 700)[:20_000]
    for _ in range(6):
        client.messages.create(model=ADVISOR_MODEL, max_tokens=16, system=system, messages=user("Hello."))
    cached = [{"type": "text", "text": "Cached: " + system, "cache_control": {"type": "ephemeral"}}]
    answers = [client.messages.create(model=ADVISOR_MODEL, max_tokens=16, system=cached, messages=user("Hi."))
               for _ in range(3)]
    expect(answers[0].usage.cache_creation_input_tokens > 0, f"first cached send: {answers[0].usage}")
    expect(answers[1].usage.cache_read_input_tokens > 0, f"second cached send: {answers[1].usage}")
    # What count_tokens itself says the prefix is, through the same gateway and SDK.
    probe = user(".")
    with_prefix = client.messages.count_tokens(model=ADVISOR_MODEL, system=system, messages=probe).input_tokens
    alone = client.messages.count_tokens(model=ADVISOR_MODEL, messages=probe).input_tokens
    tokens = with_prefix - alone

    def settled():
        report = advisor_report(run)
        return report if report["requests"] >= 9 and report["estimated_sizes"] == 0 else None
    report = wait_for("the advice to count 9 requests with counted sizes", settled, 15)
    advice = [a for a in report["advice"] if a["model"] == ADVISOR_MODEL]
    expect(len(advice) == 1, f"advice: {report['advice']}")
    advice = advice[0]
    expect((advice["sends"], advice["would_hit"], advice["would_write"]) == (6, 5, 1), f"advice {advice}")
    expect(advice["size"] == {"tokens": tokens, "estimated": False}, f"size {advice['size']}, count_tokens {tokens}")
    # Haiku 4.5: $1 input, $1.25 5-minute write, $0.10 read per million tokens.
    want = 5 * tokens * (1 - 0.10) / 1e6 - 1 * tokens * (1.25 - 1) / 1e6
    expect(abs(advice["saving_usd"] - want) < 1e-9, f"saving {advice['saving_usd']} != {want}")
    expect(len(report["cached"]) == 1, f"cached: {report['cached']}")
    hit = report["cached"][0]
    expect((hit["sends"], hit["hits"], hit["writes"]) == (3, 2, 1), f"cached {hit}")
    for folder, _, files in os.walk(run.advisor_dir):
        for name in files:
            with open(os.path.join(folder, name), "rb") as f:
                expect(ADVISOR_MARKER.encode() not in f.read(), f"{name} holds prompt text")
    return f"{tokens} tokens counted, ${advice['saving_usd']:.5f} to save, {hit['hits']}/{hit['sends']} cache reads"


CASES = [
    case_litellm_create,
    case_litellm_stream,
    case_litellm_tool_round_trip,
    case_litellm_provider_fails_too,
    case_capture_create,
    case_capture_stream,
    case_tool_round_trip_create,
    case_tool_round_trip_stream,
    *[untranslatable_case(feature) for feature in UNTRANSLATABLE],
    case_count_tokens,
    case_healthy_model_not_moved,
    case_hostile_stream_cut,
    case_hostile_stream_ends_early,
    case_hostile_200_error_body,
    case_hostile_200_error_in_stream,
    case_hostile_empty_choices,
    case_hostile_empty_choices_stream,
    case_hostile_unknown_finish_reason,
    case_hostile_unknown_finish_reason_stream,
    case_hostile_answer_costs_one_provider_request,
    case_advisor_with_the_sdk,
]


def name_of(case):
    return case.__name__.removeprefix("case_")


# ---------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sim", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--litellm", default=os.path.join(os.path.dirname(sys.executable), "litellm"))
    parser.add_argument("--only", help="run only the cases whose name contains this")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()

    cases = [case for case in CASES if not args.only or args.only in name_of(case)]
    work = tempfile.mkdtemp(prefix="claude-status-fallback-")
    procs = Processes(work)
    capture = None
    results = []
    setup = []
    started = time.monotonic()
    try:
        check_the_checks()
        print(f"fallback e2e: anthropic {anthropic.__version__}, openai {openai.__version__}, "
              f"pydantic {pydantic.VERSION}", flush=True)
        # LiteLLM takes seconds to start: it goes first and is waited for last.
        need_litellm = any("litellm" in name_of(case) for case in cases)
        litellm = LiteLLM(procs, args.litellm, work) if need_litellm else None
        capture = Capture()

        # The simulator with claude-opus-5-5 overloaded: `model-overload` reaches 100 % 529s at
        # story minute 3 (0 % before minute 1), so the story clock is stopped (--manual) and
        # moved straight to minute 3.5, where it stays for the whole run.
        sim_url = procs.start("simulator", [args.sim, "--scenario", "model-overload", "--manual"],
                              {"PATH": os.environ.get("PATH", "")}, ready=r"listening on (http://\S+)").group(1).rstrip("/")
        request = urllib.request.Request(f"{sim_url}/_sim/advance?seconds=210", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=5) as response:
            state = json.loads(response.read())
        expect("fully overloaded" in state.get("phase", ""), f"the simulator is not overloaded: {state}")

        home = os.path.join(work, "home")
        os.makedirs(home)
        base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
            "CLAUDE_STATUS_STATUS_URL": sim_url,
            "CLAUDE_STATUS_OFFLINE": "true",
            "RUST_LOG": os.environ.get("RUST_LOG", "info"),
        }
        gateways = {}

        def gateway(name, chain, extra_args=(), extra_env=None):
            env = {**base_env, "CLAUDE_STATUS_DATA_DIR": os.path.join(work, f"data-{name}"), **(extra_env or {})}
            argv = [args.cli, "proxy", "--port", "0", "--upstream", sim_url, "--no-history", "--no-probe",
                    "--fallback", chain, "--fallback-after", "0s", "--for", "300s", *extra_args]
            match = procs.start(f"gateway-{name}", argv, env, ready=r"listening on (http://[0-9.]+:\d+)")
            gateways[name] = match.group(1)

        t0 = time.monotonic()
        gateway("capture", f"{MODEL},openai-compatible:capture:{PROVIDER_MODEL}",
                ["--provider", f"capture={capture.url}"], {"CAPTURE_API_KEY": CAPTURE_KEY})
        if litellm:
            litellm_v1 = f"{litellm.url}/v1"
            gateway("litellm", f"{MODEL},openai:{PROVIDER_MODEL}", (),
                    {"OPENAI_BASE_URL": litellm_v1, "OPENAI_API_KEY": LITELLM_KEY})
            gateway("litellm_tools", f"{MODEL},openai-compatible:litetools:gpt-4o-tools",
                    ["--provider", f"litetools={litellm_v1}"], {"LITETOOLS_API_KEY": LITELLM_KEY})
            gateway("litellm_busy", f"{MODEL},openai-compatible:litebusy:gpt-4o-busy",
                    ["--provider", f"litebusy={litellm_v1}"], {"LITEBUSY_API_KEY": LITELLM_KEY})
        # The advisor's gateway keeps history (its advice is read from it) and counts prefixes.
        advisor_dir = os.path.join(work, "data-advisor")
        advisor_env = {**base_env, "CLAUDE_STATUS_DATA_DIR": advisor_dir}
        match = procs.start("gateway-advisor", [args.cli, "proxy", "--port", "0", "--upstream", sim_url,
                                                "--no-probe", "--count-prefix-tokens", "--for", "300s"],
                            advisor_env, ready=r"listening on (http://[0-9.]+:\d+)")
        gateways["advisor"] = match.group(1)
        setup.append(("gateways started", time.monotonic() - t0))
        if litellm:
            setup.append(("LiteLLM's proxy ready (from its start)", litellm.wait_ready()))
        procs.check_alive()

        run = Run(sim_url, gateways, capture, litellm)
        run.cli, run.advisor_dir, run.advisor_env = args.cli, advisor_dir, advisor_env
        for case in cases:
            name = name_of(case)
            t = time.monotonic()
            try:
                detail = case(run) or ""
                outcome = "pass"
            except Exception as error:  # One case's failure, whatever it is, must not hide the others.
                outcome = "FAIL"
                detail = f"{type(error).__name__}: {error}"
                if not isinstance(error, (Failure, anthropic.APIError)):
                    detail += "\n" + traceback.format_exc(limit=4)
            results.append((name, outcome, (time.monotonic() - t) * 1000, detail))
            print(f"  {outcome:4} {name} ({results[-1][2]:.0f} ms)", flush=True)
        procs.check_alive()
    except Exception as error:
        results.append(("setup", "FAIL", (time.monotonic() - started) * 1000, f"{type(error).__name__}: {error}"))
    finally:
        procs.stop_all()
        if capture:
            capture.stop()
            # Every request the gateway sent the capture server, for whoever reads a failure.
            with open(os.path.join(work, "capture-requests.jsonl"), "w") as f:
                for request in capture.since(0):
                    f.write(json.dumps(request) + "\n")

    failed = [r for r in results if r[1] != "pass"]
    print("\nfallback e2e")
    for what, seconds in setup:
        print(f"  {what:50} {seconds:6.2f} s")
    width = max([len(r[0]) for r in results] + [4])
    print(f"  {'case':{width}}  outcome      ms  detail")
    for name, outcome, ms, detail in results:
        first, *rest = str(detail).splitlines() or [""]
        print(f"  {name:{width}}  {outcome:7} {ms:7.0f}  {first[:160]}")
        if outcome != "pass":
            for line in rest[:25]:
                print(f"  {'':{width}}                   {line[:200]}")
    print(f"  total {time.monotonic() - started:.1f} s")
    if failed:
        for name in ("gateway-capture", "gateway-litellm", "litellm", "simulator"):
            tail = procs.tail(name, 15)
            if tail:
                print(f"--- {name}.log (last lines)\n{tail}")
    passed = len(results) - len(failed)
    print(f"fallback e2e: {passed} passed, {len(failed)} failed")
    if args.keep or failed:
        print(f"fallback e2e: work folder kept at {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
