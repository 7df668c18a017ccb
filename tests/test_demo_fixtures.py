"""A reduced demo run shared by the data, train and demo tests: the real local server in-process, a few
games, tiny training. It runs once per test process (however many modules import the fixture)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from rugs_env.demo import DemoConfig, DemoResult, run_demo

GAMES = 20  # live games recorded (plus the server's 10 start-up history games, plus datasets/sample/)


@functools.lru_cache(maxsize=1)
def _run(base: str) -> tuple[DemoResult, tuple[str, ...]]:
    lines: list[str] = []
    Path(base).mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(base)  # a relative run folder, as `make demo` uses (runs/ in the checkout)
    try:
        cfg = DemoConfig(out=Path("runs"), games=GAMES, epochs=4, seed=7, progress=False)
        result = run_demo(cfg, write=lines.append)
    finally:
        os.chdir(cwd)
    result.run_dir = Path(base) / result.run_dir
    if result.report is not None:
        result.report = Path(base) / result.report
    return result, tuple(lines)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, tuple[str, ...]]:
    """``(result, printed lines)`` of the reduced demo."""
    return _run(str(tmp_path_factory.getbasetemp() / "demo-runs"))


@pytest.fixture(scope="session")
def demo_dir(demo: tuple[DemoResult, tuple[str, ...]]) -> Path:
    """The reduced demo's run folder (recordings/, dataset/, model.zip, report/)."""
    return demo[0].run_dir
