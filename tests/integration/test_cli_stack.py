"""`research up` plumbing, the embedded LLM server and the `research` CLI, without the rest.

The LLM test starts the real llama.cpp server on the shipped SmolLM2 GGUF (about 2 s) and asks
for one schema-constrained completion, the way the worker's LLM provider does.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import httpx
import openai
import pytest
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from cli.ask import EXIT_UNREACHABLE
from cli.main import app
from settings import Settings
from stack.env import child_env, stack_settings
from stack.llm_server import LlamaServer, default_model_path, model_path
from stack.process import ChildProcess
from stack.services import ChildService, death_notice
from stack.temporal_server import port_open


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_child_env_carries_the_stack_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    base = Settings(_env_file=None, data_dir=Path("data"), docs_dirs=[Path("a"), Path("b")])
    settings = stack_settings(base, api_port=18000, temporal_port=17233, llm_port=18012)
    caller = {"PATH": "/usr/bin", "RESEARCH_LLM_MODEL_PATH": "/stale.gguf", "RESEARCH_API_URL": "x"}
    env = child_env(settings, caller)

    assert env["RESEARCH_TEMPORAL_ADDRESS"] == "127.0.0.1:17233"
    assert env["RESEARCH_LLM_BASE_URL"] == "http://127.0.0.1:18012/v1"
    assert env["RESEARCH_LLM_STRUCTURED_OUTPUT"] == "llama_schema"  # what llama.cpp honours
    assert env["RESEARCH_API_PORT"] == "18000"
    # Absolute, because the children run from the project root, not from here.
    assert env["RESEARCH_DATA_DIR"] == str(tmp_path / "data")
    assert env["RESEARCH_DOCS_DIRS"] == f"{tmp_path / 'a'},{tmp_path / 'b'}"
    assert env["RESEARCH_LLM_API_KEY"] == "local"  # the secret itself, not '**********'
    assert "RESEARCH_LLM_MODEL_PATH" not in env  # unset here, so the caller's must not leak
    assert env["PATH"] == "/usr/bin" and env["RESEARCH_API_URL"] == "x"

    # What a child builds from that environment is what `research up` meant.
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    seen = Settings(_env_file=None)
    assert seen.model_dump() == settings.model_dump()
    assert not seen.embedded_llm and seen.effective_llm_base_url.endswith(":18012/v1")


def test_an_external_llm_is_passed_through() -> None:
    base = Settings(_env_file=None, llm_base_url="http://gpu-box:8000/v1", llm_model="qwen")
    env = child_env(stack_settings(base, llm_port=18012), {})
    assert env["RESEARCH_LLM_BASE_URL"] == "http://gpu-box:8000/v1"
    assert env["RESEARCH_LLM_MODEL"] == "qwen"
    assert env["RESEARCH_LLM_STRUCTURED_OUTPUT"] == "json_schema"  # the caller's choice stands


def test_default_model_is_the_shipped_gguf(tmp_path: Path) -> None:
    path = default_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size > 50_000_000
    assert path.read_bytes()[:4] == b"GGUF"
    assert model_path(Settings(_env_file=None)) == path

    own = tmp_path / "own.gguf"
    own.write_bytes(b"GGUF")
    assert model_path(Settings(_env_file=None, llm_model_path=own)) == own
    with pytest.raises(FileNotFoundError, match=r"missing\.gguf"):
        model_path(Settings(_env_file=None, llm_model_path=tmp_path / "missing.gguf"))


class City(BaseModel):
    city: str = Field(max_length=24)  # bounded, so the answer fits in few tokens
    country: str = Field(max_length=24)


def test_llama_server_answers_a_schema_constrained_chat(tmp_path: Path) -> None:
    port = free_port()
    server = LlamaServer(
        model=default_model_path(), alias="smollm2-test", port=port, log_path=tmp_path / "llm.log"
    )
    server.start(timeout=120)
    try:
        models = httpx.get(f"{server.base_url}/models", timeout=10).json()
        assert [m["id"] for m in models["data"]] == ["smollm2-test"]

        client = openai.OpenAI(base_url=server.base_url, api_key="local", max_retries=0)
        reply = client.chat.completions.create(
            model="smollm2-test",
            messages=[{"role": "user", "content": "Which city is the capital of France? JSON."}],
            # llama-cpp-python's shape: json_object plus schema (it rejects type json_schema).
            response_format={"type": "json_object", "schema": City.model_json_schema()},  # type: ignore[typeddict-unknown-key]
            max_tokens=64,
            temperature=0.0,
            seed=7,
        )
        content = reply.choices[0].message.content or ""
        city = City.model_validate(json.loads(content))
        assert city.city.strip() and city.country.strip()
        assert reply.usage is not None and reply.usage.completion_tokens > 0
    finally:
        server.stop()
    assert not server.running()
    assert not port_open("127.0.0.1", port)


def test_a_dead_child_is_named_with_its_last_words(tmp_path: Path) -> None:
    code = "print('starting'); print('cannot bind: address in use'); raise SystemExit(3)"
    child = ChildProcess("api", [sys.executable, "-c", code], log_path=tmp_path / "api.log")
    child.start()
    assert child.process is not None
    child.process.wait(30)
    notice = death_notice(ChildService(child))
    assert notice.startswith(f"api exited with code 3; last lines of {tmp_path / 'api.log'}")
    assert notice.rstrip().endswith("cannot bind: address in use")


def test_ask_says_in_one_line_that_the_api_is_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["ask", "why is the sky blue?", "--api-url", url])
    assert result.exit_code == EXIT_UNREACHABLE
    assert result.stderr == f"error: cannot reach the API at {url}: is `research up` running?\n"
    assert "Traceback" not in result.output


def test_a_killed_child_is_named_with_the_signal() -> None:
    child = ChildProcess("worker", [sys.executable, "-c", "import time; time.sleep(60)"])
    child.start()
    child.kill()
    assert death_notice(ChildService(child)).startswith("worker was killed by SIGKILL; ")
