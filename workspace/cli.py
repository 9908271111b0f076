"""``geosleuth serve``: the investigation workspace on 127.0.0.1.

Registered through the ``geosleuth.commands`` entry point (the agent's CLI never imports
this layer). ``python -m workspace serve ...`` runs the same command.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from .config import DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_PORT, WorkspaceConfig, default_data_dir, new_token

FACTORY_ENV = "GEOSLEUTH_WORKSPACE_AGENT_FACTORY"
SWITCH_INTERVAL_S = 0.001


def register_serve(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve",
        help="the investigation workspace (cases, runs, review, export) on 127.0.0.1",
        description="Serve the workspace API. Every call needs the token printed in the start line.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=_serve)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--data", type=Path, default=None, help=f"data folder (default {default_data_dir()})")
    parser.add_argument("--token", default=None, help="the access token (default GEOSLEUTH_TOKEN, else random)")
    parser.add_argument("--workers", type=int, default=2, help="runs working at once (default 2)")
    parser.add_argument("--max-upload-mb", type=float, default=DEFAULT_MAX_UPLOAD_BYTES / 2**20)
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another Host name the server answers to (behind a proxy); repeatable",
    )


def _factory() -> Any:
    """An Agent factory named in GEOSLEUTH_WORKSPACE_AGENT_FACTORY (``module:function``):
    how tests and embedders give the server's runs a policy of their own."""
    spec = os.environ.get(FACTORY_ENV)
    if not spec:
        return None
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def config_from(args: argparse.Namespace) -> WorkspaceConfig:
    return WorkspaceConfig(
        data_dir=args.data or default_data_dir(),
        token=args.token or os.environ.get("GEOSLEUTH_TOKEN") or new_token(),
        host=args.host,
        port=args.port,
        workers=args.workers,
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        allowed_hosts=frozenset(args.allow_host),
        agent_factory=_factory(),
    )


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .api import Workspace

    config = config_from(args)
    # Runs work in threads of this process; a request waiting for the interpreter lock gets
    # it after at most this long each time, which keeps reads of a case quick while runs work.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    workspace = Workspace(config)
    recovered = workspace.recovered
    print(f"geosleuth workspace: data in {config.data_dir}", flush=True)
    if recovered["interrupted"] or recovered["requeued"]:
        print(
            f"geosleuth workspace: {recovered['interrupted']} interrupted run(s) marked, "
            f"{recovered['requeued']} queued run(s) restarted",
            flush=True,
        )
    if config.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"geosleuth workspace: warning: listening on {config.host}, not only this machine", file=sys.stderr)
    print(f"geosleuth workspace: open {config.url()}", flush=True)
    try:
        uvicorn.run(workspace.asgi, host=config.host, port=config.port, log_level="warning", access_log=False)
    finally:
        workspace.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workspace")
    commands = parser.add_subparsers(dest="command", required=True)
    register_serve(commands)
    args = parser.parse_args(argv)
    return args.handler(args)
